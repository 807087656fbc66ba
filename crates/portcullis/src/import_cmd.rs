//! `portcullis import FILE [--dry-run]`: recreates the users, groups, roles, customer
//! managed policies (every version), inline policies, attachments, group memberships,
//! permissions boundaries, tags and instance profiles that a
//! `get-account-authorization-details` dump describes, in the account of the store it is
//! pointed at. No secrets travel: such a dump has no passwords, access keys or MFA devices.
//!
//! The file is read and the whole import checked before the first write (see `plan`); a
//! name that exists in the target is skipped with everything that is its own, so running
//! an import again changes nothing. Writes go through the domain, as the account's root
//! user, like `bootstrap-admin`.

mod file;
mod plan;
mod step;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::anyhow;
use clap::Args;
use portcullis_core::{AuthzRequest, Iam, IamError};

use crate::cli::StoreArgs;
use crate::setup;
use plan::{Line, Plan, Target};
use step::Step;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The JSON of `aws iam get-account-authorization-details` (see docs/configuration.md
    /// for what else is accepted).
    pub file: PathBuf,
    /// Print what would be done, one line per change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Shown in a dry run's ARNs when the target has no account yet.
const NO_ACCOUNT_YET: &str = "000000000000";

pub async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    // A file that cannot be read changes nothing, not even the data directory.
    let snap = file::read(&args.file)?;
    let clock = Arc::new(portcullis_types::SystemClock);
    // A dry run against a data directory with no database yet plans against an empty
    // in-memory one, so that it creates neither the database nor the master key.
    let fresh = args.store.database_url.is_none() && !args.store.data_dir.join("portcullis.db").exists();
    let env = if args.dry_run && fresh { setup::open_ephemeral(clock).await? } else { setup::open(&args.store, clock).await? };
    let result = import(&env.iam, &args, &snap).await;
    env.close().await;
    result.map(|()| ExitCode::SUCCESS)
}

async fn import(iam: &Iam, args: &ImportArgs, snap: &file::Snapshot) -> anyhow::Result<()> {
    let root = if args.dry_run {
        match iam.root_caller().await {
            Ok(c) => Some(c),
            // The account is made by the first start (or by the import itself).
            Err(IamError::ServiceFailure(m)) if m.starts_with("no account") => {
                say(&format!("note: the target has no account yet; the import would create it (ARNs below show {NO_ACCOUNT_YET})"));
                None
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        let (account, password) = iam.ensure_account(&args.store.root_email, None).await?;
        if let Some(pw) = password {
            eprintln!("root user {} created; one-time root password (shown only now): {pw}", account.root_email);
        }
        Some(iam.root_caller().await?)
    };
    let auth = match &root {
        Some(caller) => Some(iam.authorize(caller, &AuthzRequest::new("iam:CreateUser", "*")).await?),
        None => None,
    };
    let target = match &auth {
        Some(a) => Target::load(iam, a).await?,
        None => Target::empty(NO_ACCOUNT_YET),
    };
    let plan = plan::build(iam, snap, &target).map_err(|problems| {
        anyhow!("{} cannot be imported; nothing was changed:\n  {}", args.file.display(), problems.join("\n  "))
    })?;
    if args.dry_run {
        say("dry run: nothing is changed; the import would:");
    }
    let mut applied = 0;
    for line in &plan.lines {
        match line {
            Line::Skip(why) => say(&format!("skip {why}")),
            Line::Do(step) => {
                say(&step.describe());
                if let Some(auth) = &auth {
                    if !args.dry_run {
                        step.apply(iam, auth).await.map_err(|e| {
                            anyhow!(
                                "import stopped: {}: {}: {e}\n{applied} changes were made before; what exists now is skipped when the import runs again",
                                step.describe(),
                                e.code()
                            )
                        })?;
                        applied += 1;
                    }
                }
            }
        }
    }
    say(&summary(&plan, args.dry_run));
    Ok(())
}

/// A line on standard output. A closed pipe (`| head`) must not stop an import half-way,
/// so a line that cannot be written is dropped.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn summary(plan: &Plan, dry_run: bool) -> String {
    let (mut policies, mut versions, mut groups, mut users, mut roles, mut profiles) = (0, 0i64, 0, 0, 0, 0);
    let (mut inline, mut attachments, mut memberships, mut tags) = (0, 0, 0, 0);
    for line in &plan.lines {
        let Line::Do(step) = line else { continue };
        tags += step.tag_count();
        match step {
            Step::CreatePolicy { .. } => {
                policies += 1;
                versions += 1;
            }
            Step::CreatePolicyVersion { filler: false, .. } => versions += 1,
            Step::DeletePolicyVersion { .. } => versions -= 1,
            Step::CreatePolicyVersion { filler: true, .. } | Step::SetDefaultPolicyVersion { .. } => {}
            Step::CreateGroup { .. } => groups += 1,
            Step::CreateUser { .. } => users += 1,
            Step::CreateRole { .. } => roles += 1,
            Step::CreateInstanceProfile { .. } => profiles += 1,
            Step::PutInlinePolicy { .. } => inline += 1,
            Step::AttachPolicy { .. } => attachments += 1,
            Step::AddUserToGroup { .. } => memberships += 1,
            Step::AddRoleToInstanceProfile { .. } => {}
        }
    }
    let s = &plan.skipped;
    format!(
        "{}: policies {policies} (versions {versions}), groups {groups}, users {users}, roles {roles}, instance profiles {profiles}, \
         inline policies {inline}, attachments {attachments}, group memberships {memberships}, tags {tags}; \
         skipped: existing {}, AWS managed policies {}, service-linked roles {}",
        if dry_run { "would import" } else { "imported" },
        s.existing,
        s.aws_managed,
        s.service_linked
    )
}
