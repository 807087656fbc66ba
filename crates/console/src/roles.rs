//! Roles: the list and a role's page (trust policy, permissions, maximum session duration),
//! as far as the signed-in identity may read them.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_core::{IamError};
use portcullis_core::IamOperation as Op;
use portcullis_core::views::PrincipalKind;

use crate::web::{listing, date, failure, message, render, signed_in, ClientAddr, Shared};


#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    roles: Option<Vec<(String, String, String)>>,
}

pub async fn roles(State(c): Shared, headers: HeaderMap, remote: ClientAddr) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let roles = match c.iam.authorize_iam(&caller, Op::ListRoles, &[]).await {
        Ok(auth) => match c.iam.list_roles(&auth, None, &listing()).await {
            Ok(page) => Some(
                page.items
                    .into_iter()
                    .map(|r| (r.role.name, r.role.description.unwrap_or_default(), date(r.role.created_at)))
                    .collect(),
            ),
            Err(e) => {
                tracing::error!(error = %e, "listing roles failed");
                return failure();
            }
        },
        Err(_) => None,
    };
    render(StatusCode::OK, &RolesPage { arn: &session.arn, csrf: &session.csrf, roles })
}

#[derive(Template)]
#[template(path = "role.html")]
struct RolePage<'a> {
    arn: &'a str,
    csrf: &'a str,
    name: &'a str,
    role_arn: &'a str,
    description: &'a str,
    max_session: String,
    boundary: Option<&'a str>,
    policies: Vec<(String, String)>,
    inline: Vec<String>,
    trust: String,
}

pub async fn role(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Path(name): Path<String>) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let iam = &c.iam;
    let view = async {
        let auth = iam.authorize_iam(&caller, Op::GetRole, &[("RoleName", &name)]).await?;
        iam.get_role(&auth, &name).await
    }
    .await;
    let view = match view {
        Ok(v) => v,
        Err(e @ (IamError::NoSuchEntity(_) | IamError::AccessDenied(_))) => return message(StatusCode::NOT_FOUND, "Role not shown", &e.public_message()),
        Err(e) => {
            tracing::error!(error = %e, "reading a role failed");
            return failure();
        }
    };
    let policies = match iam.authorize_iam(&caller, Op::ListAttachedRolePolicies, &[("RoleName", &name)]).await {
        Ok(auth) => iam.list_attached_policies(&auth, PrincipalKind::Role, &name, None, &listing()).await.map(|p| p.items).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let inline = match iam.authorize_iam(&caller, Op::ListRolePolicies, &[("RoleName", &name)]).await {
        Ok(auth) => iam.list_inline_policies(&auth, PrincipalKind::Role, &name, &listing()).await.map(|p| p.items).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let trust = serde_json::from_str::<serde_json::Value>(&view.role.assume_role_policy)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| view.role.assume_role_policy.clone());
    let secs = view.role.max_session_duration;
    let max_session = if secs % 3600 == 0 { format!("{} hour(s)", secs / 3600) } else { format!("{secs} seconds") };
    let page = RolePage {
        arn: &session.arn,
        csrf: &session.csrf,
        name: &view.role.name,
        role_arn: &view.arn,
        description: view.role.description.as_deref().unwrap_or("—"),
        max_session,
        boundary: view.role.permissions_boundary.as_deref(),
        policies,
        inline,
        trust,
    };
    render(StatusCode::OK, &page)
}
