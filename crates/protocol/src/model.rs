//! botocore's service model, loaded at start, drives input validation: required members,
//! lengths, patterns, numeric ranges, enums and list sizes, with AWS's `ValidationError`
//! wording. Handlers then see only inputs that satisfy the model.

use std::collections::HashMap;
use std::io::Read;

use fancy_regex::Regex;
use serde_json::Value;

use crate::{AwsError, QueryParams};

#[derive(Debug)]
enum Shape {
    String {
        min: Option<i64>,
        max: Option<i64>,
        pattern: Option<(String, Regex)>,
        enum_values: Vec<String>,
        sensitive: bool,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Boolean,
    List {
        member: String,
        min: Option<i64>,
        max: Option<i64>,
    },
    Structure {
        members: Vec<(String, String)>,
        required: Vec<String>,
    },
    Other,
}

#[derive(Debug, Clone)]
pub struct OperationSpec {
    pub name: String,
    pub input: Option<String>,
    pub has_output: bool,
    /// The HTTP method and request URI of REST protocols (`POST`, `/putAlternateContact`);
    /// the URI may carry a fixed query (`/token?aws_iam=t`).
    pub http_method: String,
    pub request_uri: String,
    /// Input members bound outside the body: (member, `querystring` or `header`, wire name).
    pub bindings: Vec<(String, String, String)>,
}

#[derive(Debug)]
pub struct ServiceModel {
    pub api_version: String,
    /// STS still echoes the offending value in validation messages; IAM no longer does.
    echo_values: bool,
    operations: HashMap<String, OperationSpec>,
    shapes: HashMap<String, Shape>,
}

/// botocore patterns are Java regular expressions matched against the whole value.
fn java_to_rust_pattern(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 16);
    let mut in_class = false;
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let mut unit = u32::from_str_radix(&hex, 16).unwrap_or(0xFFFD);
                    // Java writes characters past U+FFFF as UTF-16 surrogate pairs.
                    if (0xD800..0xDC00).contains(&unit) {
                        let mut ahead = chars.clone();
                        if ahead.next() == Some('\\') && ahead.next() == Some('u') {
                            let low: String = ahead.by_ref().take(4).collect();
                            if let Ok(low) = u32::from_str_radix(&low, 16) {
                                if (0xDC00..0xE000).contains(&low) {
                                    unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                                    chars = ahead;
                                }
                            }
                        }
                    }
                    out.push_str(&format!("\\x{{{unit:X}}}"));
                }
                Some('w') => out.push_str(if in_class { "A-Za-z0-9_" } else { "[A-Za-z0-9_]" }),
                Some('d') => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    format!("^(?:{out})$")
}

fn int(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

fn lower_first(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

impl ServiceModel {
    /// Loads a gzipped botocore `service-2.json`.
    pub fn load_gz(gz: &[u8]) -> Result<Self, String> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz).read_to_string(&mut text).map_err(|e| e.to_string())?;
        let json: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        Self::from_json(&json)
    }

    fn from_json(json: &Value) -> Result<Self, String> {
        let api_version = json["metadata"]["apiVersion"].as_str().unwrap_or_default().to_owned();
        let mut operations = HashMap::new();
        for (name, op) in json["operations"].as_object().ok_or("no operations")? {
            let input = op["input"]["shape"].as_str().map(str::to_owned);
            let bindings = input
                .as_deref()
                .and_then(|i| json["shapes"][i]["members"].as_object())
                .map(|members| {
                    members
                        .iter()
                        .filter_map(|(m, v)| Some((m.clone(), v["location"].as_str()?.to_owned(), v["locationName"].as_str().unwrap_or(m).to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            operations.insert(
                name.clone(),
                OperationSpec {
                    name: name.clone(),
                    input,
                    has_output: op.get("output").is_some(),
                    http_method: op["http"]["method"].as_str().unwrap_or("POST").to_owned(),
                    request_uri: op["http"]["requestUri"].as_str().unwrap_or("/").to_owned(),
                    bindings,
                },
            );
        }
        let mut shapes = HashMap::new();
        for (name, s) in json["shapes"].as_object().ok_or("no shapes")? {
            // A document member holds any JSON value.
            let kind = if s["document"].as_bool() == Some(true) { "document" } else { s["type"].as_str().unwrap_or_default() };
            let shape = match kind {
                "string" => Shape::String {
                    min: int(s, "min"),
                    max: int(s, "max"),
                    pattern: match s["pattern"].as_str() {
                        Some(p) => Some((
                            p.to_owned(),
                            Regex::new(&java_to_rust_pattern(p)).map_err(|e| format!("{name}: {e}"))?,
                        )),
                        None => None,
                    },
                    enum_values: s["enum"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default(),
                    sensitive: s["sensitive"].as_bool().unwrap_or(false),
                },
                "integer" | "long" => Shape::Integer { min: int(s, "min"), max: int(s, "max") },
                "boolean" => Shape::Boolean,
                "list" => Shape::List {
                    member: s["member"]["shape"].as_str().unwrap_or_default().to_owned(),
                    min: int(s, "min"),
                    max: int(s, "max"),
                },
                "structure" => Shape::Structure {
                    members: s["members"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| (k.clone(), v["shape"].as_str().unwrap_or_default().to_owned()))
                                .collect()
                        })
                        .unwrap_or_default(),
                    required: s["required"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default(),
                },
                _ => Shape::Other,
            };
            shapes.insert(name.clone(), shape);
        }
        let echo_values = api_version != "2010-05-08";
        Ok(Self { api_version, echo_values, operations, shapes })
    }

    pub fn operation(&self, name: &str) -> Option<&OperationSpec> {
        self.operations.get(name)
    }

    pub fn operation_names(&self) -> impl Iterator<Item = &str> {
        self.operations.keys().map(String::as_str)
    }

    pub fn operations(&self) -> impl Iterator<Item = &OperationSpec> {
        self.operations.values()
    }

    /// Whether a member of a structure is a number (a query-string value is then read as one).
    pub fn member_is_integer(&self, structure: &str, member: &str) -> bool {
        let Some(Shape::Structure { members, .. }) = self.shapes.get(structure) else { return false };
        members.iter().find(|(m, _)| m == member).is_some_and(|(_, shape)| matches!(self.shapes.get(shape), Some(Shape::Integer { .. })))
    }

    /// Checks the request's parameters against the operation's input shape.
    pub fn validate(&self, op: &OperationSpec, params: &QueryParams) -> Result<(), AwsError> {
        let mut errors = Vec::new();
        if let Some(input) = &op.input {
            self.check_struct(input, "", "", params, &mut errors);
        }
        // IAM words name and path pattern failures in its own sentence, which stands alone.
        if let Some(special) = errors.iter().find(|e| e.starts_with("The specified value")) {
            return Err(AwsError::validation(special.clone()));
        }
        match errors.len() {
            0 => Ok(()),
            1 => Err(AwsError::validation(format!("1 validation error detected: {}", errors[0]))),
            n => Err(AwsError::validation(format!(
                "{n} validation errors detected: {}",
                errors.join("; ")
            ))),
        }
    }

    fn check_struct(&self, shape: &str, wire: &str, label: &str, params: &QueryParams, errors: &mut Vec<String>) {
        let Some(Shape::Structure { members, required }) = self.shapes.get(shape) else { return };
        for (member, member_shape) in members {
            let wire_key = if wire.is_empty() { member.clone() } else { format!("{wire}.{member}") };
            let label_key =
                if label.is_empty() { lower_first(member) } else { format!("{label}.{}", lower_first(member)) };
            let present = self.is_present(member_shape, &wire_key, params);
            if !present {
                if required.contains(member) {
                    let null = if self.echo_values { " null" } else { "" };
                    errors.push(format!(
                        "Value{null} at '{label_key}' failed to satisfy constraint: Member must not be null"
                    ));
                }
                continue;
            }
            self.check_value(member_shape, &wire_key, &label_key, params, errors);
        }
    }

    fn iam_pattern_message(&self, pattern: &str, label: &str) -> Option<String> {
        if self.echo_values {
            return None;
        }
        let member = label.rsplit('.').next().unwrap_or(label);
        match pattern {
            "[\\w+=,.@-]+" | "[\\w+=,.@-]*" => Some(format!(
                "The specified value for {member} is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-"
            )),
            "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)" => Some(format!(
                "The specified value for {member} is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."
            )),
            "\\u002F[\\u0021-\\u007F]*" => Some(format!(
                "The specified value for {member} is invalid. It must begin with the / character and contain only alphanumeric characters and/or / characters."
            )),
            _ => None,
        }
    }

    fn is_present(&self, shape: &str, wire_key: &str, params: &QueryParams) -> bool {
        match self.shapes.get(shape) {
            Some(Shape::List { .. }) => params.contains(wire_key) || !params.member_prefixes(wire_key).is_empty(),
            Some(Shape::Structure { members, .. }) => members
                .iter()
                .any(|(m, s)| self.is_present(s, &format!("{wire_key}.{m}"), params)),
            _ => params.contains(wire_key),
        }
    }

    fn check_value(&self, shape: &str, wire_key: &str, label: &str, params: &QueryParams, errors: &mut Vec<String>) {
        match self.shapes.get(shape) {
            Some(Shape::String { min, max, pattern, enum_values, sensitive }) => {
                let v = params.get(wire_key).unwrap_or_default();
                let shown = if *sensitive || !self.echo_values { String::new() } else { format!(" '{v}'") };
                let len = i64::try_from(v.chars().count()).unwrap_or(i64::MAX);
                if let Some(max) = max.filter(|m| len > *m) {
                    errors.push(format!(
                        "Value{shown} at '{label}' failed to satisfy constraint: Member must have length less than or equal to {max}"
                    ));
                }
                if let Some(min) = min.filter(|m| len < *m) {
                    errors.push(format!(
                        "Value{shown} at '{label}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
                    ));
                }
                if let Some((src, re)) = pattern {
                    if len > 0 && !re.is_match(v).unwrap_or(false) {
                        if let Some(special) = self.iam_pattern_message(src, label) {
                            errors.push(special);
                            return;
                        }
                        errors.push(format!(
                            "Value{shown} at '{label}' failed to satisfy constraint: Member must satisfy regular expression pattern: {src}"
                        ));
                    }
                }
                if !enum_values.is_empty() && !enum_values.iter().any(|e| e == v) {
                    errors.push(format!(
                        "Value{shown} at '{label}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                        enum_values.join(", ")
                    ));
                }
            }
            Some(Shape::Integer { min, max }) => {
                let raw = params.get(wire_key).unwrap_or_default();
                let shown = if self.echo_values { format!(" '{raw}'") } else { String::new() };
                match raw.trim().parse::<i64>() {
                    Err(_) => errors.push(format!(
                        "Value{shown} at '{label}' failed to satisfy constraint: Member must be a number"
                    )),
                    Ok(n) => {
                        if let Some(max) = max.filter(|m| n > *m) {
                            errors.push(format!(
                                "Value{shown} at '{label}' failed to satisfy constraint: Member must have value less than or equal to {max}"
                            ));
                        }
                        if let Some(min) = min.filter(|m| n < *m) {
                            errors.push(format!(
                                "Value{shown} at '{label}' failed to satisfy constraint: Member must have value greater than or equal to {min}"
                            ));
                        }
                    }
                }
            }
            Some(Shape::Boolean) => {
                let raw = params.get(wire_key).unwrap_or_default();
                if !raw.eq_ignore_ascii_case("true") && !raw.eq_ignore_ascii_case("false") {
                    let shown = if self.echo_values { format!(" '{raw}'") } else { String::new() };
                    errors.push(format!(
                        "Value{shown} at '{label}' failed to satisfy constraint: Member must be a boolean"
                    ));
                }
            }
            Some(Shape::List { member, min, max }) => {
                let items = params.member_prefixes(wire_key);
                let n = i64::try_from(items.len()).unwrap_or(i64::MAX);
                if let Some(max) = max.filter(|m| n > *m) {
                    errors.push(format!(
                        "Value at '{label}' failed to satisfy constraint: Member must have length less than or equal to {max}"
                    ));
                }
                if let Some(min) = min.filter(|m| n < *m) {
                    errors.push(format!(
                        "Value at '{label}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
                    ));
                }
                if let Some(Shape::String { min, max, pattern, enum_values, .. }) = self.shapes.get(member) {
                    // A list of plain values: AWS names the list once, with every constraint
                    // of its members, when any member breaks one.
                    let mut broken = Vec::new();
                    for item in &items {
                        self.check_value(member, item, label, params, &mut broken);
                    }
                    if !broken.is_empty() {
                        let mut rules = Vec::new();
                        if let Some(max) = max {
                            rules.push(format!("Member must have length less than or equal to {max}"));
                        }
                        if let Some(min) = min {
                            rules.push(format!("Member must have length greater than or equal to {min}"));
                        }
                        if let Some((src, _)) = pattern {
                            rules.push(format!("Member must satisfy regular expression pattern: {src}"));
                        }
                        if !enum_values.is_empty() {
                            rules.push(format!("Member must satisfy enum value set: [{}]", enum_values.join(", ")));
                        }
                        errors.push(format!(
                            "Value at '{label}' failed to satisfy constraint: Member must satisfy constraint: [{}]",
                            rules.join(", ")
                        ));
                    }
                    return;
                }
                for (i, item) in items.iter().enumerate() {
                    let item_label = format!("{label}.{}.member", i + 1);
                    match self.shapes.get(member) {
                        Some(Shape::Structure { .. }) => {
                            self.check_struct(member, item, &item_label, params, errors)
                        }
                        _ => self.check_value(member, item, &item_label, params, errors),
                    }
                }
            }
            Some(Shape::Structure { .. }) => self.check_struct(shape, wire_key, label, params, errors),
            Some(Shape::Other) | None => {}
        }
    }
}

/// Why a JSON-protocol input broke its model, for the service to word as it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViolationKind {
    /// A required member is absent (or null).
    Missing,
    TooLong,
    TooShort,
    Pattern,
    Enum,
    TooHigh,
    TooLow,
    /// The value is not of the member's type (a string where a number belongs): JSON
    /// services answer these with `SerializationException`.
    Type,
}

/// One broken constraint of a JSON-protocol input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub kind: ViolationKind,
    /// The member's label (`name`, `tags.1.member.key`).
    pub label: String,
    /// AWS's sentence: `Value 'x' at 'name' failed to satisfy constraint: Member must …`.
    pub message: String,
}

impl ServiceModel {
    /// Checks a JSON-protocol request body against the operation's input shape; every
    /// broken constraint, in the order of the shape's members.
    pub fn check_json(&self, op: &OperationSpec, input: &Value) -> Vec<Violation> {
        let mut out = self.check_json_all(op, input);
        // Enough to act on; a huge request must not make a huge answer.
        out.truncate(MAX_VIOLATIONS);
        out
    }

    fn check_json_all(&self, op: &OperationSpec, input: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        if let Some(shape) = &op.input {
            match input {
                Value::Object(_) => self.json_struct(shape, input, "", &mut out),
                Value::Null => self.json_struct(shape, &Value::Object(Default::default()), "", &mut out),
                _ => out.push(Violation { kind: ViolationKind::Type, label: String::new(), message: "Start of structure or map found where not expected.".to_owned() }),
            }
        }
        out
    }

    fn json_struct(&self, shape: &str, value: &Value, label: &str, out: &mut Vec<Violation>) {
        let Some(Shape::Structure { members, required }) = self.shapes.get(shape) else { return };
        let Some(obj) = value.as_object() else {
            out.push(Violation { kind: ViolationKind::Type, label: label.to_owned(), message: format!("Value at '{label}' is not a structure.") });
            return;
        };
        for (member, member_shape) in members {
            let member_label = if label.is_empty() { lower_first(member) } else { format!("{label}.{}", lower_first(member)) };
            match obj.get(member) {
                None | Some(Value::Null) => {
                    if required.contains(member) {
                        out.push(Violation {
                            kind: ViolationKind::Missing,
                            message: format!("Value null at '{member_label}' failed to satisfy constraint: Member must not be null"),
                            label: member_label,
                        });
                    }
                }
                Some(v) => self.json_value(member_shape, v, &member_label, out),
            }
        }
    }

    fn json_value(&self, shape: &str, v: &Value, label: &str, out: &mut Vec<Violation>) {
        if out.len() >= MAX_VIOLATIONS {
            return;
        }
        let mut broke = |kind: ViolationKind, shown: &str, rule: String| {
            out.push(Violation { kind, label: label.to_owned(), message: format!("Value{shown} at '{label}' failed to satisfy constraint: Member must {rule}") });
        };
        let type_error = |out: &mut Vec<Violation>, what: &str| {
            out.push(Violation { kind: ViolationKind::Type, label: label.to_owned(), message: format!("{} can not be converted to {what}", json_type_name(v)) });
        };
        match self.shapes.get(shape) {
            Some(Shape::String { min, max, pattern, enum_values, sensitive }) => {
                let Some(text) = v.as_str() else { return type_error(out, "a String") };
                let shown = if *sensitive { String::new() } else { format!(" '{}'", shorten(text)) };
                let len = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
                if let Some(max) = max.filter(|m| len > *m) {
                    broke(ViolationKind::TooLong, &shown, format!("have length less than or equal to {max}"));
                }
                if let Some(min) = min.filter(|m| len < *m) {
                    broke(ViolationKind::TooShort, &shown, format!("have length greater than or equal to {min}"));
                }
                if let Some((src, re)) = pattern {
                    if len > 0 && !re.is_match(text).unwrap_or(false) {
                        broke(ViolationKind::Pattern, &shown, format!("satisfy regular expression pattern: {src}"));
                    }
                }
                if !enum_values.is_empty() && !enum_values.iter().any(|e| e == text) {
                    broke(ViolationKind::Enum, &shown, format!("satisfy enum value set: [{}]", enum_values.join(", ")));
                }
            }
            Some(Shape::Integer { min, max }) => {
                let Some(n) = v.as_i64() else { return type_error(out, "an Integer") };
                let shown = format!(" '{n}'");
                if let Some(max) = max.filter(|m| n > *m) {
                    broke(ViolationKind::TooHigh, &shown, format!("have value less than or equal to {max}"));
                }
                if let Some(min) = min.filter(|m| n < *m) {
                    broke(ViolationKind::TooLow, &shown, format!("have value greater than or equal to {min}"));
                }
            }
            Some(Shape::Boolean) => {
                if !v.is_boolean() {
                    type_error(out, "a Boolean");
                }
            }
            Some(Shape::List { member, min, max }) => {
                let Some(items) = v.as_array() else { return type_error(out, "a List") };
                let n = i64::try_from(items.len()).unwrap_or(i64::MAX);
                if let Some(max) = max.filter(|m| n > *m) {
                    broke(ViolationKind::TooLong, "", format!("have length less than or equal to {max}"));
                }
                if let Some(min) = min.filter(|m| n < *m) {
                    broke(ViolationKind::TooShort, "", format!("have length greater than or equal to {min}"));
                }
                // A list already too long is not read item by item.
                if max.is_some_and(|m| n > m) {
                    return;
                }
                for (i, item) in items.iter().enumerate() {
                    if out.len() >= MAX_VIOLATIONS {
                        return;
                    }
                    self.json_value(member, item, &format!("{label}.{}.member", i + 1), out);
                }
            }
            Some(Shape::Structure { .. }) => self.json_struct(shape, v, label, out),
            Some(Shape::Other) | None => {}
        }
    }
}

/// The most violations a JSON input is answered with.
const MAX_VIOLATIONS: usize = 10;

/// A value as a message echoes it: at most 256 characters.
fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(256) {
        Some((i, _)) => std::borrow::Cow::Owned(format!("{}...", &text[..i])),
        None => std::borrow::Cow::Borrowed(text),
    }
}

/// How Coral names a JSON value's type in a `SerializationException`.
fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "STRING_VALUE",
        Value::Number(n) if n.is_f64() => "NUMBER_FLOAT",
        Value::Number(_) => "NUMBER_INT",
        Value::Bool(_) => "BOOLEAN_VALUE",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "NULL_VALUE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IAM: &[u8] = include_bytes!("../models/iam-2010-05-08.json.gz");

    fn iam() -> ServiceModel {
        ServiceModel::load_gz(IAM).unwrap()
    }

    fn check(op: &str, body: &str) -> Result<(), AwsError> {
        let m = iam();
        let spec = m.operation(op).unwrap().clone();
        m.validate(&spec, &QueryParams::parse("", body.as_bytes()).unwrap())
    }

    #[test]
    fn java_surrogate_pairs_become_code_points() {
        let re = Regex::new(&java_to_rust_pattern("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*")).unwrap();
        assert!(re.is_match("plain text \u{1F600}").unwrap());
        assert!(!re.is_match("\u{1}").unwrap());
        for model in [crate::CLOUDTRAIL_MODEL_GZ, crate::ORGANIZATIONS_MODEL_GZ, crate::SSO_ADMIN_MODEL_GZ] {
            ServiceModel::load_gz(model).unwrap();
        }
    }

    #[test]
    fn loads_every_pattern() {
        let m = iam();
        assert_eq!(m.api_version, "2010-05-08");
        assert!(m.operation("CreateUser").is_some());
    }

    #[test]
    fn user_name_rules() {
        assert!(check("CreateUser", "UserName=alice").is_ok());
        let e = check("CreateUser", "UserName=bad%20name!").unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert_eq!(
            e.message,
            "The specified value for userName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-"
        );
        let e = check("CreateUser", "").unwrap_err();
        assert_eq!(
            e.message,
            "1 validation error detected: Value at 'userName' failed to satisfy constraint: Member must not be null"
        );
        let long = "a".repeat(65);
        assert!(check("CreateUser", &format!("UserName={long}")).is_err());
    }

    #[test]
    fn nested_lists_and_ranges() {
        // A list of plain values is named once, with every member constraint.
        let e = check("UntagUser", "UserName=a&TagKeys.member.1=ok&TagKeys.member.2=").unwrap_err();
        assert!(
            e.message.starts_with("1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1"),
            "{}",
            e.message
        );
        let e = check("TagUser", "UserName=a&Tags.member.1.Key=&Tags.member.1.Value=v").unwrap_err();
        assert!(e.message.contains("'tags.1.member.key'"), "{}", e.message);
        let e = check("ListUsers", "MaxItems=0").unwrap_err();
        assert!(e.message.contains("greater than or equal to 1"), "{}", e.message);
        assert!(check("ListUsers", "MaxItems=1000").is_ok());
        assert!(check("CreateAccountAlias", "AccountAlias=my-alias").is_ok());
        assert!(check("CreateAccountAlias", "AccountAlias=my--alias").is_err());
        assert!(check("CreateUser", "UserName=a&Path=/x/").is_ok());
        assert!(check("CreateUser", "UserName=a&Path=x").is_err());
    }

    #[test]
    fn json_inputs_are_checked_against_the_model() {
        let m = ServiceModel::load_gz(include_bytes!("../models/organizations-2016-11-28.json.gz")).unwrap();
        let op = m.operation("CreateOrganizationalUnit").unwrap().clone();
        assert!(m.check_json(&op, &serde_json::json!({"ParentId": "r-ab12", "Name": "Dev"})).is_empty());
        let v = m.check_json(&op, &serde_json::json!({"Name": ""}));
        assert_eq!(v.iter().map(|v| &v.kind).collect::<Vec<_>>(), [&ViolationKind::Missing, &ViolationKind::TooShort]);
        assert_eq!(v[0].message, "Value null at 'parentId' failed to satisfy constraint: Member must not be null");
        let v = m.check_json(&op, &serde_json::json!({"ParentId": "bad", "Name": 5}));
        assert_eq!(v[0].kind, ViolationKind::Pattern, "{v:?}");
        assert_eq!(v[1], Violation { kind: ViolationKind::Type, label: "name".into(), message: "NUMBER_INT can not be converted to a String".into() });
        let list = m.operation("ListAccounts").unwrap().clone();
        let v = m.check_json(&list, &serde_json::json!({"MaxResults": 50}));
        assert_eq!(v[0].message, "Value '50' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 20");
        assert_eq!(m.check_json(&list, &serde_json::json!([1]))[0].kind, ViolationKind::Type);
        // A huge input gets a bounded answer.
        let tags: Vec<_> = (0..5000).map(|_| serde_json::json!({"Key": "", "Value": "x".repeat(300)})).collect();
        let create = m.operation("CreatePolicy").unwrap().clone();
        let v = m.check_json(&create, &serde_json::json!({"Name": "x".repeat(100_000), "Tags": tags}));
        assert!(v.len() <= 10, "{}", v.len());
        assert!(v.iter().all(|x| x.message.len() < 1000), "values are shortened");
    }

    #[test]
    fn sensitive_values_are_not_echoed() {
        let e = check("CreateLoginProfile", &format!("UserName=a&Password={}", "p".repeat(200))).unwrap_err();
        assert!(!e.message.contains("ppp"), "{}", e.message);
    }
}
