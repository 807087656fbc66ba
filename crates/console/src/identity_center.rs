//! The IAM Identity Center page: Enable (with an organization when the account has none),
//! then the tutorial's steps: users (an e-mail invitation or a one-time password), groups
//! with members, permission sets from AWS-managed policies, and assignments to the
//! organization's accounts. Everything goes through the Organizations, identitystore and
//! sso-admin operations as the signed-in identity.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_core::{AccountAssignmentInput, AuthzRequest, Caller, UsersWithoutMfa, IamError, IdentityStoreOperation as IdOp, OrganizationsOperation as OrgOp, PermissionSetInput, SsoAdminOperation as AdminOp};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::session::SessionView;
use crate::web::{failure, render, signed_in, signed_in_form, ClientAddr, Shared};
use crate::Console;

struct InstanceView {
    arn: String,
    store_id: String,
    portal_url: String,
    /// The "Users without MFA" setting.
    users_without_mfa: &'static str,
    /// (user id, user name, display name, e-mail)
    users: Vec<(String, String, String, String)>,
    /// (group id, name)
    groups: Vec<(String, String)>,
    /// (ARN, name, session duration)
    permission_sets: Vec<(String, String, String)>,
    /// (account id, name)
    accounts: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "identity_center.html")]
struct IdentityCenterPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    instance: Option<InstanceView>,
    notice: Option<String>,
    error: Option<String>,
}

fn text(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_owned()
}

/// The caller's instance: (ARN, identity store id).
async fn instance_of(c: &Console, caller: &Caller) -> Option<(String, String)> {
    let auth = c.iam.authorize_spec(caller, &AdminOp::ListInstances.spec(), &[]).await.ok()?;
    let first = c.iam.list_sso_instances(&auth).await.ok()?.into_iter().next()?;
    Some((text(&first, "InstanceArn"), text(&first, "IdentityStoreId")))
}

async fn load(c: &Console, caller: &Caller) -> Result<Option<InstanceView>, IamError> {
    let Some((arn, store_id)) = instance_of(c, caller).await else { return Ok(None) };
    let store = [("IdentityStoreId", store_id.as_str())];
    let auth = c.iam.authorize_spec(caller, &IdOp::ListUsers.spec(), &store).await?;
    let users = c.iam.list_directory_users(&auth, &store_id, &[], None, Some(100)).await?.items;
    let users = users
        .iter()
        .map(|u| (text(u, "UserId"), text(u, "UserName"), text(u, "DisplayName"), u["Emails"][0]["Value"].as_str().unwrap_or_default().to_owned()))
        .collect();
    let auth = c.iam.authorize_spec(caller, &IdOp::ListGroups.spec(), &store).await?;
    let groups = c.iam.list_directory_groups(&auth, &store_id, &[], None, Some(100)).await?.items.iter().map(|g| (text(g, "GroupId"), text(g, "DisplayName"))).collect();
    let instance = [("InstanceArn", arn.as_str())];
    let auth = c.iam.authorize_spec(caller, &AdminOp::ListPermissionSets.spec(), &instance).await?;
    let mut permission_sets = Vec::new();
    for ps in c.iam.list_permission_sets(&auth, &arn, None, Some(100)).await?.items {
        let ps_arn = ps.as_str().unwrap_or_default().to_owned();
        let d = c.iam.describe_permission_set(&auth, &arn, &ps_arn).await?;
        permission_sets.push((ps_arn, text(&d, "Name"), text(&d, "SessionDuration")));
    }
    let accounts = match c.iam.authorize_spec(caller, &OrgOp::ListAccounts.spec(), &[]).await {
        Ok(auth) => c.iam.list_accounts(&auth, None, None, Some(20)).await.map(|p| p.items.into_iter().map(|a| (a.id, a.name)).collect()).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let users_without_mfa = c.iam.portal_mfa_setting(&auth, &store_id).await?.as_str();
    Ok(Some(InstanceView { portal_url: c.iam.portal_url(&store_id), users_without_mfa, arn, store_id, users, groups, permission_sets, accounts }))
}

async fn page(c: &Console, session: &SessionView, caller: &Caller, notice: Option<String>, error: Option<String>) -> Response {
    match load(c, caller).await {
        Ok(instance) => {
            let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
            render(status, &IdentityCenterPage { arn: &session.arn, csrf: &session.csrf, instance, notice, error })
        }
        Err(IamError::AccessDenied(m)) => render(StatusCode::FORBIDDEN, &IdentityCenterPage { arn: &session.arn, csrf: &session.csrf, instance: None, notice: None, error: Some(m) }),
        Err(e) => {
            tracing::error!(error = %e, "the Identity Center page failed");
            failure()
        }
    }
}

pub async fn identity_center(State(c): Shared, headers: HeaderMap, remote: ClientAddr) -> Response {
    match signed_in(&c, &headers, &remote).await {
        Ok((session, caller)) => page(&c, &session, &caller, None, None).await,
        Err(answer) => answer,
    }
}

/// Back to the page with what happened: a notice, or why it was refused.
async fn outcome(c: &Console, session: &SessionView, caller: &Caller, result: Result<String, IamError>) -> Response {
    match result {
        Ok(notice) => page(c, session, caller, Some(notice), None).await,
        Err(IamError::ServiceFailure(e)) => {
            tracing::error!(error = %e, "an Identity Center change failed");
            failure()
        }
        Err(e) => page(c, session, caller, None, Some(e.public_message())).await,
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// `POST /console/identity-center/enable`: an organization when there is none, then the
/// organization's instance.
pub async fn enable(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<CsrfOnly>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let result = async {
        let auth = c.iam.authorize_spec(&caller, &OrgOp::DescribeOrganization.spec(), &[]).await?;
        if c.iam.describe_organization(&auth).await.is_err() {
            let auth = c.iam.authorize_spec(&caller, &OrgOp::CreateOrganization.spec(), &[]).await?;
            c.iam.create_organization(&auth, None).await?;
        }
        let auth = c.iam.authorize_spec(&caller, &AdminOp::CreateInstance.spec(), &[]).await?;
        c.iam.create_sso_instance(&auth, None, &[]).await?;
        c.iam.invalidate_authorization_cache();
        Ok("IAM Identity Center is enabled.".to_owned())
    }
    .await;
    outcome(&c, &session, &caller, result).await
}

#[derive(Deserialize)]
pub struct UserForm {
    csrf: String,
    user_name: String,
    email: String,
    given_name: String,
    family_name: String,
    display_name: String,
    password: String,
}

pub async fn add_user(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<UserForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let result = async {
        let (_, store_id) = instance_of(&c, &caller).await.ok_or_else(|| IamError::Validation("Enable IAM Identity Center first.".to_owned()))?;
        let store = [("IdentityStoreId", store_id.as_str())];
        let auth = c.iam.authorize_spec(&caller, &IdOp::CreateUser.spec(), &store).await?;
        let input = json!({
            "UserName": f.user_name.trim(), "DisplayName": f.display_name.trim(),
            "Name": {"GivenName": f.given_name.trim(), "FamilyName": f.family_name.trim()},
            "Emails": [{"Value": f.email.trim(), "Type": "work", "Primary": true}],
        });
        let created = c.iam.create_directory_user(&auth, &store_id, &input).await?;
        let user_id = text(&created, "UserId");
        let auth = c.iam.authorize_spec(&caller, &IdOp::UpdateUser.spec(), &store).await?;
        if f.password == "otp" {
            let password = c.iam.directory_one_time_password(&auth, &store_id, &user_id).await?;
            Ok(format!("User {} added. One-time password (shown only now): {password}", f.user_name.trim()))
        } else {
            let to = c.iam.invite_directory_user(&auth, &store_id, &user_id).await?;
            Ok(format!("User {} added. An invitation was sent to {to}.", f.user_name.trim()))
        }
    }
    .await;
    outcome(&c, &session, &caller, result).await
}

#[derive(Deserialize)]
pub struct MfaSettingsForm {
    csrf: String,
    users_without_mfa: String,
}

/// `POST /console/identity-center/mfa-settings`: what the portal does with users who have no
/// MFA device.
pub async fn mfa_settings(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<MfaSettingsForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let result = async {
        let (_, store_id) = instance_of(&c, &caller).await.ok_or_else(|| IamError::Validation("Enable IAM Identity Center first.".to_owned()))?;
        let setting = UsersWithoutMfa::parse(&f.users_without_mfa).ok_or_else(|| IamError::Validation("Choose one of the MFA settings.".to_owned()))?;
        let request = AuthzRequest::new("sso:PutMfaDeviceManagementForDirectory", format!("arn:aws:identitystore::{}:identitystore/{store_id}", caller.account_id));
        let auth = c.iam.authorize(&caller, &request).await?;
        c.iam.set_portal_mfa_setting(&auth, &store_id, setting).await?;
        Ok("MFA settings saved.".to_owned())
    }
    .await;
    outcome(&c, &session, &caller, result).await
}

#[derive(Deserialize)]
pub struct OneTimePasswordForm {
    csrf: String,
    user_id: String,
}

pub async fn one_time_password(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<OneTimePasswordForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let result = async {
        let (_, store_id) = instance_of(&c, &caller).await.ok_or_else(|| IamError::Validation("Enable IAM Identity Center first.".to_owned()))?;
        let auth = c.iam.authorize_spec(&caller, &IdOp::UpdateUser.spec(), &[("IdentityStoreId", store_id.as_str())]).await?;
        let password = c.iam.directory_one_time_password(&auth, &store_id, &f.user_id).await?;
        Ok(format!("One-time password (shown only now): {password}"))
    }
    .await;
    outcome(&c, &session, &caller, result).await
}

#[derive(Deserialize)]
pub struct GroupForm {
    csrf: String,
    group_name: String,
    #[serde(default)]
    members: String,
}

pub async fn create_group(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<GroupForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let result = async {
        let (_, store_id) = instance_of(&c, &caller).await.ok_or_else(|| IamError::Validation("Enable IAM Identity Center first.".to_owned()))?;
        let store = [("IdentityStoreId", store_id.as_str())];
        let auth = c.iam.authorize_spec(&caller, &IdOp::CreateGroup.spec(), &store).await?;
        let group = text(&c.iam.create_directory_group(&auth, &store_id, Some(f.group_name.trim()), None).await?, "GroupId");
        let auth = c.iam.authorize_spec(&caller, &IdOp::CreateGroupMembership.spec(), &store).await?;
        for name in f.members.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let id = c.iam.directory_user_id(&auth, &store_id, &json!({"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": name}})).await?;
            c.iam.create_group_membership(&auth, &store_id, &group, &text(&id, "UserId")).await?;
        }
        Ok(format!("Group {} created.", f.group_name.trim()))
    }
    .await;
    outcome(&c, &session, &caller, result).await
}

#[derive(Deserialize)]
pub struct PermissionSetForm {
    csrf: String,
    managed_policy: String,
    session_duration: String,
}

pub async fn create_permission_set(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<PermissionSetForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let result = async {
        let (arn, _) = instance_of(&c, &caller).await.ok_or_else(|| IamError::Validation("Enable IAM Identity Center first.".to_owned()))?;
        let policy = match f.managed_policy.as_str() {
            "Billing" | "ViewOnlyAccess" => format!("arn:aws:iam::aws:policy/job-function/{}", f.managed_policy),
            other => format!("arn:aws:iam::aws:policy/{other}"),
        };
        let auth = c.iam.authorize_spec(&caller, &AdminOp::CreatePermissionSet.spec(), &[("InstanceArn", arn.as_str())]).await?;
        let input = PermissionSetInput { name: Some(&f.managed_policy), session_duration: Some(&f.session_duration), ..Default::default() };
        let ps = text(&c.iam.create_permission_set(&auth, &arn, &input).await?, "PermissionSetArn");
        let auth = c.iam.authorize_spec(&caller, &AdminOp::AttachManagedPolicyToPermissionSet.spec(), &[("PermissionSetArn", ps.as_str())]).await?;
        c.iam.attach_managed_policy_to_permission_set(&auth, &arn, &ps, &policy).await?;
        Ok(format!("Permission set {} created.", f.managed_policy))
    }
    .await;
    outcome(&c, &session, &caller, result).await
}

#[derive(Deserialize)]
pub struct AssignmentForm {
    csrf: String,
    account_id: String,
    principal: String,
    permission_set: String,
}

pub async fn assign(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<AssignmentForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let result = async {
        let (arn, _) = instance_of(&c, &caller).await.ok_or_else(|| IamError::Validation("Enable IAM Identity Center first.".to_owned()))?;
        let (principal_type, principal_id) = f.principal.split_once(':').ok_or_else(|| IamError::Validation("Choose a user or group.".to_owned()))?;
        let auth = c.iam.authorize_spec(&caller, &AdminOp::CreateAccountAssignment.spec(), &[("PermissionSetArn", f.permission_set.as_str())]).await?;
        let input = AccountAssignmentInput { instance_arn: &arn, target_id: &f.account_id, permission_set_arn: &f.permission_set, principal_type, principal_id };
        c.iam.create_account_assignment(&auth, &input).await?;
        c.iam.invalidate_authorization_cache();
        Ok(format!("Assigned in account {}.", f.account_id))
    }
    .await;
    outcome(&c, &session, &caller, result).await
}
