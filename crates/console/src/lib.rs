//! The web console: server-rendered pages on the same port as the APIs, a client of
//! `portcullis-core` like any other. Sign-in goes through `Iam::console_sign_in` (the same
//! password, MFA, password-policy and throttling rules as `/_portcullis/signin`), and every
//! page acts as the signed-in identity with the temporary credentials that sign-in issued,
//! through the same authorization as the API.
//!
//! Pages: `/signin` (root user by e-mail, then password; IAM user by account, name and
//! password; `/signin/ACCOUNT-OR-ALIAS` fills the account in), the MFA and new-password
//! steps, `/console` (the dashboard) and `POST /signout`. Templates are compiled into the
//! binary (askama); the stylesheet is embedded.

mod account;
mod account_settings;
mod dashboard;
mod groups;
mod identity_center;
mod mfa;
mod policies;
mod portal;
mod roles;
mod signin;
mod simulator;
mod user;
mod users;
mod web;
mod security;
mod session;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use portcullis_core::Iam;

pub use session::{ABSOLUTE_SECONDS, IDLE_SECONDS};

/// What every console handler shares.
pub struct Console {
    iam: Iam,
    sessions: session::Sessions,
    /// botocore's IAM model: the console's inputs are checked as the API's are.
    iam_model: portcullis_protocol::ServiceModel,
}

impl Console {
    fn now(&self) -> i64 {
        self.iam.clock().now().unix_timestamp()
    }

    /// Checks an operation's inputs against the IAM model, as the API does before running
    /// it; `Err` is AWS's ValidationError text.
    fn validate(&self, op: &str, params: &[(&str, &str)]) -> Result<(), portcullis_core::IamError> {
        let Some(spec) = self.iam_model.operation(op) else { return Ok(()) };
        let params = portcullis_protocol::QueryParams::from_pairs(params.iter().copied());
        self.iam_model.validate(spec, &params).map_err(|e| portcullis_core::IamError::Validation(e.message))
    }
}

/// The console's routes, with its security headers; merge into the server's router.
pub fn router(iam: Iam) -> Result<Router, String> {
    let iam_model = portcullis_protocol::ServiceModel::load_gz(portcullis_protocol::IAM_MODEL_GZ)?;
    let recorder = iam.clone();
    let console = Arc::new(Console { sessions: session::Sessions::new(iam.clone()), iam, iam_model });
    Ok(Router::new()
        .route("/console", get(dashboard::dashboard))
        .route("/start/{store}", get(portal::home))
        .route("/start/{store}/signin", post(portal::sign_in))
        .route("/start/{store}/signin/key", post(portal::sign_in_key))
        .route("/start/{store}/signout", post(portal::sign_out))
        .route("/start/{store}/credentials", get(portal::credentials))
        .route("/start/{store}/device", get(portal::device).post(portal::approve))
        .route("/start/{store}/invitation", get(portal::invitation).post(portal::accept_invitation))
        .route("/start/{store}/mfa", get(portal::mfa_page).post(portal::mfa_confirm))
        .route("/start/{store}/mfa/key", post(portal::mfa_key))
        .route("/start/{store}/console", post(portal::management_console))
        .route("/console/static/console.css", get(web::stylesheet))
        .route("/console/static/webauthn.js", get(web::webauthn_script))
        .route("/console/security-credentials", get(mfa::security_credentials))
        .route("/console/mfa/assign", get(mfa::assign_mfa_page).post(mfa::assign_mfa))
        .route("/console/mfa/enable", post(mfa::enable_mfa))
        .route("/console/mfa/enable-key", post(mfa::enable_key))
        .route("/console/mfa/recovery-codes", get(mfa::recovery_codes_page).post(mfa::create_recovery_codes))
        .route("/console/mfa/remove", post(mfa::remove_mfa))
        .route("/console/mfa/resync", get(mfa::resync_page).post(mfa::resync))
        .route("/console/security-credentials/password", post(mfa::change_password))
        .route("/console/users", get(users::users))
        .route("/console/users/create", get(users::create_user_page).post(users::create_user))
        .route("/console/users/credentials.csv", post(users::credentials_download))
        .route("/console/user/{name}", get(user::user))
        .route("/console/user/{name}/keys", post(user::keys))
        .route("/console/groups", get(groups::groups))
        .route("/console/groups/create", get(groups::create_group_page).post(groups::create_group))
        .route("/console/group/{name}", get(groups::group))
        .route("/console/group/{name}/users", post(groups::add_users))
        .route("/signin", get(signin::sign_in_page).post(signin::sign_in_password))
        .route("/signin/step/root", post(signin::sign_in_root_email))
        .route("/signin/step/mfa", post(signin::sign_in_mfa))
        .route("/signin/step/password", post(signin::sign_in_new_password))
        .route("/signin/{account}", get(signin::sign_in_account_page))
        .route("/signout", post(signin::sign_out))
        .route("/console/alias", post(dashboard::alias))
        .route("/console/roles", get(roles::roles))
        .route("/console/role/{name}", get(roles::role))
        .route("/console/policies", get(policies::policies))
        .route("/console/policies/create", get(policies::create_policy_page).post(policies::create_policy))
        .route("/console/policy", get(policies::policy).post(policies::save_policy))
        .route("/console/simulator", get(simulator::simulator_page).post(simulator::simulate))
        .route("/console/identity-center", get(identity_center::identity_center))
        .route("/console/identity-center/enable", post(identity_center::enable))
        .route("/console/identity-center/users", post(identity_center::add_user))
        .route("/console/identity-center/one-time-password", post(identity_center::one_time_password))
        .route("/console/identity-center/mfa-settings", post(identity_center::mfa_settings))
        .route("/console/identity-center/groups", post(identity_center::create_group))
        .route("/console/identity-center/permission-sets", post(identity_center::create_permission_set))
        .route("/console/identity-center/assignments", post(identity_center::assign))
        .route("/console/account", get(account::account))
        .route("/console/account/alternate-contact", post(account::alternate_contact))
        .route("/console/account/security-questions", post(account::security_questions))
        .route("/console/account/billing-access", post(account::billing_access))
        .route("/console/account/region", post(account::region))
        .route("/console/account-settings", get(account_settings::settings))
        .route("/console/account-settings/password-policy", post(account_settings::save_policy))
        .route("/console/credential-report.csv", post(account_settings::credential_report))
        .with_state(console)
        .layer(axum::middleware::from_fn(security::headers))
        // Every operation a page is authorized for goes to the audit trail, as the API's do.
        .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
            let iam = recorder.clone();
            async move { iam.record_console_calls(next.run(req)).await }
        })))
}
