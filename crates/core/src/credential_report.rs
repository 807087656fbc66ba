//! The credential report: AWS's CSV, column for column, with the root user first.

use portcullis_store::{AccessKeyRecord, PageQuery};

use crate::{iam_arn, Authorized, Iam, IamError, IamResult};

/// A report is served for four hours; GenerateCredentialReport makes a new one only after.
const REPORT_LIFETIME: i64 = 4 * 3600;

pub const COLUMNS: [&str; 22] = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

/// ISO 8601 with an explicit `+00:00`, as the report writes times.
fn iso(secs: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    portcullis_types::format_utc(t, "+00:00")
}

fn or_na(t: Option<i64>) -> String {
    t.map_or_else(|| "N/A".to_owned(), iso)
}

/// The ten access-key columns for a principal's first two keys (oldest first).
fn key_columns(keys: &[AccessKeyRecord]) -> Vec<String> {
    let mut out = Vec::with_capacity(10);
    for i in 0..2 {
        match keys.get(i) {
            Some(k) => {
                out.push((k.status.is_active()).to_string());
                out.push(iso(k.created_at));
                out.push(or_na(k.last_used_at));
                out.push(k.last_used_region.clone().unwrap_or_else(|| "N/A".to_owned()));
                out.push(k.last_used_service.clone().unwrap_or_else(|| "N/A".to_owned()));
            }
            None => {
                out.extend(["false", "N/A", "N/A", "N/A", "N/A"].map(str::to_owned));
            }
        }
    }
    out
}

const NO_CERTS: [&str; 4] = ["false", "N/A", "false", "N/A"];

impl Iam {
    /// GenerateCredentialReport: `STARTED` when a new report was made, `COMPLETE` while the
    /// last one is fresh (AWS makes a new one only after four hours).
    pub async fn generate_credential_report(&self, auth: &Authorized<'_>) -> IamResult<&'static str> {
        let account = auth.account();
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if let Some((at, _)) = tx.get_credential_report(account).await? {
            if now - at < REPORT_LIFETIME {
                return Ok("COMPLETE");
            }
        }
        let csv = self.credential_report_csv(&mut tx, account).await?;
        tx.put_credential_report(account, now, &csv).await?;
        tx.commit().await?;
        Ok("STARTED")
    }

    /// GetCredentialReport: (CSV, generated at).
    pub async fn get_credential_report(&self, auth: &Authorized<'_>) -> IamResult<(String, i64)> {
        let mut tx = self.store.begin_read().await?;
        let (at, content) = tx.get_credential_report(auth.account()).await?.ok_or_else(|| {
            IamError::ReportNotPresent(
                "Unable to find a credential report for this account. Use GenerateCredentialReport to create one.".to_owned(),
            )
        })?;
        if self.now() - at >= REPORT_LIFETIME {
            return Err(IamError::ReportExpired(
                "The credential report has expired. To generate a new report, call GenerateCredentialReport.".to_owned(),
            ));
        }
        Ok((content, at))
    }

    async fn credential_report_csv(&self, tx: &mut Box<dyn portcullis_store::Tx>, account: &str) -> IamResult<String> {
        let acct = tx.get_account(account).await?.ok_or_else(|| IamError::ServiceFailure("account missing".to_owned()))?;
        let policy = tx.get_password_policy(account).await?;
        let devices = tx.mfa_devices(account).await?;
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        let fail = |e: csv::Error| IamError::ServiceFailure(e.to_string());
        w.write_record(COLUMNS).map_err(fail)?;

        let root_mfa = devices.iter().any(|d| d.assigned_root && d.enabled_at.is_some());
        let mut root = vec![
            "<root_account>".to_owned(),
            crate::root_arn(account),
            iso(acct.created_at),
            "not_supported".to_owned(),
            "no_information".to_owned(),
            "not_supported".to_owned(),
            "not_supported".to_owned(),
            root_mfa.to_string(),
        ];
        root.extend(key_columns(&tx.access_keys_for(account, None).await?));
        root.extend(NO_CERTS.map(str::to_owned));
        w.write_record(&root).map_err(fail)?;

        let all = PageQuery { path_prefix: None, after: None, limit: i64::MAX };
        for u in tx.list_users(account, &all).await? {
            let profile = tx.get_login_profile(&u.user_id).await?;
            let mfa = devices.iter().any(|d| d.user_id.as_deref() == Some(u.user_id.as_str()) && d.enabled_at.is_some());
            let password_last_used = match (u.password_last_used, &profile) {
                (Some(t), _) => iso(t),
                (None, Some(_)) => "no_information".to_owned(),
                (None, None) => "N/A".to_owned(),
            };
            let next_rotation = match (&profile, policy.as_ref().and_then(|p| p.max_age_days)) {
                (Some(p), Some(days)) => iso(p.password_changed_at + days * 86_400),
                _ => "N/A".to_owned(),
            };
            let mut row = vec![
                u.name.clone(),
                iam_arn(account, "user", &u.path, &u.name),
                iso(u.created_at),
                profile.is_some().to_string(),
                password_last_used,
                or_na(profile.as_ref().map(|p| p.password_changed_at)),
                next_rotation,
                mfa.to_string(),
            ];
            row.extend(key_columns(&tx.access_keys_for(account, Some(&u.user_id)).await?));
            row.extend(NO_CERTS.map(str::to_owned));
            w.write_record(&row).map_err(fail)?;
        }
        let bytes = w.into_inner().map_err(|e| IamError::ServiceFailure(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| IamError::ServiceFailure(e.to_string()))
    }
}
