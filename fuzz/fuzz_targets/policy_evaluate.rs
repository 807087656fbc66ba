//! Structured policies and requests: documents are assembled from fragments
//! (real actions, ARNs, condition operators, context keys, principals) or raw
//! fuzzer strings, parsed, and evaluated. Besides "never panics" it checks
//! cheap invariants of `evaluate`:
//!
//! 1. Evaluating the same set and request twice (the second time with the
//!    request's parsed-value caches filled) gives the same `Decision`, and so
//!    does a copy of the request made before the first evaluation.
//! 2. Adding an identity policy that denies `*` on `*` never leaves a non-root
//!    caller `Allowed`; for root (whose identity policies do not apply) the
//!    decision is unchanged.
//! 3. Adding an identity policy that allows `*` on `*` never turns an
//!    explicit deny into anything else.
//! 4. The per-policy action index is only an optimisation: giving every
//!    `Action` list an extra pattern with a wildcard service part (so the
//!    statement is checked for every action) and a text no request action
//!    contains gives the same decision.
//!
//! Known finding (see docs/testing.md, "Fuzzing"): invariant 4 fails when a
//! service prefix has a non-ASCII letter whose Unicode lower case is ASCII
//! (`\u{212a}ms:Decrypt`, KELVIN SIGN): the matcher folds it, the index does
//! not. Set `PORTCULLIS_FUZZ_SKIP_KNOWN=1` to leave such inputs out of that
//! check while the finding is open.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[path = "shared/text.rs"]
mod text;
use text::S;
use portcullis_policy::{
    evaluate, parse, EvalDecision, Policy, PolicyKind, PolicySet, RequestContext, RequestPrincipal,
};
use serde_json::{Map, Value};

const ACCOUNT: &str = "111122223333";

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:*",
    "s3:Get*",
    "s3:Get?bject",
    "S3:GETOBJECT",
    "*",
    "iam:*",
    "iam:CreateUser",
    "iam:*User*",
    "iam:ChangePassword",
    "ec2:RunInstances",
    "ec2:Describe*",
    "sts:AssumeRole",
    "sts:AssumeRole*",
    "sts:AssumeRoleWithWebIdentity",
    "kms:Decrypt",
    "*:Get*",
    "s?:Get*",
    "iam:",
    ":",
    "",
    // Letters whose Unicode lower-case form is ASCII or longer than one char.
    "\u{212a}ms:Decrypt",
    "\u{17f}3:GetObject",
    "\u{130}am:CreateUser",
];

const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::bucket",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket/bob/notes.txt",
    "arn:aws:s3:::bucket/${aws:username}/*",
    "arn:aws:s3:::b/${*}${?}${$}/*",
    "arn:aws:s3:::b/${aws:PrincipalTag/team}",
    "arn:aws:s3:::b/${aws:username, 'default'}",
    "arn:aws:iam::111122223333:user/bob",
    "arn:aws:iam::*:user/${aws:username}",
    "arn:aws:iam::111122223333:role/Dev",
    "arn:aws:iam::111122223333:root",
    "arn:aws:ec2:us-east-1:111122223333:instance/*",
    "arn:aws:ec2:*:*:instance/i-123",
    "arn:*:*:*:*:*",
    "arn:aws:sts::111122223333:assumed-role/Dev/sess1",
    "arn:aws",
    "arn:aws:s3:::",
    "",
];

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

const KEYS: &[&str] = &[
    "aws:username",
    "aws:userid",
    "aws:SourceIp",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:MultiFactorAuthPresent",
    "aws:MultiFactorAuthAge",
    "aws:SecureTransport",
    "aws:PrincipalTag/team",
    "aws:RequestTag/env",
    "aws:ResourceTag/env",
    "aws:TagKeys",
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalType",
    "aws:SourceArn",
    "aws:RequestedRegion",
    "aws:CalledVia",
    "aws:TokenIssueTime",
    "s3:prefix",
    "s3:max-keys",
    "ec2:InstanceType",
    "cognito-identity.amazonaws.com:aud",
    "AWS:USERNAME",
];

const VALUES: &[&str] = &[
    "bob",
    "alice",
    "${aws:username}",
    "${aws:PrincipalTag/team}",
    "home/${aws:username}/*",
    "true",
    "false",
    "TRUE",
    "10",
    "-1.5",
    "1e400",
    "NaN",
    "1700000000",
    "2020-01-01T00:00:00Z",
    "2023-11-14T22:13:20.123Z",
    "2030-01-01",
    "2024-02-30T25:61:61+14:00",
    "10.0.0.0/8",
    "10.1.2.3",
    "192.168.1.0/33",
    "::1",
    "2001:db8::/32",
    "::ffff:10.1.2.3",
    "arn:aws:iam::111122223333:user/bob",
    "arn:aws:iam::*:role/Dev*",
    "arn:aws:sts::111122223333:assumed-role/Dev/*",
    "us-east-1",
    "t2.micro",
    "blue",
    "env",
    "cost-*",
    "QmluYXJ5",
    "*",
    "?",
    "",
];

const PRINCIPALS: &[&str] = &[
    r#""*""#,
    r#"{"AWS":"*"}"#,
    r#"{"AWS":"111122223333"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:root"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:user/bob"}"#,
    r#"{"AWS":["arn:aws:iam::111122223333:role/Dev","arn:aws:sts::111122223333:assumed-role/Dev/sess1"]}"#,
    r#"{"AWS":"AIDAEXAMPLEEXAMPLE01"}"#,
    r#"{"AWS":"444455556666"}"#,
    r#"{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]}"#,
    r#"{"Federated":"cognito-identity.amazonaws.com"}"#,
    r#"{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:user/*"}"#,
    r#"{"Bogus":"x"}"#,
    r#"{}"#,
];

const SIDS: &[&str] = &["Stmt1", "AllowAll", "", "with space", "x-1", "\u{e9}"];


#[derive(Arbitrary, Debug)]
enum CondValue {
    Str(S),
    Bool(bool),
    Num(i32),
}

#[derive(Arbitrary, Debug)]
struct Condition {
    op: S,
    if_exists: bool,
    /// 1: `ForAnyValue:`, 2: `ForAllValues:`, otherwise none.
    set_op: u8,
    entries: Vec<(S, Vec<CondValue>, bool)>,
}

#[derive(Arbitrary, Debug)]
struct Stmt {
    sid: Option<S>,
    deny: bool,
    not_action: bool,
    actions: Option<Vec<S>>,
    not_resource: bool,
    resources: Option<Vec<S>>,
    /// (NotPrincipal?, which principal)
    principal: Option<(bool, u8)>,
    conditions: Vec<Condition>,
    /// Single-element lists written as a bare string.
    scalars: bool,
}

#[derive(Arbitrary, Debug)]
struct Doc {
    kind: u8,
    /// 0: 2012-10-17, 1: 2008-10-17, 2: none, 3: unknown.
    version: u8,
    statements: Vec<Stmt>,
    single_statement_object: bool,
}

#[derive(Arbitrary, Debug)]
struct Input {
    docs: Vec<Doc>,
    action: S,
    resource: S,
    principal: u8,
    username: Option<S>,
    tags: Vec<(S, S)>,
    time: Option<i64>,
    keys: Vec<(S, Vec<S>)>,
}

const KINDS: [PolicyKind; 6] = [
    PolicyKind::Identity,
    PolicyKind::Resource,
    PolicyKind::Trust,
    PolicyKind::PermissionsBoundary,
    PolicyKind::Scp,
    PolicyKind::Session,
];

/// A text no request action of this target contains (checked before use).
const NEVER: &str = "\u{10ffff}\u{10fffe}";

fn list(items: Vec<String>, scalar: bool) -> Value {
    if scalar && items.len() == 1 {
        Value::String(items.into_iter().next().unwrap_or_default())
    } else {
        Value::Array(items.into_iter().map(Value::String).collect())
    }
}

fn statement(s: &Stmt, unindexed: bool) -> Value {
    let mut o = Map::new();
    if let Some(sid) = &s.sid {
        o.insert("Sid".into(), sid.get(SIDS).into());
    }
    o.insert("Effect".into(), if s.deny { "Deny" } else { "Allow" }.into());
    if let Some(actions) = &s.actions {
        let mut items: Vec<String> = actions.iter().take(6).map(|a| a.get(ACTIONS).to_string()).collect();
        if unindexed && !s.not_action {
            items.push(format!("*:{NEVER}"));
        }
        let key = if s.not_action { "NotAction" } else { "Action" };
        o.insert(key.into(), list(items, s.scalars));
    }
    if let Some(resources) = &s.resources {
        let items = resources.iter().take(6).map(|r| r.get(RESOURCES).to_string()).collect();
        let key = if s.not_resource { "NotResource" } else { "Resource" };
        o.insert(key.into(), list(items, s.scalars));
    }
    if let Some((negated, which)) = s.principal {
        let raw = PRINCIPALS[usize::from(which) % PRINCIPALS.len()];
        let value: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
        o.insert(if negated { "NotPrincipal" } else { "Principal" }.into(), value);
    }
    if !s.conditions.is_empty() {
        let mut block = Map::new();
        for c in s.conditions.iter().take(4) {
            let prefix = match c.set_op {
                1 => "ForAnyValue:",
                2 => "ForAllValues:",
                _ => "",
            };
            let suffix = if c.if_exists { "IfExists" } else { "" };
            let op = format!("{prefix}{}{suffix}", c.op.get(OPERATORS));
            let mut entries = Map::new();
            for (key, values, scalar) in c.entries.iter().take(4) {
                let values: Vec<Value> = values
                    .iter()
                    .take(4)
                    .map(|v| match v {
                        CondValue::Str(s) => Value::from(s.get(VALUES)),
                        CondValue::Bool(b) => Value::from(*b),
                        CondValue::Num(n) => Value::from(*n),
                    })
                    .collect();
                let value = if *scalar && values.len() == 1 {
                    values.into_iter().next().unwrap_or(Value::Null)
                } else {
                    Value::Array(values)
                };
                entries.insert(key.get(KEYS).to_string(), value);
            }
            block.insert(op, Value::Object(entries));
        }
        o.insert("Condition".into(), Value::Object(block));
    }
    Value::Object(o)
}

fn document(d: &Doc, unindexed: bool) -> String {
    let mut o = Map::new();
    match d.version % 4 {
        0 => {
            o.insert("Version".into(), "2012-10-17".into());
        }
        1 => {
            o.insert("Version".into(), "2008-10-17".into());
        }
        2 => {}
        _ => {
            o.insert("Version".into(), "2012-10-18".into());
        }
    }
    let statements: Vec<Value> = d.statements.iter().take(6).map(|s| statement(s, unindexed)).collect();
    let statements = if d.single_statement_object && statements.len() == 1 {
        statements.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(statements)
    };
    o.insert("Statement".into(), statements);
    Value::Object(o).to_string()
}

fn request_principal(which: u8) -> RequestPrincipal {
    match which % 8 {
        0 => RequestPrincipal::root(ACCOUNT),
        1 => RequestPrincipal::user(ACCOUNT, "arn:aws:iam::111122223333:user/bob"),
        2 => RequestPrincipal::assumed_role(
            ACCOUNT,
            "arn:aws:iam::111122223333:role/Dev",
            "arn:aws:sts::111122223333:assumed-role/Dev/sess1",
        ),
        3 => {
            let mut p = RequestPrincipal::assumed_role(
                ACCOUNT,
                "arn:aws:iam::111122223333:role/Web",
                "arn:aws:sts::111122223333:assumed-role/Web/web1",
            );
            p.federated = Some("cognito-identity.amazonaws.com".into());
            p
        }
        4 => RequestPrincipal::service("ec2.amazonaws.com"),
        5 => RequestPrincipal::anonymous(),
        6 => RequestPrincipal::user("444455556666", "arn:aws:iam::444455556666:user/eve"),
        _ => {
            let mut p = RequestPrincipal::user(ACCOUNT, "arn:aws:iam::111122223333:user/alice");
            p.canonical_user = Some("79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be".into());
            p
        }
    }
}

fn fixed(doc: &str) -> Policy {
    match parse(doc, PolicyKind::Identity) {
        Ok(p) => p,
        Err(e) => panic!("fixed policy does not parse: {e}"),
    }
}

fn deny_all() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| fixed(r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#))
}

fn allow_all() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| fixed(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#))
}

fn build_set<'a>(policies: &'a [(PolicyKind, Policy)]) -> PolicySet<'a> {
    let mut set = PolicySet::default();
    for (i, (kind, p)) in policies.iter().enumerate() {
        let id = ["p0", "p1", "p2", "p3"][i % 4];
        match kind {
            PolicyKind::Identity => set.identity.push((id, p)),
            PolicyKind::Resource | PolicyKind::Trust => set.resource.push((id, p)),
            PolicyKind::PermissionsBoundary => set.boundary = Some((id, p)),
            // Two SCP levels: even positions in the root, odd ones in the account.
            PolicyKind::Scp => {
                let level = i % 2;
                while set.scps.len() <= level {
                    set.scps.push(Vec::new());
                }
                set.scps[level].push((id, p));
            }
            PolicyKind::Session => set.session.push((id, p)),
        }
    }
    set
}

fn skip_known() -> bool {
    static SKIP: OnceLock<bool> = OnceLock::new();
    *SKIP.get_or_init(|| std::env::var_os("PORTCULLIS_FUZZ_SKIP_KNOWN").is_some_and(|v| v == "1"))
}

/// Whether the request action or an action pattern has a non-ASCII service prefix.
fn touches_known_issue(docs: &[&Doc], action: &str) -> bool {
    let non_ascii = |a: &str| !a.split(':').next().unwrap_or("").is_ascii();
    non_ascii(action)
        || docs.iter().flat_map(|d| d.statements.iter().take(6)).any(|s| {
            s.actions.iter().flatten().take(6).any(|a| non_ascii(&a.get(ACTIONS)))
        })
}

fuzz_target!(|input: Input| {
    let docs: Vec<&Doc> = input.docs.iter().take(4).collect();
    let mut policies = Vec::new();
    let mut unindexed = Vec::new();
    for d in &docs {
        let kind = KINDS[usize::from(d.kind) % KINDS.len()];
        if let Ok(p) = parse(&document(d, false), kind) {
            policies.push((kind, p));
            // Invariant 4 needs the rewritten document to parse as well.
            if let Ok(u) = parse(&document(d, true), kind) {
                unindexed.push((kind, u));
            }
        }
    }

    let principal = request_principal(input.principal);
    let root = principal.principal_type == portcullis_policy::PrincipalType::Root;
    let action = input.action.get(ACTIONS);
    let action = action.as_ref();
    let mut ctx = RequestContext::new(action, &input.resource.get(RESOURCES), principal);
    let owned_tags: Vec<_> = input.tags.iter().take(3).map(|(k, v)| (k.get(VALUES), v.get(VALUES))).collect();
    let tags: Vec<(&str, &str)> = owned_tags.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
    let user_id = if root { ACCOUNT } else { "AIDAEXAMPLEEXAMPLE01" };
    let username = input.username.as_ref().map(|u| u.get(VALUES));
    ctx.set_principal_keys(username.as_deref(), user_id, &tags);
    if let Some(t) = input.time {
        ctx.set_time(t);
    }
    for (key, values) in input.keys.iter().take(8) {
        ctx.set(&key.get(KEYS), values.iter().take(4).map(|v| v.get(VALUES).to_string()).collect());
    }
    let fresh = ctx.clone();

    let set = build_set(&policies);
    let d1 = evaluate(&set, &ctx);
    let d2 = evaluate(&set, &ctx);
    assert_eq!(d1, d2, "evaluating twice differs");
    assert_eq!(d1, evaluate(&set, &fresh), "a copy of the request decides differently");

    // 2. Deny-all identity policy.
    let mut denied = set.clone();
    denied.identity.push(("deny-all", deny_all()));
    let dd = evaluate(&denied, &ctx);
    if root {
        assert_eq!(dd, d1, "identity policies changed root's decision");
    } else {
        assert_ne!(dd.effect, EvalDecision::Allowed, "allowed despite an identity Deny *:* ({d1:?})");
    }

    // 3. Allow-all identity policy cannot undo an explicit deny.
    if d1.effect == EvalDecision::ExplicitDeny {
        let mut allowed = set.clone();
        allowed.identity.push(("allow-all", allow_all()));
        assert_eq!(evaluate(&allowed, &ctx).effect, EvalDecision::ExplicitDeny, "allow-all undid a deny");
    }

    // 4. Index equivalence (only when every document survived the rewrite the same way).
    if unindexed.len() == policies.len()
        && !action.contains(NEVER)
        && !(skip_known() && touches_known_issue(&docs, action))
        && policies.iter().zip(&unindexed).all(|((a, _), (b, _))| a == b)
    {
        let u = evaluate(&build_set(&unindexed), &ctx);
        assert_eq!(
            (u.effect, u.matched.len()),
            (d1.effect, d1.matched.len()),
            "the action index changed the decision for action {action:?}"
        );
        assert_eq!(u, d1, "the action index changed the decision's statements or missing keys");
    }
});
