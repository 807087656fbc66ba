//! The compiled form of a policy: parsed once, evaluated many times.

use crate::arn::ArnPattern;
use crate::condition::Condition;
use crate::context::RequestContext;
use crate::index::ActionIndex;
use crate::kind::PolicyKind;
use crate::matcher::{self, Case};
use crate::variables::{Shape, Syntax, Template};
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
    pub(crate) index: ActionIndex,
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
/// Action names are ASCII, so case is ignored ASCII-wise on the fast path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActionPattern {
    /// Literal text before the first wildcard.
    head: Box<str>,
    shape: Shape,
    template: Template,
}

impl ActionPattern {
    pub(crate) fn new(raw: &str) -> Self {
        let template = Template::compile(
            raw,
            Syntax {
                wildcards: true,
                variables: false,
            },
        );
        let (head, mut shape) = template.head();
        if !head.is_ascii() {
            shape = Shape::General;
        }
        ActionPattern {
            head: head.into_boxed_str(),
            shape,
            template,
        }
    }

    /// Whether some action of the service `ns` (`ns:…`) could match.
    fn touches_service(&self, ns: &str) -> bool {
        let prefix = format!("{}:", ns.to_ascii_lowercase());
        let head = self.head.to_ascii_lowercase();
        match self.shape {
            Shape::Exact => head.starts_with(&prefix) && head.len() > prefix.len(),
            Shape::PrefixStar | Shape::General => head.starts_with(&prefix) || prefix.starts_with(&head),
        }
    }

    /// Whether every action of the service `ns` matches (`*`, `ns:*`, `n*`).
    fn covers_service(&self, ns: &str) -> bool {
        let prefix = format!("{}:", ns.to_ascii_lowercase());
        self.shape == Shape::PrefixStar && prefix.starts_with(&self.head.to_ascii_lowercase())
    }

    fn matches(&self, action: &str) -> bool {
        let (h, a) = (self.head.as_bytes(), action.as_bytes());
        match self.shape {
            Shape::Exact => a.eq_ignore_ascii_case(h),
            Shape::PrefixStar => a.len() >= h.len() && a[..h.len()].eq_ignore_ascii_case(h),
            Shape::General => {
                // The head is a cheap necessary condition before the full match.
                (!self.head.is_ascii() || a.len() >= h.len() && a[..h.len()].eq_ignore_ascii_case(h))
                    && matcher::glob(&self.template, action, Case::AsciiInsensitive)
            }
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

    /// Whether the statement allows some action of the service `ns` (whatever its
    /// resources and conditions): what ListPoliciesGrantingServiceAccess reports.
    pub fn allows_some_of_service(&self, ns: &str) -> bool {
        self.effect == Effect::Allow
            && if self.not_action {
                !self.actions.iter().any(|a| a.covers_service(ns))
            } else {
                self.actions.iter().any(|a| a.touches_service(ns))
            }
    }

    /// Whether the statement denies every action of the service `ns` (`ns:*` or `*`), with
    /// no condition and on every resource: access advisor leaves such a service out.
    pub fn denies_all_of_service(&self, ns: &str) -> bool {
        self.effect == Effect::Deny
            && !self.not_action
            && self.conditions.is_empty()
            && self.resources.as_ref().is_none_or(|r| !self.not_resource && r.iter().any(|r| r.is_wildcard()))
            && self.actions.iter().any(|a| a.covers_service(ns))
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

    /// Whether all conditions hold; adds keys they needed but the request
    /// lacks to `missing` (once each). Every condition is evaluated, even after
    /// one fails, so that all missing keys are reported.
    pub(crate) fn conditions_hold<'a>(&'a self, ctx: &RequestContext, missing: &mut Vec<&'a str>) -> bool {
        let mut all = true;
        for c in &self.conditions {
            let (holds, lacked) = c.holds(ctx);
            all &= holds;
            let key = c.key_as_written();
            if lacked && !missing.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                missing.push(key);
            }
        }
        all
    }
}

#[cfg(test)]
mod service_access_tests {
    use crate::{parse, PolicyKind};

    fn grants(doc: &str, ns: &str) -> bool {
        parse(doc, PolicyKind::Identity).map(|p| p.statements().iter().any(|s| s.allows_some_of_service(ns))).unwrap_or(false)
    }

    #[test]
    fn which_statements_grant_access_to_a_service() {
        let allow = |a: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":{a},"Resource":"*"}}]}}"#);
        assert!(grants(&allow(r#""*""#), "s3"));
        assert!(grants(&allow(r#""s3:GetObject""#), "s3"));
        assert!(grants(&allow(r#""S3:Get*""#), "s3"));
        assert!(!grants(&allow(r#""s3""#), "s3"));
        assert!(!grants(&allow(r#""ec2:*""#), "s3"));
        assert!(!grants(&allow(r#""s3express:*""#), "s3"));
        let not = |a: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","NotAction":{a},"Resource":"*"}}]}}"#);
        assert!(grants(&not(r#""iam:*""#), "s3"));
        assert!(!grants(&not(r#""s3:*""#), "s3"));
        assert!(grants(&not(r#""s3:Delete*""#), "s3"));
        let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
        assert!(!grants(deny, "s3"));
    }
}
