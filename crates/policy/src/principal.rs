//! The `Principal`/`NotPrincipal` element and who is making a request.
//!
//! AWS does not allow wildcards inside principal ARNs, so entries are compared
//! exactly; only a lone `"*"` means everyone.

use crate::error::PolicyError;

/// What sort of caller a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrincipalType {
    /// The account's root user.
    Root,
    /// An IAM user.
    #[default]
    User,
    /// A role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    AssumedRole,
    /// A `GetFederationToken` session (`arn:aws:sts::ACCOUNT:federated-user/NAME`).
    FederatedUser,
    /// An AWS service acting on its own behalf (`ec2.amazonaws.com`).
    Service,
    /// An unauthenticated request.
    Anonymous,
    /// The bearer of a token from a web identity (OpenID Connect) provider, asking for a role.
    WebIdentity,
    /// The bearer of a SAML assertion from a SAML provider, asking for a role.
    SamlUser,
}

/// The caller, as resource-based and trust policies see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestPrincipal {
    pub principal_type: PrincipalType,
    /// The caller's ARN: user, root (`arn:aws:iam::ACCOUNT:root`), session or federated user.
    pub arn: String,
    pub account_id: String,
    /// For role sessions: the role's ARN (`arn:aws:iam::ACCOUNT:role/PATH/NAME`).
    pub role_arn: Option<String>,
    /// For service callers: the service principal name.
    pub service: Option<String>,
    /// For web-identity or SAML callers: the identity provider (`cognito-identity.amazonaws.com`, a SAML provider ARN).
    pub federated: Option<String>,
    /// The S3 canonical user ID, when known.
    pub canonical_user: Option<String>,
}

impl RequestPrincipal {
    pub fn root(account_id: &str) -> Self {
        RequestPrincipal {
            principal_type: PrincipalType::Root,
            arn: format!("arn:aws:iam::{account_id}:root"),
            account_id: account_id.to_string(),
            ..Default::default()
        }
    }

    pub fn user(account_id: &str, user_arn: &str) -> Self {
        RequestPrincipal {
            principal_type: PrincipalType::User,
            arn: user_arn.to_string(),
            account_id: account_id.to_string(),
            ..Default::default()
        }
    }

    pub fn assumed_role(account_id: &str, role_arn: &str, session_arn: &str) -> Self {
        RequestPrincipal {
            principal_type: PrincipalType::AssumedRole,
            arn: session_arn.to_string(),
            account_id: account_id.to_string(),
            role_arn: Some(role_arn.to_string()),
            ..Default::default()
        }
    }

    pub fn service(name: &str) -> Self {
        RequestPrincipal {
            principal_type: PrincipalType::Service,
            service: Some(name.to_string()),
            ..Default::default()
        }
    }

    /// A federated user's session (GetFederationToken).
    pub fn federated_user(account_id: &str, session_arn: &str) -> Self {
        RequestPrincipal {
            principal_type: PrincipalType::FederatedUser,
            arn: session_arn.to_string(),
            account_id: account_id.to_string(),
            ..Default::default()
        }
    }

    /// The bearer of an identity provider's token or assertion (`principal_type`
    /// `WebIdentity` or `SamlUser`): the provider (`arn:aws:iam::ACCOUNT:oidc-provider/…`,
    /// `…:saml-provider/NAME`) is what trust policies name, under `Federated`.
    pub fn provider_user(principal_type: PrincipalType, provider_arn: &str) -> Self {
        RequestPrincipal {
            principal_type,
            federated: Some(provider_arn.to_string()),
            ..Default::default()
        }
    }

    pub fn anonymous() -> Self {
        RequestPrincipal {
            principal_type: PrincipalType::Anonymous,
            ..Default::default()
        }
    }
}

/// How a resource-based statement named the caller; decides whether its Allow
/// is enough on its own (see `evaluate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PrincipalMatch {
    /// The caller's account: the account's own identity policies must also allow.
    Account,
    /// A role session matched through its role's ARN: still limited by the
    /// session's permissions boundary and session policies.
    Role,
    /// The caller itself, `*`, a service or a federated provider: enough alone.
    Direct,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AwsEntry {
    Any,
    Account(Box<str>),
    Arn(Box<str>),
}

/// A compiled `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct PrincipalSpec {
    pub(crate) negated: bool,
    aws: Vec<AwsEntry>,
    service: Vec<Box<str>>,
    federated: Vec<Box<str>>,
    canonical: Vec<Box<str>>,
}

/// One identity the caller can be named by.
#[derive(Clone, Copy)]
enum Ident<'a> {
    Account(&'a str),
    Arn(&'a str),
    Service(&'a str),
    Federated(&'a str),
    Canonical(&'a str),
    Anonymous,
}

impl PrincipalSpec {
    pub(crate) fn everyone(negated: bool) -> Self {
        PrincipalSpec {
            negated,
            aws: vec![AwsEntry::Any],
            ..Default::default()
        }
    }

    pub(crate) fn new(negated: bool) -> Self {
        PrincipalSpec {
            negated,
            ..Default::default()
        }
    }

    pub(crate) fn add(&mut self, kind: &str, value: &str) -> Result<(), PolicyError> {
        let invalid = || PolicyError::new(format!("Invalid principal in policy: \"{kind}\":\"{value}\""));
        match kind {
            "AWS" => {
                let entry = if value == "*" {
                    AwsEntry::Any
                } else if is_account_id(value) {
                    AwsEntry::Account(value.into())
                } else if let Some(acct) = root_arn_account(value) {
                    AwsEntry::Account(acct.into())
                } else if is_principal_arn(value) || is_unique_id(value) {
                    AwsEntry::Arn(value.into())
                } else {
                    return Err(invalid());
                };
                self.aws.push(entry);
            }
            "Service" | "Federated" | "CanonicalUser" => {
                if value.is_empty() {
                    return Err(invalid());
                }
                let list = match kind {
                    "Service" => &mut self.service,
                    "Federated" => &mut self.federated,
                    _ => &mut self.canonical,
                };
                list.push(value.into());
            }
            _ => return Err(PolicyError::syntax()),
        }
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.aws.is_empty() && self.service.is_empty() && self.federated.is_empty() && self.canonical.is_empty()
    }

    fn for_each_ident<'a>(p: &'a RequestPrincipal, mut f: impl FnMut(Ident<'a>)) {
        match p.principal_type {
            PrincipalType::Anonymous => f(Ident::Anonymous),
            PrincipalType::Service => {
                if let Some(s) = &p.service {
                    f(Ident::Service(s));
                }
            }
            _ => {
                f(Ident::Account(&p.account_id));
                if p.principal_type != PrincipalType::Root {
                    f(Ident::Arn(&p.arn));
                }
                if let Some(r) = &p.role_arn {
                    f(Ident::Arn(r));
                }
                if let Some(fed) = &p.federated {
                    f(Ident::Federated(fed));
                }
                if let Some(c) = &p.canonical_user {
                    f(Ident::Canonical(c));
                }
            }
        }
    }

    /// How strongly one identity is named by this element, if at all.
    fn names(&self, id: Ident<'_>, p: &RequestPrincipal) -> Option<PrincipalMatch> {
        let any = self.aws.contains(&AwsEntry::Any);
        match id {
            _ if any => Some(PrincipalMatch::Direct),
            Ident::Anonymous => None,
            Ident::Account(a) => self
                .aws
                .iter()
                .any(|e| matches!(e, AwsEntry::Account(x) if **x == *a))
                .then_some(PrincipalMatch::Account),
            Ident::Arn(arn) => {
                if !self.aws.iter().any(|e| matches!(e, AwsEntry::Arn(x) if **x == *arn)) {
                    None
                } else if p.role_arn.as_deref() == Some(arn) {
                    Some(PrincipalMatch::Role)
                } else {
                    Some(PrincipalMatch::Direct)
                }
            }
            Ident::Service(s) => self.service.iter().any(|x| **x == *s).then_some(PrincipalMatch::Direct),
            Ident::Federated(s) => self.federated.iter().any(|x| **x == *s).then_some(PrincipalMatch::Direct),
            Ident::Canonical(s) => self.canonical.iter().any(|x| **x == *s).then_some(PrincipalMatch::Direct),
        }
    }

    /// Whether the statement applies to this caller and, for `Principal`, how
    /// strongly it named the caller.
    ///
    /// `NotPrincipal` applies when any identity of the caller (its account, its
    /// own ARN, its role's ARN) is left out of the list; this is why AWS tells
    /// authors to list the account and the role as well as the session.
    pub(crate) fn applies(&self, p: &RequestPrincipal) -> Option<PrincipalMatch> {
        let mut best: Option<PrincipalMatch> = None;
        let mut uncovered = false;
        Self::for_each_ident(p, |id| {
            let m = self.names(id, p);
            if m.is_none() {
                uncovered = true;
            }
            best = best.max(m);
        });
        if self.negated {
            uncovered.then_some(PrincipalMatch::Direct)
        } else {
            best
        }
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn root_arn_account(s: &str) -> Option<&str> {
    let rest = s.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let _partition = parts.next()?;
    if parts.next()? != "iam" || !parts.next()?.is_empty() {
        return None;
    }
    let acct = parts.next()?;
    (parts.next()? == "root" && is_account_id(acct)).then_some(acct)
}

/// `arn:PARTITION:iam::ACCOUNT:...` or `arn:PARTITION:sts::ACCOUNT:...`, no wildcards.
fn is_principal_arn(s: &str) -> bool {
    if s.contains('*') || s.contains('?') {
        return false;
    }
    let Some(rest) = s.strip_prefix("arn:") else {
        return false;
    };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    matches!(parts.as_slice(), [p, svc, "", acct, res]
        if !p.is_empty() && (*svc == "iam" || *svc == "sts") && is_account_id(acct) && !res.is_empty())
}

/// AWS shows a deleted principal as its unique ID (`AIDA...`, `AROA...`) and
/// keeps accepting the policy.
fn is_unique_id(s: &str) -> bool {
    s.len() >= 16 && s.starts_with('A') && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}
