//! AWS's policy evaluation logic for requests within one account; see [`evaluate`].

use crate::context::RequestContext;
use crate::index::service_of;
use crate::kind::PolicyKind;
use crate::policy::{Effect, Policy};
use crate::principal::{PrincipalMatch, PrincipalType};

/// A policy together with the caller's name for it (an ARN, `user/NAME/inline/POLICY`, ...).
pub type AttachedPolicy<'a> = (&'a str, &'a Policy);

/// The policies that bear on one request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet<'a> {
    /// The caller's identity-based policies: a user's inline and attached
    /// policies and those of its groups, or a role's.
    pub identity: Vec<AttachedPolicy<'a>>,
    /// Resource-based policies of the target resource (for `sts:AssumeRole`,
    /// the role's trust policy).
    pub resource: Vec<AttachedPolicy<'a>>,
    pub boundary: Option<AttachedPolicy<'a>>,
    /// SCPs by level of the organization (root, each OU, the account); each
    /// level must allow. Empty when the account is not in an organization.
    pub scps: Vec<Vec<AttachedPolicy<'a>>>,
    /// Session policies of a role or federated session; when there are any, one must allow.
    pub session: Vec<AttachedPolicy<'a>>,
    /// The resource belongs to another account than the caller's: its resource-based
    /// policy and the caller's identity-based policies must both allow.
    pub cross_account: bool,
}

/// The outcome, named as `SimulatePrincipalPolicy` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalDecision {
    Allowed,
    ExplicitDeny,
    ImplicitDeny,
}

impl EvalDecision {
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    pub fn as_str(self) -> &'static str {
        match self {
            EvalDecision::Allowed => "allowed",
            EvalDecision::ExplicitDeny => "explicitDeny",
            EvalDecision::ImplicitDeny => "implicitDeny",
        }
    }
}

/// A statement that decided the outcome. Borrows from the [`PolicySet`] and
/// its policies so that evaluation does not copy strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchedStatement<'a> {
    pub policy_id: &'a str,
    pub policy_kind: PolicyKind,
    /// Zero-based position in the policy's `Statement` list.
    pub statement_index: usize,
    pub sid: Option<&'a str>,
    pub effect: Effect,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    pub effect: EvalDecision,
    /// For `ExplicitDeny` the matching `Deny` statements; for `Allowed` the
    /// matching `Allow` statements of every policy consulted; empty for
    /// `ImplicitDeny`. In set order (SCP levels, resource, identity,
    /// boundary, session), then statement order.
    pub matched: Vec<MatchedStatement<'a>>,
    /// Context keys read by conditions of statements whose action, resource
    /// and principal matched, but absent from the request; as written in the
    /// policies, each once.
    pub missing_context_keys: Vec<&'a str>,
}

impl Decision<'_> {
    pub fn is_allowed(&self) -> bool {
        self.effect == EvalDecision::Allowed
    }
}

struct Scan<'a, 'c> {
    ctx: &'c RequestContext,
    /// The request action's service, looked up in each policy's index.
    service: &'c str,
    allows: Vec<MatchedStatement<'a>>,
    denies: Vec<MatchedStatement<'a>>,
    missing: Vec<&'a str>,
}

impl<'a> Scan<'a, '_> {
    /// Scans one policy; returns how strongly an `Allow` of it named the caller.
    fn policy(&mut self, (id, policy): AttachedPolicy<'a>) -> Option<PrincipalMatch> {
        let ctx = self.ctx;
        let mut allow = None;
        for index in policy.index.candidates(self.service) {
            let Some(st) = policy.statements.get(index) else {
                continue;
            };
            if !st.action_matches(&ctx.action) || !st.resource_matches(ctx) {
                continue;
            }
            let Some(named) = st.principal_applies(ctx) else {
                continue;
            };
            if !st.conditions_hold(ctx, &mut self.missing) {
                continue;
            }
            let hit = MatchedStatement {
                policy_id: id,
                policy_kind: policy.kind,
                statement_index: index,
                sid: st.sid.as_deref(),
                effect: st.effect,
            };
            match st.effect {
                Effect::Deny => self.denies.push(hit),
                Effect::Allow => {
                    self.allows.push(hit);
                    allow = allow.max(Some(named));
                }
            }
        }
        allow
    }

    /// Scans several policies; `Some` when any of them allows.
    fn union(&mut self, policies: &[AttachedPolicy<'a>]) -> Option<PrincipalMatch> {
        let mut allow = None;
        for &p in policies {
            allow = allow.max(self.policy(p));
        }
        allow
    }
}

/// Decides a request against the policies that apply to it, following AWS's
/// evaluation logic within one account:
///
/// 1. A matching `Deny` in any applicable policy decides: explicit deny.
/// 2. When the account is in an organization, every SCP level must allow.
/// 3. A role's trust policy must allow `sts:AssumeRole*` (identity
///    permissions cannot stand in for it).
/// 4. The root user is then allowed; identity policies do not apply to it, and of a root
///    session's policies (AssumeRoot's task policy) only their denies.
/// 5. A resource-based policy that names the caller itself (its user or
///    session ARN, `*`, its service or federated provider) allows on its own.
///    One that names a role session through its role's ARN still needs the
///    permissions boundary and session policies to allow. One that names only
///    the account delegates to the account's identity policies.
/// 6. Otherwise identity-based policies must allow, and so must the
///    permissions boundary and the session policies when there are any.
/// 7. Otherwise: implicit deny.
///
/// Across accounts (`cross_account`), the resource's policy must allow *and* the caller's
/// own side must: the root user's account by itself, anyone else through its
/// identity-based policies, boundary and session policies.
///
/// Cost grows with the statements of the policies in the set that concern the
/// request's service (a per-policy index skips the rest); policies not in the
/// set cost nothing. It allocates only the `matched` and
/// `missing_context_keys` vectors, when they are non-empty.
pub fn evaluate<'a>(set: &PolicySet<'a>, ctx: &RequestContext) -> Decision<'a> {
    let mut scan = Scan {
        ctx,
        service: service_of(&ctx.action),
        allows: Vec::new(),
        denies: Vec::new(),
        missing: Vec::new(),
    };
    let root = ctx.principal.principal_type == PrincipalType::Root;

    let mut scps_allow = true;
    for level in &set.scps {
        scps_allow &= scan.union(level).is_some();
    }
    let resource_allow = scan.union(&set.resource);
    let trust_required = set.resource.iter().any(|(_, p)| p.kind == PolicyKind::Trust);
    // Identity-side policies do not exist for the root user; skipping them
    // means a caller's mistake cannot restrict root through them.
    // A root session may still carry session policies (AssumeRoot's task policy, which
    // AWS writes as Deny statements only): their denies limit it, nothing else of them.
    let (identity_allows, limits_allow, session_allows) = if root {
        scan.union(&set.session);
        (false, true, true)
    } else {
        let identity = scan.union(&set.identity).is_some();
        let boundary = set.boundary.is_none_or(|b| scan.policy(b).is_some());
        let session = set.session.is_empty() || scan.union(&set.session).is_some();
        (identity, boundary && session, session)
    };

    let effect = if !scan.denies.is_empty() {
        EvalDecision::ExplicitDeny
    } else if !scps_allow || (trust_required && resource_allow.is_none()) {
        EvalDecision::ImplicitDeny
    } else if set.cross_account {
        if resource_allow.is_some() && (root || (identity_allows && limits_allow)) {
            EvalDecision::Allowed
        } else {
            EvalDecision::ImplicitDeny
        }
    } else if root {
        EvalDecision::Allowed
    } else {
        let allowed = match resource_allow {
            // A resource policy naming a session's own ARN is not limited by its session
            // policies (AWS); naming the IAM user behind a user session is: such a session
            // (delegated access) must not escape its session policies that way.
            Some(PrincipalMatch::Direct) => ctx.principal.principal_type != PrincipalType::User || session_allows,
            Some(PrincipalMatch::Role) => limits_allow,
            Some(PrincipalMatch::Account) | None => identity_allows && limits_allow,
        };
        if allowed {
            EvalDecision::Allowed
        } else {
            EvalDecision::ImplicitDeny
        }
    };
    let matched = match effect {
        EvalDecision::Allowed => scan.allows,
        EvalDecision::ExplicitDeny => scan.denies,
        EvalDecision::ImplicitDeny => Vec::new(),
    };
    Decision {
        effect,
        matched,
        missing_context_keys: scan.missing,
    }
}
