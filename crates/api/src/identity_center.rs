//! Identity Store and IAM Identity Center administration (sso-admin) operations: decode the
//! JSON input (already checked against the model), authorize, call the domain, answer in
//! AWS's JSON.

use portcullis_core::{AccountAssignmentInput, Authorized, DirectoryEntity, Caller, Iam, IamError, IamResult, IdentityStoreOperation as IdOp, PermissionSetInput, SsoAdminOperation as AdminOp, SsoPage};
use portcullis_core::views::Tag;
use serde_json::{json, Value};

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn req<'a>(v: &'a Value, k: &str) -> IamResult<&'a str> {
    s(v, k).ok_or_else(|| IamError::service("ValidationException", format!("1 validation error detected: Value null at '{k}' failed to satisfy constraint: Member must not be null"), &[]))
}

fn max(v: &Value) -> Option<i64> {
    v.get("MaxResults").and_then(Value::as_i64)
}

fn tags(v: &Value) -> Vec<Tag> {
    v.get("Tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|t| Tag { key: s(t, "Key").unwrap_or_default().to_owned(), value: s(t, "Value").unwrap_or_default().to_owned() }).collect())
        .unwrap_or_default()
}

/// `{KEY: [...], "NextToken": …}`; the list is left out when empty if `omit_empty`.
fn page(key: &str, p: SsoPage, omit_empty: bool) -> Value {
    let mut out = json!({});
    if !(omit_empty && p.items.is_empty()) {
        out[key] = Value::Array(p.items);
    }
    if let Some(t) = p.next_token {
        out["NextToken"] = Value::String(t);
    }
    out
}

fn filters(v: &Value) -> Vec<(String, String)> {
    v.get("Filters")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|f| (s(f, "AttributePath").unwrap_or_default().to_owned(), s(f, "AttributeValue").unwrap_or_default().to_owned())).collect())
        .unwrap_or_default()
}

fn member_user(v: &Value) -> IamResult<&str> {
    v.get("MemberId").and_then(|m| m.get("UserId")).and_then(Value::as_str).ok_or_else(|| IamError::service("ValidationException", "MemberId must name a UserId.", &[]))
}

pub async fn dispatch_identity_store(iam: &Iam, caller: &Caller, op: IdOp, input: &Value) -> IamResult<Value> {
    let spec = op.spec();
    let auth = iam.authorize_operation(caller, &spec, &crate::json_protocol::flat_params(input)).await?;
    run_identity_store(iam, &auth, op, input).await
}

async fn run_identity_store(iam: &Iam, auth: &Authorized<'_>, op: IdOp, v: &Value) -> IamResult<Value> {
    let store = req(v, "IdentityStoreId")?;
    let next = s(v, "NextToken");
    Ok(match op {
        IdOp::CreateUser => iam.create_directory_user(auth, store, v).await?,
        IdOp::DescribeUser => iam.describe_directory_user(auth, store, req(v, "UserId")?).await?,
        IdOp::ListUsers => page("Users", iam.list_directory_users(auth, store, &filters(v), next, max(v)).await?, false),
        IdOp::UpdateUser => {
            let ops = v.get("Operations").and_then(Value::as_array).cloned().unwrap_or_default();
            iam.update_directory_object(auth, store, DirectoryEntity::User, req(v, "UserId")?, &ops).await?;
            json!({})
        }
        IdOp::DeleteUser => {
            iam.delete_directory_object(auth, store, DirectoryEntity::User, req(v, "UserId")?).await?;
            json!({})
        }
        IdOp::GetUserId => iam.directory_user_id(auth, store, v.get("AlternateIdentifier").unwrap_or(&Value::Null)).await?,
        IdOp::CreateGroup => iam.create_directory_group(auth, store, s(v, "DisplayName"), s(v, "Description")).await?,
        IdOp::DescribeGroup => iam.describe_directory_group(auth, store, req(v, "GroupId")?).await?,
        IdOp::ListGroups => page("Groups", iam.list_directory_groups(auth, store, &filters(v), next, max(v)).await?, false),
        IdOp::UpdateGroup => {
            let ops = v.get("Operations").and_then(Value::as_array).cloned().unwrap_or_default();
            iam.update_directory_object(auth, store, DirectoryEntity::Group, req(v, "GroupId")?, &ops).await?;
            json!({})
        }
        IdOp::DeleteGroup => {
            iam.delete_directory_object(auth, store, DirectoryEntity::Group, req(v, "GroupId")?).await?;
            json!({})
        }
        IdOp::GetGroupId => iam.directory_group_id(auth, store, v.get("AlternateIdentifier").unwrap_or(&Value::Null)).await?,
        IdOp::CreateGroupMembership => iam.create_group_membership(auth, store, req(v, "GroupId")?, member_user(v)?).await?,
        IdOp::DescribeGroupMembership => iam.describe_group_membership(auth, store, req(v, "MembershipId")?).await?,
        IdOp::DeleteGroupMembership => {
            iam.delete_group_membership(auth, store, req(v, "MembershipId")?).await?;
            json!({})
        }
        IdOp::ListGroupMemberships => page("GroupMemberships", iam.list_group_memberships(auth, store, Some(req(v, "GroupId")?), None, next, max(v)).await?, false),
        IdOp::ListGroupMembershipsForMember => page("GroupMemberships", iam.list_group_memberships(auth, store, None, Some(member_user(v)?), next, max(v)).await?, false),
        IdOp::GetGroupMembershipId => iam.group_membership_id(auth, store, req(v, "GroupId")?, member_user(v)?).await?,
        IdOp::IsMemberInGroups => {
            let groups: Vec<String> = v.get("GroupIds").and_then(Value::as_array).map(|a| a.iter().filter_map(|g| g.as_str().map(str::to_owned)).collect()).unwrap_or_default();
            iam.is_member_in_groups(auth, store, member_user(v)?, &groups).await?
        }
    })
}

pub async fn dispatch_sso_admin(iam: &Iam, caller: &Caller, op: AdminOp, input: &Value) -> IamResult<Value> {
    let spec = op.spec();
    let auth = iam.authorize_operation(caller, &spec, &crate::json_protocol::flat_params(input)).await?;
    let out = run_sso_admin(iam, &auth, op, input).await;
    if out.is_ok() && spec.writes {
        iam.invalidate_authorization_cache();
    }
    out
}

/// The instance a tagging call is about: `InstanceArn`, else the one its `ResourceArn` names.
fn instance_of(v: &Value) -> IamResult<String> {
    if let Some(i) = s(v, "InstanceArn") {
        return Ok(i.to_owned());
    }
    let resource = req(v, "ResourceArn")?;
    Ok(match resource.strip_prefix("arn:aws:sso:::permissionSet/").and_then(|r| r.split('/').next()) {
        Some(instance) => format!("arn:aws:sso:::instance/{instance}"),
        None => resource.to_owned(),
    })
}

fn permission_set_input(v: &Value) -> PermissionSetInput<'_> {
    PermissionSetInput { name: s(v, "Name"), description: s(v, "Description"), session_duration: s(v, "SessionDuration"), relay_state: s(v, "RelayState"), tags: tags(v) }
}

fn assignment_input(v: &Value) -> IamResult<AccountAssignmentInput<'_>> {
    Ok(AccountAssignmentInput {
        instance_arn: req(v, "InstanceArn")?,
        target_id: req(v, "TargetId")?,
        permission_set_arn: req(v, "PermissionSetArn")?,
        principal_type: req(v, "PrincipalType")?,
        principal_id: req(v, "PrincipalId")?,
    })
}

async fn run_sso_admin(iam: &Iam, auth: &Authorized<'_>, op: AdminOp, v: &Value) -> IamResult<Value> {
    let next = s(v, "NextToken");
    let empty = json!({});
    Ok(match op {
        AdminOp::CreateInstance => iam.create_sso_instance(auth, s(v, "Name"), &tags(v)).await?,
        AdminOp::DescribeInstance => iam.describe_sso_instance(auth, req(v, "InstanceArn")?).await?,
        AdminOp::ListInstances => json!({"Instances": iam.list_sso_instances(auth).await?}),
        AdminOp::DeleteInstance => {
            iam.delete_sso_instance(auth, req(v, "InstanceArn")?).await?;
            empty
        }
        AdminOp::CreatePermissionSet => json!({"PermissionSet": iam.create_permission_set(auth, req(v, "InstanceArn")?, &permission_set_input(v)).await?}),
        AdminOp::DescribePermissionSet => json!({"PermissionSet": iam.describe_permission_set(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?).await?}),
        AdminOp::UpdatePermissionSet => {
            iam.update_permission_set(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, &permission_set_input(v)).await?;
            empty
        }
        AdminOp::DeletePermissionSet => {
            iam.delete_permission_set(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?).await?;
            empty
        }
        AdminOp::ListPermissionSets => page("PermissionSets", iam.list_permission_sets(auth, req(v, "InstanceArn")?, next, max(v)).await?, false),
        AdminOp::AttachManagedPolicyToPermissionSet => {
            iam.attach_managed_policy_to_permission_set(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, req(v, "ManagedPolicyArn")?).await?;
            empty
        }
        AdminOp::DetachManagedPolicyFromPermissionSet => {
            iam.detach_managed_policy_from_permission_set(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, req(v, "ManagedPolicyArn")?).await?;
            empty
        }
        AdminOp::ListManagedPoliciesInPermissionSet => {
            let list = iam.permission_set_member(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, "ManagedPolicies").await?.unwrap_or_else(|| json!([]));
            json!({"AttachedManagedPolicies": list})
        }
        AdminOp::AttachCustomerManagedPolicyReferenceToPermissionSet | AdminOp::DetachCustomerManagedPolicyReferenceFromPermissionSet => {
            let reference = v.get("CustomerManagedPolicyReference").cloned().unwrap_or_default();
            let attach = op == AdminOp::AttachCustomerManagedPolicyReferenceToPermissionSet;
            iam.attach_customer_policy_reference(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, s(&reference, "Name").unwrap_or_default(), s(&reference, "Path"), attach).await?;
            empty
        }
        AdminOp::ListCustomerManagedPolicyReferencesInPermissionSet => {
            let list = iam.permission_set_member(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, "CustomerManagedPolicyReferences").await?.unwrap_or_else(|| json!([]));
            json!({"CustomerManagedPolicyReferences": list})
        }
        AdminOp::PutInlinePolicyToPermissionSet => {
            iam.set_permission_set_member(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, "InlinePolicy", Some(json!(req(v, "InlinePolicy")?))).await?;
            empty
        }
        AdminOp::GetInlinePolicyForPermissionSet => {
            let doc = iam.permission_set_member(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, "InlinePolicy").await?;
            json!({"InlinePolicy": doc.unwrap_or_else(|| json!(""))})
        }
        AdminOp::DeleteInlinePolicyFromPermissionSet => {
            iam.set_permission_set_member(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, "InlinePolicy", None).await?;
            empty
        }
        AdminOp::PutPermissionsBoundaryToPermissionSet => {
            iam.set_permission_set_member(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, "PermissionsBoundary", v.get("PermissionsBoundary").cloned()).await?;
            empty
        }
        AdminOp::GetPermissionsBoundaryForPermissionSet => {
            let b = iam.permission_set_member(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, "PermissionsBoundary").await?;
            let b = b.ok_or_else(|| IamError::service("ResourceNotFoundException", "Could not find PermissionsBoundary for the PermissionSet.", &[]))?;
            json!({"PermissionsBoundary": b})
        }
        AdminOp::DeletePermissionsBoundaryFromPermissionSet => {
            iam.set_permission_set_member(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, "PermissionsBoundary", None).await?;
            empty
        }
        AdminOp::CreateAccountAssignment => json!({"AccountAssignmentCreationStatus": iam.create_account_assignment(auth, &assignment_input(v)?).await?}),
        AdminOp::DeleteAccountAssignment => json!({"AccountAssignmentDeletionStatus": iam.delete_account_assignment(auth, &assignment_input(v)?).await?}),
        AdminOp::DescribeAccountAssignmentCreationStatus => {
            let st = iam.describe_sso_request(auth, req(v, "InstanceArn")?, "assignment-creation", req(v, "AccountAssignmentCreationRequestId")?).await?;
            json!({"AccountAssignmentCreationStatus": st})
        }
        AdminOp::DescribeAccountAssignmentDeletionStatus => {
            let st = iam.describe_sso_request(auth, req(v, "InstanceArn")?, "assignment-deletion", req(v, "AccountAssignmentDeletionRequestId")?).await?;
            json!({"AccountAssignmentDeletionStatus": st})
        }
        AdminOp::ListAccountAssignmentCreationStatus => {
            let status = v.get("Filter").and_then(|f| s(f, "Status"));
            page("AccountAssignmentsCreationStatus", iam.list_sso_requests(auth, req(v, "InstanceArn")?, "assignment-creation", status, next, max(v)).await?, false)
        }
        AdminOp::ListAccountAssignmentDeletionStatus => {
            let status = v.get("Filter").and_then(|f| s(f, "Status"));
            page("AccountAssignmentsDeletionStatus", iam.list_sso_requests(auth, req(v, "InstanceArn")?, "assignment-deletion", status, next, max(v)).await?, false)
        }
        AdminOp::ListAccountAssignments => {
            page("AccountAssignments", iam.list_account_assignments(auth, req(v, "InstanceArn")?, req(v, "AccountId")?, req(v, "PermissionSetArn")?, next, max(v)).await?, false)
        }
        AdminOp::ListAccountAssignmentsForPrincipal => {
            let p = iam.list_account_assignments_for_principal(auth, req(v, "InstanceArn")?, req(v, "PrincipalType")?, req(v, "PrincipalId")?, next, max(v)).await?;
            page("AccountAssignments", p, false)
        }
        AdminOp::ProvisionPermissionSet => {
            let st = iam.provision_permission_set(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, req(v, "TargetType")?, s(v, "TargetId")).await?;
            json!({"PermissionSetProvisioningStatus": st})
        }
        AdminOp::DescribePermissionSetProvisioningStatus => {
            let st = iam.describe_sso_request(auth, req(v, "InstanceArn")?, "provisioning", req(v, "ProvisionPermissionSetRequestId")?).await?;
            json!({"PermissionSetProvisioningStatus": st})
        }
        AdminOp::ListPermissionSetProvisioningStatus => {
            let status = v.get("Filter").and_then(|f| s(f, "Status"));
            page("PermissionSetsProvisioningStatus", iam.list_sso_requests(auth, req(v, "InstanceArn")?, "provisioning", status, next, max(v)).await?, false)
        }
        AdminOp::ListPermissionSetsProvisionedToAccount => {
            // AWS leaves the list out when there is none.
            page("PermissionSets", iam.list_permission_sets_provisioned_to_account(auth, req(v, "InstanceArn")?, req(v, "AccountId")?, next, max(v)).await?, true)
        }
        AdminOp::TagResource => {
            iam.tag_sso_resource(auth, &instance_of(v)?, req(v, "ResourceArn")?, &tags(v), &[]).await?;
            empty
        }
        AdminOp::UntagResource => {
            let keys: Vec<String> = v.get("TagKeys").and_then(Value::as_array).map(|a| a.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect()).unwrap_or_default();
            iam.tag_sso_resource(auth, &instance_of(v)?, req(v, "ResourceArn")?, &[], &keys).await?;
            empty
        }
        AdminOp::ListTagsForResource => page("Tags", iam.list_sso_resource_tags(auth, &instance_of(v)?, req(v, "ResourceArn")?, next).await?, false),
        AdminOp::ListAccountsForProvisionedPermissionSet => {
            page("AccountIds", iam.list_accounts_for_provisioned_permission_set(auth, req(v, "InstanceArn")?, req(v, "PermissionSetArn")?, next, max(v)).await?, false)
        }
    })
}
