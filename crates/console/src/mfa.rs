//! Security credentials: the signed-in identity's own MFA devices, and assigning an
//! authenticator app (QR code or secret key, two consecutive codes).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use portcullis_core::{AuthzRequest, Caller, IamError};
use serde::Deserialize;

use crate::web::{date, failure, redirect, render, signed_in, signed_in_form, ClientAddr, MessagePage, Shared};

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
    let created = match c.validate("CreateVirtualMFADevice", &[("VirtualMFADeviceName", name)]) {
        Ok(()) => match c.iam.authorize(&caller, &AuthzRequest::new("iam:CreateVirtualMFADevice", arn)).await {
            Ok(auth) => c.iam.create_virtual_mfa_device(&auth, name, None, &[]).await,
            Err(e) => Err(e),
        },
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
    let checked = c.validate("EnableMFADevice", &[("UserName", "console"), ("SerialNumber", &f.serial), ("AuthenticationCode1", code1), ("AuthenticationCode2", code2)]);
    let enabled = match &caller.principal {
        _ if checked.is_err() => checked,
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
        Err(e @ (IamError::InvalidAuthenticationCode(_) | IamError::AccessDenied(_) | IamError::NoSuchEntity(_) | IamError::EntityAlreadyExists(_) | IamError::LimitExceeded(_) | IamError::Validation(_))) => {
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

