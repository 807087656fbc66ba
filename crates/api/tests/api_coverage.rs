//! `docs/api-coverage.md` is made from the operation tables and botocore's models: this test
//! fails when the file is not what the tables say. `PORTCULLIS_WRITE_DOCS=1 cargo test -p
//! portcullis-api --test api_coverage` rewrites it.

#![deny(unreachable_patterns, bindings_with_variant_name)]

use portcullis_core::{AccountOperation, CloudTrailOperation, IamOperation, IdentityStoreOperation, OrganizationsOperation, Spec, SsoAdminOperation, SsoOidcOperation, SsoPortalOperation, StsOperation};
use portcullis_protocol::ServiceModel;

fn section(out: &mut String, title: &str, model: &ServiceModel, specs: &[Spec]) {
    let mut names: Vec<&str> = model.operation_names().collect();
    names.sort_unstable();
    let served = |n: &str| specs.iter().find(|s| s.name == n);
    let done = names.iter().filter(|n| served(n).is_some_and(|s| !s.placeholder)).count();
    out.push_str(&format!("## {title} ({done} of {} implemented)\n\n| operation | status | action | resource |\n|---|---|---|---|\n", names.len()));
    for n in names {
        let row = match served(n) {
            Some(s) => {
                let also = if s.passes_role { " (and `iam:PassRole` on the role)" } else { "" };
                format!("| {n} | {} | `{}` | {}{also} |\n", if s.placeholder { "◐" } else { "✅" }, s.action(), resource(s))
            }
            None => format!("| {n} | — | | |\n"),
        };
        out.push_str(&row);
    }
    out.push('\n');
}

/// How the authorizer names the resource, in words.
fn resource(s: &Spec) -> String {
    use portcullis_core::Target::*;
    match s.target {
        Any => "`*`".to_owned(),
        Caller => "the caller".to_owned(),
        Listing(kind) => format!("`arn:aws:iam::ACCOUNT:{kind}`"),
        New(kind, param) => format!("`arn:aws:iam::ACCOUNT:{kind}PATH` + `{param}`"),
        Group => "the group (`GroupName`)".to_owned(),
        Role => "the role (`RoleName`)".to_owned(),
        User => "the user (`UserName`)".to_owned(),
        UserOrCaller => "the user (`UserName`), else the caller".to_owned(),
        Arn(param) => format!("`{param}`"),
        AccessKeyOwner => "the user owning `AccessKeyId`".to_owned(),
        InstanceProfile => "the instance profile (`InstanceProfileName`)".to_owned(),
        FederatedUser => "`arn:aws:sts::ACCOUNT:federated-user/` + `Name`".to_owned(),
        ServerCertificate => "the server certificate (`ServerCertificateName`)".to_owned(),
        ServiceLinkedRole => "`arn:aws:iam::ACCOUNT:role/aws-service-role/` + `AWSServiceName`".to_owned(),
        OidcProviderFromUrl => "`arn:aws:iam::ACCOUNT:oidc-provider/` + `Url`".to_owned(),
        OrgObject(param) => format!("the organization's object in `{param}`"),
        IdentityStore => "`arn:aws:identitystore::ACCOUNT:identitystore/` + `IdentityStoreId`".to_owned(),
        AccountResource => "`arn:aws:account::ACCOUNT:account` (a member's with `AccountId`)".to_owned(),
    }
}

#[test]
fn api_coverage_doc_is_made_from_the_operation_tables() {
    let iam = ServiceModel::load_gz(portcullis_protocol::IAM_MODEL_GZ).expect("iam model");
    let sts = ServiceModel::load_gz(portcullis_protocol::STS_MODEL_GZ).expect("sts model");
    let orgs = ServiceModel::load_gz(portcullis_protocol::ORGANIZATIONS_MODEL_GZ).expect("organizations model");
    let idstore = ServiceModel::load_gz(portcullis_protocol::IDENTITYSTORE_MODEL_GZ).expect("identitystore model");
    let sso_admin = ServiceModel::load_gz(portcullis_protocol::SSO_ADMIN_MODEL_GZ).expect("sso-admin model");
    let account = ServiceModel::load_gz(portcullis_protocol::ACCOUNT_MODEL_GZ).expect("account model");
    let oidc = ServiceModel::load_gz(portcullis_protocol::SSO_OIDC_MODEL_GZ).expect("sso-oidc model");
    let portal = ServiceModel::load_gz(portcullis_protocol::SSO_MODEL_GZ).expect("sso model");
    let cloudtrail = ServiceModel::load_gz(portcullis_protocol::CLOUDTRAIL_MODEL_GZ).expect("cloudtrail model");
    portcullis_api::check_operation_tables(&iam, &sts).expect("every table row is a model operation");

    let mut out = String::from(
        "# API coverage\n\n\
         Made from the operation tables (`crates/core/src/operations.rs`) and botocore's service models by\n\
         `crates/api/tests/api_coverage.rs` (`PORTCULLIS_WRITE_DOCS=1 cargo test -p portcullis-api --test api_coverage`).\n\
         ✅ implemented · ◐ answers an empty listing (the feature behind it comes later) · — not yet\n\
         (IAM and STS answer `InvalidAction`, JSON services `UnknownOperationException`, HTTP 400). Each served operation is authorized on its action and\n\
         the resource shown, with the request's tags and the resource's tags as condition keys.\n\n",
    );
    let iam_specs: Vec<Spec> = IamOperation::ALL.iter().map(|o| o.spec()).collect();
    let sts_specs: Vec<Spec> = StsOperation::ALL.iter().map(|o| o.spec()).collect();
    section(&mut out, "IAM", &iam, &iam_specs);
    section(&mut out, "STS", &sts, &sts_specs);
    let org_specs: Vec<Spec> = OrganizationsOperation::ALL.iter().map(|o| o.spec()).collect();
    section(&mut out, "Organizations", &orgs, &org_specs);
    let specs: Vec<Spec> = IdentityStoreOperation::ALL.iter().map(|o| o.spec()).collect();
    section(&mut out, "Identity Store", &idstore, &specs);
    let specs: Vec<Spec> = SsoAdminOperation::ALL.iter().map(|o| o.spec()).collect();
    section(&mut out, "IAM Identity Center (sso-admin)", &sso_admin, &specs);
    let specs: Vec<Spec> = AccountOperation::ALL.iter().map(|o| o.spec()).collect();
    section(&mut out, "Account Management", &account, &specs);
    let specs: Vec<Spec> = SsoOidcOperation::ALL.iter().map(|o| o.spec()).collect();
    section(&mut out, "IAM Identity Center OIDC (sso-oidc)", &oidc, &specs);
    let specs: Vec<Spec> = SsoPortalOperation::ALL.iter().map(|o| o.spec()).collect();
    section(&mut out, "AWS access portal (sso)", &portal, &specs);
    let specs: Vec<Spec> = CloudTrailOperation::ALL.iter().map(|o| o.spec()).collect();
    section(&mut out, "CloudTrail (the audit trail's event history)", &cloudtrail, &specs);

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api-coverage.md");
    if std::env::var_os("PORTCULLIS_WRITE_DOCS").is_some() {
        std::fs::write(&path, &out).expect("write docs/api-coverage.md");
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(current == out, "docs/api-coverage.md is out of date: run PORTCULLIS_WRITE_DOCS=1 cargo test -p portcullis-api --test api_coverage");
}
