//! The credential report's CSV (GetCredentialReport) read into typed rows.
//!
//! Columns are found by their header names, not their positions, so that a column AWS adds
//! later does not shift the others. Dates are ISO 8601; AWS writes `N/A` where a value does
//! not apply, `no_information` for a password or key never used (or used before AWS tracked
//! it), and `not_supported` in the root row's password columns.

use anyhow::{bail, Context};
use time::format_description::well_known::Iso8601;
use time::OffsetDateTime;

/// The root user's row is named `<root_account>`.
pub const ROOT_ROW: &str = "<root_account>";

/// One date cell of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stamp {
    At(OffsetDateTime),
    /// `N/A`: the credential does not exist (or the value does not apply).
    NotApplicable,
    /// `no_information`: never used, or used before AWS began tracking it.
    NoInformation,
    /// `not_supported`: the root row's password columns.
    NotSupported,
    /// Anything else, kept so that a check can name it.
    Unreadable(String),
}

impl Stamp {
    fn parse(cell: &str) -> Self {
        match cell.trim() {
            "N/A" | "" => Self::NotApplicable,
            "no_information" => Self::NoInformation,
            "not_supported" => Self::NotSupported,
            other => OffsetDateTime::parse(other, &Iso8601::DEFAULT)
                .map(Self::At)
                .unwrap_or_else(|_| Self::Unreadable(other.to_owned())),
        }
    }
}

/// One access key's columns (`access_key_N_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyColumns {
    pub active: bool,
    /// When the key was created or last rotated.
    pub last_rotated: Stamp,
    pub last_used: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub user: String,
    pub arn: String,
    pub user_creation_time: Stamp,
    /// `true` only for a user with a console password (the root row says `not_supported`).
    pub password_enabled: bool,
    pub password_last_used: Stamp,
    pub password_last_changed: Stamp,
    pub mfa_active: bool,
    pub access_keys: [KeyColumns; 2],
}

impl ReportRow {
    pub fn is_root(&self) -> bool {
        self.user == ROOT_ROW
    }
}

/// Reads the report's CSV; a missing column is an error (the endpoint is not answering
/// with AWS's report).
pub fn parse(content: &[u8]) -> anyhow::Result<Vec<ReportRow>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(content);
    let headers = reader.headers().context("the credential report has no header line")?.clone();
    let column = |name: &str| -> anyhow::Result<usize> {
        match headers.iter().position(|h| h.trim() == name) {
            Some(i) => Ok(i),
            None => bail!("the credential report has no column {name}"),
        }
    };
    let key_columns = |n: u8| -> anyhow::Result<[usize; 3]> {
        Ok([
            column(&format!("access_key_{n}_active"))?,
            column(&format!("access_key_{n}_last_rotated"))?,
            column(&format!("access_key_{n}_last_used_date"))?,
        ])
    };
    let user = column("user")?;
    let arn = column("arn")?;
    let created = column("user_creation_time")?;
    let password_enabled = column("password_enabled")?;
    let password_last_used = column("password_last_used")?;
    let password_last_changed = column("password_last_changed")?;
    let mfa_active = column("mfa_active")?;
    let keys = [key_columns(1)?, key_columns(2)?];

    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("line {} of the credential report", n + 2))?;
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let flag = |i: usize| cell(i).eq_ignore_ascii_case("true");
        let key = |[active, rotated, used]: [usize; 3]| KeyColumns {
            active: flag(active),
            last_rotated: Stamp::parse(cell(rotated)),
            last_used: Stamp::parse(cell(used)),
        };
        rows.push(ReportRow {
            user: cell(user).to_owned(),
            arn: cell(arn).to_owned(),
            user_creation_time: Stamp::parse(cell(created)),
            password_enabled: flag(password_enabled),
            password_last_used: Stamp::parse(cell(password_last_used)),
            password_last_changed: Stamp::parse(cell(password_last_changed)),
            mfa_active: flag(mfa_active),
            access_keys: [key(keys[0]), key(keys[1])],
        });
    }
    Ok(rows)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use time::macros::datetime;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,\
password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,\
access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,\
access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,\
cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    #[test]
    fn reads_aws_rows_and_special_values() {
        let csv = format!(
            "{HEADER}\n\
<root_account>,arn:aws:iam::123456789012:root,2024-01-02T03:04:05+00:00,not_supported,2024-05-01T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
carol,arn:aws:iam::123456789012:user/carol,2024-02-01T00:00:00+00:00,true,no_information,2024-02-01T00:00:00+00:00,N/A,false,true,2024-02-01T10:00:00+00:00,2024-03-01T00:00:00+00:00,us-east-1,iam,false,2024-02-02T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n"
        );
        let rows = parse(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        let root = &rows[0];
        assert!(root.is_root() && root.mfa_active && !root.password_enabled);
        assert_eq!(root.password_last_changed, Stamp::NotSupported);
        assert_eq!(root.user_creation_time, Stamp::At(datetime!(2024-01-02 03:04:05 UTC)));
        assert!(!root.access_keys[0].active && root.access_keys[0].last_rotated == Stamp::NotApplicable);
        let carol = &rows[1];
        assert!(!carol.is_root() && carol.password_enabled && !carol.mfa_active);
        assert_eq!(carol.password_last_used, Stamp::NoInformation);
        assert_eq!(carol.access_keys[0].last_used, Stamp::At(datetime!(2024-03-01 0:00 UTC)));
        assert!(!carol.access_keys[1].active);
        assert_eq!(carol.arn, "arn:aws:iam::123456789012:user/carol");
    }

    #[test]
    fn finds_columns_by_name_and_keeps_unreadable_dates() {
        // Another order, and a column AWS might add.
        let csv = "arn,user,new_column,mfa_active,password_enabled,password_last_used,password_last_changed,user_creation_time,\
access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date\n\
arn:aws:iam::123456789012:user/a,a,x,TRUE,true,yesterday,N/A,2024-01-01T00:00:00Z,true,2024-01-01T00:00:00Z,,false,N/A,N/A\n";
        let rows = parse(csv.as_bytes()).unwrap();
        assert_eq!(rows[0].user, "a");
        assert!(rows[0].mfa_active && rows[0].password_enabled);
        assert_eq!(rows[0].password_last_used, Stamp::Unreadable("yesterday".into()));
        assert_eq!(rows[0].access_keys[0].last_used, Stamp::NotApplicable);
    }

    #[test]
    fn a_missing_column_is_an_error() {
        let err = parse(b"user,arn\nx,y\n").unwrap_err();
        assert!(err.to_string().contains("no column"), "{err}");
    }
}
