//! What the web console keeps between a browser's requests — signed-in sessions, sign-ins
//! waiting for their next step, key registrations under way — kept in the store so that
//! every node of a service sees the same (a browser may land on any node behind a load
//! balancer) and a restarted node signs nobody out.
//!
//! The browser holds a random token; the store holds the token's SHA-256 and the state's
//! body sealed with the master key (bodies hold what was typed at sign-in, session tokens,
//! one-time downloads). What a body means is the console's business: here it is bytes.

use sha2::Digest;

use portcullis_store::ConsoleStateRecord;

use crate::{Iam, IamResult};

/// The kinds of state, each with its own id space and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleStateKind {
    /// A signed-in session.
    Session,
    /// A sign-in waiting for its next step (an MFA code, a new password).
    Pending,
    /// An access-portal user's key registration, by the portal session it belongs to.
    PortalRegistration,
}

impl ConsoleStateKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Pending => "pending",
            Self::PortalRegistration => "portal-registration",
        }
    }
}

/// One state as the console reads and writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleState {
    /// Whose it is (a session's identity ARN), or empty.
    pub owner: String,
    pub body: Vec<u8>,
    pub created: i64,
    pub last_seen: i64,
    /// From then on the state is gone.
    pub expires_at: i64,
}

/// How many states of a kind are kept at most: per owner (its least recently seen go first
/// beyond that, so one identity signing in over and over cannot push others out) and in all.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleLimits {
    pub per_owner: Option<i64>,
    pub total: i64,
}

fn state_id(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// Binds a sealed body to its kind and row: a body copied to another row does not open.
fn aad(kind: ConsoleStateKind, id: &str) -> String {
    format!("console-state:{}:{id}", kind.as_str())
}

impl Iam {
    fn seal_console_state(&self, kind: ConsoleStateKind, id: &str, state: &ConsoleState) -> IamResult<ConsoleStateRecord> {
        Ok(ConsoleStateRecord {
            state_id: id.to_owned(),
            kind: kind.as_str().to_owned(),
            owner: state.owner.clone(),
            body: self.secrets.seal(&state.body, &aad(kind, id))?,
            created_at: state.created,
            last_seen: state.last_seen,
            expires_at: state.expires_at,
        })
    }

    /// The state if it is of this kind, still alive at `now`, and its body opens.
    fn open_console_state(&self, kind: ConsoleStateKind, rec: ConsoleStateRecord, now: i64) -> Option<ConsoleState> {
        if rec.kind != kind.as_str() || rec.expires_at <= now {
            return None;
        }
        let body = self.secrets.open(&rec.body, &aad(kind, &rec.state_id)).ok()?;
        Some(ConsoleState { owner: rec.owner, body, created: rec.created_at, last_seen: rec.last_seen, expires_at: rec.expires_at })
    }

    /// Keeps a new state under `token` (forgetting expired ones, and the least recently
    /// seen beyond the limits).
    pub async fn put_console_state(&self, kind: ConsoleStateKind, token: &str, state: &ConsoleState, now: i64, limits: ConsoleLimits) -> IamResult<()> {
        let id = state_id(token);
        let rec = self.seal_console_state(kind, &id, state)?;
        let mut tx = self.store.begin().await?;
        tx.put_console_state(&rec, now).await?;
        if let Some(keep) = limits.per_owner {
            tx.trim_console_states(kind.as_str(), Some(&state.owner), keep).await?;
        }
        tx.trim_console_states(kind.as_str(), None, limits.total).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The state under `token`, if it is alive.
    pub async fn console_state(&self, kind: ConsoleStateKind, token: &str, now: i64) -> IamResult<Option<ConsoleState>> {
        let id = state_id(token);
        let mut tx = self.store.begin_read().await?;
        let rec = tx.get_console_state(&id).await?;
        drop(tx);
        match rec {
            // An expired state goes at once: it cannot come back to life.
            Some(r) if r.kind == kind.as_str() && r.expires_at <= now => {
                self.end_console_state(token).await?;
                Ok(None)
            }
            r => Ok(r.and_then(|r| self.open_console_state(kind, r, now))),
        }
    }

    /// Takes the state under `token` out, once: of two requests taking it at once (on any
    /// nodes), one gets it.
    pub async fn take_console_state(&self, kind: ConsoleStateKind, token: &str, now: i64) -> IamResult<Option<ConsoleState>> {
        let id = state_id(token);
        let mut tx = self.store.begin().await?;
        let taken = tx.take_console_state(&id, kind.as_str()).await?;
        tx.commit().await?;
        Ok(taken.and_then(|r| self.open_console_state(kind, r, now)))
    }

    /// Sets the times of the state under `token`, and its body when given (a request that
    /// only marks the state used leaves alone a body another request changed meanwhile);
    /// false when the state is gone.
    pub async fn update_console_state(&self, kind: ConsoleStateKind, token: &str, body: Option<&[u8]>, last_seen: i64, expires_at: i64) -> IamResult<bool> {
        let id = state_id(token);
        let body = body.map(|b| self.secrets.seal(b, &aad(kind, &id))).transpose()?;
        let mut tx = self.store.begin().await?;
        let updated = tx.update_console_state(&id, body.as_deref(), last_seen, expires_at).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Ends the state under `token`, whatever its kind.
    pub async fn end_console_state(&self, token: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        tx.delete_console_state(&state_id(token)).await?;
        tx.commit().await?;
        Ok(())
    }
}
