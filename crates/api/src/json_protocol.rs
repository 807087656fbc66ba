//! AWS's JSON 1.1 protocol: `POST /` with `X-Amz-Target: PREFIX.Operation` and a JSON body,
//! answered with a JSON body, or with `{"__type": "…Exception", "Message": "…"}` and the
//! `x-amzn-ErrorType` header on failure. The services spoken this way are told apart by
//! the target's prefix ([`JsonService`]).

use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::{IamError, OrganizationsOperation};
use portcullis_protocol::{AwsError, QueryParams, ServiceModel, Violation, ViolationKind};
use serde_json::Value;

use crate::{AppState, MAX_BODY_BYTES};

/// A service of the JSON 1.1 protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonService {
    Organizations,
}

impl JsonService {
    /// The service a target prefix names.
    fn of_prefix(prefix: &str) -> Option<Self> {
        match prefix {
            "AWSOrganizationsV20161128" => Some(Self::Organizations),
            _ => None,
        }
    }

    fn signing_name(self) -> &'static str {
        match self {
            Self::Organizations => "organizations",
        }
    }

    fn model(self, state: &AppState) -> &ServiceModel {
        match self {
            Self::Organizations => &state.organizations_model,
        }
    }

    /// How the service words a request that breaks its model.
    fn invalid(self, v: &Violation) -> AwsError {
        match self {
            Self::Organizations => {
                let (reason, message) = match v.kind {
                    ViolationKind::Missing => ("INPUT_REQUIRED", "You must include a value for all required parameters."),
                    ViolationKind::TooLong => ("MAX_LENGTH_EXCEEDED", "You provided a string parameter that is longer than allowed."),
                    ViolationKind::TooShort => ("MIN_LENGTH_EXCEEDED", "You provided a string parameter that is shorter than allowed."),
                    ViolationKind::Pattern => ("INVALID_PATTERN", "You provided a value that does not match the required pattern."),
                    ViolationKind::Enum => ("INVALID_ENUM", "You specified an invalid value."),
                    ViolationKind::TooHigh => ("MAX_VALUE_EXCEEDED", "You provided a numeric parameter that has a larger value than allowed."),
                    ViolationKind::TooLow => ("MIN_VALUE_EXCEEDED", "You provided a numeric parameter that has a smaller value than allowed."),
                    ViolationKind::Type => return AwsError::new("SerializationException", 400, v.message.clone()),
                };
                AwsError::new("InvalidInputException", 400, message).with_reason(reason)
            }
        }
    }
}

/// Whether a request is one of the JSON protocol (it names its operation in `X-Amz-Target`).
pub(crate) fn is_json_request(req: &Request) -> bool {
    req.headers().contains_key("x-amz-target")
}

pub(crate) async fn handle(state: Arc<AppState>, req: Request, request_id: &str) -> Response {
    let (status, body) = match process(&state, req).await {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => {
            if e.status >= 500 {
                tracing::error!(request_id, code = %e.code, "request failed");
            } else {
                tracing::debug!(request_id, code = %e.code, message = %e.message, "request refused");
            }
            let code = e.code.to_string();
            let mut body = serde_json::json!({"__type": code, "Message": e.message});
            if let Some(r) = e.reason {
                body["Reason"] = Value::String(r);
            }
            let mut resp = (StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST), body.to_string()).into_response();
            if let Ok(v) = HeaderValue::from_str(&code) {
                resp.headers_mut().insert("x-amzn-ErrorType", v);
            }
            return finish(resp, request_id);
        }
    };
    finish((status, body).into_response(), request_id)
}

fn finish(mut resp: Response, request_id: &str) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.1"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    resp
}

/// How a JSON service names an error that IAM's core gives.
fn json_error(e: IamError) -> AwsError {
    let status = e.status();
    match e {
        IamError::Service { code, message, reason } => {
            let err = AwsError::new(code, 400, message);
            match reason {
                Some(r) => err.with_reason(r),
                None => err,
            }
        }
        IamError::AccessDenied(m) => AwsError::new("AccessDeniedException", 400, m),
        IamError::ServiceFailure(cause) => {
            tracing::error!(cause = %cause, "internal failure");
            AwsError::new("ServiceException", 500, "The request processing has failed because of an unknown error, exception or failure.")
        }
        IamError::Validation(m) | IamError::InvalidInput(m) => AwsError::new("InvalidInputException", 400, m).with_reason("INVALID_PATTERN"),
        other => AwsError::new(other.code(), status, other.public_message()),
    }
}

/// SigV4 failures as JSON services name them.
fn auth_error(e: AwsError) -> AwsError {
    let code = match e.code.as_ref() {
        "InvalidClientTokenId" => "UnrecognizedClientException",
        "SignatureDoesNotMatch" => "InvalidSignatureException",
        "IncompleteSignature" => "IncompleteSignatureException",
        "MissingAuthenticationToken" => "MissingAuthenticationTokenException",
        "ExpiredToken" => "ExpiredTokenException",
        _ => return e,
    };
    AwsError::new(code, if code == "MissingAuthenticationTokenException" { 403 } else { 400 }, e.message)
}

async fn process(state: &AppState, req: Request) -> Result<String, AwsError> {
    let (parts, body) = req.into_parts();
    if parts.method != Method::POST {
        return Err(AwsError::new("UnknownOperationException", 400, format!("The HTTP method {} is not supported.", parts.method)));
    }
    let body = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| AwsError::new("RequestEntityTooLarge", 413, "Request body is larger than the service accepts."))?;
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let unknown = || AwsError::new("UnknownOperationException", 400, "");
    let (prefix, operation) = target.split_once('.').ok_or_else(unknown)?;
    let service = JsonService::of_prefix(prefix).ok_or_else(unknown)?;
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let caller = crate::resolve_caller(state, &parts, &query, &body, service.signing_name()).await.map_err(auth_error)?;

    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&body).map_err(|_| AwsError::new("SerializationException", 400, "Unable to parse the request body as JSON."))?
    };
    let model = service.model(state);
    let op = model.operation(operation).ok_or_else(unknown)?;
    if let Some(first) = model.check_json(op, &input).first() {
        return Err(service.invalid(first));
    }
    let has_output = op.has_output;
    let out = match service {
        JsonService::Organizations => {
            let op = OrganizationsOperation::parse(operation).ok_or_else(unknown)?;
            crate::organizations::dispatch(&state.iam, &caller, op, &input).await.map_err(json_error)?
        }
    };
    Ok(if has_output { out.to_string() } else { String::new() })
}

/// The top-level members of a JSON input as query-protocol parameters (`Tags.member.1.Key`),
/// so that the authorizer reads request tags and other keys the same way for every protocol.
pub(crate) fn flat_params(input: &Value) -> QueryParams {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(obj) = input.as_object() {
        for (k, v) in obj {
            match v {
                Value::String(s) => pairs.push((k.clone(), s.clone())),
                Value::Number(n) => pairs.push((k.clone(), n.to_string())),
                Value::Bool(b) => pairs.push((k.clone(), b.to_string())),
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let key = format!("{k}.member.{}", i + 1);
                        match item {
                            Value::String(s) => pairs.push((key, s.clone())),
                            Value::Object(fields) => {
                                for (f, fv) in fields {
                                    if let Some(s) = fv.as_str() {
                                        pairs.push((format!("{key}.{f}"), s.to_owned()));
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
    QueryParams::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}
