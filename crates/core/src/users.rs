use portcullis_credentials::new_unique_id;
use portcullis_store::{PageQuery, PrincipalKind, Tag, TagTarget, Tx, UserRecord};

use crate::{iam_arn, tags, Authorized, Iam, IamError, IamResult, Page, PageRequest, Principal};

#[derive(Debug, Clone)]
pub struct UserView {
    pub user: crate::views::User,
    pub arn: String,
    pub tags: Vec<Tag>,
}

pub(crate) fn no_such_user(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The user with name {name} cannot be found."))
}

pub(crate) async fn load_user(tx: &mut Box<dyn Tx>, account: &str, name: &str) -> IamResult<UserRecord> {
    tx.get_user(account, name).await?.ok_or_else(|| no_such_user(name))
}

/// The user an operation with an optional `UserName` is about: the named one, or the
/// caller itself (None for the root user). Role sessions must name the user, as in AWS.
pub(crate) async fn named_or_caller(tx: &mut Box<dyn Tx>, auth: &Authorized<'_>, name: Option<&str>) -> IamResult<Option<UserRecord>> {
    match (name, &auth.caller().principal) {
        (Some(n), _) => Ok(Some(load_user(tx, auth.account(), n).await?)),
        (None, Principal::User(u)) => Ok(Some(u.clone())),
        (None, Principal::Root) => Ok(None),
        (None, Principal::AssumedRole { .. } | Principal::ProviderUser { .. } | Principal::FederatedUser { .. }) => {
            Err(IamError::Validation("Must specify userName when calling with non-User credentials".to_owned()))
        }
    }
}

/// AWS's DeleteConflict wording for a user, group or role that still has `what`.
pub(crate) fn delete_conflict<T>(what: &str) -> IamResult<T> {
    Err(IamError::DeleteConflict(format!("Cannot delete entity, must {what} first.")))
}

impl Iam {
    pub async fn create_user(
        &self,
        auth: &Authorized<'_>,
        name: &str,
        path: Option<&str>,
        permissions_boundary: Option<&str>,
        new_tags: &[Tag],
    ) -> IamResult<UserView> {
        let account = auth.account();
        let mut tx = self.store.begin().await?;
        if tx.get_user(account, name).await?.is_some() {
            return Err(user_exists(name));
        }
        if let Some(b) = permissions_boundary {
            self.require_boundary_policy(&mut tx, auth.account(), b).await?;
        }
        let tags = tags::merge(Vec::new(), new_tags, true)?;
        let user = UserRecord {
            account_id: account.to_owned(),
            user_id: new_unique_id("AIDA")?,
            name: name.to_owned(),
            path: path.unwrap_or("/").to_owned(),
            created_at: self.now(),
            permissions_boundary: permissions_boundary.map(str::to_owned),
            password_last_used: None,
        };
        tx.insert_user(&user).await.map_err(|e| conflict_or(e, || user_exists(name)))?;
        tx.set_tags(TagTarget::User, &user.user_id, &tags).await?;
        tx.commit().await?;
        Ok(self.user_view(account, user, tags))
    }

    fn user_view(&self, account: &str, user: UserRecord, tags: Vec<Tag>) -> UserView {
        let arn = iam_arn(account, "user", &user.path, &user.name);
        UserView { user, arn, tags }
    }

    /// GetUser: a named user, or the caller itself when no name is given.
    pub async fn get_user(&self, auth: &Authorized<'_>, name: Option<&str>) -> IamResult<UserView> {
        let account = auth.account();
        let mut tx = self.store.begin_read().await?;
        let user = match (name, &auth.caller().principal) {
            (Some(n), _) => load_user(&mut tx, account, n).await?,
            (None, Principal::User(u)) => {
                tx.get_user_by_id(&u.user_id).await?.ok_or_else(|| no_such_user(&u.name))?
            }
            (None, Principal::AssumedRole { .. } | Principal::ProviderUser { .. } | Principal::FederatedUser { .. }) => {
                return Err(IamError::Validation(
                    "Must specify userName when calling with non-User credentials".to_owned(),
                ));
            }
            (None, Principal::Root) => {
                let acct = tx.get_account(account).await?;
                let root = UserRecord {
                    account_id: account.to_owned(),
                    user_id: account.to_owned(),
                    name: String::new(),
                    path: String::new(),
                    created_at: acct.map_or(0, |a| a.created_at),
                    permissions_boundary: None,
                    password_last_used: None,
                };
                let arn = crate::root_arn(account);
                return Ok(UserView { user: root, arn, tags: Vec::new() });
            }
        };
        let tags = tx.tags(TagTarget::User, &user.user_id).await?;
        Ok(self.user_view(account, user, tags))
    }

    pub async fn list_users(&self, auth: &Authorized<'_>, path_prefix: Option<&str>, page: &PageRequest) -> IamResult<Page<UserView>> {
        let account = auth.account();
        let after = page.after_key()?;
        let mut tx = self.store.begin_read().await?;
        let rows = tx
            .list_users(account, &PageQuery { path_prefix, after: after.as_deref(), limit: page.limit() + 1 })
            .await?;
        let page = Page::from_keyset(rows, page, |u| u.name.to_lowercase());
        Ok(Page {
            items: page.items.into_iter().map(|u| self.user_view(account, u, Vec::new())).collect(),
            marker: page.marker,
        })
    }

    pub async fn update_user(&self, auth: &Authorized<'_>, name: &str, new_name: Option<&str>, new_path: Option<&str>) -> IamResult<()> {
        let account = auth.account();
        let mut tx = self.store.begin().await?;
        let mut user = load_user(&mut tx, account, name).await?;
        if let Some(n) = new_name {
            if !n.eq_ignore_ascii_case(&user.name) && tx.get_user(account, n).await?.is_some() {
                return Err(user_exists(n));
            }
            user.name = n.to_owned();
        }
        if let Some(p) = new_path {
            user.path = p.to_owned();
        }
        tx.update_user(&user).await.map_err(|e| conflict_or(e, || user_exists(&user.name)))?;
        tx.commit().await?;
        Ok(())
    }

    /// DeleteUser refuses while anything still hangs on the user, as AWS does.
    pub async fn delete_user(&self, auth: &Authorized<'_>, name: &str) -> IamResult<()> {
        let account = auth.account();
        let mut tx = self.store.begin().await?;
        let user = load_user(&mut tx, account, name).await?;
        tx.lock(&format!("user:{}", user.user_id)).await?;
        if tx.get_login_profile(&user.user_id).await?.is_some() {
            return delete_conflict("delete login profile");
        }
        if !tx.access_keys_for(account, Some(&user.user_id)).await?.is_empty() {
            return delete_conflict("delete access keys");
        }
        if tx.mfa_devices(account).await?.iter().any(|d| d.user_id.as_deref() == Some(user.user_id.as_str())) {
            return delete_conflict("delete MFA device");
        }
        if !tx.inline_policy_names(PrincipalKind::User, &user.user_id).await?.is_empty() {
            return delete_conflict("delete policies");
        }
        if !tx.attached_policies(PrincipalKind::User, &user.user_id).await?.is_empty() {
            return delete_conflict("detach all policies");
        }
        if !tx.groups_for_user(&user.user_id).await?.is_empty() {
            return delete_conflict("remove users from group");
        }
        if !tx.user_credentials(&user.user_id, portcullis_store::CredentialKind::SigningCertificate).await?.is_empty() {
            return delete_conflict("delete certificates");
        }
        if !tx.user_credentials(&user.user_id, portcullis_store::CredentialKind::SshPublicKey).await?.is_empty() {
            return delete_conflict("delete SSH public keys");
        }
        if !tx.user_credentials(&user.user_id, portcullis_store::CredentialKind::ServiceSpecific).await?.is_empty() {
            return Err(IamError::DeleteConflict("Cannot delete entity, must remove referenced objects first.".to_owned()));
        }
        let owner = crate::recovery::recovery_owner(auth.account(), Some(&user));
        tx.replace_recovery_codes(auth.account(), &owner, &[], self.now()).await?;
        tx.delete_user(&user.user_id).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn user_exists(name: &str) -> IamError {
    IamError::EntityAlreadyExists(format!("User with name {name} already exists."))
}

/// A unique-constraint refusal becomes the domain's "already exists" error; any other
/// store failure stays internal.
pub(crate) fn conflict_or(e: portcullis_store::StoreError, already: impl FnOnce() -> IamError) -> IamError {
    match e {
        portcullis_store::StoreError::Conflict(_) => already(),
        other => other.into(),
    }
}

impl Iam {
    /// Put/DeleteUserPermissionsBoundary (None deletes).
    pub async fn set_user_boundary(&self, auth: &Authorized<'_>, name: &str, boundary: Option<&str>) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let mut user = load_user(&mut tx, auth.account(), name).await?;
        if let Some(b) = boundary {
            self.require_boundary_policy(&mut tx, auth.account(), b).await?;
        }
        user.permissions_boundary = boundary.map(str::to_owned);
        tx.update_user(&user).await?;
        tx.commit().await?;
        Ok(())
    }
}
