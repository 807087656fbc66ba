//! The error returned when a policy document is rejected.
//!
//! The message is the text AWS puts in a `MalformedPolicyDocument` error so that
//! clients which match on it (SDK retries, Terraform, tests) see what they expect.

/// A policy document was rejected; `message` is AWS's `MalformedPolicyDocument` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    pub message: String,
}

impl PolicyError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        PolicyError {
            message: message.into(),
        }
    }

    pub(crate) fn syntax() -> Self {
        Self::new(SYNTAX)
    }

    pub(crate) fn legacy() -> Self {
        Self::new(LEGACY)
    }
}

/// Messages AWS returns verbatim; kept together so tests and callers can compare.
pub const SYNTAX: &str = "Syntax errors in policy.";
/// A role's trust policy that is not JSON (AWS words it differently from the others).
pub const INVALID_JSON: &str = "This policy contains invalid Json";
pub const LEGACY: &str = "The policy failed legacy parsing";
pub const VERSION_REQUIRED: &str = "Policy document must be version 2012-10-17 or greater.";
pub const NO_PRINCIPAL_ALLOWED: &str = "Policy document should not specify a principal.";
pub const PRINCIPAL_REQUIRED: &str = "Missing required field Principal";
pub const RESOURCE_PROHIBITED: &str = "Has prohibited field Resource";
pub const IAM_RESOURCE_PATH: &str = "IAM resource path must either be \"*\", root, or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/.";
pub const TRUST_ACTIONS: &str = "AssumeRole policy may only specify STS AssumeRole actions.";
pub const ACTIONS_REQUIRED: &str = "Policy statement must contain actions.";
pub const RESOURCES_REQUIRED: &str = "Policy statement must contain resources.";
pub const DUPLICATE_SID: &str = "Statement IDs (SID) in a single policy must be unique.";
pub const SID_NOT_ALPHANUMERIC: &str = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*";
pub const ACTION_VENDOR: &str =
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
pub const ACTION_ONE_COLON: &str = "Actions/Condition can contain only one colon.";
pub const RESOURCE_VENDOR: &str =
    "Resource vendor must be fully qualified and cannot contain regexes.";
