//! The JSON protocols through the real router, in-process: JSON 1.1 requests (`POST /` with
//! `X-Amz-Target`: Organizations `AWSOrganizationsV20161128`, Identity Store
//! `AWSIdentityStore`, Identity Center's admin API `SWBExternalService`, CloudTrail
//! `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`) and REST-JSON requests (the
//! Account Management API's `POST /getAlternateContact`…, the access portal's OIDC
//! `/client/register`, `/device_authorization`, `/token`, and its `sso` API
//! `/federation/credentials`, `/assignment/…`, `/logout`), with the members bound to the
//! query string and headers where the model puts them. Signed requests are signed with a
//! key nobody issued, which the test mode takes as the root user, so that validation,
//! authorization and the operations themselves are reached.
//!
//! State is an in-memory SQLite database for the whole run, set up with an organization
//! (a root, an OU, a member account, an SCP), an Identity Center instance (a permission
//! set, a user, a group, a membership) and an OIDC client; their IDs are values the
//! inputs can pick by member name (`InstanceArn`, `ParentId`, `UserId`, `clientId`…). A
//! call that tears the organization or the instance down is followed by the set-up again.
//!
//! Inputs: text with a header line, so that seeds can be written by hand and byte-level
//! mutations reach the decoders directly:
//! - `json TARGET\nBODY`: a JSON 1.1 request;
//! - `rest METHOD PATH[?QUERY]\nHeader: value\n…\n\nBODY`: a REST-JSON request;
//!
//! and anything else is up to three structured calls (`arbitrary`): an operation of a
//! service with its input built by walking the model's input shape (members kept or left
//! out, values from tables by member name, enum values, numbers, wrong types, nulls), raw
//! bytes appended or a raw body, the target or path raw or spliced.
//!
//! Invariants (as `api_requests`): every answer carries `x-amzn-RequestId`; it is a JSON
//! object, or an empty body for a success without output (or, for a path no REST-JSON
//! operation has, the query protocol's XML with a `RequestId`); no answer is
//! `InternalFailure` (what a panic on a request's path becomes) or another 5xx.
#![no_main]

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};

use arbitrary::{Arbitrary, Unstructured};
use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

#[path = "shared/text.rs"]
mod text;
use text::S;

const ACCOUNT: &str = "123456789012";
const EMAIL: &str = "root@example.com";

/// A service: JSON 1.1 (a target prefix) or REST-JSON, its signing name (None: unsigned),
/// its model, and the operations the router serves.
struct Service {
    prefix: Option<&'static str>,
    signing: Option<&'static str>,
    shapes: Map<String, Value>,
    /// (name, input shape, method, request URI) of the served operations, sorted.
    operations: Vec<(String, Option<String>, String, String)>,
}

fn load(gz: &[u8], prefix: Option<&'static str>, signing: Option<&'static str>, served: Vec<&str>) -> Service {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz).read_to_string(&mut text).expect("bundled model");
    let model: Value = serde_json::from_str(&text).expect("bundled model");
    let mut operations: Vec<_> = model["operations"]
        .as_object()
        .expect("operations")
        .iter()
        .filter(|(name, _)| served.contains(&name.as_str()))
        .map(|(name, op)| {
            (
                name.clone(),
                op["input"]["shape"].as_str().map(str::to_owned),
                op["http"]["method"].as_str().unwrap_or("POST").to_owned(),
                op["http"]["requestUri"].as_str().unwrap_or("/").to_owned(),
            )
        })
        .collect();
    operations.sort();
    assert!(!operations.is_empty(), "no served operation in the model of {prefix:?}");
    Service { prefix, signing, shapes: model["shapes"].as_object().cloned().unwrap_or_default(), operations }
}

fn services() -> &'static [Service] {
    static S: OnceLock<Vec<Service>> = OnceLock::new();
    S.get_or_init(|| {
        use portcullis_core::{AccountOperation, CloudTrailOperation, IdentityStoreOperation, OrganizationsOperation, SsoAdminOperation, SsoOidcOperation, SsoPortalOperation};
        use portcullis_protocol as p;
        vec![
            load(p::ORGANIZATIONS_MODEL_GZ, Some("AWSOrganizationsV20161128"), Some("organizations"), OrganizationsOperation::ALL.iter().map(|o| o.name()).collect()),
            load(p::IDENTITYSTORE_MODEL_GZ, Some("AWSIdentityStore"), Some("identitystore"), IdentityStoreOperation::ALL.iter().map(|o| o.name()).collect()),
            load(p::SSO_ADMIN_MODEL_GZ, Some("SWBExternalService"), Some("sso"), SsoAdminOperation::ALL.iter().map(|o| o.name()).collect()),
            load(p::CLOUDTRAIL_MODEL_GZ, Some("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"), Some("cloudtrail"), CloudTrailOperation::ALL.iter().map(|o| o.name()).collect()),
            load(p::ACCOUNT_MODEL_GZ, None, Some("account"), AccountOperation::ALL.iter().map(|o| o.name()).collect()),
            load(p::SSO_OIDC_MODEL_GZ, None, None, SsoOidcOperation::ALL.iter().map(|o| o.name()).collect()),
            load(p::SSO_MODEL_GZ, None, None, SsoPortalOperation::ALL.iter().map(|o| o.name()).collect()),
        ]
    })
}

/// Values any string member can take.
const VALUES: &[&str] = &[
    "fuzz",
    "",
    "123456789012",
    "210987654321",
    "arn:aws:iam::123456789012:role/fuzz",
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:sso:::instance/ssoins-0000000000000000",
    "arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-0000000000000000",
    "r-abcd",
    "ou-abcd-abcdefgh",
    "p-FullAWSAccess",
    "d-0000000000",
    "h-0123456789",
    "us-east-1",
    "ap-east-1",
    "eu-central-2",
    "fuzz@example.com",
    "+1 206-555-0100",
    "2026-01-01T00:00:00Z",
    "PT1H",
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}"#,
    r#"{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"}}}}"#,
    "urn:ietf:params:oauth:grant-type:device_code",
    "refresh_token",
    "https://d-0000000000.awsapps.com/start",
    "UserName",
    "DisplayName",
    "emails.value",
    "0",
    "-1",
    "9999999999999999999999",
    "a\u{0}b",
    "\u{e9}\u{212a}",
    "*",
];

/// The set-up's IDs, by the member names that take them.
struct Fixture {
    by_member: BTreeMap<&'static str, Vec<String>>,
}

impl Fixture {
    fn table(&self, member: &str, shape: &Value) -> Vec<String> {
        let mut out: Vec<String> = self.by_member.get(member).cloned().unwrap_or_default();
        if let Some(e) = shape["enum"].as_array() {
            out.extend(e.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        out.extend(VALUES.iter().map(|v| (*v).to_owned()));
        out
    }
}

/// One choice of the walk over an input shape.
#[derive(Arbitrary, Debug)]
enum V {
    /// An optional member left out (a required one too, when chosen).
    Skip,
    Pick(S),
    Int(i64),
    Bool(bool),
    /// How many items a list or map has.
    Len(u8),
    Null,
    /// A value of the wrong JSON type for the shape.
    Wrong(u8),
}

struct Walk<'a> {
    shapes: &'a Map<String, Value>,
    fixture: &'a Fixture,
    tape: std::slice::Iter<'a, V>,
}

impl Walk<'_> {
    fn value(&mut self, shape_name: &str, member: &str, first: Option<&V>, depth: u8) -> Option<Value> {
        let shape = self.shapes.get(shape_name)?;
        let v = first.or_else(|| self.tape.next());
        match v {
            Some(V::Skip) if first.is_none() => return None,
            Some(V::Null) => return Some(Value::Null),
            Some(V::Wrong(k)) => {
                return Some(match k % 5 {
                    0 => json!("fuzz"),
                    1 => json!(7),
                    2 => json!([]),
                    3 => json!({}),
                    _ => json!(true),
                })
            }
            _ => {}
        }
        let ty = shape["type"].as_str().unwrap_or("string");
        Some(match ty {
            "structure" if depth < 5 => {
                let required: Vec<&str> = shape["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                let mut obj = Map::new();
                for (name, m) in shape["members"].as_object().into_iter().flatten() {
                    let Some(target) = m["shape"].as_str() else { continue };
                    let choice = self.tape.next();
                    let keep = match choice {
                        None => required.contains(&name.as_str()),
                        Some(V::Skip) => false,
                        Some(_) => true,
                    };
                    if keep {
                        if let Some(v) = self.value(target, name, choice, depth + 1) {
                            obj.insert(name.clone(), v);
                        }
                    }
                }
                Value::Object(obj)
            }
            "structure" => json!({}),
            "list" => {
                let n = match v {
                    Some(V::Len(n)) => usize::from(*n % 5),
                    _ => 1,
                };
                let item = shape["member"]["shape"].as_str().unwrap_or_default().to_owned();
                Value::Array((0..n).filter_map(|_| self.value(&item, member, None, depth + 1)).collect())
            }
            "map" => {
                let n = match v {
                    Some(V::Len(n)) => usize::from(*n % 4),
                    _ => 1,
                };
                let (k, val) = (shape["key"]["shape"].as_str().unwrap_or_default().to_owned(), shape["value"]["shape"].as_str().unwrap_or_default().to_owned());
                let mut obj = Map::new();
                for _ in 0..n {
                    let key = match self.value(&k, member, None, depth + 1) {
                        Some(Value::String(s)) => s,
                        _ => "fuzz".to_owned(),
                    };
                    if let Some(v) = self.value(&val, member, None, depth + 1) {
                        obj.insert(key, v);
                    }
                }
                Value::Object(obj)
            }
            "integer" | "long" | "double" | "float" => match v {
                Some(V::Int(n)) => json!(n),
                Some(V::Pick(s)) => json!(s.get(&["1", "0", "-1", "1e3", "abc"]).into_owned()),
                _ => json!(shape["min"].as_i64().unwrap_or(1)),
            },
            "boolean" => match v {
                Some(V::Bool(b)) => json!(b),
                _ => json!(false),
            },
            "timestamp" => match v {
                Some(V::Int(n)) => json!(n),
                Some(V::Pick(s)) => json!(s.get(&["2026-01-01T00:00:00Z", "1767225600", "1767225600.5", "tomorrow"]).into_owned()),
                _ => json!(1_767_225_600),
            },
            "blob" => json!("ZnV6eg=="),
            _ => {
                let table = self.fixture.table(member, shape);
                match v {
                    Some(V::Pick(s)) => json!(s.get(&table).into_owned()),
                    Some(V::Int(n)) => json!(n.to_string()),
                    _ => json!(table[0]),
                }
            }
        })
    }
}

#[derive(Arbitrary, Debug)]
enum Call {
    /// An operation of a service, its input walked from the model, raw bytes appended to
    /// the body, the target (or path) replaced by a raw or spliced one.
    Op { service: u8, op: u16, tape: Vec<V>, tail: Vec<u8>, target: Option<S>, unsigned: bool },
    /// An operation of a service with a raw body.
    Raw { service: u8, op: u16, body: Vec<u8> },
}

/// Signed-looking headers with a key nobody issued: the test mode takes them as root.
fn test_auth(service: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential=AKIAFUZZFUZZFUZZFUZZ/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000")
}

fn json_request(target: &str, signing: Option<&str>, body: Vec<u8>) -> Option<Request<Body>> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/")
        .header("host", "localhost")
        .header("x-amz-date", "20260101T000000Z")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", target);
    if let Some(s) = signing {
        b = b.header("authorization", test_auth(s));
    }
    b.body(Body::from(body)).ok()
}

fn rest_request(method: &str, uri: &str, headers: &[(String, String)], signing: Option<&str>, body: Vec<u8>) -> Option<Request<Body>> {
    let mut b = Request::builder().method(method).uri(uri).header("host", "localhost").header("x-amz-date", "20260101T000000Z").header("content-type", "application/json");
    if let Some(s) = signing {
        b = b.header("authorization", test_auth(s));
    }
    for (k, v) in headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Body::from(body)).ok()
}

/// A REST-JSON operation's request: members bound to the query string or headers moved
/// there, the rest in the body.
fn rest_from_input(service: &Service, input_shape: Option<&str>, method: &str, uri: &str, mut input: Map<String, Value>, tail: &[u8]) -> Option<Request<Body>> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut headers = Vec::new();
    if let Some(members) = input_shape.and_then(|s| service.shapes.get(s)).and_then(|s| s["members"].as_object()) {
        for (name, m) in members {
            let (Some(location), Some(wire)) = (m["location"].as_str(), m["locationName"].as_str()) else { continue };
            let Some(v) = input.remove(name) else { continue };
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            match location {
                "querystring" => {
                    query.append_pair(wire, &text);
                }
                "header" => headers.push((wire.to_owned(), text)),
                _ => {}
            }
        }
    }
    let query = query.finish();
    let uri = match (uri.contains('?'), query.is_empty()) {
        (_, true) => uri.to_owned(),
        (true, false) => format!("{uri}&{query}"),
        (false, false) => format!("{uri}?{query}"),
    };
    let mut body = if input.is_empty() { Vec::new() } else { Value::Object(input).to_string().into_bytes() };
    body.extend_from_slice(tail);
    rest_request(method, &uri, &headers, service.signing, body)
}

fn runtime_and_app() -> &'static (tokio::runtime::Runtime, Router) {
    static APP: OnceLock<(tokio::runtime::Runtime, Router)> = OnceLock::new();
    APP.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let app = rt.block_on(async {
            let store = Arc::new(portcullis_store_sql::SqlStore::connect("sqlite::memory:").await.expect("store"));
            let key = portcullis_credentials::SecretBox::generate_key().expect("key");
            let secrets = Arc::new(portcullis_credentials::SecretBox::new(&key).expect("secret box"));
            let clock: Arc<dyn portcullis_types::Clock> = Arc::new(portcullis_types::SystemClock);
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

/// Sends a request and checks the invariants on its answer: (status, body).
async fn send(app: &Router, req: Request<Body>, what: &dyn std::fmt::Debug) -> (u16, Value) {
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let request_id = resp.headers().get("x-amzn-RequestId").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    let text = String::from_utf8_lossy(&body);
    assert!(request_id.is_some(), "no request id: {what:?} -> {status} {text}");
    assert!(!text.contains("InternalFailure"), "a panic on the request's path: {what:?} -> {status} {text}");
    assert!(status.as_u16() < 500, "{what:?} -> {status} {text}");
    if content_type.starts_with("text/xml") {
        // A path no REST-JSON operation has (a raw or spliced one) is the query protocol's.
        assert!(text.starts_with('<') && text.contains("<RequestId>"), "{what:?} -> {status} {text}");
        return (status.as_u16(), json!({}));
    }
    assert!(content_type.starts_with("application/x-amz-json-1.1") || content_type.starts_with("application/json"), "{what:?} -> {status} {content_type:?} {text}");
    if body.is_empty() {
        assert!(status.is_success(), "an error without a body: {what:?} -> {status}");
        return (status.as_u16(), json!({}));
    }
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert!(value.is_object(), "{what:?} -> {status} {text}");
    if !status.is_success() {
        // Errors render: a type (JSON 1.1's `__type`, REST-JSON's header and `message`).
        assert!(value.get("__type").is_some() || value.get("message").is_some() || value.get("error").is_some(), "{what:?} -> {status} {text}");
    }
    (status.as_u16(), value)
}

fn fixture_slot() -> &'static Mutex<Option<Arc<Fixture>>> {
    static F: Mutex<Option<Arc<Fixture>>> = Mutex::new(None);
    &F
}

/// Creates (or finds again) the organization, the Identity Center instance and its
/// entities, and an OIDC client; returns their IDs by member name.
fn set_up() -> Arc<Fixture> {
    let (rt, app) = runtime_and_app();
    let call = |service: &str, op: &str, body: Value| -> Value {
        let prefix = services().iter().find(|s| s.signing == Some(service) && s.prefix.is_some()).and_then(|s| s.prefix).unwrap_or_default();
        let req = json_request(&format!("{prefix}.{op}"), Some(service), body.to_string().into_bytes()).expect("request");
        let (status, out) = rt.block_on(send(app, req, &op));
        if status != 200 && std::env::var_os("PORTCULLIS_FUZZ_DEBUG").is_some() {
            eprintln!("set-up: {op} -> {status} {out}");
        }
        out
    };
    let s = |v: &Value, path: &[&str]| -> Option<String> {
        let mut v = v;
        for p in path {
            v = match p.parse::<usize>() {
                Ok(i) => v.get(i)?,
                Err(_) => v.get(*p)?,
            };
        }
        v.as_str().map(str::to_owned)
    };
    let mut by_member: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut add = |keys: &[&'static str], value: Option<String>| {
        if let Some(v) = value {
            for k in keys {
                by_member.entry(k).or_default().push(v.clone());
            }
        }
    };
    call("organizations", "CreateOrganization", json!({"FeatureSet": "ALL"}));
    let root = s(&call("organizations", "ListRoots", json!({})), &["Roots", "0", "Id"]);
    call("organizations", "EnablePolicyType", json!({"RootId": root, "PolicyType": "SERVICE_CONTROL_POLICY"}));
    call("organizations", "CreateOrganizationalUnit", json!({"ParentId": root, "Name": "Fuzz"}));
    let ou = s(&call("organizations", "ListOrganizationalUnitsForParent", json!({"ParentId": root})), &["OrganizationalUnits", "0", "Id"]);
    call("organizations", "CreatePolicy", json!({"Name": "FuzzScp", "Description": "fuzz", "Type": "SERVICE_CONTROL_POLICY", "Content": r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}"#}));
    let policies = call("organizations", "ListPolicies", json!({"Filter": "SERVICE_CONTROL_POLICY"}));
    let created = call("organizations", "CreateAccount", json!({"Email": "member@example.com", "AccountName": "Member"}));
    let accounts = call("organizations", "ListAccounts", json!({}));
    add(&["RootId", "ParentId", "DestinationParentId", "SourceParentId", "TargetId", "ResourceId", "ChildId"], root);
    add(&["ParentId", "OrganizationalUnitId", "DestinationParentId", "SourceParentId", "TargetId", "ResourceId", "ChildId"], ou);
    for p in policies["Policies"].as_array().into_iter().flatten() {
        add(&["PolicyId", "ResourceId"], s(p, &["Id"]));
    }
    add(&["CreateAccountRequestId"], s(&created, &["CreateAccountStatus", "Id"]));
    for a in accounts["Accounts"].as_array().into_iter().flatten() {
        add(&["AccountId", "TargetId", "ChildId", "ResourceId", "accountId", "TargetAccountId"], s(a, &["Id"]));
    }
    call("sso", "CreateInstance", json!({"Name": "fuzz"}));
    let instances = call("sso", "ListInstances", json!({}));
    let instance = s(&instances, &["Instances", "0", "InstanceArn"]);
    let store = s(&instances, &["Instances", "0", "IdentityStoreId"]);
    call("sso", "CreatePermissionSet", json!({"InstanceArn": instance, "Name": "FuzzSet"}));
    let sets = call("sso", "ListPermissionSets", json!({"InstanceArn": instance}));
    call("identitystore", "CreateUser", json!({"IdentityStoreId": store, "UserName": "fuzz", "DisplayName": "Fuzz", "Name": {"GivenName": "F", "FamilyName": "Uzz"}}));
    let user = s(&call("identitystore", "ListUsers", json!({"IdentityStoreId": store})), &["Users", "0", "UserId"]);
    call("identitystore", "CreateGroup", json!({"IdentityStoreId": store, "DisplayName": "FuzzGroup"}));
    let group = s(&call("identitystore", "ListGroups", json!({"IdentityStoreId": store})), &["Groups", "0", "GroupId"]);
    call("identitystore", "CreateGroupMembership", json!({"IdentityStoreId": store, "GroupId": group, "MemberId": {"UserId": user}}));
    let membership = s(&call("identitystore", "ListGroupMemberships", json!({"IdentityStoreId": store, "GroupId": group})), &["GroupMemberships", "0", "MembershipId"]);
    add(&["InstanceArn", "ResourceArn"], instance);
    add(&["IdentityStoreId"], store);
    for p in sets["PermissionSets"].as_array().into_iter().flatten() {
        add(&["PermissionSetArn", "ResourceArn"], p.as_str().map(str::to_owned));
    }
    add(&["UserId", "PrincipalId", "MemberId"], user);
    add(&["GroupId", "PrincipalId", "GroupIds"], group);
    add(&["MembershipId"], membership);
    // An OIDC client (unsigned REST-JSON).
    let req = rest_request("POST", "/client/register", &[], None, json!({"clientName": "fuzz", "clientType": "public"}).to_string().into_bytes()).expect("request");
    let (_, client) = rt.block_on(send(app, req, &"RegisterClient"));
    add(&["clientId"], s(&client, &["clientId"]));
    add(&["clientSecret"], s(&client, &["clientSecret"]));
    add(&["AlternateContactType"], Some("BILLING".to_owned()));
    add(&["ManagedPolicyArn"], Some("arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned()));
    add(&["Content", "InlinePolicy"], Some(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#.to_owned()));
    add(&["Email"], Some("fuzz+1@example.com".to_owned()));
    add(&["RegionName"], Some("ap-east-1".to_owned()));
    if std::env::var_os("PORTCULLIS_FUZZ_DEBUG").is_some() {
        eprintln!("set-up: {by_member:?}");
    }
    Arc::new(Fixture { by_member })
}

fn fixture() -> Arc<Fixture> {
    let mut slot = fixture_slot().lock().unwrap_or_else(|e| e.into_inner());
    if slot.is_none() {
        *slot = Some(set_up());
    }
    slot.clone().expect("fixture")
}

/// Operations after whose success the set-up is made again.
const TEAR_DOWN: &[&str] = &["DeleteOrganization", "LeaveOrganization", "DeleteInstance"];

fn run(req: Request<Body>, op: &str, what: &dyn std::fmt::Debug) {
    let (rt, app) = runtime_and_app();
    let (status, body) = rt.block_on(send(app, req, what));
    if std::env::var_os("PORTCULLIS_FUZZ_DEBUG").is_some() {
        eprintln!("{what:?} -> {status} {}", body.to_string().chars().take(300).collect::<String>());
    }
    if status == 200 && TEAR_DOWN.contains(&op) {
        *fixture_slot().lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// `json TARGET\nBODY` or `rest METHOD PATH\nheaders\n\nBODY`.
fn text_input(data: &[u8]) -> bool {
    let Some(nl) = data.iter().position(|b| *b == b'\n') else { return false };
    let first = String::from_utf8_lossy(&data[..nl]).into_owned();
    let rest = &data[nl + 1..];
    if let Some(target) = first.strip_prefix("json ") {
        let service = services().iter().find(|s| s.prefix.is_some_and(|p| target.starts_with(p)));
        let op = target.rsplit('.').next().unwrap_or_default();
        if let Some(req) = json_request(target, Some(service.and_then(|s| s.signing).unwrap_or("organizations")), rest.to_vec()) {
            run(req, op, &first);
        }
        return true;
    }
    if let Some(line) = first.strip_prefix("rest ") {
        let Some((method, uri)) = line.split_once(' ') else { return true };
        let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
            Some(i) => (&rest[..i], &rest[i + 2..]),
            None => (rest, &b""[..]),
        };
        let headers: Vec<(String, String)> = String::from_utf8_lossy(head)
            .lines()
            .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
            .collect();
        let signing = if uri.starts_with("/client") || uri.starts_with("/device") || uri.starts_with("/token") || uri.starts_with("/federation") || uri.starts_with("/assignment") || uri.starts_with("/logout") { None } else { Some("account") };
        if let Some(req) = rest_request(method, uri, &headers, signing, body.to_vec()) {
            run(req, "", &first);
        }
        return true;
    }
    false
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    if text_input(data) {
        return;
    }
    let Ok(calls) = Vec::<Call>::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let all = services();
    for call in calls.iter().take(3) {
        match call {
            Call::Op { service, op, tape, tail, target, unsigned } => {
                let service = &all[usize::from(*service) % all.len()];
                let (name, input, method, uri) = &service.operations[usize::from(*op) % service.operations.len()];
                let mut walk = Walk { shapes: &service.shapes, fixture: &fixture, tape: tape.iter() };
                let value = input.as_deref().and_then(|i| walk.value(i, "", None, 0)).unwrap_or_else(|| json!({}));
                let req = match service.prefix {
                    Some(prefix) => {
                        let real = format!("{prefix}.{name}");
                        let target = target.as_ref().map(|t| t.get(&[real.as_str()]).into_owned()).unwrap_or(real);
                        let mut body = value.to_string().into_bytes();
                        body.extend_from_slice(tail);
                        json_request(&target, if *unsigned { None } else { service.signing }, body)
                    }
                    None => {
                        let uri = target.as_ref().map(|t| t.get(&[uri.as_str()]).into_owned()).unwrap_or_else(|| uri.clone());
                        let Value::Object(input_map) = value else { continue };
                        rest_from_input(service, input.as_deref(), method, &uri, input_map, tail)
                    }
                };
                if let Some(req) = req {
                    run(req, name, call);
                }
            }
            Call::Raw { service, op, body } => {
                let service = &all[usize::from(*service) % all.len()];
                let (name, _, method, uri) = &service.operations[usize::from(*op) % service.operations.len()];
                let req = match service.prefix {
                    Some(prefix) => json_request(&format!("{prefix}.{name}"), service.signing, body.clone()),
                    None => rest_request(method, uri, &[], service.signing, body.clone()),
                };
                if let Some(req) = req {
                    run(req, name, call);
                }
            }
        }
    }
});

