//! Validation: each malformed document gets AWS's MalformedPolicyDocument message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use portcullis_policy::{error, parse, policy_size, PolicyKind, PolicyVersion};

fn err(doc: &str, kind: PolicyKind) -> String {
    match parse(doc, kind) {
        Ok(_) => String::from("<accepted>"),
        Err(e) => e.message,
    }
}

fn id(stmt: &str) -> String {
    err(&format!(r#"{{"Version":"2012-10-17","Statement":{stmt}}}"#), PolicyKind::Identity)
}

const OK: &str = "<accepted>";

#[test]
fn accepts_valid_shapes() {
    assert_eq!(id(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#), OK);
    assert_eq!(id(r#"[{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]"#), OK);
    assert_eq!(id(r#"{"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:iam::*:user/${aws:username}"}"#), OK);
    assert_eq!(id(r#"{"Sid":"A1","Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10}}}"#), OK);
    let p = parse(r#"{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"a","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"b","Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#, PolicyKind::Identity).unwrap();
    assert_eq!(p.version(), PolicyVersion::V2012_10_17);
    assert_eq!(p.id(), Some("x"));
    assert_eq!(p.statements().len(), 2);
    assert_eq!(p.statements()[1].sid(), Some("b"));
}

#[test]
fn syntax_errors() {
    for doc in [
        "not json",
        "[]",
        r#"{"Version":"2012-10-17"}"#,
        r#"{"Version":"2012-10-17","Statement":[]}"#,
        r#"{"Version":"2012-10-17","Statement":"x"}"#,
        r#"{"Version":"2012-10-17","Statement":[1]}"#,
        r#"{"Version":"2012-10-17","Extra":1,"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        r#"{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        r#"{"Version":"2012-10-17","Id":5,"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
    ] {
        assert_eq!(err(doc, PolicyKind::Identity), error::SYNTAX, "{doc}");
    }
    for stmt in [
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Foo":1}"#,
        r#"{"Action":"s3:*","Resource":"*"}"#,
        r#"{"Effect":"Maybe","Action":"s3:*","Resource":"*"}"#,
        r#"{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}"#,
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}"#,
        r#"{"Effect":"Allow","Action":5,"Resource":"*"}"#,
        r#"{"Effect":"Allow","Action":"s3:*","Resource":null}"#,
        r#"{"Effect":"Allow","Action":"s3:*","Resource":[1]}"#,
        r#"{"Sid":1,"Effect":"Allow","Action":"s3:*","Resource":"*"}"#,
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":"x"}"#,
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":"x"}}"#,
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"a:b":"c"}}}"#,
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"a:b":{"c":"d"}}}}"#,
    ] {
        assert_eq!(id(stmt), error::SYNTAX, "{stmt}");
    }
}

#[test]
fn unknown_operator_with_empty_block_is_ignored() {
    assert_eq!(id(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{}}}"#), OK);
}

#[test]
fn legacy_parsing() {
    assert_eq!(id(r#"{"Effect":"allow","Action":"s3:*","Resource":"*"}"#), error::LEGACY);
    assert_eq!(id(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"soon"}}}"#), error::LEGACY);
    assert_eq!(id(r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3::bucket"}"#), error::LEGACY);
}

#[test]
fn version_rules() {
    let body = r#""Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#;
    assert_eq!(err(&format!("{{{body}}}"), PolicyKind::Identity), error::VERSION_REQUIRED);
    assert_eq!(err(&format!(r#"{{"Version":"2008-10-17",{body}}}"#), PolicyKind::Identity), error::VERSION_REQUIRED);
    assert_eq!(err(&format!(r#"{{"Version":"2008-10-17",{body}}}"#), PolicyKind::PermissionsBoundary), error::VERSION_REQUIRED);
    let trust = r#""Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#;
    let p = parse(&format!(r#"{{"Version":"2008-10-17",{trust}}}"#), PolicyKind::Trust).unwrap();
    assert_eq!(p.version(), PolicyVersion::V2008_10_17);
    let p = parse(&format!("{{{trust}}}"), PolicyKind::Trust).unwrap();
    assert_eq!(p.version(), PolicyVersion::V2008_10_17);
}

#[test]
fn principal_rules_by_kind() {
    let with_principal = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#;
    for kind in [PolicyKind::Identity, PolicyKind::PermissionsBoundary, PolicyKind::Scp, PolicyKind::Session] {
        assert_eq!(err(with_principal, kind), error::NO_PRINCIPAL_ALLOWED, "{kind:?}");
    }
    let not_principal = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:*","Resource":"*"}}"#;
    assert_eq!(err(not_principal, PolicyKind::Identity), error::NO_PRINCIPAL_ALLOWED);
    assert_eq!(err(not_principal, PolicyKind::Resource), OK);
    assert_eq!(err(with_principal, PolicyKind::Resource), OK);

    let none = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
    assert_eq!(err(none, PolicyKind::Resource), error::PRINCIPAL_REQUIRED);
    assert_eq!(err(none, PolicyKind::Trust), error::PRINCIPAL_REQUIRED);

    let trust_with_resource = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole","Resource":"*"}}"#;
    assert_eq!(err(trust_with_resource, PolicyKind::Trust), error::RESOURCE_PROHIBITED);
    let trust_without_action = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"}}}"#;
    assert_eq!(err(trust_without_action, PolicyKind::Trust), error::ACTIONS_REQUIRED);

    let bad = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"sts:AssumeRole"}}"#;
    assert_eq!(err(bad, PolicyKind::Trust), r#"Invalid principal in policy: "AWS":"bob""#);
    let wild = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/*"},"Action":"sts:AssumeRole"}}"#;
    assert_eq!(err(wild, PolicyKind::Trust), r#"Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:user/*""#);
    let odd_key = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Robot":"x"},"Action":"sts:AssumeRole"}}"#;
    assert_eq!(err(odd_key, PolicyKind::Trust), error::SYNTAX);
    let all_kinds = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/r","AROAEXAMPLEEXAMPLE12"],"Service":["ec2.amazonaws.com"],"Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"sts:AssumeRole"}}"#;
    assert_eq!(err(all_kinds, PolicyKind::Trust), OK);
}

#[test]
fn actions_and_resources_required() {
    assert_eq!(id(r#"{"Effect":"Allow","Resource":"*"}"#), error::ACTIONS_REQUIRED);
    assert_eq!(id(r#"{"Effect":"Allow","Action":[],"Resource":"*"}"#), error::ACTIONS_REQUIRED);
    assert_eq!(id(r#"{"Effect":"Allow","Action":"s3:*"}"#), error::RESOURCES_REQUIRED);
    assert_eq!(id(r#"{"Effect":"Allow","Action":"s3:*","Resource":[]}"#), error::RESOURCES_REQUIRED);
    // The missing resource is reported before the action's own mistake (recorded from AWS).
    assert_eq!(id(r#"{"Effect":"Allow","Action":"invalid"}"#), error::RESOURCES_REQUIRED);
    // A resource AWS cannot read is reported before the missing action (recorded).
    assert_eq!(id(r#"{"Effect":"Allow","Resource":"arn:aws:s3::example_bucket"}"#), error::LEGACY);
    assert_eq!(id(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:::example_bucket"}"#), error::IAM_RESOURCE_PATH);
    let trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:InvalidAction"}}"#;
    assert_eq!(err(trust, PolicyKind::Trust), error::TRUST_ACTIONS);
    let scp = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*"}}"#;
    assert_eq!(err(scp, PolicyKind::Scp), error::RESOURCES_REQUIRED);
}

#[test]
fn string_formats() {
    assert_eq!(id(r#"{"Effect":"Allow","Action":"GetObject","Resource":"*"}"#), error::ACTION_VENDOR);
    assert_eq!(id(r#"{"Effect":"Allow","Action":"s3:Get:Object","Resource":"*"}"#), error::ACTION_ONE_COLON);
    assert_eq!(id(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"bucket"}"#), "Resource bucket must be in ARN format or \"*\".");
    assert_eq!(id(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws"}"#), error::RESOURCE_VENDOR);
    assert_eq!(id(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:nope:s3:::b"}"#), "Partition \"nope\" is not valid for resource \"arn:nope:s3:::b\".");
}

#[test]
fn sids() {
    assert_eq!(id(r#"[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"}]"#), error::DUPLICATE_SID);
    // Empty Sids are not compared.
    assert_eq!(id(r#"[{"Sid":"","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"","Effect":"Deny","Action":"s3:*","Resource":"*"}]"#), OK);
    assert_eq!(id(r#"{"Sid":"no spaces","Effect":"Allow","Action":"s3:*","Resource":"*"}"#), error::SID_NOT_ALPHANUMERIC);
    // Other services allow more in a Sid.
    let bucket = r#"{"Version":"2012-10-17","Statement":{"Sid":"Public read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#;
    assert_eq!(err(bucket, PolicyKind::Resource), OK);
}

#[test]
fn size_counts_without_white_space() {
    let compact = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
    let pretty = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\n    \"Effect\": \"Allow\",\n    \"Action\": \"s3:*\",\n    \"Resource\": \"*\"\n  }\n}\n";
    assert_eq!(policy_size(compact), compact.chars().count());
    assert_eq!(policy_size(pretty), policy_size(compact));
}
