//! What the web console needs beside the AWS APIs: signing in with a password (and MFA),
//! and enabling an MFA device for the root user, which AWS offers only in its console.
//!
//! - `POST /_portcullis/signin` (JSON, unsigned): `{"email", "password"}` for the root user
//!   or `{"account", "user_name", "password"}` for an IAM user, with `mfa_code` (and
//!   `mfa_serial` when there are several devices) and `new_password` when asked for them.
//!   Answers `{"status": "SignedIn", "credentials": {...}}`, `{"status": "MfaRequired"}` or
//!   `{"status": "PasswordChangeRequired", "reason": ...}`; a wrong password or code is 401.
//! - `POST /_portcullis/root/mfa-device` (SigV4-signed by a root session, service `iam`):
//!   `{"serial_number", "authentication_code1", "authentication_code2"}`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::{RequestFacts, SecondFactor, SignInError, SignInIdentity, SignInInput, SignInOutcome};
use serde::Deserialize;
use serde_json::json;

use crate::admin_endpoints::{aws_error, error, signed_caller};
use crate::AppState;
use std::sync::Arc;

#[derive(Debug, Deserialize)]
struct SignInBody {
    email: Option<String>,
    account: Option<String>,
    user_name: Option<String>,
    password: String,
    mfa_code: Option<String>,
    mfa_serial: Option<String>,
    recovery_code: Option<String>,
    new_password: Option<String>,
}

/// Sign-in's own refusals; everything else is an IAM error and answered as one.
fn sign_in_error(e: SignInError) -> Response {
    let status = match e {
        SignInError::Incorrect | SignInError::InvalidMfaCode => StatusCode::UNAUTHORIZED,
        SignInError::PasswordExpired => StatusCode::FORBIDDEN,
        SignInError::Throttled => StatusCode::TOO_MANY_REQUESTS,
        SignInError::Iam(e) => return aws_error(&crate::iam_error(e)),
    };
    error(status, e.code(), &e.to_string())
}

pub async fn sign_in(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let source_ip = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let user_agent = req.headers().get("user-agent").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Ok(bytes) = axum::body::to_bytes(req.into_body(), 64 * 1024).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge", "body too large");
    };
    let body: SignInBody = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, "ValidationError", &format!("expected a JSON sign-in request: {e}")),
    };
    let identity = match (&body.email, &body.account, &body.user_name) {
        (Some(email), None, None) => SignInIdentity::Root { email },
        (None, Some(account), Some(user_name)) => SignInIdentity::User { account, user_name },
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "ValidationError",
                "give either email (the root user) or account and user_name (an IAM user)",
            )
        }
    };
    let input = SignInInput {
        identity,
        password: &body.password,
        second_factor: match (&body.mfa_code, &body.recovery_code) {
            (Some(code), _) => Some(SecondFactor::Code { code, serial: body.mfa_serial.as_deref() }),
            (None, Some(code)) => Some(SecondFactor::RecoveryCode(code)),
            (None, None) => None,
        },
        new_password: body.new_password.as_deref(),
    };
    let facts = RequestFacts { source_ip, secure_transport: false, region: "us-east-1".to_owned(), user_agent };
    match state.iam.console_sign_in(&input, facts).await {
        Ok(SignInOutcome::SignedIn { account_id, arn, credentials, mfa_authenticated, recovery_codes_left }) => Json(json!({
            "status": "SignedIn",
            "account_id": account_id,
            "arn": arn,
            "mfa_authenticated": mfa_authenticated,
            "recovery_codes_left": recovery_codes_left,
            "credentials": {
                "AccessKeyId": credentials.access_key_id,
                "SecretAccessKey": credentials.secret_access_key,
                "SessionToken": credentials.session_token,
                "Expiration": portcullis_types::format_utc(
                    time::OffsetDateTime::from_unix_timestamp(credentials.expiration).unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
                    "Z",
                ),
            },
        }))
        .into_response(),
        // A security key answers a challenge only a browser session can hold: the console.
        Ok(SignInOutcome::MfaRequired { devices, security_key, recovery_codes }) => Json(json!({
            "status": "MfaRequired",
            "mfa_devices": devices,
            "security_key": security_key.is_some(),
            "recovery_codes": recovery_codes,
        }))
        .into_response(),
        Ok(SignInOutcome::PasswordChangeRequired { reason }) => {
            Json(json!({"status": "PasswordChangeRequired", "reason": reason.as_str()})).into_response()
        }
        Err(e) => sign_in_error(e),
    }
}

#[derive(Debug, Deserialize)]
struct RootMfaBody {
    serial_number: String,
    authentication_code1: String,
    authentication_code2: String,
}

pub async fn enable_root_mfa_device(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (caller, body) = match signed_caller(&state, req).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let input: RootMfaBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, "ValidationError", &format!("expected serial_number and two codes: {e}")),
    };
    match state
        .iam
        .enable_root_mfa_device(&caller, &input.serial_number, &input.authentication_code1, &input.authentication_code2)
        .await
    {
        Ok(()) => {
            state.iam.invalidate_authorization_cache();
            Json(json!({"enabled": input.serial_number})).into_response()
        }
        Err(e) => aws_error(&crate::iam_error(e)),
    }
}
