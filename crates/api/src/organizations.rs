//! AWS Organizations operations: decode the JSON input (already checked against the
//! model), authorize, call the domain, encode the views as AWS's JSON.

use portcullis_core::{Authorized, Caller, CreateAccountInput, Iam, IamError, IamResult, OrgPage, OrganizationsOperation as Op};
use portcullis_core::views::Tag;
use serde::Serialize;
use serde_json::{json, Value};

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn req<'a>(v: &'a Value, k: &str) -> IamResult<&'a str> {
    // The model check guarantees required members; this guards against model drift.
    s(v, k).ok_or_else(|| IamError::service("InvalidInputException", "You must include a value for all required parameters.", &[("Reason", "INPUT_REQUIRED")]))
}

fn max(v: &Value) -> Option<i64> {
    v.get("MaxResults").and_then(Value::as_i64)
}

fn tags(v: &Value, k: &str) -> Vec<Tag> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|t| Tag { key: s(t, "Key").unwrap_or_default().to_owned(), value: s(t, "Value").unwrap_or_default().to_owned() }).collect())
        .unwrap_or_default()
}

fn strings(v: &Value, k: &str) -> Vec<String> {
    v.get(k).and_then(Value::as_array).map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

fn to_value<T: Serialize>(t: &T) -> IamResult<Value> {
    serde_json::to_value(t).map_err(|e| IamError::ServiceFailure(e.to_string()))
}

/// `{KEY: [...], "NextToken": …}`.
fn page<T: Serialize>(key: &str, p: &OrgPage<T>) -> IamResult<Value> {
    let mut out = json!({ key: to_value(&p.items)? });
    if let Some(t) = &p.next_token {
        out["NextToken"] = Value::String(t.clone());
    }
    Ok(out)
}

fn tag_values(tags: &[Tag]) -> Value {
    Value::Array(tags.iter().map(|t| json!({"Key": t.key, "Value": t.value})).collect())
}

pub async fn dispatch(iam: &Iam, caller: &Caller, op: Op, input: &Value) -> IamResult<Value> {
    let spec = op.spec();
    let auth = iam.authorize_operation(caller, &spec, &crate::json_protocol::flat_params(input)).await?;
    let out = run(iam, &auth, op, input).await;
    if out.is_ok() && spec.writes {
        iam.invalidate_authorization_cache();
    }
    out
}

async fn run(iam: &Iam, auth: &Authorized<'_>, op: Op, v: &Value) -> IamResult<Value> {
    let next = s(v, "NextToken");
    Ok(match op {
        Op::CreateOrganization => json!({"Organization": to_value(&iam.create_organization(auth, s(v, "FeatureSet")).await?)?}),
        Op::DescribeOrganization => json!({"Organization": to_value(&iam.describe_organization(auth).await?)?}),
        Op::DeleteOrganization => {
            iam.delete_organization(auth).await?;
            json!({})
        }
        Op::ListRoots => json!({"Roots": to_value(&iam.list_roots(auth).await?)?}),
        Op::CreateAccount => {
            let input = CreateAccountInput { email: req(v, "Email")?, account_name: req(v, "AccountName")?, role_name: s(v, "RoleName"), tags: &tags(v, "Tags") };
            json!({"CreateAccountStatus": to_value(&iam.create_account(auth, &input).await?)?})
        }
        Op::DescribeCreateAccountStatus => {
            json!({"CreateAccountStatus": to_value(&iam.describe_create_account_status(auth, req(v, "CreateAccountRequestId")?).await?)?})
        }
        Op::ListCreateAccountStatus => page("CreateAccountStatuses", &iam.list_create_account_status(auth, &strings(v, "States"), next, max(v)).await?)?,
        Op::DescribeAccount => json!({"Account": to_value(&iam.describe_account(auth, req(v, "AccountId")?).await?)?}),
        Op::ListAccounts => page("Accounts", &iam.list_accounts(auth, None, next, max(v)).await?)?,
        Op::ListAccountsForParent => page("Accounts", &iam.list_accounts(auth, Some(req(v, "ParentId")?), next, max(v)).await?)?,
        Op::MoveAccount => {
            iam.move_account(auth, req(v, "AccountId")?, req(v, "SourceParentId")?, req(v, "DestinationParentId")?).await?;
            json!({})
        }
        Op::RemoveAccountFromOrganization => {
            iam.remove_account_from_organization(auth, req(v, "AccountId")?).await?;
            json!({})
        }
        Op::CloseAccount => {
            iam.close_account(auth, req(v, "AccountId")?).await?;
            json!({})
        }
        Op::CreateOrganizationalUnit => {
            let unit = iam.create_organizational_unit(auth, req(v, "ParentId")?, req(v, "Name")?, &tags(v, "Tags")).await?;
            json!({"OrganizationalUnit": to_value(&unit)?})
        }
        Op::DescribeOrganizationalUnit => {
            json!({"OrganizationalUnit": to_value(&iam.describe_organizational_unit(auth, req(v, "OrganizationalUnitId")?).await?)?})
        }
        Op::UpdateOrganizationalUnit => {
            json!({"OrganizationalUnit": to_value(&iam.update_organizational_unit(auth, req(v, "OrganizationalUnitId")?, s(v, "Name")).await?)?})
        }
        Op::DeleteOrganizationalUnit => {
            iam.delete_organizational_unit(auth, req(v, "OrganizationalUnitId")?).await?;
            json!({})
        }
        Op::ListOrganizationalUnitsForParent => page("OrganizationalUnits", &iam.list_organizational_units(auth, req(v, "ParentId")?, next, max(v)).await?)?,
        Op::ListChildren => page("Children", &iam.list_children(auth, req(v, "ParentId")?, req(v, "ChildType")?, next, max(v)).await?)?,
        Op::ListParents => json!({"Parents": to_value(&iam.list_parents(auth, req(v, "ChildId")?).await?)?}),
        Op::CreatePolicy => {
            let p = iam
                .create_org_policy(auth, req(v, "Name")?, s(v, "Description").unwrap_or_default(), req(v, "Type")?, req(v, "Content")?, &tags(v, "Tags"))
                .await?;
            json!({"Policy": to_value(&p)?})
        }
        Op::DescribePolicy => json!({"Policy": to_value(&iam.describe_org_policy(auth, req(v, "PolicyId")?).await?)?}),
        Op::UpdatePolicy => {
            let p = iam.update_org_policy(auth, req(v, "PolicyId")?, s(v, "Name"), s(v, "Description"), s(v, "Content")).await?;
            json!({"Policy": to_value(&p)?})
        }
        Op::DeletePolicy => {
            iam.delete_org_policy(auth, req(v, "PolicyId")?).await?;
            json!({})
        }
        Op::ListPolicies => page("Policies", &iam.list_org_policies(auth, req(v, "Filter")?, next, max(v)).await?)?,
        Op::AttachPolicy => {
            iam.attach_org_policy(auth, req(v, "PolicyId")?, req(v, "TargetId")?).await?;
            json!({})
        }
        Op::DetachPolicy => {
            iam.detach_org_policy(auth, req(v, "PolicyId")?, req(v, "TargetId")?).await?;
            json!({})
        }
        Op::ListPoliciesForTarget => page("Policies", &iam.list_policies_for_target(auth, req(v, "TargetId")?, req(v, "Filter")?, next, max(v)).await?)?,
        Op::ListTargetsForPolicy => page("Targets", &iam.list_targets_for_policy(auth, req(v, "PolicyId")?, next, max(v)).await?)?,
        Op::EnablePolicyType => json!({"Root": to_value(&iam.enable_policy_type(auth, req(v, "RootId")?, req(v, "PolicyType")?).await?)?}),
        Op::DisablePolicyType => json!({"Root": to_value(&iam.disable_policy_type(auth, req(v, "RootId")?, req(v, "PolicyType")?).await?)?}),
        Op::EnableAWSServiceAccess => {
            iam.enable_service_access(auth, req(v, "ServicePrincipal")?).await?;
            json!({})
        }
        Op::DisableAWSServiceAccess => {
            iam.disable_service_access(auth, req(v, "ServicePrincipal")?).await?;
            json!({})
        }
        Op::ListAWSServiceAccessForOrganization => page("EnabledServicePrincipals", &iam.list_service_access(auth, next, max(v)).await?)?,
        Op::TagResource => {
            iam.tag_org_resource(auth, req(v, "ResourceId")?, &tags(v, "Tags"), &[]).await?;
            json!({})
        }
        Op::UntagResource => {
            iam.tag_org_resource(auth, req(v, "ResourceId")?, &[], &strings(v, "TagKeys")).await?;
            json!({})
        }
        Op::InviteAccountToOrganization => {
            let target = v.get("Target").cloned().unwrap_or_default();
            let h = iam.invite_account(auth, s(&target, "Id").unwrap_or_default(), s(&target, "Type").unwrap_or_default(), s(v, "Notes")).await?;
            json!({"Handshake": h})
        }
        Op::AcceptHandshake => json!({"Handshake": iam.answer_handshake(auth, req(v, "HandshakeId")?, "accept").await?}),
        Op::DeclineHandshake => json!({"Handshake": iam.answer_handshake(auth, req(v, "HandshakeId")?, "decline").await?}),
        Op::CancelHandshake => json!({"Handshake": iam.answer_handshake(auth, req(v, "HandshakeId")?, "cancel").await?}),
        Op::DescribeHandshake => json!({"Handshake": iam.describe_handshake(auth, req(v, "HandshakeId")?).await?}),
        Op::ListHandshakesForAccount => page("Handshakes", &iam.list_handshakes_for_account(auth, next, max(v)).await?)?,
        Op::ListHandshakesForOrganization => page("Handshakes", &iam.list_handshakes_for_organization(auth, next, max(v)).await?)?,
        Op::LeaveOrganization => {
            iam.leave_organization(auth).await?;
            json!({})
        }
        Op::RegisterDelegatedAdministrator => {
            iam.register_delegated_administrator(auth, req(v, "AccountId")?, req(v, "ServicePrincipal")?).await?;
            json!({})
        }
        Op::DeregisterDelegatedAdministrator => {
            iam.deregister_delegated_administrator(auth, req(v, "AccountId")?, req(v, "ServicePrincipal")?).await?;
            json!({})
        }
        Op::ListDelegatedAdministrators => page("DelegatedAdministrators", &iam.list_delegated_administrators(auth, s(v, "ServicePrincipal"), next, max(v)).await?)?,
        Op::ListDelegatedServicesForAccount => page("DelegatedServices", &iam.list_delegated_services(auth, req(v, "AccountId")?, next, max(v)).await?)?,
        Op::ListTagsForResource => {
            let p = iam.list_org_resource_tags(auth, req(v, "ResourceId")?, next).await?;
            let mut out = json!({"Tags": tag_values(&p.items)});
            if let Some(t) = p.next_token {
                out["NextToken"] = Value::String(t);
            }
            out
        }
    })
}
