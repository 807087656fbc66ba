//! AWS's JSON 1.1 protocol: `POST /` with `X-Amz-Target: PREFIX.Operation` and a JSON body,
//! answered with a JSON body, or with `{"__type": "…Exception", "Message": "…"}` and the
//! `x-amzn-ErrorType` header on failure. The services spoken this way are told apart by
//! the target's prefix ([`JsonService`]).

use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::audit::CallOutcome;
use portcullis_core::{CloudTrailOperation, IamError, IdentityStoreOperation, OrganizationsOperation, SsoAdminOperation};
use portcullis_protocol::{AwsError, QueryParams, Violation, ViolationKind};
use serde_json::Value;

use crate::{AppState, MAX_BODY_BYTES};

/// A service of the JSON 1.1 protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum JsonService {
    Organizations,
    IdentityStore,
    SsoAdmin,
    CloudTrail,
}

impl JsonService {
    pub(crate) const ALL: [Self; 4] = [Self::Organizations, Self::IdentityStore, Self::SsoAdmin, Self::CloudTrail];

    /// The `X-Amz-Target` prefix naming the service.
    fn target_prefix(self) -> &'static str {
        match self {
            Self::Organizations => "AWSOrganizationsV20161128",
            Self::IdentityStore => "AWSIdentityStore",
            Self::SsoAdmin => "SWBExternalService",
            Self::CloudTrail => "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
        }
    }

    /// Whether the service lives in each Region (Organizations is global).
    fn regional(self) -> bool {
        self != Self::Organizations
    }

    /// The SigV4 signing name.
    fn signing_name(self) -> &'static str {
        match self {
            Self::Organizations => "organizations",
            Self::IdentityStore => "identitystore",
            Self::SsoAdmin => "sso",
            Self::CloudTrail => "cloudtrail",
        }
    }

    /// The `eventSource` of its calls' events.
    fn event_source(self) -> &'static str {
        match self {
            Self::Organizations => "organizations.amazonaws.com",
            Self::IdentityStore => "identitystore.amazonaws.com",
            Self::SsoAdmin => "sso.amazonaws.com",
            Self::CloudTrail => "cloudtrail.amazonaws.com",
        }
    }

    /// botocore's model, gzipped.
    pub(crate) fn model_gz(self) -> &'static [u8] {
        match self {
            Self::Organizations => portcullis_protocol::ORGANIZATIONS_MODEL_GZ,
            Self::IdentityStore => portcullis_protocol::IDENTITYSTORE_MODEL_GZ,
            Self::SsoAdmin => portcullis_protocol::SSO_ADMIN_MODEL_GZ,
            Self::CloudTrail => portcullis_protocol::CLOUDTRAIL_MODEL_GZ,
        }
    }

    /// The names of the operations its table serves.
    pub(crate) fn served(self) -> Vec<&'static str> {
        match self {
            Self::Organizations => OrganizationsOperation::ALL.iter().map(|o| o.name()).collect(),
            Self::IdentityStore => IdentityStoreOperation::ALL.iter().map(|o| o.name()).collect(),
            Self::SsoAdmin => SsoAdminOperation::ALL.iter().map(|o| o.name()).collect(),
            Self::CloudTrail => CloudTrailOperation::ALL.iter().map(|o| o.name()).collect(),
        }
    }

    /// How the service words a request that breaks its model: Organizations with its own
    /// `InvalidInputException` and a reason, the others with Coral's `ValidationException`.
    fn invalid(self, violations: &[Violation]) -> AwsError {
        if let Some(v) = violations.iter().find(|v| v.kind == ViolationKind::Type) {
            return AwsError::new("SerializationException", 400, v.message.clone());
        }
        match self {
            Self::Organizations => {
                let (reason, message) = match violations.first().map(|v| &v.kind) {
                    Some(ViolationKind::Missing) => ("INPUT_REQUIRED", "You must include a value for all required parameters."),
                    Some(ViolationKind::TooLong) => ("MAX_LENGTH_EXCEEDED", "You provided a string parameter that is longer than allowed."),
                    Some(ViolationKind::TooShort) => ("MIN_LENGTH_EXCEEDED", "You provided a string parameter that is shorter than allowed."),
                    Some(ViolationKind::Enum) => ("INVALID_ENUM", "You specified an invalid value."),
                    Some(ViolationKind::TooHigh) => ("MAX_VALUE_EXCEEDED", "You provided a numeric parameter that has a larger value than allowed."),
                    Some(ViolationKind::TooLow) => ("MIN_VALUE_EXCEEDED", "You provided a numeric parameter that has a smaller value than allowed."),
                    _ => ("INVALID_PATTERN", "You provided a value that does not match the required pattern."),
                };
                AwsError::new("InvalidInputException", 400, message).with_reason(reason)
            }
            Self::IdentityStore | Self::SsoAdmin | Self::CloudTrail => {
                let messages: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
                let message = match messages.len() {
                    1 => format!("1 validation error detected: {}", messages[0]),
                    n => format!("{n} validation errors detected: {}", messages.join("; ")),
                };
                AwsError::new("ValidationException", 400, message)
            }
        }
    }

    /// How the service names an error of the domain.
    fn error(self, e: IamError) -> AwsError {
        let status = e.status();
        match e {
            // Organizations and Identity Center answer every client error with HTTP 400 (their
            // models name other statuses, AWS's answers do not use them).
            IamError::Service { code, message, fields } => {
                let status = 400;
                fields.into_iter().fold(AwsError::new(code, status, message), |e, (k, v)| e.with_field(k, v))
            }
            IamError::AccessDenied(m) => AwsError::new("AccessDeniedException", 400, m),
            IamError::ServiceFailure(cause) => {
                tracing::error!(cause = %cause, "internal failure");
                let code = if self == Self::Organizations { "ServiceException" } else { "InternalServerException" };
                AwsError::new(code, 500, "The request processing has failed because of an unknown error, exception or failure.")
            }
            IamError::Validation(m) | IamError::InvalidInput(m) => match self {
                Self::Organizations => AwsError::new("InvalidInputException", 400, m).with_reason("INVALID_PATTERN"),
                _ => AwsError::new("ValidationException", 400, m),
            },
            other => AwsError::new(other.code(), status, other.public_message()),
        }
    }
}

/// Whether a request is one of the JSON protocol (it names its operation in `X-Amz-Target`).
pub(crate) fn is_json_request(req: &Request) -> bool {
    req.headers().contains_key("x-amz-target")
}

pub(crate) async fn handle(state: Arc<AppState>, req: Request, request_id: &str) -> Response {
    let (status, body) = match process(&state, req, request_id).await {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => {
            if e.status >= 500 {
                tracing::error!(request_id, code = %e.code, "request failed");
            } else {
                tracing::debug!(request_id, code = %e.code, error_message = %e.message, "request refused");
            }
            let code = e.code.to_string();
            let mut body = serde_json::json!({"__type": code, "Message": e.message});
            for (k, v) in e.fields {
                body[k] = Value::String(v);
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

/// SigV4 failures as JSON services name them.
pub(crate) fn auth_error(e: AwsError) -> AwsError {
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

async fn process(state: &AppState, req: Request, request_id: &str) -> Result<String, AwsError> {
    let (parts, body) = req.into_parts();
    if parts.method != Method::POST {
        return Err(AwsError::new("UnknownOperationException", 400, format!("The HTTP method {} is not supported.", parts.method)));
    }
    let body = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| AwsError::new("RequestEntityTooLarge", 413, "Request body is larger than the service accepts."))?;
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let unknown = || AwsError::new("UnknownOperationException", 400, "");
    let (prefix, operation) = target.rsplit_once('.').ok_or_else(unknown)?;
    let service = JsonService::ALL.into_iter().find(|s| s.target_prefix() == prefix).ok_or_else(unknown)?;
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let caller = crate::resolve_caller(state, &parts, &query, &body, service.signing_name()).await.map_err(auth_error)?;
    // The operation is named by a header: it must be one the signature covers, or a signed
    // request could be replayed as another operation.
    if let Some(auth) = parts.headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let signed = auth.split("SignedHeaders=").nth(1).and_then(|rest| rest.split([',', ' ']).next()).unwrap_or_default();
        if !signed.split(';').any(|h| h.eq_ignore_ascii_case("x-amz-target")) {
            return Err(AwsError::new("IncompleteSignatureException", 400, "'X-Amz-Target' must be a signed header."));
        }
    }
    if service.regional() {
        crate::region_check(state, &caller).await.map_err(auth_error)?;
    }

    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&body).map_err(|_| AwsError::new("SerializationException", 400, "Unable to parse the request body as JSON."))?
    };
    let model = state.json_models.get(&service).ok_or_else(unknown)?;
    let op = model.operation(operation).ok_or_else(unknown)?;
    crate::request_scope::label(service.signing_name(), &op.name);
    let violations = model.check_json(op, &input);
    if !violations.is_empty() {
        return Err(service.invalid(&violations));
    }
    let has_output = op.has_output;
    let iam = &state.iam;
    let (writes, op_name) = match service {
        JsonService::Organizations => OrganizationsOperation::parse(operation).map(|o| (o.spec().writes, o.name())),
        JsonService::IdentityStore => IdentityStoreOperation::parse(operation).map(|o| (o.spec().writes, o.name())),
        JsonService::SsoAdmin => SsoAdminOperation::parse(operation).map(|o| (o.spec().writes, o.name())),
        JsonService::CloudTrail => CloudTrailOperation::parse(operation).map(|o| (o.spec().writes, o.name())),
    }
    .ok_or_else(unknown)?;
    let call = portcullis_core::audit::ApiCall {
        caller: &caller,
        event_source: service.event_source(),
        event_name: op_name,
        regional: service.regional(),
        read_only: !writes,
        request_id,
        parameters: input.clone(),
    };
    let work = async {
        match service {
            JsonService::Organizations => {
                let op = OrganizationsOperation::parse(operation).ok_or_else(unknown)?;
                crate::organizations::dispatch(iam, &caller, op, &input).await.map_err(|e| service.error(e))
            }
            JsonService::IdentityStore => {
                let op = IdentityStoreOperation::parse(operation).ok_or_else(unknown)?;
                crate::identity_center::dispatch_identity_store(iam, &caller, op, &input).await.map_err(|e| service.error(e))
            }
            JsonService::SsoAdmin => {
                let op = SsoAdminOperation::parse(operation).ok_or_else(unknown)?;
                crate::identity_center::dispatch_sso_admin(iam, &caller, op, &input).await.map_err(|e| service.error(e))
            }
            JsonService::CloudTrail => {
                let op = CloudTrailOperation::parse(operation).ok_or_else(unknown)?;
                let auth = iam.authorize_operation(&caller, &op.spec(), &flat_params(&input)).await.map_err(|e| service.error(e))?;
                match op {
                    CloudTrailOperation::LookupEvents => iam.lookup_events(&auth, &input).await.map_err(|e| service.error(e)),
                }
            }
        }
    };
    let result = iam
        .record_call(call, work, |result| match result {
            Ok(out) => CallOutcome::Success(Some(out.clone()).filter(|_| writes && has_output)),
            Err(e) => CallOutcome::Failure { code: &e.code, message: e.message.clone() },
        })
        .await;
    let out = result?;
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
