//! The policy simulator: what a user's, group's or role's policies decide for some actions
//! and resources with given context keys (SimulatePrincipalPolicy), with the statements
//! that decided, as the signed-in identity may run it.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_core::{ContextEntry, IamError, SimulationInput};
use portcullis_core::IamOperation as Op;
use serde::Deserialize;

use crate::web::{failure, render, signed_in, signed_in_form, ClientAddr, Shared};

pub struct Row {
    action: String,
    resource: String,
    decision: &'static str,
    /// The organization's service control policies withheld it: at which root, unit or
    /// account.
    by_scp: Option<String>,
    /// "POLICY (lines A-B)" for each deciding statement.
    statements: Vec<String>,
}

#[derive(Template)]
#[template(path = "simulator.html")]
struct SimulatorPage<'a> {
    arn: &'a str,
    csrf: &'a str,
    account_id: &'a str,
    principal: &'a str,
    actions: &'a str,
    resources: &'a str,
    context_key: &'a str,
    context_value: &'a str,
    results: Vec<Row>,
    error: Option<&'a str>,
}

pub async fn simulator_page(State(c): Shared, headers: HeaderMap, remote: ClientAddr) -> Response {
    let (session, caller) = match signed_in(&c, &headers, &remote).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let page = SimulatorPage {
        arn: &session.arn,
        csrf: &session.csrf,
        account_id: &caller.account_id,
        principal: "",
        actions: "",
        resources: "",
        context_key: "",
        context_value: "",
        results: Vec::new(),
        error: None,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct SimulateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    principal: String,
    #[serde(default)]
    actions: String,
    #[serde(default)]
    resources: String,
    #[serde(default)]
    context_key: String,
    #[serde(default)]
    context_value: String,
}

/// Actions and resources one simulation may name.
const MAX_ITEMS: usize = 100;

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

pub async fn simulate(State(c): Shared, headers: HeaderMap, remote: ClientAddr, axum::Form(f): axum::Form<SimulateForm>) -> Response {
    let (session, caller) = match signed_in_form(&c, &headers, &remote, &f.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let principal = f.principal.trim();
    let key = f.context_key.trim();
    let input = SimulationInput {
        actions: lines(&f.actions),
        resources: lines(&f.resources),
        context: if key.is_empty() { Vec::new() } else { vec![ContextEntry { key: key.to_owned(), values: vec![f.context_value.trim().to_owned()] }] },
        ..Default::default()
    };
    // The API's model check, on the same parameters SimulatePrincipalPolicy would get.
    let mut params: Vec<(String, String)> = vec![("PolicySourceArn".to_owned(), principal.to_owned())];
    params.extend(input.actions.iter().enumerate().map(|(i, a)| (format!("ActionNames.member.{}", i + 1), a.clone())));
    params.extend(input.resources.iter().enumerate().map(|(i, r)| (format!("ResourceArns.member.{}", i + 1), r.clone())));
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let outcome = if input.actions.is_empty() {
        Err(IamError::Validation("Name at least one action, such as ec2:DescribeInstances.".to_owned()))
    } else if input.actions.len() > MAX_ITEMS || input.resources.len() > MAX_ITEMS {
        // Every action is evaluated against every resource: bound the work one form can ask for.
        Err(IamError::Validation(format!("Simulate at most {MAX_ITEMS} actions and {MAX_ITEMS} resources at a time.")))
    } else if let Err(e) = c.validate("SimulatePrincipalPolicy", &pairs) {
        Err(e)
    } else {
        async {
            let auth = c.iam.authorize_iam(&caller, Op::SimulatePrincipalPolicy, &[("PolicySourceArn", &principal)]).await?;
            c.iam.simulate_principal_policy(&auth, principal, &input).await
        }
        .await
    };
    let (results, error) = match outcome {
        Ok(results) => {
            let rows = results
                .into_iter()
                .flat_map(|r| {
                    let per_resource: Vec<_> = match r.resource_results {
                        Some(rr) => rr.into_iter().map(|x| (x.resource, x.decision, x.matched)).collect(),
                        None => vec![(r.resource_name, r.decision, r.matched)],
                    };
                    let action = r.action;
                    let by_scp = r.organizations_level.clone().filter(|_| r.allowed_by_organizations == Some(false));
                    per_resource.into_iter().map(move |(resource, decision, matched)| Row {
                        action: action.clone(),
                        resource,
                        decision,
                        by_scp: by_scp.clone().filter(|_| decision != "allowed"),
                        statements: matched
                            .iter()
                            .map(|m| match (m.start, m.end) {
                                (Some(a), Some(b)) => format!("{} (lines {}-{})", m.source_policy_id, a.line, b.line),
                                _ => m.source_policy_id.clone(),
                            })
                            .collect(),
                    })
                })
                .collect();
            (rows, None)
        }
        Err(IamError::ServiceFailure(e)) => {
            tracing::error!(error = %e, "simulation failed");
            return failure();
        }
        Err(e) => (Vec::new(), Some(e.public_message())),
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let page = SimulatorPage {
        arn: &session.arn,
        csrf: &session.csrf,
        account_id: &caller.account_id,
        principal,
        actions: &f.actions,
        resources: &f.resources,
        context_key: key,
        context_value: &f.context_value,
        results,
        error: error.as_deref(),
    };
    render(status, &page)
}
