//! Organization policies (service control policies and the other types): creating,
//! changing and deleting them, attaching them to the root, units and accounts, and which
//! types are enabled at the root.

use portcullis_store::{OrgLinkKind, OrgLinkRecord, OrgObjectKind, OrgObjectRecord, Tag, Tx};
use serde::Serialize;

use super::handshakes::readable_org;
use super::structure::attach_full_access;
use super::*;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicySummaryView {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub description: String,
    #[serde(rename = "Type")]
    pub kind: String,
    pub aws_managed: bool,
}

/// A policy with its content (DescribePolicy, CreatePolicy, UpdatePolicy).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyView {
    pub policy_summary: PolicySummaryView,
    pub content: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyTargetView {
    pub target_id: String,
    pub arn: String,
    pub name: String,
    #[serde(rename = "Type")]
    pub kind: &'static str,
}

/// The most policies of one type attached to one target.
const MAX_ATTACHED: usize = 5;
/// The longest policy document (bytes; whitespace counts).
const MAX_CONTENT: usize = 5120;
const MAX_POLICIES: usize = 1000;

fn full_access_view() -> PolicyView {
    PolicyView {
        policy_summary: PolicySummaryView {
            id: FULL_AWS_ACCESS_ID.to_owned(),
            arn: FULL_AWS_ACCESS_ARN.to_owned(),
            name: "FullAWSAccess".to_owned(),
            description: "Allows access to every operation".to_owned(),
            kind: SCP.to_owned(),
            aws_managed: true,
        },
        content: FULL_AWS_ACCESS_CONTENT.to_owned(),
    }
}

fn policy_view(org: &Org, rec: &OrgObjectRecord) -> IamResult<PolicyView> {
    let body: ObjectBody = body_of(rec)?;
    Ok(PolicyView {
        policy_summary: PolicySummaryView {
            arn: org.policy_arn(&body.policy_type, &rec.object_id),
            id: rec.object_id.clone(),
            name: body.name,
            description: body.description,
            kind: body.policy_type,
            aws_managed: false,
        },
        content: body.content,
    })
}

fn policy_key(policy_type: &str, name: &str) -> String {
    format!("{policy_type}/{name}")
}

fn policy_not_found() -> IamError {
    err("PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified.")
}

fn target_not_found() -> IamError {
    err("TargetNotFoundException", "You specified a target that doesn't exist.")
}

/// A policy's content as Organizations checks it: at most 5,120 characters, and for
/// service and resource control policies, the IAM policy language as those policies allow it.
fn check_content(policy_type: &str, content: &str) -> IamResult<()> {
    if content.len() > MAX_CONTENT {
        return Err(constraint("POLICY_CONTENT_LIMIT_EXCEEDED", "You have exceeded the maximum policy size."));
    }
    let malformed = || err("MalformedPolicyDocumentException", "The provided policy document does not meet the requirements of the specified policy type.");
    match policy_type {
        "SERVICE_CONTROL_POLICY" => {
            portcullis_policy::parse(content, PolicyKind::Scp).map_err(|_| malformed())?;
        }
        // A resource control policy is written like a resource-based policy (with `Principal`).
        "RESOURCE_CONTROL_POLICY" => {
            portcullis_policy::parse(content, PolicyKind::Resource).map_err(|_| malformed())?;
        }
        _ => {
            serde_json::from_str::<serde_json::Value>(content).ok().filter(serde_json::Value::is_object).ok_or_else(malformed)?;
        }
    }
    Ok(())
}

impl Iam {
    pub async fn create_org_policy(&self, auth: &Authorized<'_>, name: &str, description: &str, policy_type: &str, content: &str, tags: &[Tag]) -> IamResult<PolicyView> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        check_content(policy_type, content)?;
        let tags = checked_tags(&[], tags)?;
        if tx.org_objects(&org.id, OrgObjectKind::Policy, None).await?.len() >= MAX_POLICIES {
            return Err(constraint("POLICY_NUMBER_LIMIT_EXCEEDED", "You attempted to exceed the number of policies of a certain type that you can have in an organization."));
        }
        let rec = OrgObjectRecord {
            object_id: new_id("p-", 10)?,
            org_id: org.id.clone(),
            kind: OrgObjectKind::Policy,
            parent_id: None,
            unique_key: Some(policy_key(policy_type, name)),
            created_at: self.now(),
            body: to_body(&ObjectBody {
                name: name.to_owned(),
                description: description.to_owned(),
                policy_type: policy_type.to_owned(),
                content: content.to_owned(),
                tags,
                ..Default::default()
            })?,
        };
        tx.insert_org_object(&rec).await.map_err(|e| match e {
            portcullis_store::StoreError::Conflict(_) => duplicate_policy(),
            other => other.into(),
        })?;
        tx.commit().await?;
        policy_view(&org, &rec)
    }

    pub async fn describe_org_policy(&self, auth: &Authorized<'_>, policy_id: &str) -> IamResult<PolicyView> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        if policy_id == FULL_AWS_ACCESS_ID {
            return Ok(full_access_view());
        }
        policy_view(&org, &org_policy(&mut tx, &org, policy_id).await?)
    }

    pub async fn update_org_policy(&self, auth: &Authorized<'_>, policy_id: &str, name: Option<&str>, description: Option<&str>, content: Option<&str>) -> IamResult<PolicyView> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        if policy_id == FULL_AWS_ACCESS_ID {
            return Err(invalid_input("IMMUTABLE_POLICY", "You specified a policy that is managed by AWS and can't be modified."));
        }
        let mut rec = org_policy(&mut tx, &org, policy_id).await?;
        let mut body: ObjectBody = body_of(&rec)?;
        if let Some(c) = content {
            check_content(&body.policy_type, c)?;
            body.content = c.to_owned();
        }
        if let Some(n) = name {
            body.name = n.to_owned();
            rec.unique_key = Some(policy_key(&body.policy_type, n));
        }
        if let Some(d) = description {
            body.description = d.to_owned();
        }
        rec.body = to_body(&body)?;
        tx.update_org_object(&rec).await.map_err(|e| match e {
            portcullis_store::StoreError::Conflict(_) => duplicate_policy(),
            other => other.into(),
        })?;
        tx.commit().await?;
        policy_view(&org, &rec)
    }

    pub async fn delete_org_policy(&self, auth: &Authorized<'_>, policy_id: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        if policy_id == FULL_AWS_ACCESS_ID {
            return Err(invalid_input("IMMUTABLE_POLICY", "You specified a policy that is managed by AWS and can't be modified."));
        }
        let rec = org_policy(&mut tx, &org, policy_id).await?;
        if !tx.org_links(&org.id, OrgLinkKind::PolicyTarget, Some(policy_id), None).await?.is_empty() {
            return Err(err("PolicyInUseException", "The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation."));
        }
        tx.delete_org_object(&rec.object_id).await?;
        tx.commit().await.map_err(Into::into)
    }

    /// ListPolicies: the organization's policies of one type (FullAWSAccess first among SCPs).
    pub async fn list_org_policies(&self, auth: &Authorized<'_>, policy_type: &str, next: Option<&str>, max: Option<i64>) -> IamResult<OrgPage<PolicySummaryView>> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        let mut all = Vec::new();
        if policy_type == SCP {
            all.push(full_access_view().policy_summary);
        }
        for rec in tx.org_objects(&org.id, OrgObjectKind::Policy, None).await? {
            let view = policy_view(&org, &rec)?.policy_summary;
            if view.kind == policy_type {
                all.push(view);
            }
        }
        paginate(all, next, max)
    }

    pub async fn attach_org_policy(&self, auth: &Authorized<'_>, policy_id: &str, target_id: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        tx.lock(&format!("org-attachments:{}", org.id)).await?;
        let policy_type = policy_type_of(&mut tx, &org, policy_id).await?;
        target(&mut tx, &org, target_id).await?;
        if !org.body.policy_types.contains(&policy_type) {
            return Err(err("PolicyTypeNotEnabledException", "This operation can be performed only for enabled policy types."));
        }
        let attached = attached_of_type(&mut tx, &org, target_id, &policy_type).await?;
        if attached.iter().any(|p| p == policy_id) {
            return Err(err("DuplicatePolicyAttachmentException", "A policy with the specified name and type already exists."));
        }
        if attached.len() >= MAX_ATTACHED {
            return Err(constraint("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED", "You have attached the maximum number of policies to the specified target."));
        }
        let link = OrgLinkRecord { from_id: policy_id.to_owned(), to_id: target_id.to_owned(), created_at: self.now() };
        tx.insert_org_link(&org.id, OrgLinkKind::PolicyTarget, &link).await?;
        tx.commit().await.map_err(Into::into)
    }

    pub async fn detach_org_policy(&self, auth: &Authorized<'_>, policy_id: &str, target_id: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        tx.lock(&format!("org-attachments:{}", org.id)).await?;
        let policy_type = policy_type_of(&mut tx, &org, policy_id).await?;
        target(&mut tx, &org, target_id).await?;
        let attached = attached_of_type(&mut tx, &org, target_id, &policy_type).await?;
        if !attached.iter().any(|p| p == policy_id) {
            return Err(err("PolicyNotAttachedException", "The policy isn't attached to the specified target in the specified root."));
        }
        // A target keeps at least one service control policy while they are enabled.
        if policy_type == SCP && attached.len() == 1 && org.scps_enabled() {
            return Err(constraint("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED", "You cannot remove the last policy attached to the specified target. You must have at least one attached at all times."));
        }
        tx.delete_org_link(OrgLinkKind::PolicyTarget, policy_id, target_id).await?;
        tx.commit().await.map_err(Into::into)
    }

    pub async fn list_policies_for_target(&self, auth: &Authorized<'_>, target_id: &str, policy_type: &str, next: Option<&str>, max: Option<i64>) -> IamResult<OrgPage<PolicySummaryView>> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        target(&mut tx, &org, target_id).await?;
        let mut all = Vec::new();
        for link in tx.org_links(&org.id, OrgLinkKind::PolicyTarget, None, Some(target_id)).await? {
            let view = if link.from_id == FULL_AWS_ACCESS_ID {
                full_access_view().policy_summary
            } else {
                match tx.get_org_object(&link.from_id).await? {
                    Some(rec) => policy_view(&org, &rec)?.policy_summary,
                    None => continue,
                }
            };
            if view.kind == policy_type {
                all.push(view);
            }
        }
        paginate(all, next, max)
    }

    pub async fn list_targets_for_policy(&self, auth: &Authorized<'_>, policy_id: &str, next: Option<&str>, max: Option<i64>) -> IamResult<OrgPage<PolicyTargetView>> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        policy_type_of(&mut tx, &org, policy_id).await?;
        let mut all = Vec::new();
        for link in tx.org_links(&org.id, OrgLinkKind::PolicyTarget, Some(policy_id), None).await? {
            let Some(rec) = tx.get_org_object(&link.to_id).await? else { continue };
            let body: ObjectBody = body_of(&rec)?;
            let kind = match rec.kind {
                OrgObjectKind::Root => "ROOT",
                OrgObjectKind::Unit => "ORGANIZATIONAL_UNIT",
                _ => "ACCOUNT",
            };
            all.push(PolicyTargetView { arn: org.object_arn(rec.kind, &rec.object_id), target_id: rec.object_id, name: body.name, kind });
        }
        paginate(all, next, max)
    }

    /// EnablePolicyType: SCPs once enabled start with FullAWSAccess on every root, unit and
    /// account, so nothing is denied until a policy says so.
    pub async fn enable_policy_type(&self, auth: &Authorized<'_>, root_id: &str, policy_type: &str) -> IamResult<RootView> {
        let mut tx = self.store.begin().await?;
        let mut org = managed_org(&mut tx, auth).await?;
        if root_id != org.body.root_id {
            return Err(err("RootNotFoundException", "You specified a root that doesn't exist."));
        }
        if org.body.policy_types.iter().any(|t| t == policy_type) {
            return Err(err("PolicyTypeAlreadyEnabledException", "The specified policy type is already enabled."));
        }
        if org.body.feature_set != "ALL" {
            return Err(constraint("ORGANIZATION_NOT_IN_ALL_FEATURES_MODE", "You can't perform this operation because your organization doesn't have all features enabled."));
        }
        org.body.policy_types.push(policy_type.to_owned());
        save_org(&mut tx, &org).await?;
        if policy_type == SCP {
            let now = self.now();
            let mut targets = vec![org.body.root_id.clone()];
            for kind in [OrgObjectKind::Unit, OrgObjectKind::Account] {
                targets.extend(tx.org_objects(&org.id, kind, None).await?.into_iter().map(|r| r.object_id));
            }
            for t in targets {
                attach_full_access(&mut tx, &org, &t, now).await?;
            }
        }
        tx.commit().await?;
        Ok(self.root_view(&org))
    }

    /// DisablePolicyType: every policy of the type is detached from every target.
    pub async fn disable_policy_type(&self, auth: &Authorized<'_>, root_id: &str, policy_type: &str) -> IamResult<RootView> {
        let mut tx = self.store.begin().await?;
        let mut org = managed_org(&mut tx, auth).await?;
        if root_id != org.body.root_id {
            return Err(err("RootNotFoundException", "You specified a root that doesn't exist."));
        }
        if !org.body.policy_types.iter().any(|t| t == policy_type) {
            return Err(err("PolicyTypeNotEnabledException", "This operation can be performed only for enabled policy types."));
        }
        org.body.policy_types.retain(|t| t != policy_type);
        save_org(&mut tx, &org).await?;
        for link in tx.org_links(&org.id, OrgLinkKind::PolicyTarget, None, None).await? {
            let of_type = if link.from_id == FULL_AWS_ACCESS_ID {
                policy_type == SCP
            } else {
                policy_type_of(&mut tx, &org, &link.from_id).await.is_ok_and(|t| t == policy_type)
            };
            if of_type {
                tx.delete_org_link(OrgLinkKind::PolicyTarget, &link.from_id, &link.to_id).await?;
            }
        }
        tx.commit().await?;
        Ok(self.root_view(&org))
    }
}

fn duplicate_policy() -> IamError {
    err("DuplicatePolicyException", "A policy with the same name already exists.")
}

pub(super) async fn save_org(tx: &mut Box<dyn Tx>, org: &Org) -> IamResult<()> {
    let rec = OrgObjectRecord {
        object_id: org.id.clone(),
        org_id: org.id.clone(),
        kind: OrgObjectKind::Organization,
        parent_id: None,
        unique_key: None,
        created_at: org.created_at,
        body: to_body(&org.body)?,
    };
    tx.update_org_object(&rec).await.map_err(Into::into)
}

async fn org_policy(tx: &mut Box<dyn Tx>, org: &Org, policy_id: &str) -> IamResult<OrgObjectRecord> {
    tx.get_org_object(policy_id).await?.filter(|r| r.kind == OrgObjectKind::Policy && r.org_id == org.id).ok_or_else(policy_not_found)
}

async fn policy_type_of(tx: &mut Box<dyn Tx>, org: &Org, policy_id: &str) -> IamResult<String> {
    if policy_id == FULL_AWS_ACCESS_ID {
        return Ok(SCP.to_owned());
    }
    let rec = org_policy(tx, org, policy_id).await?;
    Ok(body_of::<ObjectBody>(&rec)?.policy_type)
}

/// A root, unit or account of the organization.
async fn target(tx: &mut Box<dyn Tx>, org: &Org, id: &str) -> IamResult<OrgObjectRecord> {
    tx.get_org_object(id)
        .await?
        .filter(|r| r.org_id == org.id && matches!(r.kind, OrgObjectKind::Root | OrgObjectKind::Unit | OrgObjectKind::Account))
        .ok_or_else(target_not_found)
}

/// The ids of the policies of one type attached to a target.
async fn attached_of_type(tx: &mut Box<dyn Tx>, org: &Org, target_id: &str, policy_type: &str) -> IamResult<Vec<String>> {
    let mut out = Vec::new();
    for link in tx.org_links(&org.id, OrgLinkKind::PolicyTarget, None, Some(target_id)).await? {
        if policy_type_of(tx, org, &link.from_id).await.is_ok_and(|t| t == policy_type) {
            out.push(link.from_id);
        }
    }
    Ok(out)
}
