//! `portcullis policy check|eval`: the policy engine from the command line, offline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use portcullis_policy::{evaluate, limits, parse, policy_size, Policy, PolicyKind, PolicySet, RequestContext, RequestPrincipal};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    Identity,
    Resource,
    Trust,
    Boundary,
    Scp,
    Session,
}

impl From<Kind> for PolicyKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Identity => PolicyKind::Identity,
            Kind::Resource => PolicyKind::Resource,
            Kind::Trust => PolicyKind::Trust,
            Kind::Boundary => PolicyKind::PermissionsBoundary,
            Kind::Scp => PolicyKind::Scp,
            Kind::Session => PolicyKind::Session,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate policy documents as AWS does; exit 1 if any is refused.
    Check {
        /// Policy document files (JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// How the documents are used, which decides the rules they must follow.
        #[arg(long, value_enum, default_value = "identity")]
        kind: Kind,
    },
    /// Evaluate one request against identity policies; exit 0 if allowed, 3 if denied.
    Eval {
        /// Identity-based policy files of the principal (repeat for several).
        #[arg(long = "policy", required = true)]
        policies: Vec<PathBuf>,
        /// A permissions boundary policy file.
        #[arg(long)]
        boundary: Option<PathBuf>,
        /// A resource-based policy file of the target resource.
        #[arg(long)]
        resource_policy: Option<PathBuf>,
        /// The action, e.g. `ec2:DescribeInstances`.
        #[arg(long)]
        action: String,
        /// The resource ARN.
        #[arg(long, default_value = "*")]
        resource: String,
        /// The caller's ARN.
        #[arg(long, default_value = "arn:aws:iam::123456789012:user/example")]
        principal: String,
        /// A context key and value, `key=value`; repeat a key for several values.
        #[arg(long = "context", value_name = "KEY=VALUE")]
        context: Vec<String>,
    },
}

fn load(path: &PathBuf, kind: PolicyKind) -> anyhow::Result<Result<(String, Policy), String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(parse(&text, kind).map(|p| (text, p)).map_err(|e| e.message))
}

pub fn run(cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCommand::Check { files, kind } => check(&files, kind.into()),
        PolicyCommand::Eval { policies, boundary, resource_policy, action, resource, principal, context } => {
            eval(&policies, boundary.as_ref(), resource_policy.as_ref(), &action, &resource, &principal, &context)
        }
    }
}

fn check(files: &[PathBuf], kind: PolicyKind) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    for f in files {
        match load(f, kind)? {
            Ok((text, policy)) => {
                let size = policy_size(&text);
                let quota = match kind {
                    PolicyKind::Trust => limits::ROLE_TRUST_POLICY,
                    PolicyKind::Scp => limits::SCP,
                    _ => limits::MANAGED_POLICY,
                };
                if size > quota {
                    ok = false;
                    println!("{}: LimitExceeded: Cannot exceed quota for PolicySize: {quota} (document has {size} characters)", f.display());
                } else {
                    println!("{}: ok ({} statements, {size} characters)", f.display(), policy.statements().len());
                }
            }
            Err(message) => {
                ok = false;
                println!("{}: MalformedPolicyDocument: {message}", f.display());
            }
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn eval(
    files: &[PathBuf],
    boundary: Option<&PathBuf>,
    resource_policy: Option<&PathBuf>,
    action: &str,
    resource: &str,
    principal: &str,
    context: &[String],
) -> anyhow::Result<ExitCode> {
    let mut loaded = Vec::new();
    for f in files {
        match load(f, PolicyKind::Identity)? {
            Ok((_, p)) => loaded.push((f.display().to_string(), p)),
            Err(m) => anyhow::bail!("{}: MalformedPolicyDocument: {m}", f.display()),
        }
    }
    let load_one = |f: &PathBuf, kind| -> anyhow::Result<(String, Policy)> {
        match load(f, kind)? {
            Ok((_, p)) => Ok((f.display().to_string(), p)),
            Err(m) => anyhow::bail!("{}: MalformedPolicyDocument: {m}", f.display()),
        }
    };
    let boundary = boundary.map(|f| load_one(f, PolicyKind::PermissionsBoundary)).transpose()?;
    let resource_policy = resource_policy.map(|f| load_one(f, PolicyKind::Resource)).transpose()?;
    let account = principal.split(':').nth(4).unwrap_or("123456789012");
    let who = if principal.ends_with(":root") {
        RequestPrincipal::root(account)
    } else {
        RequestPrincipal::user(account, principal)
    };
    let mut req = RequestContext::new(action, resource, who);
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for kv in context {
        let (k, v) = kv.split_once('=').with_context(|| format!("--context {kv:?}: expected KEY=VALUE"))?;
        match grouped.iter_mut().find(|(key, _)| key.eq_ignore_ascii_case(k)) {
            Some((_, vals)) => vals.push(v.to_owned()),
            None => grouped.push((k.to_owned(), vec![v.to_owned()])),
        }
    }
    for (k, vals) in grouped {
        req.set(&k, vals);
    }
    let set = PolicySet {
        identity: loaded.iter().map(|(n, p)| (n.as_str(), p)).collect(),
        resource: resource_policy.iter().map(|(n, p)| (n.as_str(), p)).collect(),
        boundary: boundary.as_ref().map(|(n, p)| (n.as_str(), p)),
        ..Default::default()
    };
    let decision = evaluate(&set, &req);
    println!("decision: {}", decision.effect.as_str());
    for m in &decision.matched {
        let sid = m.sid.map(|s| format!(" (Sid {s})")).unwrap_or_default();
        println!("  {:?} by {} statement {}{sid}", m.effect, m.policy_id, m.statement_index + 1);
    }
    if !decision.missing_context_keys.is_empty() {
        println!("missing context keys: {}", decision.missing_context_keys.join(", "));
    }
    Ok(if decision.is_allowed() { ExitCode::SUCCESS } else { ExitCode::from(3) })
}
