//! User groups: the list, creating a group with permissions policies chosen from a search of
//! AWS-managed and the account's own policies, and a group's page with its policies and
//! members, where users are added. The same IAM operations as through the API, authorized
//! for the signed-in identity.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_core::{Caller, Iam, IamError, PolicyFilter};
use portcullis_core::IamOperation as Op;
use portcullis_core::views::PrincipalKind;
use serde::Deserialize;

use crate::web::{listing, date, failure, redirect, render, signed_in, signed_in_form, ClientAddr, Shared};

/// Policies a search shows at most.
const FOUND: usize = 50;

#[derive(Template)]
#[template(path = "groups.html")]
struct GroupsPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    notice: Option<&'a str>,
    groups: Option<Vec<(String, String)>>,
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    done: Option<String>,
}

pub async fn groups(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Query(q): Query<NoticeQuery>) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let groups = match c.iam.authorize_iam(&caller, Op::ListGroups, &[]).await {
        Ok(auth) => match c.iam.list_groups(&auth, None, &listing()).await {
            Ok(page) => Some(page.items.into_iter().map(|g| (g.name, date(g.created_at))).collect()),
            Err(e) => {
                tracing::error!(error = %e, "listing groups failed");
                return failure();
            }
        },
        Err(_) => None,
    };
    let notice = (q.done.as_deref() == Some("created")).then_some("User group created.".to_owned());
    render(StatusCode::OK, &GroupsPage { arn: &session.arn, csrf: &session.csrf, notice: notice.as_deref(), groups })
}

#[derive(Template)]
#[template(path = "create_group.html")]
struct CreateGroupPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    group_name: &'a str,
    policy_query: &'a str,
    chosen: &'a [String],
    /// (name, ARN, AWS managed) of the policies the search found.
    found: Option<Vec<(String, String, bool)>>,
    error: Option<&'a str>,
}

pub async fn create_group_page(State(c): Shared, headers: HeaderMap, remote: ClientAddr) -> Response {
    let (session, _) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let page = CreateGroupPage { arn: &session.arn, csrf: &session.csrf, group_name: "", policy_query: "", chosen: &[], found: None, error: None };
    render(StatusCode::OK, &page)
}

/// Policies whose names contain `query` (ignoring case), AWS-managed and the account's own,
/// as far as the caller may list policies.
async fn search_policies(iam: &Iam, caller: &Caller, query: &str) -> Result<Vec<(String, String, bool)>, IamError> {
    let auth = iam.authorize_iam(caller, Op::ListPolicies, &[]).await?;
    let wanted = query.trim().to_lowercase();
    let mut found = Vec::new();
    let mut page = listing();
    loop {
        let listed = iam.list_policies(&auth, &PolicyFilter::default(), &page).await?;
        for p in listed.items {
            if p.name.to_lowercase().contains(&wanted) && found.len() < FOUND {
                let aws = p.arn.starts_with("arn:aws:iam::aws:");
                found.push((p.name, p.arn, aws));
            }
        }
        match listed.marker {
            Some(m) if found.len() < FOUND => page.marker = Some(m),
            _ => break,
        }
    }
    Ok(found)
}

/// The create-group form (read with `form_urlencoded`: policies are a repeated field).
#[derive(Default)]
struct CreateGroupForm {
    csrf: String,
    group_name: String,
    policy_query: String,
    op: String,
    chosen: Vec<String>,
}

impl CreateGroupForm {
    fn parse(body: &[u8]) -> Self {
        let mut f = Self::default();
        for (k, v) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "csrf" => f.csrf = v.into_owned(),
                "group_name" => f.group_name = v.trim().to_owned(),
                "policy_query" => f.policy_query = v.into_owned(),
                "op" => f.op = v.into_owned(),
                "chosen" | "policy" if !f.chosen.contains(&v.to_string()) => f.chosen.push(v.into_owned()),
                _ => {}
            }
        }
        f
    }
}

pub async fn create_group(State(c): Shared, headers: HeaderMap, remote: ClientAddr, body: axum::body::Bytes) -> Response {
    let f = CreateGroupForm::parse(&body);
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let again = |found: Option<Vec<(String, String, bool)>>, error: Option<&str>| {
        let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        let page = CreateGroupPage {
            arn: &session.arn,
            csrf: &session.csrf,
            group_name: &f.group_name,
            policy_query: &f.policy_query,
            chosen: &f.chosen,
            found,
            error,
        };
        render(status, &page)
    };
    if f.op == "search" {
        return match search_policies(&c.iam, &caller, &f.policy_query).await {
            Ok(found) => again(Some(found), None),
            Err(e) => again(None, Some(&e.public_message())),
        };
    }
    let iam = &c.iam;
    let name = f.group_name.as_str();
    let created = async {
        c.validate("CreateGroup", &[("GroupName", name)])?;
        let auth = iam.authorize_iam(&caller, Op::CreateGroup, &[("GroupName", name)]).await?;
        iam.create_group(&auth, name, None).await.map(|_| ())
    }
    .await;
    if let Err(e) = created {
        return again(None, Some(&e.public_message()));
    }
    iam.invalidate_authorization_cache();
    for arn in &f.chosen {
        // As through the API, the policy being attached is a condition key of the request.
        let attached = async {
            c.validate("AttachGroupPolicy", &[("GroupName", name), ("PolicyArn", arn)])?;
            let auth = iam.authorize_iam(&caller, Op::AttachGroupPolicy, &[("GroupName", name), ("PolicyArn", arn)]).await?;
            iam.attach_policy(&auth, PrincipalKind::Group, name, arn).await
        }
        .await;
        if let Err(e) = attached {
            let message = format!("User group {name} was created, but {arn} was not attached: {}", e.public_message());
            return again(None, Some(&message));
        }
    }
    iam.invalidate_authorization_cache();
    redirect("/console/groups?done=created", &[])
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    name: &'a str,
    notice: Option<&'a str>,
    policies: Vec<(String, String)>,
    members: Vec<String>,
    /// Users not in the group, to add.
    others: Vec<String>,
}

#[derive(Deserialize)]
pub struct AddedQuery {
    done: Option<String>,
}

pub async fn group(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Path(name): Path<String>, Query(q): Query<AddedQuery>) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let iam = &c.iam;
    let members = async {
        let auth = iam.authorize_iam(&caller, Op::GetGroup, &[("GroupName", &name)]).await?;
        iam.get_group(&auth, &name, &listing()).await.map(|(_, users)| users.items.into_iter().map(|u| u.user.name).collect::<Vec<_>>())
    }
    .await;
    let members = match members {
        Ok(m) => m,
        Err(IamError::NoSuchEntity(_)) => return crate::web::message(StatusCode::NOT_FOUND, "No such user group", "There is no user group by that name."),
        Err(e) => return crate::web::message(StatusCode::FORBIDDEN, "Not allowed", &e.public_message()),
    };
    let policies = match iam.authorize_iam(&caller, Op::ListAttachedGroupPolicies, &[("GroupName", &name)]).await {
        Ok(auth) => iam.list_attached_policies(&auth, PrincipalKind::Group, &name, None, &listing()).await.map(|p| p.items).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let others = match iam.authorize_iam(&caller, Op::ListUsers, &[]).await {
        Ok(auth) => iam
            .list_users(&auth, None, &listing())
            .await
            .map(|p| p.items.into_iter().map(|u| u.user.name).filter(|u| !members.contains(u)).collect())
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    // Fixed texts only: words from the URL never reach the page.
    let notice = match q.done.as_deref() {
        Some("added") => Some(format!("Users added to {name}.")),
        Some("removed") => Some(format!("User removed from {name}.")),
        _ => None,
    };
    render(StatusCode::OK, &GroupPage { arn: &session.arn, csrf: &session.csrf, name: &name, notice: notice.as_deref(), policies, members, others })
}

/// `POST /console/group/NAME/users`: AddUserToGroup for each checked user, or
/// RemoveUserFromGroup for `remove`.
pub async fn add_users(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Path(name): Path<String>, body: axum::body::Bytes) -> Response {
    let mut csrf = String::new();
    let mut users = Vec::new();
    let mut remove = None;
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "user" => users.push(v.into_owned()),
            "remove" => remove = Some(v.into_owned()),
            _ => {}
        }
    }
    let (_, caller) = match signed_in_form(&c, &headers, &remote, &csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let iam = &c.iam;
    if let Some(user) = remove {
        let removed = async {
            c.validate("RemoveUserFromGroup", &[("GroupName", &name), ("UserName", &user)])?;
            let auth = iam.authorize_iam(&caller, Op::RemoveUserFromGroup, &[("GroupName", &name)]).await?;
            iam.remove_user_from_group(&auth, &name, &user).await
        }
        .await;
        return match removed {
            Ok(()) => {
                iam.invalidate_authorization_cache();
                redirect(&format!("/console/group/{}?done=removed", query_value(&name)), &[])
            }
            Err(e) => crate::web::message(StatusCode::FORBIDDEN, "The user was not removed", &e.public_message()),
        };
    }
    for user in &users {
        let added = async {
            c.validate("AddUserToGroup", &[("GroupName", &name), ("UserName", user)])?;
            let auth = iam.authorize_iam(&caller, Op::AddUserToGroup, &[("GroupName", &name)]).await?;
            iam.add_user_to_group(&auth, &name, user).await
        }
        .await;
        if let Err(e) = added {
            return crate::web::message(StatusCode::FORBIDDEN, "Users were not added", &e.public_message());
        }
    }
    iam.invalidate_authorization_cache();
    redirect(&format!("/console/group/{}?done=added", query_value(&name)), &[])
}

/// Percent-encodes a value for a URL built here.
fn query_value(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}
