//! `POST /_portcullis/authorize`: the authorizer for other services. A service that received
//! a SigV4-signed request (an S3-compatible store, an API gateway, a sidecar) sends its parts
//! with the action and resource it is about to perform; Portcullis authenticates the
//! signature and evaluates the caller's policies, and answers allow or deny with the
//! principal and AWS's reason.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use portcullis_core::{AuthzRequest, EvalDecision};
use portcullis_sigv4::HttpRequest;
use serde::Deserialize;
use serde_json::json;

use crate::admin_endpoints::error;
use crate::authenticate::authenticate_request;
use crate::AppState;
use std::sync::Arc;

#[derive(Debug, Deserialize)]
struct SignedRequest {
    method: String,
    #[serde(default = "root_path")]
    path: String,
    #[serde(default)]
    query: String,
    headers: Vec<(String, String)>,
    /// The request body, base64-encoded.
    #[serde(default)]
    body: String,
    /// The client's address, for `aws:SourceIp`.
    #[serde(default)]
    source_ip: Option<String>,
}

fn root_path() -> String {
    "/".to_owned()
}

#[derive(Debug, Deserialize)]
struct AuthorizeCall {
    request: SignedRequest,
    action: String,
    #[serde(default = "any_resource")]
    resource: String,
    /// Extra context keys the service knows (`s3:prefix`, `ec2:Region`, …).
    #[serde(default)]
    context: std::collections::BTreeMap<String, serde_json::Value>,
    /// The resource's own policy (a bucket or queue policy), when it has one: a request on
    /// another account's resource is allowed only when it and the caller's policies allow.
    #[serde(default, rename = "resourcePolicy")]
    resource_policy: Option<String>,
}

fn any_resource() -> String {
    "*".to_owned()
}

fn values(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Array(items) => items.iter().map(scalar).collect(),
        other => vec![scalar(other)],
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub async fn authorize(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let call: AuthorizeCall = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, "ValidationError", &format!("Malformed authorization call: {e}")),
    };
    let Ok(raw_body) = B64.decode(call.request.body.as_bytes()) else {
        return error(StatusCode::BAD_REQUEST, "ValidationError", "request.body must be base64");
    };
    let headers: Vec<(&str, &str)> = call.request.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let req = HttpRequest {
        method: &call.request.method,
        path: &call.request.path,
        query: &call.request.query,
        headers: &headers,
        body: &raw_body,
    };
    let caller = match authenticate_request(&state.iam, &req, call.request.source_ip.clone(), None).await {
        Ok(c) => c,
        Err(e) => {
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::FORBIDDEN);
            return error(status, &e.code, &e.message);
        }
    };
    let mut authz = AuthzRequest::new(call.action.clone(), call.resource.clone());
    for (k, v) in &call.context {
        authz = authz.with(k, values(v));
    }
    let resource_policy = match call.resource_policy.as_deref().map(|doc| portcullis_policy::parse(doc, portcullis_policy::PolicyKind::Resource)) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => return error(StatusCode::BAD_REQUEST, "MalformedPolicyDocument", &e.message),
    };
    let resource_policies: Vec<(&str, &portcullis_policy::Policy)> = resource_policy.iter().map(|p| ("resource-policy", p)).collect();
    let decision = match state.iam.decide_with(&caller, &authz, &resource_policies).await {
        Ok(d) => d,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.code(), &e.public_message()),
    };
    let encoded = match decision.effect {
        EvalDecision::Allowed => {
            // The service asking will serve the call: access advisor counts it as a use.
            state.iam.note_access(&caller, &authz.action);
            None
        }
        _ => state.iam.encode_authorization_message(&caller, &authz, &decision).ok(),
    };
    let principal = json!({
        "arn": caller.arn(),
        "account": caller.account_id,
        "userId": caller.user_id(),
        "accessKeyId": caller.access_key_id,
    });
    Json(json!({
        "allowed": decision.effect == EvalDecision::Allowed,
        "decision": decision.effect.as_str(),
        "principal": principal,
        "message": decision.denial,
        "encodedMessage": encoded,
    }))
    .into_response()
}
