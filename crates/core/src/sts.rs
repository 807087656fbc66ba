//! STS: temporary credentials. A session token is the session itself, sealed with the
//! master key (AES-256-GCM), so a request signed with temporary credentials is verified
//! without a database read for the session; only the principal is looked up.

use portcullis_types::Arn;
use base64_url::{decode as b64d, encode as b64e};
use portcullis_credentials::{new_access_key_id, new_secret_access_key};
use portcullis_policy::{EvalDecision, PolicyKind};
use serde::{Deserialize, Serialize};

use crate::auth::INVALID_TOKEN;
use crate::{iam_arn, AuthzRequest, Caller, Iam, IamError, IamResult, Principal, RequestFacts, Session};

const TOKEN_AAD: &str = "sts-session-token:v1";

/// What a session token carries.
#[derive(Debug, Serialize, Deserialize)]
struct TokenBody {
    /// Access key id (`ASIA…`) the token belongs to.
    k: String,
    /// The session's secret access key.
    s: String,
    a: String,
    /// `root`, `user` or `role`, and the principal's unique id.
    p: String,
    id: String,
    #[serde(default)]
    n: String,
    i: i64,
    e: i64,
    #[serde(default)]
    m: Option<i64>,
    #[serde(default)]
    pol: Vec<String>,
    #[serde(default)]
    si: Option<String>,
    #[serde(default)]
    t: Vec<(String, String)>,
    /// The keys of the tags that pass on to sessions this one assumes (transitive).
    #[serde(default)]
    tt: Vec<String>,
}

/// Temporary credentials as STS returns them.
pub struct TemporaryCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: i64,
}

impl std::fmt::Debug for TemporaryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporaryCredentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

pub struct AssumedRole {
    pub credentials: TemporaryCredentials,
    pub assumed_role_id: String,
    pub arn: String,
    pub packed_policy_size: Option<i64>,
    pub source_identity: Option<String>,
}

/// The session policies a request for temporary credentials passes (`Policy`,
/// `PolicyArns`), and the session's length (`DurationSeconds`): what every AssumeRole*
/// and GetFederationToken take alike.
#[derive(Debug, Clone, Default)]
pub struct SessionAsk {
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub duration: Option<i64>,
}

impl SessionAsk {
    /// Whether session policies were passed (they count in `PackedPolicySize`).
    pub fn passes_policies(&self) -> bool {
        self.policy.is_some() || !self.policy_arns.is_empty()
    }
}

/// What AssumeRole asks.
#[derive(Debug, Clone, Default)]
pub struct AssumeRoleInput {
    pub role_arn: String,
    pub session_name: String,
    pub session: SessionAsk,
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
    pub external_id: Option<String>,
    pub serial_number: Option<String>,
    pub token_code: Option<String>,
    pub source_identity: Option<String>,
}

fn access_denied(message: impl Into<String>) -> IamError {
    IamError::AccessDenied(message.into())
}

impl Iam {
    fn issue(&self, body_of: impl FnOnce(String, String) -> TokenBody) -> IamResult<TemporaryCredentials> {
        let access_key_id = new_access_key_id("ASIA")?;
        let secret = new_secret_access_key()?;
        let body = body_of(access_key_id.clone(), secret.clone());
        let expiration = body.e;
        let json = serde_json::to_vec(&body).map_err(|e| IamError::ServiceFailure(e.to_string()))?;
        let sealed = self.secrets.seal(&json, TOKEN_AAD)?;
        Ok(TemporaryCredentials {
            access_key_id,
            secret_access_key: secret,
            session_token: b64e(sealed.as_bytes()),
            expiration,
        })
    }

    /// Temporary credentials of an IAM user's session narrowed by session policies, from
    /// `start` to `end` (a delegation request's delegated access).
    pub(crate) fn issue_user_session_with_policies(&self, account: &str, user_id: String, end: i64, policies: Vec<String>) -> IamResult<TemporaryCredentials> {
        let now = self.now();
        let account = account.to_owned();
        self.issue(|k, s| TokenBody { k, s, a: account, p: "user".to_owned(), id: user_id, n: String::new(), i: now, e: end, m: None, pol: policies, si: None, t: Vec::new(), tt: Vec::new() })
    }

    /// Temporary credentials of a user's or the root user's own session, with no session
    /// policies or tags (GetSessionToken and console sign-in).
    pub(crate) fn issue_own_session(&self, account: &str, kind: &str, id: String, duration: i64, mfa_at: Option<i64>) -> IamResult<TemporaryCredentials> {
        let now = self.now();
        let account = account.to_owned();
        self.issue(|k, s| TokenBody { k, s, a: account, p: kind.to_owned(), id, n: String::new(), i: now, e: now + duration, m: mfa_at, pol: Vec::new(), si: None, t: Vec::new(), tt: Vec::new() })
    }

    /// Temporary credentials of a member account's root user limited by a task policy
    /// (AssumeRoot).
    pub(crate) fn issue_root_session(&self, account: &str, duration: i64, task_policy: String) -> IamResult<TemporaryCredentials> {
        let now = self.now();
        let account = account.to_owned();
        let id = account.clone();
        self.issue(|k, s| TokenBody { k, s, a: account, p: "root".to_owned(), id, n: String::new(), i: now, e: now + duration, m: None, pol: vec![task_policy], si: None, t: Vec::new(), tt: Vec::new() })
    }

    /// Opens a session token presented with an `ASIA…` key: the caller and the session's
    /// secret. Tampered or foreign tokens are invalid; expired ones are `ExpiredToken`.
    pub async fn resolve_session_token(&self, access_key_id: &str, token: &str, request: RequestFacts) -> IamResult<(Caller, String)> {
        let (caller, secret) = self.open_session_token(access_key_id, token, request).await?;
        self.refuse_closed_account(&caller.account_id).await?;
        Ok((caller, secret))
    }

    async fn open_session_token(&self, access_key_id: &str, token: &str, request: RequestFacts) -> IamResult<(Caller, String)> {
        let invalid = || IamError::InvalidClientTokenId(INVALID_TOKEN.to_owned());
        let sealed = b64d(token).and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
        let json = self.secrets.open(&sealed, TOKEN_AAD).map_err(|_| invalid())?;
        let body: TokenBody = serde_json::from_slice(&json).map_err(|_| invalid())?;
        if body.k != access_key_id {
            return Err(invalid());
        }
        if self.now() >= body.e {
            return Err(IamError::ExpiredToken("The security token included in the request is expired".to_owned()));
        }
        // The user or role behind the session is looked up (it may have been deleted), through
        // the same cache as resolved access keys.
        let principal = match body.p.as_str() {
            "root" => Principal::Root,
            "federated" => {
                let mut tx = self.store.begin_read().await?;
                let user = tx.get_user_by_id(&body.id).await?.ok_or_else(invalid)?;
                Principal::FederatedUser { user, name: body.n.clone() }
            }
            kind @ ("user" | "role") => {
                let cached = self.cache.session_principal(&body.id);
                let p = match cached {
                    Some(p) => p,
                    None => {
                        let generation = self.cache.generation();
                        let mut tx = self.store.begin_read().await?;
                        let p = if kind == "user" {
                            Principal::User(tx.get_user_by_id(&body.id).await?.ok_or_else(invalid)?)
                        } else {
                            let role = tx.get_role_by_id(&body.id).await?.ok_or_else(invalid)?;
                            Principal::AssumedRole { role, session_name: String::new() }
                        };
                        self.cache.put_session_principal(&body.id, generation, &p);
                        p
                    }
                };
                match p {
                    Principal::AssumedRole { role, .. } => Principal::AssumedRole { role, session_name: body.n.clone() },
                    other => other,
                }
            }
            _ => return Err(invalid()),
        };
        let session = Session {
            issued_at: body.i,
            expires_at: body.e,
            mfa_authenticated_at: body.m,
            policies: body.pol,
            source_identity: body.si,
            tags: body.t,
            transitive_tag_keys: body.tt,
        };
        let caller = Caller { account_id: body.a, principal, access_key_id: body.k, session: Some(session), request };
        Ok((caller, body.s))
    }

    /// GetFederationToken: a federated user's session for an IAM user's long-term keys, with
    /// the user's permissions narrowed by the policies passed (none passed: no permissions).
    pub async fn get_federation_token(&self, auth: &crate::Authorized<'_>, input: &FederationInput) -> IamResult<FederatedSession> {
        let caller = auth.caller();
        let user = match (&caller.principal, &caller.session) {
            (Principal::User(u), None) => u.clone(),
            (Principal::Root, None) => {
                return Err(access_denied("Portcullis issues federation tokens for IAM users; the root user should not federate."))
            }
            _ => return Err(access_denied("Cannot call GetFederationToken with session credentials")),
        };
        // Session tags become the session's principal tags: passing them is an action of its
        // own, as for AssumeRole, or a user could give itself the tags tag-based policies trust.
        if !input.tags.is_empty() {
            let arn = format!("arn:aws:sts::{}:federated-user/{}", caller.account_id, input.name);
            self.authorize(caller, &AuthzRequest::new("sts:TagSession", arn).with_request_tags(&input.tags)).await?;
        }
        let duration = input.session.duration.unwrap_or(43_200);
        let policies = self.session_policies(&caller.account_id, &input.session).await?;
        // GetFederationToken always reports the size (0 when nothing was passed), as AWS does.
        let packed = packed_policy_size(true, &policies, &input.tags);
        let now = self.now();
        let (account, user_id, name) = (caller.account_id.clone(), user.user_id.clone(), input.name.clone());
        let credentials = self.issue(|k, s| TokenBody {
            k,
            s,
            a: account.clone(),
            p: "federated".to_owned(),
            id: user_id.clone(),
            n: name.clone(),
            i: now,
            e: now + duration,
            m: None,
            pol: policies,
            si: None,
            t: input.tags.clone(),
            tt: Vec::new(),
        })?;
        Ok(FederatedSession {
            credentials,
            federated_user_id: format!("{account}:{}", input.name),
            arn: format!("arn:aws:sts::{account}:federated-user/{}", input.name),
            packed_policy_size: packed,
        })
    }

    /// GetSessionToken: needs no permission; long-term credentials of a user or root only.
    pub async fn get_session_token(&self, caller: &Caller, duration: Option<i64>, serial: Option<&str>, code: Option<&str>) -> IamResult<TemporaryCredentials> {
        if caller.session.is_some() {
            return Err(access_denied("Cannot call GetSessionToken with session credentials"));
        }
        let (kind, id) = match &caller.principal {
            Principal::Root => ("root", caller.account_id.clone()),
            Principal::User(u) => ("user", u.user_id.clone()),
            Principal::AssumedRole { .. } | Principal::ProviderUser { .. } | Principal::FederatedUser { .. } => {
                return Err(access_denied("Cannot call GetSessionToken with session credentials"))
            }
        };
        let mut duration = duration.unwrap_or(43_200);
        if kind == "root" {
            // Sessions of the root user last at most an hour, as in AWS.
            duration = duration.min(3_600);
        }
        let now = self.now();
        let mfa_at = match (serial, code) {
            (Some(s), Some(c)) => {
                self.check_mfa_code(caller, s, c).await?;
                Some(now)
            }
            (None, None) => None,
            _ => return Err(access_denied("MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.")),
        };
        self.issue_own_session(&caller.account_id, kind, id, duration, mfa_at)
    }

    pub async fn assume_role(&self, caller: &Caller, input: &AssumeRoleInput) -> IamResult<AssumedRole> {
        if matches!(caller.principal, Principal::Root) {
            return Err(access_denied("Roles may not be assumed by root accounts."));
        }
        check_session_tags(caller, &input.tags, &input.transitive_tag_keys)?;
        // A source identity, once set, persists through chained sessions and cannot change.
        if let (Some(set), Some(asked)) = (caller.session.as_ref().and_then(|s| s.source_identity.as_deref()), input.source_identity.as_deref()) {
            if set != asked {
                return Err(access_denied(format!(
                    "User: {} is not authorized to perform: sts:SetSourceIdentity on resource: {} because the session's source identity is already set",
                    caller.arn(),
                    input.role_arn
                )));
            }
        }
        let denied = || access_denied(format!("User: {} is not authorized to perform: sts:AssumeRole on resource: {}", caller.arn(), input.role_arn));
        if Arn::parse(&input.role_arn).is_err() {
            return Err(IamError::Validation(format!("{} is invalid", input.role_arn)));
        }
        // A role of another account of this server can be assumed when its trust policy and
        // the caller's own policies both allow it (decided below as a cross-account request).
        let asked = Arn::parse_iam(&input.role_arn, "role").ok_or_else(denied)?;
        let (role, trust) = self.role_with_trust(&asked, "sts:AssumeRole", denied).await?;
        // A closed account's roles cannot be assumed.
        if self.account_closed(&role.account_id).await? {
            return Err(denied());
        }
        let role_arn = input.role_arn.clone();

        let now = self.now();
        let mut mfa_at = caller.session.as_ref().and_then(|s| s.mfa_authenticated_at);
        match (&input.serial_number, &input.token_code) {
            (Some(s), Some(c)) => {
                self.check_mfa_code(caller, s, c).await?;
                mfa_at = Some(now);
            }
            (None, None) => {}
            _ => return Err(access_denied("MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.")),
        }

        // The trust policy must let the caller in; the caller's own policies must allow
        // sts:AssumeRole unless the trust policy names the caller itself.
        let mut req = AuthzRequest::new("sts:AssumeRole", role_arn.clone())
            .with("sts:RoleSessionName", vec![input.session_name.clone()]);
        if let Some(e) = &input.external_id {
            req = req.with("sts:ExternalId", vec![e.clone()]);
        }
        if let Some(si) = &input.source_identity {
            req = req.with("sts:SourceIdentity", vec![si.clone()]);
        }
        req = req.with_request_tags(&input.tags);
        if !input.transitive_tag_keys.is_empty() {
            req = req.with("sts:TransitiveTagKeys", input.transitive_tag_keys.clone());
        }
        let mut effective = caller.clone();
        if let Some(at) = mfa_at {
            let mut s = effective.session.clone().unwrap_or_default();
            s.mfa_authenticated_at = Some(at);
            if s.issued_at == 0 {
                s.issued_at = now;
            }
            effective.session = Some(s);
        }
        // The same decision as every other action: the trust policy as the role's
        // resource-based policy, with the caller's identity policies, permissions boundary
        // and session policies.
        let decision = self.decide_with(&effective, &req, &[("trust-policy", &trust)]).await?;
        if decision.effect != EvalDecision::Allowed {
            return Err(denied());
        }
        // Passing session tags and a source identity are actions of their own, decided the
        // same way: the trust policy must allow them too (else a caller could give itself
        // the principal tags that tag-based policies trust).
        let mut also = Vec::new();
        if !input.tags.is_empty() || !input.transitive_tag_keys.is_empty() {
            also.push("sts:TagSession");
        }
        if input.source_identity.is_some() {
            also.push("sts:SetSourceIdentity");
        }
        for action in also {
            let asked = AuthzRequest { action: action.to_owned(), ..req.clone() };
            if self.decide_with(&effective, &asked, &[("trust-policy", &trust)]).await?.effect != EvalDecision::Allowed {
                return Err(access_denied(format!("User: {} is not authorized to perform: {action} on resource: {}", caller.arn(), input.role_arn)));
            }
        }

        let chained = matches!(caller.principal, Principal::AssumedRole { .. });
        let duration = input.session.duration.unwrap_or(3_600);
        let max = if chained { 3_600 } else { role.max_session_duration };
        if duration > max {
            return Err(IamError::Validation(format!(
                "The requested DurationSeconds exceeds the {} set for this role.",
                if chained { "1 hour session limit for roles assumed by role chaining" } else { "MaxSessionDuration" }
            )));
        }

        // Managed session policies are the role's account's.
        let policies = self.session_policies(&role.account_id, &input.session).await?;
        // The transitive tags of the calling session carry over into a chained session, and
        // stay transitive; the request cannot set them again.
        let inherited: Vec<String> = caller.session.as_ref().map(|s| s.transitive_tag_keys.clone()).unwrap_or_default();
        let mut tags: Vec<(String, String)> = caller
            .session
            .as_ref()
            .map(|s| s.tags.iter().filter(|(k, _)| inherited.iter().any(|t| t.eq_ignore_ascii_case(k))).cloned().collect())
            .unwrap_or_default();
        tags.extend(input.tags.iter().cloned());
        let mut transitive_tag_keys = inherited;
        transitive_tag_keys.extend(input.transitive_tag_keys.iter().cloned());
        let packed = packed_policy_size(input.session.passes_policies() || !input.tags.is_empty(), &policies, &input.tags);
        let source_identity = input
            .source_identity
            .clone()
            .or_else(|| caller.session.as_ref().and_then(|s| s.source_identity.clone()));
        let session = RoleSession { role: &role, session_name: &input.session_name, duration, mfa_at, policies, source_identity, tags, transitive_tag_keys };
        self.issue_role_session(session, packed)
    }

    /// The role an ARN names (exactly: its path too) and its trust policy, for one of the
    /// AssumeRole* actions; `denied` when there is no such role, or when its stored trust
    /// policy does not parse (a trust policy that cannot be read lets nobody in).
    pub(crate) async fn role_with_trust(
        &self,
        role_arn: &Arn,
        action: &str,
        denied: impl Fn() -> IamError,
    ) -> IamResult<(portcullis_store::RoleRecord, portcullis_policy::Policy)> {
        let role = {
            let mut tx = self.store.begin_read().await?;
            tx.get_role(&role_arn.account, role_arn.name()).await?
        }
        .filter(|r| iam_arn(&role_arn.account, "role", &r.path, &r.name) == role_arn.to_string())
        .ok_or_else(&denied)?;
        let trust = portcullis_policy::parse(&role.assume_role_policy, PolicyKind::Trust).map_err(|e| {
            tracing::error!(role = %role_arn, error = %e.message, action, "stored trust policy does not parse; denied");
            denied()
        })?;
        Ok((role, trust))
    }

    /// The session policies a request passes: its inline `Policy` (checked as a session
    /// policy) and the documents of its `PolicyArns`.
    pub(crate) async fn session_policies(&self, account: &str, ask: &SessionAsk) -> IamResult<Vec<String>> {
        let (policy, policy_arns) = (ask.policy.as_deref(), &ask.policy_arns);
        let mut policies = Vec::new();
        if let Some(p) = policy {
            portcullis_policy::parse(p, PolicyKind::Session).map_err(|e| IamError::MalformedPolicyDocument(e.message))?;
            policies.push(p.to_owned());
        }
        let mut tx = self.store.begin_read().await?;
        for arn in policy_arns {
            let doc = match self.catalog().get(arn) {
                Some(p) => p.document.clone(),
                None => {
                    let rec = tx
                        .get_policy(arn)
                        .await?
                        .filter(|p| p.account_id == account)
                        .ok_or_else(|| IamError::InvalidInput(format!("Policy {arn} does not exist or is not attachable.")))?;
                    tx.get_policy_version(&rec.policy_id, &rec.default_version).await?.map(|v| v.document).unwrap_or_default()
                }
            };
            policies.push(doc);
        }
        Ok(policies)
    }

    /// Temporary credentials of a role session, and what AssumeRole* answer about it.
    pub(crate) fn issue_role_session(&self, s: RoleSession<'_>, packed_policy_size: Option<i64>) -> IamResult<AssumedRole> {
        let now = self.now();
        let account = s.role.account_id.clone();
        let (role_id, session_name) = (s.role.role_id.clone(), s.session_name.to_owned());
        let si = s.source_identity.clone();
        let credentials = self.issue(|k, sealed| TokenBody {
            k,
            s: sealed,
            a: account.clone(),
            p: "role".to_owned(),
            id: role_id.clone(),
            n: session_name.clone(),
            i: now,
            e: now + s.duration,
            m: s.mfa_at,
            pol: s.policies,
            si,
            t: s.tags,
            tt: s.transitive_tag_keys,
        })?;
        Ok(AssumedRole {
            credentials,
            assumed_role_id: format!("{}:{}", s.role.role_id, s.session_name),
            arn: format!("arn:aws:sts::{account}:assumed-role/{}/{}", s.role.name, s.session_name),
            packed_policy_size,
            source_identity: s.source_identity,
        })
    }

    /// GetAccessKeyInfo: the account an access key id belongs to.
    pub async fn access_key_account(&self, caller: &Caller, access_key_id: &str) -> IamResult<String> {
        let mut tx = self.store.begin_read().await?;
        if let Some(k) = tx.get_access_key(access_key_id).await? {
            return Ok(k.account_id);
        }
        // Temporary keys are not stored; this server holds one account per caller.
        Ok(caller.account_id.clone())
    }
}

/// What GetFederationToken was asked.
#[derive(Debug, Clone, Default)]
pub struct FederationInput {
    pub name: String,
    pub session: SessionAsk,
    pub tags: Vec<(String, String)>,
}

/// A federated user's session.
pub struct FederatedSession {
    pub credentials: TemporaryCredentials,
    pub federated_user_id: String,
    pub arn: String,
    pub packed_policy_size: Option<i64>,
}

/// A role session about to be issued.
pub(crate) struct RoleSession<'a> {
    pub role: &'a portcullis_store::RoleRecord,
    pub session_name: &'a str,
    pub duration: i64,
    pub mfa_at: Option<i64>,
    pub policies: Vec<String>,
    pub source_identity: Option<String>,
    pub tags: Vec<(String, String)>,
    /// Keys of `tags` that pass on to sessions assumed from this one.
    pub transitive_tag_keys: Vec<String>,
}

/// Session tags a request passes, checked as AWS does: no key twice (whatever its case),
/// every transitive key among them, none overriding a transitive tag of the calling session.
fn check_session_tags(caller: &Caller, tags: &[(String, String)], transitive: &[String]) -> IamResult<()> {
    let invalid = |m: &str| IamError::InvalidParameterValue(m.to_owned());
    for (i, (k, _)) in tags.iter().enumerate() {
        if tags[..i].iter().any(|(other, _)| other.eq_ignore_ascii_case(k)) {
            return Err(invalid("Duplicate tag keys found. Please note that Tag keys are case insensitive."));
        }
    }
    if transitive.iter().any(|t| !tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(t))) {
        return Err(invalid("The specified transitive tag key must be included in the requested tags."));
    }
    let inherited = caller.session.as_ref().map(|s| s.transitive_tag_keys.as_slice()).unwrap_or_default();
    if tags.iter().any(|(k, _)| inherited.iter().any(|t| t.eq_ignore_ascii_case(k))) {
        return Err(invalid("One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session."));
    }
    Ok(())
}

/// How full the session policies and tags a request passed are, in percent of what fits
/// (AWS's `PackedPolicySize`), when it passed any.
pub(crate) fn packed_policy_size(passed: bool, policies: &[String], tags: &[(String, String)]) -> Option<i64> {
    passed.then(|| {
        let size: usize =
            policies.iter().map(|p| portcullis_policy::policy_size(p)).sum::<usize>() + tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        i64::try_from(size * 100 / 2048).unwrap_or(100).min(100)
    })
}

/// URL-safe base64 for session tokens (the sealed form is standard base64, which may hold
/// `+` and `/`; clients pass tokens in headers and query strings alike).
mod base64_url {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    pub fn encode(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(s: &str) -> Option<Vec<u8>> {
        URL_SAFE_NO_PAD.decode(s).ok()
    }
}
