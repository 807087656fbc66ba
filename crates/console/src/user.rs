//! A user's page: summary, permissions, groups and security credentials, and managing its
//! access keys (create with a one-time secret, deactivate, activate, delete after asking).
//! Each part shows what the signed-in identity may read; each change is the API's operation.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_core::{IamError};
use portcullis_core::IamOperation as Op;
use portcullis_core::views::PrincipalKind;
use serde::Deserialize;

use crate::web::{listing, ConfirmPage, date, failure, message, redirect, render, signed_in, signed_in_form, ClientAddr, Shared};

pub struct KeyRow {
    id: String,
    status: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    name: &'a str,
    user_arn: &'a str,
    created: String,
    console: &'a str,
    boundary: Option<&'a str>,
    policies: Vec<(String, String)>,
    inline: Vec<String>,
    groups: Vec<String>,
    mfa: Vec<String>,
    keys: Vec<KeyRow>,
    notice: Option<&'a str>,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct UserQuery {
    done: Option<String>,
}


pub async fn user(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Path(name): Path<String>, Query(q): Query<UserQuery>) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let iam = &c.iam;
    let view = async {
        let auth = iam.authorize_iam(&caller, Op::GetUser, &[("UserName", &name)]).await?;
        iam.get_user(&auth, Some(&name)).await
    }
    .await;
    let view = match view {
        Ok(v) => v,
        Err(e @ (IamError::NoSuchEntity(_) | IamError::AccessDenied(_))) => return message(StatusCode::NOT_FOUND, "User not shown", &e.public_message()),
        Err(e) => {
            tracing::error!(error = %e, "reading a user failed");
            return failure();
        }
    };
    let console = match iam.authorize_iam(&caller, Op::GetLoginProfile, &[("UserName", &name)]).await {
        Ok(auth) => match iam.get_login_profile(&auth, &name).await {
            Ok((_, _, reset)) => if reset { "Enabled (a new password is required at next sign-in)" } else { "Enabled" },
            Err(IamError::NoSuchEntity(_)) => "Disabled",
            Err(_) => "Not shown",
        },
        Err(_) => "Not shown",
    };
    let policies = match iam.authorize_iam(&caller, Op::ListAttachedUserPolicies, &[("UserName", &name)]).await {
        Ok(auth) => iam.list_attached_policies(&auth, PrincipalKind::User, &name, None, &listing()).await.map(|p| p.items).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let inline = match iam.authorize_iam(&caller, Op::ListUserPolicies, &[("UserName", &name)]).await {
        Ok(auth) => iam.list_inline_policies(&auth, PrincipalKind::User, &name, &listing()).await.map(|p| p.items).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let groups = match iam.authorize_iam(&caller, Op::ListGroupsForUser, &[("UserName", &name)]).await {
        Ok(auth) => iam.list_groups_for_user(&auth, &name, &listing()).await.map(|p| p.items.into_iter().map(|g| g.name).collect()).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let mfa = match iam.authorize_iam(&caller, Op::ListMFADevices, &[("UserName", &name)]).await {
        Ok(auth) => iam.list_mfa_devices(&auth, Some(&name), &listing()).await.map(|p| p.items.into_iter().map(|(_, s, _)| s).collect()).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let mut keys = Vec::new();
    if let Ok(auth) = iam.authorize_iam(&caller, Op::ListAccessKeys, &[("UserName", &name)]).await {
        for (_, k) in iam.list_access_keys(&auth, Some(&name), &listing()).await.map(|p| p.items).unwrap_or_default() {
            let last_used = match iam.authorize_iam(&caller, Op::GetAccessKeyLastUsed, &[("AccessKeyId", &k.access_key_id)]).await {
                Ok(auth) => match iam.access_key_last_used(&auth, &k.access_key_id).await {
                    Ok(u) => u.last_used_at.map_or_else(|| "Never".to_owned(), |t| format!("{} ({} in {})", date(t), u.service, u.region)),
                    Err(_) => "—".to_owned(),
                },
                Err(_) => "—".to_owned(),
            };
            keys.push(KeyRow { id: k.access_key_id, status: k.status.to_string(), created: date(k.created_at), last_used });
        }
    }
    let notice = match q.done.as_deref() {
        Some("deactivate") => Some("Access key deactivated."),
        Some("activate") => Some("Access key activated."),
        Some("delete") => Some("Access key deleted."),
        _ => None,
    };
    let page = UserPage {
        arn: &session.arn,
        csrf: &session.csrf,
        name: &view.user.name,
        user_arn: &view.arn,
        created: date(view.user.created_at),
        console,
        boundary: view.user.permissions_boundary.as_deref(),
        policies,
        inline,
        groups,
        mfa,
        keys,
        notice,
        error: None,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "access_key_created.html")]
struct KeyCreatedPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    name: &'a str,
    key_id: &'a str,
    secret: &'a str,
}

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    op: String,
    confirmed: Option<String>,
}

/// `POST /console/user/NAME/keys`: CreateAccessKey, UpdateAccessKey or DeleteAccessKey
/// (which asks first).
pub async fn keys(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Path(name): Path<String>, axum::Form(f): axum::Form<KeyForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let iam = &c.iam;
    let back = format!("/console/user/{}", form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>());
    let op = match f.op.as_str() {
        "create" => Op::CreateAccessKey,
        "deactivate" | "activate" => Op::UpdateAccessKey,
        "delete" => Op::DeleteAccessKey,
        _ => return message(StatusCode::BAD_REQUEST, "Unknown request", "The form asked for something this page does not do."),
    };
    if f.op == "delete" && f.confirmed.is_none() {
        let text = format!("Delete access key {} of {name}? Programs that use it will stop working. This cannot be undone.", f.key);
        let keys_url = format!("{back}/keys");
        let page = ConfirmPage {
            arn: &session.arn,
            csrf: &session.csrf,
            title: "Delete access key",
            text: &text,
            action: &keys_url,
            fields: vec![("key", &f.key), ("op", "delete")],
            button: "Delete",
            back: &back,
        };
        return render(StatusCode::OK, &page);
    }
    let checked = if f.op == "create" { c.validate("CreateAccessKey", &[("UserName", &name)]) } else { c.validate("DeleteAccessKey", &[("UserName", &name), ("AccessKeyId", &f.key)]) };
    let auth = match checked {
        Ok(()) => iam.authorize_iam(&caller, op, &[("UserName", &name)]).await,
        Err(e) => Err(e),
    };
    let outcome = match auth {
        Ok(auth) => match f.op.as_str() {
            "create" => match iam.create_access_key(&auth, Some(&name)).await {
                Ok(k) => {
                    let csv = format!("Access key ID,Secret access key\n{},{}\n", k.access_key_id, k.secret_access_key);
                    c.sessions.put_one_time(&session.id, csv, c.now()).await;
                    let page = KeyCreatedPage { arn: &session.arn, csrf: &session.csrf, name: &name, key_id: &k.access_key_id, secret: &k.secret_access_key };
                    return render(StatusCode::OK, &page);
                }
                Err(e) => Err(e),
            },
            "delete" => iam.delete_access_key(&auth, Some(&name), &f.key).await,
            op => iam.update_access_key(&auth, Some(&name), &f.key, if op == "activate" { portcullis_types::KeyStatus::Active } else { portcullis_types::KeyStatus::Inactive }).await,
        },
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {
            iam.invalidate_authorization_cache();
            redirect(&format!("{back}?done={}", f.op), &[])
        }
        Err(IamError::ServiceFailure(e)) => {
            tracing::error!(error = %e, "changing an access key failed");
            failure()
        }
        Err(e) => message(StatusCode::BAD_REQUEST, "The access key was not changed", &e.public_message()),
    }
}
