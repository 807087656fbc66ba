//! Temporary delegation: a partner asks for permissions in a customer's account
//! (CreateDelegationRequest), the customer takes the request (AssociateDelegationRequest),
//! may forward it (UpdateDelegationRequest), accepts or rejects it, and sends the partner a
//! trade-in token (SendDelegationToken), which the partner exchanges with STS
//! GetDelegatedAccessToken for temporary credentials of the accepting identity, narrowed to
//! the request's permission policy. GetHumanReadableSummary describes a request's policy.
//!
//! States: UNASSIGNED (a day to be taken) → ASSIGNED → PENDING_APPROVAL → ACCEPTED →
//! FINALIZED, or REJECTED; a request not moved on in time (seven days once taken) is
//! EXPIRED. The permission policy is the policy template (a managed policy: AWS's or the
//! partner account's) with each `{{Name}}` replaced by its parameter's value.
//!
//! The token is delivered to the request's notification channel: Portcullis has no SNS, so
//! it keeps what it sends in an outbox that test mode shows at `/_portcullis/notifications`.

use serde::{Deserialize, Serialize};
use sha2::Digest;

use portcullis_policy::PolicyKind;
use portcullis_store::DelegationRequestRecord;

use crate::sts::{RoleSession, TemporaryCredentials};
use crate::{Authorized, Caller, Iam, IamError, IamResult, Principal};

const UNASSIGNED_FOR: i64 = 86_400;
const OWNED_FOR: i64 = 7 * 86_400;

/// A policy parameter of a delegation request's permissions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PolicyParameter {
    pub name: String,
    pub values: Vec<String>,
    /// `string` or `stringList`.
    pub kind: Option<String>,
}

/// What CreateDelegationRequest was asked.
#[derive(Debug, Clone, Default)]
pub struct NewDelegationRequest {
    pub owner_account_id: Option<String>,
    pub description: String,
    pub policy_template_arn: String,
    pub parameters: Vec<PolicyParameter>,
    pub request_message: Option<String>,
    pub workflow_id: String,
    pub redirect_url: Option<String>,
    pub notification_channel: String,
    pub session_duration: i64,
    pub only_send_by_owner: bool,
}

/// The parts of a request kept as a document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Body {
    description: String,
    request_message: Option<String>,
    policy_template_arn: String,
    parameters: Vec<PolicyParameter>,
    permission_policy: String,
    redirect_url: Option<String>,
    notification_channel: String,
    session_duration: i64,
    only_send_by_owner: bool,
    requestor_name: String,
    expires_at: i64,
    updated_at: i64,
    notes: Option<String>,
    rejection_reason: Option<String>,
    /// Who accepted: their ARN, and whose session to issue (`user` and the user id, or
    /// `role` and the role id).
    approver: Option<(String, String, String)>,
    finalized_at: Option<i64>,
    token_exchanged: bool,
}

/// A delegation request as GetDelegationRequest and ListDelegationRequests show it.
#[derive(Debug, Clone)]
pub struct DelegationRequestView {
    pub id: String,
    pub owner_account_id: Option<String>,
    pub description: String,
    pub request_message: Option<String>,
    pub policy_template_arn: String,
    pub parameters: Vec<PolicyParameter>,
    pub permission_policy: String,
    pub owner_id: Option<String>,
    pub approver_id: Option<String>,
    pub state: String,
    pub expiration_time: i64,
    pub requestor_id: String,
    pub requestor_name: String,
    pub created_at: i64,
    pub session_duration: i64,
    pub redirect_url: Option<String>,
    pub notes: Option<String>,
    pub rejection_reason: Option<String>,
    pub only_send_by_owner: bool,
    pub updated_at: i64,
}

/// GetDelegationRequest's optional check of the caller's own permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionCheck {
    Allowed,
    Denied,
    Unsure,
}

impl PermissionCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "ALLOWED",
            Self::Denied => "DENIED",
            Self::Unsure => "UNSURE",
        }
    }
}

/// A message sent to a notification channel (the outbox standing in for SNS).
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub channel: String,
    pub message: String,
    pub sent_at: i64,
}

/// The credentials GetDelegatedAccessToken gives, and whose they are.
pub struct DelegatedAccess {
    pub credentials: TemporaryCredentials,
    pub assumed_principal: String,
    pub packed_policy_size: i64,
}

fn not_found(id: &str) -> IamError {
    IamError::NoSuchEntity(format!("Delegation request {id} does not exist."))
}

fn wrong_state(id: &str, state: &str, what: &str) -> IamError {
    IamError::InvalidInput(format!("Delegation request {id} is {state} and cannot be {what}."))
}

/// A permission policy's statements (one, or a list), as JSON.
fn statements_of(policy: &str) -> Vec<serde_json::Value> {
    let doc: serde_json::Value = serde_json::from_str(policy).unwrap_or_default();
    match &doc["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

/// A policy element's strings (`Action`, `Resource`: one or a list).
fn strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

fn body_of(rec: &DelegationRequestRecord) -> IamResult<Body> {
    serde_json::from_str(&rec.body).map_err(|e| IamError::ServiceFailure(format!("delegation request {}: {e}", rec.request_id)))
}

fn view(rec: &DelegationRequestRecord, body: &Body) -> DelegationRequestView {
    DelegationRequestView {
        id: rec.request_id.clone(),
        owner_account_id: rec.owner_account_id.clone(),
        description: body.description.clone(),
        request_message: body.request_message.clone(),
        policy_template_arn: body.policy_template_arn.clone(),
        parameters: body.parameters.clone(),
        permission_policy: body.permission_policy.clone(),
        owner_id: rec.owner_id.clone(),
        approver_id: body.approver.as_ref().map(|a| a.0.clone()),
        state: rec.state.clone(),
        expiration_time: body.expires_at,
        requestor_id: rec.requestor_account_id.clone(),
        requestor_name: body.requestor_name.clone(),
        created_at: rec.created_at,
        session_duration: body.session_duration,
        redirect_url: body.redirect_url.clone(),
        notes: body.notes.clone(),
        rejection_reason: body.rejection_reason.clone(),
        only_send_by_owner: body.only_send_by_owner,
        updated_at: body.updated_at,
    }
}

/// Whether a request may move on: it belongs to the caller's account and is in one of
/// the states `from` (else `wrong`, given its state).
fn may_move(rec: &DelegationRequestRecord, caller: &Caller, id: &str, from: &[&str], wrong: impl FnOnce(&str) -> IamError) -> IamResult<()> {
    if rec.owner_account_id.as_deref() != Some(caller.account_id.as_str()) {
        return Err(not_found(id));
    }
    if !from.contains(&rec.state.as_str()) {
        return Err(wrong(&rec.state));
    }
    Ok(())
}

/// Whether the caller may see the request: its requestor's account, and the account it is
/// meant for (any account while it names none).
fn visible(rec: &DelegationRequestRecord, caller: &Caller) -> bool {
    rec.requestor_account_id == caller.account_id || rec.owner_account_id.as_deref().is_none_or(|a| a == caller.account_id)
}

impl Iam {
    /// CreateDelegationRequest: the request's id and the console link the customer opens.
    pub async fn create_delegation_request(&self, auth: &Authorized<'_>, input: &NewDelegationRequest) -> IamResult<(String, String)> {
        let caller = auth.caller();
        if !(300..=43_200).contains(&input.session_duration) {
            return Err(IamError::InvalidInput("SessionDuration must be between 300 and 43200 seconds.".to_owned()));
        }
        let template = {
            let mut tx = self.store.begin_read().await?;
            self.managed_document(&mut tx, &caller.account_id, &input.policy_template_arn).await?
        }
        .ok_or_else(|| IamError::InvalidInput(format!("Policy template {} does not exist.", input.policy_template_arn)))?;
        let mut policy = template;
        // Values go into JSON strings: quotes, backslashes and control characters could
        // otherwise add statements of their own.
        if input.parameters.iter().flat_map(|p| &p.values).any(|v| v.chars().any(|c| c == '"' || c == '\\' || c.is_control())) {
            return Err(IamError::InvalidInput("Policy parameter values cannot contain quotes, backslashes or control characters.".to_owned()));
        }
        for p in &input.parameters {
            if let [value] = p.values.as_slice() {
                policy = policy.replace(&format!("{{{{{}}}}}", p.name), value);
            }
        }
        portcullis_policy::parse(&policy, PolicyKind::Session)
            .map_err(|e| IamError::InvalidInput(format!("The policy template with its parameters is not a valid policy: {}", e.message)))?;
        let now = self.now();
        let id = format!("dr-{}", data_encoding::HEXLOWER.encode(&portcullis_credentials::random_bytes::<12>()?));
        let name: String = caller.arn().rsplit(['/', ':']).next().unwrap_or_default().chars().take(30).collect();
        let body = Body {
            description: input.description.clone(),
            request_message: input.request_message.clone(),
            policy_template_arn: input.policy_template_arn.clone(),
            parameters: input.parameters.clone(),
            permission_policy: policy,
            redirect_url: input.redirect_url.clone(),
            notification_channel: input.notification_channel.clone(),
            session_duration: input.session_duration,
            only_send_by_owner: input.only_send_by_owner,
            requestor_name: name,
            expires_at: now + UNASSIGNED_FOR,
            updated_at: now,
            ..Body::default()
        };
        let rec = DelegationRequestRecord {
            request_id: id.clone(),
            requestor_account_id: caller.account_id.clone(),
            workflow_id: input.workflow_id.clone(),
            owner_account_id: input.owner_account_id.clone(),
            owner_id: None,
            state: "UNASSIGNED".to_owned(),
            token_hash: None,
            created_at: now,
            body: serde_json::to_string(&body).map_err(|e| IamError::ServiceFailure(e.to_string()))?,
        };
        let mut tx = self.store.begin().await?;
        if !tx.insert_delegation_request(&rec).await? {
            return Err(IamError::EntityAlreadyExists(format!("A delegation request with RequestorWorkflowId {} already exists.", input.workflow_id)));
        }
        tx.commit().await?;
        let link = format!("{}/console/delegation-requests/{id}", self.public_base_url);
        Ok((id, link))
    }

    /// Loads a request the caller may see, its state brought up to date (EXPIRED when its
    /// time ran out).
    async fn load_delegation_request(&self, tx: &mut Box<dyn portcullis_store::Tx>, caller: &Caller, id: &str) -> IamResult<(DelegationRequestRecord, Body)> {
        let mut rec = tx.get_delegation_request(id).await?.filter(|r| visible(r, caller)).ok_or_else(|| not_found(id))?;
        let body = body_of(&rec)?;
        if self.now() >= body.expires_at && rec.state != "EXPIRED" {
            rec.state = "EXPIRED".to_owned();
        }
        Ok((rec, body))
    }

    pub async fn get_delegation_request(&self, auth: &Authorized<'_>, id: &str, check: bool) -> IamResult<(DelegationRequestView, Option<PermissionCheck>)> {
        let (rec, body) = {
            let mut tx = self.store.begin_read().await?;
            self.load_delegation_request(&mut tx, auth.caller(), id).await?
        };
        let checked = if check { Some(self.check_delegated_permissions(auth.caller(), &body.permission_policy).await?) } else { None };
        Ok((view(&rec, &body), checked))
    }

    /// Whether the caller's own permissions cover the request's: every action an Allow
    /// statement names, on its resources; actions with wildcards cannot be told.
    async fn check_delegated_permissions(&self, caller: &Caller, policy: &str) -> IamResult<PermissionCheck> {
        let statements = statements_of(policy);
        let mut unsure = false;
        for s in statements.iter().filter(|s| s["Effect"] == "Allow") {
            let resources = strings(&s["Resource"]);
            for action in strings(&s["Action"]) {
                if action.contains(['*', '?']) {
                    unsure = true;
                    continue;
                }
                for resource in if resources.is_empty() { vec!["*".to_owned()] } else { resources.clone() } {
                    let req = crate::AuthzRequest::new(action.clone(), resource);
                    if self.decide(caller, &req).await?.effect != portcullis_policy::EvalDecision::Allowed {
                        return Ok(PermissionCheck::Denied);
                    }
                }
            }
        }
        Ok(if unsure { PermissionCheck::Unsure } else { PermissionCheck::Allowed })
    }

    /// ListDelegationRequests: the requests owned in the caller's account (by `owner_id`
    /// when given).
    pub async fn list_delegation_requests(&self, auth: &Authorized<'_>, owner_id: Option<&str>) -> IamResult<Vec<DelegationRequestView>> {
        let mut tx = self.store.begin_read().await?;
        let now = self.now();
        let mut out = Vec::new();
        for mut rec in tx.list_delegation_requests(auth.account(), owner_id).await? {
            let body = body_of(&rec)?;
            if now >= body.expires_at {
                rec.state = "EXPIRED".to_owned();
            }
            out.push(view(&rec, &body));
        }
        Ok(out)
    }

    /// One state change, checked and written under the request's lock.
    async fn move_delegation_request(
        &self,
        auth: &Authorized<'_>,
        id: &str,
        change: impl FnOnce(&mut DelegationRequestRecord, &mut Body, &Caller) -> IamResult<()>,
    ) -> IamResult<(DelegationRequestRecord, Body)> {
        let caller = auth.caller();
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("delegation-request:{id}")).await?;
        let (mut rec, mut body) = self.load_delegation_request(&mut tx, caller, id).await?;
        change(&mut rec, &mut body, caller)?;
        body.updated_at = self.now();
        rec.body = serde_json::to_string(&body).map_err(|e| IamError::ServiceFailure(e.to_string()))?;
        tx.update_delegation_request(&rec).await?;
        tx.commit().await?;
        Ok((rec, body))
    }

    /// AssociateDelegationRequest: the caller takes an unassigned request.
    pub async fn associate_delegation_request(&self, auth: &Authorized<'_>, id: &str) -> IamResult<()> {
        let now = self.now();
        self.move_delegation_request(auth, id, |rec, body, caller| {
            if rec.state != "UNASSIGNED" {
                return Err(wrong_state(id, &rec.state, "associated"));
            }
            rec.state = "ASSIGNED".to_owned();
            rec.owner_id = Some(caller.arn());
            rec.owner_account_id = Some(caller.account_id.clone());
            body.expires_at = now + OWNED_FOR;
            Ok(())
        })
        .await
        .map(drop)
    }

    /// UpdateDelegationRequest: notes, forwarding the request for approval.
    pub async fn update_delegation_request(&self, auth: &Authorized<'_>, id: &str, notes: Option<&str>) -> IamResult<()> {
        self.move_delegation_request(auth, id, |rec, body, caller| {
            may_move(rec, caller, id, &["ASSIGNED", "PENDING_APPROVAL"], |state| wrong_state(id, state, "updated"))?;
            rec.state = "PENDING_APPROVAL".to_owned();
            body.notes = notes.map(str::to_owned).or(body.notes.take());
            Ok(())
        })
        .await
        .map(drop)
    }

    /// AcceptDelegationRequest: the caller approves; the delegated credentials will be theirs.
    pub async fn accept_delegation_request(&self, auth: &Authorized<'_>, id: &str) -> IamResult<()> {
        self.move_delegation_request(auth, id, |rec, body, caller| {
            may_move(rec, caller, id, &["ASSIGNED", "PENDING_APPROVAL"], |state| {
                IamError::ConcurrentModification(format!("Delegation request {id} is {state} and cannot be accepted."))
            })?;
            // A session narrowed by session policies, or a session itself delegated, could
            // otherwise hand on more than it holds.
            if caller.session.as_ref().is_some_and(|s| !s.policies.is_empty()) {
                return Err(IamError::AccessDenied(
                    "Delegation requests cannot be accepted from a session limited by session policies.".to_owned(),
                ));
            }
            let approver = match &caller.principal {
                Principal::User(u) => ("user", u.user_id.clone()),
                Principal::AssumedRole { role, .. } => ("role", role.role_id.clone()),
                _ => {
                    return Err(IamError::ConcurrentModification(
                        "Delegation requests are accepted by an IAM user or a role session on this server.".to_owned(),
                    ))
                }
            };
            rec.state = "ACCEPTED".to_owned();
            body.approver = Some((caller.arn(), approver.0.to_owned(), approver.1));
            Ok(())
        })
        .await
        .map(drop)
    }

    /// RejectDelegationRequest.
    pub async fn reject_delegation_request(&self, auth: &Authorized<'_>, id: &str, notes: Option<&str>) -> IamResult<()> {
        self.move_delegation_request(auth, id, |rec, body, caller| {
            may_move(rec, caller, id, &["ASSIGNED", "PENDING_APPROVAL", "ACCEPTED"], |state| wrong_state(id, state, "rejected"))?;
            rec.state = "REJECTED".to_owned();
            body.rejection_reason = notes.map(str::to_owned);
            Ok(())
        })
        .await
        .map(drop)
    }

    /// SendDelegationToken: finalizes an accepted request and sends the partner the token to
    /// trade in for credentials (to its notification channel).
    pub async fn send_delegation_token(&self, auth: &Authorized<'_>, id: &str) -> IamResult<()> {
        let token = data_encoding::BASE64URL_NOPAD.encode(&portcullis_credentials::random_bytes::<32>()?);
        let hash = data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(token.as_bytes()));
        let now = self.now();
        let (rec, body) = self
            .move_delegation_request(auth, id, |rec, body, caller| {
                may_move(rec, caller, id, &["ACCEPTED"], |state| wrong_state(id, state, "finalized"))?;
                if body.only_send_by_owner && rec.owner_id.as_deref() != Some(caller.arn().as_str()) {
                    return Err(IamError::InvalidInput(format!("Only the owner of delegation request {id} may send its token.")));
                }
                rec.state = "FINALIZED".to_owned();
                rec.token_hash = Some(hash);
                body.finalized_at = Some(now);
                body.expires_at = now + OWNED_FOR;
                Ok(())
            })
            .await?;
        let message = serde_json::json!({
            "DelegationRequestId": rec.request_id,
            "RequestorWorkflowId": rec.workflow_id,
            "TradeInToken": token,
        });
        tracing::info!(request = %rec.request_id, channel = %body.notification_channel, "delegation token sent");
        let mut outbox = self.notifications.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if outbox.len() >= 1_000 {
            outbox.remove(0);
        }
        outbox.push(Notification { channel: body.notification_channel, message: message.to_string(), sent_at: now });
        Ok(())
    }

    /// What was sent to notification channels (test mode shows it).
    pub fn notifications(&self) -> Vec<Notification> {
        self.notifications.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// STS GetDelegatedAccessToken: the partner trades the token in for credentials of the
    /// identity that accepted, narrowed to the request's permission policy, for the
    /// request's session duration counted from when it was finalized. A token is traded once.
    pub async fn get_delegated_access_token(&self, caller: &Caller, token: &str) -> IamResult<DelegatedAccess> {
        let expired = || IamError::ExpiredTradeInToken("The trade-in token is expired, already used or not valid.".to_owned());
        let hash = data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(token.as_bytes()));
        let now = self.now();
        let mut tx = self.store.begin().await?;
        // Locked before it is read, so that two trades of one token cannot both see it unused.
        tx.lock(&format!("delegation-token:{hash}")).await?;
        let mut rec = tx.get_delegation_request_by_token(&hash).await?.filter(|r| r.requestor_account_id == caller.account_id).ok_or_else(expired)?;
        let mut body = body_of(&rec)?;
        let end = body.finalized_at.unwrap_or(0) + body.session_duration;
        if rec.state != "FINALIZED" || body.token_exchanged || now >= end {
            return Err(expired());
        }
        let Some((arn, kind, id)) = body.approver.clone() else { return Err(expired()) };
        let account = rec.owner_account_id.clone().unwrap_or_default();
        let policies = vec![body.permission_policy.clone()];
        let packed = crate::sts::packed_policy_size(true, &policies, &[]).unwrap_or(0);
        let credentials = match kind.as_str() {
            "user" => self.issue_user_session_with_policies(&account, id, end, policies)?,
            _ => {
                let role = tx.get_role_by_id(&id).await?.ok_or_else(expired)?;
                // A session name of its own: a resource policy naming the accepting session's
                // ARN must not reach the partner's session.
                let delegated_name = format!("delegated-{}", rec.request_id);
                let session = RoleSession { role: &role, session_name: &delegated_name, duration: end - now, mfa_at: None, policies, source_identity: None, tags: Vec::new(), transitive_tag_keys: Vec::new() };
                self.issue_role_session(session, Some(packed))?.credentials
            }
        };
        body.token_exchanged = true;
        rec.body = serde_json::to_string(&body).map_err(|e| IamError::ServiceFailure(e.to_string()))?;
        tx.update_delegation_request(&rec).await?;
        tx.commit().await?;
        Ok(DelegatedAccess { credentials, assumed_principal: arn, packed_policy_size: packed })
    }

    /// GetHumanReadableSummary: what a delegation request's permission policy allows and
    /// denies, statement by statement (English only).
    pub async fn human_readable_summary(&self, auth: &Authorized<'_>, entity_arn: &str, locale: Option<&str>) -> IamResult<(String, String, &'static str)> {
        let locale = locale.unwrap_or("en").to_owned();
        let id = entity_arn
            .split_once(":delegation-request/")
            .filter(|(head, _)| head.starts_with("arn:aws:iam::"))
            .map(|(_, id)| id)
            .ok_or_else(|| IamError::InvalidInput(format!("{entity_arn} is not the ARN of a delegation request.")))?;
        let (_, body) = {
            let mut tx = self.store.begin_read().await?;
            self.load_delegation_request(&mut tx, auth.caller(), id).await?
        };
        if !locale.to_ascii_lowercase().starts_with("en") {
            return Ok((String::new(), locale, "NOT_SUPPORTED"));
        }
        let statements = statements_of(&body.permission_policy);
        let list = |v: &serde_json::Value| match v {
            serde_json::Value::String(_) | serde_json::Value::Array(_) => strings(v).join(", "),
            _ => "*".to_owned(),
        };
        let mut lines = vec![format!("{} for {} hours at most.", body.description, body.session_duration as f64 / 3600.0)];
        for s in &statements {
            let verb = if s["Effect"] == "Deny" { "Denies" } else { "Allows" };
            let actions = if s.get("NotAction").is_some() { format!("every action except {}", list(&s["NotAction"])) } else { list(&s["Action"]) };
            let mut line = format!("{verb} {actions} on {}", list(&s["Resource"]));
            if s.get("Condition").is_some() {
                line.push_str(" when its conditions hold");
            }
            line.push('.');
            lines.push(line);
        }
        Ok((lines.join("\n"), locale, "AVAILABLE"))
    }
}
