//! The `Condition` element: operators, set qualifiers, `...IfExists`, and how
//! they treat missing and multivalued keys.
//!
//! Semantics, from AWS's documentation:
//! - every operator block, and every key within a block, must hold (AND);
//!   any one of a key's values may match (OR);
//! - a negated operator (`StringNotEquals`, `NotIpAddress`, ...) holds when the
//!   request value matches none of the policy values;
//! - a missing key makes a condition false, except that negated operators are
//!   then true, `...IfExists` is then true, `ForAllValues:` is then true and
//!   `ForAnyValue:` is then false; `Null` tests exactly for absence;
//! - without a qualifier, a multivalued key holds for a positive operator when
//!   any value matches, and for a negated one when no value matches;
//!   `ForAnyValue:` needs one request value to pass, `ForAllValues:` all of them.

use base64::Engine as _;
use serde_json::Value;

use crate::arn::ArnPattern;
use crate::context::{parse_number, RequestContext, Slot};
use crate::datetime::{self, Millis};
use crate::error::PolicyError;
use crate::ip::Cidr;
use crate::keys::KeyName;
use crate::matcher::Case;
use crate::variables::{Syntax, Template};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    Single,
    ForAllValues,
    ForAnyValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

/// A value that is parsed once, unless it holds a policy variable and must be
/// parsed after substitution.
#[derive(Debug, Clone, PartialEq)]
enum Parsed<T> {
    Ready(Option<T>),
    Late(Template),
}

#[derive(Debug, Clone, PartialEq)]
enum Values {
    Text(Vec<Template>),
    Arn(Vec<ArnPattern>),
    Num(Vec<Parsed<f64>>),
    Date(Vec<Parsed<Millis>>),
    Ip(Vec<Parsed<Cidr>>),
    Binary(Vec<Vec<u8>>),
    Null(Vec<bool>),
}

/// One operator applied to one key: `"StringLike": {"s3:prefix": ["a/*", "b/*"]}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    qualifier: Qualifier,
    family: Family,
    negated: bool,
    if_exists: bool,
    key: KeyName,
    /// As written, for reporting missing keys.
    key_display: Box<str>,
    values: Values,
}

/// Splits an operator name into its parts, or `None` when AWS does not know it.
fn parse_operator(name: &str) -> Option<(Qualifier, Family, bool, bool)> {
    let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAllValues:") {
        (Qualifier::ForAllValues, r)
    } else if let Some(r) = name.strip_prefix("ForAnyValue:") {
        (Qualifier::ForAnyValue, r)
    } else {
        (Qualifier::Single, name)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (rest, false),
    };
    let (family, negated) = match base {
        "StringEquals" => (Family::StringEquals, false),
        "StringNotEquals" => (Family::StringEquals, true),
        "StringEqualsIgnoreCase" => (Family::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Family::StringEqualsIgnoreCase, true),
        "StringLike" => (Family::StringLike, false),
        "StringNotLike" => (Family::StringLike, true),
        "NumericEquals" => (Family::Numeric(Cmp::Eq), false),
        "NumericNotEquals" => (Family::Numeric(Cmp::Eq), true),
        "NumericLessThan" => (Family::Numeric(Cmp::Lt), false),
        "NumericLessThanEquals" => (Family::Numeric(Cmp::Le), false),
        "NumericGreaterThan" => (Family::Numeric(Cmp::Gt), false),
        "NumericGreaterThanEquals" => (Family::Numeric(Cmp::Ge), false),
        "DateEquals" => (Family::Date(Cmp::Eq), false),
        "DateNotEquals" => (Family::Date(Cmp::Eq), true),
        "DateLessThan" => (Family::Date(Cmp::Lt), false),
        "DateLessThanEquals" => (Family::Date(Cmp::Le), false),
        "DateGreaterThan" => (Family::Date(Cmp::Gt), false),
        "DateGreaterThanEquals" => (Family::Date(Cmp::Ge), false),
        "Bool" => (Family::Bool, false),
        "BinaryEquals" => (Family::Binary, false),
        "IpAddress" => (Family::Ip, false),
        "NotIpAddress" => (Family::Ip, true),
        "ArnEquals" | "ArnLike" => (Family::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Family::Arn, true),
        // `Null` already is an existence test; it has no IfExists form.
        "Null" if !if_exists => (Family::Null, false),
        _ => return None,
    };
    Some((qualifier, family, negated, if_exists))
}

/// Whether an operator name is one AWS accepts.
pub(crate) fn is_known_operator(name: &str) -> bool {
    parse_operator(name).is_some()
}

pub(crate) fn is_date_operator(name: &str) -> bool {
    matches!(parse_operator(name), Some((_, Family::Date(_), _, _)))
}

/// JSON scalars in condition values are compared as text; `null` is skipped.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Condition {
    /// Compiles one key of one operator block. `raw` are the policy's values as
    /// text; `variables` is whether the policy is `2012-10-17`.
    pub(crate) fn compile(operator: &str, key: &str, raw: &[String], variables: bool) -> Result<Condition, PolicyError> {
        let (qualifier, family, negated, if_exists) = parse_operator(operator).ok_or_else(PolicyError::syntax)?;
        let text = |wildcards: bool| -> Vec<Template> {
            raw.iter()
                .map(|r| Template::compile(r, Syntax { wildcards, variables }))
                .collect()
        };
        fn parsed<T>(raw: &[String], variables: bool, parse: fn(&str) -> Option<T>) -> Vec<Parsed<T>> {
            raw.iter()
                .map(|r| {
                    let t = Template::compile(r, Syntax { wildcards: false, variables });
                    if t.has_vars() {
                        Parsed::Late(t)
                    } else {
                        Parsed::Ready(parse(r))
                    }
                })
                .collect()
        }
        let values = match family {
            Family::StringEquals | Family::StringEqualsIgnoreCase | Family::Bool => Values::Text(text(false)),
            Family::StringLike => Values::Text(text(true)),
            Family::Arn => Values::Arn(raw.iter().map(|r| ArnPattern::compile(r, variables)).collect()),
            Family::Numeric(_) => Values::Num(parsed(raw, variables, parse_number)),
            Family::Date(_) => {
                let v = parsed(raw, variables, datetime::parse);
                // AWS rejects a date it cannot read rather than storing a condition that never matches.
                if v.iter().any(|p| matches!(p, Parsed::Ready(None))) {
                    return Err(PolicyError::legacy());
                }
                Values::Date(v)
            }
            Family::Ip => Values::Ip(parsed(raw, variables, Cidr::parse)),
            Family::Binary => Values::Binary(raw.iter().filter_map(|r| decode_base64(r)).collect()),
            Family::Null => Values::Null(raw.iter().map(|r| r.eq_ignore_ascii_case("true")).collect()),
        };
        Ok(Condition {
            qualifier,
            family,
            negated,
            if_exists,
            key: KeyName::new(key),
            key_display: key.into(),
            values,
        })
    }

    pub(crate) fn key_as_written(&self) -> &str {
        &self.key_display
    }

    /// Evaluates against the request: whether the condition holds, and whether
    /// it needed a key the request does not have (`Null` needs none).
    pub(crate) fn holds(&self, ctx: &RequestContext) -> (bool, bool) {
        let present = ctx.slot(&self.key);
        if let Values::Null(wants) = &self.values {
            let absent = present.is_none();
            return (wants.contains(&absent), false);
        }
        let Some(slot) = present else {
            let result = self.if_exists
                || match self.qualifier {
                    Qualifier::ForAllValues => true,
                    Qualifier::ForAnyValue => false,
                    Qualifier::Single => self.negated,
                };
            return (result, true);
        };
        let passes = |i: usize| self.matches_any(slot, i, ctx) != self.negated;
        let mut indexes = 0..slot.values.len();
        let result = match self.qualifier {
            Qualifier::ForAnyValue => indexes.any(passes),
            Qualifier::ForAllValues => indexes.all(passes),
            Qualifier::Single if self.negated => indexes.all(passes),
            Qualifier::Single => indexes.any(passes),
        };
        (result, false)
    }

    /// Whether the request's `i`th value of the key matches any of the policy's values.
    fn matches_any(&self, slot: &Slot, i: usize, ctx: &RequestContext) -> bool {
        let r = slot.values.get(i).map_or("", String::as_str);
        match (&self.values, self.family) {
            (Values::Text(ts), Family::StringEquals) => ts.iter().any(|t| t.matches(r, ctx, Case::Sensitive) == Some(true)),
            (Values::Text(ts), Family::StringLike) => ts.iter().any(|t| t.matches(r, ctx, Case::Sensitive) == Some(true)),
            (Values::Text(ts), _) => ts.iter().any(|t| t.matches(r, ctx, Case::Insensitive) == Some(true)),
            (Values::Arn(ps), _) => ps.iter().any(|p| p.matches(r, ctx) == Some(true)),
            (Values::Num(ns), Family::Numeric(cmp)) => match slot.numbers().get(i).copied().flatten() {
                Some(x) => ns.iter().any(|n| resolve(n, ctx, parse_number).is_some_and(|n| cmp.holds(x, n))),
                None => false,
            },
            (Values::Date(ds), Family::Date(cmp)) => match slot.dates().get(i).copied().flatten() {
                Some(x) => ds.iter().any(|d| resolve(d, ctx, datetime::parse).is_some_and(|d| cmp.holds(x, d))),
                None => false,
            },
            (Values::Ip(cs), _) => match slot.ips().get(i).copied().flatten() {
                Some(ip) => cs.iter().any(|c| resolve(c, ctx, Cidr::parse).is_some_and(|c| c.contains(ip))),
                None => false,
            },
            (Values::Binary(bs), _) => decode_base64(r).is_some_and(|x| bs.contains(&x)),
            _ => false,
        }
    }
}

fn resolve<T: Copy>(p: &Parsed<T>, ctx: &RequestContext, parse: fn(&str) -> Option<T>) -> Option<T> {
    match p {
        Parsed::Ready(v) => *v,
        Parsed::Late(t) => t.render(ctx).and_then(|s| parse(&s)),
    }
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::RequestPrincipal;

    fn ctx(pairs: &[(&str, &[&str])]) -> RequestContext {
        let mut c = RequestContext::new("s3:GetObject", "*", RequestPrincipal::anonymous());
        for (k, vs) in pairs {
            c.set(k, vs.iter().map(|v| v.to_string()).collect());
        }
        c
    }

    fn holds(op: &str, key: &str, vals: &[&str], c: &RequestContext) -> bool {
        let raw: Vec<String> = vals.iter().map(|v| v.to_string()).collect();
        match Condition::compile(op, key, &raw, true) {
            Ok(cond) => cond.holds(c).0,
            Err(e) => panic!("{op}: {e}"),
        }
    }

    #[test]
    fn missing_key_rules() {
        let c = ctx(&[]);
        assert!(!holds("StringEquals", "k:x", &["a"], &c));
        assert!(holds("StringNotEquals", "k:x", &["a"], &c));
        assert!(holds("StringEqualsIfExists", "k:x", &["a"], &c));
        assert!(holds("ForAllValues:StringEquals", "k:x", &["a"], &c));
        assert!(!holds("ForAnyValue:StringEquals", "k:x", &["a"], &c));
        assert!(holds("Null", "k:x", &["true"], &c));
        assert!(!holds("Null", "k:x", &["false"], &c));
    }

    #[test]
    fn sets() {
        let c = ctx(&[("aws:TagKeys", &["a", "b"])]);
        assert!(holds("ForAllValues:StringEquals", "aws:tagkeys", &["a", "b", "c"], &c));
        assert!(!holds("ForAllValues:StringEquals", "aws:TagKeys", &["a"], &c));
        assert!(holds("ForAnyValue:StringEquals", "aws:TagKeys", &["b"], &c));
        assert!(!holds("ForAnyValue:StringEquals", "aws:TagKeys", &["z"], &c));
        assert!(holds("ForAnyValue:StringNotEquals", "aws:TagKeys", &["a"], &c));
        assert!(!holds("ForAllValues:StringNotEquals", "aws:TagKeys", &["a"], &c));
    }

    #[test]
    fn operators() {
        let c = ctx(&[
            ("n", &["10"]),
            ("d", &["2020-06-01T00:00:00Z"]),
            ("ip", &["10.1.2.3"]),
            ("b", &["TRUE"]),
            ("bin", &["QmluYXJ5"]),
            ("arn", &["arn:aws:iam::123456789012:role/x"]),
        ]);
        assert!(holds("NumericLessThan", "n", &["11"], &c));
        assert!(!holds("NumericLessThan", "n", &["10"], &c));
        assert!(holds("NumericLessThanEquals", "n", &["10.0"], &c));
        assert!(holds("NumericNotEquals", "n", &["9", "11"], &c));
        assert!(holds("DateGreaterThan", "d", &["2020-01-01"], &c));
        assert!(holds("DateLessThan", "d", &["1600000000"], &c));
        assert!(holds("IpAddress", "ip", &["10.0.0.0/8"], &c));
        assert!(holds("NotIpAddress", "ip", &["192.168.0.0/16"], &c));
        assert!(holds("Bool", "b", &["true"], &c));
        assert!(holds("BinaryEquals", "bin", &["QmluYXJ5"], &c));
        assert!(holds("ArnLike", "arn", &["arn:aws:iam::*:role/*"], &c));
        assert!(holds("ArnNotEquals", "arn", &["arn:aws:iam::*:user/*"], &c));
    }
}
