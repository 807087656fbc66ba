//! Security credentials: the signed-in identity's own MFA devices, and assigning an
//! authenticator app (QR code or secret key, two consecutive codes).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use portcullis_core::{Caller, IamError, RecoveryCodeStatus};
use portcullis_core::IamOperation as Op;
use serde::Deserialize;

use crate::session::SessionView;
use crate::users::authorize_self;
use crate::web::{ConfirmPage, date, failure, redirect, render, signed_in, signed_in_form, ClientAddr, MessagePage, Shared};

#[derive(Template)]
#[template(path = "security_credentials.html")]
struct SecurityCredentialsPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    /// The signed-in IAM user's name (the root user has no console-password form here).
    user_name: Option<&'a str>,
    devices: Option<Vec<(String, String)>>,
    recovery: RecoveryCodeStatus,
    recovery_last_used: Option<String>,
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
    let notice = match q.done.as_deref() {
        Some("mfa") => Some("MFA device assigned. You will be asked for a code when you sign in."),
        Some("key") => Some("Passkey or security key registered. You will be asked for it when you sign in."),
        Some("recovery") => Some(
            "You signed in with a recovery code, which cannot be used again. Assign a new MFA device to replace the one you lost, then remove the lost one.",
        ),
        Some("mfa-removed") => Some("MFA device removed."),
        Some("password") => Some("Your password was changed."),
        Some("resync") => Some("MFA device resynchronized."),
        _ => None,
    };
    credentials_page(&c, &session, &caller, StatusCode::OK, notice, None).await
}

/// The Security credentials page with a notice or an error.
async fn credentials_page(c: &crate::Console, session: &SessionView, caller: &Caller, status: StatusCode, notice: Option<&str>, error: Option<&str>) -> Response {
    let devices = match c.iam.authorize_iam(caller, Op::ListMFADevices, &[]).await {
        Ok(auth) => match c.iam.list_mfa_devices(&auth, None, &portcullis_core::PageRequest::default()).await {
            Ok(page) => Some(page.items.into_iter().map(|(_, serial, enabled)| (serial, date(enabled))).collect()),
            Err(e) => {
                tracing::error!(error = %e, "listing MFA devices failed");
                return failure();
            }
        },
        Err(_) => None,
    };
    let user_name = caller.user().map(|u| u.name.as_str());
    let recovery = match recovery_status(&c.iam, caller).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let recovery_last_used = recovery.last_used.map(date);
    let page = SecurityCredentialsPage { arn: &session.arn, csrf: &session.csrf, notice, error, user_name, devices, recovery, recovery_last_used };
    render(status, &page)
}

#[derive(Deserialize)]
pub struct PasswordChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// `POST /console/security-credentials/password`: ChangePassword, allowed by the password
/// policy's AllowUsersToChangePassword or `iam:ChangePassword`, as through the API.
pub async fn change_password(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Form(f): Form<PasswordChangeForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    if f.new_password != f.confirm_password {
        return credentials_page(&c, &session, &caller, StatusCode::BAD_REQUEST, None, Some("The new passwords do not match.")).await;
    }
    let changed = async {
        c.validate("ChangePassword", &[("OldPassword", &f.current_password), ("NewPassword", &f.new_password)])?;
        let auth = c.iam.authorize_iam(&caller, Op::ChangePassword, &[]).await?;
        c.iam.change_password(&auth, &f.current_password, &f.new_password).await
    }
    .await;
    match changed {
        Ok(()) => redirect("/console/security-credentials?done=password", &[]),
        Err(IamError::ServiceFailure(e)) => {
            tracing::error!(error = %e, "changing a password failed");
            failure()
        }
        Err(e) => credentials_page(&c, &session, &caller, StatusCode::BAD_REQUEST, None, Some(&e.public_message())).await,
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    serial: String,
    confirmed: Option<String>,
}

/// `POST /console/mfa/remove`: DeactivateMFADevice then DeleteVirtualMFADevice, for the
/// signed-in identity's own device.
pub async fn remove_mfa(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Form(f): Form<RemoveForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    if f.confirmed.is_none() {
        let text = format!("Remove {} ? Signing in will no longer ask for its codes until another device is assigned.", f.serial);
        let page = ConfirmPage {
            arn: &session.arn,
            csrf: &session.csrf,
            title: "Remove MFA device",
            text: &text,
            action: "/console/mfa/remove",
            fields: vec![("serial", &f.serial)],
            button: "Remove",
            back: "/console/security-credentials",
        };
        return render(StatusCode::OK, &page);
    }
    let iam = &c.iam;
    let own = caller.user().map(|u| u.name.clone());
    let removed = match c.validate("DeactivateMFADevice", &[("SerialNumber", &f.serial)]) {
        Err(e) => Err(e),
        Ok(()) => match authorize_self(iam, &caller, Op::DeactivateMFADevice).await {
        Ok(auth) => match iam.deactivate_mfa_device(&auth, own.as_deref(), &f.serial).await {
            // A security key is gone once deactivated; an app's device is deleted as well.
            Ok(()) if f.serial.contains(":u2f/") => Ok(()),
            Ok(()) => async {
                let auth = iam.authorize_iam(&caller, Op::DeleteVirtualMFADevice, &[("SerialNumber", &f.serial)]).await?;
                iam.delete_virtual_mfa_device(&auth, &f.serial).await
            }
            .await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
        },
    };
    match removed {
        Ok(()) => {
            iam.invalidate_authorization_cache();
            redirect("/console/security-credentials?done=mfa-removed", &[])
        }
        Err(IamError::ServiceFailure(e)) => {
            tracing::error!(error = %e, "removing an MFA device failed");
            failure()
        }
        Err(e) => credentials_page(&c, &session, &caller, StatusCode::BAD_REQUEST, None, Some(&e.public_message())).await,
    }
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
    /// Registering a passkey: the options for the browser (JSON).
    key_options: Option<String>,
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
    render(StatusCode::OK, &AssignMfaPage { arn: &session.arn, csrf: &session.csrf, suggested_name: &name, device: None, key_options: None, error: None })
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    device_name: String,
    /// `app` (an authenticator app) or `key` (a passkey or security key).
    kind: Option<String>,
}

pub async fn assign_mfa(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Form(f): Form<AssignForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let name = f.device_name.trim();
    let again = |error: &str| {
        let page = AssignMfaPage { arn: &session.arn, csrf: &session.csrf, suggested_name: name, device: None, key_options: None, error: Some(error) };
        render(StatusCode::BAD_REQUEST, &page)
    };
    if f.kind.as_deref() == Some("key") {
        let started = async {
            c.validate("CreateVirtualMFADevice", &[("VirtualMFADeviceName", name)])?;
            c.iam.start_security_key_registration(&caller, name).await
        }
        .await;
        return match started {
            Ok((options, reg)) => {
                c.sessions.put_registration(&session.id, reg, c.now()).await;
                let page = AssignMfaPage { arn: &session.arn, csrf: &session.csrf, suggested_name: name, device: None, key_options: Some(options), error: None };
                render(StatusCode::OK, &page)
            }
            Err(IamError::ServiceFailure(e)) => {
                tracing::error!(error = %e, "starting a passkey registration failed");
                failure()
            }
            Err(e) => again(&e.public_message()),
        };
    }
    let created = async {
        c.validate("CreateVirtualMFADevice", &[("VirtualMFADeviceName", name)])?;
        let auth = c.iam.authorize_iam(&caller, Op::CreateVirtualMFADevice, &[("VirtualMFADeviceName", name)]).await?;
        c.iam.create_virtual_mfa_device(&auth, name, None, &[]).await
    }
    .await;
    match created {
        Ok(d) => {
            let device = NewDevice { serial: d.serial_number, base32_seed: d.base32_seed, qr_png_base64: d.qr_png_base64 };
            render(StatusCode::OK, &AssignMfaPage { arn: &session.arn, csrf: &session.csrf, suggested_name: name, device: Some(device), key_options: None, error: None })
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
        portcullis_core::Principal::User(u) => async {
            let auth = authorize_self(&c.iam, &caller, Op::EnableMFADevice).await?;
            c.iam.enable_mfa_device(&auth, &u.name, &f.serial, code1, code2).await
        }
        .await,
        portcullis_core::Principal::AssumedRole { .. } | portcullis_core::Principal::ProviderUser { .. } | portcullis_core::Principal::FederatedUser { .. } => {
            Err(IamError::AccessDenied("A role session has no MFA devices of its own.".to_owned()))
        }
    };
    match enabled {
        Ok(()) => {
            c.iam.invalidate_authorization_cache();
            after_first_device(&c, &caller, "mfa").await
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


#[derive(Template)]
#[template(path = "resync_mfa.html")]
struct ResyncPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    serial: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct SerialQuery {
    #[serde(default)]
    serial: String,
}

pub async fn resync_page(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Query(q): Query<SerialQuery>) -> Response {
    let (session, _) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    render(StatusCode::OK, &ResyncPage { arn: &session.arn, csrf: &session.csrf, serial: &q.serial, error: None })
}

/// `POST /console/mfa/resync`: ResyncMFADevice for the signed-in IAM user's own device.
pub async fn resync(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Form(f): Form<EnableForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let Some(user) = caller.user().map(|u| u.name.clone()) else {
        return render(StatusCode::BAD_REQUEST, &ResyncPage { arn: &session.arn, csrf: &session.csrf, serial: &f.serial, error: Some("Only IAM users resync their devices here.") });
    };
    let (code1, code2) = (f.code1.trim(), f.code2.trim());
    let done = async {
        c.validate("ResyncMFADevice", &[("UserName", &user), ("SerialNumber", &f.serial), ("AuthenticationCode1", code1), ("AuthenticationCode2", code2)])?;
        let auth = authorize_self(&c.iam, &caller, Op::ResyncMFADevice).await?;
        c.iam.resync_mfa_device(&auth, &user, &f.serial, code1, code2).await
    }
    .await;
    match done {
        Ok(()) => redirect("/console/security-credentials?done=resync", &[]),
        Err(IamError::ServiceFailure(e)) => {
            tracing::error!(error = %e, "resyncing an MFA device failed");
            failure()
        }
        Err(e) => render(StatusCode::BAD_REQUEST, &ResyncPage { arn: &session.arn, csrf: &session.csrf, serial: &f.serial, error: Some(&e.public_message()) }),
    }
}

/// Where to go once a device is enabled: the offer of recovery codes after the first one,
/// otherwise the security credentials page with `done`.
async fn after_first_device(c: &crate::Console, caller: &Caller, done: &str) -> Response {
    match c.iam.recovery_code_status(caller).await {
        Ok(status) if status.total == 0 => redirect(&format!("/console/mfa/recovery-codes?done={done}"), &[]),
        _ => redirect(&format!("/console/security-credentials?done={done}"), &[]),
    }
}

#[derive(Deserialize)]
pub struct EnableKeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    credential: String,
}

/// `POST /console/mfa/enable-key`: the browser's new passkey, for the registration this
/// session started.
pub async fn enable_key(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Form(f): Form<EnableKeyForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let not_registered = |text: &str| {
        let text = format!("{text} Start again from Assign MFA device.");
        let next = ("/console/mfa/assign", "Assign MFA device");
        render(StatusCode::BAD_REQUEST, &MessagePage { title: "The passkey or security key was not registered", text: &text, next })
    };
    let Some(reg) = c.sessions.take_registration(&session.id, c.now()).await else {
        return not_registered("The registration has expired.");
    };
    match c.iam.finish_security_key_registration(&caller, &reg, &f.credential).await {
        Ok(serial) => {
            tracing::info!(serial = %serial, "security key registered");
            c.iam.invalidate_authorization_cache();
            after_first_device(&c, &caller, "key").await
        }
        Err(IamError::ServiceFailure(e)) => {
            tracing::error!(error = %e, "registering a security key failed");
            failure()
        }
        Err(e) => not_registered(&e.public_message()),
    }
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    status: RecoveryCodeStatus,
    /// The new codes, shown once.
    codes: Option<Vec<String>>,
}

pub async fn recovery_codes_page(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Query(q): Query<NoticeQuery>) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let notice = match q.done.as_deref() {
        Some("mfa") => Some("MFA device assigned. Now create recovery codes, in case you lose it."),
        Some("key") => Some("Passkey or security key registered. Now create recovery codes, in case you lose it."),
        _ => None,
    };
    let status = match recovery_status(&c.iam, &caller).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    render(StatusCode::OK, &RecoveryCodesPage { arn: &session.arn, csrf: &session.csrf, notice, error: None, status, codes: None })
}

#[derive(Deserialize)]
pub struct RecoveryForm {
    #[serde(default)]
    csrf: String,
    replace: Option<String>,
    confirmed: Option<String>,
}

/// `POST /console/mfa/recovery-codes`: ten new codes, shown once (replacing old ones only
/// after confirmation).
pub async fn create_recovery_codes(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Form(f): Form<RecoveryForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let status = match recovery_status(&c.iam, &caller).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    if status.total > 0 && f.confirmed.is_none() {
        let text = format!("Create new recovery codes? Your {} unused codes stop working.", status.unused);
        let page = ConfirmPage {
            arn: &session.arn,
            csrf: &session.csrf,
            title: "Replace recovery codes",
            text: &text,
            action: "/console/mfa/recovery-codes",
            fields: vec![("replace", "1")],
            button: "Create new codes",
            back: "/console/mfa/recovery-codes",
        };
        return render(StatusCode::OK, &page);
    }
    let _ = f.replace;
    match c.iam.create_recovery_codes(&caller).await {
        Ok(codes) => {
            let status = RecoveryCodeStatus { unused: codes.len(), total: codes.len(), last_used: None };
            render(StatusCode::OK, &RecoveryCodesPage { arn: &session.arn, csrf: &session.csrf, notice: None, error: None, status, codes: Some(codes) })
        }
        Err(IamError::ServiceFailure(e)) => {
            tracing::error!(error = %e, "creating recovery codes failed");
            failure()
        }
        Err(e) => {
            let text = e.public_message();
            render(StatusCode::BAD_REQUEST, &RecoveryCodesPage { arn: &session.arn, csrf: &session.csrf, notice: None, error: Some(&text), status, codes: None })
        }
    }
}

/// The identity's recovery codes as the pages show them; `Err` is the failure page.
async fn recovery_status(iam: &portcullis_core::Iam, caller: &Caller) -> Result<RecoveryCodeStatus, Response> {
    iam.recovery_code_status(caller).await.map_err(|e| {
        tracing::error!(error = %e, "reading recovery codes failed");
        failure()
    })
}
