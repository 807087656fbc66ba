//! The audit trail: every API call, console sign-in and STS exchange as a CloudTrail event.
//!
//! A call's event is drafted before the call runs and is pending while
//! it runs ([`Iam::record_call`]): the first transaction the call commits writes it, so a
//! change is never stored without its event. When the call is answered, the event gets its
//! outcome (`errorCode`, `responseElements`) and is written again over the same id, through
//! a background writer that batches (calls that changed nothing are written only this way).
//! Read with CloudTrail's LookupEvents ([`Iam::lookup_events`]) or `portcullis events`.

use std::sync::{Arc, OnceLock};

use portcullis_store::audit::{with_pending_event, PendingEvent};
use portcullis_store::{EventAttribute, EventQuery, EventRecord, Store};
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};

use crate::{Authorized, Caller, Iam, IamError, IamResult, Principal};

/// Which calls are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditLevel {
    /// Every call, sign-in and STS exchange (CloudTrail's management events, read and write).
    #[default]
    All,
    /// Only calls that may change something, and sign-ins.
    Writes,
    /// Nothing.
    Off,
}

impl AuditLevel {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(Self::All),
            "writes" => Some(Self::Writes),
            "off" => Some(Self::Off),
            _ => None,
        }
    }
}

/// How long events are kept (AWS's event history keeps 90 days).
pub const DEFAULT_RETENTION_DAYS: i64 = 90;

/// Events waiting for the writer; past this, events of calls that changed nothing are
/// dropped (and counted) rather than holding up requests.
const QUEUE: usize = 16_384;
/// Events written in one transaction.
const BATCH: usize = 500;
/// A batch at least this large when the writer wakes says the server is busy: the writer
/// then waits `LINGER` for more before it writes.
const LINGER_FROM: usize = 16;
const LINGER: std::time::Duration = std::time::Duration::from_millis(10);

/// What `secret` members of requests and responses are replaced with, as CloudTrail does.
const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// Members never written to an event (compared ignoring case).
const SECRET_MEMBERS: [&str; 22] = [
    "password",
    "newpassword",
    "oldpassword",
    "secretaccesskey",
    "sessiontoken",
    "privatekey",
    "samlassertion",
    "webidentitytoken",
    "authenticationcode1",
    "authenticationcode2",
    "tokencode",
    "base32stringseed",
    "qrcodepng",
    "servicepassword",
    "clientsecret",
    "accesstoken",
    "refreshtoken",
    "devicecode",
    "code",
    "codeverifier",
    "idtoken",
    "assertion",
];

enum Message {
    Event(Box<EventRecord>),
    /// An access key's use (its last-used date, service and Region).
    KeyUse { access_key_id: String, at: i64, service: String, region: String },
    /// A principal's use of an action (access advisor).
    ActionAccess { account_id: String, record: portcullis_store::ActionAccessRecord },
    /// Answered once everything sent before is written (and old events purged).
    Flush(oneshot::Sender<()>),
}

/// The recorder: a level, a retention and the background writer's queue.
pub(crate) struct EventLog {
    level: AuditLevel,
    retention_days: i64,
    queue: OnceLock<mpsc::Sender<Message>>,
}

impl Default for EventLog {
    fn default() -> Self {
        Self { level: AuditLevel::All, retention_days: DEFAULT_RETENTION_DAYS, queue: OnceLock::new() }
    }
}

/// A call's event while the call runs.
struct CallEvent<'a> {
    pending: Arc<PendingEvent>,
    record: EventRecord,
    body: EventParts<'a>,
}

/// What the protocol layer knows of a call before it runs.
pub struct ApiCall<'a> {
    pub caller: &'a Caller,
    /// `iam.amazonaws.com`, `sts.amazonaws.com`, …
    pub event_source: &'a str,
    pub event_name: &'a str,
    /// Whether the service lives in each Region (else the event is us-east-1's, as IAM's are).
    pub regional: bool,
    pub read_only: bool,
    pub request_id: &'a str,
    /// The request's members, named as the API names them (`UserName`).
    pub parameters: Value,
}

/// How a call ended, for its event.
pub enum CallOutcome<'a> {
    /// Answered; the response's members, for calls that change something.
    Success(Option<Value>),
    Failure { code: &'a str, message: String },
}

/// A console sign-in, for its event.
pub struct ConsoleSignIn<'a> {
    pub account_id: &'a str,
    /// `Root` or `IAMUser`.
    pub identity_type: &'a str,
    pub principal_id: &'a str,
    pub arn: &'a str,
    pub user_name: Option<&'a str>,
    pub success: bool,
    pub mfa_used: bool,
    pub source_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub login_to: &'a str,
}

/// What the access portal's and the OIDC service's handlers know of a call by an IAM
/// Identity Center user, or of a sign-in to the access portal.
pub struct DirectoryCall<'a> {
    pub facts: &'a crate::RequestFacts,
    /// `sso.amazonaws.com`, `sso-oauth.amazonaws.com` or `signin.amazonaws.com`.
    pub event_source: &'a str,
    pub event_name: &'a str,
    pub read_only: bool,
    /// The request's id (an empty one is made up).
    pub request_id: &'a str,
    pub parameters: Value,
}

/// How a directory user's call or sign-in ended.
pub enum DirectoryOutcome<'a> {
    Call(CallOutcome<'a>),
    SignIn { success: bool, mfa_used: bool },
}

impl Iam {
    /// Records calls at `level`, keeping events `retention_days`.
    pub fn with_audit(mut self, level: AuditLevel, retention_days: i64) -> Self {
        self.events = Arc::new(EventLog { level, retention_days: retention_days.max(1), queue: OnceLock::new() });
        self
    }

    /// Drafts a call's event (None when calls like it are not recorded, or the caller's
    /// account is not known).
    fn begin_event<'a>(&self, call: ApiCall<'a>) -> Option<CallEvent<'a>> {
        match self.events.level {
            AuditLevel::Off => return None,
            AuditLevel::Writes if call.read_only => return None,
            _ => {}
        }
        let caller = call.caller;
        let mut parameters = lower_camel(call.parameters);
        hide_secrets(&mut parameters);
        let account_id = if caller.account_id.is_empty() { account_of_role_arn(&parameters)? } else { caller.account_id.clone() };
        let now = self.clock.now();
        let event_id = uuid::Uuid::now_v7().to_string();
        let region = if call.regional && !caller.request.region.is_empty() { caller.request.region.clone() } else { "us-east-1".to_owned() };
        let (identity, username) = user_identity(caller, &account_id);
        let resources = resources_of(&parameters);
        // The named resources are LookupEvents' `Resources` (types and names); the record's
        // own `resources` member would need ARNs the request does not always carry.
        let body = EventParts {
            identity,
            time: now,
            source: call.event_source,
            name: call.event_name,
            region,
            source_ip: caller.request.source_ip.as_deref(),
            user_agent: caller.request.user_agent.as_deref(),
            details: Vec::new(),
            parameters,
            response: Value::Null,
            additional: None,
            request_id: Some(call.request_id),
            event_id,
            read_only: call.read_only,
            event_type: "AwsApiCall",
            account_id,
        };
        // The record's body is written when the call is answered, with its outcome.
        let record = body.record(username, Some(caller.access_key_id.clone()).filter(|k| !k.is_empty()), resources);
        let draft = EventRecord { body: body.to_json(), ..record.clone() };
        Some(CallEvent { pending: PendingEvent::new(draft), record, body })
    }

    /// Runs a call with its event pending, so that its first committed change carries it,
    /// then records the event with the outcome `outcome` reads from the answer (asked only
    /// when the call is recorded).
    pub async fn record_call<T, F: std::future::Future<Output = T>>(&self, call: ApiCall<'_>, work: F, outcome: impl FnOnce(&T) -> CallOutcome<'_>) -> T {
        let Some(event) = self.begin_event(call) else { return work.await };
        let answer = with_pending_event(event.pending.clone(), work).await;
        self.finish_event(event, outcome(&answer));
        answer
    }

    /// Completes a call's event with its outcome and queues it.
    fn finish_event(&self, event: CallEvent<'_>, outcome: CallOutcome<'_>) {
        let CallEvent { pending, mut record, mut body } = event;
        let unchanged = match outcome {
            CallOutcome::Success(None) => true,
            CallOutcome::Success(Some(response)) => {
                let mut response = lower_camel(response);
                hide_secrets(&mut response);
                if let Some((identity, username)) = federated_identity(&record.event_name, &response) {
                    body.identity = identity;
                    record.username = Some(username);
                }
                body.response = response;
                false
            }
            CallOutcome::Failure { code, message } => {
                // Right after `userAgent`, before any other detail.
                body.details.splice(0..0, [("errorCode", json!(code)), ("errorMessage", json!(message))]);
                false
            }
        };
        if unchanged {
            // The draft is the whole event: written with the call's change, or now as it is.
            if let Some(draft) = pending.take_unwritten() {
                self.queue_event(draft);
            }
            return;
        }
        record.body = body.to_json();
        self.queue_event(record);
    }

    /// Runs a console request so that each operation it is authorized for is recorded like
    /// an API call: the operation's change commits with its event; a refusal is recorded
    /// with its error; a read is recorded once the request moves on.
    pub async fn record_console_calls<F: std::future::Future>(&self, work: F) -> F::Output {
        let slot = PendingEvent::for_console();
        let out = with_pending_event(slot.clone(), work).await;
        if let Some(last) = slot.take_unwritten() {
            self.settle_console_event(last);
        }
        out
    }

    /// Called by the console's authorization entry points with their answer.
    pub(crate) fn note_console_call(&self, caller: &Caller, spec: &crate::Spec, params: &portcullis_protocol::QueryParams, refused: Option<&IamError>) {
        let Some(slot) = portcullis_store::audit::console_slot() else { return };
        let source = format!("{}.amazonaws.com", spec.service);
        let request_id = uuid::Uuid::new_v4().to_string();
        let call = ApiCall {
            caller,
            event_source: &source,
            event_name: spec.name,
            regional: false,
            read_only: !spec.writes,
            request_id: &request_id,
            parameters: query_parameters(params.iter()),
        };
        let Some(event) = self.begin_event(call) else { return };
        match refused {
            Some(e) => self.finish_event(event, CallOutcome::Failure { code: e.code(), message: e.public_message() }),
            None => {
                let CallEvent { mut record, body, .. } = event;
                record.body = body.to_json();
                if let Some(previous) = slot.replace(record) {
                    self.settle_console_event(previous);
                }
            }
        }
    }

    /// A console call's event that no commit wrote: a read is recorded now; a write that
    /// committed nothing changed nothing and is not.
    fn settle_console_event(&self, event: EventRecord) {
        if event.read_only {
            self.queue_event(event);
        }
    }

    /// Records a console sign-in (`AwsConsoleSignIn`), successful or not.
    pub fn record_console_sign_in(&self, s: ConsoleSignIn<'_>) {
        if self.events.level == AuditLevel::Off {
            return;
        }
        let now = self.clock.now();
        let event_id = uuid::Uuid::now_v7().to_string();
        let mut identity = Map::new();
        identity.insert("type".into(), json!(s.identity_type));
        identity.insert("principalId".into(), json!(s.principal_id));
        identity.insert("arn".into(), json!(s.arn));
        identity.insert("accountId".into(), json!(s.account_id));
        if let Some(name) = s.user_name {
            identity.insert("userName".into(), json!(name));
        }
        let details = if s.success { Vec::new() } else { vec![("errorMessage", json!("Failed authentication"))] };
        let body = EventParts {
            identity: Value::Object(identity),
            time: now,
            source: "signin.amazonaws.com",
            name: "ConsoleLogin",
            region: "us-east-1".to_owned(),
            source_ip: s.source_ip,
            user_agent: s.user_agent,
            details,
            parameters: Value::Null,
            response: json!({"ConsoleLogin": if s.success { "Success" } else { "Failure" }}),
            additional: Some(json!({"LoginTo": s.login_to, "MobileVersion": "No", "MFAUsed": if s.mfa_used { "Yes" } else { "No" }})),
            request_id: None,
            event_id,
            read_only: false,
            event_type: "AwsConsoleSignIn",
            account_id: s.account_id.to_owned(),
        };
        let username = if s.identity_type == "Root" { Some("root".to_owned()) } else { s.user_name.map(str::to_owned) };
        self.queue_event(EventRecord { body: body.to_json(), ..body.record(username, None, Vec::new()) });
    }

    /// Records an IAM Identity Center user's call of the access portal's API (`sso`) or
    /// the OIDC service (`sso-oauth`), or a sign-in to the access portal (`signin`), in the
    /// account that owns the identity store (`userIdentity` of type `IdentityCenterUser`).
    /// Calls made before anyone is known (RegisterClient, StartDeviceAuthorization) name
    /// no user and no account, and are not recorded.
    pub async fn record_directory_event(&self, call: DirectoryCall<'_>, store_id: &str, user: Option<&crate::PortalUser>, outcome: DirectoryOutcome<'_>) {
        match self.events.level {
            AuditLevel::Off => return,
            AuditLevel::Writes if call.read_only => return,
            _ => {}
        }
        let account_id = match self.identity_store_owner(store_id).await {
            Some(a) => a,
            None => return,
        };
        let now = self.clock.now();
        let event_id = uuid::Uuid::now_v7().to_string();
        let mut on_behalf_of = Map::new();
        if let Some(u) = user {
            on_behalf_of.insert("userId".into(), json!(u.user_id));
        }
        on_behalf_of.insert("identityStoreArn".into(), json!(format!("arn:aws:identitystore::{account_id}:identitystore/{store_id}")));
        let identity = json!({"type": "IdentityCenterUser", "accountId": account_id, "onBehalfOf": on_behalf_of});
        let mut parameters = lower_camel(call.parameters);
        hide_secrets(&mut parameters);
        let (details, additional, event_type) = match &outcome {
            DirectoryOutcome::Call(CallOutcome::Failure { code, message }) => (vec![("errorCode", json!(code)), ("errorMessage", json!(message))], None, "AwsApiCall"),
            DirectoryOutcome::Call(CallOutcome::Success(_)) => (Vec::new(), None, "AwsApiCall"),
            &DirectoryOutcome::SignIn { success, mfa_used } => {
                let (detail, result) = if success { ("UserAuthentication", "Success") } else { ("CredentialVerification", "Failure") };
                let additional = json!({"CredentialType": if mfa_used { "PASSWORD,TOTP" } else { "PASSWORD" }, "MFAUsed": if mfa_used { "Yes" } else { "No" }});
                (vec![("serviceEventDetails", json!({ detail: result }))], Some(additional), "AwsServiceEvent")
            }
        };
        let response = match outcome {
            DirectoryOutcome::Call(CallOutcome::Success(Some(r))) => {
                let mut r = lower_camel(r);
                hide_secrets(&mut r);
                r
            }
            _ => Value::Null,
        };
        let request_id = if call.request_id.is_empty() { uuid::Uuid::new_v4().to_string() } else { call.request_id.to_owned() };
        let body = EventParts {
            identity,
            time: now,
            source: call.event_source,
            name: call.event_name,
            region: "us-east-1".to_owned(),
            source_ip: call.facts.source_ip.as_deref(),
            user_agent: call.facts.user_agent.as_deref(),
            details,
            parameters,
            response,
            additional,
            request_id: Some(&request_id),
            event_id,
            read_only: call.read_only,
            event_type,
            account_id,
        };
        self.queue_event(EventRecord { body: body.to_json(), ..body.record(user.map(|u| u.user_name.clone()), None, Vec::new()) });
    }

    fn queue_event(&self, record: EventRecord) {
        let Some(queue) = self.event_queue() else {
            metrics::counter!("portcullis_audit_events_dropped_total").increment(1);
            return;
        };
        if queue.try_send(Message::Event(Box::new(record))).is_err() {
            metrics::counter!("portcullis_audit_events_dropped_total").increment(1);
            // Said once a minute at most: under overload, a line per event would add to it.
            static LAST_WARNING: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
            let now = self.now();
            let last = LAST_WARNING.load(std::sync::atomic::Ordering::Relaxed);
            if now - last >= 60 && LAST_WARNING.compare_exchange(last, now, std::sync::atomic::Ordering::Relaxed, std::sync::atomic::Ordering::Relaxed).is_ok() {
                tracing::warn!("audit event queue full: events of calls are being dropped (see portcullis_audit_events_dropped_total)");
            }
        }
    }

    /// Notes an access key's use, written with the next batch of events (last-used data
    /// takes the audit trail's path: one writer, batched, off the request's way).
    pub(crate) fn queue_key_use(&self, access_key_id: &str, service: &str, region: &str) {
        let message = Message::KeyUse { access_key_id: access_key_id.to_owned(), at: self.now(), service: service.to_owned(), region: region.to_owned() };
        if self.event_queue().is_none_or(|q| q.try_send(message).is_err()) {
            tracing::warn!("could not queue an access key's last use");
        }
    }

    /// Notes a principal's use of an action (access advisor), written with the next batch.
    pub(crate) fn queue_action_access(&self, account_id: &str, record: portcullis_store::ActionAccessRecord) {
        let message = Message::ActionAccess { account_id: account_id.to_owned(), record };
        if self.event_queue().is_none_or(|q| q.try_send(message).is_err()) {
            tracing::warn!("could not queue a service access");
        }
    }

    /// The writer's queue, starting the writer on first use (inside the runtime).
    fn event_queue(&self) -> Option<&mpsc::Sender<Message>> {
        if let Some(q) = self.events.queue.get() {
            return Some(q);
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (tx, rx) = mpsc::channel(QUEUE);
        if self.events.queue.set(tx).is_ok() {
            runtime.spawn(write_events(self.store.clone(), self.clock.clone(), self.events.retention_days, rx));
        }
        self.events.queue.get()
    }

    /// Waits until every event queued so far is written, and drops those past retention.
    pub async fn flush_events(&self) {
        let Some(queue) = self.event_queue() else { return };
        let (done, wait) = oneshot::channel();
        if queue.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// CloudTrail's LookupEvents: the caller's account's events, newest first.
    pub async fn lookup_events(&self, auth: &Authorized<'_>, input: &Value) -> IamResult<Value> {
        let attributes = input.get("LookupAttributes").and_then(Value::as_array).cloned().unwrap_or_default();
        if attributes.len() > 1 {
            return Err(trail_error("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute."));
        }
        let attribute = match attributes.first() {
            None => None,
            Some(a) => {
                let key = a.get("AttributeKey").and_then(Value::as_str).unwrap_or_default();
                let value = a.get("AttributeValue").and_then(Value::as_str).unwrap_or_default();
                let kind = EventAttribute::parse(key).ok_or_else(|| trail_error("InvalidLookupAttributesException", &format!("Invalid attribute key: {key}")))?;
                if value.is_empty() {
                    return Err(trail_error("InvalidLookupAttributesException", "The attribute value must not be empty."));
                }
                Some((kind, value.to_owned()))
            }
        };
        let max = match input.get("MaxResults") {
            None | Some(Value::Null) => 50,
            Some(v) => match v.as_i64() {
                Some(n) if (1..=50).contains(&n) => n,
                _ => return Err(trail_error("InvalidMaxResultsException", "The maximum results value must be between 1 and 50.")),
            },
        };
        let now_ms = (self.clock.now().unix_timestamp_nanos() / 1_000_000) as i64;
        let millis = |name: &str| -> IamResult<Option<i64>> {
            match input.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_f64().map(|s| Some((s * 1000.0) as i64)).ok_or_else(|| trail_error("InvalidTimeRangeException", "The time range is not valid.")),
            }
        };
        let start = millis("StartTime")?.unwrap_or(i64::MIN);
        let end = millis("EndTime")?.unwrap_or(now_ms);
        if start > end {
            return Err(trail_error("InvalidTimeRangeException", "Start time must be before end time."));
        }
        let token = input.get("NextToken").and_then(Value::as_str);
        let before = match token {
            None => None,
            Some(t) => Some(parse_token(t).ok_or_else(|| trail_error("InvalidNextTokenException", "Invalid NextToken."))?),
        };
        self.flush_events().await;
        let mut tx = self.store.begin_read().await?;
        let query = EventQuery {
            account_id: auth.account(),
            start,
            end,
            attribute: attribute.as_ref().map(|(k, v)| (*k, v.as_str())),
            before: before.as_ref().map(|(t, id)| (*t, id.as_str())),
            limit: max + 1,
        };
        let mut found = tx.lookup_events(&query).await?;
        let more = found.len() as i64 > max;
        found.truncate(max as usize);
        let next = if more { found.last().map(|e| format!("{}:{}", e.event_time, e.event_id)) } else { None };
        let events: Vec<Value> = found.iter().map(lookup_entry).collect();
        let mut out = json!({ "Events": events });
        if let Some(n) = next {
            out["NextToken"] = json!(n);
        }
        Ok(out)
    }
}

/// Every event after a position, oldest first (for `portcullis events`).
pub async fn events_after(store: &dyn Store, after: (i64, &str), limit: i64) -> IamResult<Vec<EventRecord>> {
    let mut tx = store.begin_read().await?;
    Ok(tx.events_after(after, limit).await?)
}

fn parse_token(t: &str) -> Option<(i64, String)> {
    let (time, id) = t.split_once(':')?;
    let time = time.parse().ok()?;
    uuid::Uuid::parse_str(id).ok()?;
    Some((time, id.to_owned()))
}

fn trail_error(code: &'static str, message: &str) -> IamError {
    IamError::Service { code, message: message.to_owned(), fields: Vec::new() }
}

/// What an event says: its body, written out (as JSON) in CloudTrail's order.
struct EventParts<'a> {
    identity: Value,
    time: time::OffsetDateTime,
    source: &'a str,
    name: &'a str,
    region: String,
    source_ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    /// After `userAgent`: `errorCode`, `errorMessage`, `serviceEventDetails`.
    details: Vec<(&'static str, Value)>,
    parameters: Value,
    response: Value,
    additional: Option<Value>,
    /// None for events no request stands for (a console sign-in).
    request_id: Option<&'a str>,
    event_id: String,
    read_only: bool,
    event_type: &'a str,
    account_id: String,
}

impl EventParts<'_> {
    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The stored event's columns, what LookupEvents filters on; its body (`to_json`) is
    /// left empty for the caller, which may write it only once the call is answered.
    fn record(&self, username: Option<String>, access_key_id: Option<String>, resources: Vec<(String, String)>) -> EventRecord {
        EventRecord {
            event_id: self.event_id.clone(),
            account_id: self.account_id.clone(),
            event_time: (self.time.unix_timestamp_nanos() / 1_000_000) as i64,
            event_name: self.name.to_owned(),
            event_source: self.source.to_owned(),
            read_only: self.read_only,
            username,
            access_key_id,
            resources,
            body: String::new(),
        }
    }
}

/// An event's members, in CloudTrail's order, written straight from the parts (building a
/// JSON map first cost a call's event several microseconds of allocation).
impl serde::Serialize for EventParts<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("eventVersion", "1.08")?;
        m.serialize_entry("userIdentity", &self.identity)?;
        m.serialize_entry("eventTime", &event_time(self.time))?;
        m.serialize_entry("eventSource", self.source)?;
        m.serialize_entry("eventName", self.name)?;
        m.serialize_entry("awsRegion", &self.region)?;
        m.serialize_entry("sourceIPAddress", self.source_ip.unwrap_or("127.0.0.1"))?;
        m.serialize_entry("userAgent", self.user_agent.unwrap_or(""))?;
        for (k, v) in &self.details {
            m.serialize_entry(k, v)?;
        }
        let parameters = if self.parameters.as_object().is_some_and(|o| !o.is_empty()) { &self.parameters } else { &Value::Null };
        m.serialize_entry("requestParameters", parameters)?;
        m.serialize_entry("responseElements", &self.response)?;
        if let Some(a) = &self.additional {
            m.serialize_entry("additionalEventData", a)?;
        }
        if let Some(id) = self.request_id {
            m.serialize_entry("requestID", id)?;
        }
        m.serialize_entry("eventID", &self.event_id)?;
        m.serialize_entry("readOnly", &self.read_only)?;
        m.serialize_entry("eventType", self.event_type)?;
        m.serialize_entry("managementEvent", &true)?;
        m.serialize_entry("recipientAccountId", &self.account_id)?;
        m.serialize_entry("eventCategory", "Management")?;
        m.end()
    }
}

/// CloudTrail's `eventTime`: UTC, whole seconds, `Z`.
fn event_time(t: time::OffsetDateTime) -> String {
    portcullis_types::format_utc(t, "Z")
}

/// One event as LookupEvents lists it.
fn lookup_entry(e: &EventRecord) -> Value {
    let mut v = json!({
        "EventId": e.event_id,
        "EventName": e.event_name,
        "ReadOnly": if e.read_only { "true" } else { "false" },
        "EventTime": e.event_time as f64 / 1000.0,
        "EventSource": e.event_source,
        "Resources": e.resources.iter().map(|(k, n)| json!({"ResourceType": k, "ResourceName": n})).collect::<Vec<_>>(),
        "CloudTrailEvent": e.body,
    });
    if let Some(k) = &e.access_key_id {
        v["AccessKeyId"] = json!(k);
    }
    if let Some(u) = &e.username {
        v["Username"] = json!(u);
    }
    v
}

/// What one batch writes.
#[derive(Default)]
struct Batch {
    events: Vec<EventRecord>,
    key_uses: Vec<(String, i64, String, String)>,
    accesses: Vec<(String, portcullis_store::ActionAccessRecord)>,
}

impl Batch {
    fn len(&self) -> usize {
        self.events.len() + self.key_uses.len() + self.accesses.len()
    }
}

async fn write_events(store: Arc<dyn Store>, clock: Arc<dyn portcullis_types::Clock>, retention_days: i64, mut rx: mpsc::Receiver<Message>) {
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let mut last_purge: Option<std::time::Instant> = None;
    while let Some(first) = rx.recv().await {
        let mut batch = Batch::default();
        let take = |m: Message, batch: &mut Batch, waiting: &mut Vec<oneshot::Sender<()>>| match m {
            Message::Event(e) => batch.events.push(*e),
            Message::KeyUse { access_key_id, at, service, region } => batch.key_uses.push((access_key_id, at, service, region)),
            Message::ActionAccess { account_id, record } => batch.accesses.push((account_id, record)),
            Message::Flush(done) => waiting.push(done),
        };
        take(first, &mut batch, &mut waiting);
        let mut drain = |batch: &mut Batch, waiting: &mut Vec<oneshot::Sender<()>>| {
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(m) => take(m, batch, waiting),
                    Err(_) => break,
                }
            }
        };
        drain(&mut batch, &mut waiting);
        // Under load, waiting a moment fills the transaction: a commit (and the pages it
        // writes, and the checkpoints they bring) serves many more events. A quiet server,
        // or anyone waiting for a flush, gets its write at once.
        if batch.len() >= LINGER_FROM && batch.len() < BATCH && waiting.is_empty() {
            tokio::time::sleep(LINGER).await;
            drain(&mut batch, &mut waiting);
        }
        if batch.len() > 0 {
            write_batch(store.as_ref(), &batch).await;
        }
        // Old events go at most once a minute, and whenever someone reads (a flush).
        if !waiting.is_empty() || last_purge.is_none_or(|t| t.elapsed().as_secs() >= 60) {
            let cutoff = (clock.now().unix_timestamp_nanos() / 1_000_000) as i64 - retention_days * 86_400_000;
            if let Err(e) = purge(store.as_ref(), cutoff).await {
                tracing::warn!(error = %e, "could not purge old audit events");
            }
            last_purge = Some(std::time::Instant::now());
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn write_batch(store: &dyn Store, batch: &Batch) {
    for attempt in 0..3u64 {
        let result = async {
            let mut tx = store.begin().await?;
            tx.put_events(&batch.events).await?;
            for (key, at, service, region) in &batch.key_uses {
                tx.record_access_key_use(key, *at, service, region).await?;
            }
            for (account, record) in &batch.accesses {
                tx.record_action_access(account, record).await?;
            }
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => {
                metrics::counter!("portcullis_audit_events_written_total").increment(batch.events.len() as u64);
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, "could not write audit events and last-used data");
                tokio::time::sleep(std::time::Duration::from_millis(200 * (attempt + 1))).await;
            }
        }
    }
    metrics::counter!("portcullis_audit_events_dropped_total").increment(batch.events.len() as u64);
    tracing::error!(events = batch.events.len(), "audit events lost: the database refused them three times");
}

async fn purge(store: &dyn Store, cutoff: i64) -> Result<(), portcullis_store::StoreError> {
    let mut tx = store.begin().await?;
    tx.purge_events(cutoff).await?;
    tx.commit().await
}

/// CloudTrail's `userIdentity` for a caller, and the user name LookupEvents shows.
fn user_identity(caller: &Caller, account_id: &str) -> (Value, Option<String>) {
    let mut id = Map::new();
    let session_attributes = caller.session.as_ref().map(|s| {
        json!({
            "creationDate": event_time(time::OffsetDateTime::from_unix_timestamp(s.issued_at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)),
            "mfaAuthenticated": if s.mfa_authenticated_at.is_some() { "true" } else { "false" },
        })
    });
    let username = match &caller.principal {
        Principal::Root => {
            id.insert("type".into(), json!("Root"));
            id.insert("principalId".into(), json!(account_id));
            id.insert("arn".into(), json!(caller.arn()));
            id.insert("accountId".into(), json!(account_id));
            Some("root".to_owned())
        }
        Principal::User(u) => {
            id.insert("type".into(), json!("IAMUser"));
            id.insert("principalId".into(), json!(u.user_id));
            id.insert("arn".into(), json!(caller.arn()));
            id.insert("accountId".into(), json!(account_id));
            id.insert("userName".into(), json!(u.name));
            Some(u.name.clone())
        }
        Principal::AssumedRole { role, session_name } => {
            id.insert("type".into(), json!("AssumedRole"));
            id.insert("principalId".into(), json!(caller.user_id()));
            id.insert("arn".into(), json!(caller.arn()));
            id.insert("accountId".into(), json!(account_id));
            let issuer = json!({
                "type": "Role",
                "principalId": role.role_id,
                "arn": crate::iam_arn(&role.account_id, "role", &role.path, &role.name),
                "accountId": role.account_id,
                "userName": role.name,
            });
            id.insert("sessionContext".into(), json!({"sessionIssuer": issuer}));
            Some(session_name.clone())
        }
        Principal::FederatedUser { user, name } => {
            id.insert("type".into(), json!("FederatedUser"));
            id.insert("principalId".into(), json!(caller.user_id()));
            id.insert("arn".into(), json!(caller.arn()));
            id.insert("accountId".into(), json!(account_id));
            let issuer = json!({
                "type": "IAMUser",
                "principalId": user.user_id,
                "arn": crate::iam_arn(&user.account_id, "user", &user.path, &user.name),
                "accountId": user.account_id,
                "userName": user.name,
            });
            id.insert("sessionContext".into(), json!({"sessionIssuer": issuer}));
            Some(name.clone())
        }
        Principal::ProviderUser { protocol, provider_arn, subject } => {
            let kind = match protocol {
                crate::Federation::WebIdentity => "WebIdentityUser",
                crate::Federation::Saml => "SAMLUser",
            };
            id.insert("type".into(), json!(kind));
            id.insert("principalId".into(), json!(caller.user_id()));
            id.insert("userName".into(), json!(subject));
            id.insert("identityProvider".into(), json!(provider_arn));
            Some(subject.clone())
        }
    };
    if !caller.access_key_id.is_empty() {
        id.insert("accessKeyId".into(), json!(caller.access_key_id));
    }
    if let Some(attributes) = session_attributes {
        match id.get_mut("sessionContext").and_then(Value::as_object_mut) {
            Some(ctx) => {
                ctx.insert("attributes".into(), attributes);
            }
            None => {
                id.insert("sessionContext".into(), json!({"attributes": attributes}));
            }
        }
    }
    (Value::Object(id), username)
}

/// Who called AssumeRoleWithWebIdentity or AssumeRoleWithSAML, as the answer names them
/// (the caller is known only once the token or assertion is checked).
fn federated_identity(event_name: &str, response: &Value) -> Option<(Value, String)> {
    let text = |k: &str| response.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    match event_name {
        "AssumeRoleWithWebIdentity" => {
            let (provider, audience, subject) = (text("provider"), text("audience"), text("subjectFromWebIdentityToken"));
            let identity = json!({
                "type": "WebIdentityUser",
                "principalId": format!("{provider}:{audience}:{subject}"),
                "userName": subject,
                "identityProvider": provider,
            });
            Some((identity, subject))
        }
        "AssumeRoleWithSAML" => {
            let (issuer, subject, qualifier) = (text("issuer"), text("subject"), text("nameQualifier"));
            let identity = json!({
                "type": "SAMLUser",
                "principalId": format!("{qualifier}:{subject}"),
                "userName": subject,
                "identityProvider": issuer,
            });
            Some((identity, subject))
        }
        _ => None,
    }
}

/// The account of an unsigned call (AssumeRoleWithWebIdentity, AssumeRoleWithSAML): the role's.
fn account_of_role_arn(parameters: &Value) -> Option<String> {
    let arn = portcullis_types::Arn::parse(parameters.get("roleArn")?.as_str()?).ok()?;
    portcullis_types::AccountId::parse(&arn.account).ok().map(|_| arn.account)
}

/// The resources a request names, as CloudTrail types them.
fn resources_of(parameters: &Value) -> Vec<(String, String)> {
    const NAMED: [(&str, &str); 12] = [
        ("userName", "AWS::IAM::User"),
        ("groupName", "AWS::IAM::Group"),
        ("roleName", "AWS::IAM::Role"),
        ("roleArn", "AWS::IAM::Role"),
        ("policyArn", "AWS::IAM::Policy"),
        ("instanceProfileName", "AWS::IAM::InstanceProfile"),
        ("serialNumber", "AWS::IAM::MFADevice"),
        ("accessKeyId", "AWS::IAM::AccessKey"),
        ("serverCertificateName", "AWS::IAM::ServerCertificate"),
        ("accountId", "AWS::Organizations::Account"),
        ("policyId", "AWS::Organizations::Policy"),
        ("permissionSetArn", "AWS::SSO::PermissionSet"),
    ];
    let mut out: Vec<(String, String)> = Vec::new();
    for (member, kind) in NAMED {
        if let Some(name) = parameters.get(member).and_then(Value::as_str) {
            let pair = (kind.to_owned(), name.to_owned());
            if !out.contains(&pair) {
                out.push(pair);
            }
        }
    }
    out
}

/// Member names as CloudTrail writes them: the API's names with a lowercase first letter.
fn lower_camel(v: Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = match chars.next() {
                        Some(c) => c.to_lowercase().chain(chars).collect(),
                        None => k,
                    };
                    (key, lower_camel(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(lower_camel).collect()),
        other => other,
    }
}

fn hide_secrets(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, v) in o.iter_mut() {
                if !v.is_null() && SECRET_MEMBERS.iter().any(|m| m.eq_ignore_ascii_case(k)) {
                    *v = json!(HIDDEN);
                } else {
                    hide_secrets(v);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(hide_secrets),
        _ => {}
    }
}

/// A query-protocol request's parameters (`Tags.member.1.Key`) as a JSON object of the
/// API's member names, lists as arrays.
pub fn query_parameters<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, value) in pairs {
        if key == "Action" || key == "Version" {
            continue;
        }
        let mut node = &mut root;
        let mut segments = key.split('.').peekable();
        while let Some(seg) = segments.next() {
            if seg == "member" || seg == "entry" {
                continue;
            }
            let last = segments.peek().is_none();
            if let Ok(index) = seg.parse::<usize>() {
                if !node.is_array() {
                    *node = Value::Array(Vec::new());
                }
                let Value::Array(list) = node else { break };
                let i = index.saturating_sub(1).min(1_000);
                while list.len() <= i {
                    list.push(Value::Null);
                }
                node = &mut list[i];
                if last {
                    *node = json!(value);
                }
                continue;
            }
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            let Value::Object(map) = node else { break };
            if last {
                map.insert(seg.to_owned(), json!(value));
                break;
            }
            node = map.entry(seg.to_owned()).or_insert(Value::Null);
        }
    }
    root
}

/// A query-protocol result's members (`<User>…</User>`, what goes inside
/// `<CreateUserResult>`) as JSON: elements with children as objects, `member` lists as
/// arrays, text as strings.
pub fn xml_result(members: &str) -> Option<Value> {
    use quick_xml::events::Event;
    let xml = format!("<Result>{members}</Result>");
    let mut reader = quick_xml::Reader::from_str(&xml);
    // (element name, its object so far, its text)
    let mut stack: Vec<(String, Map<String, Value>, String, bool)> = vec![(String::new(), Map::new(), String::new(), false)];
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push((name, Map::new(), String::new(), false));
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let parent = stack.last_mut()?;
                add_child(parent, name, Value::Null);
            }
            Event::Text(t) => {
                let text = t.unescape().ok()?;
                stack.last_mut()?.2.push_str(&text);
            }
            Event::End(_) => {
                let (name, obj, text, is_list) = stack.pop()?;
                let value = if is_list {
                    Value::Array(obj.into_iter().next().map(|(_, v)| v).and_then(|v| v.as_array().cloned()).unwrap_or_default())
                } else if obj.is_empty() {
                    Value::String(text.trim().to_owned())
                } else {
                    Value::Object(obj)
                };
                let parent = stack.last_mut()?;
                add_child(parent, name, value);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let (_, root, _, _) = stack.pop()?;
    // The result element itself (`CreateUserResult`) is not part of the event.
    match root.into_iter().next() {
        Some((_, Value::Object(inner))) => Some(Value::Object(inner)),
        _ => None,
    }
}

fn add_child(parent: &mut (String, Map<String, Value>, String, bool), name: String, value: Value) {
    if name == "member" {
        parent.3 = true;
        let list = parent.1.entry("member").or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            items.push(value);
        }
    } else {
        parent.1.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_nest_lists_and_members() {
        let pairs = [("Action", "CreateUser"), ("UserName", "bob"), ("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "blue"), ("Tags.member.2.Key", "x")];
        let v = lower_camel(query_parameters(pairs));
        assert_eq!(v, json!({"userName": "bob", "tags": [{"key": "team", "value": "blue"}, {"key": "x"}]}));
    }

    #[test]
    fn xml_results_become_json_and_secrets_are_hidden() {
        let xml = "<AccessKey><UserName>bob</UserName><AccessKeyId>AKIA1</AccessKeyId><Status>Active</Status><SecretAccessKey>s3cr3t</SecretAccessKey></AccessKey>";
        let mut v = lower_camel(xml_result(xml).unwrap());
        hide_secrets(&mut v);
        assert_eq!(v, json!({"accessKey": {"userName": "bob", "accessKeyId": "AKIA1", "status": "Active", "secretAccessKey": HIDDEN}}));
        let list = "<Items><member><A>1</A></member><member><A>2</A></member></Items>";
        assert_eq!(xml_result(list).unwrap(), json!({"Items": [{"A": "1"}, {"A": "2"}]}));
    }

    #[test]
    fn resources_are_typed() {
        let v = json!({"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/P"});
        assert_eq!(resources_of(&v), vec![("AWS::IAM::User".to_owned(), "bob".to_owned()), ("AWS::IAM::Policy".to_owned(), "arn:aws:iam::aws:policy/P".to_owned())]);
    }
}
