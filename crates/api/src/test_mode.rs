//! The ephemeral test mode: a drop-in for moto's and LocalStack's servers in test suites.
//! Unknown access keys may be taken as the root user (as those servers do), the state can
//! be reset in milliseconds, and moto's reset hooks are answered. Keys created through the
//! API are still authenticated and authorized for real.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use std::sync::Arc;

/// Switches of the test mode, shared by every request.
#[derive(Debug)]
pub struct TestMode {
    pub account_id: String,
    pub root_email: String,
    /// Requests signed with unknown keys are taken as the root user.
    accept_any: AtomicBool,
    /// The rule the server started with (restored by `/_portcullis/reset`).
    accept_any_initially: bool,
    /// moto's reset-auth countdown: requests left that are not checked at all; -1 = no
    /// countdown running.
    unchecked_left: AtomicI64,
}

impl TestMode {
    pub fn new(account_id: &str, root_email: &str, accept_any_credentials: bool) -> Self {
        Self {
            account_id: account_id.to_owned(),
            root_email: root_email.to_owned(),
            accept_any: AtomicBool::new(accept_any_credentials),
            accept_any_initially: accept_any_credentials,
            unchecked_left: AtomicI64::new(-1),
        }
    }

    /// Whether this request skips authentication (a reset-auth countdown is running).
    pub fn take_unchecked(&self) -> bool {
        let mut left = self.unchecked_left.load(Ordering::SeqCst);
        while left > 0 {
            match self.unchecked_left.compare_exchange(left, left - 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return true,
                Err(now) => left = now,
            }
        }
        false
    }

    pub fn accepts_any_credentials(&self) -> bool {
        self.accept_any.load(Ordering::SeqCst)
    }
}

async fn do_reset(state: &AppState, mode: &TestMode) -> Result<(), Response> {
    state.iam.reset_all(&mode.account_id, &mode.root_email).await.map_err(|e| {
        (StatusCode::INTERNAL_SERVER_ERROR, format!("reset failed: {}", e.public_message())).into_response()
    })
}

fn not_in_test_mode() -> Response {
    (StatusCode::NOT_FOUND, "not in test mode (start the server with --ephemeral)").into_response()
}

/// `POST /_portcullis/reset`: a fresh account, same id; the AWS-managed catalog stays, and
/// the credentials rule is back to what the server started with.
pub async fn reset(State(state): State<Arc<AppState>>) -> Response {
    let Some(mode) = state.test_mode.clone() else { return not_in_test_mode() };
    mode.accept_any.store(mode.accept_any_initially, Ordering::SeqCst);
    mode.unchecked_left.store(-1, Ordering::SeqCst);
    match do_reset(&state, &mode).await {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#).into_response(),
        Err(r) => r,
    }
}

/// `POST /moto-api/reset`, as moto's server answers it.
pub async fn moto_reset(State(state): State<Arc<AppState>>) -> Response {
    let Some(mode) = state.test_mode.clone() else { return not_in_test_mode() };
    match do_reset(&state, &mode).await {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], r#"{"status": "ok"}"#).into_response(),
        Err(r) => r,
    }
}

/// `POST /moto-api/reset-auth` with a number N as the body: the next N requests are not
/// checked; after them every request is authenticated and authorized (unknown keys are no
/// longer taken as root).
pub async fn moto_reset_auth(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Some(mode) = state.test_mode.clone() else { return not_in_test_mode() };
    let Some(n) = std::str::from_utf8(&body).ok().and_then(|s| s.trim().parse::<i64>().ok()).filter(|n| *n >= 0) else {
        return (StatusCode::BAD_REQUEST, "the body must be a non-negative number").into_response();
    };
    let old = mode.unchecked_left.swap(n, Ordering::SeqCst);
    mode.accept_any.store(false, Ordering::SeqCst);
    // moto reports an unset count as infinity (Python's json writes it so).
    let previous = if old < 0 { "Infinity".to_owned() } else { old.to_string() };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT\": {previous}}}"),
    )
        .into_response()
}
