//! Account settings: the password policy (shown in plain words, edited in a form) and the
//! credential report (generated and downloaded as AWS's CSV), as the signed-in identity.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::{IamError, PasswordPolicyInput};
use portcullis_core::IamOperation as Op;
use portcullis_core::views::PasswordPolicy;
use serde::Deserialize;

use crate::web::{failure, message, redirect, render, signed_in, signed_in_form, ClientAddr, Shared};

/// What the form shows: the policy in force, or AWS's defaults for a new one.
struct PolicyForm {
    minimum_length: i64,
    require_uppercase: bool,
    require_lowercase: bool,
    require_numbers: bool,
    require_symbols: bool,
    allow_users_to_change: bool,
    max_age_days: Option<i64>,
    hard_expiry: bool,
    reuse_prevention: Option<i64>,
}

impl From<Option<&PasswordPolicy>> for PolicyForm {
    fn from(p: Option<&PasswordPolicy>) -> Self {
        match p {
            Some(p) => Self {
                minimum_length: p.minimum_length,
                require_uppercase: p.require_uppercase,
                require_lowercase: p.require_lowercase,
                require_numbers: p.require_numbers,
                require_symbols: p.require_symbols,
                allow_users_to_change: p.allow_users_to_change,
                max_age_days: p.max_age_days,
                hard_expiry: p.hard_expiry,
                reuse_prevention: p.reuse_prevention,
            },
            None => Self {
                minimum_length: 8,
                require_uppercase: true,
                require_lowercase: true,
                require_numbers: true,
                require_symbols: true,
                allow_users_to_change: true,
                max_age_days: None,
                hard_expiry: false,
                reuse_prevention: None,
            },
        }
    }
}

/// The policy's rules as sentences.
fn rules(p: &PasswordPolicy) -> Vec<String> {
    let mut out = vec![format!("At least {} characters", p.minimum_length)];
    for (on, text) in [
        (p.require_uppercase, "At least one uppercase letter (A-Z)"),
        (p.require_lowercase, "At least one lowercase letter (a-z)"),
        (p.require_numbers, "At least one number"),
        (p.require_symbols, "At least one non-alphanumeric character"),
    ] {
        if on {
            out.push(text.to_owned());
        }
    }
    out.push(if p.allow_users_to_change { "Users may change their own password" } else { "Only administrators change passwords" }.to_owned());
    match p.max_age_days {
        Some(d) => out.push(format!(
            "Passwords expire after {d} days{}",
            if p.hard_expiry { "; then only an administrator can reset them" } else { "" }
        )),
        None => out.push("Passwords do not expire".to_owned()),
    }
    if let Some(n) = p.reuse_prevention {
        out.push(format!("The last {n} passwords cannot be used again"));
    }
    out
}

#[derive(Template)]
#[template(path = "account_settings.html")]
struct SettingsPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    editing: bool,
    p: PolicyForm,
    rules: Option<Vec<String>>,
    notice: Option<&'a str>,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct SettingsQuery {
    edit: Option<String>,
    done: Option<String>,
}

pub async fn settings(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Query(q): Query<SettingsQuery>) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let policy = match c.iam.authorize_iam(&caller, Op::GetAccountPasswordPolicy, &[]).await {
        Ok(auth) => match c.iam.get_account_password_policy(&auth).await {
            Ok(p) => Ok(Some(p)),
            Err(IamError::NoSuchEntity(_)) => Ok(None),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let (policy, error) = match policy {
        Ok(p) => (p, None),
        Err(IamError::AccessDenied(m)) => (None, Some(m)),
        Err(e) => {
            tracing::error!(error = %e, "reading the password policy failed");
            return failure();
        }
    };
    let notice = (q.done.as_deref() == Some("policy")).then_some("Password policy saved.");
    let page = SettingsPage {
        arn: &session.arn,
        csrf: &session.csrf,
        editing: q.edit.is_some(),
        p: PolicyForm::from(policy.as_ref()),
        rules: policy.as_ref().map(rules),
        notice,
        error: error.as_deref(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct PolicyFormInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    minimum_length: String,
    require_uppercase: Option<String>,
    require_lowercase: Option<String>,
    require_numbers: Option<String>,
    require_symbols: Option<String>,
    allow_users_to_change: Option<String>,
    expire: Option<String>,
    #[serde(default)]
    max_age_days: String,
    hard_expiry: Option<String>,
    prevent_reuse: Option<String>,
    #[serde(default)]
    reuse_prevention: String,
}

/// `POST /console/account-settings/password-policy`: UpdateAccountPasswordPolicy, with the
/// IAM model's ranges checked as the API checks them.
pub async fn save_policy(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<PolicyFormInput>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let (min, age, reuse) = (f.minimum_length.trim(), f.max_age_days.trim(), f.reuse_prevention.trim());
    let mut params = vec![("MinimumPasswordLength", min)];
    if f.expire.is_some() {
        params.push(("MaxPasswordAge", age));
    }
    if f.prevent_reuse.is_some() {
        params.push(("PasswordReusePrevention", reuse));
    }
    let number = |s: &str| s.parse::<i64>().ok();
    let input = PasswordPolicyInput {
        minimum_length: number(min),
        require_symbols: Some(f.require_symbols.is_some()),
        require_numbers: Some(f.require_numbers.is_some()),
        require_uppercase: Some(f.require_uppercase.is_some()),
        require_lowercase: Some(f.require_lowercase.is_some()),
        allow_users_to_change: Some(f.allow_users_to_change.is_some()),
        max_age_days: f.expire.as_ref().and_then(|_| number(age)),
        reuse_prevention: f.prevent_reuse.as_ref().and_then(|_| number(reuse)),
        hard_expiry: Some(f.hard_expiry.is_some()),
    };
    let saved = async {
        c.validate("UpdateAccountPasswordPolicy", &params)?;
        let auth = c.iam.authorize_iam(&caller, Op::UpdateAccountPasswordPolicy, &[]).await?;
        c.iam.update_account_password_policy(&auth, &input).await
    }
    .await;
    match saved {
        Ok(()) => redirect("/console/account-settings?done=policy", &[]),
        Err(IamError::ServiceFailure(e)) => {
            tracing::error!(error = %e, "saving the password policy failed");
            failure()
        }
        Err(e) => {
            let text = e.public_message();
            let p = PolicyForm {
                minimum_length: input.minimum_length.unwrap_or(8),
                require_uppercase: f.require_uppercase.is_some(),
                require_lowercase: f.require_lowercase.is_some(),
                require_numbers: f.require_numbers.is_some(),
                require_symbols: f.require_symbols.is_some(),
                allow_users_to_change: f.allow_users_to_change.is_some(),
                max_age_days: input.max_age_days,
                hard_expiry: f.hard_expiry.is_some(),
                reuse_prevention: input.reuse_prevention,
            };
            let page = SettingsPage { arn: &session.arn, csrf: &session.csrf, editing: true, p, rules: None, notice: None, error: Some(&text) };
            render(StatusCode::BAD_REQUEST, &page)
        }
    }
}

/// `POST /console/credential-report.csv`: GenerateCredentialReport, then GetCredentialReport.
pub async fn credential_report(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<crate::web::CsrfForm>) -> Response {
    let (_, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let report = match c.iam.authorize_iam(&caller, Op::GenerateCredentialReport, &[]).await {
        Ok(auth) => match c.iam.generate_credential_report(&auth).await {
            Ok(_) => async {
                let auth = c.iam.authorize_iam(&caller, Op::GetCredentialReport, &[]).await?;
                c.iam.get_credential_report(&auth).await
            }
            .await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match report {
        Ok((csv, _)) => ([(CONTENT_TYPE, "text/csv; charset=utf-8"), (CONTENT_DISPOSITION, "attachment; filename=\"credential-report.csv\"")], csv).into_response(),
        Err(IamError::AccessDenied(m)) => message(StatusCode::FORBIDDEN, "Not allowed", &m),
        Err(e) => {
            tracing::error!(error = %e, "the credential report failed");
            failure()
        }
    }
}
