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
//! context keys with case-insensitive names and list values), gather the
//! compiled policies that apply into a [`PolicySet`] (identity, resource-based,
//! permissions boundary, SCP levels, session policies, each paired with an id
//! string), and call [`evaluate`]. The [`Decision`] carries the
//! [`EvalDecision`] (`allowed` / `explicitDeny` / `implicitDeny`), the
//! [`MatchedStatement`]s that decided it and the context keys that conditions
//! needed but the request lacked.
//!
//! Compiling happens once in [`parse`]; [`evaluate`] walks only the policies
//! in the set and does not allocate except for the statements and missing
//! keys it reports (and for patterns that contain policy variables).
//!
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
pub use size::policy_size;
