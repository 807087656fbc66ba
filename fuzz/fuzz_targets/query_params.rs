//! The query-protocol decoder: `QueryParams::parse(query, body)`, the list
//! helpers `member_prefixes`/`string_list` on every list the request mentions,
//! and `ServiceModel::validate` of an IAM or STS operation. Keys are built
//! from the models' member names (so validation gets past "missing required
//! member" and reaches lengths, patterns, enums, numbers and nested lists) or
//! are raw fuzzer text; the body can also be raw bytes.
#![no_main]

use std::collections::BTreeSet;
use std::io::Read;
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[path = "shared/text.rs"]
mod text;
use text::S;
use portcullis_protocol::{QueryParams, ServiceModel};
use serde_json::Value;

const IAM_MODEL: &[u8] = include_bytes!("../../crates/protocol/models/iam-2010-05-08.json.gz");
const STS_MODEL: &[u8] = include_bytes!("../../crates/protocol/models/sts-2011-06-15.json.gz");

struct Model {
    model: ServiceModel,
    /// Operation names, sorted so inputs replay the same way.
    operations: Vec<String>,
}

struct Models {
    iam: Model,
    sts: Model,
    /// Every structure member name of both models, sorted.
    members: Vec<String>,
}

fn member_names(gz: &[u8], out: &mut BTreeSet<String>) {
    let mut text = String::new();
    if flate2::read::GzDecoder::new(gz).read_to_string(&mut text).is_err() {
        return;
    }
    let Ok(json) = serde_json::from_str::<Value>(&text) else { return };
    if let Some(shapes) = json["shapes"].as_object() {
        for shape in shapes.values() {
            if let Some(members) = shape["members"].as_object() {
                out.extend(members.keys().cloned());
            }
        }
    }
}

fn load(gz: &[u8]) -> Model {
    let model = match ServiceModel::load_gz(gz) {
        Ok(m) => m,
        Err(e) => panic!("bundled model does not load: {e}"),
    };
    let mut operations: Vec<String> = model.operation_names().map(str::to_owned).collect();
    operations.sort();
    Model { model, operations }
}

fn models() -> &'static Models {
    static M: OnceLock<Models> = OnceLock::new();
    M.get_or_init(|| {
        let mut members = BTreeSet::new();
        member_names(IAM_MODEL, &mut members);
        member_names(STS_MODEL, &mut members);
        Models { iam: load(IAM_MODEL), sts: load(STS_MODEL), members: members.into_iter().collect() }
    })
}

const VALUES: &[&str] = &[
    "alice",
    "/",
    "/division_abc/subdivision_xyz/",
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::111122223333:role/Dev",
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
    "true",
    "false",
    "0",
    "1",
    "1000",
    "-1",
    "99999999999999999999",
    "3600",
    "Active",
    "Inactive",
    "User",
    "AWSManagedPolicy",
    "a+b c",
    "%zz",
    "",
];


/// A parameter name: a member, optionally as a list element
/// (`Member.member.N`) and then a field of that element.
#[derive(Arbitrary, Debug)]
struct Key {
    member: S,
    element: Option<(u8, Option<S>)>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    sts: bool,
    operation: u16,
    /// Add `Action=<operation>&Version=...`.
    action_param: bool,
    query: String,
    pairs: Vec<(Key, S)>,
    raw_body: Vec<u8>,
    extra_lists: Vec<String>,
}

fuzz_target!(|input: Input| {
    let models = models();
    let m = if input.sts { &models.sts } else { &models.iam };
    if m.operations.is_empty() {
        return;
    }
    let op_name = &m.operations[usize::from(input.operation) % m.operations.len()];

    let mut body = form_urlencoded::Serializer::new(String::new());
    if input.action_param {
        body.append_pair("Action", op_name);
        body.append_pair("Version", &m.model.api_version);
    }
    for (key, value) in input.pairs.iter().take(16) {
        let mut name = key.member.get(&models.members).to_string();
        if let Some((index, field)) = &key.element {
            name = format!("{name}.member.{index}");
            if let Some(f) = field {
                name = format!("{name}.{}", f.get(&models.members));
            }
        }
        body.append_pair(&name, &value.get(VALUES));
    }
    let mut body = body.finish().into_bytes();
    if !input.raw_body.is_empty() {
        if !body.is_empty() {
            body.push(b'&');
        }
        body.extend_from_slice(&input.raw_body);
    }

    // A broken percent-escape is refused as a whole (MalformedQueryString), never read.
    let params = match QueryParams::parse(&input.query, &body) {
        Ok(p) => p,
        Err(e) => {
            assert_eq!(e.code, "MalformedQueryString");
            return;
        }
    };
    for (k, _) in params.iter() {
        let _ = params.get(k);
        assert!(params.contains(k));
    }
    // Every list the request mentions, at every nesting level.
    let keys: Vec<String> = params.iter().map(|(k, _)| k.to_string()).collect();
    for k in &keys {
        let mut start = 0;
        while let Some(pos) = k[start..].find(".member.") {
            let list = &k[..start + pos];
            let prefixes = params.member_prefixes(list);
            assert!(prefixes.iter().all(|p| p.starts_with(list)));
            let _ = params.string_list(list);
            start += pos + ".member.".len();
        }
    }
    for list in input.extra_lists.iter().take(4) {
        let _ = params.member_prefixes(list);
        let _ = params.string_list(list);
    }

    if let Some(op) = m.model.operation(op_name) {
        let _ = m.model.validate(op, &params);
    }
    // The operation the request itself names, as the server would dispatch it.
    if let Some(action) = params.get("Action") {
        for model in [&models.iam.model, &models.sts.model] {
            if let Some(op) = model.operation(action) {
                let _ = model.validate(op, &params);
            }
        }
    }
});
