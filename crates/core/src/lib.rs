//! The domain of Portcullis: who is calling (authentication), whether they may (the
//! authorization seam), and the IAM operations themselves, each run inside one store
//! transaction. Depends on the store *traits* only; knows nothing of HTTP or SQL.

pub mod views;
pub mod audit;
mod access_keys;
mod access_advisor;
mod delegation;
mod account;
mod auth;
mod authorize;
mod catalog;
mod console_state;
mod credential_report;
mod security_status;
mod error;
mod groups;
mod inline;
mod instance_profiles;
mod login_profiles;
mod oidc_providers;
mod operations;
mod account_management;
mod identity_center;
mod org;
mod organizations;
mod outbound_federation;
mod page;
mod password_policy;
mod policies;
mod recovery;
mod roles;
mod saml;
mod saml_providers;
mod security_keys;
mod server_certificates;
mod service_access;
mod service_linked_roles;
mod signin;
mod simulate;
mod sts;
mod mfa;
mod tags;
mod user_credentials;
mod users;
mod web_identity;

use std::sync::Arc;

use portcullis_credentials::SecretBox;
use portcullis_store::Store;
use portcullis_types::Clock;

pub use account::{AccountSummary, AuthorizationDetails, BootstrapKey, GroupDetail, PolicyDetail, RoleDetail, UserDetail};
pub use auth::{Authorized, Caller, Federation, Principal, RequestFacts, Session};
pub use authorize::{AuthzDecision, AuthzRequest, ResourceKind};
pub use portcullis_policy::EvalDecision;
pub use catalog::{Catalog, ManagedPolicy};
pub use console_state::{ConsoleLimits, ConsoleState, ConsoleStateKind};
pub use error::IamError;
pub use operations::{unknown_operation, AccountOperation, CloudTrailOperation, Authorization, IamOperation, IdentityStoreOperation, OrganizationsOperation, Spec, SsoAdminOperation, SsoOidcOperation, SsoPortalOperation, StsOperation, Target};
pub use identity_center::{portal_unauthorized, AccountAssignmentInput, DirectoryEntity, PermissionSetInput, PortalKeyChallenge, PortalKeyRegistration, PortalMfaSetup, PortalMfaState, PortalSecondFactor, PortalSignIn, PortalUser, SsoPage, UsersWithoutMfa};
pub use page::{positional, Page, PageRequest};
pub use security_status::{SecurityCheck, SecurityStatus};
pub use credential_report::COLUMNS as CREDENTIAL_REPORT_COLUMNS;
pub use password_policy::PasswordPolicyInput;
pub use policies::{ManagedPolicyView, PolicyFilter, PolicyEntities};
pub use access_keys::{AccessKeyLastUsed, NewAccessKey};
pub use roles::{NewRole, RoleView};
pub use instance_profiles::InstanceProfileView;
pub use oidc_providers::OidcProviderView;
pub use user_credentials::key_status;
pub use access_advisor::{AccessReport, EntityAccessReport, ReportEntity, ServiceLastAccessed, TrackedAction};
pub use delegation::{DelegatedAccess, DelegationRequestView, NewDelegationRequest, Notification, PermissionCheck, PolicyParameter};
pub use organizations::no_organization;
pub use org::{AccountView as OrgAccountView, ChildView, CreateAccountInput, CreateAccountStatusView, EnabledServiceView, OrgPage, OrganizationView, PolicyTargetView, PolicyView as OrgPolicyView, RootView, UnitView, FULL_AWS_ACCESS_ID, ROOT_CREDENTIALS_MANAGEMENT, ROOT_SESSIONS};
pub use saml::{SamlInput, SamlSession};
pub use web_identity::{WebIdentityInput, WebIdentitySession};
pub use user_credentials::UserCredentialView;
pub use server_certificates::ServerCertificateView;
pub use users::UserView;
pub use sts::{AssumeRoleInput, AssumedRole, FederatedSession, FederationInput, SessionAsk, TemporaryCredentials};
pub use mfa::{MfaDeviceView, NewVirtualMfaDevice};
pub use recovery::{RecoveryCodeStatus, RECOVERY_CODES};
pub use security_keys::{SecurityKeyChallenge, SecurityKeyRegistration, WebAuthnSettings};
pub use signin::{PasswordChangeReason, SecondFactor, SignInError, SignInIdentity, SignInInput, SignInOutcome};
pub use simulate::{ContextEntry, EvaluationResult, ResourceResult, SimStatement, SimulationInput};
pub use groups::group_arn;
pub use tags::Tagged;
pub use outbound_federation::OutboundFederation;
pub use saml_providers::SamlProviderView;
pub use service_access::{GrantingPolicy, ServiceAccess};

pub type IamResult<T> = Result<T, IamError>;

/// The IAM service: shared by every request, cheap to clone.
#[derive(Clone)]
pub struct Iam {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    secrets: Arc<SecretBox>,
    catalog: Arc<Catalog>,
    cache: Arc<authorize::PolicyCache>,
    /// Access keys' last recorded uses, by key id: (service, region, time) for each place.
    last_used: Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<(String, String, i64)>>>>,
    /// Recent failures per MFA device and per sign-in identity: (count, since).
    failures: Arc<std::sync::Mutex<std::collections::HashMap<String, (u32, i64)>>>,
    /// Passkeys and security keys, when the server knows its public origin.
    webauthn: Option<Arc<webauthn_rs::prelude::Webauthn>>,
    /// CA certificates trusted besides the public ones for OpenID Connect providers.
    oidc_roots: Arc<Vec<reqwest::Certificate>>,
    /// OpenID Connect providers' signing keys, by issuer.
    oidc_keys: Arc<web_identity::KeyCache>,
    /// The address people reach this server at (issuer URLs of outbound federation).
    public_base_url: Arc<String>,
    /// What was sent to notification channels (delegation tokens), newest last.
    notifications: Arc<std::sync::Mutex<Vec<delegation::Notification>>>,
    /// Where e-mail goes (Identity Center's invitations), when the server has an SMTP relay.
    mailer: Option<Arc<dyn Mailer>>,
    /// The audit trail's recorder.
    events: Arc<audit::EventLog>,
}

/// Sends e-mail for the server (an SMTP relay in the binary; a recorder in tests).
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    /// Sends a plain-text message; `Err` says why it could not be handed over.
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String>;
}

impl Iam {
    /// Sends the server's e-mail through `mailer`.
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, secrets: Arc<SecretBox>) -> IamResult<Self> {
        Ok(Self { store, clock, secrets, catalog: Catalog::embedded()?, cache: Arc::default(), last_used: Arc::default(), failures: Arc::default(), webauthn: None, oidc_roots: Arc::default(), oidc_keys: Arc::default(), public_base_url: Arc::new("http://localhost:8700".to_owned()), notifications: Arc::default(), mailer: None, events: Arc::default() })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The database pool's use: (in use, idle, maximum).
    pub fn pool_use(&self) -> Option<(u32, u32, u32)> {
        self.store.pool_use()
    }

    /// Whether the store can serve requests now (the readiness check).
    pub async fn ready(&self) -> IamResult<()> {
        self.store.check_ready().await.map_err(Into::into)
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
}

/// ARNs of IAM entities: `arn:aws:iam::ACCOUNT:KIND/PATHNAME`.
pub fn iam_arn(account: &str, kind: &str, path: &str, name: &str) -> String {
    portcullis_types::Arn::iam(account, kind, path, name).to_string()
}

/// `arn:aws:iam::ACCOUNT:root`.
pub fn root_arn(account: &str) -> String {
    iam_arn(account, "root", "", "")
}

/// `arn:aws:iam::ACCOUNT:RESOURCE` for a resource written whole (`oidc-provider/HOST`).
pub(crate) fn iam_resource_arn(account: &str, resource: &str) -> String {
    iam_arn(account, resource, "", "")
}
