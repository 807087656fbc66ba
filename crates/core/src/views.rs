//! What the domain hands to the protocol and console layers: the fields AWS shows of each
//! entity, and nothing a storage row keeps for Portcullis alone (sealed secrets, password
//! hashes, private keys, counters). The api and console crates see these, never the store's
//! records, so a storage change cannot leak into a response and a secret cannot be encoded
//! by mistake.

use portcullis_store as store;
/// A user and a role have no storage-only members: their records are their views.
pub use portcullis_types::{CredentialKind, KeyStatus, PrincipalKind, Role, Tag, User};

/// Copies the named fields of a record into a view of the same field names.
macro_rules! view_of {
    ($view:ident from $record:ty { $($field:ident),* $(,)? }) => {
        impl From<$record> for $view {
            fn from(r: $record) -> Self {
                Self { $($field: r.$field),* }
            }
        }
        impl From<&$record> for $view {
            fn from(r: &$record) -> Self {
                Self { $($field: r.$field.clone()),* }
            }
        }
    };
}

/// The account: its id, creation time, root user's email and alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_id: String,
    pub created_at: i64,
    pub root_email: String,
    pub alias: Option<String>,
}
view_of!(Account from store::AccountRecord { account_id, created_at, root_email, alias });

/// An IAM group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub account_id: String,
    pub group_id: String,
    pub name: String,
    pub path: String,
    pub created_at: i64,
}
view_of!(Group from store::GroupRecord { account_id, group_id, name, path, created_at });

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    pub version_id: String,
    pub document: String,
    pub created_at: i64,
}
view_of!(PolicyVersion from store::PolicyVersionRecord { version_id, document, created_at });

/// An access key's metadata (the secret is shown once, at creation, and never again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub status: KeyStatus,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub last_used_service: Option<String>,
    pub last_used_region: Option<String>,
}
view_of!(AccessKey from store::AccessKeyRecord { access_key_id, status, created_at, last_used_at, last_used_service, last_used_region });

/// A SAML identity provider (its assertion-decryption private keys stay in the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlProvider {
    pub arn: String,
    pub name: String,
    pub uuid: String,
    pub metadata: String,
    pub valid_until: i64,
    pub created_at: i64,
    pub assertion_encryption_mode: Option<String>,
    /// The private keys' ids and when each was added.
    pub private_keys: Vec<(String, i64)>,
}

impl From<store::SamlProviderRecord> for SamlProvider {
    fn from(r: store::SamlProviderRecord) -> Self {
        Self {
            arn: r.arn,
            name: r.name,
            uuid: r.uuid,
            metadata: r.metadata,
            valid_until: r.valid_until,
            created_at: r.created_at,
            assertion_encryption_mode: r.assertion_encryption_mode,
            private_keys: r.private_keys.into_iter().map(|(id, added, _sealed)| (id, added)).collect(),
        }
    }
}

/// An OpenID Connect identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    pub arn: String,
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub created_at: i64,
}
view_of!(OidcProvider from store::OidcProviderRecord { arn, url, client_ids, thumbprints, created_at });

/// An instance profile (its role comes beside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceProfile {
    pub instance_profile_id: String,
    pub name: String,
    pub path: String,
    pub created_at: i64,
}
view_of!(InstanceProfile from store::InstanceProfileRecord { instance_profile_id, name, path, created_at });

/// A server certificate with its chain (its private key stays sealed in the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCertificate {
    pub server_certificate_id: String,
    pub name: String,
    pub path: String,
    pub body: String,
    pub chain: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}
view_of!(ServerCertificate from store::ServerCertificateRecord { server_certificate_id, name, path, body, chain, created_at, expires_at });

/// A user's SSH public key, signing certificate or service-specific credential (a
/// service-specific password is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCredential {
    pub credential_id: String,
    pub kind: CredentialKind,
    pub status: KeyStatus,
    pub body: String,
    pub detail: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}
view_of!(UserCredential from store::UserCredentialRecord { credential_id, kind, status, body, detail, created_at, expires_at });

/// An access advisor report job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessReportJob {
    pub job_id: String,
    pub arn: String,
    pub granularity: String,
    pub created_at: i64,
}
view_of!(AccessReportJob from store::AccessReportRecord { job_id, arn, granularity, created_at });

/// The account password policy; `None` members are AWS's "not set".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub minimum_length: i64,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub allow_users_to_change: bool,
    pub max_age_days: Option<i64>,
    pub reuse_prevention: Option<i64>,
    pub hard_expiry: bool,
}
view_of!(PasswordPolicy from store::PasswordPolicyRecord {
    minimum_length, require_symbols, require_numbers, require_uppercase, require_lowercase, allow_users_to_change,
    max_age_days, reuse_prevention, hard_expiry,
});
