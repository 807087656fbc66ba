//! Sign-in: the root user by e-mail then password, an IAM user by account, name and
//! password, then the MFA and new-password steps, all through `Iam::console_sign_in`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use askama::Template;
use portcullis_core::{IamError, RequestFacts, SecondFactor, SignInError, SignInIdentity, SignInInput, SignInOutcome};
use serde::Deserialize;

use crate::security::{clear_cookie, cookie, set_cookie, PENDING_COOKIE, SESSION_COOKIE, SIGNIN_COOKIE};
use crate::session::{random_token, same_token, Pending};
use crate::web::{facts, failure, forbidden, message, redirect, render, with_cookie, ClientAddr, CsrfForm, Shared};
use crate::Console;

/// What every failed sign-in says, whatever failed (unknown name, wrong password or code,
/// too many attempts), so that the page tells an attacker nothing.
const INCORRECT: &str = "Your authentication information is incorrect. Please try again.";

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
    /// The options for the browser's passkey request (JSON), when the identity has keys.
    security_key: Option<&'a str>,
    recovery_codes: bool,
    reason: &'a str,
    csrf: &'a str,
    error: Option<&'a str>,
}

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
    attempt(&c, pending, None, facts(&headers, &remote), cookie(&headers, SESSION_COOKIE)).await
}

/// The second step's forms: a code from an app, a passkey's answer, or a recovery code.
#[derive(Deserialize)]
pub struct MfaForm {
    #[serde(default)]
    csrf: String,
    mfa_code: Option<String>,
    mfa_serial: Option<String>,
    security_key_response: Option<String>,
    recovery_code: Option<String>,
}

/// A second factor as a form gave it.
enum Factor {
    Code(String, Option<String>),
    SecurityKey(String),
    Recovery(String),
}

/// The pending sign-in a step's form belongs to (its cookie and CSRF token must agree).
async fn pending(c: &Console, headers: &HeaderMap, csrf: &str) -> Option<Pending> {
    let id = cookie(headers, PENDING_COOKIE)?;
    let p = c.sessions.take_pending(id, c.now()).await?;
    same_token(&p.csrf, csrf).then_some(p)
}

pub async fn sign_in_mfa(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Form(f): Form<MfaForm>) -> Response {
    let Some(p) = pending(&c, &headers, &f.csrf).await else {
        return sign_in_form(StatusCode::UNAUTHORIZED, SignInStep::Choose, "", "", Some(INCORRECT));
    };
    let factor = match (f.security_key_response, f.recovery_code, f.mfa_code) {
        (Some(response), _, _) if !response.is_empty() => Factor::SecurityKey(response),
        (_, Some(code), _) if !code.trim().is_empty() => Factor::Recovery(code.trim().to_owned()),
        (_, _, code) => Factor::Code(code.unwrap_or_default().trim().to_owned(), f.mfa_serial),
    };
    attempt(&c, p, Some(factor), facts(&headers, &remote), cookie(&headers, SESSION_COOKIE)).await
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
    let Some(mut p) = pending(&c, &headers, &f.csrf).await else {
        return sign_in_form(StatusCode::UNAUTHORIZED, SignInStep::Choose, "", "", Some(INCORRECT));
    };
    if f.new_password != f.confirm_password {
        return next_step(&c, p, false, "Choose a new password.", Some("The new passwords do not match.")).await;
    }
    p.new_password = Some(f.new_password);
    attempt(&c, p, None, facts(&headers, &remote), cookie(&headers, SESSION_COOKIE)).await
}

/// Renders the MFA or new-password step for a pending sign-in, under a new id and token.
async fn next_step(c: &Console, mut p: Pending, mfa: bool, reason: &str, error: Option<&str>) -> Response {
    let Some(csrf) = random_token() else { return failure() };
    p.csrf = csrf.clone();
    let devices = p.mfa_devices.clone();
    let security_key = p.security_key.as_ref().map(|(options, _)| options.clone());
    let recovery_codes = p.recovery_codes;
    let Some(id) = c.sessions.put_pending(p, c.now()).await else { return failure() };
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let page = NextStepPage { mfa, devices: &devices, security_key: security_key.as_deref(), recovery_codes, reason, csrf: &csrf, error };
    let page = render(status, &page);
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
async fn attempt(c: &Console, p: Pending, factor: Option<Factor>, facts: RequestFacts, previous: Option<&str>) -> Response {
    let identity = match (&p.root_email, &p.account, &p.user_name) {
        (Some(email), _, _) => SignInIdentity::Root { email },
        (None, Some(account), Some(user_name)) => SignInIdentity::User { account, user_name },
        _ => return incorrect(&p),
    };
    let second_factor = match &factor {
        None => None,
        Some(Factor::Code(code, serial)) => Some(SecondFactor::Code { code, serial: serial.as_deref() }),
        Some(Factor::Recovery(code)) => Some(SecondFactor::RecoveryCode(code)),
        Some(Factor::SecurityKey(response)) => match &p.security_key {
            Some((_, challenge)) => Some(SecondFactor::SecurityKey { challenge, response }),
            None => return incorrect(&p),
        },
    };
    let input = SignInInput { identity, password: &p.password, second_factor, new_password: p.new_password.as_deref() };
    let outcome = c.iam.console_sign_in(&input, facts.clone()).await;
    match outcome {
        Ok(SignInOutcome::SignedIn { account_id, arn, credentials, recovery_codes_left, .. }) => {
            // Whatever session the browser had ends: one browser, one identity.
            if let Some(old) = previous {
                c.sessions.end(old).await;
            }
            let Some(id) = c.sessions.start(&account_id, &arn, &credentials, c.now()).await else { return failure() };
            // A recovery code stood in for a lost device: on to replacing it.
            let to = if recovery_codes_left.is_some() { "/console/security-credentials?done=recovery" } else { "/console" };
            redirect(to, &[set_cookie(SESSION_COOKIE, &id), clear_cookie(PENDING_COOKIE), clear_cookie(SIGNIN_COOKIE)])
        }
        Ok(SignInOutcome::MfaRequired { devices, security_key, recovery_codes }) => {
            let error = factor.map(|_| INCORRECT);
            let mut p = p;
            p.mfa_devices = devices;
            p.security_key = security_key;
            p.recovery_codes = recovery_codes;
            p.at_mfa = true;
            next_step(c, p, true, "", error).await
        }
        Ok(SignInOutcome::PasswordChangeRequired { reason }) => {
            let text = match reason {
                portcullis_core::PasswordChangeReason::ResetRequired => "Your administrator requires you to choose a new password before you continue.",
                portcullis_core::PasswordChangeReason::Expired => "Your password has expired. Choose a new password to continue.",
            };
            next_step(c, p, false, text, None).await
        }
        // A wrong second factor: the step again, with a new challenge for the keys.
        Err(SignInError::InvalidMfaCode) if p.at_mfa => {
            let again = SignInInput { identity, password: &p.password, second_factor: None, new_password: p.new_password.as_deref() };
            match c.iam.console_sign_in(&again, facts).await {
                Ok(SignInOutcome::MfaRequired { devices, security_key, recovery_codes }) => {
                    let mut p = p;
                    p.mfa_devices = devices;
                    p.security_key = security_key;
                    p.recovery_codes = recovery_codes;
                    next_step(c, p, true, "", Some(INCORRECT)).await
                }
                _ => incorrect(&p),
            }
        }
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
            next_step(c, p, false, "Choose a new password.", Some(&text)).await
        }
        Err(e) => {
            tracing::error!(error = %e, "console sign-in failed");
            failure()
        }
    }
}

pub async fn sign_out(State(c): Shared, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    let Some(id) = cookie(&headers, SESSION_COOKIE) else { return redirect("/signin", &[]) };
    match c.sessions.touch(id, c.now()).await {
        Some(s) if same_token(&s.csrf, &f.csrf) => {
            c.sessions.end(id).await;
            redirect("/signin", &[clear_cookie(SESSION_COOKIE)])
        }
        Some(_) => forbidden(),
        None => redirect("/signin", &[clear_cookie(SESSION_COOKIE)]),
    }
}

