//! Runs the decision corpus in `tests/corpus/*.json`.
//!
//! Each file: `{"about", "policies": {NAME: {"kind", "document"}}, "defaults": CASE, "cases": [CASE]}`
//! where a CASE may give `set` (`identity`, `resource`, `boundary`, `scps`
//! (levels), `session` — lists of policy names; `cross_account`: true), `action`, `resource`,
//! `principal` (a name below or an object), `context` (key → string, number,
//! bool or list), `tags`, `time` (epoch seconds), and the expectations `expect`
//! (`allowed`/`explicitDeny`/`implicitDeny`), optionally `matched`
//! (`["NAME#INDEX", ...]`) and `missing` (context keys). Fields of a case
//! override the file's `defaults`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use portcullis_policy::*;
use serde_json::{Map, Value};

const ACCOUNT: &str = "111122223333";

fn principal(v: &Value) -> (RequestPrincipal, Option<String>) {
    if let Value::Object(o) = v {
        let s = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
        let account = s("account").unwrap_or_else(|| ACCOUNT.to_string());
        let p = match s("type").as_deref() {
            Some("root") => RequestPrincipal::root(&account),
            Some("role") => RequestPrincipal::assumed_role(&account, &s("role_arn").unwrap(), &s("arn").unwrap()),
            Some("service") => RequestPrincipal::service(&s("service").unwrap()),
            Some("anonymous") => RequestPrincipal::anonymous(),
            Some("federated") => {
                let mut p = RequestPrincipal::assumed_role(&account, &s("role_arn").unwrap(), &s("arn").unwrap());
                p.federated = s("provider");
                p
            }
            _ => RequestPrincipal::user(&account, &s("arn").unwrap()),
        };
        return (p, s("username"));
    }
    let name = v.as_str().unwrap_or("alice");
    let user = |n: &str, acct: &str| {
        (RequestPrincipal::user(acct, &format!("arn:aws:iam::{acct}:user/{n}")), Some(n.to_string()))
    };
    match name {
        "alice" => user("alice", ACCOUNT),
        "bob" => user("bob", ACCOUNT),
        "mallory" => user("mallory", "444455556666"),
        "root" => (RequestPrincipal::root(ACCOUNT), None),
        "session" => (
            RequestPrincipal::assumed_role(
                ACCOUNT,
                "arn:aws:iam::111122223333:role/Dev",
                "arn:aws:sts::111122223333:assumed-role/Dev/sess1",
            ),
            None,
        ),
        "anonymous" => (RequestPrincipal::anonymous(), None),
        s if s.starts_with("service:") => (RequestPrincipal::service(&s["service:".len()..]), None),
        other => panic!("unknown principal {other}"),
    }
}

fn values(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().flat_map(values).collect(),
        Value::String(s) => vec![s.clone()],
        Value::Null => vec![],
        other => vec![other.to_string()],
    }
}

fn names(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

fn kind(s: &str) -> PolicyKind {
    match s {
        "identity" => PolicyKind::Identity,
        "resource" => PolicyKind::Resource,
        "trust" => PolicyKind::Trust,
        "boundary" => PolicyKind::PermissionsBoundary,
        "scp" => PolicyKind::Scp,
        "session" => PolicyKind::Session,
        other => panic!("unknown kind {other}"),
    }
}

/// Runs one case; `Err` describes a mismatch.
fn run_case(policies: &HashMap<String, Policy>, case: &Map<String, Value>) -> Result<(), String> {
    let get = |n: &str| policies.get(n).ok_or_else(|| format!("no policy {n}"));
    let set_v = case.get("set").and_then(Value::as_object).cloned().unwrap_or_default();
    let list = |k: &str| -> Result<Vec<AttachedPolicy<'_>>, String> {
        names(set_v.get(k)).iter().map(|n| Ok((policies.get_key_value(n).ok_or(format!("no policy {n}"))?.0.as_str(), get(n)?))).collect()
    };
    let mut set = PolicySet {
        identity: list("identity")?,
        resource: list("resource")?,
        session: list("session")?,
        ..Default::default()
    };
    set.cross_account = set_v.get("cross_account").and_then(Value::as_bool).unwrap_or(false);
    if let Some(b) = set_v.get("boundary").and_then(Value::as_str) {
        set.boundary = Some((policies.get_key_value(b).ok_or(format!("no policy {b}"))?.0.as_str(), get(b)?));
    }
    if let Some(levels) = set_v.get("scps").and_then(Value::as_array) {
        for level in levels {
            let mut l = Vec::new();
            for n in names(Some(level)) {
                l.push((policies.get_key_value(&n).ok_or(format!("no policy {n}"))?.0.as_str(), get(&n)?));
            }
            set.scps.push(l);
        }
    }

    let (who, username) = principal(case.get("principal").unwrap_or(&Value::Null));
    let action = case.get("action").and_then(Value::as_str).ok_or("no action")?;
    let resource = case.get("resource").and_then(Value::as_str).unwrap_or("*");
    let mut req = RequestContext::new(action, resource, who);
    let tags: Vec<(String, String)> = case
        .get("tags")
        .and_then(Value::as_object)
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default();
    let tag_refs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let userid = username.as_deref().map(|u| format!("AIDA{}", u.to_uppercase())).unwrap_or_else(|| "AROADEV:sess1".into());
    req.set_principal_keys(username.as_deref(), &userid, &tag_refs);
    if let Some(t) = case.get("time").and_then(Value::as_i64) {
        req.set_time(t);
    }
    if let Some(ctx) = case.get("context").and_then(Value::as_object) {
        for (k, v) in ctx {
            if v.is_null() {
                req.remove(k);
            } else {
                req.set(k, values(v));
            }
        }
    }

    let d = evaluate(&set, &req);
    let expect = case.get("expect").and_then(Value::as_str).ok_or("no expect")?;
    if d.effect.as_str() != expect {
        return Err(format!("expected {expect}, got {} ({d:?})", d.effect.as_str()));
    }
    if let Some(m) = case.get("matched") {
        let got: Vec<String> = d.matched.iter().map(|m| format!("{}#{}", m.policy_id, m.statement_index)).collect();
        let mut want = names(Some(m));
        let mut got_sorted = got.clone();
        want.sort();
        got_sorted.sort();
        if want != got_sorted {
            return Err(format!("matched {got:?}, expected {want:?}"));
        }
    }
    if let Some(m) = case.get("missing") {
        let mut want = names(Some(m));
        let mut got = d.missing_context_keys.clone();
        want.sort();
        got.sort();
        if want != got {
            return Err(format!("missing {got:?}, expected {want:?}"));
        }
    }
    Ok(())
}

#[test]
fn corpus() {
    let dir = format!("{}/tests/corpus", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut total = 0usize;
    let mut failures = Vec::new();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "json")) {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut policies = HashMap::new();
        for (pname, p) in doc["policies"].as_object().unwrap() {
            let text = serde_json::to_string(&p["document"]).unwrap();
            let parsed = parse(&text, kind(p["kind"].as_str().unwrap())).unwrap_or_else(|e| panic!("{name}/{pname}: {e}"));
            policies.insert(pname.clone(), parsed);
        }
        let defaults = doc.get("defaults").and_then(Value::as_object).cloned().unwrap_or_default();
        for (i, case) in doc["cases"].as_array().unwrap().iter().enumerate() {
            let mut merged = defaults.clone();
            for (k, v) in case.as_object().unwrap() {
                merged.insert(k.clone(), v.clone());
            }
            total += 1;
            if let Err(e) = run_case(&policies, &merged) {
                let label = merged.get("name").and_then(Value::as_str).unwrap_or("");
                failures.push(format!("{name} case {i} {label}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {total} cases failed:\n{}", failures.len(), failures.join("\n"));
    println!("corpus: {total} cases passed");
    assert!(total >= 300, "corpus has only {total} cases");
}
