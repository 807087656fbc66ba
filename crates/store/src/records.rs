//! Rows as the domain sees them. Times are Unix seconds (AWS reports whole seconds).

pub use portcullis_types::{CredentialKind, KeyStatus, PrincipalKind, Role as RoleRecord, Tag, User as UserRecord};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub account_id: String,
    pub created_at: i64,
    pub root_email: String,
    pub root_password_hash: Option<String>,
    pub alias: Option<String>,
}


/// A server certificate (for load balancers and CloudFront): the certificate, its chain,
/// and its private key sealed with the master key.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerCertificateRecord {
    pub server_certificate_id: String,
    pub account_id: String,
    pub name: String,
    pub path: String,
    pub body: String,
    pub chain: Option<String>,
    pub private_key_sealed: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl std::fmt::Debug for ServerCertificateRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCertificateRecord").field("server_certificate_id", &self.server_certificate_id).field("name", &self.name).finish_non_exhaustive()
    }
}

/// An IAM user's SSH public key, signing certificate or service-specific credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCredentialRecord {
    pub credential_id: String,
    pub kind: CredentialKind,
    pub account_id: String,
    pub user_id: String,
    /// `Active`, `Inactive`.
    pub status: KeyStatus,
    pub body: String,
    pub detail: Option<String>,
    pub secret_hash: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// A SAML 2.0 identity provider the account trusts (AssumeRoleWithSAML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlProviderRecord {
    /// `arn:aws:iam::ACCOUNT:saml-provider/NAME`.
    pub arn: String,
    pub account_id: String,
    pub name: String,
    pub uuid: String,
    /// The provider's metadata document, as uploaded.
    pub metadata: String,
    pub valid_until: i64,
    pub created_at: i64,
    /// `Allowed` or `Required`, when set.
    pub assertion_encryption_mode: Option<String>,
    /// Private keys for encrypted assertions: (key id, added at, the PEM sealed with the
    /// master key).
    pub private_keys: Vec<(String, i64, String)>,
}

/// An OpenID Connect identity provider the account trusts (`AssumeRoleWithWebIdentity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProviderRecord {
    /// `arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH`.
    pub arn: String,
    pub account_id: String,
    /// The issuer URL without its `https://`.
    pub url: String,
    /// The audiences (`aud`) tokens may be for, in the order they were added.
    pub client_ids: Vec<String>,
    /// SHA-1 thumbprints (40 hex digits) of the issuer's certificates.
    pub thumbprints: Vec<String>,
    pub created_at: i64,
}

/// An instance profile: a container for (at most) one role that EC2 instances take on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceProfileRecord {
    pub account_id: String,
    pub instance_profile_id: String,
    pub name: String,
    pub path: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub account_id: String,
    pub group_id: String,
    pub name: String,
    pub path: String,
    pub created_at: i64,
}


#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    pub account_id: String,
    pub policy_id: String,
    pub name: String,
    pub path: String,
    pub arn: String,
    pub description: Option<String>,
    pub default_version: String,
    /// The number the next CreatePolicyVersion gets (AWS never reuses version ids).
    pub next_version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersionRecord {
    pub policy_id: String,
    pub version_id: String,
    pub document: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyRecord {
    pub access_key_id: String,
    pub account_id: String,
    /// None for the root user's keys.
    pub user_id: Option<String>,
    /// The secret access key, encrypted with the master key (see `SecretBox`).
    pub secret_sealed: String,
    pub status: KeyStatus,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub last_used_service: Option<String>,
    pub last_used_region: Option<String>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct LoginProfileRecord {
    pub user_id: String,
    /// argon2id PHC string; never the password itself.
    pub password_hash: String,
    pub reset_required: bool,
    pub created_at: i64,
    pub password_changed_at: i64,
}

impl std::fmt::Debug for LoginProfileRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginProfileRecord")
            .field("user_id", &self.user_id)
            .field("reset_required", &self.reset_required)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// What a tag hangs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagTarget {
    User,
    Role,
    Policy,
    MfaDevice,
    InstanceProfile,
    OidcProvider,
    ServerCertificate,
    SamlProvider,
}

impl TagTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Role => "role",
            Self::Policy => "policy",
            Self::MfaDevice => "mfa",
            Self::InstanceProfile => "instance-profile",
            Self::OidcProvider => "oidc-provider",
            Self::ServerCertificate => "server-certificate",
            Self::SamlProvider => "saml-provider",
        }
    }
}

/// Keyset pagination over a name-sorted listing: entries whose lowercase name sorts after
/// `after`, filtered by path prefix, at most `limit` (callers ask one more than they show
/// to learn whether the listing is truncated).
#[derive(Debug, Clone, Default)]
pub struct PageQuery<'a> {
    pub path_prefix: Option<&'a str>,
    pub after: Option<&'a str>,
    pub limit: i64,
}

/// What an MFA device is: an authenticator app (TOTP) or a passkey / security key
/// (WebAuthn; AWS's "FIDO security key", serial numbers under `u2f/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MfaKind {
    Virtual,
    SecurityKey,
}

impl MfaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Virtual => "virtual",
            Self::SecurityKey => "u2f",
        }
    }

    /// The stored name; anything unknown is read as what it most restricts (a device
    /// that takes no one-time codes).
    pub fn parse(s: &str) -> Self {
        if s == "virtual" {
            Self::Virtual
        } else {
            Self::SecurityKey
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct MfaDeviceRecord {
    pub serial_number: String,
    pub kind: MfaKind,
    pub account_id: String,
    pub name: String,
    pub path: String,
    /// The IAM user the device is enabled for, if any.
    pub user_id: Option<String>,
    /// Enabled for the account's root user.
    pub assigned_root: bool,
    /// Encrypted with the master key: the TOTP seed of an authenticator app, or the
    /// WebAuthn credential (public key, credential id, signature counter) of a security key,
    /// so that neither can be read or swapped without the key.
    pub seed_sealed: String,
    pub created_at: i64,
    pub enabled_at: Option<i64>,
    /// The last accepted TOTP time step (a code is never accepted twice); for a security
    /// key, when it was last used.
    pub last_step: Option<i64>,
}

/// When a user or role was last allowed an action (access advisor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionAccessRecord {
    /// The user's or role's ARN.
    pub entity_arn: String,
    /// `service:Action`, as the request named it.
    pub action: String,
    pub region: String,
    pub accessed_at: i64,
}

/// An access advisor report job (GenerateServiceLastAccessedDetails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessReportRecord {
    pub job_id: String,
    pub account_id: String,
    /// The user, group, role or managed policy reported on.
    pub arn: String,
    /// `SERVICE_LEVEL` or `ACTION_LEVEL`.
    pub granularity: String,
    /// Who asked (the caller's ARN): only they may read the job.
    pub requested_by: String,
    pub created_at: i64,
}

/// A delegation request: the columns Portcullis looks requests up by, and the rest as a
/// JSON document the domain reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationRequestRecord {
    pub request_id: String,
    pub requestor_account_id: String,
    pub workflow_id: String,
    pub owner_account_id: Option<String>,
    pub owner_id: Option<String>,
    pub state: String,
    /// SHA-256 (hex) of the trade-in token, once sent.
    pub token_hash: Option<String>,
    pub created_at: i64,
    pub body: String,
}

/// One of an identity's single-use recovery codes (only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryCodeRecord {
    pub code_hash: String,
    pub created_at: i64,
    pub used_at: Option<i64>,
}

impl std::fmt::Debug for MfaDeviceRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaDeviceRecord")
            .field("serial_number", &self.serial_number)
            .field("kind", &self.kind)
            .field("user_id", &self.user_id)
            .field("assigned_root", &self.assigned_root)
            .field("enabled_at", &self.enabled_at)
            .finish_non_exhaustive()
    }
}

/// The account password policy; `None` members are AWS's "not set".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicyRecord {
    pub account_id: String,
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

/// What an object of an organization is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrgObjectKind {
    /// The organization itself (its id is `o-…`).
    Organization,
    /// The organization's root (`r-…`).
    Root,
    /// An organizational unit (`ou-…`).
    Unit,
    /// An account's membership (its id is the account id).
    Account,
    /// A policy (service control policy and the other types; `p-…`).
    Policy,
    /// A CreateAccount request and its status (`car-…`).
    CreateAccountRequest,
    /// An invitation or other handshake (`h-…`).
    Handshake,
    /// An IAM Identity Center instance (`ssoins-…`), scoped by its organization or account.
    SsoInstance,
    /// An identity store (`d-…`), scoped by itself; its body names its instance and owner.
    IdentityStore,
    /// A user of an identity store (scoped by the store).
    DirectoryUser,
    /// A group of an identity store.
    DirectoryGroup,
    /// A user's membership in a group (its parent is the group).
    GroupMembership,
    /// A permission set (`ps-…`), scoped by its instance.
    PermissionSet,
    /// An account assignment: a user or group, a permission set and an account.
    AccountAssignment,
    /// An asynchronous Identity Center request and its status (assignment creation and
    /// deletion, permission set provisioning).
    SsoRequest,
    /// A directory user's sign-in secrets (password hash and history, one-time password),
    /// apart from the user so that DescribeUser never carries them.
    DirectoryCredential,
    /// A client registered with the OpenID Connect service (`sso-oidc` RegisterClient).
    OidcClient,
    /// A device authorization waiting for a user's approval (its id is the device code's hash).
    DeviceAuthorization,
    /// An access portal session (its id is the access token's hash).
    PortalSession,
}

impl OrgObjectKind {
    pub const ALL: [Self; 19] = [
        Self::Organization,
        Self::Root,
        Self::Unit,
        Self::Account,
        Self::Policy,
        Self::CreateAccountRequest,
        Self::Handshake,
        Self::SsoInstance,
        Self::IdentityStore,
        Self::DirectoryUser,
        Self::DirectoryGroup,
        Self::GroupMembership,
        Self::PermissionSet,
        Self::AccountAssignment,
        Self::SsoRequest,
        Self::DirectoryCredential,
        Self::OidcClient,
        Self::DeviceAuthorization,
        Self::PortalSession,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organization => "organization",
            Self::Root => "root",
            Self::Unit => "unit",
            Self::Account => "account",
            Self::Policy => "policy",
            Self::CreateAccountRequest => "create-account",
            Self::Handshake => "handshake",
            Self::SsoInstance => "sso-instance",
            Self::IdentityStore => "identity-store",
            Self::DirectoryUser => "directory-user",
            Self::DirectoryGroup => "directory-group",
            Self::GroupMembership => "group-membership",
            Self::PermissionSet => "permission-set",
            Self::AccountAssignment => "account-assignment",
            Self::SsoRequest => "sso-request",
            Self::DirectoryCredential => "directory-credential",
            Self::OidcClient => "oidc-client",
            Self::DeviceAuthorization => "device-authorization",
            Self::PortalSession => "portal-session",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One object of an organization or of a service working over it (Identity Center's
/// instances, identity stores, users, permission sets…): the columns it is found and kept
/// unique by, and the rest as a JSON document the domain reads and writes. `org_id` is the
/// scope the object's unique key holds in (its organization, identity store or instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgObjectRecord {
    pub object_id: String,
    pub org_id: String,
    pub kind: OrgObjectKind,
    /// The root or unit an account or unit is in.
    pub parent_id: Option<String>,
    /// Unique per organization and kind when present (a unit's name under its parent, a
    /// policy's type and name).
    pub unique_key: Option<String>,
    pub created_at: i64,
    pub body: String,
}

/// What a link between two objects of an organization means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrgLinkKind {
    /// A policy (from) attached to a root, unit or account (to).
    PolicyTarget,
    /// An account (from) registered as delegated administrator for a service principal (to).
    DelegatedAdministrator,
    /// The organization (from) trusts a service principal (to).
    ServiceAccess,
}

impl OrgLinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PolicyTarget => "policy-target",
            Self::DelegatedAdministrator => "delegated-administrator",
            Self::ServiceAccess => "service-access",
        }
    }
}

/// A link between two objects of an organization, with when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgLinkRecord {
    pub from_id: String,
    pub to_id: String,
    pub created_at: i64,
}

/// Something the web console keeps between a browser's requests (a signed-in session, a
/// sign-in waiting for its next step, a key registration under way), in the database so
/// that every node of a service sees it. `state_id` is the SHA-256 of the token the browser
/// holds, never the token; `body` is sealed by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleStateRecord {
    pub state_id: String,
    pub kind: String,
    /// Whose it is (a session's identity), or empty.
    pub owner: String,
    pub body: String,
    pub created_at: i64,
    pub last_seen: i64,
    pub expires_at: i64,
}
