//! Policies: the list (AWS-managed and customer-managed, filtered and searched), a policy's
//! page with its document and versions, and creating a policy in a JSON editor that shows
//! AWS's validation messages (with the line and column of a JSON syntax error) before
//! saving. The same IAM operations as through the API, authorized for the signed-in
//! identity.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_core::{IamError, PageRequest, PolicyFilter};
use portcullis_core::IamOperation as Op;
use serde::Deserialize;

use crate::web::{listing, date, failure, message, redirect, render, signed_in, signed_in_form, ClientAddr, Shared};

/// Rows shown at most in the list.
const SHOWN: usize = 200;

#[derive(Template)]
#[template(path = "policies.html")]
struct PoliciesPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    query: &'a str,
    kind: &'a str,
    attached: bool,
    notice: Option<&'a str>,
    /// (name, ARN, AWS managed, attachment count).
    policies: Option<Vec<(String, String, bool, i64)>>,
    truncated: bool,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default, rename = "type")]
    kind: String,
    attached: Option<String>,
    done: Option<String>,
}

pub async fn policies(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Query(q): Query<ListQuery>) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let scope = match q.kind.as_str() {
        "aws" => Some("AWS"),
        "local" => Some("Local"),
        _ => None,
    };
    let filter = PolicyFilter { scope, only_attached: q.attached.is_some(), ..Default::default() };
    let wanted = q.q.trim().to_lowercase();
    let mut truncated = false;
    let policies = match c.iam.authorize_iam(&caller, Op::ListPolicies, &[]).await {
        Ok(auth) => {
            let mut found = Vec::new();
            let mut page = listing();
            loop {
                let listed = match c.iam.list_policies(&auth, &filter, &page).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!(error = %e, "listing policies failed");
                        return failure();
                    }
                };
                for p in listed.items.into_iter().filter(|p| p.name.to_lowercase().contains(&wanted)) {
                    if found.len() == SHOWN {
                        truncated = true;
                        break;
                    }
                    let aws = p.arn.starts_with("arn:aws:iam::aws:");
                    found.push((p.name, p.arn, aws, p.attachment_count));
                }
                match listed.marker {
                    Some(m) if !truncated => page.marker = Some(m),
                    _ => break,
                }
            }
            Some(found)
        }
        Err(_) => None,
    };
    let kind = match scope {
        Some("AWS") => "aws",
        Some(_) => "local",
        None => "all",
    };
    let notice = (q.done.as_deref() == Some("created")).then_some("Policy created.".to_owned());
    let page = PoliciesPage {
        arn: &session.arn,
        csrf: &session.csrf,
        query: q.q.trim(),
        kind,
        attached: q.attached.is_some(),
        notice: notice.as_deref(),
        policies,
        truncated,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    name: &'a str,
    policy_arn: &'a str,
    aws_managed: bool,
    description: Option<&'a str>,
    default_version: &'a str,
    attachments: i64,
    document: &'a str,
    /// (version, default, created).
    versions: Vec<(String, bool, String)>,
    notice: Option<&'a str>,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct ArnQuery {
    #[serde(default)]
    arn: String,
    done: Option<String>,
}

pub async fn policy(State(c): Shared, headers: HeaderMap, remote: ClientAddr, Query(q): Query<ArnQuery>) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let notice = (q.done.as_deref() == Some("saved")).then_some("Saved as a new default version.");
    policy_page(&c, &session, &caller, &q.arn, StatusCode::OK, notice, None, None).await
}

/// A policy's page, with a notice, or an error and the draft that caused it.
#[expect(clippy::too_many_arguments, reason = "the page, its status and its three optional parts")]
async fn policy_page(
    c: &crate::Console,
    session: &crate::session::SessionView,
    caller: &portcullis_core::Caller,
    arn: &str,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
    draft: Option<&str>,
) -> Response {
    let q = ArnQuery { arn: arn.to_owned(), done: None };
    let iam = &c.iam;
    let view = async {
        let auth = iam.authorize_iam(caller, Op::GetPolicy, &[("PolicyArn", &q.arn)]).await?;
        iam.get_policy(&auth, &q.arn).await
    }
    .await;
    let view = match view {
        Ok(v) => v,
        Err(e @ (IamError::NoSuchEntity(_) | IamError::AccessDenied(_) | IamError::InvalidInput(_))) => {
            return message(StatusCode::NOT_FOUND, "Policy not shown", &e.public_message())
        }
        Err(e) => {
            tracing::error!(error = %e, "reading a policy failed");
            return failure();
        }
    };
    let document = match iam.authorize_iam(caller, Op::GetPolicyVersion, &[("PolicyArn", &q.arn)]).await {
        Ok(auth) => match iam.get_policy_version(&auth, &q.arn, &view.default_version).await {
            Ok((v, _)) => pretty(&v.document),
            Err(e) => e.public_message(),
        },
        Err(e) => e.public_message(),
    };
    let versions = match iam.authorize_iam(caller, Op::ListPolicyVersions, &[("PolicyArn", &q.arn)]).await {
        Ok(auth) => iam
            .list_policy_versions(&auth, &q.arn, &PageRequest::default())
            .await
            .map(|p| p.items.into_iter().map(|(v, default)| (v.version_id, default, date(v.created_at))).collect())
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let page = PolicyPage {
        arn: &session.arn,
        csrf: &session.csrf,
        name: &view.name,
        policy_arn: &view.arn,
        aws_managed: view.arn.starts_with("arn:aws:iam::aws:"),
        description: view.description.as_deref(),
        default_version: &view.default_version,
        attachments: view.attachment_count,
        document: draft.unwrap_or(&document),
        versions,
        notice,
        error,
    };
    render(status, &page)
}

/// A policy document indented for reading (as stored if it is not JSON).
fn pretty(doc: &str) -> String {
    serde_json::from_str::<serde_json::Value>(doc)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| doc.to_owned())
}

/// CreatePolicy's bound on a document, from the IAM model.
const MAX_DOCUMENT: usize = 131_072;

/// What the editor starts with.
const TEMPLATE: &str = "{\n    \"Version\": \"2012-10-17\",\n    \"Statement\": [\n        {\n            \"Effect\": \"Allow\",\n            \"Action\": \"\",\n            \"Resource\": \"*\"\n        }\n    ]\n}";

#[derive(Template)]
#[template(path = "create_policy.html")]
struct CreatePolicyPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    name: &'a str,
    description: &'a str,
    document: &'a str,
    valid: bool,
    error: Option<&'a str>,
}

pub async fn create_policy_page(State(c): Shared, headers: HeaderMap, remote: ClientAddr) -> Response {
    let (session, _) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let page = CreatePolicyPage { arn: &session.arn, csrf: &session.csrf, name: "", description: "", document: TEMPLATE, valid: false, error: None };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct CreatePolicyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    policy_name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    document: String,
    #[serde(default)]
    op: String,
}

/// AWS's message for a document CreatePolicy would refuse, with where a JSON syntax error
/// is when the JSON parser can tell.
fn document_error(doc: &str) -> Option<String> {
    let e = portcullis_policy::parse(doc, portcullis_policy::PolicyKind::Identity).err()?;
    let place = serde_json::from_str::<serde_json::Value>(doc).err().map(|j| format!(" (line {}, column {})", j.line(), j.column()));
    Some(format!("{}{}", e.message, place.unwrap_or_default()))
}

pub async fn create_policy(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<CreatePolicyForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let name = f.policy_name.trim();
    let again = |status: StatusCode, valid: bool, error: Option<&str>| {
        let page = CreatePolicyPage {
            arn: &session.arn,
            csrf: &session.csrf,
            name,
            description: &f.description,
            document: &f.document,
            valid,
            error,
        };
        render(status, &page)
    };
    // The model's length bound first, so that an oversized form is refused before parsing.
    if f.document.chars().count() > MAX_DOCUMENT {
        let text = format!("1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length less than or equal to {MAX_DOCUMENT}");
        return again(StatusCode::BAD_REQUEST, false, Some(&text));
    }
    if let Some(problem) = document_error(&f.document) {
        return again(StatusCode::BAD_REQUEST, false, Some(&problem));
    }
    if f.op == "validate" {
        return again(StatusCode::OK, true, None);
    }
    let description = Some(f.description.trim()).filter(|d| !d.is_empty());
    let mut params = vec![("PolicyName", name), ("PolicyDocument", f.document.as_str())];
    if let Some(d) = description {
        params.push(("Description", d));
    }
    let created = async {
        c.validate("CreatePolicy", &params)?;
        let auth = c.iam.authorize_iam(&caller, Op::CreatePolicy, &[("PolicyName", name)]).await?;
        c.iam.create_policy(&auth, name, None, &f.document, description, &[]).await
    }
    .await;
    match created {
        Ok(_) => redirect("/console/policies?type=local&done=created", &[]),
        Err(IamError::ServiceFailure(e)) => {
            tracing::error!(error = %e, "creating a policy failed");
            failure()
        }
        Err(e) => again(StatusCode::BAD_REQUEST, false, Some(&e.public_message())),
    }
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    arn: String,
    #[serde(default)]
    document: String,
}

/// `POST /console/policy`: CreatePolicyVersion with SetAsDefault, after the same checks as
/// the create form (length, then AWS's document messages).
pub async fn save_policy(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<EditForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let problem = if f.document.chars().count() > MAX_DOCUMENT {
        Some(format!("1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length less than or equal to {MAX_DOCUMENT}"))
    } else {
        document_error(&f.document)
    };
    let saved = match problem {
        Some(p) => Err(IamError::MalformedPolicyDocument(p)),
        None => {
            async {
                c.validate("CreatePolicyVersion", &[("PolicyArn", &f.arn), ("PolicyDocument", &f.document), ("SetAsDefault", "true")])?;
                let auth = c.iam.authorize_iam(&caller, Op::CreatePolicyVersion, &[("PolicyArn", &f.arn)]).await?;
                c.iam.create_policy_version(&auth, &f.arn, &f.document, true).await
            }
            .await
        }
    };
    match saved {
        Ok(_) => {
            c.iam.invalidate_authorization_cache();
            let arn: String = form_urlencoded::byte_serialize(f.arn.as_bytes()).collect();
            redirect(&format!("/console/policy?arn={arn}&done=saved"), &[])
        }
        Err(IamError::ServiceFailure(e)) => {
            tracing::error!(error = %e, "saving a policy version failed");
            failure()
        }
        Err(e) => policy_page(&c, &session, &caller, &f.arn, StatusCode::BAD_REQUEST, None, Some(&e.public_message()), Some(&f.document)).await,
    }
}
