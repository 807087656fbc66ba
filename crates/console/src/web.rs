//! What every console page shares: rendering, redirects and cookies, the client's address,
//! and the signed-in session behind a request.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use portcullis_core::{Caller, RequestFacts};
use serde::Deserialize;

use crate::security::{clear_cookie, cookie, SESSION_COOKIE};
use crate::session::{same_token, SessionView};
use crate::Console;

pub type Shared = State<Arc<Console>>;

/// The page of a listing the console reads: the largest IAM allows (1,000 items).
pub fn listing() -> portcullis_core::PageRequest {
    portcullis_core::PageRequest { marker: None, max_items: Some(1000) }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub text: &'a str,
    /// Where to go next: (address, link text).
    pub next: (&'a str, &'a str),
}

pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<!doctype html><title>Error</title><p>Something went wrong.</p>".to_owned())).into_response()
        }
    }
}

pub fn redirect(to: &str, cookies: &[String]) -> Response {
    let mut resp = (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response();
    for c in cookies {
        if let Ok(v) = c.parse() {
            resp.headers_mut().append(SET_COOKIE, v);
        }
    }
    resp
}

pub fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = cookie.parse() {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    render(status, &MessagePage { title, text, next: ("/signin", "Sign in") })
}

pub fn failure() -> Response {
    message(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "The request could not be completed. Please try again.")
}

/// This server's origin as the browser reached it (`https://` over TLS), for the sign-in
/// URLs pages show.
pub struct Origin(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let scheme = if parts.extensions.get::<portcullis_types::SecureTransport>().is_some() { "https" } else { "http" };
        let host = parts.headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("localhost");
        Ok(Self(format!("{scheme}://{host}")))
    }
}

/// The client's address, when the connection told it (`aws:SourceIp`).
pub struct ClientAddr(pub Option<String>, pub bool);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()), parts.extensions.get::<portcullis_types::SecureTransport>().is_some()))
    }
}

pub fn facts(headers: &HeaderMap, remote: &ClientAddr) -> RequestFacts {
    RequestFacts {
        source_ip: remote.0.clone(),
        secure_transport: remote.1,
        region: "us-east-1".to_owned(),
        user_agent: headers.get("user-agent").and_then(|v| v.to_str().ok()).map(str::to_owned),
    }
}

pub async fn stylesheet() -> Response {
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../static/console.css")).into_response()
}

/// The script behind passkey and security-key forms (the console's only JavaScript).
pub async fn webauthn_script() -> Response {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../static/webauthn.js")).into_response()
}

pub fn forbidden() -> Response {
    message(StatusCode::FORBIDDEN, "Request refused", "The form has expired or did not come from this site. Go back, reload the page and try again.")
}

/// The signed-in session and the caller it acts as; `Err` is the answer for a browser
/// without one (back to sign-in).
pub async fn signed_in(c: &Console, headers: &HeaderMap, remote: &ClientAddr) -> Result<(SessionView, Caller), Response> {
    let to_sign_in = || redirect("/signin", &[clear_cookie(SESSION_COOKIE)]);
    let id = cookie(headers, SESSION_COOKIE).ok_or_else(to_sign_in)?;
    let session = c.sessions.touch(id, c.now()).await.ok_or_else(to_sign_in)?;
    match c.iam.resolve_session_token(&session.access_key_id, &session.session_token, facts(headers, remote)).await {
        Ok((caller, _)) => Ok((session, caller)),
        Err(_) => {
            c.sessions.end(id).await;
            Err(to_sign_in())
        }
    }
}

/// A signed-in form's session and caller, with its CSRF token checked.
pub async fn signed_in_form(c: &Console, headers: &HeaderMap, remote: &ClientAddr, csrf: &str) -> Result<(SessionView, Caller), Response> {
    let (session, caller) = signed_in(c, headers, remote).await?;
    if !same_token(&session.csrf, csrf) {
        return Err(forbidden());
    }
    Ok((session, caller))
}

/// A Unix time as RFC 3339.
pub fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A form whose only field is the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}


#[derive(Template)]
#[template(path = "confirm.html")]
/// "Are you sure?" before a destructive action: the same form again, with `confirmed`.
pub struct ConfirmPage<'a> {
    pub arn: &'a str,
    pub csrf: &'a str,
    pub title: &'a str,
    pub text: &'a str,
    pub action: &'a str,
    pub fields: Vec<(&'a str, &'a str)>,
    pub button: &'a str,
    pub back: &'a str,
}

