//! Temporary credentials against a clock the test controls: expiry and MFA code windows,
//! through the real domain and a real SQLite store.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use portcullis_core::{Iam, IamError, RequestFacts};
use portcullis_credentials::SecretBox;
use portcullis_store_sql::SqlStore;
use portcullis_types::Clock;
use time::OffsetDateTime;

#[derive(Default)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0.load(Ordering::SeqCst)).unwrap()
    }
}

async fn setup() -> (Iam, Arc<TestClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::connect(&SqlStore::sqlite_url(dir.path())).await.unwrap());
    let clock = Arc::new(TestClock(AtomicI64::new(1_800_000_000)));
    let secrets = Arc::new(SecretBox::new(&SecretBox::generate_key().unwrap()).unwrap());
    let iam = Iam::new(store, clock.clone(), secrets).unwrap();
    iam.ensure_account("root@example.com", Some("Root!Passw0rd")).await.unwrap();
    (iam, clock, dir)
}

#[tokio::test]
async fn session_tokens_expire() {
    let (iam, clock, _dir) = setup().await;
    let key = iam.bootstrap_admin("alice").await.unwrap();
    let (caller, _) = iam.resolve_access_key(&key.access_key_id, RequestFacts::default()).await.unwrap();
    let creds = iam.get_session_token(&caller, Some(900), None, None).await.unwrap();
    assert!(creds.access_key_id.starts_with("ASIA"));
    assert_eq!(creds.expiration, 1_800_000_900);

    let (session, secret) = iam
        .resolve_session_token(&creds.access_key_id, &creds.session_token, RequestFacts::default())
        .await
        .unwrap();
    assert_eq!(secret, creds.secret_access_key);
    assert_eq!(session.arn(), caller.arn());
    assert!(session.session.as_ref().unwrap().mfa_authenticated_at.is_none());

    clock.0.store(1_800_000_899, Ordering::SeqCst);
    assert!(iam.resolve_session_token(&creds.access_key_id, &creds.session_token, RequestFacts::default()).await.is_ok());
    clock.0.store(1_800_000_900, Ordering::SeqCst);
    match iam.resolve_session_token(&creds.access_key_id, &creds.session_token, RequestFacts::default()).await {
        Err(IamError::ExpiredToken(m)) => assert_eq!(m, "The security token included in the request is expired"),
        other => panic!("expected ExpiredToken, got {other:?}"),
    }
}

#[tokio::test]
async fn root_sessions_last_at_most_an_hour_and_tokens_bind_their_key() {
    let (iam, _clock, _dir) = setup().await;
    let root = iam.root_caller().await.unwrap();
    let creds = iam.get_session_token(&root, Some(129_600), None, None).await.unwrap();
    assert_eq!(creds.expiration, 1_800_000_000 + 3_600);
    let other = iam.get_session_token(&root, None, None, None).await.unwrap();
    // A valid token presented with another session's key id is refused.
    let err = iam
        .resolve_session_token(&other.access_key_id, &creds.session_token, RequestFacts::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidClientTokenId");
}
