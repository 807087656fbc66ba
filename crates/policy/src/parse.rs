//! JSON policy document → compiled [`Policy`], applying AWS's grammar and the
//! rules of each [`PolicyKind`]. Checks run in the order AWS appears to run
//! them, so that a document with several mistakes gets AWS's message.

use serde_json::{Map, Value};

use crate::arn::ArnPattern;
use crate::condition::{self, Condition};
use crate::error::{self, PolicyError};
use crate::index::ActionIndex;
use crate::kind::PolicyKind;
use crate::policy::{ActionPattern, Effect, Policy, PolicyVersion, Statement};
use crate::principal::PrincipalSpec;
use crate::validate;

const TOP_LEVEL: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// Parses, validates and compiles a policy document of the given kind.
pub fn parse(document: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let value: Value = serde_json::from_str(document).map_err(|_| match kind {
        PolicyKind::Trust => PolicyError::new(error::INVALID_JSON),
        _ => PolicyError::syntax(),
    })?;
    let top = value.as_object().ok_or_else(PolicyError::syntax)?;
    if top.keys().any(|k| !TOP_LEVEL.contains(&k.as_str())) {
        return Err(PolicyError::syntax());
    }
    let version = match top.get("Version") {
        None => None,
        Some(Value::String(v)) if v == "2012-10-17" => Some(PolicyVersion::V2012_10_17),
        Some(Value::String(v)) if v == "2008-10-17" => Some(PolicyVersion::V2008_10_17),
        Some(_) => return Err(PolicyError::syntax()),
    };
    let id = match top.get("Id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(PolicyError::syntax()),
    };
    if kind.requires_current_version() && version != Some(PolicyVersion::V2012_10_17) {
        return Err(PolicyError::new(error::VERSION_REQUIRED));
    }
    // AWS documents that a missing Version means the 2008-10-17 language.
    let version = version.unwrap_or(PolicyVersion::V2008_10_17);

    let raw_statements: Vec<&Map<String, Value>> = match top.get("Statement") {
        Some(Value::Object(s)) => vec![s],
        Some(Value::Array(list)) if !list.is_empty() => list
            .iter()
            .map(|s| s.as_object().ok_or_else(PolicyError::syntax))
            .collect::<Result<_, _>>()?,
        _ => return Err(PolicyError::syntax()),
    };

    // A wrongly cased Effect ("allow") trips AWS's legacy parser before anything else.
    for s in &raw_statements {
        if let Some(Value::String(e)) = s.get("Effect") {
            if e != "Allow" && e != "Deny" && (e.eq_ignore_ascii_case("allow") || e.eq_ignore_ascii_case("deny")) {
                return Err(PolicyError::legacy());
            }
        }
    }

    let mut sids: Vec<&str> = Vec::new();
    let mut statements = Vec::with_capacity(raw_statements.len());
    for s in &raw_statements {
        statements.push(statement(s, kind, version, &mut sids)?);
    }
    let index = ActionIndex::build(raw_statements.iter().map(|s| {
        let (value, not_action) = match (s.get("Action"), s.get("NotAction")) {
            (Some(a), _) => (a, false),
            (None, Some(a)) => (a, true),
            (None, None) => (&Value::Null, false),
        };
        (not_action, string_list(value).unwrap_or_default())
    }));
    Ok(Policy {
        kind,
        version,
        id,
        statements,
        index,
    })
}

fn statement<'a>(
    s: &'a Map<String, Value>,
    kind: PolicyKind,
    version: PolicyVersion,
    sids: &mut Vec<&'a str>,
) -> Result<Statement, PolicyError> {
    if s.keys().any(|k| !STATEMENT_KEYS.contains(&k.as_str())) {
        return Err(PolicyError::syntax());
    }
    for (a, b) in [("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal")] {
        if s.contains_key(a) && s.contains_key(b) {
            return Err(PolicyError::syntax());
        }
    }

    let sid = match s.get("Sid") {
        None => None,
        Some(Value::String(sid)) => {
            if !sid.is_empty() {
                if sids.contains(&sid.as_str()) {
                    return Err(PolicyError::new(error::DUPLICATE_SID));
                }
                sids.push(sid);
            }
            if kind.alphanumeric_sid() {
                validate::iam_sid(sid)?;
            }
            Some(sid.clone())
        }
        Some(_) => return Err(PolicyError::syntax()),
    };

    let effect = match s.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        _ => return Err(PolicyError::syntax()),
    };

    let raw_conditions = match s.get("Condition") {
        None => Vec::new(),
        Some(c) => condition_structure(c)?,
    };

    let (principal_value, negated) = match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(p), _) => (Some(p), false),
        (None, Some(p)) => (Some(p), true),
        (None, None) => (None, false),
    };
    let principal = match principal_value {
        Some(_) if kind.forbids_principal() => return Err(PolicyError::new(error::NO_PRINCIPAL_ALLOWED)),
        None if kind.requires_principal() => return Err(PolicyError::new(error::PRINCIPAL_REQUIRED)),
        None => None,
        Some(p) => Some(principal(p, negated)?),
    };

    let (action_value, not_action) = match (s.get("Action"), s.get("NotAction")) {
        (Some(a), _) => (a, false),
        (None, Some(a)) => (a, true),
        (None, None) => {
            if raw_conditions.iter().any(|(op, _, _)| condition::is_date_operator(op)) {
                return Err(PolicyError::legacy());
            }
            // A resource AWS cannot read is reported before the missing actions (recorded).
            if let Some(r) = s.get("Resource").or_else(|| s.get("NotResource")) {
                for r in string_list(r)? {
                    validate::resource(r)?;
                }
            }
            return Err(PolicyError::new(error::ACTIONS_REQUIRED));
        }
    };
    let actions = string_list(action_value)?;
    if actions.is_empty() {
        return Err(PolicyError::new(error::ACTIONS_REQUIRED));
    }

    let resource_value = match (s.get("Resource"), s.get("NotResource")) {
        (Some(r), _) => Some((r, false)),
        (None, Some(r)) => Some((r, true)),
        (None, None) => None,
    };
    let variables = version == PolicyVersion::V2012_10_17;
    let (resources, not_resource) = match resource_value {
        Some(_) if kind == PolicyKind::Trust => return Err(PolicyError::new(error::RESOURCE_PROHIBITED)),
        None if kind == PolicyKind::Trust => (None, false),
        // Missing resources are reported before a malformed action (recorded).
        None => return Err(PolicyError::new(error::RESOURCES_REQUIRED)),
        Some((value, negated)) => {
            let list = string_list(value)?;
            if list.is_empty() {
                return Err(PolicyError::new(error::RESOURCES_REQUIRED));
            }
            (Some(list), negated)
        }
    };

    // Conditions are compiled (and dates checked) before resource and action
    // strings, matching which error AWS reports first.
    let mut conditions = Vec::new();
    for (op, key, values) in &raw_conditions {
        if condition::is_known_operator(op) {
            conditions.push(Condition::compile(op, key, values, variables)?);
        }
    }

    let resources = match resources {
        None => None,
        Some(list) => {
            for r in &list {
                validate::resource(r)?;
            }
            Some(list.iter().map(|r| ArnPattern::compile(r, variables)).collect())
        }
    };
    for a in &actions {
        validate::action(a)?;
    }
    if kind == PolicyKind::Trust && !not_action && actions.iter().any(|a| !is_assume_role_action(a)) {
        return Err(PolicyError::new(error::TRUST_ACTIONS));
    }

    Ok(Statement {
        sid,
        effect,
        principal,
        actions: actions.iter().map(|a| ActionPattern::new(a)).collect(),
        not_action,
        resources,
        not_resource,
        conditions,
    })
}

/// What a role's trust policy may allow: STS's ways of assuming a role and what goes with
/// them, or a wildcard.
fn is_assume_role_action(action: &str) -> bool {
    const ALLOWED: [&str; 6] =
        ["sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity", "sts:tagsession", "sts:setsourceidentity", "sts:setcontext"];
    action.contains(['*', '?']) || ALLOWED.iter().any(|a| a.eq_ignore_ascii_case(action))
}

/// (operator, key, values as text) before compiling.
type RawCondition<'a> = (&'a str, &'a str, Vec<String>);

/// A string or a list of strings, as `Action` and `Resource` take.
fn string_list(v: &Value) -> Result<Vec<&str>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().ok_or_else(PolicyError::syntax))
            .collect(),
        _ => Err(PolicyError::syntax()),
    }
}

/// Checks the shape of a `Condition` block and flattens it to
/// (operator, key, values). Unknown operators are a syntax error unless their
/// block is empty, which AWS ignores.
fn condition_structure(c: &Value) -> Result<Vec<RawCondition<'_>>, PolicyError> {
    let ops = c.as_object().ok_or_else(PolicyError::syntax)?;
    let mut out = Vec::new();
    for (op, block) in ops {
        let block = block.as_object().ok_or_else(PolicyError::syntax)?;
        if !condition::is_known_operator(op) {
            if block.is_empty() {
                continue;
            }
            return Err(PolicyError::syntax());
        }
        for (key, value) in block {
            let values = match value {
                Value::Array(items) => {
                    let mut vs = Vec::with_capacity(items.len());
                    for i in items {
                        match i {
                            Value::Null => {}
                            Value::Array(_) | Value::Object(_) => return Err(PolicyError::syntax()),
                            scalar => vs.extend(condition::scalar_text(scalar)),
                        }
                    }
                    vs
                }
                Value::Object(_) => return Err(PolicyError::syntax()),
                scalar => condition::scalar_text(scalar).into_iter().collect(),
            };
            out.push((op.as_str(), key.as_str(), values));
        }
    }
    Ok(out)
}

/// `"*"` or `{"AWS": ..., "Service": ..., "Federated": ..., "CanonicalUser": ...}`.
fn principal(v: &Value, negated: bool) -> Result<PrincipalSpec, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(PrincipalSpec::everyone(negated)),
        Value::Object(map) => {
            let mut spec = PrincipalSpec::new(negated);
            for (kind, values) in map {
                for value in string_list(values)? {
                    spec.add(kind, value)?;
                }
            }
            if spec.is_empty() {
                return Err(PolicyError::syntax());
            }
            Ok(spec)
        }
        _ => Err(PolicyError::syntax()),
    }
}
