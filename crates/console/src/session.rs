//! Console sessions, kept on the server: the browser holds only a random id (256 bits) in an
//! HttpOnly, SameSite=Strict cookie. A session holds the temporary credentials that sign-in
//! issued (the console acts with them, through the same authorization as the API) and the
//! CSRF token of its forms. Sessions end at sign-out, after 12 hours, or after an hour
//! without a request.
//!
//! A sign-in that still needs a step (an MFA code, a new password) is a *pending* sign-in:
//! what was typed so far, kept for at most five minutes under its own random id.
//!
//! Both are kept in the store (sealed, under the SHA-256 of their ids; see
//! `portcullis_core::ConsoleState`), so every node of a service shares them: a browser may
//! be sent to any node, and a node that restarts signs nobody out.

use serde::{Deserialize, Serialize};

use portcullis_core::{ConsoleLimits, ConsoleState, ConsoleStateKind, Iam, PortalKeyChallenge, PortalKeyRegistration, SecurityKeyChallenge, SecurityKeyRegistration, TemporaryCredentials};

/// Absolute and idle lifetime of a console session, in seconds.
pub const ABSOLUTE_SECONDS: i64 = 12 * 3600;
pub const IDLE_SECONDS: i64 = 3600;
/// How long a sign-in may wait for its next step.
pub const PENDING_SECONDS: i64 = 300;
/// Sessions and pending sign-ins kept at most (the least recently used go first beyond
/// that), and sessions per identity (its least recently used go first), so that one
/// identity signing in over and over cannot push everyone else's sessions out.
const MAX_ENTRIES: i64 = 100_000;
const MAX_PER_IDENTITY: i64 = 20;
/// How long a one-time download (a new user's credentials) stays available.
const ONE_TIME_SECONDS: i64 = 600;
/// A session's last use is written at most this often (its idle hour is counted from it).
const TOUCH_SECONDS: i64 = 60;

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

#[derive(Serialize, Deserialize)]
struct Session {
    account_id: String,
    arn: String,
    access_key_id: String,
    session_token: String,
    csrf: String,
    /// Credentials shown once (a new user's password and secret key) as AWS's CSV, with
    /// when they were put there: until downloaded, replaced or ten minutes old.
    one_time_csv: Option<(String, i64)>,
    /// A passkey or security key being registered, with when it started (five minutes).
    key_registration: Option<(SecurityKeyRegistration, i64)>,
}

/// Who a pending sign-in is for, and what it has proved so far.
#[derive(Clone, Serialize, Deserialize)]
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

/// The console's states, in the store.
pub struct Sessions {
    iam: Iam,
}

/// A store that cannot be reached loses no state: the request that needed it fails (and
/// the failure is logged); the browser can try again.
fn logged<T>(what: &str, r: Result<T, portcullis_core::IamError>) -> Option<T> {
    r.map_err(|e| tracing::warn!(error = %e, "console {what} failed")).ok()
}

fn encode<T: Serialize>(value: &T) -> Option<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| tracing::error!(error = %e, "console state not encoded")).ok()
}

fn decode<T: for<'de> Deserialize<'de>>(state: &ConsoleState) -> Option<T> {
    serde_json::from_slice(&state.body).map_err(|e| tracing::warn!(error = %e, "console state not decoded")).ok()
}

fn session_expiry(created: i64, last_seen: i64) -> i64 {
    (created + ABSOLUTE_SECONDS).min(last_seen + IDLE_SECONDS)
}

impl Sessions {
    pub fn new(iam: Iam) -> Self {
        Self { iam }
    }

    /// Starts a session for credentials sign-in issued; returns its id.
    pub async fn start(&self, account_id: &str, arn: &str, credentials: &TemporaryCredentials, now: i64) -> Option<String> {
        let id = random_token()?;
        let session = Session {
            account_id: account_id.to_owned(),
            arn: arn.to_owned(),
            access_key_id: credentials.access_key_id.clone(),
            session_token: credentials.session_token.clone(),
            csrf: random_token()?,
            one_time_csv: None,
            key_registration: None,
        };
        let state = ConsoleState { owner: arn.to_owned(), body: encode(&session)?, created: now, last_seen: now, expires_at: session_expiry(now, now) };
        let limits = ConsoleLimits { per_owner: Some(MAX_PER_IDENTITY), total: MAX_ENTRIES };
        logged("session start", self.iam.put_console_state(ConsoleStateKind::Session, &id, &state, now, limits).await)?;
        Some(id)
    }

    async fn session(&self, id: &str, now: i64) -> Option<(ConsoleState, Session)> {
        let state = logged("session read", self.iam.console_state(ConsoleStateKind::Session, id, now).await)??;
        let session = decode(&state)?;
        Some((state, session))
    }

    async fn replace(&self, id: &str, state: &ConsoleState, session: &Session) {
        if let Some(body) = encode(session) {
            logged("session update", self.iam.update_console_state(ConsoleStateKind::Session, id, Some(&body), state.last_seen, state.expires_at).await);
        }
    }

    /// The session behind an id, if it is still alive; marks it used.
    pub async fn touch(&self, id: &str, now: i64) -> Option<SessionView> {
        let (state, s) = self.session(id, now).await?;
        if now - state.last_seen >= TOUCH_SECONDS {
            let expires_at = session_expiry(state.created, now);
            if !logged("session touch", self.iam.update_console_state(ConsoleStateKind::Session, id, None, now, expires_at).await)? {
                return None;
            }
        }
        Some(SessionView { id: id.to_owned(), account_id: s.account_id, arn: s.arn, access_key_id: s.access_key_id, session_token: s.session_token, csrf: s.csrf })
    }

    /// Keeps a one-time CSV for the session's next download.
    pub async fn put_one_time(&self, id: &str, csv: String, now: i64) {
        if let Some((state, mut s)) = self.session(id, now).await {
            s.one_time_csv = Some((csv, now));
            self.replace(id, &state, &s).await;
        }
    }

    /// The one-time CSV, once, while it is fresh.
    pub async fn take_one_time(&self, id: &str, now: i64) -> Option<String> {
        let (state, mut s) = self.session(id, now).await?;
        let (csv, at) = s.one_time_csv.take()?;
        self.replace(id, &state, &s).await;
        (now - at < ONE_TIME_SECONDS).then_some(csv)
    }

    /// Keeps a passkey registration for the session's next answer.
    pub async fn put_registration(&self, id: &str, reg: SecurityKeyRegistration, now: i64) {
        if let Some((state, mut s)) = self.session(id, now).await {
            s.key_registration = Some((reg, now));
            self.replace(id, &state, &s).await;
        }
    }

    /// The registration under way, once, while it is fresh.
    pub async fn take_registration(&self, id: &str, now: i64) -> Option<SecurityKeyRegistration> {
        let (state, mut s) = self.session(id, now).await?;
        let (reg, at) = s.key_registration.take()?;
        self.replace(id, &state, &s).await;
        (now - at < PENDING_SECONDS).then_some(reg)
    }

    /// Keeps a portal user's key registration for its portal session's next answer.
    pub async fn put_portal_registration(&self, portal_token: &str, reg: PortalKeyRegistration, now: i64) {
        let Some(body) = encode(&reg) else { return };
        let state = ConsoleState { owner: String::new(), body, created: now, last_seen: now, expires_at: now + PENDING_SECONDS };
        let limits = ConsoleLimits { per_owner: None, total: MAX_ENTRIES };
        // A registration started again replaces the one under way.
        logged("portal registration", self.iam.end_console_state(portal_token).await);
        logged("portal registration", self.iam.put_console_state(ConsoleStateKind::PortalRegistration, portal_token, &state, now, limits).await);
    }

    /// The portal session's registration under way, once, while it is fresh.
    pub async fn take_portal_registration(&self, portal_token: &str, now: i64) -> Option<PortalKeyRegistration> {
        let state = logged("portal registration", self.iam.take_console_state(ConsoleStateKind::PortalRegistration, portal_token, now).await)??;
        decode(&state)
    }

    pub async fn end(&self, id: &str) {
        logged("session end", self.iam.end_console_state(id).await);
    }

    pub async fn put_pending(&self, p: Pending, now: i64) -> Option<String> {
        let id = random_token()?;
        let state = ConsoleState { owner: String::new(), body: encode(&p)?, created: now, last_seen: now, expires_at: p.created + PENDING_SECONDS };
        let limits = ConsoleLimits { per_owner: None, total: MAX_ENTRIES };
        logged("pending sign-in", self.iam.put_console_state(ConsoleStateKind::Pending, &id, &state, now, limits).await)?;
        Some(id)
    }

    /// Takes a pending sign-in out (each step is used once; a step that needs another
    /// puts a new one back under a new id).
    pub async fn take_pending(&self, id: &str, now: i64) -> Option<Pending> {
        let state = logged("pending sign-in", self.iam.take_console_state(ConsoleStateKind::Pending, id, now).await)??;
        decode(&state)
    }
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
    use std::sync::Arc;

    use super::*;

    fn credentials() -> TemporaryCredentials {
        TemporaryCredentials { access_key_id: "ASIA".into(), secret_access_key: "s".into(), session_token: "t".into(), expiration: 0 }
    }

    async fn sessions() -> Sessions {
        let store = Arc::new(portcullis_store_sql::SqlStore::connect("sqlite::memory:").await.expect("store"));
        let secrets = Arc::new(portcullis_credentials::SecretBox::new(&portcullis_credentials::SecretBox::generate_key().expect("key")).expect("box"));
        let iam = Iam::new(store, Arc::new(portcullis_types::SystemClock), secrets).expect("iam");
        Sessions::new(iam)
    }

    #[tokio::test]
    async fn sessions_end_after_an_idle_hour_and_after_twelve_hours() {
        let s = sessions().await;
        let id = s.start("1", "arn", &credentials(), 0).await.expect("id");
        assert!(s.touch(&id, IDLE_SECONDS - 1).await.is_some());
        assert!(s.touch(&id, 2 * IDLE_SECONDS - 2).await.is_some(), "each request restarts the idle hour");
        assert!(s.touch(&id, 3 * IDLE_SECONDS).await.is_none(), "an hour without a request ends it");
        assert!(s.touch(&id, 3 * IDLE_SECONDS - 10).await.is_none(), "and it stays ended");

        let id = s.start("1", "arn", &credentials(), 0).await.expect("id");
        let mut now = 0;
        while now + 1800 < ABSOLUTE_SECONDS {
            now += 1800;
            assert!(s.touch(&id, now).await.is_some(), "{now}");
        }
        assert!(s.touch(&id, ABSOLUTE_SECONDS).await.is_none(), "twelve hours end it, however busy");
    }

    #[tokio::test]
    async fn one_identity_cannot_push_out_the_others() {
        let s = sessions().await;
        let admin = s.start("1", "arn:admin", &credentials(), 0).await.expect("id");
        let mut mine = Vec::new();
        for i in 0..(MAX_PER_IDENTITY * 3) {
            mine.push(s.start("1", "arn:attacker", &credentials(), i).await.expect("id"));
        }
        assert!(s.touch(&admin, 100).await.is_some());
        let mut alive = 0;
        for id in &mine {
            alive += i64::from(s.touch(id, 100).await.is_some());
        }
        assert_eq!(alive, MAX_PER_IDENTITY);
    }

    #[tokio::test]
    async fn one_time_downloads_work_once_and_expire() {
        let s = sessions().await;
        let id = s.start("1", "arn", &credentials(), 0).await.expect("id");
        s.put_one_time(&id, "csv".into(), 0).await;
        assert_eq!(s.take_one_time(&id, 1).await.as_deref(), Some("csv"));
        assert_eq!(s.take_one_time(&id, 2).await, None);
        s.put_one_time(&id, "csv".into(), 10).await;
        assert_eq!(s.take_one_time(&id, 10 + ONE_TIME_SECONDS).await, None);
    }

    #[tokio::test]
    async fn pending_sign_ins_are_taken_once_and_expire_and_ids_are_not_stored() {
        let s = sessions().await;
        let p = Pending::new(None, Some("123456789012".into()), Some("alice".into()), "typed password".into(), "csrf".into(), 0);
        let id = s.put_pending(p.clone(), 0).await.expect("id");
        assert_eq!(s.take_pending(&id, 1).await.map(|p| p.password).as_deref(), Some("typed password"));
        assert!(s.take_pending(&id, 2).await.is_none(), "a step is used once");
        let id = s.put_pending(p, 0).await.expect("id");
        assert!(s.take_pending(&id, PENDING_SECONDS).await.is_none(), "five minutes end it");
        assert!(s.take_pending("not-an-id", 1).await.is_none());
        let session = s.start("1", "arn", &credentials(), 0).await.expect("id");
        assert!(s.take_pending(&session, 1).await.is_none(), "a session's id is no pending sign-in");
        assert!(s.touch(&session, 1).await.is_some(), "and taking it as one does not end the session");
    }
}
