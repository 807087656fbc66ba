//! Property tests: wildcard matching against a reference definition, and the
//! monotonicity of evaluation (AWS's "explicit deny wins").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use portcullis_policy::*;
use proptest::prelude::*;

/// Straightforward recursive definition of `*`/`?` matching to test against.
fn reference(p: &[char], t: &[char]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
        Some(('?', rest)) => !t.is_empty() && reference(rest, &t[1..]),
        Some((c, rest)) => t.first() == Some(c) && reference(rest, &t[1..]),
    }
}

proptest! {
    #[test]
    fn wildcard_agrees_with_reference(p in "[ab*?é]{0,8}", t in "[abé]{0,10}") {
        let pc: Vec<char> = p.chars().collect();
        let tc: Vec<char> = t.chars().collect();
        prop_assert_eq!(wildcard_match(&p, &t, false), reference(&pc, &tc));
    }

    #[test]
    fn literal_matches_itself_ignoring_case(t in "[a-zA-Z0-9:/_-]{0,20}") {
        prop_assert!(wildcard_match(&t, &t, false));
        prop_assert!(wildcard_match(&t.to_uppercase(), &t.to_lowercase(), true));
        prop_assert!(wildcard_match("*", &t, false));
    }

    #[test]
    fn star_only_widens(p in "[ab?]{0,6}", t in "[ab]{0,8}", at in 0usize..7) {
        let mut wider: Vec<char> = p.chars().collect();
        let i = at.min(wider.len());
        wider.insert(i, '*');
        let wider: String = wider.into_iter().collect();
        if wildcard_match(&p, &t, false) {
            prop_assert!(wildcard_match(&wider, &t, false));
        }
    }
}

const ACTIONS: &[&str] = &["s3:GetObject", "s3:*", "s3:Get*", "s3:?etObject", "ec2:*", "*", "iam:ListUsers", "s3:PutObject"];
const RESOURCES: &[&str] = &["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/k", "arn:aws:s3:::${aws:username}/*", "arn:aws:ec2:*", "arn:aws:s3:::*"];
const CONDITIONS: &[&str] = &[
    "",
    r#","Condition":{"StringEquals":{"aws:username":"alice"}}"#,
    r#","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}"#,
    r#","Condition":{"NumericLessThan":{"s3:max-keys":"5"}}"#,
    r#","Condition":{"StringNotLike":{"s3:prefix":"a*"}}"#,
    r#","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}"#,
    r#","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
];
const REQ_ACTIONS: &[&str] = &["s3:GetObject", "s3:PutObject", "ec2:RunInstances", "iam:ListUsers"];
const REQ_RESOURCES: &[&str] = &["arn:aws:s3:::b/k", "arn:aws:s3:::alice/x", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", "*"];

#[derive(Debug, Clone)]
struct Stmt {
    allow: bool,
    action: usize,
    not_action: bool,
    resource: usize,
    not_resource: bool,
    condition: usize,
}

fn stmt() -> impl Strategy<Value = Stmt> {
    (any::<bool>(), 0..ACTIONS.len(), prop::bool::weighted(0.15), 0..RESOURCES.len(), prop::bool::weighted(0.15), 0..CONDITIONS.len())
        .prop_map(|(allow, action, not_action, resource, not_resource, condition)| Stmt { allow, action, not_action, resource, not_resource, condition })
}

/// Principals a resource policy's statements name: the user, the role behind a session,
/// the session itself, the account.
const RESOURCE_PRINCIPALS: &[&str] = &[
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:role/r",
    "arn:aws:sts::111122223333:assumed-role/r/s",
    "arn:aws:iam::111122223333:root",
];

fn render(s: &Stmt, principal: Option<usize>) -> String {
    let principal = principal.map(|i| format!(r#""Principal":{{"AWS":"{}"}},"#, RESOURCE_PRINCIPALS[i % RESOURCE_PRINCIPALS.len()]));
    format!(
        r#"{{"Effect":"{}",{}"{}":"{}","{}":"{}"{}}}"#,
        if s.allow { "Allow" } else { "Deny" },
        principal.unwrap_or_default(),
        if s.not_action { "NotAction" } else { "Action" },
        ACTIONS[s.action],
        if s.not_resource { "NotResource" } else { "Resource" },
        RESOURCES[s.resource],
        CONDITIONS[s.condition]
    )
}

fn policy(stmts: &[Stmt], kind: PolicyKind) -> Policy {
    // The user's own ARN, as the monotonicity properties below were written for.
    let body: Vec<String> = stmts.iter().map(|s| render(s, (kind == PolicyKind::Resource).then_some(0))).collect();
    let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, body.join(","));
    parse(&doc, kind).unwrap_or_else(|e| panic!("{doc}: {e}"))
}

/// A resource policy whose statements name the principals of `RESOURCE_PRINCIPALS` in turn.
fn resource_policy(stmts: &[Stmt]) -> Policy {
    let body: Vec<String> = stmts.iter().enumerate().map(|(i, s)| render(s, Some(i + s.condition))).collect();
    let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, body.join(","));
    parse(&doc, PolicyKind::Resource).unwrap_or_else(|e| panic!("{doc}: {e}"))
}

#[derive(Debug, Clone)]
struct World {
    identity: Vec<Vec<Stmt>>,
    resource: Option<Vec<Stmt>>,
    boundary: Option<Vec<Stmt>>,
    scp: Option<Vec<Stmt>>,
    action: usize,
    resource_arn: usize,
    keys: (bool, Option<bool>, Option<u8>, Option<bool>, bool),
}

fn world() -> impl Strategy<Value = World> {
    let stmts = || prop::collection::vec(stmt(), 1..4);
    (
        prop::collection::vec(stmts(), 0..3),
        prop::option::of(stmts()),
        prop::option::of(stmts()),
        prop::option::of(stmts()),
        0..REQ_ACTIONS.len(),
        0..REQ_RESOURCES.len(),
        (any::<bool>(), prop::option::of(any::<bool>()), prop::option::of(0u8..10), prop::option::of(any::<bool>()), any::<bool>()),
    )
        .prop_map(|(identity, resource, boundary, scp, action, resource_arn, keys)| World { identity, resource, boundary, scp, action, resource_arn, keys })
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    NewIdentity,
    Resource,
    Boundary,
    Scp,
}

fn decide(w: &World) -> EvalDecision {
    decide_as(w, false, None, false)
}

/// Evaluates a world for the user alice or, with `role_session`, a session of role r, with
/// optional session policies. Resource policies name alice (as the monotonicity properties
/// were written for) or, with `every_principal`, each kind of principal in turn.
fn decide_as(w: &World, role_session: bool, session: Option<&[Stmt]>, every_principal: bool) -> EvalDecision {
    let identity: Vec<Policy> = w.identity.iter().map(|s| policy(s, PolicyKind::Identity)).collect();
    let resource = w.resource.as_ref().map(|s| if every_principal { resource_policy(s) } else { policy(s, PolicyKind::Resource) });
    let boundary = w.boundary.as_ref().map(|s| policy(s, PolicyKind::PermissionsBoundary));
    let scp = w.scp.as_ref().map(|s| policy(s, PolicyKind::Scp));
    let session = session.map(|s| policy(s, PolicyKind::Session));
    let set = PolicySet {
        identity: identity.iter().map(|p| ("id", p)).collect(),
        resource: resource.iter().map(|p| ("res", p)).collect(),
        boundary: boundary.as_ref().map(|p| ("pb", p)),
        scps: scp.iter().map(|p| vec![("scp", p)]).collect(),
        session: session.iter().map(|p| ("session", p)).collect(),
        cross_account: false,
    };
    let principal = if role_session {
        RequestPrincipal::assumed_role("111122223333", "arn:aws:iam::111122223333:role/r", "arn:aws:sts::111122223333:assumed-role/r/s")
    } else {
        RequestPrincipal::user("111122223333", "arn:aws:iam::111122223333:user/alice")
    };
    let mut req = RequestContext::new(REQ_ACTIONS[w.action], REQ_RESOURCES[w.resource_arn], principal);
    let (username, mfa, max_keys, prefix_a, source_ip) = w.keys;
    if username {
        req.set_one("aws:username", "alice");
    }
    if let Some(m) = mfa {
        req.set_one("aws:MultiFactorAuthPresent", &m.to_string());
    }
    if let Some(n) = max_keys {
        req.set_one("s3:max-keys", &n.to_string());
    }
    if let Some(a) = prefix_a {
        req.set_one("s3:prefix", if a { "abc" } else { "xyz" });
    }
    if source_ip {
        req.set_one("aws:SourceIp", "10.1.1.1");
    }
    req.set("aws:TagKeys", vec!["a".into()]);
    let d = evaluate(&set, &req);
    assert_eq!(d.matched.is_empty(), d.effect == EvalDecision::ImplicitDeny);
    d.effect
}

fn add(w: &World, s: Stmt, slot: Slot) -> World {
    let mut w = w.clone();
    match slot {
        Slot::NewIdentity => w.identity.push(vec![s]),
        Slot::Resource => w.resource.get_or_insert_with(Vec::new).push(s),
        Slot::Boundary => match &mut w.boundary {
            Some(b) => b.push(s),
            // Adding a boundary that did not exist is not "adding a statement"; use identity.
            None => w.identity.push(vec![s]),
        },
        Slot::Scp => match &mut w.scp {
            Some(b) => b.push(s),
            None => w.identity.push(vec![s]),
        },
    }
    w
}

fn slot() -> impl Strategy<Value = Slot> {
    prop_oneof![Just(Slot::NewIdentity), Just(Slot::Resource), Just(Slot::Boundary), Just(Slot::Scp)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn adding_an_allow_never_lifts_an_explicit_deny(w in world(), mut s in stmt(), slot in slot()) {
        s.allow = true;
        let before = decide(&w);
        let after = decide(&add(&w, s, slot));
        if before == EvalDecision::ExplicitDeny {
            prop_assert_eq!(after, EvalDecision::ExplicitDeny);
        }
        // An Allow can only widen: it never takes away an Allowed either.
        if before == EvalDecision::Allowed {
            prop_assert_eq!(after, EvalDecision::Allowed);
        }
    }

    #[test]
    fn adding_a_deny_never_allows(w in world(), mut s in stmt(), slot in slot()) {
        s.allow = false;
        let before = decide(&w);
        let after = decide(&add(&w, s, slot));
        if after == EvalDecision::Allowed {
            prop_assert_eq!(before, EvalDecision::Allowed);
        }
        if before == EvalDecision::ExplicitDeny {
            prop_assert_eq!(after, EvalDecision::ExplicitDeny);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// Session policies and permissions boundaries only ever take permissions away: adding
    /// either to a request that had none never turns a deny into an allow (whatever the
    /// identity and resource policies, for users and role sessions alike).
    #[test]
    fn a_session_policy_or_boundary_never_allows_more(
        w in world(),
        limit in prop::collection::vec(stmt(), 1..4),
        as_boundary in any::<bool>(),
        role_session in any::<bool>(),
    ) {
        let mut before = w;
        before.boundary = None;
        let b = decide_as(&before, role_session, None, true);
        let a = if as_boundary {
            let mut after = before.clone();
            after.boundary = Some(limit.clone());
            decide_as(&after, role_session, None, true)
        } else {
            decide_as(&before, role_session, Some(&limit), true)
        };
        // And a limit is applied at all: without a resource-based policy (which may name the
        // caller directly), nothing the limit itself does not allow is allowed.
        if a == EvalDecision::Allowed && before.resource.is_none() {
            let alone = World { identity: vec![limit], resource: None, boundary: None, scp: None, ..before.clone() };
            prop_assert_eq!(decide_as(&alone, role_session, None, true), EvalDecision::Allowed, "allowed beyond the limit");
        }
        if b != EvalDecision::Allowed {
            prop_assert_ne!(a, EvalDecision::Allowed, "a limit allowed what was denied");
        }
        if b == EvalDecision::ExplicitDeny {
            prop_assert_eq!(a, EvalDecision::ExplicitDeny);
        }
    }
}
