//! The audit trail's rows, and the event a request's changes are committed with.
//!
//! A request that may change something runs inside [`with_pending_event`]: the backend's
//! `commit` of the first transaction that commits within it writes the event in that same
//! transaction ([`event_for_commit`]), so no change is ever stored without the event that
//! describes it. The request's final event (with its outcome) is written afterwards over the
//! same event id.

use std::future::Future;
use std::sync::{Arc, Mutex};

/// One CloudTrail-shaped event: the columns LookupEvents filters by, and the event itself
/// as CloudTrail's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub event_id: String,
    pub account_id: String,
    /// Milliseconds since the Unix epoch.
    pub event_time: i64,
    pub event_name: String,
    pub event_source: String,
    pub read_only: bool,
    pub username: Option<String>,
    pub access_key_id: Option<String>,
    /// The resources named by the request, as (type, name) pairs.
    pub resources: Vec<(String, String)>,
    /// The CloudTrail event record, as JSON text.
    pub body: String,
}

/// The one attribute LookupEvents may filter by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventAttribute {
    EventId,
    EventName,
    ReadOnly,
    Username,
    ResourceType,
    ResourceName,
    EventSource,
    AccessKeyId,
}

impl EventAttribute {
    pub fn parse(key: &str) -> Option<Self> {
        Some(match key {
            "EventId" => Self::EventId,
            "EventName" => Self::EventName,
            "ReadOnly" => Self::ReadOnly,
            "Username" => Self::Username,
            "ResourceType" => Self::ResourceType,
            "ResourceName" => Self::ResourceName,
            "EventSource" => Self::EventSource,
            "AccessKeyId" => Self::AccessKeyId,
            _ => return None,
        })
    }
}

/// An account's events in a time range, newest first.
#[derive(Debug, Clone)]
pub struct EventQuery<'a> {
    pub account_id: &'a str,
    /// Inclusive bounds, in milliseconds.
    pub start: i64,
    pub end: i64,
    pub attribute: Option<(EventAttribute, &'a str)>,
    /// Only events strictly older than this (time, id) position (the previous page's last).
    pub before: Option<(i64, &'a str)>,
    pub limit: i64,
}

/// The event of the request in progress, until a commit writes it.
#[derive(Debug, Default)]
pub struct PendingEvent {
    state: Mutex<(Option<EventRecord>, bool)>,
    /// A console request's slot: it makes one call after another, each with its event.
    console: bool,
}

impl PendingEvent {
    pub fn new(event: EventRecord) -> Arc<Self> {
        Arc::new(Self { state: Mutex::new((Some(event), false)), console: false })
    }

    /// An empty slot for a console request's calls.
    pub fn for_console() -> Arc<Self> {
        Arc::new(Self { state: Mutex::new((None, false)), console: true })
    }

    /// Makes `event` the pending one; returns the one it replaces if no commit wrote it.
    pub fn replace(&self, event: EventRecord) -> Option<EventRecord> {
        let mut s = self.state.lock().ok()?;
        let previous = std::mem::replace(&mut *s, (Some(event), false));
        if previous.1 {
            None
        } else {
            previous.0
        }
    }

    /// The pending event if no commit wrote it (the slot is left empty).
    pub fn take_unwritten(&self) -> Option<EventRecord> {
        let mut s = self.state.lock().ok()?;
        let (event, written) = std::mem::take(&mut *s);
        if written {
            None
        } else {
            event
        }
    }

    /// Whether a commit has written the event.
    pub fn written(&self) -> bool {
        self.state.lock().map(|s| s.1).unwrap_or(false)
    }

    fn take(&self) -> Option<EventRecord> {
        let mut s = self.state.lock().ok()?;
        if s.1 {
            return None;
        }
        s.1 = true;
        s.0.clone()
    }
}

tokio::task_local! {
    static PENDING: Arc<PendingEvent>;
}

/// Runs a request's work with its event pending.
pub async fn with_pending_event<F: Future>(event: Arc<PendingEvent>, work: F) -> F::Output {
    PENDING.scope(event, work).await
}

/// The current console request's slot, if this task serves one.
pub fn console_slot() -> Option<Arc<PendingEvent>> {
    PENDING.try_with(|p| p.console.then(|| p.clone())).ok().flatten()
}

/// For a backend's `commit`: the event to write in the committing transaction, once per
/// request (None outside a request, or once written).
pub fn event_for_commit() -> Option<EventRecord> {
    PENDING.try_with(|p| p.take()).ok().flatten()
}
