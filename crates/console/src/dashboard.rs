//! The dashboard: the account, its sign-in URL and the security recommendations, as far
//! as the signed-in identity may see them.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_core::{AuthzRequest, SecurityCheck};

use crate::web::{render, signed_in, ClientAddr, Shared};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    account_id: &'a str,
    alias: Option<&'a str>,
    sign_in_url: &'a str,
    checks: Option<&'a [SecurityCheck]>,
}

pub async fn dashboard(State(c): Shared, headers: HeaderMap, remote: ClientAddr) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let alias = match c.iam.authorize(&caller, &AuthzRequest::new("iam:ListAccountAliases", "*")).await {
        Ok(auth) => c.iam.list_account_aliases(&auth).await.ok().and_then(|a| a.into_iter().next()),
        Err(_) => None,
    };
    let checks = match c.iam.authorize(&caller, &AuthzRequest::new("iam:GetAccountSummary", "*")).await {
        Ok(_) => c.iam.security_status(&caller.account_id).await.ok().map(|s| s.checks),
        Err(_) => None,
    };
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let sign_in_url = format!("http://{host}/signin/{}", alias.as_deref().unwrap_or(&session.account_id));
    render(
        StatusCode::OK,
        &DashboardPage {
            arn: &session.arn,
            csrf: &session.csrf,
            account_id: &session.account_id,
            alias: alias.as_deref(),
            sign_in_url: &sign_in_url,
            checks: checks.as_deref(),
        },
    )
}

