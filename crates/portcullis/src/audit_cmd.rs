//! `portcullis audit`: the account-security checklist of AWS's tutorials, run read-only
//! against any IAM endpoint (a Portcullis server or AWS itself) with the AWS SDK for Rust.
//!
//! This file fetches (GetAccountSummary, the credential report, GetAccountPasswordPolicy,
//! ListEntitiesForPolicy and GetGroup) and prints; `checks` decides, without I/O.

mod checks;
mod credential_report;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use aws_sdk_iam::error::DisplayErrorContext;
use aws_sdk_iam::types::{ReportStateType, SummaryKeyType};
use aws_sdk_iam::Client;
use time::OffsetDateTime;

use checks::{AccountSummary, AdminFacts, AdminGroup, Check, Facts, PasswordPolicy};

/// How long to wait for GenerateCredentialReport to finish.
const REPORT_DEADLINE: Duration = Duration::from_secs(60);
/// The region when neither the flag nor the AWS configuration names one (IAM is global).
const DEFAULT_REGION: &str = "us-east-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The profile of the AWS config and credentials files (default: AWS_PROFILE, else
    /// `default`); without one, credentials come from AWS's usual chain.
    #[arg(long)]
    pub profile: Option<String>,
    /// The IAM endpoint, e.g. http://127.0.0.1:8700 (default: AWS_ENDPOINT_URL_IAM,
    /// AWS_ENDPOINT_URL or the profile's endpoint_url, else AWS's).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// The Region to sign for (default: the AWS configuration's, else us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// `table` for people, `json` for programs.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Exit 0 when no check fails, 1 when one does, 2 when the endpoint could not be read.
pub async fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let (facts, now) = match fetch(&args).await {
        Ok(fetched) => fetched,
        Err(e) => {
            eprintln!("error: cannot audit the account: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let checks = checks::run_checks(&facts, now);
    let passed = checks::passed(&checks);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "checks": checks, "passed": passed }))?),
        Format::Table => print!("{}", table(&checks)),
    }
    Ok(if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn table(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.title.len()).max().unwrap_or(0).max("CHECK".len());
    let mut out = format!("{:<width$}  {:<6}  DETAIL\n", "CHECK", "STATUS");
    for c in checks {
        out.push_str(&format!("{:<width$}  {:<6}  {}\n", c.title, c.status.as_str(), c.detail));
    }
    let count = |s: checks::Status| checks.iter().filter(|c| c.status == s).count();
    out.push_str(&format!(
        "\n{} passed, {} failed, {} warnings\n",
        count(checks::Status::Pass),
        count(checks::Status::Fail),
        count(checks::Status::Warn)
    ));
    out
}

async fn client(args: &AuditArgs) -> Client {
    // rustls on ring, the TLS provider the rest of the workspace uses.
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &args.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = &args.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let shared = loader.load().await;
    let mut config = aws_sdk_iam::config::Builder::from(&shared);
    if shared.region().is_none() {
        config = config.region(aws_config::Region::from_static(DEFAULT_REGION));
    }
    Client::from_conf(config.build())
}

/// Reads everything the checks need; `now` is the credential report's generation time, so
/// that ages are measured on the clock the report was written with.
async fn fetch(args: &AuditArgs) -> anyhow::Result<(Facts, OffsetDateTime)> {
    let iam = client(args).await;
    let summary = account_summary(&iam).await?;
    let (report, generated) = credential_report(&iam).await?;
    let password_policy = password_policy(&iam).await?;
    // The partition (aws, aws-cn, aws-us-gov) of the account, from its root ARN.
    let partition = report
        .iter()
        .find(|r| r.is_root())
        .and_then(|r| r.arn.split(':').nth(1).map(str::to_owned))
        .unwrap_or_else(|| "aws".to_owned());
    let admin = admin_facts(&iam, &format!("arn:{partition}:iam::aws:policy/AdministratorAccess")).await?;
    let now = generated.unwrap_or_else(OffsetDateTime::now_utc);
    Ok((Facts { summary, report, password_policy, admin }, now))
}

fn failed(operation: &str, e: impl std::error::Error) -> anyhow::Error {
    anyhow!("{operation}: {}", DisplayErrorContext(e))
}

async fn account_summary(iam: &Client) -> anyhow::Result<AccountSummary> {
    let out = iam.get_account_summary().send().await.map_err(|e| failed("GetAccountSummary", e))?;
    let map = out.summary_map();
    let value = |key: SummaryKeyType| map.and_then(|m| m.get(&key).copied());
    Ok(AccountSummary {
        mfa_enabled: value(SummaryKeyType::AccountMfaEnabled),
        access_keys_present: value(SummaryKeyType::AccountAccessKeysPresent),
    })
}

async fn credential_report(iam: &Client) -> anyhow::Result<(Vec<credential_report::ReportRow>, Option<OffsetDateTime>)> {
    let deadline = Instant::now() + REPORT_DEADLINE;
    let mut pause = Duration::from_millis(250);
    loop {
        let out = iam.generate_credential_report().send().await.map_err(|e| failed("GenerateCredentialReport", e))?;
        if out.state() == Some(&ReportStateType::Complete) {
            break;
        }
        if Instant::now() + pause > deadline {
            bail!("GenerateCredentialReport: the report was not complete after {} seconds", REPORT_DEADLINE.as_secs());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(4));
    }
    let out = iam.get_credential_report().send().await.map_err(|e| failed("GetCredentialReport", e))?;
    let content = out.content().context("GetCredentialReport: the answer has no Content")?;
    let rows = credential_report::parse(content.as_ref()).context("GetCredentialReport")?;
    let generated = out.generated_time().and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok());
    Ok((rows, generated))
}

async fn password_policy(iam: &Client) -> anyhow::Result<Option<PasswordPolicy>> {
    match iam.get_account_password_policy().send().await {
        Ok(out) => Ok(out.password_policy().map(|p| PasswordPolicy {
            minimum_length: p.minimum_password_length(),
            require_symbols: p.require_symbols(),
            require_numbers: p.require_numbers(),
            require_uppercase: p.require_uppercase_characters(),
            require_lowercase: p.require_lowercase_characters(),
        })),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => Ok(None),
        Err(e) => Err(failed("GetAccountPasswordPolicy", e)),
    }
}

async fn admin_facts(iam: &Client, policy_arn: &str) -> anyhow::Result<AdminFacts> {
    let mut facts = AdminFacts::default();
    let mut marker = None;
    loop {
        let out = match iam.list_entities_for_policy().policy_arn(policy_arn).set_marker(marker.take()).send().await {
            Ok(out) => out,
            // An endpoint without AWS's managed policy: nobody holds it.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => return Ok(facts),
            Err(e) => return Err(failed("ListEntitiesForPolicy", e)),
        };
        for g in out.policy_groups() {
            if let Some(name) = g.group_name() {
                facts.groups.push(AdminGroup { name: name.to_owned(), members: 0 });
            }
        }
        facts.users.extend(out.policy_users().iter().filter_map(|u| u.user_name().map(str::to_owned)));
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
            _ => break,
        }
    }
    for group in &mut facts.groups {
        group.members = group_members(iam, &group.name).await?;
    }
    Ok(facts)
}

async fn group_members(iam: &Client, group: &str) -> anyhow::Result<usize> {
    let mut count = 0;
    let mut marker = None;
    loop {
        let out = iam.get_group().group_name(group).set_marker(marker.take()).send().await.map_err(|e| failed("GetGroup", e))?;
        count += out.users().len();
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
            _ => return Ok(count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::checks::{Check, Status};
    use super::table;

    #[test]
    fn the_table_lines_up_titles_statuses_and_details() {
        let checks = [
            Check { id: "a", title: "Short", status: Status::Pass, detail: "fine".into() },
            Check { id: "b", title: "A longer title", status: Status::Fail, detail: "not fine".into() },
        ];
        let text = table(&checks);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "CHECK           STATUS  DETAIL");
        assert_eq!(lines[1], "Short           PASS    fine");
        assert_eq!(lines[2], "A longer title  FAIL    not fine");
        assert_eq!(lines[4], "1 passed, 1 failed, 0 warnings");
    }
}
