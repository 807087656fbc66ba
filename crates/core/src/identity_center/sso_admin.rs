//! Identity Center's administration: the instance and its identity store, permission sets
//! (session duration, relay state, AWS-managed and customer-managed policies, an inline
//! policy, a permissions boundary), account assignments of users and groups, and
//! provisioning: in each account a permission set is assigned in, the SAML provider
//! `AWSSSO_<hex>_DO_NOT_DELETE` and the protected role `AWSReservedSSO_<name>_<hex>` on the
//! path `/aws-reserved/sso.amazonaws.com/` carrying the permission set's policies. The
//! role goes with the account's last assignment of the permission set.
//!
//! Assignment and provisioning requests answer `IN_PROGRESS`, as AWS's first answer does;
//! the work is done at once, and the Describe…Status operations show how it ended.

use portcullis_store::{OrgLinkKind, OrgLinkRecord, OrgObjectKind, OrgObjectRecord, PrincipalKind, RoleRecord, SamlProviderRecord, StoreError, Tag, Tx};
use serde_json::{json, Map, Value};
use sha2::Digest;

use super::*;
use crate::Iam;

/// What CreatePermissionSet and UpdatePermissionSet take.
#[derive(Debug, Clone, Default)]
pub struct PermissionSetInput<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub session_duration: Option<&'a str>,
    pub relay_state: Option<&'a str>,
    pub tags: Vec<Tag>,
}

/// What CreateAccountAssignment and DeleteAccountAssignment take.
#[derive(Debug, Clone)]
pub struct AccountAssignmentInput<'a> {
    pub instance_arn: &'a str,
    pub target_id: &'a str,
    pub permission_set_arn: &'a str,
    pub principal_type: &'a str,
    pub principal_id: &'a str,
}

const INSTANCE_ARN_PREFIX: &str = "arn:aws:sso:::instance/";
const ROLE_PATH: &str = "/aws-reserved/sso.amazonaws.com/";

/// The instance a request names, when the caller's account owns it.
struct Instance {
    id: String,
    store_id: String,
    owner: String,
    /// The organization it serves, when it is an organization instance.
    org_id: Option<String>,
}

fn instance_not_found() -> IamError {
    not_found("INSTANCE", "", "Instance does not exist")
}

fn permission_set_not_found(arn: &str) -> IamError {
    let id = arn.rsplit('/').next().unwrap_or_default();
    not_found("PERMISSION_SET", id, &format!("Could not find PermissionSet with id {id}"))
}

async fn instance(tx: &mut Box<dyn Tx>, auth: &Authorized<'_>, arn: &str) -> IamResult<Instance> {
    let id = arn.strip_prefix(INSTANCE_ARN_PREFIX).ok_or_else(instance_not_found)?;
    let rec = tx.get_org_object(id).await?.filter(|r| r.kind == OrgObjectKind::SsoInstance).ok_or_else(instance_not_found)?;
    let body = object_body(&rec)?;
    let owner = text(&body, "OwnerAccountId");
    if owner != auth.account() {
        return Err(access_denied("User is not authorized to perform this action on the instance."));
    }
    Ok(Instance {
        id: rec.object_id.clone(),
        store_id: text(&body, "IdentityStoreId"),
        owner,
        org_id: body.get("OrganizationId").and_then(Value::as_str).map(str::to_owned),
    })
}

fn permission_set_arn(instance_id: &str, ps_id: &str) -> String {
    format!("arn:aws:sso:::permissionSet/{instance_id}/{ps_id}")
}

async fn permission_set(tx: &mut Box<dyn Tx>, inst: &Instance, arn: &str) -> IamResult<OrgObjectRecord> {
    let id = arn.rsplit('/').next().unwrap_or_default();
    tx.get_org_object(id)
        .await?
        .filter(|r| r.kind == OrgObjectKind::PermissionSet && r.org_id == inst.id && permission_set_arn(&inst.id, &r.object_id) == arn)
        .ok_or_else(|| permission_set_not_found(arn))
}

/// A permission set's answer: the members DescribePermissionSet shows.
fn permission_set_view(rec: &OrgObjectRecord) -> IamResult<Value> {
    let body = object_body(rec)?;
    let mut out = Map::new();
    for k in ["Name", "PermissionSetArn", "Description", "CreatedDate", "SessionDuration", "RelayState"] {
        if let Some(v) = body.get(k) {
            out.insert(k.to_owned(), v.clone());
        }
    }
    Ok(Value::Object(out))
}

/// ISO 8601 durations of whole hours and minutes between 1 and 12 hours: seconds.
pub(super) fn session_seconds(d: &str) -> IamResult<i64> {
    let bad = || validation(format!("The session duration {d} is not valid. It must be between PT1H and PT12H."));
    let rest = d.strip_prefix("PT").ok_or_else(bad)?;
    let (mut total, mut number) = (0i64, String::new());
    for c in rest.chars() {
        match c {
            '0'..='9' if number.len() < 9 => number.push(c),
            'H' | 'M' | 'S' => {
                let n: i64 = number.parse().map_err(|_| bad())?;
                number.clear();
                let unit = match c {
                    'H' => 3600,
                    'M' => 60,
                    _ => 1,
                };
                total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
            }
            _ => return Err(bad()),
        }
    }
    if !number.is_empty() || !(3600..=43_200).contains(&total) {
        return Err(bad());
    }
    Ok(total)
}

/// The provisioned role's name suffix: stable per permission set and account.
pub(super) fn role_suffix(ps_id: &str, account: &str) -> String {
    let digest = sha2::Sha256::digest(format!("{ps_id}/{account}").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn provider_name(instance_id: &str) -> String {
    let hex: String = instance_id.trim_start_matches("ssoins-").chars().take(16).collect();
    format!("AWSSSO_{hex}_DO_NOT_DELETE")
}

fn status_view(rec: &OrgObjectRecord) -> IamResult<Value> {
    Ok(Value::Object(object_body(rec)?))
}

impl Iam {
    /// CreateInstance: in an organization's management account, the organization's instance
    /// (with trusted access for `sso.amazonaws.com`); in a standalone account, an account
    /// instance. One instance per organization or account.
    pub async fn create_sso_instance(&self, auth: &Authorized<'_>, name: Option<&str>, tags: &[Tag]) -> IamResult<Value> {
        let account = auth.account();
        let mut tx = self.store.begin().await?;
        let org = crate::org::management_org_of(&mut tx, account).await?;
        let scope = org.clone().unwrap_or_else(|| account.to_owned());
        let instance_id = format!("ssoins-{}", hex(16)?);
        let store_id = format!("d-{}", hex(10)?);
        let arn = format!("{INSTANCE_ARN_PREFIX}{instance_id}");
        let now = self.now();
        let mut body = json!({
            "InstanceArn": arn,
            "IdentityStoreId": store_id,
            "OwnerAccountId": account,
            "CreatedDate": now,
            "Status": "ACTIVE",
            "Tags": tags.iter().map(|t| json!({"Key": t.key, "Value": t.value})).collect::<Vec<_>>(),
        });
        if let Some(n) = name {
            body["Name"] = json!(n);
        }
        if let Some(o) = &org {
            body["OrganizationId"] = json!(o);
        }
        let rec = OrgObjectRecord { object_id: instance_id.clone(), org_id: scope, kind: OrgObjectKind::SsoInstance, parent_id: None, unique_key: Some("instance".to_owned()), created_at: now, body: body.to_string() };
        tx.insert_org_object(&rec).await.map_err(|e| match e {
            StoreError::Conflict(_) => conflict("", "An instance of IAM Identity Center already exists."),
            other => other.into(),
        })?;
        let store = OrgObjectRecord {
            object_id: store_id.clone(),
            org_id: store_id.clone(),
            kind: OrgObjectKind::IdentityStore,
            parent_id: Some(instance_id.clone()),
            unique_key: None,
            created_at: now,
            body: json!({"OwnerAccountId": account, "InstanceArn": arn}).to_string(),
        };
        tx.insert_org_object(&store).await?;
        if let Some(o) = &org {
            tx.insert_org_link(o, OrgLinkKind::ServiceAccess, &OrgLinkRecord { from_id: o.clone(), to_id: "sso.amazonaws.com".to_owned(), created_at: now }).await?;
        }
        tx.commit().await?;
        Ok(json!({"InstanceArn": arn}))
    }

    pub async fn describe_sso_instance(&self, auth: &Authorized<'_>, arn: &str) -> IamResult<Value> {
        let mut tx = self.store.begin_read().await?;
        let inst = instance(&mut tx, auth, arn).await?;
        let rec = tx.get_org_object(&inst.id).await?.ok_or_else(instance_not_found)?;
        let mut body = object_body(&rec)?;
        body.remove("Tags");
        body.remove("OrganizationId");
        Ok(Value::Object(body))
    }

    pub async fn list_sso_instances(&self, auth: &Authorized<'_>) -> IamResult<Vec<Value>> {
        let mut tx = self.store.begin_read().await?;
        let scope = crate::org::management_org_of(&mut tx, auth.account()).await?.unwrap_or_else(|| auth.account().to_owned());
        let mut out = Vec::new();
        for rec in tx.org_objects(&scope, OrgObjectKind::SsoInstance, None).await? {
            let mut body = object_body(&rec)?;
            if text(&body, "OwnerAccountId") == auth.account() {
                body.remove("Tags");
                body.remove("OrganizationId");
                out.push(Value::Object(body));
            }
        }
        Ok(out)
    }

    /// DeleteInstance: the instance, its identity store and everything in them.
    pub async fn delete_sso_instance(&self, auth: &Authorized<'_>, arn: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let inst = instance(&mut tx, auth, arn).await?;
        tx.delete_organization(&inst.store_id).await?;
        tx.delete_organization(&inst.id).await?;
        tx.delete_org_object(&inst.id).await?;
        if let Some(o) = &inst.org_id {
            tx.delete_org_link(OrgLinkKind::ServiceAccess, o, "sso.amazonaws.com").await?;
        }
        tx.commit().await.map_err(Into::into)
    }

    pub async fn create_permission_set(&self, auth: &Authorized<'_>, instance_arn: &str, input: &PermissionSetInput<'_>) -> IamResult<Value> {
        let mut tx = self.store.begin().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        let name = input.name.unwrap_or_default();
        let duration = input.session_duration.unwrap_or("PT1H");
        session_seconds(duration)?;
        let id = format!("ps-{}", hex(16)?);
        let arn = permission_set_arn(&inst.id, &id);
        let now = self.now();
        let mut body = json!({
            "Name": name,
            "PermissionSetArn": arn,
            "CreatedDate": now,
            "SessionDuration": duration,
            "ManagedPolicies": [],
            "CustomerManagedPolicyReferences": [],
            "Tags": input.tags.iter().map(|t| json!({"Key": t.key, "Value": t.value})).collect::<Vec<_>>(),
        });
        if let Some(d) = input.description {
            body["Description"] = json!(d);
        }
        if let Some(r) = input.relay_state {
            body["RelayState"] = json!(r);
        }
        let rec = OrgObjectRecord { object_id: id, org_id: inst.id.clone(), kind: OrgObjectKind::PermissionSet, parent_id: None, unique_key: Some(name.to_owned()), created_at: now, body: body.to_string() };
        tx.insert_org_object(&rec).await.map_err(|e| match e {
            StoreError::Conflict(_) => conflict("", &format!("PermissionSet with name {name} already exists.")),
            other => other.into(),
        })?;
        tx.commit().await?;
        permission_set_view(&rec)
    }

    pub async fn describe_permission_set(&self, auth: &Authorized<'_>, instance_arn: &str, ps_arn: &str) -> IamResult<Value> {
        let mut tx = self.store.begin_read().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        permission_set_view(&permission_set(&mut tx, &inst, ps_arn).await?)
    }

    pub async fn update_permission_set(&self, auth: &Authorized<'_>, instance_arn: &str, ps_arn: &str, input: &PermissionSetInput<'_>) -> IamResult<()> {
        self.change_permission_set(auth, instance_arn, ps_arn, |body| {
            if let Some(d) = input.session_duration {
                session_seconds(d)?;
                body.insert("SessionDuration".into(), json!(d));
            }
            if let Some(d) = input.description {
                body.insert("Description".into(), json!(d));
            }
            // An update without RelayState clears it, as on AWS.
            match input.relay_state {
                Some(r) => body.insert("RelayState".into(), json!(r)),
                None => body.remove("RelayState"),
            };
            Ok(())
        })
        .await
    }

    /// DeletePermissionSet: refused while it is provisioned to an account.
    pub async fn delete_permission_set(&self, auth: &Authorized<'_>, instance_arn: &str, ps_arn: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        let rec = permission_set(&mut tx, &inst, ps_arn).await?;
        if !self.assignments(&mut tx, &inst, None, Some(ps_arn)).await?.is_empty() {
            return Err(conflict("", "Could not delete because PermissionSet has ApplicationProfile associated with it."));
        }
        tx.delete_org_object(&rec.object_id).await?;
        tx.commit().await.map_err(Into::into)
    }

    pub async fn list_permission_sets(&self, auth: &Authorized<'_>, instance_arn: &str, next: Option<&str>, max: Option<i64>) -> IamResult<SsoPage> {
        let mut tx = self.store.begin_read().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        let all = tx.org_objects(&inst.id, OrgObjectKind::PermissionSet, None).await?.iter().map(|r| json!(permission_set_arn(&inst.id, &r.object_id))).collect();
        paginate(all, next, max, 100)
    }

    /// Changes a permission set's body with `change` (which may refuse).
    async fn change_permission_set(&self, auth: &Authorized<'_>, instance_arn: &str, ps_arn: &str, change: impl FnOnce(&mut Map<String, Value>) -> IamResult<()>) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        let mut rec = permission_set(&mut tx, &inst, ps_arn).await?;
        let mut body = object_body(&rec)?;
        change(&mut body)?;
        rec.body = Value::Object(body).to_string();
        tx.update_org_object(&rec).await?;
        tx.commit().await.map_err(Into::into)
    }

    /// A permission set's stored member (its policies, inline policy, boundary…).
    pub async fn permission_set_member(&self, auth: &Authorized<'_>, instance_arn: &str, ps_arn: &str, member: &str) -> IamResult<Option<Value>> {
        let mut tx = self.store.begin_read().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        let rec = permission_set(&mut tx, &inst, ps_arn).await?;
        Ok(object_body(&rec)?.remove(member))
    }

    pub async fn attach_managed_policy_to_permission_set(&self, auth: &Authorized<'_>, instance_arn: &str, ps_arn: &str, policy_arn: &str) -> IamResult<()> {
        let Some(p) = self.catalog().get(policy_arn) else {
            return Err(not_found("MANAGED_POLICY", policy_arn, &format!("Policy {policy_arn} does not exist.")));
        };
        let entry = json!({"Name": p.name, "Arn": p.arn});
        self.change_permission_set(auth, instance_arn, ps_arn, |body| {
            let list = body.entry("ManagedPolicies").or_insert_with(|| json!([]));
            let items = list.as_array_mut().ok_or_else(|| IamError::ServiceFailure("ManagedPolicies is not a list".to_owned()))?;
            if items.iter().any(|i| i["Arn"] == entry["Arn"]) {
                return Err(conflict("", &format!("Permission set already has managed policy {policy_arn} attached.")));
            }
            if items.len() >= 20 {
                return Err(IamError::service("ServiceQuotaExceededException", "The number of managed policies attached to the permission set exceeds the limit.", &[]));
            }
            items.push(entry);
            Ok(())
        })
        .await
    }

    pub async fn detach_managed_policy_from_permission_set(&self, auth: &Authorized<'_>, instance_arn: &str, ps_arn: &str, policy_arn: &str) -> IamResult<()> {
        self.change_permission_set(auth, instance_arn, ps_arn, |body| {
            let items = body.get_mut("ManagedPolicies").and_then(Value::as_array_mut).ok_or_else(|| not_found("MANAGED_POLICY", policy_arn, "Policy is not attached."))?;
            let before = items.len();
            items.retain(|i| i["Arn"] != json!(policy_arn));
            if items.len() == before {
                return Err(not_found("MANAGED_POLICY", policy_arn, &format!("Could not find ManagedPolicy with arn {policy_arn} attached to PermissionSet.")));
            }
            Ok(())
        })
        .await
    }

    pub async fn attach_customer_policy_reference(&self, auth: &Authorized<'_>, instance_arn: &str, ps_arn: &str, name: &str, path: Option<&str>, attach: bool) -> IamResult<()> {
        let entry = json!({"Name": name, "Path": path.unwrap_or("/")});
        self.change_permission_set(auth, instance_arn, ps_arn, |body| {
            let list = body.entry("CustomerManagedPolicyReferences").or_insert_with(|| json!([]));
            let items = list.as_array_mut().ok_or_else(|| IamError::ServiceFailure("CustomerManagedPolicyReferences is not a list".to_owned()))?;
            let present = items.contains(&entry);
            match (attach, present) {
                (true, true) => return Err(conflict("", &format!("Customer managed policy reference {name} is already attached."))),
                (false, false) => return Err(not_found("CUSTOMER_MANAGED_POLICY", name, &format!("Customer managed policy reference {name} is not attached."))),
                (true, false) => items.push(entry),
                (false, true) => items.retain(|i| *i != entry),
            }
            Ok(())
        })
        .await
    }

    /// Put/DeleteInlinePolicyToPermissionSet and Put/DeletePermissionsBoundaryToPermissionSet.
    pub async fn set_permission_set_member(&self, auth: &Authorized<'_>, instance_arn: &str, ps_arn: &str, member: &str, value: Option<Value>) -> IamResult<()> {
        if let (Some(Value::String(doc)), "InlinePolicy") = (&value, member) {
            portcullis_policy::parse(doc, portcullis_policy::PolicyKind::Identity).map_err(|e| validation(format!("The policy document is not valid: {}", e.message)))?;
        }
        self.change_permission_set(auth, instance_arn, ps_arn, |body| {
            match value {
                Some(v) => {
                    body.insert(member.to_owned(), v);
                }
                None => {
                    body.remove(member);
                }
            }
            Ok(())
        })
        .await
    }

    /// The assignments of an instance, in one account and of one permission set when given.
    async fn assignments(&self, tx: &mut Box<dyn Tx>, inst: &Instance, account: Option<&str>, ps_arn: Option<&str>) -> IamResult<Vec<Value>> {
        let mut out = Vec::new();
        for rec in tx.org_objects(&inst.id, OrgObjectKind::AccountAssignment, account).await? {
            let body = Value::Object(object_body(&rec)?);
            if ps_arn.is_none_or(|p| body["PermissionSetArn"] == json!(p)) {
                out.push(body);
            }
        }
        Ok(out)
    }

    pub async fn create_account_assignment(&self, auth: &Authorized<'_>, input: &AccountAssignmentInput<'_>) -> IamResult<Value> {
        let mut tx = self.store.begin().await?;
        let inst = instance(&mut tx, auth, input.instance_arn).await?;
        let ps = permission_set(&mut tx, &inst, input.permission_set_arn).await?;
        self.check_target_account(&mut tx, &inst, input.target_id).await?;
        let principal_kind = if input.principal_type == "USER" { OrgObjectKind::DirectoryUser } else { OrgObjectKind::DirectoryGroup };
        if tx.get_org_object(input.principal_id).await?.filter(|r| r.kind == principal_kind && r.org_id == inst.store_id).is_none() {
            return Err(not_found(input.principal_type, input.principal_id, &format!("{} not found.", input.principal_type)));
        }
        let now = self.now();
        let key = format!("{}/{}/{}/{}", input.target_id, ps.object_id, input.principal_type, input.principal_id);
        let assignment = json!({"AccountId": input.target_id, "PermissionSetArn": input.permission_set_arn, "PrincipalType": input.principal_type, "PrincipalId": input.principal_id});
        let rec = OrgObjectRecord {
            object_id: uuid::Uuid::new_v4().to_string(),
            org_id: inst.id.clone(),
            kind: OrgObjectKind::AccountAssignment,
            parent_id: Some(input.target_id.to_owned()),
            unique_key: Some(key),
            created_at: now,
            body: assignment.to_string(),
        };
        // Assigning what is already assigned succeeds again, as on AWS. (Looked up first: a
        // refused insert would end a PostgreSQL transaction.)
        let exists = tx.org_objects(&inst.id, OrgObjectKind::AccountAssignment, Some(input.target_id)).await?.iter().any(|r| r.unique_key == rec.unique_key);
        if !exists {
            tx.insert_org_object(&rec).await?;
        }
        self.provision(&mut tx, &inst, &ps, input.target_id).await?;
        let status = self.record_request(&mut tx, &inst, "assignment-creation", input, now).await?;
        tx.commit().await?;
        Ok(status)
    }

    pub async fn delete_account_assignment(&self, auth: &Authorized<'_>, input: &AccountAssignmentInput<'_>) -> IamResult<Value> {
        let mut tx = self.store.begin().await?;
        let inst = instance(&mut tx, auth, input.instance_arn).await?;
        let ps = permission_set(&mut tx, &inst, input.permission_set_arn).await?;
        let key = format!("{}/{}/{}/{}", input.target_id, ps.object_id, input.principal_type, input.principal_id);
        let existing = tx.org_objects(&inst.id, OrgObjectKind::AccountAssignment, Some(input.target_id)).await?.into_iter().find(|r| r.unique_key.as_deref() == Some(key.as_str()));
        let Some(existing) = existing else {
            return Err(not_found("ACCOUNT_ASSIGNMENT", "", "The specified account assignment does not exist."));
        };
        tx.delete_org_object(&existing.object_id).await?;
        let member = self.check_target_account(&mut tx, &inst, input.target_id).await.is_ok();
        if member && self.assignments(&mut tx, &inst, Some(input.target_id), Some(input.permission_set_arn)).await?.is_empty() {
            self.unprovision(&mut tx, &ps, input.target_id).await?;
        }
        let status = self.record_request(&mut tx, &inst, "assignment-deletion", input, self.now()).await?;
        tx.commit().await?;
        Ok(status)
    }

    /// Stores an assignment request's final status and answers its first (`IN_PROGRESS`).
    async fn record_request(&self, tx: &mut Box<dyn Tx>, inst: &Instance, kind: &str, input: &AccountAssignmentInput<'_>, now: i64) -> IamResult<Value> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let done = json!({
            "Status": "SUCCEEDED",
            "RequestId": request_id,
            "TargetId": input.target_id,
            "TargetType": "AWS_ACCOUNT",
            "PermissionSetArn": input.permission_set_arn,
            "PrincipalType": input.principal_type,
            "PrincipalId": input.principal_id,
            "CreatedDate": now,
        });
        let rec = OrgObjectRecord { object_id: request_id, org_id: inst.id.clone(), kind: OrgObjectKind::SsoRequest, parent_id: Some(kind.to_owned()), unique_key: None, created_at: now, body: done.to_string() };
        tx.insert_org_object(&rec).await?;
        let mut first = done;
        first["Status"] = json!("IN_PROGRESS");
        Ok(first)
    }

    /// Describe…Status of an assignment creation or deletion, or a provisioning request.
    pub async fn describe_sso_request(&self, auth: &Authorized<'_>, instance_arn: &str, kind: &str, request_id: &str) -> IamResult<Value> {
        let mut tx = self.store.begin_read().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        let rec = tx
            .get_org_object(request_id)
            .await?
            .filter(|r| r.kind == OrgObjectKind::SsoRequest && r.org_id == inst.id && r.parent_id.as_deref() == Some(kind))
            .ok_or_else(|| not_found("", request_id, "The specified request does not exist."))?;
        status_view(&rec)
    }

    /// List…Status: the requests of a kind, as `{Status, RequestId, CreatedDate}`.
    pub async fn list_sso_requests(&self, auth: &Authorized<'_>, instance_arn: &str, kind: &str, status: Option<&str>, next: Option<&str>, max: Option<i64>) -> IamResult<SsoPage> {
        let mut tx = self.store.begin_read().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        let mut all = Vec::new();
        for rec in tx.org_objects(&inst.id, OrgObjectKind::SsoRequest, Some(kind)).await? {
            let body = object_body(&rec)?;
            if status.is_none_or(|s| text(&body, "Status") == s) {
                all.push(json!({"Status": body["Status"], "RequestId": body["RequestId"], "CreatedDate": body["CreatedDate"]}));
            }
        }
        paginate(all, next, max, 100)
    }

    pub async fn list_account_assignments(&self, auth: &Authorized<'_>, instance_arn: &str, account: &str, ps_arn: &str, next: Option<&str>, max: Option<i64>) -> IamResult<SsoPage> {
        let mut tx = self.store.begin_read().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        permission_set(&mut tx, &inst, ps_arn).await?;
        let all = self.assignments(&mut tx, &inst, Some(account), Some(ps_arn)).await?;
        paginate(all, next, max, 100)
    }

    pub async fn list_account_assignments_for_principal(&self, auth: &Authorized<'_>, instance_arn: &str, principal_type: &str, principal_id: &str, next: Option<&str>, max: Option<i64>) -> IamResult<SsoPage> {
        let mut tx = self.store.begin_read().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        let all = self
            .assignments(&mut tx, &inst, None, None)
            .await?
            .into_iter()
            .filter(|a| a["PrincipalType"] == json!(principal_type) && a["PrincipalId"] == json!(principal_id))
            .collect();
        paginate(all, next, max, 100)
    }

    /// ProvisionPermissionSet: brings the role of a permission set up to date in one account
    /// or in every account it is provisioned to.
    pub async fn provision_permission_set(&self, auth: &Authorized<'_>, instance_arn: &str, ps_arn: &str, target_type: &str, target_id: Option<&str>) -> IamResult<Value> {
        let mut tx = self.store.begin().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        let ps = permission_set(&mut tx, &inst, ps_arn).await?;
        let accounts: Vec<String> = match (target_type, target_id) {
            ("AWS_ACCOUNT", Some(a)) => {
                self.check_target_account(&mut tx, &inst, a).await?;
                vec![a.to_owned()]
            }
            ("AWS_ACCOUNT", None) => return Err(validation("TargetId is required when TargetType is AWS_ACCOUNT.")),
            _ => self.provisioned_accounts(&mut tx, &inst, ps_arn).await?,
        };
        for a in &accounts {
            // Only accounts still in the organization (one that left keeps nothing of it).
            if self.check_target_account(&mut tx, &inst, a).await.is_ok() {
                self.provision(&mut tx, &inst, &ps, a).await?;
            }
        }
        let now = self.now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut done = json!({"Status": "SUCCEEDED", "RequestId": request_id, "PermissionSetArn": ps_arn, "CreatedDate": now});
        if let Some(a) = target_id {
            done["AccountId"] = json!(a);
        }
        let rec = OrgObjectRecord { object_id: request_id, org_id: inst.id.clone(), kind: OrgObjectKind::SsoRequest, parent_id: Some("provisioning".to_owned()), unique_key: None, created_at: now, body: done.to_string() };
        tx.insert_org_object(&rec).await?;
        tx.commit().await?;
        let mut first = done;
        first["Status"] = json!("IN_PROGRESS");
        Ok(first)
    }

    /// The accounts a permission set is assigned (so provisioned) in, in order.
    async fn provisioned_accounts(&self, tx: &mut Box<dyn Tx>, inst: &Instance, ps_arn: &str) -> IamResult<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for a in self.assignments(tx, inst, None, Some(ps_arn)).await? {
            let account = a["AccountId"].as_str().unwrap_or_default().to_owned();
            if !out.contains(&account) {
                out.push(account);
            }
        }
        Ok(out)
    }

    pub async fn list_permission_sets_provisioned_to_account(&self, auth: &Authorized<'_>, instance_arn: &str, account: &str, next: Option<&str>, max: Option<i64>) -> IamResult<SsoPage> {
        let mut tx = self.store.begin_read().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        let mut arns: Vec<Value> = Vec::new();
        for a in self.assignments(&mut tx, &inst, Some(account), None).await? {
            if !arns.contains(&a["PermissionSetArn"]) {
                arns.push(a["PermissionSetArn"].clone());
            }
        }
        paginate(arns, next, max, 100)
    }

    pub async fn list_accounts_for_provisioned_permission_set(&self, auth: &Authorized<'_>, instance_arn: &str, ps_arn: &str, next: Option<&str>, max: Option<i64>) -> IamResult<SsoPage> {
        let mut tx = self.store.begin_read().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        permission_set(&mut tx, &inst, ps_arn).await?;
        let all = self.provisioned_accounts(&mut tx, &inst, ps_arn).await?.into_iter().map(Value::String).collect();
        paginate(all, next, max, 100)
    }

    /// An account assignments may target: the instance's own account, or for an
    /// organization instance any account of the organization.
    async fn check_target_account(&self, tx: &mut Box<dyn Tx>, inst: &Instance, account: &str) -> IamResult<()> {
        // An active member (a closed account takes no more assignments).
        let ok = account == inst.owner || match &inst.org_id {
            Some(org) => tx
                .get_org_object(account)
                .await?
                .is_some_and(|m| m.kind == OrgObjectKind::Account && &m.org_id == org && serde_json::from_str::<Value>(&m.body).is_ok_and(|b| b["status"] != "SUSPENDED")),
            None => false,
        };
        if !ok {
            return Err(validation(format!("The account {account} is not part of the organization of this instance.")));
        }
        Ok(())
    }

    /// Makes (or brings up to date) a permission set's SAML provider and role in an account.
    async fn provision(&self, tx: &mut Box<dyn Tx>, inst: &Instance, ps: &OrgObjectRecord, account: &str) -> IamResult<()> {
        let body = object_body(ps)?;
        let now = self.now();
        let provider = provider_name(&inst.id);
        let provider_arn = crate::iam_resource_arn(account, &format!("saml-provider/{provider}"));
        if tx.get_saml_provider(&provider_arn).await?.is_none() {
            let metadata = format!(
                "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"https://portal.sso.us-east-1.amazonaws.com/saml/assertion/{}\"><md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"/></md:EntityDescriptor>",
                inst.id
            );
            tx.insert_saml_provider(&SamlProviderRecord {
                arn: provider_arn.clone(),
                account_id: account.to_owned(),
                name: provider,
                uuid: uuid::Uuid::new_v4().to_string(),
                metadata,
                valid_until: now + 100 * 365 * 86_400,
                created_at: now,
                assertion_encryption_mode: None,
                private_keys: Vec::new(),
            })
            .await?;
        }
        let name = text(&body, "Name");
        let role_name = format!("AWSReservedSSO_{name}_{}", role_suffix(&ps.object_id, account));
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
            }]
        })
        .to_string();
        // AWS gives these roles 12 hours; the permission set's duration applies when the
        // access portal issues credentials.
        let duration = 43_200;
        let description = text(&body, "Description");
        let boundary = body.get("PermissionsBoundary").and_then(|b| {
            b.get("ManagedPolicyArn").and_then(Value::as_str).map(str::to_owned).or_else(|| {
                b.get("CustomerManagedPolicyReference").map(|r| crate::iam_arn(account, "policy", r.get("Path").and_then(Value::as_str).unwrap_or("/"), r.get("Name").and_then(Value::as_str).unwrap_or_default()))
            })
        });
        let role = match tx.get_role(account, &role_name).await? {
            Some(mut role) => {
                role.assume_role_policy = trust;
                role.max_session_duration = duration;
                role.description = Some(description);
                role.permissions_boundary = boundary;
                tx.update_role(&role).await?;
                role
            }
            None => {
                let role = RoleRecord {
                    account_id: account.to_owned(),
                    role_id: portcullis_credentials::new_unique_id("AROA")?,
                    name: role_name,
                    path: ROLE_PATH.to_owned(),
                    created_at: now,
                    assume_role_policy: trust,
                    description: Some(description),
                    max_session_duration: duration,
                    permissions_boundary: boundary,
                    last_used_at: None,
                    last_used_region: None,
                };
                tx.insert_role(&role).await?;
                role
            }
        };
        // Managed policies: exactly the permission set's (AWS-managed and customer-managed).
        let mut wanted: Vec<String> = body.get("ManagedPolicies").and_then(Value::as_array).map(|a| a.iter().filter_map(|p| p["Arn"].as_str().map(str::to_owned)).collect()).unwrap_or_default();
        for r in body.get("CustomerManagedPolicyReferences").and_then(Value::as_array).cloned().unwrap_or_default() {
            let arn = crate::iam_arn(account, "policy", r["Path"].as_str().unwrap_or("/"), r["Name"].as_str().unwrap_or_default());
            if tx.get_policy(&arn).await?.is_some() {
                wanted.push(arn);
            }
        }
        for arn in tx.attached_policies(PrincipalKind::Role, &role.role_id).await? {
            if !wanted.contains(&arn) {
                tx.detach_policy(PrincipalKind::Role, &role.role_id, &arn).await?;
            }
        }
        for arn in &wanted {
            tx.attach_policy(account, PrincipalKind::Role, &role.role_id, arn, now).await?;
        }
        match body.get("InlinePolicy").and_then(Value::as_str) {
            Some(doc) => tx.put_inline_policy(PrincipalKind::Role, &role.role_id, "AwsSSOInlinePolicy", doc).await?,
            None => {
                tx.delete_inline_policy(PrincipalKind::Role, &role.role_id, "AwsSSOInlinePolicy").await?;
            }
        }
        Ok(())
    }

    /// Removes a permission set's role from an account (its last assignment there is gone).
    async fn unprovision(&self, tx: &mut Box<dyn Tx>, ps: &OrgObjectRecord, account: &str) -> IamResult<()> {
        let name = text(&object_body(ps)?, "Name");
        let role_name = format!("AWSReservedSSO_{name}_{}", role_suffix(&ps.object_id, account));
        if let Some(role) = tx.get_role(account, &role_name).await? {
            delete_role_with_policies(tx, &role).await?;
        }
        Ok(())
    }

    /// An account leaves its organization: the organization's Identity Center forgets its
    /// assignments, and the reserved roles and the SAML provider it made there go (nothing
    /// of the organization stays behind that the account could not remove itself).
    pub(crate) async fn forget_sso_account(&self, tx: &mut Box<dyn Tx>, org_id: &str, account: &str) -> IamResult<()> {
        for inst in tx.org_objects(org_id, OrgObjectKind::SsoInstance, None).await? {
            for a in tx.org_objects(&inst.object_id, OrgObjectKind::AccountAssignment, Some(account)).await? {
                tx.delete_org_object(&a.object_id).await?;
            }
            let provider = crate::iam_resource_arn(account, &format!("saml-provider/{}", provider_name(&inst.object_id)));
            if tx.get_saml_provider(&provider).await?.is_some() {
                tx.delete_saml_provider(&provider).await?;
            }
        }
        let page = portcullis_store::PageQuery { path_prefix: Some(ROLE_PATH), after: None, limit: 10_000 };
        for role in tx.list_roles(account, &page).await? {
            delete_role_with_policies(tx, &role).await?;
        }
        Ok(())
    }
}

/// Deletes a provisioned role with its managed and inline policies.
async fn delete_role_with_policies(tx: &mut Box<dyn Tx>, role: &RoleRecord) -> IamResult<()> {
    for arn in tx.attached_policies(PrincipalKind::Role, &role.role_id).await? {
        tx.detach_policy(PrincipalKind::Role, &role.role_id, &arn).await?;
    }
    for n in tx.inline_policy_names(PrincipalKind::Role, &role.role_id).await? {
        tx.delete_inline_policy(PrincipalKind::Role, &role.role_id, &n).await?;
    }
    tx.delete_role(&role.role_id).await.map_err(Into::into)
}

impl Iam {
    /// TagResource, UntagResource: the tags of an instance or a permission set.
    pub async fn tag_sso_resource(&self, auth: &Authorized<'_>, instance_arn: &str, resource_arn: &str, add: &[Tag], remove: &[String]) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        let mut rec = sso_resource(&mut tx, &inst, instance_arn, resource_arn).await?;
        let mut body = object_body(&rec)?;
        let mut tags: Vec<Value> = body.get("Tags").and_then(Value::as_array).cloned().unwrap_or_default();
        for t in add {
            tags.retain(|x| x["Key"] != json!(t.key));
            tags.push(json!({"Key": t.key, "Value": t.value}));
        }
        tags.retain(|x| !remove.iter().any(|k| x["Key"] == json!(k)));
        if tags.len() > 50 {
            return Err(IamError::service("ServiceQuotaExceededException", "The number of tags on the resource exceeds the limit.", &[]));
        }
        body.insert("Tags".into(), Value::Array(tags));
        rec.body = Value::Object(body).to_string();
        tx.update_org_object(&rec).await?;
        tx.commit().await.map_err(Into::into)
    }

    /// ListTagsForResource.
    pub async fn list_sso_resource_tags(&self, auth: &Authorized<'_>, instance_arn: &str, resource_arn: &str, next: Option<&str>) -> IamResult<SsoPage> {
        let mut tx = self.store.begin_read().await?;
        let inst = instance(&mut tx, auth, instance_arn).await?;
        let rec = sso_resource(&mut tx, &inst, instance_arn, resource_arn).await?;
        let tags = object_body(&rec)?.get("Tags").and_then(Value::as_array).cloned().unwrap_or_default();
        paginate(tags, next, None, 100)
    }
}

/// The instance itself or one of its permission sets, by ARN.
async fn sso_resource(tx: &mut Box<dyn Tx>, inst: &Instance, instance_arn: &str, resource_arn: &str) -> IamResult<OrgObjectRecord> {
    if resource_arn == instance_arn {
        return tx.get_org_object(&inst.id).await?.ok_or_else(instance_not_found);
    }
    permission_set(tx, inst, resource_arn).await
}
