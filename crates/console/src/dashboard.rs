//! The dashboard: the account, its alias and sign-in URL, and the security recommendations,
//! as far as the signed-in identity may see them; creating, editing and deleting the alias.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use portcullis_core::{Caller, IamError, SecurityCheck};
use portcullis_core::IamOperation as Op;
use serde::Deserialize;

use crate::session::SessionView;
use crate::web::{ConfirmPage, failure, redirect, render, signed_in, signed_in_form, ClientAddr, Origin, Shared};

/// A security recommendation as the dashboard shows it: AWS's console wording, whether it
/// passes, the detail, and the page that fixes it (with its button's name).
pub struct Recommendation {
    title: String,
    ok: bool,
    detail: String,
    fix: Option<(&'static str, &'static str)>,
}

fn recommendation(c: &SecurityCheck, root: bool) -> Recommendation {
    let (title, fix) = match (c.id, c.ok) {
        ("root_mfa", true) => ("Root user has MFA".to_owned(), None),
        ("root_mfa", false) => ("Add MFA for root user".to_owned(), root.then_some(("/console/mfa/assign", "Add MFA"))),
        ("iam_users", false) => (c.title.to_owned(), Some(("/console/users/create", "Create user"))),
        ("groups", false) => (c.title.to_owned(), Some(("/console/groups/create", "Create group"))),
        ("password_policy", false) => (c.title.to_owned(), Some(("/console/account-settings?edit=1", "Edit password policy"))),
        ("users_mfa" | "access_key_rotation", false) => (c.title.to_owned(), Some(("/console/users", "Review users"))),
        _ => (c.title.to_owned(), None),
    };
    Recommendation { title, ok: c.ok, detail: c.detail.clone(), fix }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    account_id: &'a str,
    alias: Option<&'a str>,
    sign_in_url: &'a str,
    checks: Option<Vec<Recommendation>>,
    /// (label, link, count) of the account's IAM resources, when the caller may see them.
    counts: Vec<(&'static str, &'static str, i64)>,
    notice: Option<&'a str>,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct DashboardQuery {
    done: Option<String>,
}

pub async fn dashboard(State(c): Shared, headers: HeaderMap, remote: ClientAddr, origin: Origin, Query(q): Query<DashboardQuery>) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let notice = match q.done.as_deref() {
        Some("alias") => Some("Account alias saved."),
        Some("alias-deleted") => Some("Account alias deleted."),
        _ => None,
    };
    page(&c, &origin, &session, &caller, StatusCode::OK, notice, None).await
}

/// The dashboard with a notice or an error (never text from the URL, so that a link cannot
/// put words on it).
async fn page(c: &crate::Console, origin: &Origin, session: &SessionView, caller: &Caller, status: StatusCode, notice: Option<&str>, error: Option<&str>) -> Response {
    let alias = match c.iam.authorize_iam(caller, Op::ListAccountAliases, &[]).await {
        Ok(auth) => c.iam.list_account_aliases(&auth).await.ok().and_then(|a| a.into_iter().next()),
        Err(_) => None,
    };
    let (checks, counts) = match c.iam.authorize_iam(caller, Op::GetAccountSummary, &[]).await {
        Ok(auth) => {
            let summary = c.iam.account_summary(&auth).await.map(|s| s.entries).unwrap_or_default();
            let count = |key: &str| summary.iter().find(|(k, _)| *k == key).map_or(0, |(_, n)| *n);
            let counts = vec![
                ("Users", "/console/users", count("Users")),
                ("User groups", "/console/groups", count("Groups")),
                ("Roles", "/console/roles", count("Roles")),
                ("Customer managed policies", "/console/policies?type=local", count("Policies")),
            ];
            (c.iam.security_status(&caller.account_id).await.ok().map(|s| s.checks), counts)
        }
        Err(_) => (None, Vec::new()),
    };
    let sign_in_url = format!("{}/signin/{}", origin.0, alias.as_deref().unwrap_or(&session.account_id));
    render(
        status,
        &DashboardPage {
            arn: &session.arn,
            csrf: &session.csrf,
            account_id: &session.account_id,
            alias: alias.as_deref(),
            sign_in_url: &sign_in_url,
            checks: checks.map(|list| list.iter().map(|c| recommendation(c, matches!(caller.principal, portcullis_core::Principal::Root))).collect()),
            counts,
            notice,
            error,
        },
    )
}

#[derive(Deserialize)]
pub struct AliasForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    alias: String,
    #[serde(default)]
    op: String,
    confirmed: Option<String>,
}

/// `POST /console/alias`: CreateAccountAlias (which replaces an existing one) or
/// DeleteAccountAlias, as the signed-in identity.
pub async fn alias(State(c): Shared, headers: HeaderMap, remote: ClientAddr, origin: Origin, Form(f): Form<AliasForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let alias = f.alias.trim();
    if f.op == "delete" && f.confirmed.is_none() {
        let text = format!("Delete the account alias {alias}? The sign-in URL with the alias stops working; the one with the account ID keeps working.");
        let page = ConfirmPage {
            arn: &session.arn,
            csrf: &session.csrf,
            title: "Delete account alias",
            text: &text,
            action: "/console/alias",
            fields: vec![("alias", alias), ("op", "delete")],
            button: "Delete",
            back: "/console",
        };
        return render(StatusCode::OK, &page);
    }
    let (op, done) = if f.op == "delete" { (Op::DeleteAccountAlias, "alias-deleted") } else { (Op::CreateAccountAlias, "alias") };
    let outcome = match c.iam.authorize_iam(&caller, op, &[("AccountAlias", alias)]).await {
        Ok(auth) if f.op == "delete" => match c.validate("DeleteAccountAlias", &[("AccountAlias", alias)]) {
            Ok(()) => c.iam.delete_account_alias(&auth, alias).await,
            Err(e) => Err(e),
        },
        Ok(auth) => match c.validate("CreateAccountAlias", &[("AccountAlias", alias)]) {
            Ok(()) => c.iam.create_account_alias(&auth, alias).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => redirect(&format!("/console?done={done}"), &[]),
        Err(IamError::ServiceFailure(e)) => {
            tracing::error!(error = %e, "changing the account alias failed");
            failure()
        }
        Err(e) => page(&c, &origin, &session, &caller, StatusCode::BAD_REQUEST, None, Some(&e.public_message())).await,
    }
}
