//! `spawn_app`: the whole HTTP pipeline in process (router, request scope, decode,
//! authenticate, validate, authorize, run, encode) over an in-memory SQLite store, in the
//! test mode where unsigned requests act as the account's root user, for tests that drive
//! operations without a network or a client library.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use tower::ServiceExt;

pub const ACCOUNT: &str = "123456789012";

pub struct App {
    router: Router,
}

pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    /// The error code of an error answer, if it is one.
    pub fn code(&self) -> Option<&str> {
        self.body.split("<Code>").nth(1).and_then(|r| r.split('<').next())
    }
}

pub async fn spawn_app() -> App {
    let store = Arc::new(portcullis_store_sql::SqlStore::connect("sqlite::memory:").await.unwrap());
    let secrets = Arc::new(portcullis_credentials::SecretBox::new(&portcullis_credentials::SecretBox::generate_key().unwrap()).unwrap());
    let clock: Arc<dyn portcullis_types::Clock> = Arc::new(portcullis_types::SystemClock);
    let iam = portcullis_core::Iam::new(store, clock, secrets).unwrap();
    iam.reset_all(ACCOUNT, "root@example.com").await.unwrap();
    iam.ensure_account("root@example.com", None).await.unwrap();
    let state = portcullis_api::AppState::new(iam, None).unwrap().with_test_mode(portcullis_api::TestMode::new(ACCOUNT, "root@example.com", true));
    App { router: portcullis_api::router(state) }
}

impl App {
    /// One query-protocol request (form-encoded POST), as the root user.
    pub async fn call(&self, version: &str, params: &[(&str, &str)]) -> Reply {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Version", version);
        for (k, v) in params {
            form.append_pair(k, v);
        }
        let req = Request::post("/")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form.finish()))
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024).await.unwrap();
        Reply { status, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn iam(&self, action: &str, params: &[(&str, &str)]) -> Reply {
        let mut all = vec![("Action", action)];
        all.extend_from_slice(params);
        self.call("2010-05-08", &all).await
    }

    pub async fn sts(&self, action: &str, params: &[(&str, &str)]) -> Reply {
        let mut all = vec![("Action", action)];
        all.extend_from_slice(params);
        self.call("2011-06-15", &all).await
    }
}
