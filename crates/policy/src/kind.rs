//! Which kind of policy a document is, and the rules and limits that follow from it.

/// Where a policy document is used; decides which elements it may or must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Managed or inline policy attached to a user, group or role. No `Principal`.
    Identity,
    /// Resource-based policy (bucket, queue, key ...). `Principal` required.
    Resource,
    /// A role's trust policy (`AssumeRolePolicyDocument`). `Principal` required, no `Resource`.
    Trust,
    /// A managed policy used as a user's or role's permissions boundary. No `Principal`.
    PermissionsBoundary,
    /// An Organizations service control policy. No `Principal`.
    Scp,
    /// A session policy passed to `AssumeRole*` / `GetFederationToken`. No `Principal`.
    Session,
}

impl PolicyKind {
    /// Kinds attached to an identity: the principal is implied, so naming one is an error.
    pub(crate) fn forbids_principal(self) -> bool {
        !self.requires_principal()
    }

    pub(crate) fn requires_principal(self) -> bool {
        matches!(self, PolicyKind::Resource | PolicyKind::Trust)
    }

    /// IAM itself (not STS or Organizations) validates these, and IAM rejects
    /// documents without `"Version": "2012-10-17"`.
    pub(crate) fn requires_current_version(self) -> bool {
        matches!(self, PolicyKind::Identity | PolicyKind::PermissionsBoundary)
    }

    /// IAM restricts `Sid` to ASCII letters and digits; other services (S3, SQS ...) do not.
    pub(crate) fn alphanumeric_sid(self) -> bool {
        matches!(
            self,
            PolicyKind::Identity | PolicyKind::PermissionsBoundary | PolicyKind::Trust
        )
    }
}

/// AWS's size quotas, in characters as counted by [`crate::policy_size`].
pub mod limits {
    /// One customer managed policy (also used for permissions boundaries).
    pub const MANAGED_POLICY: usize = 6_144;
    /// All inline policies of one user together.
    pub const USER_INLINE_TOTAL: usize = 2_048;
    /// All inline policies of one group together.
    pub const GROUP_INLINE_TOTAL: usize = 5_120;
    /// All inline policies of one role together.
    pub const ROLE_INLINE_TOTAL: usize = 10_240;
    /// A role's trust policy (default quota).
    pub const ROLE_TRUST_POLICY: usize = 2_048;
    /// A service control policy.
    pub const SCP: usize = 5_120;
}
