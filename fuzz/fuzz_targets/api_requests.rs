//! Whole requests through the real router, in-process: the query-protocol decoder and every
//! IAM and STS operation's validation and dispatch (as the test mode's root user, so that no
//! signature is needed to get deep: policy documents of CreatePolicy and PutUserPolicy, the
//! simulator's policies and context entries, tags), the authorization endpoint's JSON with
//! its context values, and the sign-in JSON. State is an in-memory SQLite database that
//! lives for the whole run.
//!
//! Invariants: every answer is AWS-shaped (an XML `ErrorResponse` or `…Response`, or a JSON
//! object, with an `x-amzn-RequestId` header), and none is `InternalFailure`, which is what a
//! panic on a request's path becomes.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use libfuzzer_sys::fuzz_target;

#[path = "shared/text.rs"]
mod text;
use text::S;
use serde_json::{json, Value};
use tower::ServiceExt;

const ACCOUNT: &str = "123456789012";
const EMAIL: &str = "root@example.com";

/// IAM and STS operations whose inputs reach the policy language, tags, names and paths.
const ACTIONS: &[&str] = &[
    "CreatePolicy",
    "PutUserPolicy",
    "PutRolePolicy",
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "CreateUser",
    "TagUser",
    "SimulateCustomPolicy",
    "SimulatePrincipalPolicy",
    "GetContextKeysForCustomPolicy",
    "CreatePolicyVersion",
    "ListPolicies",
    "GetUser",
    "CreateLoginProfile",
    "UpdateAccountPasswordPolicy",
    "CreateVirtualMFADevice",
    "EnableMFADevice",
    "AssumeRole",
    "GetSessionToken",
    "DecodeAuthorizationMessage",
    "GetAccessKeyInfo",
];

const NAMES: &[&str] = &[
    "PolicyDocument",
    "AssumeRolePolicyDocument",
    "PolicyInputList.member.1",
    "PolicyInputList.member.2",
    "PermissionsBoundaryPolicyInputList.member.1",
    "ResourcePolicy",
    "ActionNames.member.1",
    "ResourceArns.member.1",
    "ContextEntries.member.1.ContextKeyName",
    "ContextEntries.member.1.ContextKeyValues.member.1",
    "ContextEntries.member.1.ContextKeyValues.member.2",
    "ContextEntries.member.1.ContextKeyType",
    "PolicyName",
    "PolicyArn",
    "PolicySourceArn",
    "UserName",
    "RoleName",
    "RoleArn",
    "RoleSessionName",
    "Policy",
    "Path",
    "Tags.member.1.Key",
    "Tags.member.1.Value",
    "Marker",
    "MaxItems",
    "Password",
    "SerialNumber",
    "TokenCode",
    "DurationSeconds",
    "VirtualMFADeviceName",
    "AuthenticationCode1",
    "EncodedMessage",
    "AccessKeyId",
    "MinimumPasswordLength",
];

const VALUES: &[&str] = &[
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00+01:00"}}}}"#,
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:iam::*:user/${aws:username}","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":["a*","b?"]},"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#,
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}}}"#,
    "2020-01-01T00:00:00Z",
    "2020-01-01T00:00+01:00",
    "1700000000",
    "date",
    "dateList",
    "string",
    "numeric",
    "boolean",
    "ip",
    "aws:CurrentTime",
    "aws:RequestTag/d",
    "iam:GetUser",
    "arn:aws:iam::123456789012:user/fuzz",
    "arn:aws:iam::123456789012:role/fuzz",
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "fuzz",
    "/a/b/",
    "Str0ng!Passw0rd",
    "123456",
    "900",
    "10",
    "",
];


#[derive(Arbitrary, Debug)]
enum Call {
    /// A query-protocol request: Action, Version (IAM's or STS's), parameters, and raw bytes
    /// appended to the form body.
    Query { action: S, sts: bool, params: Vec<(S, S)>, raw: Vec<u8>, get: bool },
    /// `/_portcullis/authorize`, structured (a signed-looking request, context values) or raw.
    Authorize { action: S, resource: S, context: Vec<(S, Vec<S>)>, authorization: S },
    AuthorizeRaw(Vec<u8>),
    /// `/_portcullis/signin`, structured or raw.
    SignIn { account: S, user: S, password: S, code: Option<S> },
    SignInRaw(Vec<u8>),
    /// The console's unsigned pages: a form posted to one of its sign-in steps (with
    /// cookies), or a page fetched by path.
    ConsoleForm { path: u8, fields: Vec<(S, S)>, raw: Vec<u8>, cookie: S },
    ConsoleGet { path: S },
}

const CONSOLE_POSTS: &[&str] = &["/signin", "/signin/step/root", "/signin/step/mfa", "/signin/step/password", "/signout", "/console/alias", "/console/users/create"];
const CONSOLE_FIELDS: &[&str] = &["csrf", "email", "account", "user_name", "password", "mfa_code", "mfa_serial", "new_password", "confirm_password", "op", "group"];
const CONSOLE_PATHS: &[&str] = &["/signin", "/signin?kind=root", "/signin/123456789012", "/console", "/console/users", "/console/policy?arn=", "/"];

fn runtime_and_app() -> &'static (tokio::runtime::Runtime, Router) {
    static APP: OnceLock<(tokio::runtime::Runtime, Router)> = OnceLock::new();
    APP.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let app = rt.block_on(async {
            let store = std::sync::Arc::new(portcullis_store_sql::SqlStore::connect("sqlite::memory:").await.expect("store"));
            let key = portcullis_credentials::SecretBox::generate_key().expect("key");
            let secrets = std::sync::Arc::new(portcullis_credentials::SecretBox::new(&key).expect("secret box"));
            let clock: std::sync::Arc<dyn portcullis_types::Clock> = std::sync::Arc::new(portcullis_types::SystemClock);
            let iam = portcullis_core::Iam::new(store, clock, secrets).expect("iam");
            iam.reset_all(ACCOUNT, EMAIL).await.expect("reset");
            iam.ensure_account(EMAIL, None).await.expect("account");
            let state = portcullis_api::AppState::new(iam, None)
                .expect("state")
                .with_test_mode(portcullis_api::TestMode::new(ACCOUNT, EMAIL, true));
            portcullis_api::router(state)
        });
        (rt, app)
    })
}

/// Signed-looking headers with a key nobody issued: the test mode takes them as root.
const TEST_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIAFUZZFUZZFUZZFUZZ/20260101/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// The HTTP request a call makes; `None` when no client could send it (a URI with bytes
/// a URI cannot hold).
fn request(call: &Call) -> Option<Request<Body>> {
    let builder = Request::builder().header("host", "localhost").header("x-amz-date", "20260101T000000Z");
    match call {
        Call::Query { action, sts, params, raw, get } => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", &action.get(ACTIONS));
            form.append_pair("Version", if *sts { "2011-06-15" } else { "2010-05-08" });
            for (k, v) in params.iter().take(12) {
                form.append_pair(&k.get(NAMES), &v.get(VALUES));
            }
            let mut body = form.finish().into_bytes();
            body.extend_from_slice(raw);
            let auth = TEST_AUTH.replace("/iam/", if *sts { "/sts/" } else { "/iam/" });
            if *get {
                let query = String::from_utf8_lossy(&body).into_owned();
                builder.method(Method::GET).uri(format!("/?{}", query.replace(['#', ' '], "%20"))).header("authorization", auth).body(Body::empty())
            } else {
                builder
                    .method(Method::POST)
                    .uri("/")
                    .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
                    .header("authorization", auth)
                    .body(Body::from(body))
            }
        }
        Call::Authorize { action, resource, context, authorization } => {
            let context: serde_json::Map<String, Value> = context
                .iter()
                .take(6)
                .map(|(k, vs)| (k.get(VALUES).into_owned(), Value::Array(vs.iter().take(3).map(|v| Value::String(v.get(VALUES).into_owned())).collect())))
                .collect();
            let body = json!({
                "request": {"method": "POST", "path": "/", "query": "",
                            "headers": [["host", "ec2.amazonaws.com"], ["x-amz-date", "20260101T000000Z"], ["authorization", authorization.get(&[TEST_AUTH]).into_owned()]],
                            "body": ""},
                "action": action.get(VALUES), "resource": resource.get(VALUES), "context": context,
            });
            builder.method(Method::POST).uri("/_portcullis/authorize").body(Body::from(body.to_string()))
        }
        Call::AuthorizeRaw(bytes) => builder.method(Method::POST).uri("/_portcullis/authorize").body(Body::from(bytes.clone())),
        Call::SignIn { account, user, password, code } => {
            let mut body = json!({"account": account.get(&[ACCOUNT]), "user_name": user.get(VALUES), "password": password.get(VALUES)});
            if let Some(c) = code {
                body["mfa_code"] = Value::String(c.get(VALUES).into_owned());
            }
            builder.method(Method::POST).uri("/_portcullis/signin").body(Body::from(body.to_string()))
        }
        Call::SignInRaw(bytes) => builder.method(Method::POST).uri("/_portcullis/signin").body(Body::from(bytes.clone())),
        Call::ConsoleForm { path, fields, raw, cookie } => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields.iter().take(8) {
                form.append_pair(&k.get(CONSOLE_FIELDS), &v.get(VALUES));
            }
            let mut body = form.finish().into_bytes();
            body.extend_from_slice(raw);
            builder
                .method(Method::POST)
                .uri(CONSOLE_POSTS[usize::from(*path) % CONSOLE_POSTS.len()])
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "text/html")
                .header("cookie", cookie.get(&["portcullis-signin=x; portcullis-pending=y; portcullis-session=z"]).as_ref())
                .body(Body::from(body))
        }
        Call::ConsoleGet { path } => builder.method(Method::GET).uri(path.get(CONSOLE_PATHS).as_ref()).header("accept", "text/html").body(Body::empty()),
    }
    .ok()
}

fuzz_target!(|calls: Vec<Call>| {
    let (rt, app) = runtime_and_app();
    for call in calls.iter().take(4) {
        let Some(req) = request(call) else { continue };
        let resp = rt.block_on(app.clone().oneshot(req)).expect("infallible");
        let status = resp.status();
        let request_id = resp.headers().get("x-amzn-RequestId").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let body = rt.block_on(axum::body::to_bytes(resp.into_body(), usize::MAX)).expect("body");
        let text = String::from_utf8_lossy(&body);
        assert!(request_id.is_some(), "no request id: {status} {text}");
        assert!(!text.contains("InternalFailure"), "a panic on the request's path: {call:?} -> {status} {text}");
        if content_type.starts_with("text/html") || status.is_redirection() {
            // Console pages: HTML or a redirect, never an internal failure.
            assert!(status.as_u16() < 500, "{call:?} -> {status} {text}");
        } else if content_type.starts_with("text/xml") {
            assert!(text.starts_with('<') && text.contains("RequestId"), "{status} {text}");
        } else {
            assert!(content_type.starts_with("application/json"), "{status} {content_type:?} {text}");
            assert!(serde_json::from_slice::<Value>(&body).is_ok_and(|v| v.is_object()), "{status} {text}");
        }
    }
});
