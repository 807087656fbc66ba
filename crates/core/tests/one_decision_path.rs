//! One decision function: `Iam::decide_with` (src/authorize.rs) combines identity policies,
//! the resource's policies, the permissions boundary and session policies for every action,
//! IAM's, STS's and the authorization endpoint's. A second place that calls the evaluator
//! is a second decision path that can leave one of them out (as AssumeRole once left out
//! session policies), so only the simulator, which shows decisions rather than makes them,
//! and the offline `portcullis policy` command may call it too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_decision_function_calls_the_evaluator() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let allowed = ["core/src/authorize.rs", "core/src/simulate.rs", "portcullis/src/policy_cmd.rs"];
    let mut files = Vec::new();
    for c in ["core", "api", "portcullis"] {
        rust_files(&crates.join(c).join("src"), &mut files);
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut offenders = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(crates).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(f).unwrap();
        let calls = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .any(|l| (l.contains("evaluate(") && !l.contains("fn evaluate(")) || l.contains("evaluate as "));
        if calls && !allowed.contains(&rel.as_str()) {
            offenders.push(rel);
        }
    }
    assert!(offenders.is_empty(), "policy evaluation outside Iam::decide_with: {offenders:?}");
    let authorize = std::fs::read_to_string(crates.join("core/src/authorize.rs")).unwrap();
    assert!(authorize.contains("pub async fn decide_with("), "the decision function moved; update this test");
}
