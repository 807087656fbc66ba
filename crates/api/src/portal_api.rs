//! The access portal's APIs: `sso-oidc` (RegisterClient, StartDeviceAuthorization,
//! CreateToken) and `sso` (ListAccounts, ListAccountRoles, GetRoleCredentials, Logout, with
//! the portal session's bearer token in `x-amz-sso_bearer_token`).

use portcullis_core::audit::{CallOutcome, DirectoryCall, DirectoryOutcome};
use portcullis_core::{Iam, IamError, IamResult, RequestFacts, SsoOidcOperation as Oidc, SsoPortalOperation as Portal};
use serde_json::{json, Value};

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

pub async fn dispatch_oidc(iam: &Iam, op: Oidc, v: &Value, facts: &RequestFacts, request_id: &str) -> IamResult<Value> {
    match op {
        Oidc::RegisterClient => iam.register_oidc_client(s(v, "clientName"), s(v, "clientType")).await,
        Oidc::StartDeviceAuthorization => iam.start_device_authorization(s(v, "clientId"), s(v, "clientSecret"), s(v, "startUrl")).await,
        Oidc::CreateToken => {
            let opt = |k: &str| v.get(k).and_then(Value::as_str);
            let (out, user) = iam.create_oidc_token(s(v, "clientId"), s(v, "clientSecret"), s(v, "grantType"), opt("deviceCode"), opt("refreshToken")).await?;
            // A token granted is the user's: recorded in their identity store's account.
            let call = DirectoryCall { facts, event_source: "sso-oauth.amazonaws.com", event_name: op.name(), read_only: false, request_id, parameters: v.clone() };
            iam.record_directory_event(call, &user.store_id, Some(&user), DirectoryOutcome::Call(CallOutcome::Success(Some(out.clone())))).await;
            Ok(out)
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

pub async fn dispatch_portal(iam: &Iam, op: Portal, v: &Value, facts: &RequestFacts, request_id: &str) -> IamResult<Value> {
    let token = s(v, "accessToken");
    // A call whose token names nobody is refused before anyone is known, and not recorded.
    let user = match (op, iam.portal_user(token).await) {
        (_, Ok(user)) => Some(user),
        // Logout answers for itself (a token that is no session's is refused there).
        (Portal::Logout, Err(_)) => None,
        (_, Err(e)) => return Err(e),
    };
    let out = match (op, &user) {
        (Portal::Logout, _) => iam.portal_logout(token).await.map(|()| json!({})),
        (Portal::ListAccounts, Some(user)) => iam.portal_accounts(user).await.and_then(|all| page("accountList", all, v)),
        (Portal::ListAccountRoles, Some(user)) => iam.portal_roles(user, s(v, "accountId")).await.and_then(|all| page("roleList", all, v)),
        (Portal::GetRoleCredentials, Some(user)) => iam.portal_role_credentials(user, s(v, "accountId"), s(v, "roleName")).await.map(|c| {
            json!({"roleCredentials": {
                "accessKeyId": c.access_key_id,
                "secretAccessKey": c.secret_access_key,
                "sessionToken": c.session_token,
                "expiration": c.expiration * 1000,
            }})
        }),
        // Not reached: only Logout goes on without a user.
        (_, None) => Err(portcullis_core::portal_unauthorized()),
    };
    if let Some(user) = &user {
        let call = DirectoryCall { facts, event_source: "sso.amazonaws.com", event_name: op.name(), read_only: op != Portal::Logout, request_id, parameters: v.clone() };
        let outcome = match &out {
            Ok(_) => CallOutcome::Success(None),
            Err(e) => CallOutcome::Failure { code: e.code(), message: e.public_message() },
        };
        iam.record_directory_event(call, &user.store_id, Some(user), DirectoryOutcome::Call(outcome)).await;
    }
    out
}
