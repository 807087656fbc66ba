//! The compiled form of a policy: parsed once, evaluated many times.

use crate::arn::ArnPattern;
use crate::condition::Condition;
use crate::context::RequestContext;
use crate::kind::PolicyKind;
use crate::matcher::{self, Case};
use crate::variables::{Syntax, Template};
use crate::principal::{PrincipalMatch, PrincipalSpec};

/// The policy language version (`Version` element).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyVersion {
    /// `2008-10-17`, or no `Version`: policy variables are plain text.
    V2008_10_17,
    /// `2012-10-17`: the current language.
    V2012_10_17,
}

impl PolicyVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyVersion::V2008_10_17 => "2008-10-17",
            PolicyVersion::V2012_10_17 => "2012-10-17",
        }
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// A parsed and validated policy document, ready for evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub(crate) kind: PolicyKind,
    pub(crate) version: PolicyVersion,
    pub(crate) id: Option<String>,
    pub(crate) statements: Vec<Statement>,
}

impl Policy {
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }
    pub fn version(&self) -> PolicyVersion {
        self.version
    }
    /// The document's `Id` element.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

/// An action pattern (`ec2:Describe*`); actions hold no policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActionPattern(Template);

impl ActionPattern {
    pub(crate) fn new(raw: &str) -> Self {
        ActionPattern(Template::compile(
            raw,
            Syntax {
                wildcards: true,
                variables: false,
            },
        ))
    }

    fn matches(&self, action: &str) -> bool {
        if self.0.is_lone_star() {
            return true;
        }
        match self.0.as_literal() {
            Some(lit) => matcher::str_eq(lit, action, Case::Insensitive),
            None => matcher::glob(&self.0, action, Case::Insensitive),
        }
    }
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    pub(crate) principal: Option<PrincipalSpec>,
    pub(crate) actions: Vec<ActionPattern>,
    pub(crate) not_action: bool,
    /// `None` for trust policies, which have no `Resource` (they apply to the role).
    pub(crate) resources: Option<Vec<ArnPattern>>,
    pub(crate) not_resource: bool,
    pub(crate) conditions: Vec<Condition>,
}

impl Statement {
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }
    pub fn effect(&self) -> Effect {
        self.effect
    }
    /// Context keys this statement's conditions read, as written in the policy.
    pub fn condition_keys(&self) -> impl Iterator<Item = &str> {
        self.conditions.iter().map(Condition::key_as_written)
    }

    pub(crate) fn action_matches(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a.matches(action)) != self.not_action
    }

    pub(crate) fn resource_matches(&self, ctx: &RequestContext) -> bool {
        match &self.resources {
            None => true,
            Some(list) => {
                let hit = list.iter().any(|r| r.matches(&ctx.resource, ctx) == Some(true));
                hit != self.not_resource
            }
        }
    }

    /// `Some` with how the caller was named when the statement applies to it;
    /// statements without a principal element apply to their identity.
    pub(crate) fn principal_applies(&self, ctx: &RequestContext) -> Option<PrincipalMatch> {
        match &self.principal {
            None => Some(PrincipalMatch::Direct),
            Some(spec) => spec.applies(&ctx.principal),
        }
    }

    pub(crate) fn conditions_hold(&self, ctx: &RequestContext, missing: &mut dyn FnMut(&str)) -> bool {
        // Every condition is evaluated, even after one fails, so that all
        // missing keys are reported.
        let mut all = true;
        for c in &self.conditions {
            if !c.holds(ctx, missing) {
                all = false;
            }
        }
        all
    }
}
