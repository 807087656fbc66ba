//! Console passwords of IAM users. Stored as argon2id hashes only.

use portcullis_credentials::hash_password;
use portcullis_store::LoginProfileRecord;

use crate::password_policy::HISTORY_KEPT;
use crate::users::load_user;
use crate::{Authorized, Iam, IamError, IamResult};

fn no_profile(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("Login Profile for User {name} cannot be found."))
}

impl Iam {
    pub async fn create_login_profile(&self, auth: &Authorized<'_>, user_name: &str, password: &str, reset_required: bool) -> IamResult<(String, i64, bool)> {
        let mut tx = self.store.begin().await?;
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        tx.lock(&format!("user:{}", user.user_id)).await?;
        if tx.get_login_profile(&user.user_id).await?.is_some() {
            return Err(IamError::EntityAlreadyExists(format!("Login Profile for user {} already exists.", user.name)));
        }
        self.check_new_password(&mut tx, auth.account(), &user.user_id, password).await?;
        let now = self.now();
        let hash = hash_password(password)?;
        tx.push_password_history(&user.user_id, &hash, now, HISTORY_KEPT).await?;
        let rec = LoginProfileRecord {
            user_id: user.user_id.clone(),
            password_hash: hash,
            reset_required,
            created_at: now,
            password_changed_at: now,
        };
        tx.upsert_login_profile(&rec).await?;
        tx.commit().await?;
        Ok((user.name, now, reset_required))
    }

    pub async fn get_login_profile(&self, auth: &Authorized<'_>, user_name: &str) -> IamResult<(String, i64, bool)> {
        let mut tx = self.store.begin_read().await?;
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        let p = tx.get_login_profile(&user.user_id).await?.ok_or_else(|| no_profile(&user.name))?;
        Ok((user.name, p.created_at, p.reset_required))
    }

    pub async fn update_login_profile(&self, auth: &Authorized<'_>, user_name: &str, password: Option<&str>, reset_required: Option<bool>) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        tx.lock(&format!("user:{}", user.user_id)).await?;
        let mut rec = tx.get_login_profile(&user.user_id).await?.ok_or_else(|| no_profile(&user.name))?;
        if let Some(p) = password {
            self.check_new_password(&mut tx, auth.account(), &user.user_id, p).await?;
            rec.password_hash = hash_password(p)?;
            rec.password_changed_at = self.now();
            tx.push_password_history(&user.user_id, &rec.password_hash, rec.password_changed_at, HISTORY_KEPT).await?;
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
        // Serialised with password changes (sign-in), which write the profile back.
        tx.lock(&format!("user:{}", user.user_id)).await?;
        if !tx.delete_login_profile(&user.user_id).await? {
            return Err(no_profile(&user.name));
        }
        tx.commit().await?;
        Ok(())
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
        self.check_new_password(&mut tx, auth.account(), &user.user_id, new).await?;
        rec.password_hash = hash_password(new)?;
        rec.password_changed_at = self.now();
        tx.push_password_history(&user.user_id, &rec.password_hash, rec.password_changed_at, HISTORY_KEPT).await?;
        rec.reset_required = false;
        tx.upsert_login_profile(&rec).await?;
        tx.commit().await?;
        Ok(())
    }
}
