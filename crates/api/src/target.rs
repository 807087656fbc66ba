//! What an IAM request asks to do, for the authorizer: the action `iam:Op`, the resource
//! ARN as AWS's service authorization reference names it, and request context keys.

use portcullis_core::{AuthzRequest, Caller, Iam, IamResult, ResourceKind};
use portcullis_protocol::QueryParams;

fn iam_arn(caller: &Caller, rest: &str) -> String {
    format!("arn:aws:iam::{}:{rest}", caller.account_id)
}

/// The caller's own user ARN, for operations that default to the caller.
fn own_arn(caller: &Caller) -> String {
    caller.arn()
}

pub async fn iam_target(iam: &Iam, caller: &Caller, op: &str, p: &QueryParams) -> IamResult<AuthzRequest> {
    let account = caller.account_id.as_str();
    let mut resource_tags = Vec::new();
    let entity = |kind: ResourceKind, name: &str| {
        let (kind, name) = (kind, name.to_owned());
        async move { iam.resource_arn(account, kind, &name).await }
    };
    let resource = match op {
        "SimulatePrincipalPolicy" | "GetContextKeysForPrincipalPolicy" => p.get("PolicySourceArn").unwrap_or("*").to_owned(),
        "CreatePolicy" => iam_arn(caller, &format!("policy{}{}", p.get("Path").unwrap_or("/"), p.get("PolicyName").unwrap_or_default())),
        "ListUsers" => iam_arn(caller, "user/"),
        "ListGroups" => iam_arn(caller, "group/"),
        "ListRoles" => iam_arn(caller, "role/"),
        "ListPolicies" => iam_arn(caller, "policy/"),
        "CreateUser" => iam_arn(caller, &format!("user{}{}", p.get("Path").unwrap_or("/"), p.get("UserName").unwrap_or_default())),
        "CreateGroup" => iam_arn(caller, &format!("group{}{}", p.get("Path").unwrap_or("/"), p.get("GroupName").unwrap_or_default())),
        "CreateRole" => iam_arn(caller, &format!("role{}{}", p.get("Path").unwrap_or("/"), p.get("RoleName").unwrap_or_default())),
        "CreateVirtualMFADevice" => iam_arn(caller, &format!("mfa{}{}", p.get("Path").unwrap_or("/"), p.get("VirtualMFADeviceName").unwrap_or_default())),
        "DeleteVirtualMFADevice" | "GetMFADevice" | "TagMFADevice" | "UntagMFADevice" | "ListMFADeviceTags" => {
            p.get("SerialNumber").unwrap_or("*").to_owned()
        }
        "GetAccessKeyLastUsed" => match iam.access_key_owner(account, p.get("AccessKeyId").unwrap_or_default()).await? {
            Some(user) => entity(ResourceKind::User, &user).await?.0,
            None => own_arn(caller),
        },
        _ if p.contains("PolicyArn") && !op.starts_with("Attach") && !op.starts_with("Detach") => {
            p.get("PolicyArn").unwrap_or_default().to_owned()
        }
        _ if p.contains("GroupName") => entity(ResourceKind::Group, p.get("GroupName").unwrap_or_default()).await?.0,
        _ if p.contains("RoleName") => {
            let (arn, tags) = entity(ResourceKind::Role, p.get("RoleName").unwrap_or_default()).await?;
            resource_tags = tags;
            arn
        }
        _ if p.contains("UserName") => {
            let (arn, tags) = entity(ResourceKind::User, p.get("UserName").unwrap_or_default()).await?;
            resource_tags = tags;
            arn
        }
        // Operations on the caller's own credentials.
        "GetUser" | "CreateAccessKey" | "ListAccessKeys" | "UpdateAccessKey" | "DeleteAccessKey" | "ChangePassword"
        | "ListMFADevices" | "ListSSHPublicKeys" | "ListSigningCertificates" | "ListServiceSpecificCredentials" => own_arn(caller),
        _ => "*".to_owned(),
    };
    let mut req = AuthzRequest::new(format!("iam:{op}"), resource);
    let request_tags: Vec<(String, String)> = p
        .member_prefixes("Tags")
        .iter()
        .map(|m| {
            (
                p.get(&format!("{m}.Key")).unwrap_or_default().to_owned(),
                p.get(&format!("{m}.Value")).unwrap_or_default().to_owned(),
            )
        })
        .collect();
    req = req.with_request_tags(&request_tags);
    let tag_keys = p.string_list("TagKeys");
    if !tag_keys.is_empty() {
        req = req.with("aws:TagKeys", tag_keys);
    }
    if op.starts_with("Attach") || op.starts_with("Detach") {
        if let Some(arn) = p.get("PolicyArn") {
            req = req.with("iam:PolicyARN", vec![arn.to_owned()]);
        }
    }
    if let Some(b) = p.get("PermissionsBoundary") {
        req = req.with("iam:PermissionsBoundary", vec![b.to_owned()]);
    }
    for (k, v) in resource_tags {
        req = req.with(&format!("iam:ResourceTag/{k}"), vec![v.clone()]);
        req = req.with(&format!("aws:ResourceTag/{k}"), vec![v]);
    }
    Ok(req)
}

/// Whether an operation only reads (no cached authorization data can change).
pub fn is_read_only(op: &str) -> bool {
    ["Get", "List", "Simulate", "Generate"].iter().any(|p| op.starts_with(p))
}
