//! The Account page: alternate contacts, security challenge questions and IAM access to
//! billing information (the root user's), and Regions, through the Account Management
//! operations as the signed-in identity.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_core::{AccountOperation as Op, IamError, Principal};
use serde::Deserialize;

use crate::web::{failure, redirect, render, signed_in, signed_in_form, ClientAddr, Shared};

struct Contact {
    kind: &'static str,
    label: &'static str,
    name: String,
    title: String,
    email: String,
    phone: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    root: bool,
    contacts: Vec<Contact>,
    questions: Vec<String>,
    billing: bool,
    regions: Vec<(String, String)>,
    notice: Option<&'a str>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    done: Option<String>,
}

pub async fn account(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Query(q): Query<AccountQuery>) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let notice = match q.done.as_deref() {
        Some("contact") => Some("Alternate contact updated."),
        Some("questions") => Some("Security questions updated."),
        Some("billing") => Some("IAM access to billing information updated."),
        Some("region") => Some("Region change requested."),
        _ => None,
    };
    page(&c, &session, &caller, notice, None).await
}

/// The page as the signed-in identity sees it.
async fn page(c: &crate::Console, session: &crate::session::SessionView, caller: &portcullis_core::Caller, notice: Option<&str>, error: Option<String>) -> Response {
    let caller = caller.clone();
    let mut contacts = Vec::new();
    for (kind, label) in [("BILLING", "Billing"), ("OPERATIONS", "Operations"), ("SECURITY", "Security")] {
        let got = match c.iam.authorize_account(&caller, Op::GetAlternateContact).await {
            Ok(auth) => c.iam.get_alternate_contact(&auth, None, kind).await.ok(),
            Err(_) => None,
        };
        let field = |k: &str| got.as_ref().and_then(|v| v[k].as_str()).unwrap_or_default().to_owned();
        contacts.push(Contact { kind, label, name: field("Name"), title: field("Title"), email: field("EmailAddress"), phone: field("PhoneNumber") });
    }
    let root = matches!(caller.principal, Principal::Root);
    let questions = match (root, c.iam.authorize_account(&caller, Op::GetContactInformation).await) {
        (true, Ok(auth)) => c.iam.security_questions(&auth).await.unwrap_or_default(),
        _ => Vec::new(),
    };
    let billing = c.iam.iam_billing_access(&caller.account_id).await.unwrap_or(false);
    let regions = match c.iam.authorize_account(&caller, Op::ListRegions).await {
        Ok(auth) => match c.iam.list_regions(&auth, None, &[], None, Some(50)).await {
            Ok(v) => v["Regions"].as_array().cloned().unwrap_or_default().iter().map(|r| (r["RegionName"].as_str().unwrap_or_default().to_owned(), r["RegionOptStatus"].as_str().unwrap_or_default().to_owned())).collect(),
            Err(_) => Vec::new(),
        },
        Err(_) => Vec::new(),
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    render(status, &AccountPage { arn: &session.arn, csrf: &session.csrf, root, contacts, questions, billing, regions, notice, error })
}

/// Back to the page: with what was done, or with why it was refused.
async fn outcome(c: &crate::Console, session: &crate::session::SessionView, caller: &portcullis_core::Caller, result: Result<(), IamError>, done: &str) -> Response {
    match result {
        Ok(()) => redirect(&format!("/console/account?done={done}"), &[]),
        Err(IamError::ServiceFailure(e)) => {
            tracing::error!(error = %e, "an account setting failed");
            failure()
        }
        Err(e) => page(c, session, caller, None, Some(e.public_message())).await,
    }
}

#[derive(Deserialize)]
pub struct ContactForm {
    csrf: String,
    kind: String,
    name: String,
    title: String,
    email: String,
    phone: String,
}

pub async fn alternate_contact(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<ContactForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let contact = serde_json::json!({"AlternateContactType": f.kind, "Name": f.name, "Title": f.title, "EmailAddress": f.email, "PhoneNumber": f.phone});
    let result = async {
        let auth = c.iam.authorize_account(&caller, Op::PutAlternateContact).await?;
        c.iam.put_alternate_contact(&auth, None, &contact).await
    }
    .await;
    outcome(&c, &session, &caller, result, "contact").await
}

#[derive(Deserialize)]
pub struct QuestionsForm {
    csrf: String,
    q1: String,
    a1: String,
    q2: String,
    a2: String,
    q3: String,
    a3: String,
}

pub async fn security_questions(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<QuestionsForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let qa = vec![(f.q1, f.a1), (f.q2, f.a2), (f.q3, f.a3)];
    let result = async {
        let auth = c.iam.authorize_account(&caller, Op::PutContactInformation).await?;
        c.iam.set_security_questions(&auth, &qa).await
    }
    .await;
    outcome(&c, &session, &caller, result, "questions").await
}

#[derive(Deserialize)]
pub struct BillingForm {
    csrf: String,
    on: String,
}

pub async fn billing_access(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<BillingForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let result = async {
        let auth = c.iam.authorize_account(&caller, Op::PutContactInformation).await?;
        c.iam.set_iam_billing_access(&auth, f.on == "true").await
    }
    .await;
    outcome(&c, &session, &caller, result, "billing").await
}

#[derive(Deserialize)]
pub struct RegionForm {
    csrf: String,
    region: String,
    enable: String,
}

pub async fn region(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<RegionForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let enable = f.enable == "true";
    let result = async {
        let auth = c.iam.authorize_account(&caller, if enable { Op::EnableRegion } else { Op::DisableRegion }).await?;
        c.iam.set_region_enabled(&auth, None, &f.region, enable).await
    }
    .await;
    outcome(&c, &session, &caller, result, "region").await
}
