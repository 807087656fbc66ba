//! Console sessions, kept on the server: the browser holds only a random id (256 bits) in an
//! HttpOnly, SameSite=Strict cookie. A session holds the temporary credentials that sign-in
//! issued (the console acts with them, through the same authorization as the API) and the
//! CSRF token of its forms. Sessions end at sign-out, after 12 hours, or after an hour
//! without a request.
//!
//! A sign-in that still needs a step (an MFA code, a new password) is a *pending* sign-in:
//! what was typed so far, kept for at most five minutes under its own random id.
//!
//! Both live in this node's memory: a node that restarts signs everyone out. (Shared
//! sessions for several nodes belong with the store; see docs/console.md.)

use std::collections::HashMap;
use std::sync::Mutex;

use portcullis_core::{PortalKeyChallenge, PortalKeyRegistration, SecurityKeyChallenge, SecurityKeyRegistration, TemporaryCredentials};

/// Absolute and idle lifetime of a console session, in seconds.
pub const ABSOLUTE_SECONDS: i64 = 12 * 3600;
pub const IDLE_SECONDS: i64 = 3600;
/// How long a sign-in may wait for its next step.
pub const PENDING_SECONDS: i64 = 300;
/// Sessions and pending sign-ins kept at most (the oldest go first beyond that), and
/// sessions per identity (its oldest go first), so that one identity signing in over and
/// over cannot push everyone else's sessions out.
const MAX_ENTRIES: usize = 100_000;
const MAX_PER_IDENTITY: usize = 20;
/// How long a one-time download (a new user's credentials) stays available.
const ONE_TIME_SECONDS: i64 = 600;

/// A random id or token: 32 bytes from the OS, hex-encoded.
pub fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

/// Compares two tokens in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub struct Session {
    pub account_id: String,
    pub arn: String,
    pub access_key_id: String,
    pub session_token: String,
    pub csrf: String,
    /// Credentials shown once (a new user's password and secret key) as AWS's CSV, with
    /// when they were put there: until downloaded, replaced or ten minutes old.
    one_time_csv: Option<(String, i64)>,
    /// A passkey or security key being registered, with when it started (five minutes).
    key_registration: Option<(SecurityKeyRegistration, i64)>,
    created: i64,
    last_seen: i64,
}

/// Who a pending sign-in is for, and what it has proved so far.
#[derive(Clone)]
pub struct Pending {
    pub root_email: Option<String>,
    pub account: Option<String>,
    pub user_name: Option<String>,
    pub password: String,
    pub new_password: Option<String>,
    pub mfa_devices: Vec<String>,
    /// The challenge for the identity's passkeys and security keys: the options the page
    /// hands the browser (JSON) and the state that checks its answer.
    pub security_key: Option<(String, SecurityKeyChallenge)>,
    /// For the access portal's sign-in: the challenge for a directory user's keys.
    pub portal_key: Option<PortalKeyChallenge>,
    /// Whether the identity has recovery codes left.
    pub recovery_codes: bool,
    /// The password was right and the second factor is being asked for.
    pub at_mfa: bool,
    pub csrf: String,
    created: i64,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("account", &self.account).field("user_name", &self.user_name).finish_non_exhaustive()
    }
}

impl Pending {
    pub fn new(root_email: Option<String>, account: Option<String>, user_name: Option<String>, password: String, csrf: String, now: i64) -> Self {
        Self {
            root_email,
            account,
            user_name,
            password,
            new_password: None,
            mfa_devices: Vec::new(),
            security_key: None,
            portal_key: None,
            recovery_codes: false,
            at_mfa: false,
            csrf,
            created: now,
        }
    }
}

#[derive(Default)]
pub struct Sessions {
    sessions: Mutex<HashMap<String, Session>>,
    pending: Mutex<HashMap<String, Pending>>,
    /// Access-portal key registrations under way, by the portal session they belong to.
    portal_registrations: Mutex<HashMap<String, (PortalKeyRegistration, i64)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Sessions {
    /// Starts a session for credentials sign-in issued; returns its id.
    pub fn start(&self, account_id: &str, arn: &str, credentials: &TemporaryCredentials, now: i64) -> Option<String> {
        let id = random_token()?;
        let session = Session {
            account_id: account_id.to_owned(),
            arn: arn.to_owned(),
            access_key_id: credentials.access_key_id.clone(),
            session_token: credentials.session_token.clone(),
            csrf: random_token()?,
            one_time_csv: None,
            key_registration: None,
            created: now,
            last_seen: now,
        };
        let mut map = lock(&self.sessions);
        map.retain(|_, s| alive(s, now));
        let mut own: Vec<(i64, String)> = map.iter().filter(|(_, s)| s.arn == arn).map(|(k, s)| (s.last_seen, k.clone())).collect();
        if own.len() >= MAX_PER_IDENTITY {
            own.sort();
            for (_, k) in own.iter().take(own.len() + 1 - MAX_PER_IDENTITY) {
                map.remove(k);
            }
        }
        if map.len() >= MAX_ENTRIES {
            if let Some(oldest) = map.iter().min_by_key(|(_, s)| s.last_seen).map(|(k, _)| k.clone()) {
                map.remove(&oldest);
            }
        }
        map.insert(id.clone(), session);
        Some(id)
    }

    /// The session behind an id, if it is still alive; marks it used.
    pub fn touch(&self, id: &str, now: i64) -> Option<SessionView> {
        let mut map = lock(&self.sessions);
        let s = map.get_mut(id)?;
        if !alive(s, now) {
            map.remove(id);
            return None;
        }
        s.last_seen = now;
        Some(SessionView {
            id: id.to_owned(),
            account_id: s.account_id.clone(),
            arn: s.arn.clone(),
            access_key_id: s.access_key_id.clone(),
            session_token: s.session_token.clone(),
            csrf: s.csrf.clone(),
        })
    }

    /// Keeps a one-time CSV for the session's next download.
    pub fn put_one_time(&self, id: &str, csv: String, now: i64) {
        if let Some(s) = lock(&self.sessions).get_mut(id) {
            s.one_time_csv = Some((csv, now));
        }
    }

    /// The one-time CSV, once, while it is fresh.
    pub fn take_one_time(&self, id: &str, now: i64) -> Option<String> {
        let (csv, at) = lock(&self.sessions).get_mut(id)?.one_time_csv.take()?;
        (now - at < ONE_TIME_SECONDS).then_some(csv)
    }

    /// Keeps a passkey registration for the session's next answer.
    pub fn put_registration(&self, id: &str, reg: SecurityKeyRegistration, now: i64) {
        if let Some(s) = lock(&self.sessions).get_mut(id) {
            s.key_registration = Some((reg, now));
        }
    }

    /// The registration under way, once, while it is fresh.
    pub fn take_registration(&self, id: &str, now: i64) -> Option<SecurityKeyRegistration> {
        let (reg, at) = lock(&self.sessions).get_mut(id)?.key_registration.take()?;
        (now - at < PENDING_SECONDS).then_some(reg)
    }

    /// Keeps a portal user's key registration for its portal session's next answer.
    pub fn put_portal_registration(&self, portal_token: &str, reg: PortalKeyRegistration, now: i64) {
        let mut map = lock(&self.portal_registrations);
        map.retain(|_, (_, at)| now - *at < PENDING_SECONDS);
        if map.len() < MAX_ENTRIES {
            map.insert(portal_token.to_owned(), (reg, now));
        }
    }

    /// The portal session's registration under way, once, while it is fresh.
    pub fn take_portal_registration(&self, portal_token: &str, now: i64) -> Option<PortalKeyRegistration> {
        let (reg, at) = lock(&self.portal_registrations).remove(portal_token)?;
        (now - at < PENDING_SECONDS).then_some(reg)
    }

    pub fn end(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    pub fn put_pending(&self, p: Pending, now: i64) -> Option<String> {
        let id = random_token()?;
        let mut map = lock(&self.pending);
        map.retain(|_, p| now - p.created < PENDING_SECONDS);
        if map.len() >= MAX_ENTRIES {
            return None;
        }
        map.insert(id.clone(), p);
        Some(id)
    }

    /// Takes a pending sign-in out (each step is used once; a step that needs another
    /// puts a new one back under a new id).
    pub fn take_pending(&self, id: &str, now: i64) -> Option<Pending> {
        let p = lock(&self.pending).remove(id)?;
        (now - p.created < PENDING_SECONDS).then_some(p)
    }
}

fn alive(s: &Session, now: i64) -> bool {
    now - s.created < ABSOLUTE_SECONDS && now - s.last_seen < IDLE_SECONDS
}

/// What a page needs of the session.
#[derive(Clone)]
pub struct SessionView {
    pub id: String,
    pub account_id: String,
    pub arn: String,
    pub access_key_id: String,
    pub session_token: String,
    pub csrf: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> TemporaryCredentials {
        TemporaryCredentials { access_key_id: "ASIA".into(), secret_access_key: "s".into(), session_token: "t".into(), expiration: 0 }
    }

    #[test]
    fn sessions_end_after_an_idle_hour_and_after_twelve_hours() {
        let s = Sessions::default();
        let id = s.start("1", "arn", &credentials(), 0).expect("id");
        assert!(s.touch(&id, IDLE_SECONDS - 1).is_some());
        assert!(s.touch(&id, 2 * IDLE_SECONDS - 2).is_some(), "each request restarts the idle hour");
        assert!(s.touch(&id, 3 * IDLE_SECONDS).is_none(), "an hour without a request ends it");
        assert!(s.touch(&id, 3 * IDLE_SECONDS - 10).is_none(), "and it stays ended");

        let id = s.start("1", "arn", &credentials(), 0).expect("id");
        let mut now = 0;
        while now + 1800 < ABSOLUTE_SECONDS {
            now += 1800;
            assert!(s.touch(&id, now).is_some(), "{now}");
        }
        assert!(s.touch(&id, ABSOLUTE_SECONDS).is_none(), "twelve hours end it, however busy");
    }

    #[test]
    fn one_identity_cannot_push_out_the_others() {
        let s = Sessions::default();
        let admin = s.start("1", "arn:admin", &credentials(), 0).expect("id");
        let mut mine = Vec::new();
        for i in 0..(MAX_PER_IDENTITY * 3) {
            mine.push(s.start("1", "arn:attacker", &credentials(), i64::try_from(i).unwrap_or(0)).expect("id"));
        }
        assert!(s.touch(&admin, 100).is_some());
        let alive = mine.iter().filter(|id| s.touch(id, 100).is_some()).count();
        assert_eq!(alive, MAX_PER_IDENTITY);
    }

    #[test]
    fn one_time_downloads_work_once_and_expire() {
        let s = Sessions::default();
        let id = s.start("1", "arn", &credentials(), 0).expect("id");
        s.put_one_time(&id, "csv".into(), 0);
        assert_eq!(s.take_one_time(&id, 1).as_deref(), Some("csv"));
        assert_eq!(s.take_one_time(&id, 2), None);
        s.put_one_time(&id, "csv".into(), 10);
        assert_eq!(s.take_one_time(&id, 10 + ONE_TIME_SECONDS), None);
    }
}
