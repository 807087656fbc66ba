//! Portcullis's own HTTP endpoints beside the AWS APIs: the security status (for the
//! console and scripts) and, in test mode only, the server clock.

use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::{AuthzRequest, Caller};
use portcullis_protocol::AwsError;
use serde_json::json;

use crate::AppState;
use std::sync::Arc;

/// A JSON error of Portcullis's own endpoints: `{"error": {"code", "message"}}`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

/// The JSON form of an AWS-style error.
pub(crate) fn aws_error(e: &AwsError) -> Response {
    error(StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST), &e.code, &e.message)
}

/// Reads the body of a request to one of Portcullis's own endpoints and authenticates its
/// SigV4 signature (service `iam`); the error is the JSON answer to send.
pub(crate) async fn signed_caller(state: &AppState, req: Request) -> Result<(Caller, Bytes), Response> {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Err(error(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge", "body too large"));
    };
    let query = parts.uri.query().unwrap_or_default().to_owned();
    match crate::authenticate::authenticate(&state.iam, &parts, &query, &body, "iam").await {
        Ok(c) => Ok((c, body)),
        Err(e) => Err(aws_error(&e)),
    }
}

/// `GET /_portcullis/security-status`: SigV4-signed (service `iam`), allowed to whoever may
/// call `iam:GetAccountSummary`.
pub async fn security_status(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let parts_host = req.headers().get("host").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let caller = match signed_caller(&state, req).await {
        Ok((c, _)) => c,
        Err(answer) => return answer,
    };
    if let Err(e) = state.iam.authorize(&caller, &AuthzRequest::new("iam:GetAccountSummary", "*")).await {
        return error(StatusCode::FORBIDDEN, e.code(), &e.public_message());
    }
    let alias = state.iam.sign_in_account(&caller.account_id).await.ok().flatten().and_then(|(_, alias)| alias);
    let host = parts_host.as_deref().unwrap_or("localhost");
    let sign_in_url = format!("http://{host}/signin/{}", alias.as_deref().unwrap_or(&caller.account_id));
    match state.iam.security_status(&caller.account_id).await {
        Ok(s) => {
            let mut body = serde_json::to_value(&s).unwrap_or_default();
            if let Some(o) = body.as_object_mut() {
                o.insert("sign_in_url".to_owned(), json!(sign_in_url));
            }
            Json(body).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.code(), &e.public_message()),
    }
}

/// `POST /_portcullis/clock` with `{"advance_seconds": N}` or `{"set_unix_seconds": T}`;
/// only served when the server was started with `--test-clock`.
pub async fn clock(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Some(clock) = &state.test_clock else {
        return error(StatusCode::NOT_FOUND, "NotFound", "the test clock is off (start the server with --test-clock)");
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "ValidationError", "expected a JSON object");
    };
    if let Some(n) = v.get("advance_seconds").and_then(serde_json::Value::as_i64) {
        clock.offset.fetch_add(n, Ordering::SeqCst);
    } else if let Some(t) = v.get("set_unix_seconds").and_then(serde_json::Value::as_i64) {
        let real = time::OffsetDateTime::now_utc().unix_timestamp();
        clock.offset.store(t - real, Ordering::SeqCst);
    } else {
        return error(StatusCode::BAD_REQUEST, "ValidationError", "give advance_seconds or set_unix_seconds");
    }
    let now = portcullis_types::Clock::now(clock.as_ref());
    Json(json!({"now": now.unix_timestamp(), "offset_seconds": clock.offset.load(Ordering::SeqCst)})).into_response()
}

/// `GET /_portcullis/notifications`: what the server sent to notification channels
/// (delegation tokens; Portcullis has no SNS), newest last; only in test mode (`--test-clock`).
pub async fn notifications(State(state): State<Arc<AppState>>) -> Response {
    if state.test_clock.is_none() {
        return error(StatusCode::NOT_FOUND, "NotFound", "notifications are shown in test mode only (start the server with --test-clock)");
    }
    Json(json!({"notifications": state.iam.notifications()})).into_response()
}

/// The discovery document of the account's outbound issuer (GetWebIdentityToken's tokens),
/// public like any OpenID Connect issuer's.
pub async fn oidc_discovery(State(state): State<Arc<AppState>>, axum::extract::Path(issuer): axum::extract::Path<String>) -> Response {
    issuer_document(&state, &issuer, true).await
}

/// The JWKS that verifies the account's web identity tokens.
pub async fn oidc_jwks(State(state): State<Arc<AppState>>, axum::extract::Path(issuer): axum::extract::Path<String>) -> Response {
    issuer_document(&state, &issuer, false).await
}

async fn issuer_document(state: &AppState, issuer: &str, discovery: bool) -> Response {
    match state.iam.outbound_issuer_documents(issuer).await {
        Ok(Some((d, j))) => Json(if discovery { d } else { j }).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "NoSuchEntity", "No such issuer."),
        Err(e) => aws_error(&crate::iam_error(e)),
    }
}

/// The signed caller of an Identity Center administration endpoint and the
/// `{"IdentityStoreId", "UserId"}` it names, with the request it is authorized on
/// (`identitystore:UpdateUser` on the identity store).
async fn directory_user_request(state: &AppState, req: Request) -> Result<(Caller, String, String, AuthzRequest), Response> {
    let (caller, body) = signed_caller(state, req).await?;
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return Err(error(StatusCode::BAD_REQUEST, "ValidationException", "expected a JSON object with IdentityStoreId and UserId"));
    };
    let (Some(store), Some(user)) = (v["IdentityStoreId"].as_str(), v["UserId"].as_str()) else {
        return Err(error(StatusCode::BAD_REQUEST, "ValidationException", "IdentityStoreId and UserId are required"));
    };
    let request = AuthzRequest::new("identitystore:UpdateUser", format!("arn:aws:identitystore::{}:identitystore/{store}", caller.account_id));
    Ok((caller, store.to_owned(), user.to_owned(), request))
}

/// `POST /_portcullis/identity-center/one-time-password` with `{"IdentityStoreId", "UserId"}`:
/// SigV4-signed (service `iam`), for whoever may call `identitystore:UpdateUser` in the
/// account that owns the identity store. Answers `{"Password", "PortalUrl"}`: the console's
/// "Generate a one-time password" for a directory user, who changes it at first sign-in.
pub async fn one_time_password(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (caller, store, user, request) = match directory_user_request(&state, req).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let auth = match state.iam.authorize(&caller, &request).await {
        Ok(a) => a,
        Err(e) => return error(StatusCode::FORBIDDEN, e.code(), &e.public_message()),
    };
    match state.iam.directory_one_time_password(&auth, &store, &user).await {
        Ok(password) => Json(json!({"Password": password, "PortalUrl": state.iam.portal_url(&store)})).into_response(),
        Err(e) => error(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST), e.code(), &e.public_message()),
    }
}

/// `POST /_portcullis/identity-center/invitation` with `{"IdentityStoreId", "UserId"}`:
/// SigV4-signed (service `iam`), for whoever may call `identitystore:UpdateUser`. E-mails the
/// user an invitation (the server needs `--smtp-url`); answers `{"SentTo", "PortalUrl"}`.
pub async fn invitation(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (caller, store, user, request) = match directory_user_request(&state, req).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let auth = match state.iam.authorize(&caller, &request).await {
        Ok(a) => a,
        Err(e) => return error(StatusCode::FORBIDDEN, e.code(), &e.public_message()),
    };
    match state.iam.invite_directory_user(&auth, &store, &user).await {
        Ok(to) => Json(json!({"SentTo": to, "PortalUrl": state.iam.portal_url(&store)})).into_response(),
        Err(e) => error(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST), e.code(), &e.public_message()),
    }
}

/// `POST /_portcullis/identity-center/mfa-settings` with `{"IdentityStoreId", "UsersWithoutMfa"}`
/// (`REQUIRE_REGISTRATION`, the default; `ALLOW_SIGN_IN`; `BLOCK_SIGN_IN`): SigV4-signed
/// (service `iam`), for whoever may call `sso:PutMfaDeviceManagementForDirectory` in the
/// account that owns the identity store. The console's "Users without MFA" setting; answers
/// the setting now in force.
pub async fn mfa_settings(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (caller, body) = match signed_caller(&state, req).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let v = serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default();
    let (Some(store), Some(setting)) = (v["IdentityStoreId"].as_str(), v["UsersWithoutMfa"].as_str()) else {
        return error(StatusCode::BAD_REQUEST, "ValidationException", "IdentityStoreId and UsersWithoutMfa are required");
    };
    let Some(setting) = portcullis_core::UsersWithoutMfa::parse(setting) else {
        return error(StatusCode::BAD_REQUEST, "ValidationException", "UsersWithoutMfa must be REQUIRE_REGISTRATION, ALLOW_SIGN_IN or BLOCK_SIGN_IN");
    };
    let request = AuthzRequest::new("sso:PutMfaDeviceManagementForDirectory", format!("arn:aws:identitystore::{}:identitystore/{store}", caller.account_id));
    let auth = match state.iam.authorize(&caller, &request).await {
        Ok(a) => a,
        Err(e) => return error(StatusCode::FORBIDDEN, e.code(), &e.public_message()),
    };
    match state.iam.set_portal_mfa_setting(&auth, store, setting).await {
        Ok(()) => Json(json!({"UsersWithoutMfa": setting.as_str()})).into_response(),
        Err(e) => error(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST), e.code(), &e.public_message()),
    }
}

/// `GET /_portcullis/health`: liveness. The process answers requests.
pub async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// `GET /_portcullis/ready`: readiness. The database answers and its schema is the one this
/// build knows; otherwise 503 (a load balancer then sends requests to other nodes). The
/// cause goes to the log, not to the unauthenticated caller.
pub async fn ready(State(state): State<Arc<AppState>>) -> Response {
    match state.iam.ready().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable"}))).into_response()
        }
    }
}
