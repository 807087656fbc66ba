//! The account password policy: stored, reported and enforced whenever a password is set
//! (CreateLoginProfile, UpdateLoginProfile, ChangePassword). Without a policy, AWS's
//! default rule applies: 8 to 128 characters and three of the four character classes.

use portcullis_credentials::verify_password;
use portcullis_store::{PasswordPolicyRecord, Tx};

use crate::{Authorized, Iam, IamError, IamResult};

/// Characters AWS counts as symbols in password policies.
const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";
/// Hashes of earlier passwords kept per user: the most PasswordReusePrevention allows.
pub(crate) const HISTORY_KEPT: i64 = 24;

/// UpdateAccountPasswordPolicy's members; a member left out takes AWS's default.
#[derive(Debug, Clone, Default)]
pub struct PasswordPolicyInput {
    pub minimum_length: Option<i64>,
    pub require_symbols: Option<bool>,
    pub require_numbers: Option<bool>,
    pub require_uppercase: Option<bool>,
    pub require_lowercase: Option<bool>,
    pub allow_users_to_change: Option<bool>,
    pub max_age_days: Option<i64>,
    pub reuse_prevention: Option<i64>,
    pub hard_expiry: Option<bool>,
}

fn violation(message: impl Into<String>) -> IamError {
    IamError::PasswordPolicyViolation(message.into())
}

/// Checks a password against the policy (or AWS's default rule when there is none).
pub(crate) fn check_rules(policy: Option<&PasswordPolicyRecord>, password: &str) -> IamResult<()> {
    let len = i64::try_from(password.chars().count()).unwrap_or(i64::MAX);
    let upper = password.chars().any(|c| c.is_ascii_uppercase());
    let lower = password.chars().any(|c| c.is_ascii_lowercase());
    let digit = password.chars().any(|c| c.is_ascii_digit());
    let symbol = password.chars().any(|c| SYMBOLS.contains(c));
    match policy {
        None => {
            let classes = [upper, lower, digit, password.chars().any(|c| !c.is_ascii_alphanumeric())];
            if !(8..=128).contains(&len) || classes.iter().filter(|c| **c).count() < 3 {
                return Err(violation("Password does not conform to the account password policy."));
            }
        }
        Some(p) => {
            if len < p.minimum_length {
                return Err(violation(format!("Password should have a minimum length of {}", p.minimum_length)));
            }
            if p.require_uppercase && !upper {
                return Err(violation("Password should have at least one uppercase letter"));
            }
            if p.require_lowercase && !lower {
                return Err(violation("Password should have at least one lowercase letter"));
            }
            if p.require_numbers && !digit {
                return Err(violation("Password should have at least one number"));
            }
            if p.require_symbols && !symbol {
                return Err(violation("Password should have at least one symbol"));
            }
        }
    }
    Ok(())
}

impl Iam {
    pub async fn update_account_password_policy(&self, auth: &Authorized<'_>, input: &PasswordPolicyInput) -> IamResult<()> {
        let rec = PasswordPolicyRecord {
            account_id: auth.account().to_owned(),
            // AWS's default when the request leaves it out.
            minimum_length: input.minimum_length.unwrap_or(6),
            require_symbols: input.require_symbols.unwrap_or(false),
            require_numbers: input.require_numbers.unwrap_or(false),
            require_uppercase: input.require_uppercase.unwrap_or(false),
            require_lowercase: input.require_lowercase.unwrap_or(false),
            allow_users_to_change: input.allow_users_to_change.unwrap_or(false),
            max_age_days: input.max_age_days.filter(|d| *d > 0),
            reuse_prevention: input.reuse_prevention.filter(|n| *n > 0),
            hard_expiry: input.hard_expiry.unwrap_or(false),
        };
        let mut tx = self.store.begin().await?;
        tx.put_password_policy(&rec).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_account_password_policy(&self, auth: &Authorized<'_>) -> IamResult<crate::views::PasswordPolicy> {
        let mut tx = self.store.begin_read().await?;
        tx.get_password_policy(auth.account()).await?.map(Into::into).ok_or_else(|| no_policy(auth.account()))
    }

    pub async fn delete_account_password_policy(&self, auth: &Authorized<'_>) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        if !tx.delete_password_policy(auth.account()).await? {
            return Err(IamError::NoSuchEntity("The account policy with name PasswordPolicy cannot be found.".to_owned()));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The account's rules, then reuse prevention against the user's earlier passwords.
    pub(crate) async fn check_new_password(&self, tx: &mut Box<dyn Tx>, account: &str, user_id: &str, password: &str) -> IamResult<()> {
        let policy = tx.get_password_policy(account).await?;
        check_rules(policy.as_ref(), password)?;
        if let Some(n) = policy.and_then(|p| p.reuse_prevention) {
            let history = tx.password_history(user_id).await?;
            let recent = history.iter().take(usize::try_from(n).unwrap_or(0));
            if recent.into_iter().any(|h| verify_password(password, h)) {
                return Err(violation(format!(
                    "Password should not be one of your last {n} passwords"
                )));
            }
        }
        Ok(())
    }

    /// Whether the policy lets users change their own password without an explicit grant.
    pub async fn users_may_change_password(&self, account: &str) -> IamResult<bool> {
        let mut tx = self.store.begin_read().await?;
        Ok(tx.get_password_policy(account).await?.is_some_and(|p| p.allow_users_to_change))
    }
}

fn no_policy(account: &str) -> IamError {
    IamError::NoSuchEntity(format!("The Password Policy with domain name {account} cannot be found."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicyRecord {
        PasswordPolicyRecord {
            account_id: "1".into(),
            minimum_length: 12,
            require_symbols: true,
            require_numbers: true,
            require_uppercase: true,
            require_lowercase: true,
            allow_users_to_change: true,
            max_age_days: None,
            reuse_prevention: None,
            hard_expiry: false,
        }
    }

    #[test]
    fn default_rule() {
        assert!(check_rules(None, "Str0ng!Pass").is_ok());
        assert!(check_rules(None, "short1A").is_err());
        assert!(check_rules(None, "alllowercase").is_err());
        assert!(check_rules(None, "Lower123456").is_ok());
    }

    #[test]
    fn each_rule_names_itself() {
        let p = policy();
        let msg = |pw: &str| check_rules(Some(&p), pw).unwrap_err().to_string();
        assert_eq!(msg("Aa1!"), "Password should have a minimum length of 12");
        assert_eq!(msg("aaaaaaaaaa1!"), "Password should have at least one uppercase letter");
        assert_eq!(msg("AAAAAAAAAA1!"), "Password should have at least one lowercase letter");
        assert_eq!(msg("AAAAAaaaaa!!"), "Password should have at least one number");
        assert_eq!(msg("AAAAAaaaaa11"), "Password should have at least one symbol");
        assert!(check_rules(Some(&p), "AAAAAaaaa11!").is_ok());
    }
}
