//! AWS's policy evaluation logic for requests within one account.
//!
//! 1. A matching `Deny` in any applicable policy decides: explicit deny.
//! 2. When the account is in an organization, every SCP level must allow.
//! 3. The root user is then allowed (identity policies do not apply to it).
//! 4. A resource-based policy that names the caller itself (or `*`, a service,
//!    a federated provider) allows on its own. One that names a role session
//!    through its role's ARN still needs the permissions boundary and session
//!    policies to allow. One that names only the account delegates to the
//!    account's identity policies.
//! 5. Otherwise identity-based policies must allow, and so must the
//!    permissions boundary and the session policies when there are any.
//! 6. Otherwise: implicit deny.
//!
//! A role's trust policy differs from other resource-based policies in one
//! way: it must always allow. Identity permissions for `sts:AssumeRole`
//! cannot stand in for a trust policy that does not name the caller.
//!
//! Cost is proportional to the statements of the policies in the set, so
//! policies not attached to the caller cost nothing; evaluation allocates only
//! for matched statements and missing keys it reports.

use crate::context::RequestContext;
use crate::kind::PolicyKind;
use crate::policy::{Effect, Policy};
use crate::principal::{PrincipalMatch, PrincipalType};

/// A policy together with the caller's name for it (ARN, or `user/NAME/inline/POLICY`).
pub type AttachedPolicy<'a> = (&'a str, &'a Policy);

/// The policies that bear on one request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet<'a> {
    /// The caller's identity-based policies: a user's inline and attached
    /// policies and those of its groups, or a role's.
    pub identity: Vec<AttachedPolicy<'a>>,
    /// Resource-based policies of the target resource (for `sts:AssumeRole`, the role's trust policy).
    pub resource: Vec<AttachedPolicy<'a>>,
    pub boundary: Option<AttachedPolicy<'a>>,
    /// SCPs by level of the organization (root, each OU, the account); each
    /// level must allow. Empty when the account is not in an organization.
    pub scps: Vec<Vec<AttachedPolicy<'a>>>,
    /// Session policies of a role or federated session; when non-empty they must allow.
    pub session: Vec<AttachedPolicy<'a>>,
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

/// A statement that decided the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedStatement {
    pub policy_id: String,
    pub policy_kind: PolicyKind,
    /// Zero-based position in the policy's `Statement` list.
    pub statement_index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub effect: EvalDecision,
    /// For `ExplicitDeny` the matching `Deny` statements; for `Allowed` the
    /// matching `Allow` statements of every policy consulted; empty for `ImplicitDeny`.
    pub matched: Vec<MatchedStatement>,
    /// Context keys read by conditions of otherwise-matching statements but
    /// absent from the request, as written in the policies, without duplicates.
    pub missing_context_keys: Vec<String>,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.effect == EvalDecision::Allowed
    }
}

struct Hit<'a> {
    id: &'a str,
    policy: &'a Policy,
    index: usize,
    effect: Effect,
}

#[derive(Default)]
struct Scan<'a> {
    hits: Vec<Hit<'a>>,
    missing: Vec<String>,
    any_deny: bool,
}

/// What one policy says about the request.
#[derive(Default, Clone, Copy)]
struct Outcome {
    /// The strongest way an `Allow` statement named the caller.
    allow: Option<PrincipalMatch>,
}

impl<'a> Scan<'a> {
    fn policy(&mut self, (id, policy): AttachedPolicy<'a>, ctx: &RequestContext) -> Outcome {
        let mut out = Outcome::default();
        for (index, st) in policy.statements.iter().enumerate() {
            if !st.action_matches(&ctx.action) || !st.resource_matches(ctx) {
                continue;
            }
            let Some(named) = st.principal_applies(ctx) else {
                continue;
            };
            let missing = &mut self.missing;
            let holds = st.conditions_hold(ctx, &mut |key| {
                if !missing.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                    missing.push(key.to_string());
                }
            });
            if !holds {
                continue;
            }
            self.hits.push(Hit {
                id,
                policy,
                index,
                effect: st.effect,
            });
            match st.effect {
                Effect::Deny => self.any_deny = true,
                Effect::Allow => out.allow = out.allow.max(Some(named)),
            }
        }
        out
    }

    /// Scans several policies; `Some` when any of them allows.
    fn union(&mut self, policies: &[AttachedPolicy<'a>], ctx: &RequestContext) -> Option<PrincipalMatch> {
        let mut allow = None;
        for &p in policies {
            allow = allow.max(self.policy(p, ctx).allow);
        }
        allow
    }

    fn finish(self, effect: EvalDecision) -> Decision {
        let wanted = match effect {
            EvalDecision::Allowed => Some(Effect::Allow),
            EvalDecision::ExplicitDeny => Some(Effect::Deny),
            EvalDecision::ImplicitDeny => None,
        };
        let matched = self
            .hits
            .iter()
            .filter(|h| Some(h.effect) == wanted)
            .map(|h| MatchedStatement {
                policy_id: h.id.to_string(),
                policy_kind: h.policy.kind,
                statement_index: h.index,
                sid: h.policy.statements.get(h.index).and_then(|s| s.sid.clone()),
                effect: h.effect,
            })
            .collect();
        Decision {
            effect,
            matched,
            missing_context_keys: self.missing,
        }
    }
}

/// Decides a request against the policies that apply to it.
pub fn evaluate(set: &PolicySet<'_>, ctx: &RequestContext) -> Decision {
    let mut scan = Scan::default();
    let root = ctx.principal.principal_type == PrincipalType::Root;

    let mut scps_allow = true;
    for level in &set.scps {
        scps_allow &= scan.union(level, ctx).is_some();
    }
    let resource_allow = scan.union(&set.resource, ctx);
    let trust_required = set.resource.iter().any(|(_, p)| p.kind == PolicyKind::Trust);
    // Identity-side policies do not exist for the root user; skip them so a
    // mistaken caller cannot restrict root with them.
    let (identity_allow, boundary_allows, session_allows) = if root {
        (false, true, true)
    } else {
        let identity = scan.union(&set.identity, ctx).is_some();
        let boundary = match set.boundary {
            Some(b) => scan.policy(b, ctx).allow.is_some(),
            None => true,
        };
        let session = set.session.is_empty() || scan.union(&set.session, ctx).is_some();
        (identity, boundary, session)
    };

    let effect = if scan.any_deny {
        EvalDecision::ExplicitDeny
    } else if !scps_allow || (trust_required && resource_allow.is_none()) {
        EvalDecision::ImplicitDeny
    } else if root {
        EvalDecision::Allowed
    } else {
        let limits_allow = boundary_allows && session_allows;
        let allowed = match resource_allow {
            Some(PrincipalMatch::Direct) => true,
            Some(PrincipalMatch::Role) => limits_allow,
            Some(PrincipalMatch::Account) | None => identity_allow && limits_allow,
        };
        if allowed {
            EvalDecision::Allowed
        } else {
            EvalDecision::ImplicitDeny
        }
    };
    scan.finish(effect)
}
