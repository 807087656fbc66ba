//! Small value types the layers share: which kind of principal a policy hangs on, a tag,
//! which kind of user credential. They carry no storage detail.

/// A user, group or role: what a policy is attached to or embedded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    User,
    Group,
    Role,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::Role => "role",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "group" => Some(Self::Group),
            "role" => Some(Self::Role),
            _ => None,
        }
    }
}

/// A tag: a key and a value (possibly empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// What kind of credential an IAM user's SSH key, signing certificate or service-specific
/// credential is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// An SSH public key (for CodeCommit): its body is the key as uploaded, its detail the
    /// MD5 fingerprint.
    SshPublicKey,
    /// An X.509 signing certificate: its body is the PEM as uploaded.
    SigningCertificate,
    /// A service-specific credential: its body is the service, its detail the service user
    /// name or alias; only a hash of the secret is kept.
    ServiceSpecific,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SshPublicKey => "ssh",
            Self::SigningCertificate => "signing",
            Self::ServiceSpecific => "service",
        }
    }
}
