//! An IAM user's other credentials: SSH public keys (for CodeCommit), X.509 signing
//! certificates, and service-specific credentials (CodeCommit and Keyspaces user names and
//! passwords, Bedrock API keys). Keys and certificates are parsed and checked (RSA of at
//! least 2048 bits; a certificate that parses and has not expired); passwords and secrets
//! are shown once and only a hash is kept.

use portcullis_types::KeyStatus;
use md5::{Digest as _, Md5};
use portcullis_credentials::{new_unique_id, random_bytes};
use portcullis_store::{CredentialKind, UserCredentialRecord, UserRecord};
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use ssh_key::public::KeyData;

use crate::users::{load_user, named_or_caller};
use crate::{Authorized, Iam, IamError, IamResult, Page, PageRequest};

const SSH_KEYS_PER_USER: usize = 5;
const CERTIFICATES_PER_USER: usize = 2;
const SERVICE_CREDENTIALS_PER_SERVICE: usize = 2;
/// Services with service-specific credentials: (name, gives an API key rather than a user
/// name and password, the API key's prefix).
const SERVICES: &[(&str, bool, &str)] = &[
    ("codecommit.amazonaws.com", false, ""),
    ("cassandra.amazonaws.com", false, ""),
    ("bedrock.amazonaws.com", true, "ABSK"),
];

/// What the Upload/Get/Create answers show of a credential.
#[derive(Debug, Clone)]
pub struct UserCredentialView {
    pub user_name: String,
    pub record: crate::views::UserCredential,
    /// The password or secret, only when just made.
    pub secret: Option<String>,
}

/// A status a request asks to set: `Active` or `Inactive` (the model's `Expired` is not
/// something a caller can set).
pub fn key_status(status: &str) -> IamResult<KeyStatus> {
    if status == "Expired" {
        return Err(IamError::InvalidInput("Operation does not support status Expired".to_owned()));
    }
    KeyStatus::parse(status).ok_or_else(|| {
        IamError::Validation(format!("1 validation error detected: Value '{status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]"))
    })
}

/// An SSH public key as uploaded: its SSH wire form and its RSA key.
fn parse_ssh_key(body: &str) -> IamResult<ssh_key::public::RsaPublicKey> {
    let unrecognized = || IamError::UnrecognizedPublicKeyEncoding("Invalid public key uploaded.".to_owned());
    let invalid = || IamError::InvalidPublicKey("Invalid body for public key".to_owned());
    let text = body.trim();
    let (rsa_key, bits) = if text.starts_with("ssh-") {
        let key = ssh_key::PublicKey::from_openssh(text).map_err(|_| unrecognized())?;
        let KeyData::Rsa(k) = key.key_data() else { return Err(invalid()) };
        let n = k.n.as_positive_bytes().ok_or_else(invalid)?;
        (k.clone(), n.len() * 8)
    } else if text.starts_with("-----BEGIN PUBLIC KEY-----") {
        let k = rsa::RsaPublicKey::from_public_key_pem(text).map_err(|_| unrecognized())?;
        let bits = rsa::traits::PublicKeyParts::size(&k) * 8;
        (ssh_key::public::RsaPublicKey::try_from(&k).map_err(|_| invalid())?, bits)
    } else {
        return Err(unrecognized());
    };
    if !(2048..=16384).contains(&bits) {
        return Err(invalid());
    }
    Ok(rsa_key)
}

fn ssh_blob(key: &ssh_key::public::RsaPublicKey) -> IamResult<Vec<u8>> {
    ssh_key::PublicKey::from(KeyData::Rsa(key.clone())).to_bytes().map_err(|e| IamError::ServiceFailure(format!("ssh key: {e}")))
}

/// The MD5 fingerprint of the key, as AWS shows it (hex pairs joined by colons).
fn fingerprint(key: &ssh_key::public::RsaPublicKey) -> IamResult<String> {
    let digest = Md5::digest(ssh_blob(key)?);
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"))
}

/// A certificate's id: base32 of the SHA-1 of its DER form (32 characters).
fn certificate_id(der: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    data_encoding::BASE32_NOPAD.encode(&Sha1::digest(der))
}

async fn credential_owner_in(tx: &mut Box<dyn portcullis_store::Tx>, auth: &Authorized<'_>, user_name: Option<&str>) -> IamResult<UserRecord> {
    named_or_caller(tx, auth, user_name)
        .await?
        .ok_or_else(|| IamError::Validation("Must specify userName when calling with non-User credentials".to_owned()))
}

fn view(user: &UserRecord, record: UserCredentialRecord, secret: Option<String>) -> UserCredentialView {
    UserCredentialView { user_name: user.name.clone(), record: record.into(), secret }
}

impl Iam {
    async fn credential_owner(&self, auth: &Authorized<'_>, user_name: Option<&str>) -> IamResult<UserRecord> {
        let mut tx = self.store.begin_read().await?;
        credential_owner_in(&mut tx, auth, user_name).await
    }

    pub async fn upload_ssh_public_key(&self, auth: &Authorized<'_>, user_name: &str, body: &str) -> IamResult<UserCredentialView> {
        let key = parse_ssh_key(body)?;
        let print = fingerprint(&key)?;
        let mut tx = self.store.begin().await?;
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        tx.lock(&format!("user:{}", user.user_id)).await?;
        let existing = tx.user_credentials(&user.user_id, CredentialKind::SshPublicKey).await?;
        if existing.iter().any(|k| k.detail.as_deref() == Some(print.as_str())) {
            return Err(IamError::DuplicateSshPublicKey("Duplicate SSH public key uploaded.".to_owned()));
        }
        if existing.len() >= SSH_KEYS_PER_USER {
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for SSHPublicKeysPerUser: {SSH_KEYS_PER_USER}")));
        }
        let id = format!("APKA{}", data_encoding::BASE32_NOPAD.encode(&random_bytes::<10>()?));
        let rec = UserCredentialRecord {
            credential_id: id,
            kind: CredentialKind::SshPublicKey,
            account_id: auth.account().to_owned(),
            user_id: user.user_id.clone(),
            status: KeyStatus::Active,
            body: body.to_owned(),
            detail: Some(print),
            secret_hash: None,
            created_at: self.now(),
            expires_at: None,
        };
        tx.insert_user_credential(&rec).await?;
        tx.commit().await?;
        Ok(view(&user, rec, None))
    }

    /// A user's credential by id, read in the operation's transaction (so that a change is
    /// checked and written at once): another user's, or none, is not found (in `missing`'s words).
    async fn own_credential(
        &self,
        tx: &mut Box<dyn portcullis_store::Tx>,
        auth: &Authorized<'_>,
        user_name: Option<&str>,
        id: &str,
        kind: CredentialKind,
        missing: impl Fn() -> IamError,
    ) -> IamResult<(UserRecord, UserCredentialRecord)> {
        let user = credential_owner_in(tx, auth, user_name).await?;
        let rec = tx.get_user_credential(id).await?.filter(|c| c.kind == kind && c.account_id == auth.account()).ok_or_else(&missing)?;
        if rec.user_id != user.user_id {
            return Err(missing());
        }
        Ok((user, rec))
    }

    /// GetSSHPublicKey: the key in SSH form (without its comment) or as PEM.
    pub async fn get_ssh_public_key(&self, auth: &Authorized<'_>, user_name: &str, id: &str, pem: bool) -> IamResult<UserCredentialView> {
        let missing = || IamError::NoSuchEntity(format!("The Public Key with id {id} cannot be found."));
        let mut tx = self.store.begin_read().await?;
        let (user, mut rec) = self.own_credential(&mut tx, auth, Some(user_name), id, CredentialKind::SshPublicKey, missing).await?;
        let key = parse_ssh_key(&rec.body)?;
        rec.body = if pem {
            let k = rsa::RsaPublicKey::try_from(&key).map_err(|e| IamError::ServiceFailure(format!("ssh key: {e}")))?;
            k.to_public_key_pem(LineEnding::LF).map_err(|e| IamError::ServiceFailure(format!("ssh key: {e}")))?
        } else {
            ssh_key::PublicKey::from(KeyData::Rsa(key)).to_openssh().map_err(|e| IamError::ServiceFailure(format!("ssh key: {e}")))?
        };
        Ok(view(&user, rec, None))
    }

    pub async fn list_user_credentials(&self, auth: &Authorized<'_>, user_name: Option<&str>, kind: CredentialKind, page: &PageRequest) -> IamResult<Page<UserCredentialView>> {
        let mut tx = self.store.begin_read().await?;
        let Some(user) = named_or_caller(&mut tx, auth, user_name).await? else {
            return Page::from_all(Vec::new(), page);
        };
        let items = tx.user_credentials(&user.user_id, kind).await?.into_iter().map(|r| view(&user, r, None)).collect();
        Page::from_all(items, page)
    }

    /// UpdateSSHPublicKey, UpdateSigningCertificate, UpdateServiceSpecificCredential.
    pub async fn update_user_credential_status(&self, auth: &Authorized<'_>, user_name: Option<&str>, id: &str, kind: CredentialKind, status: KeyStatus) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("user-credential:{id}")).await?;
        let (_, mut rec) = self.own_credential(&mut tx, auth, user_name, id, kind, || missing_credential(kind, id)).await?;
        rec.status = status;
        tx.update_user_credential(&rec).await?;
        tx.commit().await?;
        Ok(())
    }

    /// DeleteSSHPublicKey, DeleteSigningCertificate, DeleteServiceSpecificCredential.
    pub async fn delete_user_credential(&self, auth: &Authorized<'_>, user_name: Option<&str>, id: &str, kind: CredentialKind) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("user-credential:{id}")).await?;
        let (_, rec) = self.own_credential(&mut tx, auth, user_name, id, kind, || missing_credential(kind, id)).await?;
        tx.delete_user_credential(&rec.credential_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn upload_signing_certificate(&self, auth: &Authorized<'_>, user_name: Option<&str>, body: &str) -> IamResult<UserCredentialView> {
        let malformed = || IamError::MalformedCertificate(format!("Certificate {body} is malformed."));
        let (_, pem) = x509_parser::pem::parse_x509_pem(body.trim().as_bytes()).map_err(|_| malformed())?;
        let cert = pem.parse_x509().map_err(|_| malformed())?;
        if cert.validity().not_after.timestamp() < self.now() {
            return Err(malformed());
        }
        let id = certificate_id(&pem.contents);
        let user = self.credential_owner(auth, user_name).await?;
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("user:{}", user.user_id)).await?;
        if let Some(existing) = tx.get_user_credential(&id).await? {
            if existing.user_id != user.user_id {
                return Err(IamError::DuplicateCertificate("Duplicate certificate uploaded.".to_owned()));
            }
            // The same certificate again is the one already there (shown as Active).
            let mut shown = existing;
            shown.status = KeyStatus::Active;
            return Ok(view(&user, shown, None));
        }
        if tx.user_credentials(&user.user_id, CredentialKind::SigningCertificate).await?.len() >= CERTIFICATES_PER_USER {
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for CertificatesPerUser: {CERTIFICATES_PER_USER}")));
        }
        let rec = UserCredentialRecord {
            credential_id: id,
            kind: CredentialKind::SigningCertificate,
            account_id: auth.account().to_owned(),
            user_id: user.user_id.clone(),
            status: KeyStatus::Active,
            body: body.to_owned(),
            detail: None,
            secret_hash: None,
            created_at: self.now(),
            expires_at: None,
        };
        tx.insert_user_credential(&rec).await?;
        tx.commit().await?;
        Ok(view(&user, rec, None))
    }

    pub async fn create_service_specific_credential(&self, auth: &Authorized<'_>, user_name: &str, service: &str, age_days: Option<i64>) -> IamResult<UserCredentialView> {
        let mut tx = self.store.begin().await?;
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        let (service, api_key, prefix) = supported_service(service)?;
        tx.lock(&format!("user:{}", user.user_id)).await?;
        let existing: Vec<UserCredentialRecord> =
            tx.user_credentials(&user.user_id, CredentialKind::ServiceSpecific).await?.into_iter().filter(|c| c.body == service).collect();
        if existing.len() >= SERVICE_CREDENTIALS_PER_SERVICE {
            return Err(IamError::LimitExceeded(format!(
                "Cannot exceed quota for ContextSpecificCredentialsPerUserPerContext: {SERVICE_CREDENTIALS_PER_SERVICE}"
            )));
        }
        // The first is USER-at-ACCOUNT, a second USER+1-at-ACCOUNT.
        let plain = format!("{}-at-{}", user.name, auth.account());
        let taken = existing.iter().any(|c| c.detail.as_deref() == Some(plain.as_str()));
        let service_user = if taken { format!("{}+1-at-{}", user.name, auth.account()) } else { plain };
        let secret = new_secret(&service_user, api_key, prefix)?;
        let now = self.now();
        let rec = UserCredentialRecord {
            credential_id: new_unique_id("ACCA")?,
            kind: CredentialKind::ServiceSpecific,
            account_id: auth.account().to_owned(),
            user_id: user.user_id.clone(),
            status: KeyStatus::Active,
            body: service.to_owned(),
            detail: Some(service_user),
            secret_hash: Some(secret_hash(&secret)),
            created_at: now,
            expires_at: age_days.map(|d| now + d * 86_400),
        };
        tx.insert_user_credential(&rec).await?;
        tx.commit().await?;
        Ok(view(&user, rec, Some(secret)))
    }

    pub async fn reset_service_specific_credential(&self, auth: &Authorized<'_>, user_name: Option<&str>, id: &str) -> IamResult<UserCredentialView> {
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("user-credential:{id}")).await?;
        let (user, mut rec) = self.own_credential(&mut tx, auth, user_name, id, CredentialKind::ServiceSpecific, || missing_credential(CredentialKind::ServiceSpecific, id)).await?;
        let (_, api_key, prefix) = supported_service(&rec.body)?;
        let secret = new_secret(rec.detail.as_deref().unwrap_or_default(), api_key, prefix)?;
        rec.secret_hash = Some(secret_hash(&secret));
        tx.update_user_credential(&rec).await?;
        tx.commit().await?;
        Ok(view(&user, rec, Some(secret)))
    }

    /// Whether a service has service-specific credentials (for listing one service's).
    pub fn check_credential_service(&self, service: &str) -> IamResult<String> {
        supported_service(service).map(|(s, ..)| s.to_owned())
    }
}

fn missing_credential(kind: CredentialKind, id: &str) -> IamError {
    IamError::NoSuchEntity(match kind {
        CredentialKind::SshPublicKey => format!("The Public Key with id {id} cannot be found."),
        CredentialKind::SigningCertificate => format!("The Certificate with id {id} cannot be found."),
        CredentialKind::ServiceSpecific => format!("No such credential {id} exists"),
    })
}

/// The service as AWS names it (case does not matter), whether it gives API keys, and
/// their prefix.
fn supported_service(service: &str) -> IamResult<(&'static str, bool, &'static str)> {
    SERVICES
        .iter()
        .find(|(s, ..)| s.eq_ignore_ascii_case(service))
        .map(|&(s, k, p)| (s, k, p))
        .ok_or_else(|| IamError::NoSuchEntity(format!("No such service {service} is supported for Service Specific Credentials")))
}

/// A service password (60 characters), or an API key: PREFIX + base64(alias:secret).
fn new_secret(service_user: &str, api_key: bool, prefix: &str) -> IamResult<String> {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let password = STANDARD.encode(random_bytes::<45>()?);
    Ok(if api_key { format!("{prefix}{}", STANDARD.encode(format!("{service_user}:{password}"))) } else { password })
}

fn secret_hash(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}
