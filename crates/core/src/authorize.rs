//! Authorization of every request: the caller's policies (cached per principal), the
//! request's context keys, and AWS's evaluation logic from `portcullis-policy`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use portcullis_policy::{evaluate, AttachedPolicy, EvalDecision, Policy, PolicyKind, PolicySet, PrincipalType, RequestContext, RequestPrincipal};
use portcullis_store::{PrincipalKind, TagTarget, Tx};

use crate::{Authorized, Caller, Federation, Iam, IamError, IamResult, Principal};

/// How long a cached policy set may be used without re-reading the store. Writes through
/// this node invalidate at once; this bounds staleness from other nodes sharing PostgreSQL.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// What the authorizer is asked: an action on a resource, with request-specific context
/// keys (`aws:RequestTag/…`, `iam:PolicyARN`, …).
#[derive(Debug, Clone, Default)]
pub struct AuthzRequest {
    pub action: String,
    pub resource: String,
    pub context: Vec<(String, Vec<String>)>,
}

impl AuthzRequest {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self { action: action.into(), resource: resource.into(), context: Vec::new() }
    }

    pub fn with(mut self, key: &str, values: Vec<String>) -> Self {
        self.context.push((key.to_owned(), values));
        self
    }

    /// `aws:RequestTag/KEY` for each tag the request carries, and `aws:TagKeys`.
    pub fn with_request_tags(mut self, tags: &[(String, String)]) -> Self {
        if tags.is_empty() {
            return self;
        }
        for (k, v) in tags {
            self = self.with(&format!("aws:RequestTag/{k}"), vec![v.clone()]);
        }
        self.with("aws:TagKeys", tags.iter().map(|(k, _)| k.clone()).collect())
    }
}

/// One of a principal's policies as stored: its name, where it comes from, its text and its
/// parse.
pub(crate) struct StoredPolicy {
    pub name: String,
    /// As the simulator names sources: `user`, `group` or `role` for inline policies,
    /// `aws-managed` or `user-managed` for managed ones.
    pub origin: &'static str,
    pub text: String,
    /// `None` when the stored document does not parse. It cannot be stored through the API,
    /// but a stricter parser or an edited database can leave one behind; since it may hold a
    /// Deny, every decision that needs it fails closed.
    pub policy: Option<Arc<Policy>>,
}

/// A principal's identity-based policies and permissions boundary, as stored.
pub(crate) struct StoredPolicies {
    pub identity: Vec<StoredPolicy>,
    pub boundary: Option<StoredPolicy>,
}

impl StoredPolicies {
    /// The names of the policies whose stored documents do not parse.
    pub fn unreadable(&self) -> Vec<String> {
        self.identity.iter().chain(&self.boundary).filter(|p| p.policy.is_none()).map(|p| p.name.clone()).collect()
    }
}

/// A principal's identity-based policies, parsed once.
#[derive(Debug, Default)]
pub(crate) struct PrincipalPolicies {
    pub identity: Vec<(String, Arc<Policy>)>,
    pub boundary: Option<(String, Arc<Policy>)>,
    pub tags: Vec<(String, String)>,
    /// Policies that apply but whose stored documents do not parse: every request is denied.
    pub unreadable: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct PolicyCache {
    generation: AtomicU64,
    entries: RwLock<HashMap<String, (u64, Instant, Arc<PrincipalPolicies>)>>,
    /// AWS-managed documents parsed once per process.
    managed: RwLock<HashMap<String, Arc<Policy>>>,
    /// Session policies parsed once per distinct document (a session's requests all carry
    /// the same ones); unbounded growth is cut by clearing.
    session_docs: RwLock<HashMap<String, Arc<Policy>>>,
    /// Long-term access keys already resolved: (generation, when, account, principal, secret).
    keys: RwLock<HashMap<String, (u64, Instant, String, Principal, String)>>,
    /// Users and roles behind session tokens, by unique id: (generation, when, principal).
    sessions: RwLock<HashMap<String, (u64, Instant, Principal)>>,
    /// Resource ARNs (with paths) and tags of named users, groups and roles.
    resources: RwLock<HashMap<String, (u64, Instant, String, Vec<(String, String)>)>>,
    /// The service control policies of accounts, by account id (`None`: none apply).
    scps: RwLock<HashMap<String, (u64, Instant, Option<Arc<crate::org::ScpLevels>>)>>,
    /// Whether accounts are closed (suspended members of an organization).
    closed: RwLock<HashMap<String, (u64, Instant, bool)>>,
}

/// Parses a stored document; one that does not parse is logged (by name, never its text)
/// and left as `None`, which denies every decision that needs it.
fn parse_stored(name: &str, text: &str, kind: PolicyKind) -> Option<Arc<Policy>> {
    match portcullis_policy::parse(text, kind) {
        Ok(p) => Some(Arc::new(p)),
        Err(e) => {
            tracing::error!(policy = name, kind = ?kind, error = %e.message, "stored policy does not parse; requests that need it are denied");
            None
        }
    }
}

impl PolicyCache {
    /// A session policy document, parsed; `None` if it does not parse (it was validated
    /// when the session was issued, so this only happens when a stricter parser meets an
    /// older token, and the request is then denied).
    fn session_policy(&self, doc: &str) -> Option<Arc<Policy>> {
        if let Some(p) = self.session_docs.read().ok().and_then(|m| m.get(doc).cloned()) {
            return Some(p);
        }
        let parsed = parse_stored("session policy", doc, PolicyKind::Session)?;
        if let Ok(mut m) = self.session_docs.write() {
            if m.len() >= 10_000 {
                m.clear();
            }
            m.insert(doc.to_owned(), parsed.clone());
        }
        Some(parsed)
    }

    /// Called after any write that may change who may do what.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn get(&self, key: &str) -> Option<Arc<PrincipalPolicies>> {
        let generation = self.generation.load(Ordering::Acquire);
        let entries = self.entries.read().ok()?;
        let (g, at, p) = entries.get(key)?;
        (*g == generation && at.elapsed() < CACHE_TTL).then(|| p.clone())
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A resolved access key, if still fresh.
    pub(crate) fn key(&self, id: &str) -> Option<(String, Principal, String)> {
        let generation = self.generation();
        let keys = self.keys.read().ok()?;
        let (g, at, account, principal, secret) = keys.get(id)?;
        (*g == generation && at.elapsed() < CACHE_TTL).then(|| (account.clone(), principal.clone(), secret.clone()))
    }

    pub(crate) fn put_key(&self, id: &str, generation: u64, account: &str, principal: &Principal, secret: &str) {
        if let Ok(mut keys) = self.keys.write() {
            if keys.len() > 100_000 {
                keys.clear();
            }
            keys.insert(id.to_owned(), (generation, Instant::now(), account.to_owned(), principal.clone(), secret.to_owned()));
        }
    }

    fn resource(&self, key: &str) -> Option<(String, Vec<(String, String)>)> {
        let generation = self.generation();
        let map = self.resources.read().ok()?;
        let (g, at, arn, tags) = map.get(key)?;
        (*g == generation && at.elapsed() < CACHE_TTL).then(|| (arn.clone(), tags.clone()))
    }

    fn put_resource(&self, key: String, generation: u64, arn: &str, tags: &[(String, String)]) {
        if let Ok(mut map) = self.resources.write() {
            if map.len() > 100_000 {
                map.clear();
            }
            map.insert(key, (generation, Instant::now(), arn.to_owned(), tags.to_vec()));
        }
    }

    /// The principal behind a session token, if still fresh.
    pub(crate) fn session_principal(&self, id: &str) -> Option<Principal> {
        let generation = self.generation();
        let map = self.sessions.read().ok()?;
        let (g, at, p) = map.get(id)?;
        (*g == generation && at.elapsed() < CACHE_TTL).then(|| p.clone())
    }

    pub(crate) fn put_session_principal(&self, id: &str, generation: u64, p: &Principal) {
        if let Ok(mut map) = self.sessions.write() {
            if map.len() > 100_000 {
                map.clear();
            }
            map.insert(id.to_owned(), (generation, Instant::now(), p.clone()));
        }
    }

    /// An account's service control policies, if still fresh.
    pub(crate) fn scps(&self, account: &str) -> Option<Option<Arc<crate::org::ScpLevels>>> {
        let generation = self.generation();
        let map = self.scps.read().ok()?;
        let (g, at, levels) = map.get(account)?;
        (*g == generation && at.elapsed() < CACHE_TTL).then(|| levels.clone())
    }

    pub(crate) fn put_scps(&self, account: &str, generation: u64, levels: Option<Arc<crate::org::ScpLevels>>) {
        if let Ok(mut map) = self.scps.write() {
            if map.len() > 100_000 {
                map.clear();
            }
            map.insert(account.to_owned(), (generation, Instant::now(), levels));
        }
    }

    pub(crate) fn closed(&self, account: &str) -> Option<bool> {
        let generation = self.generation();
        let map = self.closed.read().ok()?;
        let (g, at, closed) = map.get(account)?;
        (*g == generation && at.elapsed() < CACHE_TTL).then_some(*closed)
    }

    pub(crate) fn put_closed(&self, account: &str, generation: u64, closed: bool) {
        if let Ok(mut map) = self.closed.write() {
            if map.len() > 100_000 {
                map.clear();
            }
            map.insert(account.to_owned(), (generation, Instant::now(), closed));
        }
    }

    fn put(&self, key: String, generation: u64, p: Arc<PrincipalPolicies>) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() > 100_000 {
                entries.clear();
            }
            entries.insert(key, (generation, Instant::now(), p));
        }
    }
}

/// The outcome of `Iam::decide`.
#[derive(Debug, Clone)]
pub struct AuthzDecision {
    pub effect: EvalDecision,
    /// AWS's AccessDenied message when the request is denied.
    pub denial: Option<String>,
    /// (policy name, statement index, Sid) of the statements that decided.
    pub matched: Vec<(String, usize, Option<String>)>,
}

fn deny_message(caller: &Caller, req: &AuthzRequest, why: &str) -> String {
    format!(
        "User: {} is not authorized to perform: {} on resource: {} {why}",
        caller.arn(),
        req.action,
        req.resource
    )
}

impl Iam {
    /// Marks cached authorization data stale (after IAM writes).
    pub fn invalidate_authorization_cache(&self) {
        self.cache.invalidate();
    }

    /// The default version of a managed policy (AWS catalog or customer), parsed; AWS-managed
    /// documents are parsed once per process.
    pub(crate) async fn managed_policy(&self, tx: &mut Box<dyn Tx>, arn: &str, kind: PolicyKind) -> IamResult<Option<StoredPolicy>> {
        if let Some(p) = self.catalog().get(arn) {
            let cached = self.cache.managed.read().ok().and_then(|m| m.get(arn).cloned()).filter(|hit| hit.kind() == kind);
            let parsed = match cached {
                Some(hit) => Some(hit),
                None => {
                    let parsed = parse_stored(&p.name, &p.document, kind);
                    if let (Some(parsed), Ok(mut m)) = (&parsed, self.cache.managed.write()) {
                        m.insert(arn.to_owned(), parsed.clone());
                    }
                    parsed
                }
            };
            return Ok(Some(StoredPolicy { name: p.name.clone(), origin: "aws-managed", text: p.document.clone(), policy: parsed }));
        }
        let Some(rec) = tx.get_policy(arn).await? else { return Ok(None) };
        let Some(v) = tx.get_policy_version(&rec.policy_id, &rec.default_version).await? else { return Ok(None) };
        let policy = parse_stored(&rec.name, &v.document, kind);
        Ok(Some(StoredPolicy { name: rec.name, origin: "user-managed", text: v.document, policy }))
    }

    /// An attached policy or boundary by ARN; one that no longer resolves (deleted behind
    /// the API's back, or gone from the AWS catalog) is unreadable, so it denies rather
    /// than vanish: a boundary that vanished would lift every limit it set.
    async fn managed_or_missing(&self, tx: &mut Box<dyn Tx>, arn: &str, kind: PolicyKind) -> IamResult<StoredPolicy> {
        if let Some(found) = self.managed_policy(tx, arn, kind).await? {
            return Ok(found);
        }
        tracing::error!(policy = arn, kind = ?kind, "attached policy does not exist; requests that need it are denied");
        Ok(StoredPolicy { name: arn.to_owned(), origin: "user-managed", text: String::new(), policy: None })
    }

    /// The identity-based policies of some owners (a user and its groups, a group, a role) and
    /// a permissions boundary, as stored: the one loader behind authorization and the
    /// simulator.
    pub(crate) async fn stored_policies(&self, tx: &mut Box<dyn Tx>, owners: &[(PrincipalKind, String)], boundary_arn: Option<&str>) -> IamResult<StoredPolicies> {
        let mut identity = Vec::new();
        for (kind, id) in owners {
            for name in tx.inline_policy_names(*kind, id).await? {
                if let Some(text) = tx.get_inline_policy(*kind, id, &name).await? {
                    let policy = parse_stored(&name, &text, PolicyKind::Identity);
                    identity.push(StoredPolicy { name, origin: kind.as_str(), text, policy });
                }
            }
            for arn in tx.attached_policies(*kind, id).await? {
                identity.push(self.managed_or_missing(tx, &arn, PolicyKind::Identity).await?);
            }
        }
        let boundary = match boundary_arn {
            Some(b) => Some(self.managed_or_missing(tx, b, PolicyKind::PermissionsBoundary).await?),
            None => None,
        };
        Ok(StoredPolicies { identity, boundary })
    }

    /// Loads the identity policies of a user (its own and its groups') or a role.
    async fn load_principal_policies(&self, kind: PrincipalKind, id: &str, boundary_arn: Option<&str>) -> IamResult<PrincipalPolicies> {
        let mut tx = self.store.begin_read().await?;
        let mut owners = vec![(kind, id.to_owned())];
        if kind == PrincipalKind::User {
            for g in tx.groups_for_user(id).await? {
                owners.push((PrincipalKind::Group, g.group_id));
            }
        }
        let stored = self.stored_policies(&mut tx, &owners, boundary_arn).await?;
        let unreadable = stored.unreadable();
        let parsed = |p: StoredPolicy| p.policy.map(|policy| (p.name, policy));
        let target = if kind == PrincipalKind::Role { TagTarget::Role } else { TagTarget::User };
        Ok(PrincipalPolicies {
            identity: stored.identity.into_iter().filter_map(parsed).collect(),
            boundary: stored.boundary.and_then(parsed),
            tags: tx.tags(target, id).await?.into_iter().map(|t| (t.key, t.value)).collect(),
            unreadable,
        })
    }

    pub(crate) async fn principal_policies(&self, caller: &Caller) -> IamResult<Arc<PrincipalPolicies>> {
        let (kind, id, boundary) = match &caller.principal {
            Principal::Root | Principal::ProviderUser { .. } => return Ok(Arc::new(PrincipalPolicies::default())),
            Principal::User(u) => (PrincipalKind::User, u.user_id.clone(), u.permissions_boundary.clone()),
            Principal::AssumedRole { role, .. } => (PrincipalKind::Role, role.role_id.clone(), role.permissions_boundary.clone()),
            Principal::FederatedUser { user, .. } => (PrincipalKind::User, user.user_id.clone(), user.permissions_boundary.clone()),
        };
        if let Some(hit) = self.cache.get(&id) {
            return Ok(hit);
        }
        let generation = self.cache.generation.load(Ordering::Acquire);
        let loaded = Arc::new(self.load_principal_policies(kind, &id, boundary.as_deref()).await?);
        self.cache.put(id, generation, loaded.clone());
        Ok(loaded)
    }

    /// The request context AWS would build for this caller and request.
    pub(crate) fn request_context(&self, caller: &Caller, req: &AuthzRequest, tags: &[(String, String)]) -> RequestContext {
        let account = &caller.account_id;
        let principal = match &caller.principal {
            Principal::Root => RequestPrincipal::root(account),
            Principal::User(_) => RequestPrincipal::user(account, &caller.arn()),
            Principal::AssumedRole { role, .. } => {
                RequestPrincipal::assumed_role(account, &crate::iam_arn(account, "role", &role.path, &role.name), &caller.arn())
            }
            Principal::ProviderUser { protocol, provider_arn, .. } => RequestPrincipal::provider_user(
                match protocol {
                    Federation::WebIdentity => PrincipalType::WebIdentity,
                    Federation::Saml => PrincipalType::SamlUser,
                },
                provider_arn,
            ),
            Principal::FederatedUser { .. } => RequestPrincipal::federated_user(account, &caller.arn()),
        };
        let mut ctx = RequestContext::new(&req.action, &req.resource, principal);
        let now = self.now();
        ctx.set_time(now);
        let user_name = match &caller.principal {
            Principal::User(u) => Some(u.name.as_str()),
            _ => None,
        };
        let tag_refs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        ctx.set_principal_keys(user_name, &caller.user_id(), &tag_refs);
        let facts = &caller.request;
        if let Some(ip) = &facts.source_ip {
            ctx.set_one("aws:SourceIp", ip);
        }
        ctx.set_one("aws:SecureTransport", if facts.secure_transport { "true" } else { "false" });
        if !facts.region.is_empty() {
            ctx.set_one("aws:RequestedRegion", &facts.region);
        }
        if let Some(ua) = &facts.user_agent {
            ctx.set_one("aws:UserAgent", ua);
        }
        // Long-term credentials carry no MFA keys at all (hence BoolIfExists in policies).
        if let Some(s) = &caller.session {
            ctx.set_one("aws:TokenIssueTime", &portcullis_policy::format_iso8601(s.issued_at));
            match s.mfa_authenticated_at {
                Some(at) => {
                    ctx.set_one("aws:MultiFactorAuthPresent", "true");
                    ctx.set_one("aws:MultiFactorAuthAge", &(now - at).max(0).to_string());
                }
                None => {
                    ctx.set_one("aws:MultiFactorAuthPresent", "false");
                }
            }
            if let Some(si) = &s.source_identity {
                ctx.set_one("aws:SourceIdentity", si);
            }
            for (k, v) in &s.tags {
                ctx.set_one(&format!("aws:PrincipalTag/{k}"), v);
            }
        }
        for (k, v) in &req.context {
            ctx.set(k, v.clone());
        }
        ctx
    }

    /// ChangePassword: AllowUsersToChangePassword in the password policy lets every IAM
    /// user change its own password without a policy granting it; an explicit Deny applies.
    pub async fn authorize_change_password<'a>(&self, caller: &'a Caller, req: &AuthzRequest) -> IamResult<Authorized<'a>> {
        let d = self.decide(caller, req).await?;
        // The password policy stands in for an identity policy, not for the organization's
        // service control policies: they must still allow the change.
        let implied = d.effect == EvalDecision::ImplicitDeny
            && caller.user().is_some()
            && self.users_may_change_password(&caller.account_id).await?
            && self.scps_allow(caller, req).await?;
        match d.denial {
            Some(message) if !implied => Err(IamError::AccessDenied(message)),
            _ => Ok(Authorized::new(caller)),
        }
    }

    /// Authorizes a request: the capability on Allow, AWS's AccessDenied otherwise.
    pub async fn authorize<'a>(&self, caller: &'a Caller, req: &AuthzRequest) -> IamResult<Authorized<'a>> {
        let d = self.decide(caller, req).await?;
        match d.denial {
            None => {
                self.note_access(caller, &req.action);
                Ok(Authorized::new(caller))
            }
            Some(message) => Err(IamError::AccessDenied(message)),
        }
    }

    /// Decides a request with AWS's evaluation logic; see [`Iam::decide_with`].
    pub async fn decide(&self, caller: &Caller, req: &AuthzRequest) -> IamResult<AuthzDecision> {
        self.decide_with(caller, req, &[]).await
    }

    /// Whether the caller's service control policies (if any) allow a request at every level.
    async fn scps_allow(&self, caller: &Caller, req: &AuthzRequest) -> IamResult<bool> {
        let Some(levels) = self.caller_scps(caller).await? else { return Ok(true) };
        let policies = self.principal_policies(caller).await?;
        let ctx = self.request_context(caller, req, &policies.tags);
        Ok(levels.iter().all(|level| {
            let set = PolicySet { identity: level.policies.iter().map(|(n, p)| (n.as_str(), p.as_ref())).collect(), ..Default::default() };
            evaluate(&set, &ctx).is_allowed()
        }))
    }

    /// The service control policies that limit a caller: `None` outside an organization, in
    /// its management account, and for service-linked roles (which SCPs never limit).
    async fn caller_scps(&self, caller: &Caller) -> IamResult<Option<Arc<crate::org::ScpLevels>>> {
        if caller.account_id.is_empty() {
            return Ok(None);
        }
        if let Principal::AssumedRole { role, .. } = &caller.principal {
            if role.path.starts_with("/aws-service-role/") {
                return Ok(None);
            }
        }
        self.scp_levels(&caller.account_id).await
    }

    /// The one decision function every action goes through, IAM's, STS's and the
    /// authorization endpoint's alike: the caller's identity-based policies, the target's
    /// resource-based policies (a role's trust policy for `sts:AssumeRole`), the permissions
    /// boundary, the session policies and the service control policies of the caller's
    /// organization, combined by `portcullis_policy::evaluate`. The root user may do
    /// everything its resource's policies and its SCPs let it. A policy that applies but
    /// cannot be read denies.
    pub async fn decide_with(&self, caller: &Caller, req: &AuthzRequest, resource: &[AttachedPolicy<'_>]) -> IamResult<AuthzDecision> {
        let decision = self.evaluate_request(caller, req, resource).await?;
        let effect = match decision.effect {
            EvalDecision::Allowed => "allow",
            EvalDecision::ExplicitDeny => "explicit_deny",
            EvalDecision::ImplicitDeny => "implicit_deny",
        };
        metrics::counter!("portcullis_authorization_decisions_total", "decision" => effect).increment(1);
        Ok(decision)
    }

    async fn evaluate_request(&self, caller: &Caller, req: &AuthzRequest, resource: &[AttachedPolicy<'_>]) -> IamResult<AuthzDecision> {
        let allowed = || AuthzDecision { effect: EvalDecision::Allowed, denial: None, matched: Vec::new() };
        let scps = self.caller_scps(caller).await?;
        let root_session_policies = caller.session.as_ref().is_some_and(|s| !s.policies.is_empty());
        // A resource of another account (an ARN naming an account that is not the caller's;
        // AWS-owned `aws` ARNs excepted) needs that account's resource-based policy too.
        let resource_account = req.resource.split(':').nth(4).unwrap_or_default();
        // (AssumeRoot names a member account's root: the organization's management stands in
        // for that account's consent, and the organization's own checks decide it.)
        let cross_account = !caller.account_id.is_empty()
            && !resource_account.is_empty()
            && resource_account != "aws"
            // (a pattern such as `arn:aws:iam::*:user/alice`, which a permission check asks
            // about, names no other account)
            && !resource_account.contains(['*', '?'])
            && resource_account != caller.account_id
            && req.action != "sts:AssumeRoot"
            // (Organizations' objects are the management account's; who may act on them the
            // organization itself decides: management or delegated administrator.)
            && !req.resource.starts_with("arn:aws:organizations:");
        if matches!(caller.principal, Principal::Root) && resource.is_empty() && scps.is_none() && !root_session_policies && !cross_account {
            return Ok(allowed());
        }
        let policies = self.principal_policies(caller).await?;
        let session_docs = caller.session.as_ref().map(|s| s.policies.as_slice()).unwrap_or_default();
        // A federated user's session has only what its session policies give (none: nothing).
        if matches!(caller.principal, Principal::FederatedUser { .. }) && session_docs.is_empty() {
            let why = format!("because no session policy allows the {} action", req.action);
            return Ok(AuthzDecision { effect: EvalDecision::ImplicitDeny, denial: Some(deny_message(caller, req, &why)), matched: Vec::new() });
        }
        let session_policies: Vec<Option<Arc<Policy>>> = session_docs.iter().map(|doc| self.cache.session_policy(doc)).collect();
        let mut unreadable = policies.unreadable.clone();
        unreadable.extend(session_policies.iter().enumerate().filter(|(_, p)| p.is_none()).map(|(i, _)| format!("session-{i}")));
        if let Some(first) = unreadable.first() {
            tracing::error!(principal = %caller.arn(), action = %req.action, policy = %first, "request denied: a policy that applies does not parse");
            let why = format!("because the stored policy {first} that applies to the caller could not be read");
            return Ok(AuthzDecision { effect: EvalDecision::ExplicitDeny, denial: Some(deny_message(caller, req, &why)), matched: Vec::new() });
        }
        let session_names: Vec<String> = (0..session_policies.len()).map(|i| format!("session-{i}")).collect();
        let ctx = self.request_context(caller, req, &policies.tags);
        let set = PolicySet {
            identity: policies.identity.iter().map(|(n, p)| (n.as_str(), p.as_ref())).collect(),
            resource: resource.to_vec(),
            boundary: policies.boundary.as_ref().map(|(n, p)| (n.as_str(), p.as_ref())),
            session: session_names.iter().zip(session_policies.iter().flatten()).map(|(n, p)| (n.as_str(), p.as_ref())).collect(),
            scps: scps.as_deref().map(|levels| levels.iter().map(|l| l.policies.iter().map(|(n, p)| (n.as_str(), p.as_ref())).collect()).collect()).unwrap_or_default(),
            cross_account,
        };
        let decision = evaluate(&set, &ctx);
        let matched = decision.matched.iter().map(|m| (m.policy_id.to_owned(), m.statement_index, m.sid.map(str::to_owned))).collect();
        let denial = match decision.effect {
            EvalDecision::Allowed => None,
            EvalDecision::ExplicitDeny => {
                let kind = decision.matched.first().map(|m| m.policy_kind);
                let where_ = match kind {
                    Some(PolicyKind::PermissionsBoundary) => "a permissions boundary",
                    Some(PolicyKind::Session) => "a session policy",
                    Some(PolicyKind::Resource) | Some(PolicyKind::Trust) => "a resource-based policy",
                    Some(PolicyKind::Scp) => "a service control policy",
                    _ => "an identity-based policy",
                };
                Some(deny_message(caller, req, &format!("with an explicit deny in {where_}")))
            }
            EvalDecision::ImplicitDeny => {
                // Say which layer withheld the Allow, as AWS's messages do.
                let only = |p: Vec<AttachedPolicy<'_>>| evaluate(&PolicySet { identity: p, ..Default::default() }, &ctx).is_allowed();
                let why = if set.scps.iter().any(|level| !only(level.clone())) {
                    "no service control policy allows"
                } else if (cross_account && (resource.is_empty() || !only(resource.to_vec())))
                    || (!resource.is_empty() && !only(resource.to_vec()) && !only(set.identity.clone()))
                {
                    "no resource-based policy allows"
                } else if !only(set.identity.clone()) {
                    "no identity-based policy allows"
                } else if set.boundary.is_some_and(|b| !only(vec![b])) {
                    "no permissions boundary allows"
                } else {
                    "no session policy allows"
                };
                Some(deny_message(caller, req, &format!("because {why} the {} action", req.action)))
            }
        };
        Ok(AuthzDecision { effect: decision.effect, denial, matched })
    }
}

/// Kinds of IAM resources a request can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    User,
    Group,
    Role,
    InstanceProfile,
    ServerCertificate,
}

impl Iam {
    /// The ARN of a named user, group or role, with its path when it exists (AWS authorizes
    /// against the full ARN), and its tags for `iam:ResourceTag/…`. A name that does not
    /// exist yields the path-less ARN; the operation itself then answers NoSuchEntity.
    pub async fn resource_arn(&self, account: &str, kind: ResourceKind, name: &str) -> IamResult<(String, Vec<(String, String)>)> {
        // Cached like policies: any IAM write through this server makes entries stale.
        let key = format!("{account}/{kind:?}/{}", name.to_lowercase());
        if let Some(hit) = self.cache.resource(&key) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let found = self.lookup_resource_arn(account, kind, name).await?;
        self.cache.put_resource(key, generation, &found.0, &found.1);
        Ok(found)
    }

    async fn lookup_resource_arn(&self, account: &str, kind: ResourceKind, name: &str) -> IamResult<(String, Vec<(String, String)>)> {
        let mut tx = self.store.begin_read().await?;
        let found = match kind {
            ResourceKind::User => match tx.get_user(account, name).await? {
                Some(u) => {
                    let tags = tx.tags(TagTarget::User, &u.user_id).await?;
                    Some((crate::iam_arn(account, "user", &u.path, &u.name), tags))
                }
                None => None,
            },
            ResourceKind::Group => tx.get_group(account, name).await?.map(|g| (crate::iam_arn(account, "group", &g.path, &g.name), Vec::new())),
            ResourceKind::Role => match tx.get_role(account, name).await? {
                Some(r) => {
                    let tags = tx.tags(TagTarget::Role, &r.role_id).await?;
                    Some((crate::iam_arn(account, "role", &r.path, &r.name), tags))
                }
                None => None,
            },
            ResourceKind::ServerCertificate => match tx.get_server_certificate(account, name).await? {
                Some(c) => {
                    let tags = tx.tags(TagTarget::ServerCertificate, &c.server_certificate_id).await?;
                    Some((crate::iam_arn(account, "server-certificate", &c.path, &c.name), tags))
                }
                None => None,
            },
            ResourceKind::InstanceProfile => match tx.get_instance_profile(account, name).await? {
                Some(p) => {
                    let tags = tx.tags(TagTarget::InstanceProfile, &p.instance_profile_id).await?;
                    Some((crate::iam_arn(account, "instance-profile", &p.path, &p.name), tags))
                }
                None => None,
            },
        };
        let prefix = match kind {
            ResourceKind::User => "user",
            ResourceKind::Group => "group",
            ResourceKind::Role => "role",
            ResourceKind::InstanceProfile => "instance-profile",
            ResourceKind::ServerCertificate => "server-certificate",
        };
        Ok(match found {
            Some((arn, tags)) => (arn, tags.into_iter().map(|t| (t.key, t.value)).collect()),
            None => (crate::iam_arn(account, prefix, "/", name), Vec::new()),
        })
    }

    /// The user that owns an access key, as a name (for authorizing GetAccessKeyLastUsed).
    pub async fn access_key_owner(&self, account: &str, key_id: &str) -> IamResult<Option<String>> {
        let mut tx = self.store.begin_read().await?;
        let Some(key) = tx.get_access_key(key_id).await?.filter(|k| k.account_id == account) else { return Ok(None) };
        match key.user_id {
            Some(uid) => Ok(tx.get_user_by_id(&uid).await?.map(|u| u.name)),
            None => Ok(None),
        }
    }
}

const MESSAGE_AAD: &str = "authorization-message:v1";

impl Iam {
    /// An encoded authorization message (as EC2 and other services return with a denial),
    /// which `sts:DecodeAuthorizationMessage` turns back into its JSON. Sealed, so only this
    /// server can read it.
    pub fn encode_authorization_message(&self, caller: &Caller, req: &AuthzRequest, d: &AuthzDecision) -> IamResult<String> {
        let statements: Vec<serde_json::Value> = d
            .matched
            .iter()
            .map(|(policy, index, sid)| serde_json::json!({"policy": policy, "statementIndex": index, "sid": sid}))
            .collect();
        let context: serde_json::Map<String, serde_json::Value> =
            req.context.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect();
        let body = serde_json::json!({
            "allowed": d.effect == EvalDecision::Allowed,
            "explicitDeny": d.effect == EvalDecision::ExplicitDeny,
            "matchedStatements": {"items": statements},
            "failures": {"items": []},
            "context": {
                "principal": {"id": caller.user_id(), "arn": caller.arn()},
                "action": req.action,
                "resource": req.resource,
                "conditions": {"items": context},
            },
        });
        let sealed = self.secrets.seal(body.to_string().as_bytes(), MESSAGE_AAD)?;
        Ok(sealed)
    }

    /// DecodeAuthorizationMessage: the JSON inside a message this server encoded.
    pub fn decode_authorization_message(&self, encoded: &str) -> IamResult<String> {
        let invalid = || IamError::InvalidAuthorizationMessage("The message is not a valid authorization message.".to_owned());
        let bytes = self.secrets.open(encoded.trim(), MESSAGE_AAD).map_err(|_| invalid())?;
        String::from_utf8(bytes).map_err(|_| invalid())
    }
}
