//! What every request gets before any handler runs: a request id, and an AWS-shaped
//! `InternalFailure` instead of a dropped connection should anything on its path panic.
//!
//! A panic is logged once, by the panic hook, with the request id it happened in (a
//! task-local set for the request's whole path); the client gets HTTP 500 with AWS's error
//! envelope on a connection that stays open.

use std::panic::AssertUnwindSafe;
use std::sync::Once;

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use portcullis_protocol::{query_error_body, AwsError};

use crate::admin_endpoints::error;
use crate::IAM_NS;

tokio::task_local! {
    static REQUEST_ID: String;
    /// The AWS operation the request turned out to be, for its metrics.
    static OPERATION: std::cell::RefCell<Option<(&'static str, String)>>;
}

/// Names the AWS operation being served (its service's signing name and the operation),
/// once the request has been decoded that far.
pub fn label(service: &'static str, operation: &str) {
    let _ = OPERATION.try_with(|o| *o.borrow_mut() = Some((service, operation.to_owned())));
}

/// The id of the request being served on this task, if any (for log lines).
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The id of the request being served (also sent as `x-amzn-RequestId`).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Whether a path is one of Portcullis's own JSON endpoints rather than an AWS API.
fn is_own_endpoint(path: &str) -> bool {
    path.starts_with("/_portcullis/") || path.starts_with("/moto-api/")
}

/// Middleware: gives the request its id and answers a panic on its path.
pub async fn request_scope(mut req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let own = is_own_endpoint(req.uri().path());
    // A panic's answer speaks the service the request was for, as far as the head tells.
    let query = req.uri().query().unwrap_or_default();
    let namespace = match crate::authenticate::scope_service(req.headers(), query) {
        Some("sts") => crate::STS_NS,
        _ if query.contains("Version=2011-06-15") => crate::STS_NS,
        _ => IAM_NS,
    };
    req.extensions_mut().insert(RequestId(id.clone()));
    let started = std::time::Instant::now();
    // A span at debug level: an enabled span costs every request several microseconds
    // (made, entered and left at each poll), a third of a cheap request's own work, so at
    // the default level it is not made and the lines that matter name the request
    // themselves (`current_request_id`).
    let span = tracing::debug_span!("request", request_id = %id);
    let run = OPERATION.scope(std::cell::RefCell::new(None), async move {
        let resp = next.run(req).await;
        (resp, OPERATION.with(|o| o.borrow_mut().take()))
    });
    let served = AssertUnwindSafe(tracing::Instrument::instrument(REQUEST_ID.scope(id.clone(), run), span)).catch_unwind().await;
    let mut resp = match served {
        Ok((resp, operation)) => {
            if let Some((service, operation)) = operation {
                crate::metrics::record_request(service, &operation, resp.status().as_u16(), started.elapsed());
            }
            resp
        }
        Err(_) => internal_failure(own, namespace, &id),
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().entry("x-amzn-RequestId").or_insert(v);
    }
    resp
}

/// AWS's answer to a failure it cannot explain.
fn internal_failure(own: bool, namespace: &str, request_id: &str) -> Response {
    let e = AwsError::internal_failure();
    if own {
        return error(StatusCode::INTERNAL_SERVER_ERROR, &e.code, &e.message);
    }
    let body = query_error_body(namespace, &e, request_id);
    (StatusCode::INTERNAL_SERVER_ERROR, [(axum::http::header::CONTENT_TYPE, "text/xml")], body).into_response()
}

/// The answer for a method an endpoint of Portcullis's own does not take (the AWS APIs'
/// fallback answers every method itself).
pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        &format!("The HTTP method {method} is not allowed for {}.", uri.path()),
    )
}

/// Logs a panic inside a request once, with its request id; panics elsewhere go to the
/// hook that was there before. Installed once per process.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let Ok(request_id) = REQUEST_ID.try_with(Clone::clone) else {
                return previous(info);
            };
            let payload = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let location = info.location().map(ToString::to_string).unwrap_or_default();
            tracing::error!(request_id, %location, panic = %payload, "panic while serving a request; answered InternalFailure");
        }));
    });
}
