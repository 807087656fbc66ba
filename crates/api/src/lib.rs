//! The HTTP face of Portcullis: one axum router that serves every AWS API on one port.
//! A request flows decode → authenticate (SigV4) → validate (service model) → authorize
//! and run (core) → encode (AWS XML), and every failure leaves as AWS's error envelope.

mod admin_endpoints;
mod authenticate;
mod authorization_endpoint;
mod console_endpoints;
mod encode;
mod iam;
mod account_api;
mod identity_center;
mod json_protocol;
pub mod metrics;
mod organizations;
mod portal_api;
mod request_scope;
mod rest_json;
mod sts;
mod test_mode;
mod transport;

pub use request_scope::{install_panic_hook, RequestId};
pub use test_mode::TestMode;
pub use transport::{serve, serve_with, ShapedIo, Tls};

use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use portcullis_core::audit::CallOutcome;
use portcullis_core::{Caller, Iam, IamError, IamOperation, StsOperation};
use portcullis_protocol::{query_error_body, query_response_body, AwsError, QueryParams, ServiceModel};

pub(crate) const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub(crate) const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
/// AWS caps query-protocol requests well below this; anything larger is refused unread.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    iam: Iam,
    /// The web console's routes, merged into the router.
    console: Router,
    /// Present only in `--test-clock` mode.
    test_clock: Option<Arc<portcullis_types::OffsetClock>>,
    /// Present only in the `--ephemeral` test mode.
    test_mode: Option<Arc<TestMode>>,
    iam_model: Arc<ServiceModel>,
    sts_model: Arc<ServiceModel>,
    /// The models of the JSON 1.1 services, by service.
    json_models: Arc<std::collections::HashMap<json_protocol::JsonService, ServiceModel>>,
    /// The REST-JSON services' operations, by method and path.
    rest_routes: Arc<rest_json::Routes>,
}

impl AppState {
    pub fn new(iam: Iam, test_clock: Option<Arc<portcullis_types::OffsetClock>>) -> Result<Self, String> {
        // The metrics recorder from the start (requests before the first scrape count too),
        // with its upkeep running.
        metrics::handle();
        let iam_model = ServiceModel::load_gz(portcullis_protocol::IAM_MODEL_GZ)?;
        let sts_model = ServiceModel::load_gz(portcullis_protocol::STS_MODEL_GZ)?;
        check_operation_tables(&iam_model, &sts_model)?;
        let mut json_models = std::collections::HashMap::new();
        for service in json_protocol::JsonService::ALL {
            let model = ServiceModel::load_gz(service.model_gz())?;
            if let Some(name) = service.served().into_iter().find(|n| model.operation(n).is_none()) {
                return Err(format!("operation {name} of the operation table is not in its service model"));
            }
            json_models.insert(service, model);
        }
        Ok(Self {
            console: portcullis_console::router(iam.clone())?,
            iam,
            test_clock,
            test_mode: None,
            iam_model: Arc::new(iam_model),
            sts_model: Arc::new(sts_model),
            json_models: Arc::new(json_models),
            rest_routes: Arc::new(rest_json::Routes::load()?),
        })
    }
}

impl AppState {
    /// Turns on the ephemeral test mode.
    pub fn with_test_mode(mut self, mode: TestMode) -> Self {
        self.test_mode = Some(Arc::new(mode));
        self
    }
}

pub fn router(state: AppState) -> Router {
    let console = state.console.clone();
    let router = Router::new()
        .route("/_portcullis/health", axum::routing::get(admin_endpoints::health))
        .route("/metrics", axum::routing::get(metrics::render))
        .route("/_portcullis/ready", axum::routing::get(admin_endpoints::ready))
        .route("/_portcullis/authorize", axum::routing::post(authorization_endpoint::authorize))
        .route("/_portcullis/security-status", axum::routing::get(admin_endpoints::security_status))
        .route("/_portcullis/identity-center/one-time-password", axum::routing::post(admin_endpoints::one_time_password))
        .route("/_portcullis/identity-center/mfa-settings", axum::routing::post(admin_endpoints::mfa_settings))
        .route("/_portcullis/identity-center/invitation", axum::routing::post(admin_endpoints::invitation))
        .route("/_portcullis/signin", axum::routing::post(console_endpoints::sign_in))
        .route("/_portcullis/root/mfa-device", axum::routing::post(console_endpoints::enable_root_mfa_device))
        .route("/_portcullis/clock", axum::routing::post(admin_endpoints::clock))
        .route("/_portcullis/notifications", axum::routing::get(admin_endpoints::notifications))
        .route("/_portcullis/oidc/{issuer}/.well-known/openid-configuration", axum::routing::get(admin_endpoints::oidc_discovery))
        .route("/_portcullis/oidc/{issuer}/.well-known/jwks.json", axum::routing::get(admin_endpoints::oidc_jwks))
        .route("/_portcullis/reset", axum::routing::post(test_mode::reset))
        .route("/moto-api/reset", axum::routing::post(test_mode::moto_reset))
        .route("/moto-api/reset-auth", axum::routing::post(test_mode::moto_reset_auth))
        .method_not_allowed_fallback(request_scope::method_not_allowed)
        .fallback(handle)
        // Shared behind one Arc: handlers then cost one reference count per request, not
        // one per field.
        .with_state(Arc::new(state))
        .merge(console);
    with_request_scope(router)
}

/// Gives every request of `router` its request id and answers a panic on its path with
/// AWS's `InternalFailure` (see `request_scope`).
pub fn with_request_scope(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(request_scope::request_scope))
}

/// Which query-protocol service a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Iam,
    Sts,
}

impl Service {
    /// The SigV4 signing name of the service.
    fn signing_name(self) -> &'static str {
        match self {
            Self::Iam => "iam",
            Self::Sts => "sts",
        }
    }

    /// The `eventSource` of its calls' events.
    fn event_source(self) -> &'static str {
        match self {
            Self::Iam => "iam.amazonaws.com",
            Self::Sts => "sts.amazonaws.com",
        }
    }

    fn namespace(self) -> &'static str {
        match self {
            Self::Iam => IAM_NS,
            Self::Sts => STS_NS,
        }
    }
}

struct Reply {
    status: StatusCode,
    body: String,
}

async fn handle(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if is_browser_visit(&req) {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, "/console")]).into_response();
    }
    let request_id = match req.extensions().get::<RequestId>() {
        Some(id) => id.0.clone(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    if json_protocol::is_json_request(&req) {
        return json_protocol::handle(state, req, &request_id).await;
    }
    if req.uri().path() != "/" && state.rest_routes.find(req.method().as_str(), req.uri().path(), req.uri().query().unwrap_or_default()).is_some() {
        return rest_json::handle(state, req, &request_id).await;
    }
    let reply = match process(&state, req, &request_id).await {
        Ok(r) => r,
        Err((service, err)) => {
            if err.status >= 500 {
                tracing::error!(request_id, code = %err.code, "request failed");
            } else {
                tracing::debug!(request_id, code = %err.code, error_message = %err.message, "request refused");
            }
            Reply {
                status: StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST),
                body: query_error_body(service.namespace(), &err, &request_id),
            }
        }
    };
    let mut resp = (reply.status, reply.body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    resp
}

fn iam_error(e: IamError) -> AwsError {
    match &e {
        IamError::ServiceFailure(cause) => tracing::error!(request_id = request_scope::current_request_id(), cause = %cause, "internal failure"),
        IamError::ServiceUnavailable(cause) => {
            tracing::warn!(request_id = request_scope::current_request_id(), cause = %cause, "the database is unavailable")
        }
        _ => {}
    }
    AwsError::new(e.code(), e.status(), e.public_message())
}

async fn process(state: &AppState, req: Request, request_id: &str) -> Result<Reply, (Service, AwsError)> {
    let (parts, body) = req.into_parts();
    // Until the request names its service, errors are worded as IAM's.
    let early = |e: AwsError| (Service::Iam, e);
    if parts.method != Method::POST && parts.method != Method::GET {
        return Err(early(AwsError::new("InvalidAction", 400, format!("The HTTP method {} is not supported.", parts.method))));
    }
    let body = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| early(AwsError::new("RequestEntityTooLarge", 413, "Request body is larger than the service accepts.")))?;
    let query = parts.uri.query().unwrap_or_default();
    let form_body: &[u8] = if is_form(&parts.headers) || parts.method == Method::GET { &body } else { b"" };
    let params = QueryParams::parse(query, form_body).map_err(early)?;
    let service = match (params.get("Version"), authenticate::scope_service(&parts.headers, query)) {
        (Some("2011-06-15"), _) | (None, Some("sts")) => Service::Sts,
        _ => Service::Iam,
    };
    let fail = |e: AwsError| (service, e);

    // Operations that carry their own proof (a web identity token) are not signed.
    let unsigned = service == Service::Sts
        && params
            .get("Action")
            .and_then(StsOperation::parse)
            .is_some_and(|op| op.spec().authorization == portcullis_core::Authorization::Unsigned);
    let caller = if unsigned {
        unsigned_caller(authenticate::unsigned_facts(&parts))
    } else {
        resolve_caller(state, &parts, query, &body, service.signing_name()).await.map_err(fail)?
    };
    // STS is regional: an opt-in Region the account has not enabled does not know its keys.
    if service == Service::Sts {
        region_check(state, &caller).await.map_err(fail)?;
    }

    let model = match service {
        Service::Iam => &state.iam_model,
        Service::Sts => &state.sts_model,
    };
    let action = params
        .get("Action")
        .ok_or_else(|| fail(AwsError::new("MissingAction", 400, "Missing Action")))?;
    let version = params.get("Version").unwrap_or("NO_VERSION_SPECIFIED");
    let op = model.operation(action).filter(|_| version == model.api_version).ok_or_else(|| {
        fail(AwsError::new("InvalidAction", 400, format!("Could not find operation {action} for version {version}")))
    })?;
    request_scope::label(service.signing_name(), &op.name);
    model.validate(op, &params).map_err(fail)?;

    // In the model but not served (yet): answered like an unknown action, so clients fail
    // clearly instead of misreading an empty result.
    let unknown = || fail(iam_error(portcullis_core::unknown_operation(action, version)));
    let writes = match service {
        Service::Iam => IamOperation::parse(action).map(|o| o.spec().writes),
        Service::Sts => StsOperation::parse(action).map(|o| o.spec().writes),
    }
    .ok_or_else(unknown)?;
    let call = portcullis_core::audit::ApiCall {
        caller: &caller,
        event_source: service.event_source(),
        event_name: action,
        regional: service == Service::Sts,
        read_only: !writes,
        request_id,
        parameters: portcullis_core::audit::query_parameters(params.iter()),
    };
    let work = async {
        match service {
            Service::Iam => iam::dispatch(&state.iam, &caller, IamOperation::parse(action).ok_or_else(unknown)?, &params).await,
            Service::Sts => sts::dispatch(&state.iam, &caller, StsOperation::parse(action).ok_or_else(unknown)?, &params).await,
        }
        .map_err(|e| fail(iam_error(e)))
    };
    let result = state
        .iam
        .record_call(call, work, |result| match result {
            Ok(out) => CallOutcome::Success(out.as_ref().filter(|_| writes && op.has_output).and_then(|w| portcullis_core::audit::xml_result(w.as_str()))),
            Err((_, e)) => CallOutcome::Failure { code: &e.code, message: e.message.clone() },
        })
        .await;
    let result = result?;
    Ok(Reply {
        status: StatusCode::OK,
        body: query_response_body(action, service.namespace(), request_id, result.filter(|_| op.has_output)),
    })
}

/// Who signed a request for `signing_name`: SigV4 checked against the stored keys, or, in
/// the test mode, the test account's root user for a key Portcullis never issued.
pub(crate) async fn resolve_caller(state: &AppState, parts: &axum::http::request::Parts, query: &str, body: &[u8], signing_name: &str) -> Result<Caller, AwsError> {
    Ok(match &state.test_mode {
        Some(mode) if mode.take_unchecked() => test_root(mode),
        Some(mode) if mode.accepts_any_credentials() => {
            match authenticate::authenticate(&state.iam, parts, query, body, signing_name).await {
                // A key Portcullis never issued is taken as the root user, as moto does;
                // keys created through the API are still checked for real.
                Err(e) if e.code == "InvalidClientTokenId" || e.code == "MissingAuthenticationToken" => test_root(mode),
                other => other?,
            }
        }
        _ => authenticate::authenticate(&state.iam, parts, query, body, signing_name).await?,
    })
}

/// Refuses a request of a regional service signed for an opt-in Region its account has not
/// enabled, as AWS does: the keys are unknown there.
pub(crate) async fn region_check(state: &AppState, caller: &Caller) -> Result<(), AwsError> {
    if caller.account_id.is_empty() || caller.request.region.is_empty() {
        return Ok(());
    }
    match state.iam.region_enabled(&caller.account_id, &caller.request.region).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(AwsError::new("InvalidClientTokenId", 403, "The security token included in the request is invalid.")),
        Err(e) => Err(iam_error(e)),
    }
}

/// Every operation of the tables must be one of the service's model (which decodes and
/// validates it), or it could never be reached.
pub fn check_operation_tables(iam: &ServiceModel, sts: &ServiceModel) -> Result<(), String> {
    let iam_ops = IamOperation::ALL.iter().map(|o| (iam, o.name()));
    let sts_ops = StsOperation::ALL.iter().map(|o| (sts, o.name()));
    match iam_ops.chain(sts_ops).find(|(model, name)| model.operation(name).is_none()) {
        Some((_, name)) => Err(format!("operation {name} of the operation table is not in its service model")),
        None => Ok(()),
    }
}

/// Stands in for the caller of an unsigned operation, which the operation itself decides:
/// an identity with no account and no policies, which any other decision would deny.
fn unsigned_caller(request: portcullis_core::RequestFacts) -> Caller {
    Caller {
        account_id: String::new(),
        principal: portcullis_core::Principal::ProviderUser { protocol: portcullis_core::Federation::WebIdentity, provider_arn: String::new(), subject: String::new() },
        access_key_id: String::new(),
        session: None,
        request,
    }
}

/// The root user of the test-mode account.
fn test_root(mode: &TestMode) -> Caller {
    Caller {
        account_id: mode.account_id.clone(),
        principal: portcullis_core::Principal::Root,
        access_key_id: String::new(),
        session: None,
        request: Default::default(),
    }
}

/// A browser opening the server's address: `GET /` with no `Action` and no signature. (An
/// API request always names its action; one without is still answered as the API would.)
fn is_browser_visit(req: &Request) -> bool {
    req.method() == Method::GET
        && req.uri().path() == "/"
        && req.uri().query().unwrap_or_default().is_empty()
        && !req.headers().contains_key(header::AUTHORIZATION)
        && req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}
