//! Any bytes as a policy document: `parse` for every `PolicyKind` and
//! `policy_size` must return, never panic. Documents that parse are also
//! evaluated against a few fixed requests, so compiled policies built from
//! odd input are exercised too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_policy::{
    evaluate, parse, policy_size, EvalDecision, PolicyKind, PolicySet, RequestContext, RequestPrincipal,
};

const KINDS: [PolicyKind; 6] = [
    PolicyKind::Identity,
    PolicyKind::Resource,
    PolicyKind::Trust,
    PolicyKind::PermissionsBoundary,
    PolicyKind::Scp,
    PolicyKind::Session,
];

const ACCOUNT: &str = "111122223333";

fn requests() -> Vec<RequestContext> {
    let bob = RequestPrincipal::user(ACCOUNT, "arn:aws:iam::111122223333:user/bob");
    let mut user = RequestContext::new("s3:GetObject", "arn:aws:s3:::bucket/bob/notes.txt", bob);
    user.set_principal_keys(Some("bob"), "AIDABOBEXAMPLE000001", &[("team", "blue")]);
    user.set_time(1_700_000_000);
    user.set_one("aws:SourceIp", "10.1.2.3");
    user.set_one("aws:MultiFactorAuthPresent", "true");
    user.set("aws:TagKeys", vec!["env".into(), "cost-center".into()]);

    let role = RequestPrincipal::assumed_role(
        ACCOUNT,
        "arn:aws:iam::111122223333:role/Dev",
        "arn:aws:sts::111122223333:assumed-role/Dev/sess1",
    );
    let mut session = RequestContext::new("sts:AssumeRole", "arn:aws:iam::111122223333:role/Dev", role);
    session.set_principal_keys(None, "AROADEVEXAMPLE000001:sess1", &[]);
    session.set_one("aws:SecureTransport", "false");

    let root = RequestContext::new("iam:CreateUser", "*", RequestPrincipal::root(ACCOUNT));
    let service = RequestContext::new("ec2:RunInstances", "*", RequestPrincipal::service("ec2.amazonaws.com"));
    vec![user, session, root, service]
}

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = std::str::from_utf8(data) else {
        return;
    };
    let _ = policy_size(doc);
    let reqs = requests();
    for kind in KINDS {
        let Ok(policy) = parse(doc, kind) else {
            continue;
        };
        let set = match kind {
            PolicyKind::Identity => PolicySet { identity: vec![("p", &policy)], ..Default::default() },
            PolicyKind::Resource | PolicyKind::Trust => PolicySet { resource: vec![("p", &policy)], ..Default::default() },
            PolicyKind::PermissionsBoundary => PolicySet { boundary: Some(("p", &policy)), ..Default::default() },
            PolicyKind::Scp => PolicySet { scps: vec![vec![("p", &policy)]], ..Default::default() },
            PolicyKind::Session => PolicySet { session: vec![("p", &policy)], ..Default::default() },
        };
        for req in &reqs {
            let d = evaluate(&set, req);
            // Documented shape of a Decision: deny lists its Deny statements,
            // implicit deny lists none, and only root is allowed without any.
            match d.effect {
                EvalDecision::ExplicitDeny => assert!(!d.matched.is_empty(), "explicitDeny without a statement"),
                EvalDecision::ImplicitDeny => assert!(d.matched.is_empty(), "implicitDeny with statements"),
                EvalDecision::Allowed => assert!(
                    !d.matched.is_empty() || req.principal.arn.ends_with(":root"),
                    "allowed without a statement"
                ),
            }
        }
    }
});
