//! The organization's shape: the organization, its root, organizational units, member
//! accounts (created in the organization, each with its own IAM world), moving accounts,
//! trusted service access and tags.

use portcullis_store::{AccountRecord, OrgLinkKind, OrgLinkRecord, OrgObjectKind, OrgObjectRecord, PrincipalKind, RoleRecord, Tag, Tx};
use serde::Serialize;

use super::handshakes::readable_org;
use super::*;

/// An organization as DescribeOrganization shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrganizationView {
    pub id: String,
    pub arn: String,
    pub feature_set: String,
    pub master_account_arn: String,
    pub master_account_id: String,
    pub master_account_email: String,
    pub available_policy_types: Vec<PolicyTypeView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyTypeView {
    #[serde(rename = "Type")]
    pub kind: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootView {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub policy_types: Vec<PolicyTypeView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountView {
    pub id: String,
    pub arn: String,
    pub email: String,
    pub name: String,
    pub status: String,
    pub state: String,
    pub joined_method: String,
    pub joined_timestamp: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnitView {
    pub id: String,
    pub arn: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChildView {
    pub id: String,
    #[serde(rename = "Type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccountStatusView {
    pub id: String,
    pub account_name: String,
    pub state: String,
    pub requested_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnabledServiceView {
    pub service_principal: String,
    pub date_enabled: i64,
}

pub struct CreateAccountInput<'a> {
    pub email: &'a str,
    pub account_name: &'a str,
    pub role_name: Option<&'a str>,
    pub tags: &'a [Tag],
}

/// How many units deep an organization goes below its root.
const MAX_UNIT_DEPTH: usize = 5;
/// Accounts in one organization. AWS starts organizations at 10 and raises the quota on
/// request; a self-hosted server starts high enough for test suites that make many.
const MAX_ACCOUNTS: usize = 1000;
const MAX_UNITS: usize = 1000;
/// CreateAccount requests an organization may make in a day.
const MAX_ACCOUNT_REQUESTS_PER_DAY: usize = 1000;
/// How long a failed CreateAccount request's status is kept (AWS lists them for 90 days).
const REQUEST_STATUS_SECONDS: i64 = 90 * 86_400;

fn org_view(org: &Org) -> OrganizationView {
    OrganizationView {
        id: org.id.clone(),
        arn: org.arn(),
        feature_set: org.body.feature_set.clone(),
        master_account_arn: org.object_arn(OrgObjectKind::Account, org.management()),
        master_account_id: org.management().to_owned(),
        master_account_email: org.body.management_email.clone(),
        available_policy_types: available_policy_types(org),
    }
}

/// The organization's deprecated `AvailablePolicyTypes`: service control policies are
/// available with all features, whether or not they are enabled at the root.
fn available_policy_types(org: &Org) -> Vec<PolicyTypeView> {
    match org.body.feature_set.as_str() {
        "ALL" => vec![PolicyTypeView { kind: SCP.to_owned(), status: "ENABLED".to_owned() }],
        _ => Vec::new(),
    }
}

fn policy_types(org: &Org) -> Vec<PolicyTypeView> {
    org.body.policy_types.iter().map(|t| PolicyTypeView { kind: t.clone(), status: "ENABLED".to_owned() }).collect()
}

pub(super) fn account_view(org: &Org, rec: &OrgObjectRecord) -> IamResult<AccountView> {
    let body: ObjectBody = body_of(rec)?;
    let state = match body.status.as_str() {
        "SUSPENDED" => "SUSPENDED",
        "PENDING_CLOSURE" => "PENDING_CLOSURE",
        _ => "ACTIVE",
    };
    Ok(AccountView {
        id: rec.object_id.clone(),
        arn: org.object_arn(OrgObjectKind::Account, &rec.object_id),
        email: body.email,
        name: body.name,
        status: body.status,
        state: state.to_owned(),
        joined_method: body.joined_method,
        joined_timestamp: rec.created_at,
    })
}

fn unit_view(org: &Org, rec: &OrgObjectRecord) -> IamResult<UnitView> {
    let body: ObjectBody = body_of(rec)?;
    Ok(UnitView { id: rec.object_id.clone(), arn: org.object_arn(OrgObjectKind::Unit, &rec.object_id), name: body.name })
}

fn status_view(rec: &OrgObjectRecord) -> IamResult<CreateAccountStatusView> {
    let body: ObjectBody = body_of(rec)?;
    Ok(CreateAccountStatusView {
        id: rec.object_id.clone(),
        account_name: body.name,
        state: body.state,
        requested_timestamp: rec.created_at,
        completed_timestamp: body.completed_at,
        account_id: body.account_id,
        failure_reason: body.failure_reason,
    })
}

/// A unit's unique key: its name under its parent (AWS compares names exactly).
fn unit_key(parent: &str, name: &str) -> String {
    format!("{parent}/{name}")
}

/// The trust policy of the role CreateAccount makes: the management account may assume it.
fn access_role_trust(management: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{management}:root")}, "Action": "sts:AssumeRole"}]
    })
    .to_string()
}

const ADMINISTRATOR_ACCESS: &str = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}";

impl Iam {
    /// CreateOrganization: the caller's account becomes the management account of a new
    /// organization (all features unless asked otherwise); policy types are enabled later.
    pub async fn create_organization(&self, auth: &Authorized<'_>, feature_set: Option<&str>) -> IamResult<OrganizationView> {
        let account_id = auth.account();
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("org-membership:{account_id}")).await?;
        if membership(&mut tx, account_id).await?.is_some() {
            return Err(err("AlreadyInOrganizationException", "The AWS account is already a member of an organization."));
        }
        let account = tx.get_account(account_id).await?.ok_or_else(|| IamError::ServiceFailure(format!("account {account_id} is not stored")))?;
        let feature_set = feature_set.unwrap_or("ALL");
        let now = self.now();
        let org_id = new_id("o-", 10)?;
        let root_id = new_id("r-", 4)?;
        // As on AWS, policy types start disabled at the root: EnablePolicyType (the console's
        // button) turns service control policies on.
        let policy_types = Vec::new();
        let body = OrgBody {
            feature_set: feature_set.to_owned(),
            management_account_id: account_id.to_owned(),
            management_email: account.root_email.clone(),
            root_id: root_id.clone(),
            policy_types,
            iam_features: Vec::new(),
        };
        let org = Org { id: org_id.clone(), body, created_at: now };
        let object = |object_id: &str, kind, parent: Option<&str>, body: String| OrgObjectRecord {
            object_id: object_id.to_owned(),
            org_id: org_id.clone(),
            kind,
            parent_id: parent.map(str::to_owned),
            unique_key: None,
            created_at: now,
            body,
        };
        tx.insert_org_object(&object(&org_id, OrgObjectKind::Organization, None, to_body(&org.body)?)).await?;
        tx.insert_org_object(&object(&root_id, OrgObjectKind::Root, None, to_body(&ObjectBody { name: "Root".to_owned(), ..Default::default() })?)).await?;
        let name = account.alias.clone().unwrap_or_else(|| account.root_email.split('@').next().unwrap_or("management").to_owned());
        let member = ObjectBody { name, email: account.root_email, status: "ACTIVE".to_owned(), joined_method: "CREATED".to_owned(), ..Default::default() };
        tx.insert_org_object(&object(account_id, OrgObjectKind::Account, Some(&root_id), to_body(&member)?)).await?;
        if org.scps_enabled() {
            for target in [root_id.as_str(), account_id] {
                attach_full_access(&mut tx, &org, target, now).await?;
            }
        }
        tx.commit().await?;
        Ok(org_view(&org))
    }

    pub async fn describe_organization(&self, auth: &Authorized<'_>) -> IamResult<OrganizationView> {
        let mut tx = self.store.begin_read().await?;
        Ok(org_view(&caller_org(&mut tx, auth).await?))
    }

    /// DeleteOrganization: only an organization whose one account is its management account,
    /// with no units and no policies of its own left.
    pub async fn delete_organization(&self, auth: &Authorized<'_>) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        let members = tx.org_objects(&org.id, OrgObjectKind::Account, None).await?;
        let units = tx.org_objects(&org.id, OrgObjectKind::Unit, None).await?;
        if members.len() > 1 || !units.is_empty() {
            return Err(err(
                "OrganizationNotEmptyException",
                "To delete an organization you must first remove all member accounts (except the master).",
            ));
        }
        tx.delete_organization(&org.id).await?;
        tx.commit().await
            .map_err(Into::into)
    }

    pub async fn list_roots(&self, auth: &Authorized<'_>) -> IamResult<Vec<RootView>> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        Ok(vec![self.root_view(&org)])
    }

    pub(super) fn root_view(&self, org: &Org) -> RootView {
        RootView {
            id: org.body.root_id.clone(),
            arn: org.object_arn(OrgObjectKind::Root, &org.body.root_id),
            name: "Root".to_owned(),
            policy_types: policy_types(org),
        }
    }

    /// CreateAccount: a new account with its own IAM world, in the organization's root, with
    /// a role the management account can assume. AWS does it asynchronously; here the work
    /// is done at once and the request answers `IN_PROGRESS`, as AWS's first answer does;
    /// DescribeCreateAccountStatus then shows how it ended.
    pub async fn create_account(&self, auth: &Authorized<'_>, input: &CreateAccountInput<'_>) -> IamResult<CreateAccountStatusView> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        tx.lock(&format!("org-accounts:{}", org.id)).await?;
        let role_name = input.role_name.unwrap_or("OrganizationAccountAccessRole");
        let tags = checked_tags(&[], input.tags)?;
        let now = self.now();
        let request_id = new_id("car-", 32)?;
        let members = tx.org_objects(&org.id, OrgObjectKind::Account, None).await?;
        // Every account the organization created counts against its quota, also after it
        // was removed (it still exists), and so do the members it invited.
        let mut created = 0;
        let mut recent = 0;
        for r in tx.org_objects(&org.id, OrgObjectKind::CreateAccountRequest, None).await? {
            let succeeded = body_of::<ObjectBody>(&r).is_ok_and(|b| b.state == "SUCCEEDED");
            if !succeeded && now - r.created_at > REQUEST_STATUS_SECONDS {
                tx.delete_org_object(&r.object_id).await?;
                continue;
            }
            created += usize::from(succeeded);
            recent += usize::from(now - r.created_at < 86_400);
        }
        if recent >= MAX_ACCOUNT_REQUESTS_PER_DAY {
            return Err(err("TooManyRequestsException", "You have sent too many requests in too short a period of time. The quota helps protect against denial-of-service attacks. Try again later."));
        }
        let invited = members.iter().filter(|m| body_of::<ObjectBody>(m).is_ok_and(|b| b.joined_method == "INVITED")).count();
        // Root e-mails are unique across the server (they sign root users in).
        let email_taken = members.iter().any(|m| body_of::<ObjectBody>(m).is_ok_and(|b| b.email.eq_ignore_ascii_case(input.email)))
            || tx.account_by_root_email(input.email).await?.is_some();
        let mut status = ObjectBody { name: input.account_name.to_owned(), state: "SUCCEEDED".to_owned(), completed_at: Some(now), ..Default::default() };
        if email_taken {
            status.state = "FAILED".to_owned();
            status.failure_reason = Some("EMAIL_ALREADY_EXISTS".to_owned());
        } else if members.len().max(created + invited) >= MAX_ACCOUNTS {
            status.state = "FAILED".to_owned();
            status.failure_reason = Some("ACCOUNT_LIMIT_EXCEEDED".to_owned());
        } else {
            let account_id = loop {
                let id = portcullis_credentials::new_account_id()?;
                if tx.get_account(&id).await?.is_none() {
                    break id;
                }
            };
            tx.insert_account(&AccountRecord { account_id: account_id.clone(), created_at: now, root_email: input.email.to_owned(), root_password_hash: None, alias: None })
                .await?;
            let role = RoleRecord {
                account_id: account_id.clone(),
                role_id: portcullis_credentials::new_unique_id("AROA")?,
                name: role_name.to_owned(),
                path: "/".to_owned(),
                created_at: now,
                assume_role_policy: access_role_trust(org.management()),
                description: None,
                max_session_duration: 3600,
                permissions_boundary: None,
                last_used_at: None,
                last_used_region: None,
            };
            tx.insert_role(&role).await?;
            tx.put_inline_policy(PrincipalKind::Role, &role.role_id, "AdministratorAccess", ADMINISTRATOR_ACCESS).await?;
            let member = ObjectBody { name: input.account_name.to_owned(), email: input.email.to_owned(), status: "ACTIVE".to_owned(), joined_method: "CREATED".to_owned(), tags, ..Default::default() };
            tx.insert_org_object(&OrgObjectRecord {
                object_id: account_id.clone(),
                org_id: org.id.clone(),
                kind: OrgObjectKind::Account,
                parent_id: Some(org.body.root_id.clone()),
                unique_key: None,
                created_at: now,
                body: to_body(&member)?,
            })
            .await?;
            if org.scps_enabled() {
                attach_full_access(&mut tx, &org, &account_id, now).await?;
            }
            status.account_id = Some(account_id);
        }
        let rec = OrgObjectRecord {
            object_id: request_id,
            org_id: org.id.clone(),
            kind: OrgObjectKind::CreateAccountRequest,
            parent_id: None,
            unique_key: None,
            created_at: now,
            body: to_body(&status)?,
        };
        tx.insert_org_object(&rec).await?;
        tx.commit().await?;
        let mut first = status_view(&rec)?;
        first.state = "IN_PROGRESS".to_owned();
        first.completed_timestamp = None;
        first.account_id = None;
        first.failure_reason = None;
        Ok(first)
    }

    pub async fn describe_create_account_status(&self, auth: &Authorized<'_>, request_id: &str) -> IamResult<CreateAccountStatusView> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        let rec = tx
            .get_org_object(request_id)
            .await?
            .filter(|r| r.kind == OrgObjectKind::CreateAccountRequest && r.org_id == org.id)
            .ok_or_else(|| err("CreateAccountStatusNotFoundException", "We can't find an create account request with the CreateAccountRequestId that you specified."))?;
        status_view(&rec)
    }

    pub async fn list_create_account_status(&self, auth: &Authorized<'_>, states: &[String], next: Option<&str>, max: Option<i64>) -> IamResult<OrgPage<CreateAccountStatusView>> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        let mut all = Vec::new();
        for rec in tx.org_objects(&org.id, OrgObjectKind::CreateAccountRequest, None).await? {
            let view = status_view(&rec)?;
            if states.is_empty() || states.contains(&view.state) {
                all.push(view);
            }
        }
        paginate(all, next, max)
    }

    pub async fn describe_account(&self, auth: &Authorized<'_>, account_id: &str) -> IamResult<AccountView> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        let rec = org_account(&mut tx, &org, account_id).await?;
        account_view(&org, &rec)
    }

    pub async fn list_accounts(&self, auth: &Authorized<'_>, parent: Option<&str>, next: Option<&str>, max: Option<i64>) -> IamResult<OrgPage<AccountView>> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        if let Some(p) = parent {
            parent_object(&mut tx, &org, p, "ParentNotFoundException").await?;
        }
        let rows = tx.org_objects(&org.id, OrgObjectKind::Account, parent).await?;
        let all = rows.iter().map(|r| account_view(&org, r)).collect::<IamResult<Vec<_>>>()?;
        paginate(all, next, max)
    }

    pub async fn create_organizational_unit(&self, auth: &Authorized<'_>, parent_id: &str, name: &str, tags: &[Tag]) -> IamResult<UnitView> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        let tags = checked_tags(&[], tags)?;
        parent_object(&mut tx, &org, parent_id, "ParentNotFoundException").await?;
        if depth(&mut tx, parent_id).await? >= MAX_UNIT_DEPTH {
            return Err(constraint("OU_DEPTH_LIMIT_EXCEEDED", "You attempted to create an OU tree that is too many levels deep."));
        }
        if tx.org_objects(&org.id, OrgObjectKind::Unit, None).await?.len() >= MAX_UNITS {
            return Err(constraint("OU_NUMBER_LIMIT_EXCEEDED", "You attempted to exceed the number of OUs that you can have in an organization."));
        }
        let root_part = org.body.root_id.trim_start_matches("r-").to_owned();
        let id = format!("ou-{root_part}-{}", portcullis_credentials::lower_alnum(8)?);
        let now = self.now();
        let rec = OrgObjectRecord {
            object_id: id,
            org_id: org.id.clone(),
            kind: OrgObjectKind::Unit,
            parent_id: Some(parent_id.to_owned()),
            unique_key: Some(unit_key(parent_id, name)),
            created_at: now,
            body: to_body(&ObjectBody { name: name.to_owned(), tags, ..Default::default() })?,
        };
        tx.insert_org_object(&rec).await.map_err(|e| match e {
            portcullis_store::StoreError::Conflict(_) => duplicate_unit(),
            other => other.into(),
        })?;
        if org.scps_enabled() {
            attach_full_access(&mut tx, &org, &rec.object_id, now).await?;
        }
        tx.commit().await?;
        unit_view(&org, &rec)
    }

    pub async fn describe_organizational_unit(&self, auth: &Authorized<'_>, unit_id: &str) -> IamResult<UnitView> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        unit_view(&org, &org_unit(&mut tx, &org, unit_id).await?)
    }

    pub async fn update_organizational_unit(&self, auth: &Authorized<'_>, unit_id: &str, name: Option<&str>) -> IamResult<UnitView> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        let mut rec = org_unit(&mut tx, &org, unit_id).await?;
        if let Some(name) = name {
            let mut body: ObjectBody = body_of(&rec)?;
            body.name = name.to_owned();
            rec.body = to_body(&body)?;
            rec.unique_key = rec.parent_id.as_deref().map(|p| unit_key(p, name));
            tx.update_org_object(&rec).await.map_err(|e| match e {
                portcullis_store::StoreError::Conflict(_) => duplicate_unit(),
                other => other.into(),
            })?;
        }
        tx.commit().await?;
        unit_view(&org, &rec)
    }

    pub async fn delete_organizational_unit(&self, auth: &Authorized<'_>, unit_id: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        let rec = org_unit(&mut tx, &org, unit_id).await?;
        let has_accounts = !tx.org_objects(&org.id, OrgObjectKind::Account, Some(unit_id)).await?.is_empty();
        let has_units = !tx.org_objects(&org.id, OrgObjectKind::Unit, Some(unit_id)).await?.is_empty();
        if has_accounts || has_units {
            return Err(err(
                "OrganizationalUnitNotEmptyException",
                "The specified OU is not empty. Move all accounts to another root or to other OUs, remove all child OUs, and try the operation again.",
            ));
        }
        tx.delete_org_object(&rec.object_id).await?;
        tx.commit().await.map_err(Into::into)
    }

    pub async fn list_organizational_units(&self, auth: &Authorized<'_>, parent_id: &str, next: Option<&str>, max: Option<i64>) -> IamResult<OrgPage<UnitView>> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        parent_object(&mut tx, &org, parent_id, "ParentNotFoundException").await?;
        let rows = tx.org_objects(&org.id, OrgObjectKind::Unit, Some(parent_id)).await?;
        let all = rows.iter().map(|r| unit_view(&org, r)).collect::<IamResult<Vec<_>>>()?;
        paginate(all, next, max)
    }

    /// ListChildren: the accounts (`ACCOUNT`) or units (`ORGANIZATIONAL_UNIT`) in a parent.
    pub async fn list_children(&self, auth: &Authorized<'_>, parent_id: &str, child_type: &str, next: Option<&str>, max: Option<i64>) -> IamResult<OrgPage<ChildView>> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        parent_object(&mut tx, &org, parent_id, "ParentNotFoundException").await?;
        let (kind, label) = if child_type == "ACCOUNT" { (OrgObjectKind::Account, "ACCOUNT") } else { (OrgObjectKind::Unit, "ORGANIZATIONAL_UNIT") };
        let rows = tx.org_objects(&org.id, kind, Some(parent_id)).await?;
        paginate(rows.into_iter().map(|r| ChildView { id: r.object_id, kind: label }).collect(), next, max)
    }

    /// ListParents: the root or unit an account or unit is in.
    pub async fn list_parents(&self, auth: &Authorized<'_>, child_id: &str) -> IamResult<Vec<ChildView>> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        let rec = tx
            .get_org_object(child_id)
            .await?
            .filter(|r| r.org_id == org.id && matches!(r.kind, OrgObjectKind::Account | OrgObjectKind::Unit))
            .ok_or_else(|| err("ChildNotFoundException", "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified."))?;
        let parent = rec.parent_id.unwrap_or_else(|| org.body.root_id.clone());
        let kind = if parent.starts_with("r-") { "ROOT" } else { "ORGANIZATIONAL_UNIT" };
        Ok(vec![ChildView { id: parent, kind }])
    }

    pub async fn move_account(&self, auth: &Authorized<'_>, account_id: &str, source: &str, destination: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        let mut rec = org_account(&mut tx, &org, account_id).await?;
        parent_object(&mut tx, &org, source, "SourceParentNotFoundException").await?;
        parent_object(&mut tx, &org, destination, "DestinationParentNotFoundException").await?;
        if rec.parent_id.as_deref() != Some(source) {
            return Err(err("AccountNotFoundException", "You specified an account that doesn't exist."));
        }
        if source == destination {
            return Err(err("DuplicateAccountException", "That account is already present in the specified destination."));
        }
        rec.parent_id = Some(destination.to_owned());
        tx.update_org_object(&rec).await?;
        tx.commit().await.map_err(Into::into)
    }

    /// RemoveAccountFromOrganization: a member account leaves and stands alone (the
    /// management account cannot).
    pub async fn remove_account_from_organization(&self, auth: &Authorized<'_>, account_id: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        let rec = org_account(&mut tx, &org, account_id).await?;
        if account_id == org.management() {
            return Err(err(
                "MasterCannotLeaveOrganizationException",
                "You can't remove a management account from an organization. If you want the management account to become a member account in another organization, you must first delete the current organization.",
            ));
        }
        tx.delete_org_object(&rec.object_id).await?;
        self.forget_sso_account(&mut tx, &org.id, account_id).await?;
        tx.commit().await.map_err(Into::into)
    }

    /// CloseAccount: the member account is suspended (AWS closes it after 90 days); it stays
    /// listed with status `SUSPENDED`, and its principals can no longer be authorized.
    pub async fn close_account(&self, auth: &Authorized<'_>, account_id: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        let mut rec = org_account(&mut tx, &org, account_id).await?;
        if account_id == org.management() {
            return Err(constraint("CANNOT_CLOSE_MANAGEMENT_ACCOUNT", "You can't close the management account with this operation."));
        }
        let mut body: ObjectBody = body_of(&rec)?;
        if body.status == "SUSPENDED" {
            return Err(err("AccountAlreadyClosedException", "You attempted to close an account that is already closed."));
        }
        body.status = "SUSPENDED".to_owned();
        rec.body = to_body(&body)?;
        tx.update_org_object(&rec).await?;
        tx.commit().await.map_err(Into::into)
    }

    pub async fn enable_service_access(&self, auth: &Authorized<'_>, principal: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        if !principal.ends_with(".amazonaws.com") {
            return Err(invalid_input("UNRECOGNIZED_SERVICE_PRINCIPAL", "You specified a service principal that isn't recognized."));
        }
        tx.insert_org_link(&org.id, OrgLinkKind::ServiceAccess, &OrgLinkRecord { from_id: org.id.clone(), to_id: principal.to_owned(), created_at: self.now() }).await?;
        tx.commit().await.map_err(Into::into)
    }

    pub async fn disable_service_access(&self, auth: &Authorized<'_>, principal: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        if !principal.ends_with(".amazonaws.com") {
            return Err(invalid_input("UNRECOGNIZED_SERVICE_PRINCIPAL", "You specified a service principal that isn't recognized."));
        }
        tx.delete_org_link(OrgLinkKind::ServiceAccess, &org.id, principal).await?;
        tx.commit().await.map_err(Into::into)
    }

    pub async fn list_service_access(&self, auth: &Authorized<'_>, next: Option<&str>, max: Option<i64>) -> IamResult<OrgPage<EnabledServiceView>> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        let links = tx.org_links(&org.id, OrgLinkKind::ServiceAccess, Some(&org.id), None).await?;
        paginate(links.into_iter().map(|l| EnabledServiceView { service_principal: l.to_id, date_enabled: l.created_at }).collect(), next, max)
    }

    /// The name an account has in its organization, if it is in one.
    pub(crate) async fn org_account_name(&self, account_id: &str) -> IamResult<Option<String>> {
        let mut tx = self.store.begin_read().await?;
        match membership(&mut tx, account_id).await? {
            Some((_, member)) => Ok(Some(body_of::<ObjectBody>(&member)?.name)),
            None => Ok(None),
        }
    }

    /// TagResource, UntagResource and ListTagsForResource for a root, unit, account or policy.
    pub async fn tag_org_resource(&self, auth: &Authorized<'_>, resource_id: &str, add: &[Tag], remove: &[String]) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        let mut rec = taggable(&mut tx, &org, resource_id).await?;
        let mut body: ObjectBody = body_of(&rec)?;
        body.tags = checked_tags(&body.tags, add)?;
        body.tags.retain(|(k, _)| !remove.contains(k));
        rec.body = to_body(&body)?;
        tx.update_org_object(&rec).await?;
        tx.commit().await.map_err(Into::into)
    }

    pub async fn list_org_resource_tags(&self, auth: &Authorized<'_>, resource_id: &str, next: Option<&str>) -> IamResult<OrgPage<Tag>> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        let rec = taggable(&mut tx, &org, resource_id).await?;
        let body: ObjectBody = body_of(&rec)?;
        paginate(tag_list(&body.tags), next, Some(50))
    }
}

fn duplicate_unit() -> IamError {
    err("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")
}

/// FullAWSAccess on a new root, unit or account.
pub(super) async fn attach_full_access(tx: &mut Box<dyn Tx>, org: &Org, target: &str, now: i64) -> IamResult<()> {
    tx.insert_org_link(&org.id, OrgLinkKind::PolicyTarget, &OrgLinkRecord { from_id: FULL_AWS_ACCESS_ID.to_owned(), to_id: target.to_owned(), created_at: now }).await?;
    Ok(())
}

/// A member account of the organization.
pub(super) async fn org_account(tx: &mut Box<dyn Tx>, org: &Org, account_id: &str) -> IamResult<OrgObjectRecord> {
    tx.get_org_object(account_id)
        .await?
        .filter(|r| r.kind == OrgObjectKind::Account && r.org_id == org.id)
        .ok_or_else(|| err("AccountNotFoundException", "You specified an account that doesn't exist."))
}

async fn org_unit(tx: &mut Box<dyn Tx>, org: &Org, unit_id: &str) -> IamResult<OrgObjectRecord> {
    tx.get_org_object(unit_id)
        .await?
        .filter(|r| r.kind == OrgObjectKind::Unit && r.org_id == org.id)
        .ok_or_else(|| err("OrganizationalUnitNotFoundException", "You specified an organizational unit that doesn't exist."))
}

/// The root or unit `id`, or the named error.
async fn parent_object(tx: &mut Box<dyn Tx>, org: &Org, id: &str, missing: &'static str) -> IamResult<OrgObjectRecord> {
    let what = match missing {
        "SourceParentNotFoundException" => "We can't find a source root or OU with the ParentId that you specified.",
        "DestinationParentNotFoundException" => "We can't find the destination container (a root or OU) with the ParentId that you specified.",
        _ => "We can't find a root or OU with the ParentId that you specified.",
    };
    tx.get_org_object(id)
        .await?
        .filter(|r| matches!(r.kind, OrgObjectKind::Root | OrgObjectKind::Unit) && r.org_id == org.id)
        .ok_or_else(|| err(missing, what))
}

/// How many units lie between the root and `parent` inclusive (0 for the root).
async fn depth(tx: &mut Box<dyn Tx>, parent: &str) -> IamResult<usize> {
    let mut n = 0;
    let mut at = Some(parent.to_owned());
    while let Some(id) = at {
        match tx.get_org_object(&id).await? {
            Some(rec) if rec.kind == OrgObjectKind::Unit => {
                n += 1;
                at = rec.parent_id;
            }
            _ => break,
        }
        if n > MAX_UNIT_DEPTH {
            break;
        }
    }
    Ok(n)
}

/// A root, unit, account or policy of the organization, for tagging.
async fn taggable(tx: &mut Box<dyn Tx>, org: &Org, id: &str) -> IamResult<OrgObjectRecord> {
    tx.get_org_object(id)
        .await?
        .filter(|r| r.org_id == org.id && matches!(r.kind, OrgObjectKind::Root | OrgObjectKind::Unit | OrgObjectKind::Account | OrgObjectKind::Policy))
        .ok_or_else(|| err("TargetNotFoundException", "You specified a target that doesn't exist."))
}
