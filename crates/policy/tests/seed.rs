//! AWS's own policies as parse and evaluation tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use portcullis_policy::*;

const ACCOUNT: &str = "111122223333";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";

fn seed(name: &str) -> Policy {
    let path = format!("{}/tests/seed/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(&path).unwrap();
    assert!(policy_size(&doc) <= limits::MANAGED_POLICY, "{name} is over the managed-policy quota");
    parse(&doc, PolicyKind::Identity).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn alice(action: &str, resource: &str, mfa: Option<bool>) -> RequestContext {
    let mut req = RequestContext::new(action, resource, RequestPrincipal::user(ACCOUNT, ALICE));
    req.set_principal_keys(Some("alice"), "AIDAALICEEXAMPLE0001", &[]);
    if let Some(m) = mfa {
        req.set_one("aws:MultiFactorAuthPresent", if m { "true" } else { "false" });
    }
    req
}

#[test]
fn seeds_parse() {
    for name in ["AdministratorAccess", "AmazonEC2FullAccess", "IAMUserChangePassword", "Force_MFA"] {
        let p = seed(name);
        assert!(!p.statements().is_empty());
    }
}

#[test]
fn administrator_access_allows_everything() {
    let admin = seed("AdministratorAccess");
    let set = PolicySet {
        identity: vec![("arn:aws:iam::aws:policy/AdministratorAccess", &admin)],
        ..Default::default()
    };
    for (action, resource) in [
        ("iam:CreateUser", "arn:aws:iam::111122223333:user/x"),
        ("s3:GetObject", "arn:aws:s3:::b/k"),
        ("ec2:RunInstances", "*"),
    ] {
        let d = evaluate(&set, &alice(action, resource, None));
        assert_eq!(d.effect, EvalDecision::Allowed, "{action}");
        assert_eq!(d.matched.len(), 1);
        assert_eq!(d.matched[0].policy_id, "arn:aws:iam::aws:policy/AdministratorAccess");
        assert_eq!(d.matched[0].statement_index, 0);
    }
}

#[test]
fn ec2_full_access() {
    let ec2 = seed("AmazonEC2FullAccess");
    let set = PolicySet {
        identity: vec![("AmazonEC2FullAccess", &ec2)],
        ..Default::default()
    };
    assert!(evaluate(&set, &alice("ec2:DescribeInstances", "*", None)).is_allowed());
    assert!(evaluate(&set, &alice("EC2:describeinstances", "*", None)).is_allowed());
    assert!(evaluate(&set, &alice("autoscaling:CreateAutoScalingGroup", "*", None)).is_allowed());
    assert!(!evaluate(&set, &alice("s3:ListBucket", "arn:aws:s3:::b", None)).is_allowed());
    let mut slr = alice("iam:CreateServiceLinkedRole", "*", None);
    let d = evaluate(&set, &slr);
    assert_eq!(d.effect, EvalDecision::ImplicitDeny);
    assert_eq!(d.missing_context_keys, vec!["iam:AWSServiceName".to_string()]);
    slr.set_one("iam:AWSServiceName", "spot.amazonaws.com");
    assert!(evaluate(&set, &slr).is_allowed());
    slr.set_one("iam:AWSServiceName", "rds.amazonaws.com");
    assert!(!evaluate(&set, &slr).is_allowed());
}

#[test]
fn change_password_only_for_self() {
    let p = seed("IAMUserChangePassword");
    let set = PolicySet {
        identity: vec![("IAMUserChangePassword", &p)],
        ..Default::default()
    };
    assert!(evaluate(&set, &alice("iam:ChangePassword", ALICE, None)).is_allowed());
    assert!(!evaluate(&set, &alice("iam:ChangePassword", "arn:aws:iam::111122223333:user/bob", None)).is_allowed());
    assert!(evaluate(&set, &alice("iam:GetAccountPasswordPolicy", "*", None)).is_allowed());
    // A role session has no aws:username, so the variable does not resolve.
    let role = RequestPrincipal::assumed_role(
        ACCOUNT,
        "arn:aws:iam::111122223333:role/alice",
        "arn:aws:sts::111122223333:assumed-role/alice/s",
    );
    let req = RequestContext::new("iam:ChangePassword", ALICE, role);
    assert!(!evaluate(&set, &req).is_allowed());
}

/// The issue's scenario: a user in a group with AmazonEC2FullAccess and Force_MFA.
#[test]
fn group_with_ec2_full_access_and_force_mfa() {
    let ec2 = seed("AmazonEC2FullAccess");
    let mfa = seed("Force_MFA");
    let set = PolicySet {
        identity: vec![
            ("arn:aws:iam::aws:policy/AmazonEC2FullAccess", &ec2),
            ("arn:aws:iam::111122223333:policy/Force_MFA", &mfa),
        ],
        ..Default::default()
    };
    let mfa_device = "arn:aws:iam::111122223333:mfa/alice";

    // No MFA: the long-term-key case (key absent) and the console case (key false).
    for no_mfa in [None, Some(false)] {
        let d = evaluate(&set, &alice("ec2:DescribeInstances", "*", no_mfa));
        assert_eq!(d.effect, EvalDecision::ExplicitDeny, "{no_mfa:?}");
        assert_eq!(d.matched.len(), 1);
        assert_eq!(d.matched[0].sid, Some("DenyAllExceptListedIfNoMFA"));
        assert_eq!(d.matched[0].statement_index, 8);

        assert!(evaluate(&set, &alice("iam:CreateVirtualMFADevice", mfa_device, no_mfa)).is_allowed());
        assert!(evaluate(&set, &alice("iam:EnableMFADevice", ALICE, no_mfa)).is_allowed());
        assert_eq!(
            evaluate(&set, &alice("iam:ListUsers", "*", no_mfa)).effect,
            EvalDecision::ExplicitDeny
        );
        // Another user's MFA enablement is not granted.
        assert_eq!(
            evaluate(&set, &alice("iam:EnableMFADevice", "arn:aws:iam::111122223333:user/bob", no_mfa)).effect,
            EvalDecision::ImplicitDeny
        );
    }
    let missing = evaluate(&set, &alice("ec2:DescribeInstances", "*", None)).missing_context_keys;
    assert_eq!(missing, vec!["aws:MultiFactorAuthPresent".to_string()]);

    // With MFA.
    let d = evaluate(&set, &alice("ec2:DescribeInstances", "*", Some(true)));
    assert_eq!(d.effect, EvalDecision::Allowed);
    assert_eq!(d.matched[0].policy_id, "arn:aws:iam::aws:policy/AmazonEC2FullAccess");
    assert!(evaluate(&set, &alice("iam:CreateVirtualMFADevice", mfa_device, Some(true))).is_allowed());
    assert!(evaluate(&set, &alice("iam:EnableMFADevice", ALICE, Some(true))).is_allowed());
    assert_eq!(
        evaluate(&set, &alice("iam:ListUsers", "*", Some(true))).effect,
        EvalDecision::ImplicitDeny
    );
}

/// Found by the `policy_evaluate` fuzz target: a KELVIN SIGN (U+212A) lower-cases to `k`
/// under Unicode rules, but action names are ASCII; the pattern must not match `kms:…`, or
/// the decision would depend on whether the action index looked at the statement.
#[test]
fn non_ascii_action_patterns_do_not_fold_to_ascii() {
    use portcullis_policy::*;
    let deny = parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"\u212Ams:Decrypt","Resource":"*"}}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    let deny_with_other = parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":["\u212Ams:Decrypt","*:nothing"],"Resource":"*"}}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    let allow = parse(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#, PolicyKind::Identity).unwrap();
    let who = RequestPrincipal::user("123456789012", "arn:aws:iam::123456789012:user/u");
    let req = RequestContext::new("kms:Decrypt", "*", who);
    for d in [&deny, &deny_with_other] {
        let set = PolicySet { identity: vec![("deny", d), ("allow", &allow)], ..Default::default() };
        assert_eq!(evaluate(&set, &req).effect, EvalDecision::Allowed);
    }
}
