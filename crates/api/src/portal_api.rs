//! The access portal's APIs: `sso-oidc` (RegisterClient, StartDeviceAuthorization,
//! CreateToken) and `sso` (ListAccounts, ListAccountRoles, GetRoleCredentials, Logout, with
//! the portal session's bearer token in `x-amz-sso_bearer_token`).

use portcullis_core::{Iam, IamError, IamResult, SsoOidcOperation as Oidc, SsoPortalOperation as Portal};
use serde_json::{json, Value};

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

pub async fn dispatch_oidc(iam: &Iam, op: Oidc, v: &Value) -> IamResult<Value> {
    match op {
        Oidc::RegisterClient => iam.register_oidc_client(s(v, "clientName"), s(v, "clientType")).await,
        Oidc::StartDeviceAuthorization => iam.start_device_authorization(s(v, "clientId"), s(v, "clientSecret"), s(v, "startUrl")).await,
        Oidc::CreateToken => {
            let opt = |k: &str| v.get(k).and_then(Value::as_str);
            iam.create_oidc_token(s(v, "clientId"), s(v, "clientSecret"), s(v, "grantType"), opt("deviceCode"), opt("refreshToken")).await
        }
    }
}

/// A page of a portal listing (`nextToken` is the position of the next item).
fn page(key: &str, all: Vec<Value>, v: &Value) -> IamResult<Value> {
    let (items, next) = portcullis_core::positional(all, v.get("nextToken").and_then(Value::as_str), v.get("maxResults").and_then(Value::as_i64), 100)
        .map_err(|()| IamError::service("InvalidRequestException", "The next token is not valid.", &[]))?;
    let mut out = json!({ key: items });
    if let Some(t) = next {
        out["nextToken"] = json!(t);
    }
    Ok(out)
}

pub async fn dispatch_portal(iam: &Iam, op: Portal, v: &Value) -> IamResult<Value> {
    let token = s(v, "accessToken");
    if op == Portal::Logout {
        iam.portal_logout(token).await?;
        return Ok(json!({}));
    }
    let user = iam.portal_user(token).await?;
    match op {
        Portal::ListAccounts => page("accountList", iam.portal_accounts(&user).await?, v),
        Portal::ListAccountRoles => page("roleList", iam.portal_roles(&user, s(v, "accountId")).await?, v),
        Portal::GetRoleCredentials => {
            let c = iam.portal_role_credentials(&user, s(v, "accountId"), s(v, "roleName")).await?;
            Ok(json!({"roleCredentials": {
                "accessKeyId": c.access_key_id,
                "secretAccessKey": c.secret_access_key,
                "sessionToken": c.session_token,
                "expiration": c.expiration * 1000,
            }}))
        }
        Portal::Logout => Ok(json!({})),
    }
}
