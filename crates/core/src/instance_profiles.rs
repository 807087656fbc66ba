//! Instance profiles: named containers for one role, which EC2 instances take on. A role in
//! a profile cannot be deleted, nor a profile that still holds a role, as on AWS.

use portcullis_credentials::new_unique_id;
use portcullis_store::{InstanceProfileRecord, PageQuery, Tag, TagTarget, Tx};

use crate::roles::{load_role, RoleView};
use crate::users::conflict_or;
use crate::{iam_arn, tags, Authorized, Iam, IamError, IamResult, Page, PageRequest};

/// AWS's quotas: profiles per account, roles per profile.
const PROFILES_PER_ACCOUNT: i64 = 1000;
const ROLES_PER_PROFILE: usize = 1;

/// An instance profile with its ARN, its roles and its tags.
#[derive(Debug, Clone)]
pub struct InstanceProfileView {
    pub profile: crate::views::InstanceProfile,
    pub arn: String,
    pub roles: Vec<RoleView>,
    pub tags: Vec<Tag>,
}

fn no_such_profile(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("Instance Profile {name} cannot be found."))
}

fn profile_exists(name: &str) -> IamError {
    IamError::EntityAlreadyExists(format!("Instance Profile {name} already exists."))
}

pub(crate) fn in_a_profile() -> IamError {
    IamError::DeleteConflict("Cannot delete entity, must remove roles from instance profile first.".to_owned())
}

pub(crate) async fn load_profile(tx: &mut Box<dyn Tx>, account: &str, name: &str) -> IamResult<InstanceProfileRecord> {
    tx.get_instance_profile(account, name).await?.ok_or_else(|| no_such_profile(name))
}

impl Iam {
    pub(crate) async fn profile_view(&self, tx: &mut Box<dyn Tx>, profile: InstanceProfileRecord, with_tags: bool) -> IamResult<InstanceProfileView> {
        let mut roles = Vec::new();
        for role in tx.instance_profile_roles(&profile.instance_profile_id).await? {
            let arn = iam_arn(&role.account_id, "role", &role.path, &role.name);
            roles.push(RoleView { role, arn, tags: Vec::new() });
        }
        let tags = if with_tags { tx.tags(TagTarget::InstanceProfile, &profile.instance_profile_id).await? } else { Vec::new() };
        let arn = iam_arn(&profile.account_id, "instance-profile", &profile.path, &profile.name);
        Ok(InstanceProfileView { profile: profile.into(), arn, roles, tags })
    }

    pub async fn create_instance_profile(&self, auth: &Authorized<'_>, name: &str, path: Option<&str>, new_tags: &[Tag]) -> IamResult<InstanceProfileView> {
        let tags = tags::merge(Vec::new(), new_tags, true)?;
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("instance-profiles:{}", auth.account())).await?;
        if tx.get_instance_profile(auth.account(), name).await?.is_some() {
            return Err(profile_exists(name));
        }
        if tx.count_instance_profiles(auth.account()).await? >= PROFILES_PER_ACCOUNT {
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for InstanceProfilesPerAccount: {PROFILES_PER_ACCOUNT}")));
        }
        let profile = InstanceProfileRecord {
            account_id: auth.account().to_owned(),
            instance_profile_id: new_unique_id("AIPA")?,
            name: name.to_owned(),
            path: path.unwrap_or("/").to_owned(),
            created_at: self.now(),
        };
        tx.insert_instance_profile(&profile).await.map_err(|e| conflict_or(e, || profile_exists(name)))?;
        tx.set_tags(TagTarget::InstanceProfile, &profile.instance_profile_id, &tags).await?;
        tx.commit().await?;
        let arn = iam_arn(&profile.account_id, "instance-profile", &profile.path, &profile.name);
        Ok(InstanceProfileView { profile: profile.into(), arn, roles: Vec::new(), tags })
    }

    pub async fn get_instance_profile(&self, auth: &Authorized<'_>, name: &str) -> IamResult<InstanceProfileView> {
        let mut tx = self.store.begin_read().await?;
        let profile = load_profile(&mut tx, auth.account(), name).await?;
        self.profile_view(&mut tx, profile, true).await
    }

    pub async fn list_instance_profiles(&self, auth: &Authorized<'_>, path_prefix: Option<&str>, page: &PageRequest) -> IamResult<Page<InstanceProfileView>> {
        let after = page.after_key()?;
        let mut tx = self.store.begin_read().await?;
        let rows = tx
            .list_instance_profiles(auth.account(), &PageQuery { path_prefix, after: after.as_deref(), limit: page.limit() + 1 })
            .await?;
        let page = Page::from_keyset(rows, page, |p| p.name.to_lowercase());
        let mut items = Vec::with_capacity(page.items.len());
        for p in page.items {
            items.push(self.profile_view(&mut tx, p, false).await?);
        }
        Ok(Page { items, marker: page.marker })
    }

    /// ListInstanceProfilesForRole: the profiles the role is in.
    pub async fn list_instance_profiles_for_role(&self, auth: &Authorized<'_>, role_name: &str, page: &PageRequest) -> IamResult<Page<InstanceProfileView>> {
        let mut tx = self.store.begin_read().await?;
        let role = load_role(&mut tx, auth.account(), role_name).await?;
        let mut items = Vec::new();
        for p in tx.instance_profiles_for_role(&role.role_id).await? {
            items.push(self.profile_view(&mut tx, p, false).await?);
        }
        Page::from_all(items, page)
    }

    pub async fn add_role_to_instance_profile(&self, auth: &Authorized<'_>, name: &str, role_name: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let profile = load_profile(&mut tx, auth.account(), name).await?;
        tx.lock(&format!("instance-profile:{}", profile.instance_profile_id)).await?;
        let role = load_role(&mut tx, auth.account(), role_name).await?;
        crate::service_linked_roles::check_modifiable(&role)?;
        let roles = tx.instance_profile_roles(&profile.instance_profile_id).await?;
        if roles.len() >= ROLES_PER_PROFILE {
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for InstanceSessionsPerInstanceProfile: {ROLES_PER_PROFILE}")));
        }
        tx.add_instance_profile_role(&profile.instance_profile_id, &role.role_id, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn remove_role_from_instance_profile(&self, auth: &Authorized<'_>, name: &str, role_name: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let profile = load_profile(&mut tx, auth.account(), name).await?;
        let role = load_role(&mut tx, auth.account(), role_name).await?;
        if !tx.remove_instance_profile_role(&profile.instance_profile_id, &role.role_id).await? {
            return Err(IamError::NoSuchEntity(format!("Role {role_name} in Instance Profile {name} cannot be found.")));
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_instance_profile(&self, auth: &Authorized<'_>, name: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let profile = load_profile(&mut tx, auth.account(), name).await?;
        tx.lock(&format!("instance-profile:{}", profile.instance_profile_id)).await?;
        if !tx.instance_profile_roles(&profile.instance_profile_id).await?.is_empty() {
            return Err(in_a_profile());
        }
        tx.delete_instance_profile(&profile.instance_profile_id).await?;
        tx.commit().await?;
        Ok(())
    }
}
