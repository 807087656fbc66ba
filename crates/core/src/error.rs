use portcullis_store::StoreError;

/// IAM's error vocabulary: each variant is a wire code from the service model; the message
/// is AWS's wording. `ServiceFailure` keeps its cause for the log only.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("{0}")]
    NoSuchEntity(String),
    #[error("{0}")]
    EntityAlreadyExists(String),
    #[error("{0}")]
    DeleteConflict(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    PasswordPolicyViolation(String),
    #[error("{0}")]
    PolicyNotAttachable(String),
    #[error("{0}")]
    UnmodifiableEntity(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    InvalidClientTokenId(String),
    #[error("{0}")]
    InvalidAction(String),
    #[error("{0}")]
    ExpiredToken(String),
    #[error("{0}")]
    ReportNotPresent(String),
    #[error("{0}")]
    ReportExpired(String),
    #[error("{0}")]
    InvalidUserType(String),
    #[error("{0}")]
    InvalidAuthorizationMessage(String),
    #[error("{0}")]
    InvalidAuthenticationCode(String),
    /// AssumeRoleWithWebIdentity: the token is not a JWT, its provider is unknown, its
    /// keys cannot be fetched, its signature or audience is wrong. AssumeRoleWithSAML: the
    /// response is not SAML, its provider is unknown, its signature, issuer, recipient or
    /// audience is wrong, it was replayed.
    #[error("{0}")]
    InvalidIdentityToken(String),
    #[error("{0}")]
    UnrecognizedPublicKeyEncoding(String),
    #[error("{0}")]
    InvalidPublicKey(String),
    #[error("{0}")]
    DuplicateSshPublicKey(String),
    #[error("{0}")]
    MalformedCertificate(String),
    #[error("{0}")]
    DuplicateCertificate(String),
    #[error("{0}")]
    KeyPairMismatch(String),
    #[error("{0}")]
    FeatureEnabled(String),
    #[error("{0}")]
    FeatureDisabled(String),
    #[error("{0}")]
    OutboundFederationDisabled(String),
    #[error("{0}")]
    ExpiredTokenException(String),
    /// The organizations-facing operations, for an account outside an organization.
    #[error("{0}")]
    OrganizationNotFound(String),
    #[error("{0}")]
    ConcurrentModification(String),
    /// STS: session tags that break AWS's rules.
    #[error("{0}")]
    InvalidParameterValue(String),
    /// GetDelegatedAccessToken: the trade-in token has expired or was used.
    #[error("{0}")]
    ExpiredTradeInToken(String),
    /// An error of a JSON-protocol service (Organizations, Identity Center), by its
    /// exception name, with the members some of them carry (`Reason`, `ResourceType`).
    #[error("{message}")]
    Service { code: &'static str, message: String, fields: Vec<(&'static str, String)> },
    #[error("internal failure: {0}")]
    ServiceFailure(String),
    /// The database cannot be reached now; the cause is for the log only.
    #[error("service unavailable: {0}")]
    ServiceUnavailable(String),
}

impl IamError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSuchEntity(_) => "NoSuchEntity",
            Self::EntityAlreadyExists(_) => "EntityAlreadyExists",
            Self::DeleteConflict(_) => "DeleteConflict",
            Self::LimitExceeded(_) => "LimitExceeded",
            Self::InvalidInput(_) => "InvalidInput",
            Self::Validation(_) => "ValidationError",
            Self::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            Self::PasswordPolicyViolation(_) => "PasswordPolicyViolation",
            Self::PolicyNotAttachable(_) => "PolicyNotAttachable",
            Self::UnmodifiableEntity(_) => "UnmodifiableEntity",
            Self::AccessDenied(_) => "AccessDenied",
            Self::InvalidClientTokenId(_) => "InvalidClientTokenId",
            Self::InvalidAction(_) => "InvalidAction",
            Self::ExpiredToken(_) => "ExpiredToken",
            Self::ReportNotPresent(_) => "ReportNotPresent",
            Self::ReportExpired(_) => "ReportExpired",
            Self::InvalidUserType(_) => "InvalidUserType",
            Self::InvalidAuthorizationMessage(_) => "InvalidAuthorizationMessageException",
            Self::InvalidAuthenticationCode(_) => "InvalidAuthenticationCode",
            Self::InvalidIdentityToken(_) => "InvalidIdentityToken",
            Self::UnrecognizedPublicKeyEncoding(_) => "UnrecognizedPublicKeyEncoding",
            Self::InvalidPublicKey(_) => "InvalidPublicKey",
            Self::DuplicateSshPublicKey(_) => "DuplicateSSHPublicKey",
            Self::MalformedCertificate(_) => "MalformedCertificate",
            Self::DuplicateCertificate(_) => "DuplicateCertificate",
            Self::KeyPairMismatch(_) => "KeyPairMismatch",
            Self::FeatureEnabled(_) => "FeatureEnabled",
            Self::FeatureDisabled(_) => "FeatureDisabled",
            Self::OutboundFederationDisabled(_) => "OutboundWebIdentityFederationDisabledException",
            Self::ExpiredTokenException(_) => "ExpiredTokenException",
            Self::OrganizationNotFound(_) => "OrganizationNotFoundException",
            Self::ConcurrentModification(_) => "ConcurrentModification",
            Self::InvalidParameterValue(_) => "InvalidParameterValue",
            Self::ExpiredTradeInToken(_) => "ExpiredTradeInTokenException",
            Self::Service { code, .. } => code,
            Self::ServiceFailure(_) => "ServiceFailure",
            Self::ServiceUnavailable(_) => "ServiceUnavailable",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::NoSuchEntity(_) | Self::FeatureDisabled(_) => 404,
            Self::FeatureEnabled(_) => 409,
            Self::OutboundFederationDisabled(_) => 403,
            Self::EntityAlreadyExists(_) | Self::DeleteConflict(_) | Self::LimitExceeded(_) | Self::DuplicateCertificate(_) | Self::ConcurrentModification(_) => 409,
            Self::AccessDenied(_) | Self::InvalidClientTokenId(_) | Self::ExpiredToken(_) | Self::InvalidAuthenticationCode(_) => 403,
            Self::ServiceFailure(_) => 500,
            Self::ServiceUnavailable(_) => 503,
            Self::ReportNotPresent(_) | Self::ReportExpired(_) => 410,
            _ => 400,
        }
    }

    /// A JSON-protocol service's error, with the members it carries beside its message.
    pub fn service(code: &'static str, message: impl Into<String>, fields: &[(&'static str, &str)]) -> Self {
        Self::Service { code, message: message.into(), fields: fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect() }
    }

    /// What the client is told. Internal failures never reveal their cause.
    pub fn public_message(&self) -> String {
        match self {
            Self::ServiceFailure(_) => {
                "The request processing has failed because of an unknown error, exception or failure.".to_owned()
            }
            Self::ServiceUnavailable(_) => "The request has failed due to a temporary failure of the server.".to_owned(),
            other => other.to_string(),
        }
    }
}

impl From<StoreError> for IamError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => Self::ServiceUnavailable(cause),
            other => Self::ServiceFailure(other.to_string()),
        }
    }
}

impl From<portcullis_credentials::CredentialError> for IamError {
    fn from(e: portcullis_credentials::CredentialError) -> Self {
        Self::ServiceFailure(e.to_string())
    }
}

impl From<portcullis_credentials::SecretBoxError> for IamError {
    fn from(e: portcullis_credentials::SecretBoxError) -> Self {
        Self::ServiceFailure(e.to_string())
    }
}
