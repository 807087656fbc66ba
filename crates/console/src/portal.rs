//! The AWS access portal at `/start/{identity store}`: a directory user signs in (changing a
//! one-time password on the way), sees the accounts and permission sets assigned to it, takes
//! access keys for one of them, and approves device codes (`aws sso login`,
//! `portcullis sso login`) at `/start/{identity store}/device`. The session is a cookie
//! holding the portal session's token; forms carry a token derived from it.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_core::audit::{DirectoryCall, DirectoryOutcome};
use portcullis_core::{Iam, PortalSecondFactor, PortalSignIn, PortalUser, RequestFacts};
use serde::Deserialize;

use crate::security::cookie;
use crate::session::{same_token, Pending};
use crate::web::{facts, redirect, render, ClientAddr, Shared};

const PORTAL_COOKIE: &str = "portcullis-portal";

#[derive(Template)]
#[template(path = "portal_signin.html")]
struct SignInPage<'a> {
    store_id: &'a str,
    next: &'a str,
    user_name: &'a str,
    new_password: bool,
    mfa: bool,
    /// The security-key step: the pending sign-in's id and the options for the browser.
    key: Option<(String, String)>,
    error: Option<&'a str>,
}

struct AccountRow {
    id: String,
    name: String,
    email: String,
    roles: Vec<String>,
}

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage<'a> {
    store_id: &'a str,
    user_name: &'a str,
    csrf: &'a str,
    mfa: bool,
    accounts: Vec<AccountRow>,
}

#[derive(Template)]
#[template(path = "portal_credentials.html")]
struct CredentialsPage<'a> {
    store_id: &'a str,
    user_name: &'a str,
    account_id: &'a str,
    role_name: &'a str,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: String,
}

#[derive(Template)]
#[template(path = "portal_device.html")]
struct DevicePage<'a> {
    user_name: &'a str,
    user_code: &'a str,
    csrf: &'a str,
    approved: bool,
    error: Option<&'a str>,
}

fn portal_cookie(token: &str) -> String {
    format!("{PORTAL_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/start")
}

/// Only places inside this store's portal are followed after sign-in.
fn safe_next<'a>(store_id: &str, next: &'a str) -> Option<&'a str> {
    (next.starts_with(&format!("/start/{store_id}")) && !next.contains("//") && !next.contains('\\')).then_some(next)
}

/// The signed-in user of this store's portal, with the session's token.
async fn portal_user(iam: &Iam, headers: &HeaderMap, store_id: &str) -> Option<(PortalUser, String)> {
    let token = cookie(headers, PORTAL_COOKIE)?;
    let user = iam.portal_user(token).await.ok()?;
    (user.store_id == store_id).then(|| (user, token.to_owned()))
}

/// Where a user who must first register an MFA device goes instead (Identity Center's
/// default: "Require them to register an MFA device at sign in").
async fn mfa_first(iam: &Iam, user: &PortalUser) -> Option<Response> {
    let must = iam.portal_mfa_state(user).await.map_or(true, |s| s.must_register);
    must.then(|| redirect(&format!("/start/{}/mfa", user.store_id), &[]))
}

fn to_sign_in(store_id: &str, next: &str) -> Response {
    let next: String = url_escape(next);
    redirect(&format!("/start/{store_id}?next={next}"), &[])
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /start/{store}`: the accounts page, or the sign-in form.
pub async fn home(State(c): Shared, Path(store_id): Path<String>, Query(q): Query<NextQuery>, headers: HeaderMap) -> Response {
    let Some((user, token)) = portal_user(&c.iam, &headers, &store_id).await else {
        let next = q.next.as_deref().and_then(|n| safe_next(&store_id, n)).unwrap_or("");
        return render(StatusCode::OK, &SignInPage { store_id: &store_id, next, user_name: "", new_password: false, mfa: false, key: None, error: None });
    };
    if let Some(answer) = mfa_first(&c.iam, &user).await {
        return answer;
    }
    let mut accounts = Vec::new();
    match c.iam.portal_accounts(&user).await {
        Ok(list) => {
            for a in list {
                let id = a["accountId"].as_str().unwrap_or_default().to_owned();
                let roles = c.iam.portal_roles(&user, &id).await.unwrap_or_default().into_iter().filter_map(|r| r["roleName"].as_str().map(str::to_owned)).collect();
                accounts.push(AccountRow { name: a["accountName"].as_str().unwrap_or_default().to_owned(), email: a["emailAddress"].as_str().unwrap_or_default().to_owned(), id, roles });
            }
        }
        Err(_) => return crate::web::failure(),
    }
    let csrf = Iam::portal_form_token(&token);
    let mfa = c.iam.portal_mfa_state(&user).await.is_ok_and(|s| s.registered);
    render(StatusCode::OK, &HomePage { store_id: &store_id, user_name: &user.user_name, csrf: &csrf, mfa, accounts })
}

#[derive(Deserialize)]
pub struct SignInForm {
    user_name: String,
    password: String,
    new_password: Option<String>,
    mfa_code: Option<String>,
    next: Option<String>,
}

/// `POST /start/{store}/signin`: user name and password, with an authenticator code or a
/// new password when the first answer asked for one.
pub async fn sign_in(State(c): Shared, Path(store_id): Path<String>, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<SignInForm>) -> Response {
    let code = f.mfa_code.as_deref().filter(|c| !c.is_empty());
    let factor = code.map_or(PortalSecondFactor::None, PortalSecondFactor::Code);
    let new_password = f.new_password.clone().filter(|p| !p.is_empty());
    let facts = facts(&headers, &remote);
    let step = SignInStep { store_id: &store_id, next: f.next.as_deref().unwrap_or(""), user_name: &f.user_name, password: &f.password, new_password, mfa_given: code.is_some(), facts };
    step.attempt(&c, factor).await
}

#[derive(Deserialize)]
pub struct KeyForm {
    pending: String,
    key_response: String,
    next: Option<String>,
}

/// `POST /start/{store}/signin/key`: the browser's answer to the security-key challenge of a
/// pending sign-in.
pub async fn sign_in_key(State(c): Shared, Path(store_id): Path<String>, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<KeyForm>) -> Response {
    let expired = || render(StatusCode::OK, &SignInPage { store_id: &store_id, next: "", user_name: "", new_password: false, mfa: false, key: None, error: Some("Your sign-in took too long. Please sign in again.") });
    let Some(p) = c.sessions.take_pending(&f.pending, c.now()).await else { return expired() };
    let (Some(challenge), Some(user_name)) = (p.portal_key.as_ref(), p.user_name.as_deref()) else { return expired() };
    if challenge.store_id() != store_id || p.account.as_deref() != Some(store_id.as_str()) {
        return expired();
    }
    let step = SignInStep { store_id: &store_id, next: f.next.as_deref().unwrap_or(""), user_name, password: &p.password, new_password: p.new_password.clone(), mfa_given: true, facts: facts(&headers, &remote) };
    step.attempt(&c, PortalSecondFactor::Key(challenge, &f.key_response)).await
}

/// What a portal sign-in step has been given.
struct SignInStep<'a> {
    store_id: &'a str,
    next: &'a str,
    user_name: &'a str,
    password: &'a str,
    new_password: Option<String>,
    mfa_given: bool,
    facts: RequestFacts,
}

impl SignInStep<'_> {
    /// The sign-in's event: a success, or a refused password or second factor.
    async fn record(&self, c: &crate::Console, user: Option<&PortalUser>, success: bool) {
        let call = DirectoryCall {
            facts: &self.facts,
            event_source: "signin.amazonaws.com",
            event_name: if success { "UserAuthentication" } else { "CredentialVerification" },
            read_only: false,
            // A page's request has no id of its own: the event gets one.
            request_id: "",
            parameters: serde_json::Value::Null,
        };
        c.iam.record_directory_event(call, self.store_id, user, DirectoryOutcome::SignIn { success, mfa_used: self.mfa_given }).await;
    }

    fn page(&self, error: Option<&str>, new_password: bool, mfa: bool, key: Option<(String, String)>) -> Response {
        let next = safe_next(self.store_id, self.next).unwrap_or("");
        render(StatusCode::OK, &SignInPage { store_id: self.store_id, next, user_name: self.user_name, new_password, mfa, key, error })
    }

    async fn attempt(self, c: &crate::Console, factor: PortalSecondFactor<'_>) -> Response {
        let mut result = c.iam.portal_sign_in(self.store_id, self.user_name, self.password, self.new_password.as_deref(), factor).await;
        let mut error = None;
        if let (Err(portcullis_core::IamError::AccessDenied(m)), true) = (&result, self.mfa_given) {
            // A wrong second factor: the step again (a new challenge for the keys), saying why.
            error = Some(m.clone());
            result = c.iam.portal_sign_in(self.store_id, self.user_name, self.password, self.new_password.as_deref(), PortalSecondFactor::None).await;
        }
        match &result {
            Ok(PortalSignIn::SignedIn { user, .. }) => self.record(c, Some(user), true).await,
            Err(portcullis_core::IamError::AccessDenied(_)) => self.record(c, None, false).await,
            _ => {}
        }
        match result {
            Ok(PortalSignIn::SignedIn { token, .. }) => {
                let to = safe_next(self.store_id, self.next).map_or_else(|| format!("/start/{}", self.store_id), str::to_owned);
                redirect(&to, &[portal_cookie(&token)])
            }
            Ok(PortalSignIn::NewPasswordRequired) => self.page(None, true, false, None),
            Ok(PortalSignIn::Blocked) => self.page(Some("Your administrator requires an MFA device to sign in, and you have none registered. Contact your administrator."), false, false, None),
            Ok(PortalSignIn::MfaRequired { app, key }) => {
                let key = match key {
                    Some((options, challenge)) => {
                        let mut p = Pending::new(None, Some(self.store_id.to_owned()), Some(self.user_name.to_owned()), self.password.to_owned(), String::new(), c.now());
                        p.new_password.clone_from(&self.new_password);
                        p.portal_key = Some(challenge);
                        let Some(id) = c.sessions.put_pending(p, c.now()).await else { return crate::web::failure() };
                        Some((id, options))
                    }
                    None => None,
                };
                self.page(error.as_deref(), false, app, key)
            }
            Err(portcullis_core::IamError::AccessDenied(m)) if self.mfa_given => self.page(Some(&m), false, false, None),
            Err(portcullis_core::IamError::AccessDenied(_)) => self.page(Some("Invalid username or password."), false, false, None),
            Err(portcullis_core::IamError::Service { message, .. }) => self.page(Some(&message), true, false, None),
            Err(_) => crate::web::failure(),
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /start/{store}/signout`.
pub async fn sign_out(State(c): Shared, Path(store_id): Path<String>, headers: HeaderMap, axum::Form(f): axum::Form<CsrfForm>) -> Response {
    if let Some((_, token)) = portal_user(&c.iam, &headers, &store_id).await {
        if same_token(&Iam::portal_form_token(&token), &f.csrf) {
            let _ = c.iam.portal_logout(&token).await;
        }
    }
    redirect(&format!("/start/{store_id}"), &[format!("{PORTAL_COOKIE}=; HttpOnly; SameSite=Lax; Path=/start; Max-Age=0")])
}

#[derive(Deserialize)]
pub struct CredentialsQuery {
    account_id: String,
    role_name: String,
}

/// `GET /start/{store}/credentials?account_id=…&role_name=…`: access keys for a permission set.
pub async fn credentials(State(c): Shared, Path(store_id): Path<String>, Query(q): Query<CredentialsQuery>, headers: HeaderMap) -> Response {
    let Some((user, _)) = portal_user(&c.iam, &headers, &store_id).await else { return to_sign_in(&store_id, &format!("/start/{store_id}")) };
    if let Some(answer) = mfa_first(&c.iam, &user).await {
        return answer;
    }
    match c.iam.portal_role_credentials(&user, &q.account_id, &q.role_name).await {
        Ok(creds) => render(
            StatusCode::OK,
            &CredentialsPage {
                store_id: &store_id,
                user_name: &user.user_name,
                account_id: &q.account_id,
                role_name: &q.role_name,
                access_key_id: &creds.access_key_id,
                secret_access_key: &creds.secret_access_key,
                session_token: &creds.session_token,
                expiration: crate::web::date(creds.expiration),
            },
        ),
        Err(_) => crate::web::message(StatusCode::NOT_FOUND, "No access", "You have no such permission set in that account."),
    }
}

#[derive(Deserialize)]
pub struct DeviceQuery {
    user_code: Option<String>,
}

/// `GET /start/{store}/device?user_code=…`: the verification page (sign-in first).
pub async fn device(State(c): Shared, Path(store_id): Path<String>, Query(q): Query<DeviceQuery>, headers: HeaderMap) -> Response {
    let code = q.user_code.unwrap_or_default();
    let Some((user, token)) = portal_user(&c.iam, &headers, &store_id).await else {
        return to_sign_in(&store_id, &format!("/start/{store_id}/device?user_code={}", url_escape(&code)));
    };
    if let Some(answer) = mfa_first(&c.iam, &user).await {
        return answer;
    }
    let csrf = Iam::portal_form_token(&token);
    render(StatusCode::OK, &DevicePage { user_name: &user.user_name, user_code: &code, csrf: &csrf, approved: false, error: None })
}

#[derive(Deserialize)]
pub struct DeviceForm {
    csrf: String,
    user_code: String,
}

/// `POST /start/{store}/device`: approves a device code for the signed-in user.
pub async fn approve(State(c): State<Arc<crate::Console>>, Path(store_id): Path<String>, headers: HeaderMap, axum::Form(f): axum::Form<DeviceForm>) -> Response {
    let Some((user, token)) = portal_user(&c.iam, &headers, &store_id).await else { return to_sign_in(&store_id, &format!("/start/{store_id}/device")) };
    let csrf = Iam::portal_form_token(&token);
    if !same_token(&csrf, &f.csrf) {
        return crate::web::forbidden();
    }
    if let Some(answer) = mfa_first(&c.iam, &user).await {
        return answer;
    }
    match c.iam.approve_device(&user, &f.user_code).await {
        Ok(()) => render(StatusCode::OK, &DevicePage { user_name: &user.user_name, user_code: &f.user_code, csrf: &csrf, approved: true, error: None }),
        Err(_) => render(StatusCode::OK, &DevicePage { user_name: &user.user_name, user_code: &f.user_code, csrf: &csrf, approved: false, error: Some("The code is not valid or has expired.") }),
    }
}

#[derive(Template)]
#[template(path = "portal_invitation.html")]
struct InvitationPage<'a> {
    store_id: &'a str,
    token: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct InvitationQuery {
    token: Option<String>,
}

/// `GET /start/{store}/invitation?token=…`: the e-mail invitation's page.
pub async fn invitation(Path(store_id): Path<String>, Query(q): Query<InvitationQuery>) -> Response {
    let token = q.token.unwrap_or_default();
    render(StatusCode::OK, &InvitationPage { store_id: &store_id, token: &token, error: None })
}

#[derive(Deserialize)]
pub struct InvitationForm {
    token: String,
    password: String,
    confirm: String,
}

/// `POST /start/{store}/invitation`: chooses the password and signs in.
pub async fn accept_invitation(State(c): Shared, Path(store_id): Path<String>, axum::Form(f): axum::Form<InvitationForm>) -> Response {
    let again = |error: &str| render(StatusCode::OK, &InvitationPage { store_id: &store_id, token: &f.token, error: Some(error) });
    if f.password != f.confirm {
        return again("The passwords do not match.");
    }
    match c.iam.accept_invitation(&store_id, &f.token, &f.password).await {
        Ok(PortalSignIn::SignedIn { token, .. }) => redirect(&format!("/start/{store_id}"), &[portal_cookie(&token)]),
        Ok(PortalSignIn::NewPasswordRequired | PortalSignIn::MfaRequired { .. }) => again("Sign in with your new password."),
        Ok(PortalSignIn::Blocked) => again("Your administrator requires an MFA device to sign in, and you have none registered. Contact your administrator."),
        Err(portcullis_core::IamError::Service { message, .. }) => again(&message),
        Err(_) => crate::web::failure(),
    }
}


#[derive(Template)]
#[template(path = "portal_mfa.html")]
struct MfaPage<'a> {
    store_id: &'a str,
    csrf: &'a str,
    setup: Option<portcullis_core::PortalMfaSetup>,
    /// Options for registering a security key or passkey (when the server does WebAuthn).
    key_options: Option<String>,
    done: bool,
    error: Option<&'a str>,
}

/// `GET /start/{store}/mfa`: registering an authenticator app (a new secret and its QR code).
pub async fn mfa_page(State(c): Shared, Path(store_id): Path<String>, headers: HeaderMap) -> Response {
    let Some((user, token)) = portal_user(&c.iam, &headers, &store_id).await else { return to_sign_in(&store_id, &format!("/start/{store_id}/mfa")) };
    let csrf = Iam::portal_form_token(&token);
    let key_options = match c.iam.start_portal_key_registration(&user).await {
        Ok((options, reg)) => {
            c.sessions.put_portal_registration(&token, reg, c.now()).await;
            Some(options)
        }
        Err(_) => None,
    };
    match c.iam.start_portal_mfa(&user).await {
        Ok(setup) => render(StatusCode::OK, &MfaPage { store_id: &store_id, csrf: &csrf, setup: Some(setup), key_options, done: false, error: None }),
        Err(_) => crate::web::failure(),
    }
}

#[derive(Deserialize)]
pub struct KeyRegistrationForm {
    csrf: String,
    credential: String,
}

/// `POST /start/{store}/mfa/key`: registers the security key or passkey the browser created.
pub async fn mfa_key(State(c): Shared, Path(store_id): Path<String>, headers: HeaderMap, axum::Form(f): axum::Form<KeyRegistrationForm>) -> Response {
    let Some((user, token)) = portal_user(&c.iam, &headers, &store_id).await else { return to_sign_in(&store_id, &format!("/start/{store_id}/mfa")) };
    let csrf = Iam::portal_form_token(&token);
    if !same_token(&csrf, &f.csrf) {
        return crate::web::forbidden();
    }
    let page = |done: bool, error: Option<&str>| render(StatusCode::OK, &MfaPage { store_id: &store_id, csrf: &csrf, setup: None, key_options: None, done, error });
    let Some(reg) = c.sessions.take_portal_registration(&token, c.now()).await else { return page(false, Some("The registration took too long. Please start again.")) };
    match c.iam.finish_portal_key_registration(&user, &reg, &f.credential).await {
        Ok(()) => page(true, None),
        Err(portcullis_core::IamError::AccessDenied(m) | portcullis_core::IamError::Service { message: m, .. }) => page(false, Some(&m)),
        Err(_) => crate::web::failure(),
    }
}

#[derive(Deserialize)]
pub struct MfaForm {
    csrf: String,
    code: String,
}

/// `POST /start/{store}/mfa`: confirms the app with one code from it.
pub async fn mfa_confirm(State(c): Shared, Path(store_id): Path<String>, headers: HeaderMap, axum::Form(f): axum::Form<MfaForm>) -> Response {
    let Some((user, token)) = portal_user(&c.iam, &headers, &store_id).await else { return to_sign_in(&store_id, &format!("/start/{store_id}/mfa")) };
    let csrf = Iam::portal_form_token(&token);
    if !same_token(&csrf, &f.csrf) {
        return crate::web::forbidden();
    }
    match c.iam.confirm_portal_mfa(&user, &f.code).await {
        Ok(()) => render(StatusCode::OK, &MfaPage { store_id: &store_id, csrf: &csrf, setup: None, key_options: None, done: true, error: None }),
        Err(portcullis_core::IamError::Service { message, .. }) => render(StatusCode::OK, &MfaPage { store_id: &store_id, csrf: &csrf, setup: None, key_options: None, done: false, error: Some(&message) }),
        Err(_) => crate::web::failure(),
    }
}


#[derive(Deserialize)]
pub struct ConsoleForm {
    csrf: String,
    account_id: String,
    role_name: String,
}

/// `POST /start/{store}/console`: the portal's "Management console": a console session as
/// the permission set's role in the account, for the permission set's session duration.
pub async fn management_console(State(c): Shared, Path(store_id): Path<String>, headers: HeaderMap, axum::Form(f): axum::Form<ConsoleForm>) -> Response {
    let Some((user, token)) = portal_user(&c.iam, &headers, &store_id).await else { return to_sign_in(&store_id, &format!("/start/{store_id}")) };
    if !same_token(&Iam::portal_form_token(&token), &f.csrf) {
        return crate::web::forbidden();
    }
    if let Some(answer) = mfa_first(&c.iam, &user).await {
        return answer;
    }
    match c.iam.portal_role_session(&user, &f.account_id, &f.role_name).await {
        Ok(session) => {
            let Some(id) = c.sessions.start(&f.account_id, &session.arn, &session.credentials, c.now()).await else { return crate::web::failure() };
            redirect("/console", &[crate::security::set_cookie(crate::security::SESSION_COOKIE, &id)])
        }
        Err(_) => crate::web::message(StatusCode::NOT_FOUND, "No access", "You have no such permission set in that account."),
    }
}
