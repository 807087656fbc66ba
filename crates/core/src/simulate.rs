//! The policy simulator: SimulatePrincipalPolicy, SimulateCustomPolicy and the context-key
//! listings. It runs the same evaluator that will authorize requests, on the policies of a
//! user, group or role (or on policies given in the request).

use portcullis_types::Arn;
use portcullis_policy::{evaluate, statement_spans, EvalDecision, Policy, PolicyKind, PolicySet, Position, RequestContext, RequestPrincipal};
use portcullis_store::{PrincipalKind, Tx};

use crate::authorize::StoredPolicy;
use crate::policies::principal_id;
use crate::{Authorized, Iam, IamError, IamResult};

#[derive(Debug, Clone)]
pub struct ContextEntry {
    pub key: String,
    pub values: Vec<String>,
}

/// What a simulation request asks, beside the principal.
#[derive(Debug, Clone, Default)]
pub struct SimulationInput {
    pub policy_inputs: Vec<String>,
    pub boundary_inputs: Vec<String>,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub resource_policy: Option<String>,
    pub caller_arn: Option<String>,
    pub context: Vec<ContextEntry>,
}

/// A statement that decided a result, located in its document.
#[derive(Debug, Clone)]
pub struct SimStatement {
    pub source_policy_id: String,
    /// `user`, `group`, `role`, `aws-managed`, `user-managed`, `resource` or `none`.
    pub source_policy_type: &'static str,
    pub start: Option<Position>,
    pub end: Option<Position>,
}

#[derive(Debug, Clone)]
pub struct ResourceResult {
    pub resource: String,
    pub decision: &'static str,
    pub matched: Vec<SimStatement>,
    pub missing: Vec<String>,
    pub allowed_by_boundary: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct EvaluationResult {
    pub action: String,
    pub resource_name: String,
    pub decision: &'static str,
    pub matched: Vec<SimStatement>,
    pub missing: Vec<String>,
    pub allowed_by_boundary: Option<bool>,
    /// Whether the service control policies of the principal's organization allow the
    /// action (SimulatePrincipalPolicy in a member account).
    pub allowed_by_organizations: Option<bool>,
    /// The root, unit or account whose SCPs withheld it (the console says where).
    pub organizations_level: Option<String>,
    /// Present when the request named resources.
    pub resource_results: Option<Vec<ResourceResult>>,
}

/// A parsed policy and where it came from.
struct Source {
    id: String,
    kind: &'static str,
    text: String,
    policy: std::sync::Arc<Policy>,
}

fn parse_input(text: &str, kind: PolicyKind) -> IamResult<Policy> {
    portcullis_policy::parse(text, kind).map_err(|e| IamError::InvalidInput(e.message))
}

/// Most restrictive first: any explicit deny, else any implicit deny, else allowed.
fn restrictiveness(d: EvalDecision) -> u8 {
    match d {
        EvalDecision::ExplicitDeny => 2,
        EvalDecision::ImplicitDeny => 1,
        EvalDecision::Allowed => 0,
    }
}

impl Iam {
    /// The identity policies and permissions boundary of a user, group or role, given by ARN.
    async fn principal_sources(&self, tx: &mut Box<dyn Tx>, account: &str, arn: &str) -> IamResult<(Vec<Source>, Option<Source>, Option<RequestPrincipal>)> {
        let parsed = Arn::parse(arn).ok();
        let name = parsed.as_ref().map_or("", Arn::name);
        let kind = match parsed.as_ref().map(Arn::kind) {
            Some("user") => PrincipalKind::User,
            Some("group") => PrincipalKind::Group,
            Some("role") => PrincipalKind::Role,
            _ => return Err(IamError::InvalidInput(format!("Invalid ARN {arn}: it must name an IAM user, group or role."))),
        };
        let id = principal_id(tx, account, kind, name).await?;
        // The ARN must be the entity's own, path included: it is what the caller was
        // authorized on, and a different path names someone else.
        // (Read through this transaction: a second one could wait on the first.)
        let path = match kind {
            PrincipalKind::User => tx.get_user(account, name).await?.map(|u| (u.path, u.name)),
            PrincipalKind::Group => tx.get_group(account, name).await?.map(|g| (g.path, g.name)),
            PrincipalKind::Role => tx.get_role(account, name).await?.map(|r| (r.path, r.name)),
        };
        let own_arn = path.map(|(path, name)| crate::iam_arn(account, parsed.as_ref().map_or("", Arn::kind), &path, &name));
        if own_arn.as_deref() != Some(arn) {
            return Err(IamError::NoSuchEntity(format!("The entity {arn} cannot be found.")));
        }
        let mut owners = vec![(kind, id.clone())];
        let mut boundary_arn = None;
        let mut principal = None;
        match kind {
            PrincipalKind::User => {
                if let Some(u) = tx.get_user_by_id(&id).await? {
                    boundary_arn = u.permissions_boundary.clone();
                    principal = Some(RequestPrincipal::user(account, arn));
                }
                for g in tx.groups_for_user(&id).await? {
                    owners.push((PrincipalKind::Group, g.group_id));
                }
            }
            PrincipalKind::Role => {
                boundary_arn = tx.get_role(account, name).await?.and_then(|r| r.permissions_boundary);
            }
            PrincipalKind::Group => {}
        }
        let stored = self.stored_policies(tx, &owners, boundary_arn.as_deref()).await?;
        // A simulation that left out an unreadable policy could show an Allow its Deny
        // withholds: fail instead, naming it in the log.
        if let Some(name) = stored.unreadable().first() {
            return Err(IamError::ServiceFailure(format!("stored policy {name} of {arn} does not parse")));
        }
        let source = |p: StoredPolicy| p.policy.map(|policy| Source { id: p.name, kind: p.origin, text: p.text, policy });
        let sources = stored.identity.into_iter().filter_map(source).collect();
        Ok((sources, stored.boundary.and_then(source), principal))
    }

    pub async fn simulate_principal_policy(&self, auth: &Authorized<'_>, source_arn: &str, input: &SimulationInput) -> IamResult<Vec<EvaluationResult>> {
        let mut tx = self.store.begin_read().await?;
        let (mut sources, boundary, principal) = self.principal_sources(&mut tx, auth.account(), source_arn).await?;
        drop(tx);
        let (given, given_boundary) = input_sources(input)?;
        sources.extend(given);
        // The principal's organization limits it as it limits its requests.
        let scps = self.scp_levels(auth.account()).await?;
        self.simulate(auth, &sources, given_boundary.or(boundary).as_ref(), principal, scps.as_deref(), input)
    }

    pub fn simulate_custom_policy(&self, auth: &Authorized<'_>, input: &SimulationInput) -> IamResult<Vec<EvaluationResult>> {
        let (sources, boundary) = input_sources(input)?;
        self.simulate(auth, &sources, boundary.as_ref(), None, None, input)
    }

    fn simulate(
        &self,
        auth: &Authorized<'_>,
        sources: &[Source],
        boundary: Option<&Source>,
        principal: Option<RequestPrincipal>,
        scps: Option<&crate::org::ScpLevels>,
        input: &SimulationInput,
    ) -> IamResult<Vec<EvaluationResult>> {
        let account = auth.account();
        let resource_policy = match &input.resource_policy {
            Some(text) => Some(Source {
                id: "ResourcePolicy".to_owned(),
                kind: "resource",
                text: text.clone(),
                policy: parse_input(text, PolicyKind::Resource)?.into(),
            }),
            None => None,
        };
        let principal = match (&input.caller_arn, principal) {
            (Some(caller), _) => RequestPrincipal::user(Arn::parse(caller).map_or(account.to_owned(), |a| a.account).as_str(), caller),
            (None, Some(p)) => p,
            (None, None) => RequestPrincipal::user(account, &crate::iam_arn(account, "user", "/", "simulated")),
        };
        let mut set = PolicySet::default();
        set.identity = sources.iter().map(|s| (s.id.as_str(), s.policy.as_ref())).collect();
        set.resource = resource_policy.iter().map(|s| (s.id.as_str(), s.policy.as_ref())).collect();
        set.boundary = boundary.map(|b| (b.id.as_str(), b.policy.as_ref()));
        set.scps = scps.map(|levels| levels.iter().map(|l| l.policies.iter().map(|(n, p)| (n.as_str(), p.as_ref())).collect()).collect()).unwrap_or_default();
        // The first level (root, unit, account) whose SCPs withhold the request.
        let scp_level = |ctx: &RequestContext| -> Option<String> {
            let levels = scps?;
            set.scps.iter().zip(levels.iter()).find(|(level, _)| !evaluate(&PolicySet { identity: (*level).clone(), ..Default::default() }, ctx).is_allowed()).map(|(_, l)| l.target.clone())
        };
        let boundary_only = boundary.map(|b| PolicySet { identity: vec![(b.id.as_str(), b.policy.as_ref())], ..Default::default() });
        let all: Vec<&Source> = sources.iter().chain(resource_policy.iter()).chain(boundary).collect();

        let resources: Vec<String> = if input.resources.is_empty() { vec!["*".to_owned()] } else { input.resources.clone() };
        let mut results = Vec::new();
        for action in &input.actions {
            let mut per_resource = Vec::new();
            let mut worst = EvalDecision::Allowed;
            let mut allowed_by_organizations = scps.map(|_| true);
            let mut organizations_level = None;
            for resource in &resources {
                let mut ctx = RequestContext::new(action, resource, principal.clone());
                for e in &input.context {
                    ctx.set(&e.key, e.values.clone());
                }
                let d = evaluate(&set, &ctx);
                if restrictiveness(d.effect) > restrictiveness(worst) {
                    worst = d.effect;
                }
                let matched = d
                    .matched
                    .iter()
                    .filter_map(|m| {
                        // Ids may repeat (a user's and a group's inline policy of one name): match the very string.
                        let src = all.iter().find(|s| std::ptr::eq(s.id.as_ptr(), m.policy_id.as_ptr()))?;
                        let span = statement_spans(&src.text).get(m.statement_index).copied();
                        Some(SimStatement {
                            source_policy_id: src.id.clone(),
                            source_policy_type: src.kind,
                            start: span.map(|s| s.0),
                            end: span.map(|s| s.1),
                        })
                    })
                    .collect();
                let allowed_by_boundary = boundary_only.as_ref().map(|b| evaluate(b, &ctx).is_allowed());
                if let Some(level) = scp_level(&ctx) {
                    allowed_by_organizations = Some(false);
                    organizations_level.get_or_insert(level);
                }
                per_resource.push(ResourceResult {
                    resource: resource.clone(),
                    decision: d.effect.as_str(),
                    matched,
                    missing: d.missing_context_keys.iter().map(|k| (*k).to_owned()).collect(),
                    allowed_by_boundary,
                });
            }
            let decision = worst.as_str();
            let deciding: Vec<&ResourceResult> = per_resource.iter().filter(|r| r.decision == decision).collect();
            let mut matched: Vec<SimStatement> = Vec::new();
            let mut missing: Vec<String> = Vec::new();
            for r in &deciding {
                for m in &r.matched {
                    if !matched.iter().any(|x| x.source_policy_id == m.source_policy_id && x.start == m.start) {
                        matched.push(m.clone());
                    }
                }
            }
            for r in &per_resource {
                for k in &r.missing {
                    if !missing.contains(k) {
                        missing.push(k.clone());
                    }
                }
            }
            let allowed_by_boundary = deciding.first().and_then(|r| r.allowed_by_boundary);
            let named = !input.resources.is_empty();
            results.push(EvaluationResult {
                action: action.clone(),
                resource_name: if input.resources.len() == 1 { input.resources[0].clone() } else { "*".to_owned() },
                decision,
                matched,
                missing,
                allowed_by_boundary,
                allowed_by_organizations,
                organizations_level,
                resource_results: named.then_some(per_resource),
            });
        }
        Ok(results)
    }

    /// GetContextKeysForPrincipalPolicy: every condition key the principal's policies use.
    pub async fn context_keys_for_principal(&self, auth: &Authorized<'_>, source_arn: &str, extra: &[String]) -> IamResult<Vec<String>> {
        let mut tx = self.store.begin_read().await?;
        let (sources, _, _) = self.principal_sources(&mut tx, auth.account(), source_arn).await?;
        let mut policies: Vec<std::sync::Arc<Policy>> = sources.into_iter().map(|s| s.policy).collect();
        for text in extra {
            policies.push(parse_input(text, PolicyKind::Identity)?.into());
        }
        Ok(context_keys(policies.iter().map(|p| p.as_ref())))
    }

    /// GetContextKeysForCustomPolicy.
    pub fn context_keys_for_custom(&self, texts: &[String]) -> IamResult<Vec<String>> {
        let policies = texts.iter().map(|t| parse_input(t, PolicyKind::Identity)).collect::<IamResult<Vec<_>>>()?;
        Ok(context_keys(policies.iter()))
    }
}

/// The policies given in the request: PolicyInputList and the first boundary document.
fn input_sources(input: &SimulationInput) -> IamResult<(Vec<Source>, Option<Source>)> {
    let mut sources = Vec::new();
    for (i, text) in input.policy_inputs.iter().enumerate() {
        let policy = parse_input(text, PolicyKind::Identity)?;
        sources.push(Source { id: format!("PolicyInputList.{}", i + 1), kind: "none", text: text.clone(), policy: policy.into() });
    }
    let boundary = match input.boundary_inputs.first() {
        Some(text) => Some(Source {
            id: "PermissionsBoundaryPolicyInputList.1".to_owned(),
            kind: "none",
            text: text.clone(),
            policy: parse_input(text, PolicyKind::PermissionsBoundary)?.into(),
        }),
        None => None,
    };
    Ok((sources, boundary))
}

fn context_keys<'a>(policies: impl Iterator<Item = &'a Policy>) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for p in policies {
        for s in p.statements() {
            for k in s.condition_keys() {
                if !keys.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                    keys.push(k.to_owned());
                }
            }
        }
    }
    keys
}
