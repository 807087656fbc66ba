use portcullis_credentials::new_unique_id;
use portcullis_policy::PolicyKind;
use portcullis_store::{PageQuery, PrincipalKind, RoleRecord, Tag, TagTarget, Tx};

use crate::policies::check_document;
use crate::users::{conflict_or, delete_conflict};
use crate::{iam_arn, tags, Authorized, Iam, IamError, IamResult, Page, PageRequest};

/// AWS's quota for a role's trust policy, and its (historic) name in the error message.
const TRUST_POLICY_SIZE: usize = 2048;

#[derive(Debug, Clone)]
pub struct RoleView {
    pub role: crate::views::Role,
    pub arn: String,
    pub tags: Vec<Tag>,
}

fn no_such_role(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The role with name {name} cannot be found."))
}

fn role_exists(name: &str) -> IamError {
    IamError::EntityAlreadyExists(format!("Role with name {name} already exists."))
}

pub(crate) async fn load_role(tx: &mut Box<dyn Tx>, account: &str, name: &str) -> IamResult<RoleRecord> {
    tx.get_role(account, name).await?.ok_or_else(|| no_such_role(name))
}

fn check_trust_policy(doc: &str) -> IamResult<()> {
    check_document(doc, PolicyKind::Trust)?;
    if portcullis_policy::policy_size(doc) > TRUST_POLICY_SIZE {
        return Err(IamError::LimitExceeded(format!("Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_SIZE}")));
    }
    Ok(())
}

pub struct NewRole<'a> {
    pub name: &'a str,
    pub path: Option<&'a str>,
    pub trust_policy: &'a str,
    pub description: Option<&'a str>,
    pub max_session_duration: Option<i64>,
    pub permissions_boundary: Option<&'a str>,
    pub tags: &'a [Tag],
}

impl Iam {
    fn role_view(&self, role: RoleRecord, tags: Vec<Tag>) -> RoleView {
        RoleView { arn: iam_arn(&role.account_id, "role", &role.path, &role.name), role, tags }
    }

    pub async fn create_role(&self, auth: &Authorized<'_>, input: NewRole<'_>) -> IamResult<RoleView> {
        // The paths of service-linked and reserved roles are the services' (SCPs and IAM
        // treat roles there as theirs).
        for reserved in ["/aws-service-role/", "/aws-reserved/"] {
            if input.path.is_some_and(|p| p.starts_with(reserved)) {
                let what = if reserved == "/aws-service-role/" { "AWS Service linked Roles" } else { "roles that AWS services reserve" };
                return Err(IamError::InvalidInput(format!("Path prefix '{reserved}' can only be used for {what}")));
            }
        }
        check_trust_policy(input.trust_policy)?;
        let tags = tags::merge(Vec::new(), input.tags, true)?;
        let mut tx = self.store.begin().await?;
        if tx.get_role(auth.account(), input.name).await?.is_some() {
            return Err(role_exists(input.name));
        }
        if let Some(b) = input.permissions_boundary {
            self.require_boundary_policy(&mut tx, auth.account(), b).await?;
        }
        let role = RoleRecord {
            account_id: auth.account().to_owned(),
            role_id: new_unique_id("AROA")?,
            name: input.name.to_owned(),
            path: input.path.unwrap_or("/").to_owned(),
            created_at: self.now(),
            assume_role_policy: input.trust_policy.to_owned(),
            description: input.description.map(str::to_owned),
            max_session_duration: input.max_session_duration.unwrap_or(3600),
            permissions_boundary: input.permissions_boundary.map(str::to_owned),
            last_used_at: None,
            last_used_region: None,
        };
        tx.insert_role(&role).await.map_err(|e| conflict_or(e, || role_exists(input.name)))?;
        tx.set_tags(TagTarget::Role, &role.role_id, &tags).await?;
        tx.commit().await?;
        Ok(self.role_view(role, tags))
    }

    pub async fn get_role(&self, auth: &Authorized<'_>, name: &str) -> IamResult<RoleView> {
        let mut tx = self.store.begin_read().await?;
        let role = load_role(&mut tx, auth.account(), name).await?;
        let tags = tx.tags(TagTarget::Role, &role.role_id).await?;
        Ok(self.role_view(role, tags))
    }

    pub async fn list_roles(&self, auth: &Authorized<'_>, path_prefix: Option<&str>, page: &PageRequest) -> IamResult<Page<RoleView>> {
        let after = page.after_key()?;
        let mut tx = self.store.begin_read().await?;
        let rows = tx
            .list_roles(auth.account(), &PageQuery { path_prefix, after: after.as_deref(), limit: page.limit() + 1 })
            .await?;
        let page = Page::from_keyset(rows, page, |r| r.name.to_lowercase());
        Ok(Page { items: page.items.into_iter().map(|r| self.role_view(r, Vec::new())).collect(), marker: page.marker })
    }

    /// UpdateRole and UpdateRoleDescription: only the members given change.
    pub async fn update_role(&self, auth: &Authorized<'_>, name: &str, description: Option<&str>, max_session_duration: Option<i64>) -> IamResult<RoleView> {
        let mut tx = self.store.begin().await?;
        let mut role = load_role(&mut tx, auth.account(), name).await?;
        // A service-linked role's description may change, nothing else of it; a reserved
        // (Identity Center) role not even that.
        if max_session_duration.is_some() || role.path.starts_with("/aws-reserved/") {
            crate::service_linked_roles::check_modifiable(&role)?;
        }
        if let Some(d) = description {
            role.description = Some(d.to_owned());
        }
        if let Some(m) = max_session_duration {
            role.max_session_duration = m;
        }
        tx.update_role(&role).await?;
        let tags = tx.tags(TagTarget::Role, &role.role_id).await?;
        tx.commit().await?;
        Ok(self.role_view(role, tags))
    }

    pub async fn update_assume_role_policy(&self, auth: &Authorized<'_>, name: &str, document: &str) -> IamResult<()> {
        check_trust_policy(document)?;
        let mut tx = self.store.begin().await?;
        let mut role = load_role(&mut tx, auth.account(), name).await?;
        crate::service_linked_roles::check_modifiable(&role)?;
        role.assume_role_policy = document.to_owned();
        tx.update_role(&role).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_role(&self, auth: &Authorized<'_>, name: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let role = load_role(&mut tx, auth.account(), name).await?;
        crate::service_linked_roles::check_modifiable(&role)?;
        if !tx.attached_policies(PrincipalKind::Role, &role.role_id).await?.is_empty() {
            return delete_conflict("detach all policies");
        }
        if !tx.inline_policy_names(PrincipalKind::Role, &role.role_id).await?.is_empty() {
            return delete_conflict("delete policies");
        }
        if !tx.instance_profiles_for_role(&role.role_id).await?.is_empty() {
            return Err(crate::instance_profiles::in_a_profile());
        }
        tx.delete_role(&role.role_id).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Iam {
    /// Put/DeleteRolePermissionsBoundary (None deletes).
    pub async fn set_role_boundary(&self, auth: &Authorized<'_>, name: &str, boundary: Option<&str>) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let mut role = load_role(&mut tx, auth.account(), name).await?;
        crate::service_linked_roles::check_modifiable(&role)?;
        if let Some(b) = boundary {
            self.require_boundary_policy(&mut tx, auth.account(), b).await?;
        }
        role.permissions_boundary = boundary.map(str::to_owned);
        tx.update_role(&role).await?;
        tx.commit().await?;
        Ok(())
    }
}
