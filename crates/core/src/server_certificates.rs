//! Server certificates (for load balancers and CloudFront): a certificate, its chain and its
//! private key, checked to belong together. The private key is sealed with the master key
//! and never returned.

use portcullis_credentials::new_unique_id;
use portcullis_store::{PageQuery, ServerCertificateRecord, Tag, TagTarget, Tx};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};

use crate::users::conflict_or;
use crate::{iam_arn, tags, Authorized, Iam, IamError, IamResult, Page, PageRequest};

const CERTIFICATES_PER_ACCOUNT: i64 = 20;

/// A server certificate as Get/List show it.
#[derive(Debug, Clone)]
pub struct ServerCertificateView {
    pub record: crate::views::ServerCertificate,
    pub arn: String,
    pub tags: Vec<Tag>,
}

fn no_such(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The Server Certificate with name {name} cannot be found."))
}

fn exists(name: &str) -> IamError {
    IamError::EntityAlreadyExists(format!("The Server Certificate with name {name} already exists."))
}

fn key_aad(id: &str) -> String {
    format!("server-certificate-key:{id}")
}

pub(crate) async fn load_server_certificate(tx: &mut Box<dyn Tx>, account: &str, name: &str) -> IamResult<ServerCertificateRecord> {
    tx.get_server_certificate(account, name).await?.ok_or_else(|| no_such(name))
}

/// The certificate's expiry, after checking that it parses and that the private key is the
/// one its public key belongs to (RSA keys, in PKCS#1 or PKCS#8 PEM).
fn check_pair(body: &str, private_key: &str, chain: Option<&str>) -> IamResult<i64> {
    let unparsable = || IamError::MalformedCertificate("Unable to parse certificate. Please ensure the certificate is in PEM format.".to_owned());
    let (_, pem) = x509_parser::pem::parse_x509_pem(body.trim().as_bytes()).map_err(|_| unparsable())?;
    let cert = pem.parse_x509().map_err(|_| unparsable())?;
    if let Some(chain) = chain {
        for block in x509_parser::pem::Pem::iter_from_buffer(chain.trim().as_bytes()) {
            let ok = block.ok().is_some_and(|b| b.parse_x509().is_ok());
            if !ok {
                return Err(IamError::MalformedCertificate("Unable to parse certificate chain. Please ensure the chain is in PEM format.".to_owned()));
            }
        }
    }
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(private_key.trim())
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(private_key.trim()))
        .map_err(|_| IamError::MalformedCertificate("Unable to parse private key. Portcullis accepts RSA keys in PEM form.".to_owned()))?;
    let public = key.to_public_key().to_public_key_der().map_err(|e| IamError::ServiceFailure(format!("rsa key: {e}")))?;
    if public.as_bytes() != cert.public_key().raw {
        return Err(IamError::KeyPairMismatch("The private key did not match the public key in the certificate.".to_owned()));
    }
    Ok(cert.validity().not_after.timestamp())
}

impl Iam {
    fn server_certificate_view(&self, record: ServerCertificateRecord, tags: Vec<Tag>) -> ServerCertificateView {
        let arn = iam_arn(&record.account_id, "server-certificate", &record.path, &record.name);
        ServerCertificateView { record: record.into(), arn, tags }
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn upload_server_certificate(&self, auth: &Authorized<'_>, name: &str, path: Option<&str>, body: &str, private_key: &str, chain: Option<&str>, new_tags: &[Tag]) -> IamResult<ServerCertificateView> {
        let expires_at = check_pair(body, private_key, chain)?;
        let tags = tags::merge(Vec::new(), new_tags, true)?;
        let account = auth.account();
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("server-certificates:{account}")).await?;
        if tx.get_server_certificate(account, name).await?.is_some() {
            return Err(exists(name));
        }
        if tx.count_server_certificates(account).await? >= CERTIFICATES_PER_ACCOUNT {
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for ServerCertificatesPerAccount: {CERTIFICATES_PER_ACCOUNT}")));
        }
        let id = new_unique_id("ASCA")?;
        let rec = ServerCertificateRecord {
            private_key_sealed: self.secrets.seal(private_key.as_bytes(), &key_aad(&id))?,
            server_certificate_id: id,
            account_id: account.to_owned(),
            name: name.to_owned(),
            path: path.unwrap_or("/").to_owned(),
            // Kept without surrounding whitespace, as AWS returns them.
            body: body.trim().to_owned(),
            chain: chain.map(|c| c.trim().to_owned()),
            created_at: self.now(),
            expires_at,
        };
        tx.insert_server_certificate(&rec).await.map_err(|e| conflict_or(e, || exists(name)))?;
        tx.set_tags(TagTarget::ServerCertificate, &rec.server_certificate_id, &tags).await?;
        tx.commit().await?;
        Ok(self.server_certificate_view(rec, tags))
    }

    pub async fn get_server_certificate(&self, auth: &Authorized<'_>, name: &str) -> IamResult<ServerCertificateView> {
        let mut tx = self.store.begin_read().await?;
        let rec = load_server_certificate(&mut tx, auth.account(), name).await?;
        let tags = tx.tags(TagTarget::ServerCertificate, &rec.server_certificate_id).await?;
        Ok(self.server_certificate_view(rec, tags))
    }

    pub async fn list_server_certificates(&self, auth: &Authorized<'_>, path_prefix: Option<&str>, page: &PageRequest) -> IamResult<Page<ServerCertificateView>> {
        let after = page.after_key()?;
        let mut tx = self.store.begin_read().await?;
        let rows = tx
            .list_server_certificates(auth.account(), &PageQuery { path_prefix, after: after.as_deref(), limit: page.limit() + 1 })
            .await?;
        let page = Page::from_keyset(rows, page, |c| c.name.to_lowercase());
        Ok(Page { items: page.items.into_iter().map(|c| self.server_certificate_view(c, Vec::new())).collect(), marker: page.marker })
    }

    pub async fn update_server_certificate(&self, auth: &Authorized<'_>, name: &str, new_name: Option<&str>, new_path: Option<&str>) -> IamResult<()> {
        let account = auth.account();
        let mut tx = self.store.begin().await?;
        let mut rec = load_server_certificate(&mut tx, account, name).await?;
        if let Some(n) = new_name {
            if !n.eq_ignore_ascii_case(&rec.name) && tx.get_server_certificate(account, n).await?.is_some() {
                return Err(exists(n));
            }
            rec.name = n.to_owned();
        }
        if let Some(p) = new_path {
            rec.path = p.to_owned();
        }
        tx.update_server_certificate(&rec).await.map_err(|e| conflict_or(e, || exists(&rec.name)))?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_server_certificate(&self, auth: &Authorized<'_>, name: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let rec = load_server_certificate(&mut tx, auth.account(), name).await?;
        tx.delete_server_certificate(&rec.server_certificate_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// SetSecurityTokenServicePreferences: which session tokens the global STS endpoint
    /// issues (`v1Token` or `v2Token`), shown by GetAccountSummary.
    pub async fn set_sts_preferences(&self, auth: &Authorized<'_>, version: &str) -> IamResult<()> {
        let value = match version {
            "v1Token" => "1",
            "v2Token" => "2",
            other => return Err(IamError::Validation(format!("Invalid GlobalEndpointTokenVersion: {other}"))),
        };
        let mut tx = self.store.begin().await?;
        tx.put_account_setting(auth.account(), "global-endpoint-token-version", value).await?;
        tx.commit().await?;
        Ok(())
    }
}
