//! Managed policies (customer-managed in the store, AWS-managed from the catalog), their
//! versions, and their attachment to users, groups and roles.

use std::collections::HashMap;

use portcullis_credentials::new_unique_id;
use portcullis_policy::PolicyKind;
use portcullis_store::{PageQuery, PolicyRecord, PolicyVersionRecord, PrincipalKind, Tag, TagTarget, Tx};

use crate::catalog::ManagedPolicy;
use crate::groups::load_group;
use crate::roles::load_role;
use crate::users::{conflict_or, load_user};
use crate::{iam_arn, tags, Authorized, Iam, IamError, IamResult, Page, PageRequest};

const MANAGED_POLICY_SIZE: usize = 6144;
const VERSIONS_PER_POLICY: usize = 5;
const ATTACHED_PER_PRINCIPAL: usize = 10;

#[derive(Debug, Default)]
struct Usage {
    attached: HashMap<String, i64>,
    boundary: HashMap<String, i64>,
}

impl Usage {
    fn of(&self, arn: &str) -> (i64, i64) {
        (self.attached.get(arn).copied().unwrap_or(0), self.boundary.get(arn).copied().unwrap_or(0))
    }
}

#[derive(Debug, Clone)]
pub struct ManagedPolicyView {
    pub name: String,
    pub policy_id: String,
    pub arn: String,
    pub path: String,
    pub default_version: String,
    pub attachment_count: i64,
    pub boundary_usage_count: i64,
    pub is_attachable: bool,
    pub description: Option<String>,
    pub create_date: i64,
    pub update_date: i64,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct PolicyFilter<'a> {
    /// `All` (default), `AWS` or `Local`.
    pub scope: Option<&'a str>,
    pub only_attached: bool,
    pub path_prefix: Option<&'a str>,
    /// `PermissionsPolicy` or `PermissionsBoundary`.
    pub usage: Option<&'a str>,
}

/// ListEntitiesForPolicy's three lists: (name, id) of groups, users and roles.
#[derive(Debug, Clone, Default)]
pub struct PolicyEntities {
    pub groups: Vec<(String, String)>,
    pub users: Vec<(String, String)>,
    pub roles: Vec<(String, String)>,
}

/// Parses a document as `kind`; AWS's validation message becomes MalformedPolicyDocument.
pub(crate) fn check_document(doc: &str, kind: PolicyKind) -> IamResult<()> {
    portcullis_policy::parse(doc, kind).map(|_| ()).map_err(|e| IamError::MalformedPolicyDocument(e.message))
}

fn check_managed_document(doc: &str) -> IamResult<()> {
    check_document(doc, PolicyKind::Identity)?;
    if portcullis_policy::policy_size(doc) > MANAGED_POLICY_SIZE {
        return Err(IamError::LimitExceeded(format!("Cannot exceed quota for PolicySize: {MANAGED_POLICY_SIZE}")));
    }
    Ok(())
}

fn policy_not_found(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Policy {arn} was not found."))
}

fn not_attachable(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
}

/// Changing an AWS-managed policy (AWS: "Cannot delete policies outside your own account.").
fn outside_account(what: &str) -> IamError {
    IamError::AccessDenied(format!("Cannot {what} outside your own account."))
}

/// A policy ARN that is not an ARN at all (a bare policy name, say).
fn check_arn(arn: &str) -> IamResult<()> {
    portcullis_types::Arn::parse(arn).map(drop).map_err(|_| IamError::Validation(format!("ARN {arn} is not valid.")))
}

fn is_aws_managed(arn: &str) -> bool {
    arn.starts_with("arn:aws:iam::aws:policy/")
}

/// A principal named in a request, resolved to its kind and id.
pub(crate) async fn principal_id(tx: &mut Box<dyn Tx>, account: &str, kind: PrincipalKind, name: &str) -> IamResult<String> {
    Ok(match kind {
        PrincipalKind::User => load_user(tx, account, name).await?.user_id,
        PrincipalKind::Group => load_group(tx, account, name).await?.group_id,
        PrincipalKind::Role => load_role(tx, account, name).await?.role_id,
    })
}

impl Iam {
    fn aws_view(&self, p: &ManagedPolicy, usage: &Usage) -> ManagedPolicyView {
        let (attachment_count, boundary_usage_count) = usage.of(&p.arn);
        ManagedPolicyView {
            name: p.name.clone(),
            policy_id: p.policy_id.clone(),
            arn: p.arn.clone(),
            path: p.path.clone(),
            default_version: p.default_version.clone(),
            attachment_count,
            boundary_usage_count,
            is_attachable: true,
            description: None,
            create_date: p.create_date,
            update_date: p.update_date,
            tags: Vec::new(),
        }
    }

    fn local_view(&self, p: PolicyRecord, usage: &Usage, tags: Vec<Tag>) -> ManagedPolicyView {
        let (attachment_count, boundary_usage_count) = usage.of(&p.arn);
        ManagedPolicyView {
            attachment_count,
            name: p.name,
            policy_id: p.policy_id,
            arn: p.arn,
            path: p.path,
            default_version: p.default_version,
            boundary_usage_count,
            is_attachable: true,
            description: p.description,
            create_date: p.created_at,
            update_date: p.updated_at,
            tags,
        }
    }

    /// How often each policy ARN is used in the account: attached as a permissions policy,
    /// and set as a permissions boundary of a user or role.
    async fn usage_counts(&self, tx: &mut Box<dyn Tx>, account: &str) -> IamResult<Usage> {
        Ok(Usage {
            attached: tx.attachment_counts(account).await?.into_iter().collect(),
            boundary: tx.boundary_counts(account).await?.into_iter().collect(),
        })
    }

    /// The same for one policy: two counting queries, whatever the account's size.
    async fn usage_of(&self, tx: &mut Box<dyn Tx>, account: &str, arn: &str) -> IamResult<Usage> {
        let attached = tx.count_policy_attachments(account, arn).await?;
        let boundary = tx.count_boundary_uses(account, arn).await?;
        Ok(Usage { attached: HashMap::from([(arn.to_owned(), attached)]), boundary: HashMap::from([(arn.to_owned(), boundary)]) })
    }

    /// A customer-managed policy of the caller's account.
    pub(crate) async fn load_local_policy(&self, tx: &mut Box<dyn Tx>, account: &str, arn: &str) -> IamResult<PolicyRecord> {
        tx.get_policy(arn).await?.filter(|p| p.account_id == account).ok_or_else(|| policy_not_found(arn))
    }

    pub(crate) async fn require_boundary_policy(&self, tx: &mut Box<dyn Tx>, account: &str, arn: &str) -> IamResult<()> {
        if !portcullis_types::Arn::parse(arn).is_ok_and(|a| a.kind() == "policy") {
            return Err(IamError::InvalidInput(format!("ARN {arn} is not valid.")));
        }
        // An AWS-managed policy or one of the account's own: another account's policies are
        // not its to use (nor to learn about).
        let exists = self.catalog.get(arn).is_some() || tx.get_policy(arn).await?.is_some_and(|p| p.account_id == account);
        if exists {
            Ok(())
        } else {
            Err(IamError::NoSuchEntity(format!("Scope ARN: {arn} does not exist or is not attachable.")))
        }
    }

    pub async fn create_policy(
        &self,
        auth: &Authorized<'_>,
        name: &str,
        path: Option<&str>,
        document: &str,
        description: Option<&str>,
        new_tags: &[Tag],
    ) -> IamResult<ManagedPolicyView> {
        check_managed_document(document)?;
        let tags = tags::merge(Vec::new(), new_tags, false)?;
        let account = auth.account();
        let path = path.unwrap_or("/");
        let exists = || IamError::EntityAlreadyExists(format!("A policy called {name} already exists. Duplicate names are not allowed."));
        let mut tx = self.store.begin().await?;
        // Names are unique per account whatever the case or path: the store's unique
        // constraint on the lower-cased name answers that, not a scan of every policy.
        let now = self.now();
        let rec = PolicyRecord {
            account_id: account.to_owned(),
            policy_id: new_unique_id("ANPA")?,
            name: name.to_owned(),
            path: path.to_owned(),
            arn: iam_arn(account, "policy", path, name),
            description: description.map(str::to_owned),
            default_version: "v1".to_owned(),
            next_version: 2,
            created_at: now,
            updated_at: now,
        };
        tx.insert_policy(&rec).await.map_err(|e| conflict_or(e, exists))?;
        tx.insert_policy_version(&PolicyVersionRecord {
            policy_id: rec.policy_id.clone(),
            version_id: "v1".to_owned(),
            document: document.to_owned(),
            created_at: now,
        })
        .await?;
        tx.set_tags(TagTarget::Policy, &rec.policy_id, &tags).await?;
        tx.commit().await?;
        Ok(self.local_view(rec, &Usage::default(), tags))
    }

    pub async fn get_policy(&self, auth: &Authorized<'_>, arn: &str) -> IamResult<ManagedPolicyView> {
        let mut tx = self.store.begin_read().await?;
        let counts = self.usage_of(&mut tx, auth.account(), arn).await?;
        if let Some(p) = self.catalog.get(arn) {
            return Ok(self.aws_view(p, &counts));
        }
        let rec = self.load_local_policy(&mut tx, auth.account(), arn).await?;
        let tags = tx.tags(TagTarget::Policy, &rec.policy_id).await?;
        Ok(self.local_view(rec, &counts, tags))
    }

    /// ListPolicies in keyset pages: the account's own policies first, then AWS's, each by
    /// name ignoring case (AWS lists a policy just created on the first page of all
    /// scopes, recorded); a page reads about one page of the account's policies, however
    /// many it holds. With `OnlyAttached`, pages of unused policies are read past until
    /// the page is full.
    pub async fn list_policies(&self, auth: &Authorized<'_>, filter: &PolicyFilter<'_>, page: &PageRequest) -> IamResult<Page<ManagedPolicyView>> {
        const LOCAL: char = '0';
        const AWS: char = '1';
        let sort_key = |v: &ManagedPolicyView| (if is_aws_managed(&v.arn) { AWS } else { LOCAL }, v.name.to_lowercase());
        let after = match page.after_key()? {
            None => None,
            Some(k) => {
                let (name, origin) = k.rsplit_once('\t').ok_or_else(crate::page::invalid_marker)?;
                let origin = origin.chars().next().filter(|c| *c == LOCAL || *c == AWS).ok_or_else(crate::page::invalid_marker)?;
                Some((name.to_owned(), origin))
            }
        };
        let mut tx = self.store.begin_read().await?;
        let counts = self.usage_counts(&mut tx, auth.account()).await?;
        let scope = filter.scope.unwrap_or("All");
        let limit = usize::try_from(page.limit()).unwrap_or(100);
        // With OnlyAttached, PolicyUsageFilter says which use counts: attached as a
        // permissions policy (the default) or set as a permissions boundary.
        let in_use = |p: &ManagedPolicyView| match filter.usage {
            Some("PermissionsBoundary") => p.boundary_usage_count > 0,
            Some("PermissionsPolicy") => p.attachment_count > 0,
            _ => p.attachment_count > 0 || p.boundary_usage_count > 0,
        };
        let wanted = |p: &ManagedPolicyView| {
            (!filter.only_attached || in_use(p)) && filter.path_prefix.is_none_or(|pre| p.path.starts_with(pre))
        };
        let mut rows: Vec<ManagedPolicyView> = Vec::new();
        if scope != "Local" {
            // The catalog is in the same order: start past the marker, and build no more
            // views than the page can use.
            let catalog = self.catalog.all();
            let start = match &after {
                None => 0,
                Some((_, LOCAL)) => 0,
                Some((name, _)) => catalog.partition_point(|p| p.name.to_lowercase() <= *name),
            };
            rows.extend(catalog[start..].iter().map(|p| self.aws_view(p, &counts)).filter(wanted).take(limit + 1));
        }
        // Past a marker on an AWS-managed policy, the account's own are all behind.
        if scope != "AWS" && !matches!(after, Some((_, AWS))) {
            // Local names are unique ignoring case: a local row is past a local marker
            // exactly when its name is greater.
            let mut cursor = after.as_ref().map(|(name, _)| name.clone());
            let mut found = 0;
            loop {
                let query = PageQuery { path_prefix: filter.path_prefix, after: cursor.as_deref(), limit: i64::try_from(limit + 1).unwrap_or(1001) };
                let batch = tx.list_policies_page(auth.account(), &query).await?;
                let fetched = batch.len();
                cursor = batch.last().map(|p| p.name.to_lowercase());
                for view in batch.into_iter().map(|p| self.local_view(p, &counts, Vec::new())).filter(wanted) {
                    found += 1;
                    rows.push(view);
                }
                if found > limit || fetched <= limit {
                    break;
                }
            }
        }
        rows.sort_by_cached_key(sort_key);
        rows.truncate(limit + 1);
        Ok(Page::from_keyset(rows, page, |v| {
            let (origin, name) = sort_key(v);
            format!("{name}\t{origin}")
        }))
    }

    pub async fn delete_policy(&self, auth: &Authorized<'_>, arn: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        if is_aws_managed(arn) {
            return Err(outside_account("delete policies"));
        }
        let rec = self.load_local_policy(&mut tx, auth.account(), arn).await?;
        // A policy in use as a permissions boundary is attached too: deleting it would lift
        // the boundary of every user and role it limits.
        if tx.count_policy_attachments(auth.account(), arn).await? > 0 || tx.count_boundary_uses(auth.account(), arn).await? > 0 {
            return Err(IamError::DeleteConflict("Cannot delete a policy attached to entities.".to_owned()));
        }
        if tx.list_policy_versions(&rec.policy_id).await?.len() > 1 {
            return Err(IamError::DeleteConflict(
                "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.".to_owned(),
            ));
        }
        tx.delete_policy(&rec.policy_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_policy_version(&self, auth: &Authorized<'_>, arn: &str, document: &str, set_as_default: bool) -> IamResult<(crate::views::PolicyVersion, bool)> {
        let mut tx = self.store.begin().await?;
        if is_aws_managed(arn) {
            return Err(policy_not_found(arn));
        }
        let mut rec = self.load_local_policy(&mut tx, auth.account(), arn).await?;
        check_managed_document(document)?;
        tx.lock(&format!("policy:{}", rec.policy_id)).await?;
        // Re-read under the lock: another version may have been created meanwhile.
        rec = self.load_local_policy(&mut tx, auth.account(), arn).await?;
        if tx.list_policy_versions(&rec.policy_id).await?.len() >= VERSIONS_PER_POLICY {
            return Err(IamError::LimitExceeded(
                "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.".to_owned(),
            ));
        }
        let now = self.now();
        let version = PolicyVersionRecord {
            policy_id: rec.policy_id.clone(),
            version_id: format!("v{}", rec.next_version),
            document: document.to_owned(),
            created_at: now,
        };
        tx.insert_policy_version(&version).await?;
        rec.next_version += 1;
        rec.updated_at = now;
        if set_as_default {
            rec.default_version = version.version_id.clone();
        }
        tx.update_policy(&rec).await?;
        tx.commit().await?;
        Ok((version.into(), set_as_default))
    }

    /// (version, is default) of an AWS-managed or customer-managed policy.
    pub async fn get_policy_version(&self, auth: &Authorized<'_>, arn: &str, version_id: &str) -> IamResult<(crate::views::PolicyVersion, bool)> {
        let missing = || IamError::NoSuchEntity(format!("Policy {arn} version {version_id} does not exist or is not attachable."));
        if let Some(p) = self.catalog.get(arn) {
            // Only the default version of AWS-managed policies is shipped.
            if p.default_version != version_id {
                return Err(missing());
            }
            let v = PolicyVersionRecord {
                policy_id: p.policy_id.clone(),
                version_id: p.default_version.clone(),
                document: p.document.clone(),
                created_at: p.update_date,
            };
            return Ok((v.into(), true));
        }
        let mut tx = self.store.begin_read().await?;
        let rec = self.load_local_policy(&mut tx, auth.account(), arn).await.map_err(|e| if matches!(e, IamError::NoSuchEntity(_)) { missing() } else { e })?;
        let v = tx.get_policy_version(&rec.policy_id, version_id).await?.ok_or_else(missing)?;
        let is_default = v.version_id == rec.default_version;
        Ok((v.into(), is_default))
    }

    pub async fn list_policy_versions(&self, auth: &Authorized<'_>, arn: &str, page: &PageRequest) -> IamResult<Page<(crate::views::PolicyVersion, bool)>> {
        if let Some(p) = self.catalog.get(arn) {
            let v = PolicyVersionRecord {
                policy_id: p.policy_id.clone(),
                version_id: p.default_version.clone(),
                document: p.document.clone(),
                created_at: p.update_date,
            };
            return Page::from_all(vec![(v.into(), true)], page);
        }
        let mut tx = self.store.begin_read().await?;
        let rec = self.load_local_policy(&mut tx, auth.account(), arn).await?;
        let versions = tx.list_policy_versions(&rec.policy_id).await?;
        let all = versions
            .into_iter()
            .map(|v| {
                let d = v.version_id == rec.default_version;
                (v.into(), d)
            })
            .collect();
        Page::from_all(all, page)
    }

    pub async fn set_default_policy_version(&self, auth: &Authorized<'_>, arn: &str, version_id: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        if is_aws_managed(arn) {
            return Err(outside_account("update policies"));
        }
        let missing = || IamError::NoSuchEntity(format!("Policy {arn} version {version_id} does not exist or is not attachable."));
        let mut rec = self.load_local_policy(&mut tx, auth.account(), arn).await.map_err(|e| if matches!(e, IamError::NoSuchEntity(_)) { missing() } else { e })?;
        if tx.get_policy_version(&rec.policy_id, version_id).await?.is_none() {
            return Err(IamError::NoSuchEntity(format!("Policy {arn} version {version_id} does not exist or is not attachable.")));
        }
        rec.default_version = version_id.to_owned();
        rec.updated_at = self.now();
        tx.update_policy(&rec).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_policy_version(&self, auth: &Authorized<'_>, arn: &str, version_id: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        if is_aws_managed(arn) {
            return Err(outside_account("delete policy versions for policies"));
        }
        let rec = self.load_local_policy(&mut tx, auth.account(), arn).await?;
        if tx.get_policy_version(&rec.policy_id, version_id).await?.is_none() {
            return Err(IamError::NoSuchEntity(format!("Policy {arn} version {version_id} does not exist or is not attachable.")));
        }
        if rec.default_version == version_id {
            return Err(IamError::DeleteConflict("Cannot delete the default version of a policy.".to_owned()));
        }
        tx.delete_policy_version(&rec.policy_id, version_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn attach_policy(&self, auth: &Authorized<'_>, kind: PrincipalKind, name: &str, arn: &str) -> IamResult<()> {
        check_arn(arn)?;
        let account = auth.account();
        let mut tx = self.store.begin().await?;
        crate::service_linked_roles::check_principal_modifiable(&mut tx, account, kind, name).await?;
        let id = principal_id(&mut tx, account, kind, name).await?;
        tx.lock(&format!("{}:{id}", kind.as_str())).await?;
        match self.catalog.get(arn) {
            Some(p) if p.is_service_role_policy() => {
                return Err(IamError::PolicyNotAttachable("Cannot attach a Service Role Policy to a Customer Role.".to_owned()))
            }
            Some(_) => {}
            None => {
                tx.get_policy(arn).await?.filter(|p| p.account_id == account).ok_or_else(|| not_attachable(arn))?;
            }
        }
        let attached = tx.attached_policies(kind, &id).await?;
        if attached.iter().any(|a| a == arn) {
            return Ok(());
        }
        if attached.len() >= ATTACHED_PER_PRINCIPAL {
            let quota = match kind {
                PrincipalKind::User => "PoliciesPerUser",
                PrincipalKind::Group => "PoliciesPerGroup",
                PrincipalKind::Role => "PoliciesPerRole",
            };
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for {quota}: {ATTACHED_PER_PRINCIPAL}")));
        }
        tx.attach_policy(account, kind, &id, arn, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn detach_policy(&self, auth: &Authorized<'_>, kind: PrincipalKind, name: &str, arn: &str) -> IamResult<()> {
        check_arn(arn)?;
        let mut tx = self.store.begin().await?;
        crate::service_linked_roles::check_principal_modifiable(&mut tx, auth.account(), kind, name).await?;
        let id = principal_id(&mut tx, auth.account(), kind, name).await?;
        if !tx.detach_policy(kind, &id, arn).await? {
            return Err(policy_not_found(arn));
        }
        tx.commit().await?;
        Ok(())
    }

    /// (policy name, policy ARN) attached to a user, group or role.
    pub async fn list_attached_policies(&self, auth: &Authorized<'_>, kind: PrincipalKind, name: &str, path_prefix: Option<&str>, page: &PageRequest) -> IamResult<Page<(String, String)>> {
        let mut tx = self.store.begin_read().await?;
        let id = principal_id(&mut tx, auth.account(), kind, name).await?;
        let mut out = Vec::new();
        for arn in tx.attached_policies(kind, &id).await? {
            let (pname, ppath) = match self.catalog.get(&arn) {
                Some(p) => (p.name.clone(), p.path.clone()),
                None => match tx.get_policy(&arn).await? {
                    Some(p) => (p.name, p.path),
                    None => continue,
                },
            };
            if path_prefix.is_none_or(|pre| ppath.starts_with(pre)) {
                out.push((pname, arn));
            }
        }
        Page::from_all(out, page)
    }

    pub async fn list_entities_for_policy(&self, auth: &Authorized<'_>, arn: &str, entity_filter: Option<&str>, path_prefix: Option<&str>) -> IamResult<PolicyEntities> {
        let account = auth.account();
        let mut tx = self.store.begin_read().await?;
        if self.catalog.get(arn).is_none() {
            tx.get_policy(arn).await?.filter(|p| p.account_id == account).ok_or_else(|| not_attachable(arn))?;
        }
        let mut out = PolicyEntities::default();
        for (_, kind, id) in tx.policy_attachments(account, arn).await? {
            // The LocalManagedPolicy and AWSManagedPolicy filters name no user, group or role.
            let wanted = |k: &str| entity_filter.is_none_or(|f| f == k);
            let keep_path = |p: &str| path_prefix.is_none_or(|pre| p.starts_with(pre));
            match kind {
                PrincipalKind::User if wanted("User") => {
                    if let Some(u) = tx.get_user_by_id(&id).await?.filter(|u| keep_path(&u.path)) {
                        out.users.push((u.name, u.user_id));
                    }
                }
                PrincipalKind::Group if wanted("Group") => {
                    if let Some(g) = self.group_by_id(&mut tx, account, &id).await?.filter(|g| keep_path(&g.path)) {
                        out.groups.push((g.name, g.group_id));
                    }
                }
                PrincipalKind::Role if wanted("Role") => {
                    if let Some(r) = self.role_by_id(&mut tx, account, &id).await?.filter(|r| keep_path(&r.path)) {
                        out.roles.push((r.name, r.role_id));
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    async fn group_by_id(&self, tx: &mut Box<dyn Tx>, account: &str, id: &str) -> IamResult<Option<portcullis_store::GroupRecord>> {
        Ok(tx.get_group_by_id(id).await?.filter(|g| g.account_id == account))
    }

    async fn role_by_id(&self, tx: &mut Box<dyn Tx>, account: &str, id: &str) -> IamResult<Option<portcullis_store::RoleRecord>> {
        Ok(tx.get_role_by_id(id).await?.filter(|r| r.account_id == account))
    }
}
