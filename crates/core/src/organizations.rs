//! What the organizations-facing operations of IAM and STS answer while the server's
//! accounts belong to no organization (AWS Organizations arrives with issue #14): AWS's
//! answers for an account outside an organization.

use crate::{Caller, Iam, IamError, IamResult, Principal};

/// The five AWS-managed task policies AssumeRoot takes.
const ROOT_TASK_POLICIES: [&str; 5] = [
    "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials",
    "arn:aws:iam::aws:policy/root-task/IAMCreateRootUserPassword",
    "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials",
    "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy",
    "arn:aws:iam::aws:policy/root-task/SQSUnlockQueuePolicy",
];

/// ListOrganizationsFeatures, Enable/Disable…Root…, GenerateOrganizationsAccessReport.
pub fn no_organization() -> IamError {
    IamError::OrganizationNotFound("The request was rejected because no organization is associated with your account.".to_owned())
}

impl Iam {
    /// AssumeRoot: a short session as a member account's root user, for one task. It needs
    /// an organization with centralized root access, and this account is in none: after
    /// the input is checked, the answer is AWS's for that case.
    pub fn assume_root(&self, caller: &Caller, target: &str, task_policy_arn: Option<&str>) -> IamResult<std::convert::Infallible> {
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
        let who = match caller.principal {
            Principal::Root => crate::root_arn(&caller.account_id),
            _ => caller.arn(),
        };
        Err(IamError::AccessDenied(format!("User: {who} is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::{account}:root")))
    }
}
