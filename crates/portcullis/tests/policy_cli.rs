//! `portcullis policy check|eval`, run as a user runs them: the real binary, real files.

use std::path::PathBuf;
use std::process::Command;

fn seed(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policy/tests/seed").join(name)
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis")).args(args).output().expect("binary runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn check_accepts_the_seed_policies() {
    let files: Vec<String> = ["AdministratorAccess.json", "AmazonEC2FullAccess.json", "Force_MFA.json", "IAMUserChangePassword.json"]
        .iter()
        .map(|f| seed(f).display().to_string())
        .collect();
    let mut args = vec!["policy", "check"];
    args.extend(files.iter().map(String::as_str));
    let (code, out) = run(&args);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches(": ok (").count(), 4, "{out}");
}

#[test]
fn check_refuses_with_aws_messages() {
    let dir = tempfile::tempdir().unwrap();
    let principal = dir.path().join("principal.json");
    std::fs::write(&principal, r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#).unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"Version\": ").unwrap();
    let (code, out) = run(&["policy", "check", principal.to_str().unwrap(), broken.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("MalformedPolicyDocument: Policy document should not specify a principal."), "{out}");
    assert!(out.contains("MalformedPolicyDocument: Syntax errors in policy."), "{out}");
    // The same document is a valid resource-based policy.
    let (code, out) = run(&["policy", "check", "--kind", "resource", principal.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn eval_force_mfa_depends_on_mfa() {
    let ec2 = seed("AmazonEC2FullAccess.json").display().to_string();
    let mfa = seed("Force_MFA.json").display().to_string();
    let base = ["policy", "eval", "--policy", ec2.as_str(), "--policy", mfa.as_str(), "--action", "ec2:DescribeInstances"];

    let (code, out) = run(&base);
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("decision: explicitDeny"), "{out}");
    assert!(out.contains("Force_MFA.json"), "{out}");

    let mut with_mfa = base.to_vec();
    with_mfa.extend(["--context", "aws:MultiFactorAuthPresent=true"]);
    let (code, out) = run(&with_mfa);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("decision: allowed"), "{out}");

    let mut list_users = with_mfa.clone();
    list_users[7] = "iam:ListUsers";
    let (code, out) = run(&list_users);
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("decision: implicitDeny"), "{out}");
}
