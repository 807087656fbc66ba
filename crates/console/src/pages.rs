//! The console's pages: thin handlers over `Iam`, each rendering one template.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use portcullis_core::{AuthzRequest, Caller, IamError, RequestFacts, SecurityCheck, SignInError, SignInIdentity, SignInInput, SignInOutcome};
use serde::Deserialize;

use crate::security::{clear_cookie, cookie, set_cookie, PENDING_COOKIE, SESSION_COOKIE, SIGNIN_COOKIE};
use crate::session::{random_token, same_token, Pending, SessionView};
use crate::Console;

/// What every failed sign-in says, whatever failed (unknown name, wrong password or code,
/// too many attempts), so that the page tells an attacker nothing.
const INCORRECT: &str = "Your authentication information is incorrect. Please try again.";

type Shared = State<Arc<Console>>;

pub enum SignInStep {
    Choose,
    RootEmail,
    RootPassword,
    IamUser,
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage<'a> {
    step: SignInStep,
    csrf: &'a str,
    email: &'a str,
    account: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "signin_next.html")]
struct NextStepPage<'a> {
    mfa: bool,
    devices: &'a [String],
    reason: &'a str,
    csrf: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    text: &'a str,
    /// Where to go next: (address, link text).
    next: (&'a str, &'a str),
}

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

fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<!doctype html><title>Error</title><p>Something went wrong.</p>".to_owned())).into_response()
        }
    }
}

fn redirect(to: &str, cookies: &[String]) -> Response {
    let mut resp = (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response();
    for c in cookies {
        if let Ok(v) = c.parse() {
            resp.headers_mut().append(SET_COOKIE, v);
        }
    }
    resp
}

fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = cookie.parse() {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    render(status, &MessagePage { title, text, next: ("/signin", "Sign in") })
}

fn failure() -> Response {
    message(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "The request could not be completed. Please try again.")
}

/// The client's address, when the connection told it (`aws:SourceIp`).
pub struct ClientAddr(Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string())))
    }
}

fn facts(headers: &HeaderMap, remote: &ClientAddr) -> RequestFacts {
    RequestFacts {
        source_ip: remote.0.clone(),
        secure_transport: false,
        region: "us-east-1".to_owned(),
        user_agent: headers.get("user-agent").and_then(|v| v.to_str().ok()).map(str::to_owned),
    }
}

pub async fn stylesheet() -> Response {
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../static/console.css")).into_response()
}

// ---------------------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct KindQuery {
    kind: Option<String>,
}

/// A sign-in form with a fresh CSRF token, also set as a cookie (there is no session yet).
fn sign_in_form(status: StatusCode, step: SignInStep, email: &str, account: &str, error: Option<&str>) -> Response {
    let Some(csrf) = random_token() else { return failure() };
    let page = render(status, &SignInPage { step, csrf: &csrf, email, account, error });
    with_cookie(page, &set_cookie(SIGNIN_COOKIE, &csrf))
}

pub async fn sign_in_page(Query(q): Query<KindQuery>) -> Response {
    let step = match q.kind.as_deref() {
        Some("root") => SignInStep::RootEmail,
        Some("iam") => SignInStep::IamUser,
        _ => SignInStep::Choose,
    };
    sign_in_form(StatusCode::OK, step, "", "", None)
}

/// `/signin/ACCOUNT-OR-ALIAS`: the IAM-user form for that account; an unknown one is a 404.
pub async fn sign_in_account_page(State(c): Shared, Path(account): Path<String>) -> Response {
    match c.iam.sign_in_account(&account).await {
        Ok(Some(_)) => sign_in_form(StatusCode::OK, SignInStep::IamUser, "", &account, None),
        Ok(None) => message(StatusCode::NOT_FOUND, "Account not found", "There is no account with this ID or alias on this server. Check the sign-in URL."),
        Err(e) => {
            tracing::error!(error = %e, "sign-in account lookup failed");
            failure()
        }
    }
}

/// The form's CSRF token must match the cookie it was issued with.
fn sign_in_csrf_ok(headers: &HeaderMap, field: &str) -> bool {
    cookie(headers, SIGNIN_COOKIE).is_some_and(|c| !field.is_empty() && same_token(c, field))
}

fn forbidden() -> Response {
    message(StatusCode::FORBIDDEN, "Request refused", "The form has expired or did not come from this site. Go back, reload the page and try again.")
}

#[derive(Deserialize)]
pub struct RootEmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

pub async fn sign_in_root_email(headers: HeaderMap, Form(f): Form<RootEmailForm>) -> Response {
    if !sign_in_csrf_ok(&headers, &f.csrf) {
        return forbidden();
    }
    sign_in_form(StatusCode::OK, SignInStep::RootPassword, f.email.trim(), "", None)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    email: Option<String>,
    account: Option<String>,
    user_name: Option<String>,
    #[serde(default)]
    password: String,
}

pub async fn sign_in_password(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Form(f): Form<PasswordForm>) -> Response {
    if !sign_in_csrf_ok(&headers, &f.csrf) {
        return forbidden();
    }
    let Some(csrf) = random_token() else { return failure() };
    let pending = Pending::new(f.email, f.account, f.user_name, f.password, csrf, c.now());
    attempt(&c, pending, None, None, facts(&headers, &remote)).await
}

#[derive(Deserialize)]
pub struct MfaForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    mfa_code: String,
    mfa_serial: Option<String>,
}

/// The pending sign-in a step's form belongs to (its cookie and CSRF token must agree).
fn pending(c: &Console, headers: &HeaderMap, csrf: &str) -> Option<Pending> {
    let id = cookie(headers, PENDING_COOKIE)?;
    let p = c.sessions.take_pending(id, c.now())?;
    same_token(&p.csrf, csrf).then_some(p)
}

pub async fn sign_in_mfa(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Form(f): Form<MfaForm>) -> Response {
    let Some(p) = pending(&c, &headers, &f.csrf) else {
        return sign_in_form(StatusCode::UNAUTHORIZED, SignInStep::Choose, "", "", Some(INCORRECT));
    };
    attempt(&c, p, Some(f.mfa_code.trim()), f.mfa_serial.as_deref(), facts(&headers, &remote)).await
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn sign_in_new_password(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Form(f): Form<NewPasswordForm>) -> Response {
    let Some(mut p) = pending(&c, &headers, &f.csrf) else {
        return sign_in_form(StatusCode::UNAUTHORIZED, SignInStep::Choose, "", "", Some(INCORRECT));
    };
    if f.new_password != f.confirm_password {
        return next_step(&c, p, false, "Choose a new password.", Some("The new passwords do not match."));
    }
    p.new_password = Some(f.new_password);
    attempt(&c, p, None, None, facts(&headers, &remote)).await
}

/// Renders the MFA or new-password step for a pending sign-in, under a new id and token.
fn next_step(c: &Console, mut p: Pending, mfa: bool, reason: &str, error: Option<&str>) -> Response {
    let Some(csrf) = random_token() else { return failure() };
    p.csrf = csrf.clone();
    let devices = p.mfa_devices.clone();
    let Some(id) = c.sessions.put_pending(p, c.now()) else { return failure() };
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let page = render(status, &NextStepPage { mfa, devices: &devices, reason, csrf: &csrf, error });
    with_cookie(page, &set_cookie(PENDING_COOKIE, &id))
}

/// The first form again, with AWS's one text for every failure.
fn incorrect(p: &Pending) -> Response {
    match &p.root_email {
        Some(email) => sign_in_form(StatusCode::UNAUTHORIZED, SignInStep::RootPassword, email, "", Some(INCORRECT)),
        None => sign_in_form(StatusCode::UNAUTHORIZED, SignInStep::IamUser, "", p.account.as_deref().unwrap_or_default(), Some(INCORRECT)),
    }
}

/// One sign-in attempt with what the pending sign-in holds, and the page that follows.
async fn attempt(c: &Console, p: Pending, mfa_code: Option<&str>, mfa_serial: Option<&str>, facts: RequestFacts) -> Response {
    let identity = match (&p.root_email, &p.account, &p.user_name) {
        (Some(email), _, _) => SignInIdentity::Root { email },
        (None, Some(account), Some(user_name)) => SignInIdentity::User { account, user_name },
        _ => return incorrect(&p),
    };
    let input = SignInInput { identity, password: &p.password, mfa_code, mfa_serial, new_password: p.new_password.as_deref() };
    let outcome = c.iam.console_sign_in(&input, facts).await;
    match outcome {
        Ok(SignInOutcome::SignedIn { account_id, arn, credentials, .. }) => {
            let Some(id) = c.sessions.start(&account_id, &arn, &credentials, c.now()) else { return failure() };
            redirect("/console", &[set_cookie(SESSION_COOKIE, &id), clear_cookie(PENDING_COOKIE), clear_cookie(SIGNIN_COOKIE)])
        }
        Ok(SignInOutcome::MfaRequired { devices }) => {
            let error = mfa_code.map(|_| INCORRECT);
            let mut p = p;
            p.mfa_devices = devices;
            next_step(c, p, true, "", error)
        }
        Ok(SignInOutcome::PasswordChangeRequired { reason }) => {
            let text = match reason {
                portcullis_core::PasswordChangeReason::ResetRequired => "Your administrator requires you to choose a new password before you continue.",
                portcullis_core::PasswordChangeReason::Expired => "Your password has expired. Choose a new password to continue.",
            };
            next_step(c, p, false, text, None)
        }
        Err(SignInError::InvalidMfaCode) if !p.mfa_devices.is_empty() => next_step(c, p, true, "", Some(INCORRECT)),
        Err(SignInError::Incorrect | SignInError::InvalidMfaCode | SignInError::Throttled) => incorrect(&p),
        Err(SignInError::PasswordExpired) => message(
            StatusCode::FORBIDDEN,
            "Password expired",
            "Your password has expired and only an administrator can set a new one. Ask your administrator to reset it.",
        ),
        Err(SignInError::Iam(e @ (IamError::PasswordPolicyViolation(_) | IamError::AccessDenied(_)))) if p.new_password.is_some() => {
            let text = e.public_message();
            let mut p = p;
            p.new_password = None;
            next_step(c, p, false, "Choose a new password.", Some(&text))
        }
        Err(e) => {
            tracing::error!(error = %e, "console sign-in failed");
            failure()
        }
    }
}

// ---------------------------------------------------------------------------------------
// Signed in
// ---------------------------------------------------------------------------------------

/// The signed-in session and the caller it acts as; `Err` is the answer for a browser
/// without one (back to sign-in).
async fn signed_in(c: &Console, headers: &HeaderMap, remote: &ClientAddr) -> Result<(SessionView, Caller), Response> {
    let to_sign_in = || redirect("/signin", &[clear_cookie(SESSION_COOKIE)]);
    let id = cookie(headers, SESSION_COOKIE).ok_or_else(to_sign_in)?;
    let session = c.sessions.touch(id, c.now()).ok_or_else(to_sign_in)?;
    match c.iam.resolve_session_token(&session.access_key_id, &session.session_token, facts(headers, remote)).await {
        Ok((caller, _)) => Ok((session, caller)),
        Err(_) => {
            c.sessions.end(id);
            Err(to_sign_in())
        }
    }
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

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(State(c): Shared, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    let Some(id) = cookie(&headers, SESSION_COOKIE) else { return redirect("/signin", &[]) };
    match c.sessions.touch(id, c.now()) {
        Some(s) if same_token(&s.csrf, &f.csrf) => {
            c.sessions.end(id);
            redirect("/signin", &[clear_cookie(SESSION_COOKIE)])
        }
        Some(_) => forbidden(),
        None => redirect("/signin", &[clear_cookie(SESSION_COOKIE)]),
    }
}

// ---------------------------------------------------------------------------------------
// Security credentials: the signed-in identity's own MFA devices
// ---------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "security_credentials.html")]
struct SecurityCredentialsPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    notice: Option<&'a str>,
    devices: Option<Vec<(String, String)>>,
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    done: Option<String>,
}

pub async fn security_credentials(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Query(q): Query<NoticeQuery>) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let devices = match c.iam.authorize(&caller, &AuthzRequest::new("iam:ListMFADevices", caller.arn())).await {
        Ok(auth) => match c.iam.list_mfa_devices(&auth, None, &portcullis_core::PageRequest::default()).await {
            Ok(page) => Some(page.items.into_iter().map(|(_, serial, enabled)| (serial, date(enabled))).collect()),
            Err(e) => {
                tracing::error!(error = %e, "listing MFA devices failed");
                return failure();
            }
        },
        Err(_) => None,
    };
    let notice = (q.done.as_deref() == Some("mfa")).then_some("MFA device assigned. You will be asked for a code when you sign in.");
    render(StatusCode::OK, &SecurityCredentialsPage { arn: &session.arn, csrf: &session.csrf, notice, devices })
}

fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// The device just created: what the person needs to load it into an app.
pub struct NewDevice {
    serial: String,
    base32_seed: String,
    qr_png_base64: String,
}

#[derive(Template)]
#[template(path = "assign_mfa.html")]
struct AssignMfaPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    suggested_name: &'a str,
    device: Option<NewDevice>,
    error: Option<&'a str>,
}

/// A default device name: the user's name, or AWS's customary one for the root user.
fn suggested_name(caller: &Caller) -> String {
    match &caller.principal {
        portcullis_core::Principal::User(u) => u.name.clone(),
        _ => "root-account-mfa-device".to_owned(),
    }
}

pub async fn assign_mfa_page(State(c): Shared, headers: HeaderMap, remote: ClientAddr) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let name = suggested_name(&caller);
    render(StatusCode::OK, &AssignMfaPage { arn: &session.arn, csrf: &session.csrf, suggested_name: &name, device: None, error: None })
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    device_name: String,
}

/// A signed-in form's session, caller and CSRF check together.
async fn signed_in_form(c: &Console, headers: &HeaderMap, remote: &ClientAddr, csrf: &str) -> Result<(SessionView, Caller), Response> {
    let (session, caller) = signed_in(c, headers, remote).await?;
    if !same_token(&session.csrf, csrf) {
        return Err(forbidden());
    }
    Ok((session, caller))
}

pub async fn assign_mfa(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Form(f): Form<AssignForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let name = f.device_name.trim();
    let again = |error: &str| {
        render(StatusCode::BAD_REQUEST, &AssignMfaPage { arn: &session.arn, csrf: &session.csrf, suggested_name: name, device: None, error: Some(error) })
    };
    let arn = format!("arn:aws:iam::{}:mfa/{name}", caller.account_id);
    let created = match c.iam.authorize(&caller, &AuthzRequest::new("iam:CreateVirtualMFADevice", arn)).await {
        Ok(auth) => c.iam.create_virtual_mfa_device(&auth, name, None, &[]).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(d) => {
            let device = NewDevice { serial: d.serial_number, base32_seed: d.base32_seed, qr_png_base64: d.qr_png_base64 };
            render(StatusCode::OK, &AssignMfaPage { arn: &session.arn, csrf: &session.csrf, suggested_name: name, device: Some(device), error: None })
        }
        Err(e @ (IamError::EntityAlreadyExists(_) | IamError::AccessDenied(_) | IamError::InvalidInput(_) | IamError::Validation(_) | IamError::LimitExceeded(_))) => {
            again(&e.public_message())
        }
        Err(e) => {
            tracing::error!(error = %e, "creating a virtual MFA device failed");
            failure()
        }
    }
}

#[derive(Deserialize)]
pub struct EnableForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    code1: String,
    #[serde(default)]
    code2: String,
}

pub async fn enable_mfa(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Form(f): Form<EnableForm>) -> Response {
    let (_, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let (code1, code2) = (f.code1.trim(), f.code2.trim());
    let enabled = match &caller.principal {
        portcullis_core::Principal::Root => c.iam.enable_root_mfa_device(&caller, &f.serial, code1, code2).await,
        portcullis_core::Principal::User(u) => match c.iam.authorize(&caller, &AuthzRequest::new("iam:EnableMFADevice", caller.arn())).await {
            Ok(auth) => c.iam.enable_mfa_device(&auth, &u.name, &f.serial, code1, code2).await,
            Err(e) => Err(e),
        },
        portcullis_core::Principal::AssumedRole { .. } => Err(IamError::AccessDenied("A role session has no MFA devices of its own.".to_owned())),
    };
    match enabled {
        Ok(()) => {
            c.iam.invalidate_authorization_cache();
            redirect("/console/security-credentials?done=mfa", &[])
        }
        Err(e @ (IamError::InvalidAuthenticationCode(_) | IamError::AccessDenied(_) | IamError::NoSuchEntity(_) | IamError::EntityAlreadyExists(_) | IamError::LimitExceeded(_))) => {
            let text = format!("{} Start again to see the QR code and the secret key once more.", e.public_message());
            let next = ("/console/mfa/assign", "Assign MFA device");
            render(StatusCode::BAD_REQUEST, &MessagePage { title: "The MFA device was not assigned", text: &text, next })
        }
        Err(e) => {
            tracing::error!(error = %e, "enabling an MFA device failed");
            failure()
        }
    }
}
