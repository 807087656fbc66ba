//! The account-security checklist of AWS's tutorials, decided from facts fetched beforehand.
//!
//! Nothing here does I/O or reads the clock: `run_checks` takes every input, `now` included,
//! so that each verdict can be tested with made-up accounts. Data an endpoint did not send
//! (a summary key, a report row) never counts as a pass.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::credential_report::{ReportRow, Stamp};

/// Credentials older than this must have been used (and keys rotated) within it.
pub const MAX_AGE_DAYS: i64 = 90;
/// A password policy passes with at least this minimum length…
pub const MIN_PASSWORD_LENGTH: i32 = 8;
/// …and at least this many of the four character types required, unless its minimum
/// length reaches `LONG_PASSWORD_LENGTH` (length counts for more than composition).
pub const MIN_CHARACTER_TYPES: usize = 3;
pub const LONG_PASSWORD_LENGTH: i32 = 14;
/// IAM's own minimum when a policy leaves MinimumPasswordLength out.
const DEFAULT_PASSWORD_LENGTH: i32 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Fail,
    Warn,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Warn => "WARN",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub status: Status,
    pub detail: String,
}

/// The two keys of GetAccountSummary the checklist reads (`None`: not in the answer).
#[derive(Debug, Clone, Default)]
pub struct AccountSummary {
    pub mfa_enabled: Option<i32>,
    pub access_keys_present: Option<i32>,
}

/// GetAccountPasswordPolicy's answer, as far as strength goes.
#[derive(Debug, Clone, Default)]
pub struct PasswordPolicy {
    pub minimum_length: Option<i32>,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
}

/// A group that has AdministratorAccess attached.
#[derive(Debug, Clone)]
pub struct AdminGroup {
    pub name: String,
    pub members: usize,
}

/// Who has AdministratorAccess attached (ListEntitiesForPolicy, GetGroup).
#[derive(Debug, Clone, Default)]
pub struct AdminFacts {
    pub groups: Vec<AdminGroup>,
    /// Users it is attached to directly, bypassing groups.
    pub users: Vec<String>,
}

/// Everything the checklist is decided from.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub summary: AccountSummary,
    pub report: Vec<ReportRow>,
    /// `None`: the account has no password policy (NoSuchEntity).
    pub password_policy: Option<PasswordPolicy>,
    pub admin: AdminFacts,
}

pub fn passed(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.status != Status::Fail)
}

/// The seven checks, in the tutorials' order.
pub fn run_checks(facts: &Facts, now: OffsetDateTime) -> Vec<Check> {
    vec![
        root_mfa(&facts.summary),
        root_access_keys(&facts.summary, &facts.report),
        admin_group(&facts.admin),
        password_policy(facts.password_policy.as_ref()),
        console_users_mfa(&facts.report),
        unused_credentials(&facts.report, now),
        access_key_rotation(&facts.report, now),
    ]
}

fn check(id: &'static str, title: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check { id, title, status, detail: detail.into() }
}

fn root_mfa(summary: &AccountSummary) -> Check {
    let (status, detail) = match summary.mfa_enabled {
        Some(n) if n >= 1 => (Status::Pass, "MFA is active for the root user."),
        Some(_) => (Status::Fail, "The root user has no active MFA device."),
        None => (Status::Fail, "GetAccountSummary did not report AccountMFAEnabled."),
    };
    check("root_mfa", "Root user has MFA", status, detail)
}

fn root_access_keys(summary: &AccountSummary, report: &[ReportRow]) -> Check {
    let row = report.iter().find(|r| r.is_root());
    let active = row.map(|r| r.access_keys.iter().filter(|k| k.active).count());
    let (status, detail) = match (summary.access_keys_present, active) {
        (None, _) => (Status::Fail, "GetAccountSummary did not report AccountAccessKeysPresent.".to_owned()),
        (Some(n), active) if n > 0 => {
            let active = active.map(|a| format!(" ({a} active)")).unwrap_or_default();
            (Status::Fail, format!("The root user has access keys{active}; delete them."))
        }
        (Some(_), Some(a)) if a > 0 => (
            Status::Fail,
            format!("GetAccountSummary reports none, but the credential report shows {a} active root access key(s)."),
        ),
        (Some(_), None) => (
            Status::Warn,
            "GetAccountSummary reports none; the credential report has no <root_account> row to confirm it.".to_owned(),
        ),
        (Some(_), Some(_)) => (Status::Pass, "The root user has no access keys.".to_owned()),
    };
    check("root_access_keys", "Root user has no access keys", status, detail)
}

fn admin_group(admin: &AdminFacts) -> Check {
    let staffed: Vec<String> = admin.groups.iter().filter(|g| g.members > 0).map(|g| format!("{} ({} member(s))", g.name, g.members)).collect();
    let (status, detail) = if staffed.is_empty() {
        if admin.groups.is_empty() {
            (Status::Fail, "No group has the AdministratorAccess policy attached.".to_owned())
        } else {
            let names: Vec<&str> = admin.groups.iter().map(|g| g.name.as_str()).collect();
            (Status::Fail, format!("Groups with AdministratorAccess have no members: {}.", names.join(", ")))
        }
    } else if !admin.users.is_empty() {
        (
            Status::Warn,
            format!(
                "AdministratorAccess is held through {}, but is also attached directly to user(s): {}.",
                staffed.join(", "),
                admin.users.join(", ")
            ),
        )
    } else {
        (Status::Pass, format!("AdministratorAccess is held through {}.", staffed.join(", ")))
    };
    check("admin_group", "An administrator is in a group with AdministratorAccess", status, detail)
}

fn password_policy(policy: Option<&PasswordPolicy>) -> Check {
    let title = "A strong password policy is set";
    let Some(p) = policy else {
        return check("password_policy", title, Status::Fail, "No password policy is set.");
    };
    let length = p.minimum_length.unwrap_or(DEFAULT_PASSWORD_LENGTH);
    let types = [p.require_uppercase, p.require_lowercase, p.require_numbers, p.require_symbols].iter().filter(|r| **r).count();
    let (status, detail) = if length < MIN_PASSWORD_LENGTH {
        (Status::Fail, format!("Minimum length {length} is below {MIN_PASSWORD_LENGTH}."))
    } else if length < LONG_PASSWORD_LENGTH && types < MIN_CHARACTER_TYPES {
        (
            Status::Fail,
            format!(
                "Minimum length {length} with {types} of 4 character types required: ask for {LONG_PASSWORD_LENGTH} characters, or {MIN_CHARACTER_TYPES} character types."
            ),
        )
    } else {
        (Status::Pass, format!("Minimum length {length}, {types} of 4 character types required."))
    };
    check("password_policy", title, status, detail)
}

fn console_users_mfa(report: &[ReportRow]) -> Check {
    let console: Vec<&ReportRow> = report.iter().filter(|r| !r.is_root() && r.password_enabled).collect();
    let without: Vec<&str> = console.iter().filter(|r| !r.mfa_active).map(|r| r.user.as_str()).collect();
    let (status, detail) = if console.is_empty() {
        (Status::Pass, "No IAM user has a console password.".to_owned())
    } else if without.is_empty() {
        (Status::Pass, format!("All {} console user(s) have MFA.", console.len()))
    } else {
        (Status::Fail, format!("Console users without MFA: {}.", without.join(", ")))
    };
    check("console_users_mfa", "Every console user has MFA", status, detail)
}

/// How a date cell compares with the age limit.
enum Age {
    /// Within the limit (days old).
    Recent,
    Old(i64),
    /// No date: N/A, no_information, not_supported.
    Missing,
    Unreadable(String),
}

fn age(stamp: &Stamp, now: OffsetDateTime) -> Age {
    match stamp {
        Stamp::At(t) if now - *t > Duration::days(MAX_AGE_DAYS) => Age::Old((now - *t).whole_days()),
        Stamp::At(_) => Age::Recent,
        Stamp::Unreadable(s) => Age::Unreadable(s.clone()),
        Stamp::NotApplicable | Stamp::NoInformation | Stamp::NotSupported => Age::Missing,
    }
}

/// Findings of a check that walks the report: failures, and cells it could not read.
#[derive(Default)]
struct Findings {
    failed: Vec<String>,
    unreadable: Vec<String>,
}

impl Findings {
    fn unreadable(&mut self, user: &str, column: &str, value: &str) {
        self.unreadable.push(format!("{user} {column} {value:?}"));
    }

    fn into_check(self, id: &'static str, title: &'static str, ok: &str) -> Check {
        if !self.failed.is_empty() {
            check(id, title, Status::Fail, format!("{}.", self.failed.join("; ")))
        } else if !self.unreadable.is_empty() {
            check(id, title, Status::Warn, format!("Unreadable dates in the credential report: {}.", self.unreadable.join("; ")))
        } else {
            check(id, title, Status::Pass, ok)
        }
    }
}

/// An old credential passes only if it was used within the limit.
fn judge_use(findings: &mut Findings, user: &str, what: &str, column: &str, last_used: &Stamp, set_days: i64, now: OffsetDateTime) {
    match age(last_used, now) {
        Age::Recent => {}
        Age::Old(days) => findings.failed.push(format!("{user}: {what} last used {days} days ago")),
        Age::Missing => findings.failed.push(format!("{user}: {what} set {set_days} days ago and never used")),
        Age::Unreadable(v) => findings.unreadable(user, column, &v),
    }
}

fn unused_credentials(report: &[ReportRow], now: OffsetDateTime) -> Check {
    let mut findings = Findings::default();
    for row in report {
        let user = row.user.as_str();
        if row.password_enabled {
            // The report has no password creation time: when it was last set, else when
            // the user was created.
            let (set, column) = match &row.password_last_changed {
                Stamp::At(_) | Stamp::Unreadable(_) => (&row.password_last_changed, "password_last_changed"),
                _ => (&row.user_creation_time, "user_creation_time"),
            };
            match age(set, now) {
                Age::Old(days) => judge_use(&mut findings, user, "password", "password_last_used", &row.password_last_used, days, now),
                Age::Unreadable(v) => findings.unreadable(user, column, &v),
                Age::Recent | Age::Missing => {}
            }
        }
        for (n, key) in row.access_keys.iter().enumerate().filter(|(_, k)| k.active) {
            let what = format!("access key {}", n + 1);
            match age(&key.last_rotated, now) {
                Age::Old(days) => judge_use(&mut findings, user, &what, &format!("access_key_{}_last_used_date", n + 1), &key.last_used, days, now),
                Age::Unreadable(v) => findings.unreadable(user, &format!("access_key_{}_last_rotated", n + 1), &v),
                Age::Recent | Age::Missing => {}
            }
        }
    }
    findings.into_check(
        "unused_credentials",
        "No credentials unused for 90 days",
        "Every password and active access key older than 90 days was used within 90 days.",
    )
}

fn access_key_rotation(report: &[ReportRow], now: OffsetDateTime) -> Check {
    let mut findings = Findings::default();
    for row in report {
        for (n, key) in row.access_keys.iter().enumerate().filter(|(_, k)| k.active) {
            match age(&key.last_rotated, now) {
                Age::Old(days) => findings.failed.push(format!("{}: access key {} is {days} days old", row.user, n + 1)),
                Age::Unreadable(v) => findings.unreadable(&row.user, &format!("access_key_{}_last_rotated", n + 1), &v),
                Age::Recent | Age::Missing => {}
            }
        }
    }
    findings.into_check(
        "access_key_rotation",
        "Active access keys are rotated within 90 days",
        "No active access key is older than 90 days.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit_cmd::credential_report::KeyColumns;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-06-01 12:00 UTC);

    fn days_ago(days: i64) -> Stamp {
        Stamp::At(NOW - Duration::days(days))
    }

    fn no_key() -> KeyColumns {
        KeyColumns { active: false, last_rotated: Stamp::NotApplicable, last_used: Stamp::NotApplicable }
    }

    fn key(rotated: Stamp, used: Stamp) -> KeyColumns {
        KeyColumns { active: true, last_rotated: rotated, last_used: used }
    }

    fn root_row() -> ReportRow {
        ReportRow {
            user: "<root_account>".into(),
            arn: "arn:aws:iam::123456789012:root".into(),
            user_creation_time: days_ago(400),
            password_enabled: false,
            password_last_used: days_ago(1),
            password_last_changed: Stamp::NotSupported,
            mfa_active: true,
            access_keys: [no_key(), no_key()],
        }
    }

    fn user(name: &str) -> ReportRow {
        ReportRow {
            user: name.into(),
            arn: format!("arn:aws:iam::123456789012:user/{name}"),
            user_creation_time: days_ago(10),
            password_enabled: false,
            password_last_used: Stamp::NotApplicable,
            password_last_changed: Stamp::NotApplicable,
            mfa_active: false,
            access_keys: [no_key(), no_key()],
        }
    }

    fn console_user(name: &str, mfa: bool) -> ReportRow {
        ReportRow { password_enabled: true, password_last_changed: days_ago(10), mfa_active: mfa, ..user(name) }
    }

    /// An account that passes everything.
    fn good() -> Facts {
        Facts {
            summary: AccountSummary { mfa_enabled: Some(1), access_keys_present: Some(0) },
            report: vec![root_row(), console_user("alice", true), ReportRow { access_keys: [key(days_ago(30), days_ago(1)), no_key()], ..user("ci") }],
            password_policy: Some(PasswordPolicy { minimum_length: Some(14), ..Default::default() }),
            admin: AdminFacts { groups: vec![AdminGroup { name: "Admins".into(), members: 1 }], users: vec![] },
        }
    }

    fn verdict(facts: &Facts, id: &str) -> (Status, String) {
        let checks = run_checks(facts, NOW);
        checks.iter().find(|c| c.id == id).map(|c| (c.status, c.detail.clone())).unwrap_or((Status::Warn, "no such check".into()))
    }

    #[test]
    fn a_good_account_passes_all_seven_checks_in_order() {
        let checks = run_checks(&good(), NOW);
        let ids: Vec<&str> = checks.iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            ["root_mfa", "root_access_keys", "admin_group", "password_policy", "console_users_mfa", "unused_credentials", "access_key_rotation"]
        );
        assert!(checks.iter().all(|c| c.status == Status::Pass), "{checks:#?}");
        assert!(passed(&checks));
    }

    #[test]
    fn root_mfa_follows_the_account_summary() {
        let mut f = good();
        f.summary.mfa_enabled = Some(0);
        assert_eq!(verdict(&f, "root_mfa").0, Status::Fail);
        f.summary.mfa_enabled = None;
        let (status, detail) = verdict(&f, "root_mfa");
        assert_eq!(status, Status::Fail, "missing data is not a pass");
        assert!(detail.contains("AccountMFAEnabled"));
        assert!(!passed(&run_checks(&f, NOW)));
    }

    #[test]
    fn root_access_keys_need_both_sources_to_agree() {
        let mut f = good();
        f.summary.access_keys_present = Some(1);
        assert_eq!(verdict(&f, "root_access_keys").0, Status::Fail);

        let mut f = good();
        f.report[0].access_keys[1] = key(days_ago(5), Stamp::NoInformation);
        let (status, detail) = verdict(&f, "root_access_keys");
        assert_eq!(status, Status::Fail);
        assert!(detail.contains("1 active"), "{detail}");

        let mut f = good();
        f.report.retain(|r| !r.is_root());
        assert_eq!(verdict(&f, "root_access_keys").0, Status::Warn);

        let mut f = good();
        f.summary.access_keys_present = None;
        assert_eq!(verdict(&f, "root_access_keys").0, Status::Fail);
    }

    #[test]
    fn an_administrator_must_be_in_a_group() {
        let mut f = good();
        f.admin.groups.clear();
        f.admin.users = vec!["bob".into()];
        let (status, detail) = verdict(&f, "admin_group");
        assert_eq!(status, Status::Fail);
        assert!(detail.contains("No group"), "{detail}");

        f.admin.groups = vec![AdminGroup { name: "Empty".into(), members: 0 }];
        let (status, detail) = verdict(&f, "admin_group");
        assert_eq!(status, Status::Fail);
        assert!(detail.contains("Empty"), "{detail}");

        f.admin.groups.push(AdminGroup { name: "Admins".into(), members: 2 });
        let (status, detail) = verdict(&f, "admin_group");
        assert_eq!(status, Status::Warn, "a direct attachment besides the group");
        assert!(detail.contains("Admins (2 member(s))") && detail.contains("bob"), "{detail}");
        assert!(passed(&run_checks(&f, NOW)), "a warning does not fail the audit");
    }

    #[test]
    fn password_policy_strength() {
        let policy = |len: Option<i32>, types: usize| {
            let mut f = good();
            f.password_policy = Some(PasswordPolicy {
                minimum_length: len,
                require_uppercase: types > 0,
                require_lowercase: types > 1,
                require_numbers: types > 2,
                require_symbols: types > 3,
            });
            verdict(&f, "password_policy").0
        };
        assert_eq!(policy(Some(7), 4), Status::Fail);
        assert_eq!(policy(None, 4), Status::Fail, "IAM's default of 6");
        assert_eq!(policy(Some(8), 2), Status::Fail);
        assert_eq!(policy(Some(8), 3), Status::Pass);
        assert_eq!(policy(Some(13), 0), Status::Fail);
        assert_eq!(policy(Some(14), 0), Status::Pass);
        let mut f = good();
        f.password_policy = None;
        assert_eq!(verdict(&f, "password_policy"), (Status::Fail, "No password policy is set.".into()));
    }

    #[test]
    fn console_users_need_mfa_but_the_root_row_and_key_only_users_do_not_count() {
        let mut f = good();
        f.report[0].mfa_active = false;
        f.report.push(user("keys-only"));
        assert_eq!(verdict(&f, "console_users_mfa").0, Status::Pass);
        f.report.push(console_user("bob", false));
        f.report.push(console_user("carol", false));
        assert_eq!(verdict(&f, "console_users_mfa"), (Status::Fail, "Console users without MFA: bob, carol.".into()));
    }

    #[test]
    fn unused_credentials_older_than_90_days_fail() {
        // A password set 100 days ago and never used; one used 120 days ago.
        let mut f = good();
        f.report.push(ReportRow { password_last_changed: days_ago(100), password_last_used: Stamp::NoInformation, ..console_user("never", true) });
        f.report.push(ReportRow { password_last_changed: days_ago(200), password_last_used: days_ago(120), ..console_user("idle", true) });
        let (status, detail) = verdict(&f, "unused_credentials");
        assert_eq!(status, Status::Fail);
        assert_eq!(detail, "never: password set 100 days ago and never used; idle: password last used 120 days ago.");

        // Keys: old and never used, old and idle, old but busy, inactive and old, young and unused.
        let mut f = good();
        f.report.push(ReportRow { access_keys: [key(days_ago(95), Stamp::NotApplicable), key(days_ago(300), days_ago(91))], ..user("k") });
        f.report.push(ReportRow { access_keys: [key(days_ago(300), days_ago(2)), KeyColumns { active: false, ..key(days_ago(300), Stamp::NotApplicable) }], ..user("busy") });
        f.report.push(ReportRow { access_keys: [key(days_ago(5), Stamp::NotApplicable), no_key()], ..user("new") });
        let (status, detail) = verdict(&f, "unused_credentials");
        assert_eq!(status, Status::Fail);
        assert_eq!(detail, "k: access key 1 set 95 days ago and never used; k: access key 2 last used 91 days ago.");
    }

    #[test]
    fn a_password_without_a_change_date_ages_from_the_user() {
        let mut f = good();
        f.report.push(ReportRow {
            user_creation_time: days_ago(365),
            password_last_changed: Stamp::NotApplicable,
            password_last_used: Stamp::NoInformation,
            ..console_user("old", true)
        });
        assert_eq!(verdict(&f, "unused_credentials").0, Status::Fail);
    }

    #[test]
    fn exactly_90_days_is_still_within_the_limit() {
        let mut f = good();
        f.report.push(ReportRow { access_keys: [key(days_ago(90), Stamp::NotApplicable), no_key()], ..user("edge") });
        assert_eq!(verdict(&f, "unused_credentials").0, Status::Pass);
        assert_eq!(verdict(&f, "access_key_rotation").0, Status::Pass);
    }

    #[test]
    fn active_keys_older_than_90_days_are_not_rotated() {
        let mut f = good();
        f.report.push(ReportRow { access_keys: [key(days_ago(91), days_ago(1)), KeyColumns { active: false, ..key(days_ago(500), days_ago(1)) }], ..user("dev") });
        assert_eq!(verdict(&f, "access_key_rotation"), (Status::Fail, "dev: access key 1 is 91 days old.".into()));
        assert_eq!(verdict(&f, "unused_credentials").0, Status::Pass, "it is in use");
    }

    #[test]
    fn unreadable_dates_warn_and_name_the_cell() {
        let mut f = good();
        f.report.push(ReportRow { access_keys: [key(Stamp::Unreadable("soon".into()), Stamp::NotApplicable), no_key()], ..user("odd") });
        let (status, detail) = verdict(&f, "access_key_rotation");
        assert_eq!(status, Status::Warn);
        assert!(detail.contains("odd access_key_1_last_rotated \"soon\""), "{detail}");
        assert_eq!(verdict(&f, "unused_credentials").0, Status::Warn);
    }

    #[test]
    fn status_serializes_in_capitals() {
        let json = serde_json::to_string(&check("x", "X", Status::Warn, "d")).unwrap_or_default();
        assert_eq!(json, r#"{"id":"x","title":"X","status":"WARN","detail":"d"}"#);
    }
}
