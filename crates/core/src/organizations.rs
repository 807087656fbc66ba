//! The organizations-facing operations of IAM and STS that are not IAM's centralized root
//! access features (those are in `org::iam_features`): AssumeRoot, and the answers for an
//! account outside an organization.

use crate::{AuthzRequest, Caller, Iam, IamError, IamResult, Principal, TemporaryCredentials};

/// The five AWS-managed task policies AssumeRoot takes.
const ROOT_TASK_POLICIES: [&str; 5] = [
    "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials",
    "arn:aws:iam::aws:policy/root-task/IAMCreateRootUserPassword",
    "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials",
    "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy",
    "arn:aws:iam::aws:policy/root-task/SQSUnlockQueuePolicy",
];

/// A task policy the embedded catalog lacks: unlocking a bucket's policy.
const S3_UNLOCK_FALLBACK: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:DeleteBucketPolicy","s3:GetBucketPolicy"],"Resource":"*"}]}"#;

/// ListOrganizationsFeatures, Enable/Disable…Root…, GenerateOrganizationsAccessReport.
pub fn no_organization() -> IamError {
    IamError::OrganizationNotFound("The request was rejected because no organization is associated with your account.".to_owned())
}

impl Iam {
    /// AssumeRoot: a short session (15 minutes at most) as a member account's root user,
    /// limited to one task by the task policy as its session policy. The caller's policies
    /// must allow `sts:AssumeRoot` on the member's root (with `sts:TaskPolicyArn`), the
    /// caller must be in the organization's management account, and the organization must
    /// have IAM's `RootSessions` feature enabled.
    pub async fn assume_root(&self, caller: &Caller, target: &str, task_policy_arn: Option<&str>, duration: Option<i64>) -> IamResult<TemporaryCredentials> {
        let account = match target.strip_prefix("arn:aws:iam::").and_then(|r| r.strip_suffix(":root")) {
            Some(a) => a,
            None if !target.starts_with("arn:") => target,
            None => "",
        };
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IamError::Validation("Request must contain a valid target principal".to_owned()));
        }
        let Some(task) = task_policy_arn else {
            return Err(IamError::Validation("1 validation error detected: Value null at 'taskPolicyArn' failed to satisfy constraint: Member must not be null".to_owned()));
        };
        if !ROOT_TASK_POLICIES.contains(&task) {
            return Err(IamError::Validation("Request must contain valid AWS managed task policy ARN".to_owned()));
        }
        let resource = crate::root_arn(account);
        let who = match caller.principal {
            Principal::Root => crate::root_arn(&caller.account_id),
            _ => caller.arn(),
        };
        let denied = || IamError::AccessDenied(format!("User: {who} is not authorized to perform: sts:AssumeRoot on resource: {resource}"));
        // Only IAM principals of the management account, never a root user or a session
        // that is itself a root session.
        if matches!(caller.principal, Principal::Root | Principal::ProviderUser { .. } | Principal::FederatedUser { .. }) {
            return Err(denied());
        }
        let request = AuthzRequest::new("sts:AssumeRoot", resource.clone()).with("sts:TaskPolicyArn", vec![task.to_owned()]);
        if let Some(message) = self.decide(caller, &request).await?.denial {
            return Err(IamError::AccessDenied(message));
        }
        if !self.may_open_root_session(&caller.account_id, account).await? {
            return Err(denied());
        }
        let document = match self.catalog().get(task) {
            Some(p) => p.document.clone(),
            None => S3_UNLOCK_FALLBACK.to_owned(),
        };
        self.issue_root_session(account, duration.unwrap_or(900), document)
    }
}
