//! AssumeRoleWithSAML: a SAML 2.0 response from an identity provider the account trusts,
//! exchanged for a role session.
//!
//! The response's XML signature is verified (xml-sec, its `SecureSaml` policy) against the
//! signing certificates of the provider's metadata, never against a key the document
//! carries. Only the element whose signature was verified is read: the response holds
//! exactly one `Assertion`, and either that assertion or the `Response` containing it must
//! be what the signature covers (no signature wrapping). Text is read whole (every text
//! node of an element, so a comment cannot truncate a signed `NameID`). Then, as AWS:
//! the issuer is the provider's `entityID`; the one bearer `SubjectConfirmationData` is
//! addressed to AWS's sign-in endpoint and not expired; the audience is AWS; the response
//! is redeemed within five minutes of issuance and once per role; the `Role` attribute
//! names the requested role and provider; the trust policy decides, with the `saml:*`
//! condition keys.

use portcullis_types::Arn;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use portcullis_policy::EvalDecision;
use sha2::Digest;
use xml_sec::api::Operation;
use xml_sec::policy::{CompiledPolicies, PolicyCompileContext, PolicyCompiler, PolicyProfile};
use xml_sec::provider::RustCryptoProvider;
use xml_sec::xmldsig::{SignatureAlgorithm, VerificationKey, VerificationRequest};
use xml_sec::{XmlDomNode, XmlSecurity};

use crate::saml_providers::parse_metadata;
use crate::sts::{packed_policy_size, AssumedRole, RoleSession};
use crate::{AuthzRequest, Caller, Federation, Iam, IamError, IamResult, Principal, RequestFacts};

const SAML_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const SAML_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const XMLENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const ATTRIBUTES: &str = "https://aws.amazon.com/SAML/Attributes/";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const NAMEID_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:";
/// AWS's audiences (`Audience` of the assertion's conditions).
const AUDIENCES: [&str; 2] = ["https://signin.aws.amazon.com/saml", "urn:amazon:webservices"];
/// A response is redeemed within five minutes of its `IssueInstant`.
const REDEEM_WITHIN: i64 = 300;
/// Clocks of the identity provider and the server may differ this much.
const SKEW: i64 = 60;
/// The largest decoded response read.
const MAX_RESPONSE: usize = 100_000;

/// Attributes that become `saml:*` condition keys: by OID (`urn:oid:…`) or by the claim
/// names of Active Directory, as AWS's table maps them.
const ATTRIBUTE_KEYS: [(&str, &str); 27] = [
    ("urn:oid:2.5.4.3", "cn"),
    ("urn:oid:2.5.4.42", "givenName"),
    ("urn:oid:2.5.4.4", "surname"),
    ("urn:oid:0.9.2342.19200300.100.1.3", "mail"),
    ("urn:oid:2.16.840.1.113730.3.1.241", "name"),
    ("urn:oid:2.5.4.41", "name"),
    ("urn:oid:0.9.2342.19200300.100.1.1", "uid"),
    ("urn:oid:2.5.4.45", "x500UniqueIdentifier"),
    ("urn:oid:1.3.6.1.4.1.25178.1.2.9", "organizationStatus"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", "edupersonaffiliation"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.2", "edupersonnickname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.3", "edupersonorgdn"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.4", "edupersonorgunitdn"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.5", "edupersonprimaryaffiliation"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.6", "edupersonprincipalname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.7", "edupersonentitlement"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.8", "edupersonprimaryorgunitdn"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.9", "edupersonscopedaffiliation"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.10", "edupersontargetedid"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.11", "edupersonassurance"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.2", "eduorghomepageuri"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.3", "eduorgidentityauthnpolicyuri"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.4", "eduorglegalname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.5", "eduorgsuperioruri"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.6", "eduorgwhitepagesuri"),
    ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "mail"),
    ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname", "givenName"),
];

/// What AssumeRoleWithSAML was asked.
#[derive(Debug, Clone, Default)]
pub struct SamlInput {
    pub role_arn: String,
    pub principal_arn: String,
    /// The base64-encoded SAML response.
    pub assertion: String,
    pub session: crate::SessionAsk,
}

/// The session, and what AssumeRoleWithSAML reports about the assertion.
pub struct SamlSession {
    pub assumed: AssumedRole,
    pub subject: String,
    pub subject_type: String,
    pub issuer: String,
    pub audience: String,
    pub name_qualifier: String,
}

/// What the verified assertion says.
#[derive(Debug, Default)]
struct Assertion {
    id: String,
    issuer: String,
    issue_instant: i64,
    subject: String,
    subject_format: String,
    recipient: String,
    not_on_or_after: i64,
    conditions: (Option<i64>, Option<i64>),
    /// The audiences of each `AudienceRestriction`.
    audiences: Vec<Vec<String>>,
    /// `NotBefore` of the bearer confirmation, when given.
    confirmation_not_before: Option<i64>,
    attributes: Vec<(String, Vec<String>)>,
}

impl Assertion {
    fn attribute(&self, name: &str) -> Option<&[String]> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
}

fn invalid(message: &str) -> IamError {
    IamError::InvalidIdentityToken(message.to_owned())
}

fn not_saml() -> IamError {
    invalid("Invalid SAML response: not a well-formed SAML 2.0 Response.")
}

fn not_authorized() -> IamError {
    IamError::AccessDenied("Not authorized to perform sts:AssumeRoleWithSAML".to_owned())
}

fn policies() -> IamResult<&'static CompiledPolicies> {
    static POLICIES: OnceLock<Result<CompiledPolicies, String>> = OnceLock::new();
    POLICIES
        .get_or_init(|| {
            PolicyCompiler::new(PolicyProfile::SecureSaml, &RustCryptoProvider, None)
                .and_then(|c| c.compile(&PolicyCompileContext { external_resources: false, target_evidence: true }))
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| IamError::ServiceFailure(format!("XML signature policy: {e}")))
}

fn time_of(value: Option<&str>) -> Option<i64> {
    time::OffsetDateTime::parse(value?, &time::format_description::well_known::Rfc3339).ok().map(time::OffsetDateTime::unix_timestamp)
}

fn is(node: XmlDomNode<'_, '_>, namespace: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(namespace) && node.tag_name().name() == name
}

fn child<'a, 'i>(node: XmlDomNode<'a, 'i>, namespace: &str, name: &str) -> Option<XmlDomNode<'a, 'i>> {
    node.children().find(|c| is(*c, namespace, name))
}

/// An element's whole text (every text child; comments and elements in between do not cut
/// it short), trimmed.
fn text(node: XmlDomNode<'_, '_>) -> String {
    node.children().filter(XmlDomNode::is_text).filter_map(XmlDomNode::text).collect::<String>().trim().to_owned()
}

/// The signature algorithms accepted: RSA PKCS#1 v1.5 and ECDSA with SHA-256 or stronger
/// (xml-sec's SAML policy refuses SHA-1); the key is the provider's certificate's.
fn signature_algorithm(uri: &str) -> Option<SignatureAlgorithm> {
    SignatureAlgorithm::from_uri(uri).filter(|a| {
        matches!(
            a,
            SignatureAlgorithm::RsaSha256
                | SignatureAlgorithm::RsaSha384
                | SignatureAlgorithm::RsaSha512
                | SignatureAlgorithm::EcdsaSha256
                | SignatureAlgorithm::EcdsaSha384
                | SignatureAlgorithm::EcdsaSha512
        )
    })
}

/// What the provider's metadata and settings give the verification.
pub(crate) struct ProviderKeys {
    /// The identity provider's signing certificates (DER).
    pub certificates: Vec<Vec<u8>>,
    /// The service provider's private keys (PEM) for encrypted assertions.
    pub private_keys: Vec<String>,
    /// `AssertionEncryptionMode` `Required`: plain assertions are refused.
    pub encryption_required: bool,
}

/// Where the assertion is, the IDs of the response and the assertion, which of them carry a
/// signature, and the signatures' method.
struct Shape {
    assertion_id: String,
    response_id: String,
    signed_ids: Vec<String>,
    methods: Vec<String>,
    status_ok: bool,
}

/// Which document a shape is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// A response with a plain assertion.
    Plain,
    /// A response with an encrypted assertion, as received: no plain assertion anywhere,
    /// exactly one `EncryptedData`, inside the one `EncryptedAssertion`.
    Received,
    /// The same once decrypted: the assertion inside the `EncryptedAssertion`, nothing
    /// left encrypted.
    Decrypted,
}

/// Reads a response's shape, refusing what SAML does not allow: not a `Response`, other
/// than exactly one assertion where `stage` says, signatures anywhere but on the response
/// and the assertion, one each. For a document as received with its assertion encrypted,
/// the assertion part is left empty.
fn shape_of(document: &xml_sec::document::XmlDocument, stage: Stage) -> IamResult<Shape> {
    document.with_view(|view| -> IamResult<Shape> {
        let doc = view.document();
        let root = doc.root_element();
        if !is(root, SAML_PROTOCOL, "Response") {
            return Err(not_saml());
        }
        let sealed: Vec<_> = doc.descendants().filter(|n| is(*n, SAML_ASSERTION, "EncryptedAssertion")).collect();
        let assertions: Vec<_> = doc.descendants().filter(|n| is(*n, SAML_ASSERTION, "Assertion")).collect();
        let encrypted_data: Vec<_> = doc.descendants().filter(|n| is(*n, XMLENC, "EncryptedData")).collect();
        let one = || invalid("Invalid SAML response: a response must hold exactly one assertion.");
        let assertion = match (stage, sealed.as_slice(), assertions.as_slice(), encrypted_data.as_slice()) {
            (Stage::Plain, [], [a], []) if a.parent() == Some(root) => Some(*a),
            (Stage::Received, [e], [], [d]) if e.parent() == Some(root) && d.parent() == Some(*e) => None,
            (Stage::Decrypted, [e], [a], []) if e.parent() == Some(root) && a.parent() == Some(*e) => Some(*a),
            (Stage::Plain, [_, ..], _, _) => return Err(invalid("Invalid SAML response: the assertion is encrypted but the provider has no private key to decrypt it.")),
            _ => return Err(one()),
        };
        let status_ok = child(root, SAML_PROTOCOL, "Status")
            .and_then(|s| child(s, SAML_PROTOCOL, "StatusCode"))
            .and_then(|c| c.attribute("Value"))
            == Some("urn:oasis:names:tc:SAML:2.0:status:Success");
        // Signatures only where SAML puts them, at most one on each: anything else is
        // refused before any cryptography is spent on it.
        let signatures: Vec<_> = doc.descendants().filter(|n| is(*n, XMLDSIG, "Signature")).collect();
        let placed = |n: &XmlDomNode<'_, '_>| n.parent().is_some_and(|p| p == root || Some(p) == assertion);
        if signatures.len() > 2 || !signatures.iter().all(placed) || signatures.iter().filter(|s| s.parent() == Some(root)).count() > 1 {
            return Err(invalid("Response signature invalid"));
        }
        let signed_ids = signatures.iter().filter_map(|s| s.parent()).filter_map(|p| p.attribute("ID")).map(str::to_owned).collect();
        let methods = signatures
            .iter()
            .filter_map(|s| child(*s, XMLDSIG, "SignedInfo"))
            .filter_map(|i| child(i, XMLDSIG, "SignatureMethod"))
            .filter_map(|m| m.attribute("Algorithm").map(str::to_owned))
            .collect();
        Ok(Shape {
            assertion_id: assertion.and_then(|a| a.attribute("ID")).unwrap_or_default().to_owned(),
            response_id: root.attribute("ID").unwrap_or_default().to_owned(),
            signed_ids,
            methods,
            status_ok,
        })
    })
}

/// Whether one of `ids` (elements that carry a signature) is covered by a valid signature
/// of one of the certificates.
fn signed_by_provider(security: &XmlSecurity<'_>, document: &xml_sec::document::XmlDocument, shape: &Shape, ids: &[&str], certificates: &[Vec<u8>]) -> IamResult<bool> {
    let Some(method) = shape.methods.first() else { return Ok(false) };
    if shape.methods.iter().any(|m| m != method) {
        return Ok(false);
    }
    let algorithm = signature_algorithm(method).ok_or_else(|| invalid("Invalid SAML response: unsupported signature algorithm."))?;
    for der in certificates {
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else { continue };
        let key = VerificationKey { algorithm, public_key_bytes: cert.tbs_certificate.subject_pki.raw.to_vec(), certificate_der: None, name: None };
        for id in ids {
            if id.is_empty() || !shape.signed_ids.iter().any(|s| s == id) {
                continue;
            }
            let Some(target) = document.with_view(|view| view.node_for_id(id, &[])) else { continue };
            let Ok(verifier) = security.verifier() else { continue };
            let evidence = verifier.key(&key).verify(document, &VerificationRequest { expected_targets: &[target], ..Default::default() });
            if evidence.is_ok_and(|e| e.accepted(document).unwrap_or(false)) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Decrypts the one `EncryptedAssertion` with one of the provider's private keys.
fn decrypted(security: &XmlSecurity<'_>, xml: &str, private_keys: &[String]) -> IamResult<String> {
    use xml_sec::key_manager::{KeyInventory, KeyUsages};
    for (i, pem) in private_keys.iter().enumerate() {
        let mut inventory = KeyInventory::default();
        let name = format!("sp-{i}");
        if inventory.add_private_pem(name.clone(), pem.as_bytes(), None, KeyUsages::DECRYPT, &xml_sec::policy::ResourcePolicy::default()).is_err() {
            continue;
        }
        let Ok(resolver) = security.decryption_key(&inventory, &name) else { continue };
        let Ok(decryptor) = security.decryptor(&*resolver) else { continue };
        if let Ok(plain) = decryptor.decrypt_xml(xml, None) {
            return Ok(plain);
        }
    }
    Err(invalid("Invalid SAML response: the encrypted assertion could not be decrypted with the provider's private keys."))
}

/// Verifies the response (decrypting its assertion first when it is encrypted) and reads
/// the assertion its signature covers.
fn verified_assertion(xml: &str, keys: &ProviderKeys) -> IamResult<Assertion> {
    let provider = RustCryptoProvider;
    let security = XmlSecurity::new(policies()?, &provider).map_err(|e| IamError::ServiceFailure(format!("XML security: {e}")))?;
    let received = security.parse_document(xml.to_owned(), Operation::Verify).map_err(|_| not_saml())?;
    let encrypted = !keys.private_keys.is_empty() && received.with_view(|v| v.document().descendants().any(|n| is(n, SAML_ASSERTION, "EncryptedAssertion")));
    let shape = shape_of(&received, if encrypted { Stage::Received } else { Stage::Plain })?;
    if !shape.status_ok {
        return Err(invalid("Invalid SAML response: its status is not Success."));
    }
    let bad_signature = || invalid("Response signature invalid");
    let (document, shape, accepted) = if encrypted {
        // The response's signature covers the ciphertext: it is checked on the response as
        // received; the assertion's own, after decryption.
        let response_signed = signed_by_provider(&security, &received, &shape, &[&shape.response_id], &keys.certificates)?;
        let plain = decrypted(&security, xml, &keys.private_keys)?;
        let document = security.parse_document(plain, Operation::Verify).map_err(|_| not_saml())?;
        let mut inner = shape_of(&document, Stage::Decrypted)?;
        inner.signed_ids.retain(|id| *id == inner.assertion_id);
        let accepted = response_signed || signed_by_provider(&security, &document, &inner, &[&inner.assertion_id], &keys.certificates)?;
        (document, inner, accepted)
    } else {
        if keys.encryption_required {
            return Err(invalid("Invalid SAML response: the provider requires encrypted assertions."));
        }
        let accepted = signed_by_provider(&security, &received, &shape, &[&shape.assertion_id, &shape.response_id], &keys.certificates)?;
        (received, shape, accepted)
    };
    if !accepted {
        return Err(bad_signature());
    }
    if shape.assertion_id.is_empty() {
        return Err(invalid("Invalid SAML response: the assertion has no ID."));
    }
    document.with_view(|view| {
        let doc = view.document();
        let node = doc.descendants().find(|n| is(*n, SAML_ASSERTION, "Assertion")).ok_or_else(not_saml)?;
        read_assertion(node, &shape.assertion_id)
    })
}

fn read_assertion(node: XmlDomNode<'_, '_>, id: &str) -> IamResult<Assertion> {
    let mut a = Assertion {
        id: id.to_owned(),
        issuer: child(node, SAML_ASSERTION, "Issuer").map(text).unwrap_or_default(),
        issue_instant: time_of(node.attribute("IssueInstant")).ok_or_else(not_saml)?,
        ..Assertion::default()
    };
    if let Some(subject) = child(node, SAML_ASSERTION, "Subject") {
        if let Some(name_id) = child(subject, SAML_ASSERTION, "NameID") {
            a.subject = text(name_id);
            a.subject_format = name_id.attribute("Format").unwrap_or("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified").to_owned();
        }
        let bearer: Vec<_> = subject
            .children()
            .filter(|c| is(*c, SAML_ASSERTION, "SubjectConfirmation") && c.attribute("Method") == Some(BEARER))
            .filter_map(|c| child(c, SAML_ASSERTION, "SubjectConfirmationData"))
            .collect();
        if let [data] = bearer.as_slice() {
            a.recipient = data.attribute("Recipient").unwrap_or_default().to_owned();
            a.not_on_or_after = time_of(data.attribute("NotOnOrAfter")).unwrap_or(0);
            a.confirmation_not_before = time_of(data.attribute("NotBefore"));
        }
    }
    if let Some(conditions) = child(node, SAML_ASSERTION, "Conditions") {
        a.conditions = (time_of(conditions.attribute("NotBefore")), time_of(conditions.attribute("NotOnOrAfter")));
        for restriction in conditions.children().filter(|c| is(*c, SAML_ASSERTION, "AudienceRestriction")) {
            a.audiences.push(restriction.children().filter(|c| is(*c, SAML_ASSERTION, "Audience")).map(text).collect());
        }
    }
    for statement in node.children().filter(|c| is(*c, SAML_ASSERTION, "AttributeStatement")) {
        for attribute in statement.children().filter(|c| is(*c, SAML_ASSERTION, "Attribute")) {
            let name = attribute.attribute("Name").unwrap_or_default().to_owned();
            let values: Vec<String> = attribute.children().filter(|c| is(*c, SAML_ASSERTION, "AttributeValue")).map(text).collect();
            match a.attributes.iter_mut().find(|(n, _)| *n == name) {
                Some((_, existing)) => existing.extend(values),
                None => a.attributes.push((name, values)),
            }
        }
    }
    Ok(a)
}

/// `https://signin.aws.amazon.com/saml` or a Region's `https://REGION.signin.aws.amazon.com/saml`.
fn aws_recipient(recipient: &str) -> bool {
    recipient == "https://signin.aws.amazon.com/saml"
        || recipient.strip_prefix("https://").and_then(|r| r.strip_suffix(".signin.aws.amazon.com/saml")).is_some_and(|region| {
            !region.is_empty() && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

fn session_name_ok(name: &str) -> bool {
    (2..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// Session tags from `PrincipalTag:KEY` attributes, under the rules AssumeRole's tags follow:
/// one value each, at most 50, keys of 1–128 and values of at most 256 characters, no key
/// twice (whatever its case).
fn principal_tags(assertion: &Assertion) -> IamResult<Vec<(String, String)>> {
    let bad = |why: &str| invalid(&format!("Invalid SAML response: {why}"));
    let mut tags: Vec<(String, String)> = Vec::new();
    for (name, values) in &assertion.attributes {
        let Some(key) = name.strip_prefix(&format!("{ATTRIBUTES}PrincipalTag:")) else { continue };
        let [value] = values.as_slice() else {
            return Err(bad("a PrincipalTag attribute must have exactly one value."));
        };
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(bad("a PrincipalTag key must have 1 to 128 characters and its value at most 256."));
        }
        if tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(bad("a PrincipalTag key is given twice."));
        }
        tags.push((key.to_owned(), value.clone()));
    }
    if tags.len() > 50 {
        return Err(bad("at most 50 PrincipalTag attributes are allowed."));
    }
    Ok(tags)
}

/// `NameQualifier`: base64 of the SHA-1 of the issuer, the account and the provider's name.
pub fn name_qualifier(issuer: &str, account: &str, provider_name: &str) -> String {
    STANDARD.encode(sha1::Sha1::digest(format!("{issuer}{account}/{provider_name}").as_bytes()))
}

impl Iam {
    pub async fn assume_role_with_saml(&self, input: &SamlInput, facts: RequestFacts) -> IamResult<SamlSession> {
        let invalid_arn = || IamError::Validation("Request ARN is invalid".to_owned());
        let role_arn = Arn::parse_iam(&input.role_arn, "role").ok_or_else(invalid_arn)?;
        let provider_arn = Arn::parse_iam(&input.principal_arn, "saml-provider").ok_or_else(invalid_arn)?;
        let account = role_arn.account.clone();
        let provider = {
            let mut tx = self.store.begin_read().await?;
            tx.get_saml_provider(&input.principal_arn).await?.filter(|p| p.account_id == account && p.account_id == provider_arn.account)
        }
        .ok_or_else(|| invalid("Specified provider doesn't exist."))?;
        let now = self.now();
        if provider.valid_until < now {
            return Err(invalid("Specified provider's metadata has expired."));
        }

        let compact: String = input.assertion.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = STANDARD.decode(compact).map_err(|_| not_saml())?;
        if bytes.len() > MAX_RESPONSE {
            return Err(not_saml());
        }
        let xml = String::from_utf8(bytes).map_err(|_| not_saml())?;
        let metadata = parse_metadata(&provider.metadata)?;
        let mut private_keys = Vec::new();
        for (id, _, sealed) in &provider.private_keys {
            let pem = self.secrets.open(sealed, &format!("saml-key:{}:{id}", provider.arn))?;
            private_keys.push(String::from_utf8(pem).map_err(|e| IamError::ServiceFailure(format!("SAML provider key: {e}")))?);
        }
        let keys = ProviderKeys {
            certificates: metadata.signing_certificates.clone(),
            private_keys,
            encryption_required: provider.assertion_encryption_mode.as_deref() == Some("Required"),
        };
        // Verification is CPU work on an untrusted document: off the async workers.
        // A few verifications at a time: unauthenticated callers cannot take every core.
        static VERIFYING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
        let _permit = VERIFYING.acquire().await.map_err(|e| IamError::ServiceFailure(format!("SAML verification: {e}")))?;
        let assertion = tokio::task::spawn_blocking(move || verified_assertion(&xml, &keys))
            .await
            .map_err(|e| IamError::ServiceFailure(format!("SAML verification: {e}")))??;

        if assertion.issuer != metadata.entity_id {
            return Err(invalid("Issuer not present in specified provider"));
        }
        if assertion.issue_instant > now + SKEW || now > assertion.issue_instant + REDEEM_WITHIN + SKEW {
            return Err(IamError::ExpiredTokenException("Token must be redeemed within 5 minutes of issuance".to_owned()));
        }
        if assertion.recipient.is_empty() || assertion.not_on_or_after == 0 {
            return Err(invalid("Invalid SAML response: exactly one bearer SubjectConfirmationData with Recipient and NotOnOrAfter is required."));
        }
        let expired = |t: i64| now >= t + SKEW;
        if expired(assertion.not_on_or_after) || assertion.conditions.1.is_some_and(expired) {
            return Err(IamError::ExpiredTokenException("Response has expired".to_owned()));
        }
        if assertion.conditions.0.into_iter().chain(assertion.confirmation_not_before).any(|t| t > now + SKEW) {
            return Err(invalid("Invalid SAML response: its conditions are not valid yet (NotBefore is in the future)."));
        }
        if !aws_recipient(&assertion.recipient) {
            return Err(invalid("Invalid SAML response: the Recipient is not AWS's sign-in endpoint (https://signin.aws.amazon.com/saml)."));
        }
        // Every AudienceRestriction must admit AWS (SAML core 2.5.1.4), and one must exist.
        let admits_aws = |list: &Vec<String>| list.iter().any(|a| AUDIENCES.contains(&a.as_str()) || aws_recipient(a));
        if assertion.audiences.is_empty() || !assertion.audiences.iter().all(admits_aws) {
            return Err(invalid("Invalid SAML response: the assertion's Audience is not https://signin.aws.amazon.com/saml."));
        }
        if assertion.subject.is_empty() {
            return Err(not_authorized());
        }
        let session_name = match assertion.attribute(&format!("{ATTRIBUTES}RoleSessionName")) {
            Some([name]) if session_name_ok(name) => name.clone(),
            Some([_]) => return Err(invalid("RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}")),
            _ => return Err(invalid("RoleSessionName is required in AuthnResponse")),
        };
        let source_identity = match assertion.attribute(&format!("{ATTRIBUTES}SourceIdentity")) {
            None => None,
            Some([si]) if session_name_ok(si) && !si.starts_with("aws:") => Some(si.clone()),
            Some(_) => return Err(invalid("Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with \"aws:\"")),
        };
        // The Role attribute must name this role with this provider (either order).
        let pair_named = assertion.attribute(&format!("{ATTRIBUTES}Role")).unwrap_or_default().iter().any(|value| {
            let parts: Vec<&str> = value.split(',').map(str::trim).collect();
            matches!(parts.as_slice(), [a, b] if (*a == input.role_arn && *b == input.principal_arn) || (*b == input.role_arn && *a == input.principal_arn))
        });
        if !pair_named {
            return Err(not_authorized());
        }
        let tags = principal_tags(&assertion)?;
        let transitive: Vec<String> = assertion.attribute(&format!("{ATTRIBUTES}TransitiveTagKeys")).unwrap_or_default().to_vec();
        if transitive.iter().any(|k| !tags.iter().any(|(t, _)| t.eq_ignore_ascii_case(k))) {
            return Err(invalid("Invalid SAML response: a TransitiveTagKeys value is not the key of a PrincipalTag attribute."));
        }
        let saml_duration = match assertion.attribute(&format!("{ATTRIBUTES}SessionDuration")) {
            None => None,
            Some([d]) => Some(d.parse::<i64>().ok().filter(|d| (900..=43_200).contains(d)).ok_or_else(|| invalid("Invalid SAML response: SessionDuration must be between 900 and 43200 seconds."))?),
            Some(_) => return Err(invalid("Invalid SAML response: SessionDuration must have one value.")),
        };

        let (role, trust) = self.role_with_trust(&role_arn, "sts:AssumeRoleWithSAML", not_authorized).await?;
        let subject_type = assertion.subject_format.strip_prefix(NAMEID_FORMAT).unwrap_or(&assertion.subject_format).to_owned();
        let qualifier = name_qualifier(&assertion.issuer, &account, &provider.name);
        let mut req = AuthzRequest::new("sts:AssumeRoleWithSAML", input.role_arn.clone())
            .with("sts:RoleSessionName", vec![session_name.clone()])
            .with("aws:FederatedProvider", vec![input.principal_arn.clone()])
            .with("saml:aud", vec![assertion.recipient.clone()])
            .with("saml:iss", vec![assertion.issuer.clone()])
            .with("saml:sub", vec![assertion.subject.clone()])
            .with("saml:sub_type", vec![subject_type.clone()])
            .with("saml:namequalifier", vec![qualifier.clone()])
            .with("saml:doc", vec![format!("{account}/{}", provider.name)])
            .with_request_tags(&tags);
        for (oid, key) in ATTRIBUTE_KEYS {
            if let Some(values) = assertion.attribute(oid).filter(|v| !v.is_empty()) {
                req = req.with(&format!("saml:{key}"), values.to_vec());
            }
        }
        if let Some(si) = &source_identity {
            req = req.with("sts:SourceIdentity", vec![si.clone()]);
        }
        if !transitive.is_empty() {
            req = req.with("sts:TransitiveTagKeys", transitive.clone());
        }
        let bearer = Caller {
            account_id: account.clone(),
            principal: Principal::ProviderUser { protocol: Federation::Saml, provider_arn: input.principal_arn.clone(), subject: assertion.subject.clone() },
            access_key_id: String::new(),
            session: None,
            request: facts,
        };
        let mut actions = vec!["sts:AssumeRoleWithSAML"];
        if !tags.is_empty() || !transitive.is_empty() {
            actions.push("sts:TagSession");
        }
        if source_identity.is_some() {
            actions.push("sts:SetSourceIdentity");
        }
        for action in actions {
            let asked = AuthzRequest { action: action.to_owned(), ..req.clone() };
            if self.decide_with(&bearer, &asked, &[("trust-policy", &trust)]).await?.effect != EvalDecision::Allowed {
                return Err(not_authorized());
            }
        }

        let asked = input.session.duration.unwrap_or(3_600);
        if asked > role.max_session_duration {
            return Err(IamError::Validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.".to_owned()));
        }
        // The SessionDuration attribute can only shorten the session asked for.
        let duration = saml_duration.map_or(asked, |d| asked.min(d));
        let policies = self.session_policies(&account, &input.session).await?;
        let packed = packed_policy_size(input.session.passes_policies() || !tags.is_empty(), &policies, &tags);

        // Once per role: a replay of the same response for the same role is refused.
        let replay_key = {
            // The issuer and the assertion's ID: the response's own ID is not signed when only
            // the assertion is, so it cannot tell responses apart.
            let digest = sha2::Sha256::digest(format!("{}\n{}\n{}\n{}", input.principal_arn, assertion.issuer, assertion.id, input.role_arn).as_bytes());
            format!("saml:{}", data_encoding::HEXLOWER.encode(&digest))
        };
        let keep_until = assertion.not_on_or_after.max(assertion.issue_instant + REDEEM_WITHIN) + SKEW;
        let mut tx = self.store.begin().await?;
        if !tx.redeem_once(&account, &replay_key, keep_until, now).await? {
            return Err(invalid("Invalid SAML response: this response has already been used for this role."));
        }
        tx.commit().await?;

        let session = RoleSession { role: &role, session_name: &session_name, duration, mfa_at: None, policies, source_identity, tags, transitive_tag_keys: transitive };
        let assumed = self.issue_role_session(session, packed)?;
        Ok(SamlSession {
            assumed,
            subject: assertion.subject,
            subject_type,
            issuer: assertion.issuer,
            audience: assertion.recipient,
            name_qualifier: qualifier,
        })
    }
}
