//! AWS IAM policy language: parsing, validation and evaluation.
//!
//! Pure: no I/O, no async, no clock (time is passed in as context keys).
//!
//! # Parsing
//!
//! [`parse`]`(document, kind)` validates a JSON policy document against the
//! grammar and the rules of its [`PolicyKind`] and returns a compiled
//! [`Policy`], or a [`PolicyError`] whose `message` is AWS's
//! `MalformedPolicyDocument` text (`"Syntax errors in policy."`,
//! `"Policy statement must contain actions."`, ...; see [`error`] for the list).
//! [`policy_size`] counts characters as AWS does for its quotas, listed in
//! [`limits`]; enforcing them (and choosing LimitExceeded messages) is the
//! caller's job since only it knows whether a document is managed or inline.
//!
//! # Evaluation
//!
//! Build a [`RequestContext`] (action, resource ARN, [`RequestPrincipal`],
//! context keys with case-insensitive names and list-of-string values;
//! [`RequestContext::set_principal_keys`] and [`RequestContext::set_time`]
//! fill the usual `aws:` keys), gather the compiled policies that apply into a
//! [`PolicySet`] (identity, resource-based or trust, permissions boundary, SCP
//! levels, session policies, each paired with an id string), and call
//! [`evaluate`], whose docs list the decision rules. The [`Decision`] carries
//! the [`EvalDecision`] (`allowed` / `explicitDeny` / `implicitDeny`), the
//! [`MatchedStatement`]s that decided it (policy id, statement index, Sid) and
//! the context keys that conditions needed but the request lacked; it borrows
//! ids and Sids from the set and its policies.
//!
//! Compiling happens once in [`parse`] (wildcard patterns pre-split, literal
//! heads extracted, context keys lower-cased and hashed, a per-policy index by
//! action service). [`evaluate`] looks only at the set's statements for the
//! request's service and allocates only the `matched`/`missing` vectors.
//!
//! # Validation choices
//!
//! Messages follow AWS's `MalformedPolicyDocument` texts. IAM-validated kinds
//! ([`PolicyKind::Identity`], [`PolicyKind::PermissionsBoundary`]) require
//! `"Version": "2012-10-17"`; the others also accept `2008-10-17` or no
//! `Version` (then `${...}` is literal text). A `Principal` in a kind that
//! forbids it gives `"Policy document should not specify a principal."`.

//! ```
//! use portcullis_policy::*;
//! let p = parse(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
//!     "Action":"s3:Get*","Resource":"arn:aws:s3:::bucket/${aws:username}/*"}}"#,
//!     PolicyKind::Identity).unwrap();
//! let who = RequestPrincipal::user("123456789012", "arn:aws:iam::123456789012:user/bob");
//! let mut req = RequestContext::new("s3:GetObject", "arn:aws:s3:::bucket/bob/notes.txt", who);
//! req.set_one("aws:username", "bob");
//! let set = PolicySet { identity: vec![("inline", &p)], ..Default::default() };
//! assert_eq!(evaluate(&set, &req).effect, EvalDecision::Allowed);
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod arn;
mod condition;
mod context;
mod datetime;
pub mod error;
mod evaluate;
mod index;
mod ip;
mod keys;
mod kind;
mod matcher;
mod parse;
mod policy;
mod principal;
mod size;
mod span;
mod validate;
mod variables;

pub use context::RequestContext;
pub use error::PolicyError;
pub use evaluate::{evaluate, AttachedPolicy, Decision, EvalDecision, MatchedStatement, PolicySet};
pub use kind::{limits, PolicyKind};
pub use matcher::wildcard_match;
pub use parse::parse;
pub use policy::{Effect, Policy, PolicyVersion, Statement};
pub use principal::{PrincipalType, RequestPrincipal};
pub use datetime::format_iso8601;
pub use size::policy_size;
pub use span::{statement_spans, Position};
