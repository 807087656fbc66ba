//! Differential: `Iam::decide_with` decides exactly what the evaluator decides on every
//! policy the caller has (its identity policies, its permissions boundary, its session's
//! policies) and the target's resource policy. A layer dropped on the way, as AssumeRole
//! once dropped session policies, shows as a difference. Users and role sessions, random
//! statements, through a real (in-memory SQLite) store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use portcullis_core::{AuthzRequest, Caller, EvalDecision, Iam, NewRole, Principal, Session};
use portcullis_policy::{evaluate, parse, PolicyKind, PolicySet, RequestContext, RequestPrincipal};
use portcullis_store::PrincipalKind;
use proptest::prelude::*;

const ACTIONS: &[&str] = &["s3:GetObject", "s3:*", "iam:ListUsers", "iam:*", "sts:AssumeRole", "*", "ec2:Describe*"];
const RESOURCES: &[&str] = &["*", "arn:aws:s3:::b/*", "arn:aws:iam::*:role/*", "arn:aws:iam::*:user/*"];
const REQUESTS: &[(&str, &str)] = &[
    ("s3:GetObject", "arn:aws:s3:::b/k"),
    ("iam:ListUsers", "arn:aws:iam::123456789012:user/"),
    ("ec2:DescribeInstances", "*"),
];

#[derive(Debug, Clone)]
struct Stmt {
    allow: bool,
    not_action: bool,
    action: usize,
    resource: usize,
}

fn stmt() -> impl Strategy<Value = Stmt> {
    (prop::bool::weighted(0.75), prop::bool::weighted(0.1), 0..ACTIONS.len(), 0..RESOURCES.len())
        .prop_map(|(allow, not_action, action, resource)| Stmt { allow, not_action, action, resource })
}

fn doc(stmts: &[Stmt]) -> String {
    let body: Vec<String> = stmts
        .iter()
        .map(|s| {
            format!(
                r#"{{"Effect":"{}","{}":"{}","Resource":"{}"}}"#,
                if s.allow { "Allow" } else { "Deny" },
                if s.not_action { "NotAction" } else { "Action" },
                ACTIONS[s.action],
                RESOURCES[s.resource]
            )
        })
        .collect();
    format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, body.join(","))
}

#[derive(Debug, Clone)]
struct Case {
    identity: Vec<Vec<Stmt>>,
    boundary: Option<Vec<Stmt>>,
    session: Option<Vec<Stmt>>,
    role_session: bool,
    request: usize,
    /// Whom the target role's trust policy names: the account, another account, the caller.
    trust: usize,
}

fn case() -> impl Strategy<Value = Case> {
    let stmts = || prop::collection::vec(stmt(), 1..3);
    (prop::collection::vec(stmts(), 0..3), prop::option::of(stmts()), prop::option::of(stmts()), any::<bool>(), 0..REQUESTS.len(), 0..3usize)
        .prop_map(|(identity, boundary, session, role_session, request, trust)| Case { identity, boundary, session, role_session, request, trust })
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}"#;

fn trust_naming(principal: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"}}}}"#)
}

/// (what `decide_with` says, what the evaluator says) for the request and for AssumeRole.
async fn both(c: &Case) -> [(EvalDecision, EvalDecision); 2] {
    let store = Arc::new(portcullis_store_sql::SqlStore::connect("sqlite::memory:").await.unwrap());
    let key = portcullis_credentials::SecretBox::generate_key().unwrap();
    let secrets = Arc::new(portcullis_credentials::SecretBox::new(&key).unwrap());
    let iam = Iam::new(store, Arc::new(portcullis_types::SystemClock), secrets).unwrap();
    iam.reset_all("123456789012", "root@example.com").await.unwrap();
    let (account, _) = iam.ensure_account("root@example.com", None).await.unwrap();
    let root = Caller { account_id: account.account_id.clone(), principal: Principal::Root, access_key_id: String::new(), session: None, request: Default::default() };
    let auth = iam.authorize(&root, &AuthzRequest::new("iam:CreateUser", "*")).await.unwrap();

    let boundary = match &c.boundary {
        Some(b) => Some(iam.create_policy(&auth, "boundary", None, &doc(b), None, &[]).await.unwrap().arn),
        None => None,
    };
    let target = iam.create_role(&auth, NewRole { name: "target", path: None, trust_policy: TRUST, description: None, max_session_duration: None, permissions_boundary: None, tags: &[] }).await.unwrap();
    let (kind, name, principal, request_principal) = if c.role_session {
        let role = iam
            .create_role(&auth, NewRole { name: "caller", path: None, trust_policy: TRUST, description: None, max_session_duration: None, permissions_boundary: boundary.as_deref(), tags: &[] })
            .await
            .unwrap();
        let who = RequestPrincipal::assumed_role(&account.account_id, &role.arn, "arn:aws:sts::123456789012:assumed-role/caller/s");
        (PrincipalKind::Role, "caller", Principal::AssumedRole { role: role.role, session_name: "s".into() }, who)
    } else {
        let user = iam.create_user(&auth, "caller", None, boundary.as_deref(), &[]).await.unwrap();
        let who = RequestPrincipal::user(&account.account_id, &user.arn);
        (PrincipalKind::User, "caller", Principal::User(user.user), who)
    };
    for (i, p) in c.identity.iter().enumerate() {
        iam.put_inline_policy(&auth, kind, name, &format!("p{i}"), &doc(p)).await.unwrap();
    }
    let session = c.session.as_ref().map(|s| Session { policies: vec![doc(s)], ..Default::default() });
    let caller = Caller { account_id: account.account_id.clone(), principal, access_key_id: "ASIAEXAMPLE".into(), session, request: Default::default() };

    let identity: Vec<_> = c.identity.iter().map(|p| parse(&doc(p), PolicyKind::Identity).unwrap()).collect();
    let boundary = c.boundary.as_ref().map(|b| parse(&doc(b), PolicyKind::PermissionsBoundary).unwrap());
    let session = c.session.as_ref().map(|s| parse(&doc(s), PolicyKind::Session).unwrap());
    let caller_arn = if c.role_session { "arn:aws:sts::123456789012:assumed-role/caller/s" } else { "arn:aws:iam::123456789012:user/caller" };
    let trust_text = [TRUST.to_owned(), trust_naming("arn:aws:iam::444455556666:root"), trust_naming(caller_arn)][c.trust].clone();
    let trust = parse(&trust_text, PolicyKind::Trust).unwrap();
    let expect = |action: &str, resource: &str, with_trust: bool| {
        let set = PolicySet {
            identity: identity.iter().map(|p| ("id", p)).collect(),
            resource: if with_trust { vec![("trust", &trust)] } else { Vec::new() },
            boundary: boundary.as_ref().map(|p| ("pb", p)),
            session: session.iter().map(|p| ("session", p)).collect(),
            ..Default::default()
        };
        evaluate(&set, &RequestContext::new(action, resource, request_principal.clone())).effect
    };

    let (action, resource) = REQUESTS[c.request];
    let plain = iam.decide(&caller, &AuthzRequest::new(action, resource)).await.unwrap().effect;
    let assume = iam.decide_with(&caller, &AuthzRequest::new("sts:AssumeRole", &target.arn), &[("trust", &trust)]).await.unwrap().effect;
    [(plain, expect(action, resource, false)), (assume, expect("sts:AssumeRole", &target.arn, true))]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn decide_with_agrees_with_the_evaluator_on_every_layer(c in case()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let [plain, assume] = rt.block_on(both(&c));
        prop_assert_eq!(plain.0, plain.1, "the request");
        prop_assert_eq!(assume.0, assume.1, "sts:AssumeRole with the trust policy");
    }
}
