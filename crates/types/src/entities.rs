//! The IAM entities whose stored form and public form are the same: a user and a role carry
//! nothing Portcullis keeps for itself, so the store keeps these and the domain hands them
//! out as they are (`portcullis_store::UserRecord` and `portcullis_core::views::User` are
//! this `User`).

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub account_id: String,
    pub user_id: String,
    pub name: String,
    pub path: String,
    pub created_at: i64,
    pub permissions_boundary: Option<String>,
    pub password_last_used: Option<i64>,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub account_id: String,
    pub role_id: String,
    pub name: String,
    pub path: String,
    pub created_at: i64,
    pub assume_role_policy: String,
    pub description: Option<String>,
    pub max_session_duration: i64,
    pub permissions_boundary: Option<String>,
    pub last_used_at: Option<i64>,
    pub last_used_region: Option<String>,
}
