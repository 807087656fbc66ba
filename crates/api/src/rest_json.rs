//! AWS's REST-JSON protocol: each operation has its own method and path (`POST
//! /putAlternateContact`, `GET /federation/credentials`), input members come from the JSON
//! body, the query string and headers as the model binds them, and errors carry the
//! `x-amzn-ErrorType` header with a JSON body. The services spoken this way are told apart
//! by their paths ([`RestService`]).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::audit::CallOutcome;
use portcullis_core::{AccountOperation, IamError, SsoOidcOperation, SsoPortalOperation};
use portcullis_protocol::{AwsError, OperationSpec, ServiceModel, ViolationKind};
use serde_json::{Map, Value};

use crate::{AppState, MAX_BODY_BYTES};

/// A service of the REST-JSON protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RestService {
    Account,
    SsoOidc,
    SsoPortal,
}

impl RestService {
    pub(crate) const ALL: [Self; 3] = [Self::Account, Self::SsoOidc, Self::SsoPortal];

    /// The SigV4 signing name, for the services whose requests are signed.
    fn signing_name(self) -> Option<&'static str> {
        match self {
            Self::Account => Some("account"),
            Self::SsoOidc | Self::SsoPortal => None,
        }
    }

    pub(crate) fn model_gz(self) -> &'static [u8] {
        match self {
            Self::Account => portcullis_protocol::ACCOUNT_MODEL_GZ,
            Self::SsoOidc => portcullis_protocol::SSO_OIDC_MODEL_GZ,
            Self::SsoPortal => portcullis_protocol::SSO_MODEL_GZ,
        }
    }

    /// The names of the operations its table serves.
    pub(crate) fn served(self) -> Vec<&'static str> {
        match self {
            Self::Account => AccountOperation::ALL.iter().map(|o| o.name()).collect(),
            Self::SsoOidc => SsoOidcOperation::ALL.iter().map(|o| o.name()).collect(),
            Self::SsoPortal => SsoPortalOperation::ALL.iter().map(|o| o.name()).collect(),
        }
    }

    /// Model violations the operation answers itself: the Account API refuses an unknown
    /// alternate contact type as an authorization failure, as AWS does.
    fn decided_later(self, v: &portcullis_protocol::Violation) -> bool {
        self == Self::Account && v.kind == ViolationKind::Enum && v.label == "alternateContactType"
    }

    /// How a domain error goes on the wire: (status, exception name, body members).
    fn error(self, e: IamError) -> (u16, String, Map<String, Value>) {
        let mut body = Map::new();
        let (status, code) = match e {
            // The OpenID Connect service answers with OAuth's `error` and `error_description`.
            IamError::Service { code, message, fields } => {
                if self != Self::SsoOidc || fields.is_empty() {
                    body.insert("message".into(), Value::String(message));
                }
                for (k, v) in fields {
                    body.insert(k.to_owned(), Value::String(v));
                }
                let status = match (self, code) {
                    (Self::SsoOidc, "InvalidClientException") => 401,
                    (Self::SsoOidc, "InternalServerException") => 500,
                    (Self::SsoOidc, _) => 400,
                    _ => status_of(code),
                };
                (status, code.to_owned())
            }
            IamError::AccessDenied(m) => {
                body.insert("message".into(), Value::String(m));
                (403, "AccessDeniedException".to_owned())
            }
            IamError::ServiceFailure(cause) => {
                tracing::error!(cause = %cause, "internal failure");
                body.insert("message".into(), Value::String("The request processing has failed because of an unknown error, exception or failure.".into()));
                (500, "InternalServerException".to_owned())
            }
            other => {
                body.insert("message".into(), Value::String(other.public_message()));
                (400, "ValidationException".to_owned())
            }
        };
        (status, code, body)
    }
}

/// The HTTP status each exception has in the REST-JSON services' models (sso-oidc answers
/// its own `AccessDeniedException` with 400: it has no 403).
fn status_of(code: &str) -> u16 {
    match code {
        "InvalidClientException" | "UnauthorizedException" => 401,
        "AccessDeniedException" => 403,
        "ResourceNotFoundException" => 404,
        "ConflictException" => 409,
        "TooManyRequestsException" => 429,
        "InternalServerException" => 500,
        _ => 400,
    }
}

/// The operations of every REST-JSON service, by method and path.
pub(crate) struct Routes {
    models: HashMap<RestService, ServiceModel>,
    /// (method, path, fixed query) → (service, operation name).
    by_path: Vec<(String, String, Option<String>, RestService, String)>,
}

impl Routes {
    pub(crate) fn load() -> Result<Self, String> {
        let mut models = HashMap::new();
        let mut by_path = Vec::new();
        for service in RestService::ALL {
            let model = ServiceModel::load_gz(service.model_gz())?;
            if let Some(name) = service.served().into_iter().find(|n| model.operation(n).is_none()) {
                return Err(format!("operation {name} of the operation table is not in its service model"));
            }
            for op in model.operations() {
                let (path, query) = match op.request_uri.split_once('?') {
                    Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
                    None => (op.request_uri.clone(), None),
                };
                by_path.push((op.http_method.clone(), path, query, service, op.name.clone()));
            }
            models.insert(service, model);
        }
        // Routes with a fixed query first, so `/token?aws_iam=t` wins over `/token`.
        by_path.sort_by_key(|r| r.2.is_none());
        Ok(Self { models, by_path })
    }

    /// The service and operation a request's method and path name, if any.
    pub(crate) fn find(&self, method: &str, path: &str, query: &str) -> Option<(RestService, &OperationSpec)> {
        let (_, _, _, service, name) = self.by_path.iter().find(|(m, p, q, _, _)| {
            m == method && p == path && q.as_deref().is_none_or(|q| query.split('&').any(|kv| kv == q))
        })?;
        Some((*service, self.models.get(service)?.operation(name)?))
    }
}

pub(crate) async fn handle(state: Arc<AppState>, req: Request, request_id: &str) -> Response {
    let (status, code, body) = match process(&state, req, request_id).await {
        Ok(body) => (StatusCode::OK, None, body),
        Err((status, code, body)) => {
            if status >= 500 {
                tracing::error!(request_id, code = %code, "request failed");
            } else {
                tracing::debug!(request_id, code = %code, "request refused");
            }
            (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), Some(code), Value::Object(body).to_string())
        }
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    if let Some(v) = code.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert("x-amzn-ErrorType", v);
    }
    resp
}

type Failure = (u16, String, Map<String, Value>);

fn failure(e: AwsError) -> Failure {
    let mut body = Map::new();
    body.insert("message".into(), Value::String(e.message));
    for (k, v) in e.fields {
        body.insert(k.to_owned(), Value::String(v));
    }
    (e.status, e.code.to_string(), body)
}

async fn process(state: &AppState, req: Request, request_id: &str) -> Result<String, Failure> {
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| failure(AwsError::new("RequestEntityTooLarge", 413, "Request body is larger than the service accepts.")))?;
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let unknown = || failure(AwsError::new("UnknownOperationException", 404, "The requested operation is not supported."));
    let (service, op) = state.rest_routes.find(parts.method.as_str(), parts.uri.path(), &query).ok_or_else(unknown)?;
    crate::request_scope::label(service.signing_name().unwrap_or("sso"), &op.name);
    let model = state.rest_routes.models.get(&service).ok_or_else(unknown)?;
    let caller = match service.signing_name() {
        Some(name) => Some(crate::resolve_caller(state, &parts, &query, &body, name).await.map_err(|e| failure(crate::json_protocol::auth_error(e)))?),
        None => None,
    };

    // The input: the JSON body, then members bound to the query string and headers.
    let mut input = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice(&body) {
            Ok(Value::Object(m)) => m,
            _ => return Err(failure(AwsError::new("SerializationException", 400, "Unable to parse the request body as JSON."))),
        }
    };
    let params = portcullis_protocol::QueryParams::parse(&query, b"").map_err(failure)?;
    for (member, location, wire) in &op.bindings {
        let value = match location.as_str() {
            "querystring" => params.get(wire).map(str::to_owned),
            "header" => parts.headers.get(wire.as_str()).and_then(|v| v.to_str().ok()).map(str::to_owned),
            _ => None,
        };
        if let Some(v) = value {
            let number = op.input.as_deref().is_some_and(|i| model.member_is_integer(i, member));
            let json = match v.parse::<i64>() {
                Ok(n) if number => Value::from(n),
                _ => Value::String(v),
            };
            input.insert(member.clone(), json);
        }
    }
    let input = Value::Object(input);
    let mut violations = model.check_json(op, &input);
    violations.retain(|v| !service.decided_later(v));
    if let Some(v) = violations.iter().find(|v| v.kind == ViolationKind::Type) {
        return Err(failure(AwsError::new("SerializationException", 400, v.message.clone())));
    }
    if let Some(first) = violations.first() {
        match service {
            RestService::SsoPortal if first.label == "accessToken" => {
                return Err(failure(AwsError::new("UnauthorizedException", 401, "Session token not found or invalid")));
            }
            RestService::SsoPortal => return Err(failure(AwsError::new("InvalidRequestException", 400, first.message.clone()))),
            RestService::SsoOidc => {
                let e = AwsError::new("InvalidRequestException", 400, "").with_field("error", "invalid_request").with_field("error_description", first.message.clone());
                let (status, code, mut body) = failure(e);
                body.remove("message");
                return Err((status, code, body));
            }
            RestService::Account => {}
        }
        let messages: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
        let message = match messages.len() {
            1 => format!("1 validation error detected: {}", messages[0]),
            n => format!("{n} validation errors detected: {}", messages.join("; ")),
        };
        return Err(failure(AwsError::new("ValidationException", 400, message).with_reason("fieldValidationFailed")));
    }

    let out = match (service, &caller) {
        (RestService::Account, Some(caller)) => {
            let op = AccountOperation::parse(&op.name).ok_or_else(unknown)?;
            let writes = op.spec().writes;
            let call = portcullis_core::audit::ApiCall {
                caller,
                event_source: "account.amazonaws.com",
                event_name: op.name(),
                regional: false,
                read_only: !writes,
                request_id,
                parameters: input.clone(),
            };
            state
                .iam
                .record_call(call, crate::account_api::dispatch(&state.iam, caller, op, &input), |result| match result {
                    Ok(out) => CallOutcome::Success(Some(out.clone()).filter(|o| writes && o.as_object().is_some_and(|m| !m.is_empty()))),
                    Err(e) => CallOutcome::Failure { code: e.code(), message: e.public_message() },
                })
                .await
        }
        (RestService::SsoOidc, _) => {
            let op = SsoOidcOperation::parse(&op.name).ok_or_else(unknown)?;
            crate::portal_api::dispatch_oidc(&state.iam, op, &input, &crate::authenticate::unsigned_facts(&parts), request_id).await
        }
        (RestService::SsoPortal, _) => {
            let op = SsoPortalOperation::parse(&op.name).ok_or_else(unknown)?;
            crate::portal_api::dispatch_portal(&state.iam, op, &input, &crate::authenticate::unsigned_facts(&parts), request_id).await
        }
        (RestService::Account, None) => return Err(unknown()),
    }
    .map_err(|e| service.error(e))?;
    Ok(if out.as_object().is_some_and(Map::is_empty) { String::new() } else { out.to_string() })
}
