//! SAML 2.0 identity providers: the account's trust in a company's identity provider,
//! described by its metadata document (the provider's signing certificates). The metadata
//! is checked when uploaded: a SAML `EntityDescriptor` with an `IDPSSODescriptor` and
//! signing certificates that parse.

use portcullis_credentials::random_bytes;
use portcullis_store::{SamlProviderRecord, Tag, TagTarget, Tx};
use quick_xml::events::Event;

use crate::{tags, Authorized, Iam, IamError, IamResult};

const PROVIDERS_PER_ACCOUNT: usize = 100;
const PRIVATE_KEYS_PER_PROVIDER: usize = 2;
/// Without a `validUntil` in the metadata, a provider is valid for a hundred years.
const DEFAULT_VALIDITY: i64 = 100 * 365 * 86_400 + 25 * 86_400;

/// What GetSAMLProvider shows.
#[derive(Debug, Clone)]
pub struct SamlProviderView {
    pub provider: crate::views::SamlProvider,
    pub tags: Vec<Tag>,
}

fn unparsable() -> IamError {
    IamError::InvalidInput("Could not parse metadata".to_owned())
}

pub(crate) fn not_found(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Manifest not found for arn {arn}"))
}

/// What Portcullis reads from a provider's metadata document.
#[derive(Debug, Clone, Default)]
pub(crate) struct Metadata {
    /// The `entityID`: the `Issuer` of the provider's assertions.
    pub entity_id: String,
    /// `validUntil` (Unix seconds), when the document has one.
    pub valid_until: Option<i64>,
    /// The DER certificates of the identity provider's signing keys (a `KeyDescriptor` of
    /// use `signing` or of no use).
    pub signing_certificates: Vec<Vec<u8>>,
}

const METADATA_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:metadata";
const XMLDSIG_NS: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";

/// Reads and checks a metadata document: a SAML `EntityDescriptor` with an
/// `IDPSSODescriptor` and at least one signing certificate, every certificate parsing.
/// Only the certificates of the identity provider's own `KeyDescriptor`s (use `signing` or
/// no use, directly under `IDPSSODescriptor`) sign assertions: a certificate elsewhere (a
/// service provider's, the metadata's own signature's) is never trusted with that.
pub(crate) fn parse_metadata(doc: &str) -> IamResult<Metadata> {
    use quick_xml::name::ResolveResult;
    let mut reader = quick_xml::NsReader::from_str(doc);
    // The open elements: (namespace, local name, a signing KeyDescriptor of the IdP).
    let mut open: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let (mut root_seen, mut idp) = (false, false);
    let mut meta = Metadata::default();
    let mut cert_text: Option<String> = None;
    let mut signing = false;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(|_| unparsable())?;
        let ns = match ns {
            ResolveResult::Bound(n) => n.as_ref().to_vec(),
            _ => Vec::new(),
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let local = e.local_name().as_ref().to_vec();
                let attribute = |wanted: &[u8]| -> IamResult<Option<String>> {
                    for a in e.attributes() {
                        let a = a.map_err(|_| unparsable())?;
                        if a.key.as_ref() == wanted {
                            return Ok(Some(a.unescape_value().map_err(|_| unparsable())?.into_owned()));
                        }
                    }
                    Ok(None)
                };
                if !root_seen {
                    if ns != METADATA_NS || local != b"EntityDescriptor" {
                        return Err(unparsable());
                    }
                    root_seen = true;
                    meta.entity_id = attribute(b"entityID")?.unwrap_or_default();
                    if let Some(v) = attribute(b"validUntil")? {
                        let t = time::OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339).map_err(|_| unparsable())?;
                        meta.valid_until = Some(t.unix_timestamp());
                    }
                }
                let parent_is = |name: &[u8]| open.last().is_some_and(|(n, l)| n == METADATA_NS && l == name);
                if ns == METADATA_NS && local == b"IDPSSODescriptor" && open.len() == 1 {
                    idp = true;
                }
                if ns == METADATA_NS && local == b"KeyDescriptor" {
                    signing = parent_is(b"IDPSSODescriptor") && open.len() == 2 && attribute(b"use")?.is_none_or(|u| u == "signing");
                }
                if ns == XMLDSIG_NS && local == b"X509Certificate" {
                    cert_text = Some(String::new());
                }
                if matches!(event, Event::Start(_)) {
                    open.push((ns, local));
                }
            }
            Event::Text(t) => {
                if let Some(text) = cert_text.as_mut() {
                    text.push_str(&t.unescape().map_err(|_| unparsable())?);
                }
            }
            Event::End(_) => {
                let (ns, local) = open.pop().ok_or_else(unparsable)?;
                if ns == XMLDSIG_NS && local == b"X509Certificate" {
                    use base64::engine::general_purpose::STANDARD;
                    use base64::Engine;
                    let compact: String = cert_text.take().unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
                    let der = STANDARD.decode(compact).map_err(|_| unparsable())?;
                    x509_parser::parse_x509_certificate(&der).map_err(|_| unparsable())?;
                    // Inside one of the IdP's signing KeyDescriptors (KeyInfo/X509Data/X509Certificate).
                    let in_signing_key = signing && open.len() >= 3 && open[2].0 == METADATA_NS && open[2].1 == b"KeyDescriptor";
                    if in_signing_key {
                        meta.signing_certificates.push(der);
                    }
                }
                if ns == METADATA_NS && local == b"KeyDescriptor" {
                    signing = false;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen || !idp || meta.signing_certificates.is_empty() {
        return Err(unparsable());
    }
    Ok(meta)
}

/// `SAMLSP` and 20 characters of `[A-Z0-9]`, as AWS's provider UUIDs look.
fn provider_uuid() -> IamResult<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let bytes = random_bytes::<20>()?;
    Ok(format!("SAMLSP{}", bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect::<String>()))
}

fn key_id() -> IamResult<String> {
    Ok(data_encoding::BASE32_NOPAD.encode(&random_bytes::<15>()?))
}

pub(crate) async fn load_saml_provider(tx: &mut Box<dyn Tx>, account: &str, arn: &str) -> IamResult<SamlProviderRecord> {
    tx.get_saml_provider(arn).await?.filter(|p| p.account_id == account).ok_or_else(|| not_found(arn))
}

impl Iam {
    /// Keeps a private key for encrypted assertions, sealed with the master key; it must be
    /// an RSA private key in PEM (PKCS#8 or PKCS#1), the keys assertions are encrypted to.
    fn seal_key(&self, arn: &str, pem: &str) -> IamResult<(String, i64, String)> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let pem = pem.trim();
        if rsa::RsaPrivateKey::from_pkcs8_pem(pem).is_err() && rsa::RsaPrivateKey::from_pkcs1_pem(pem).is_err() {
            return Err(IamError::InvalidInput("The private key is not a PEM-encoded RSA private key.".to_owned()));
        }
        let id = key_id()?;
        let sealed = self.secrets.seal(pem.as_bytes(), &format!("saml-key:{arn}:{id}"))?;
        Ok((id, self.now(), sealed))
    }

    pub async fn create_saml_provider(&self, auth: &Authorized<'_>, name: &str, metadata: &str, new_tags: &[Tag], encryption_mode: Option<&str>, private_key: Option<&str>) -> IamResult<crate::views::SamlProvider> {
        let valid_until = parse_metadata(metadata)?.valid_until;
        let tags = tags::merge(Vec::new(), new_tags, true)?;
        let account = auth.account();
        let arn = crate::iam_resource_arn(account, &format!("saml-provider/{name}"));
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("saml-providers:{account}")).await?;
        let existing = tx.list_saml_providers(account).await?;
        if existing.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            return Err(IamError::EntityAlreadyExists(format!("SAMLProvider {name} already exists.")));
        }
        if existing.len() >= PROVIDERS_PER_ACCOUNT {
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for SAMLProvidersPerAccount: {PROVIDERS_PER_ACCOUNT}")));
        }
        let now = self.now();
        let rec = SamlProviderRecord {
            private_keys: private_key.map(|k| self.seal_key(&arn, k)).transpose()?.into_iter().collect(),
            arn,
            account_id: account.to_owned(),
            name: name.to_owned(),
            uuid: provider_uuid()?,
            metadata: metadata.to_owned(),
            valid_until: valid_until.unwrap_or(now + DEFAULT_VALIDITY),
            created_at: now,
            assertion_encryption_mode: encryption_mode.map(str::to_owned),
        };
        tx.insert_saml_provider(&rec).await?;
        tx.set_tags(TagTarget::SamlProvider, &rec.arn, &tags).await?;
        tx.commit().await?;
        Ok(rec.into())
    }

    pub async fn get_saml_provider(&self, auth: &Authorized<'_>, arn: &str) -> IamResult<SamlProviderView> {
        let mut tx = self.store.begin_read().await?;
        let provider = load_saml_provider(&mut tx, auth.account(), arn).await?;
        let tags = tx.tags(TagTarget::SamlProvider, arn).await?;
        Ok(SamlProviderView { provider: provider.into(), tags })
    }

    pub async fn list_saml_providers(&self, auth: &Authorized<'_>) -> IamResult<Vec<crate::views::SamlProvider>> {
        let mut tx = self.store.begin_read().await?;
        Ok(tx.list_saml_providers(auth.account()).await?.into_iter().map(Into::into).collect())
    }

    /// UpdateSAMLProvider: new metadata, encryption mode, or a private key added or removed.
    pub async fn update_saml_provider(&self, auth: &Authorized<'_>, arn: &str, metadata: Option<&str>, encryption_mode: Option<&str>, add_key: Option<&str>, remove_key: Option<&str>) -> IamResult<()> {
        if metadata.is_none() && encryption_mode.is_none() && add_key.is_none() && remove_key.is_none() {
            return Err(IamError::InvalidInput("No updates are defined".to_owned()));
        }
        let valid_until = metadata.map(parse_metadata).transpose()?.map(|m| m.valid_until);
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("saml-provider:{arn}")).await?;
        let mut rec = load_saml_provider(&mut tx, auth.account(), arn).await?;
        if let (Some(doc), Some(until)) = (metadata, valid_until) {
            rec.metadata = doc.to_owned();
            rec.valid_until = until.unwrap_or(rec.created_at + DEFAULT_VALIDITY);
        }
        if let Some(mode) = encryption_mode {
            rec.assertion_encryption_mode = Some(mode.to_owned());
        }
        if let Some(id) = remove_key {
            let before = rec.private_keys.len();
            rec.private_keys.retain(|(k, _, _)| k != id);
            if rec.private_keys.len() == before {
                return Err(IamError::InvalidInput(format!("Private key {id} does not exist.")));
            }
        }
        if let Some(pem) = add_key {
            if rec.private_keys.len() >= PRIVATE_KEYS_PER_PROVIDER {
                return Err(IamError::LimitExceeded(format!("Private key limit of {PRIVATE_KEYS_PER_PROVIDER} is reached.")));
            }
            let key = self.seal_key(arn, pem)?;
            rec.private_keys.push(key);
        }
        tx.update_saml_provider(&rec).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_saml_provider(&self, auth: &Authorized<'_>, arn: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        load_saml_provider(&mut tx, auth.account(), arn).await?;
        tx.delete_saml_provider(arn).await?;
        tx.commit().await?;
        Ok(())
    }
}
