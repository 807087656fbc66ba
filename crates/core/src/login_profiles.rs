//! Console passwords of IAM users. Stored as argon2id hashes only.

use portcullis_credentials::hash_password;
use portcullis_store::LoginProfileRecord;

use crate::users::load_user;
use crate::{Authorized, Iam, IamError, IamResult};

/// AWS's default rule when the account has no password policy: 8 to 128 characters and at
/// least three of uppercase, lowercase, digits and symbols. (The configurable account
/// password policy replaces this later.)
pub(crate) fn check_default_password_rules(password: &str) -> IamResult<()> {
    let len = password.chars().count();
    let classes = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if !(8..=128).contains(&len) || classes.iter().filter(|c| **c).count() < 3 {
        return Err(IamError::PasswordPolicyViolation(
            "Password does not conform to the account password policy.".to_owned(),
        ));
    }
    Ok(())
}

fn no_profile(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("Login Profile for User {name} cannot be found."))
}

impl Iam {
    pub async fn create_login_profile(&self, auth: &Authorized<'_>, user_name: &str, password: &str, reset_required: bool) -> IamResult<(String, i64, bool)> {
        check_default_password_rules(password)?;
        let mut tx = self.store.begin().await?;
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        tx.lock(&format!("user:{}", user.user_id)).await?;
        if tx.get_login_profile(&user.user_id).await?.is_some() {
            return Err(IamError::EntityAlreadyExists(format!("Login Profile for user {} already exists.", user.name)));
        }
        let now = self.now();
        let rec = LoginProfileRecord {
            user_id: user.user_id.clone(),
            password_hash: hash_password(password)?,
            reset_required,
            created_at: now,
            password_changed_at: now,
        };
        tx.upsert_login_profile(&rec).await?;
        tx.commit().await?;
        Ok((user.name, now, reset_required))
    }

    pub async fn get_login_profile(&self, auth: &Authorized<'_>, user_name: &str) -> IamResult<(String, i64, bool)> {
        let mut tx = self.store.begin().await?;
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        let p = tx.get_login_profile(&user.user_id).await?.ok_or_else(|| no_profile(&user.name))?;
        Ok((user.name, p.created_at, p.reset_required))
    }

    pub async fn update_login_profile(&self, auth: &Authorized<'_>, user_name: &str, password: Option<&str>, reset_required: Option<bool>) -> IamResult<()> {
        if let Some(p) = password {
            check_default_password_rules(p)?;
        }
        let mut tx = self.store.begin().await?;
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        let mut rec = tx.get_login_profile(&user.user_id).await?.ok_or_else(|| no_profile(&user.name))?;
        if let Some(p) = password {
            rec.password_hash = hash_password(p)?;
            rec.password_changed_at = self.now();
        }
        if let Some(r) = reset_required {
            rec.reset_required = r;
        }
        tx.upsert_login_profile(&rec).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_login_profile(&self, auth: &Authorized<'_>, user_name: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        if !tx.delete_login_profile(&user.user_id).await? {
            return Err(no_profile(&user.name));
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules() {
        assert!(check_default_password_rules("Str0ng!Pass").is_ok());
        assert!(check_default_password_rules("short1A").is_err());
        assert!(check_default_password_rules("alllowercase").is_err());
        assert!(check_default_password_rules("lower123456").is_err());
        assert!(check_default_password_rules("Lower123456").is_ok());
    }
}

impl Iam {
    /// ChangePassword: an IAM user changes its own console password.
    pub async fn change_password(&self, auth: &Authorized<'_>, old: &str, new: &str) -> IamResult<()> {
        let user = auth
            .caller()
            .user()
            .cloned()
            .ok_or_else(|| IamError::InvalidUserType("Only IAM users can change their own password with ChangePassword.".to_owned()))?;
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("user:{}", user.user_id)).await?;
        let mut rec = tx.get_login_profile(&user.user_id).await?.ok_or_else(|| no_profile(&user.name))?;
        if !portcullis_credentials::verify_password(old, &rec.password_hash) {
            return Err(IamError::AccessDenied("The old password you provided is incorrect.".to_owned()));
        }
        check_default_password_rules(new)?;
        rec.password_hash = hash_password(new)?;
        rec.password_changed_at = self.now();
        rec.reset_required = false;
        tx.upsert_login_profile(&rec).await?;
        tx.commit().await?;
        Ok(())
    }
}
