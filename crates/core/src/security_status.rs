//! The security checklist of the account-security tutorials and the IAM dashboard's
//! recommendations, computed from the account's state.

use portcullis_store::{PageQuery, PrincipalKind};

use crate::{Iam, IamResult};

/// Access keys older than this are "not rotated" (the dashboard's 90 days).
const KEY_ROTATION_DAYS: i64 = 90;

#[derive(Debug, Clone, serde::Serialize)]
pub struct SecurityCheck {
    pub id: &'static str,
    pub title: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SecurityStatus {
    pub account_id: String,
    pub checks: Vec<SecurityCheck>,
}

impl SecurityStatus {
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

impl Iam {
    pub async fn security_status(&self, account: &str) -> IamResult<SecurityStatus> {
        let now = self.now();
        let mut tx = self.store.begin_read().await?;
        let devices = tx.mfa_devices(account).await?;
        let root_keys = tx.access_keys_for(account, None).await?;
        let all = PageQuery { path_prefix: None, after: None, limit: i64::MAX };
        let users = tx.list_users(account, &all).await?;
        let groups = tx.list_groups(account, &all).await?;
        let policy = tx.get_password_policy(account).await?;

        let mut groups_with_members_and_policies = 0;
        for g in &groups {
            let members = !tx.group_members(&g.group_id, &PageQuery { path_prefix: None, after: None, limit: 1 }).await?.is_empty();
            let policies = !tx.attached_policies(PrincipalKind::Group, &g.group_id).await?.is_empty()
                || !tx.inline_policy_names(PrincipalKind::Group, &g.group_id).await?.is_empty();
            if members && policies {
                groups_with_members_and_policies += 1;
            }
        }
        let mut console_users_without_mfa = Vec::new();
        let mut old_keys = Vec::new();
        for u in &users {
            if tx.get_login_profile(&u.user_id).await?.is_some()
                && !devices.iter().any(|d| d.user_id.as_deref() == Some(u.user_id.as_str()) && d.enabled_at.is_some())
            {
                console_users_without_mfa.push(u.name.clone());
            }
            for k in tx.access_keys_for(account, Some(&u.user_id)).await? {
                if k.status.is_active() && now - k.created_at > KEY_ROTATION_DAYS * 86_400 {
                    old_keys.push(format!("{} ({})", k.access_key_id, u.name));
                }
            }
        }
        let root_mfa = devices.iter().any(|d| d.assigned_root && d.enabled_at.is_some());
        let active_root_keys = root_keys.iter().filter(|k| k.status.is_active()).count();
        let checks = vec![
            SecurityCheck {
                id: "root_mfa",
                title: "Add MFA for the root user",
                ok: root_mfa,
                detail: if root_mfa { "MFA is active for the root user.".into() } else { "The root user has no active MFA device.".into() },
            },
            SecurityCheck {
                id: "root_access_keys",
                title: "The root user has no active access keys",
                ok: active_root_keys == 0,
                detail: format!("{active_root_keys} active root access key(s)."),
            },
            SecurityCheck {
                id: "iam_users",
                title: "Create individual IAM users",
                ok: !users.is_empty(),
                detail: format!("{} IAM user(s).", users.len()),
            },
            SecurityCheck {
                id: "groups",
                title: "Use groups to assign permissions",
                ok: groups_with_members_and_policies > 0,
                detail: format!("{groups_with_members_and_policies} group(s) with members and policies."),
            },
            SecurityCheck {
                id: "password_policy",
                title: "Apply an IAM password policy",
                ok: policy.is_some(),
                detail: if policy.is_some() { "A password policy is set.".into() } else { "No password policy is set.".into() },
            },
            SecurityCheck {
                id: "users_mfa",
                title: "IAM users who can sign in have MFA",
                ok: console_users_without_mfa.is_empty(),
                detail: if console_users_without_mfa.is_empty() {
                    "Every user with a console password has MFA.".into()
                } else {
                    format!("Without MFA: {}.", console_users_without_mfa.join(", "))
                },
            },
            SecurityCheck {
                id: "access_key_rotation",
                title: "Access keys are rotated every 90 days",
                ok: old_keys.is_empty(),
                detail: if old_keys.is_empty() { "No active access key is older than 90 days.".into() } else { format!("Older than 90 days: {}.", old_keys.join(", ")) },
            },
        ];
        Ok(SecurityStatus { account_id: account.to_owned(), checks })
    }
}
