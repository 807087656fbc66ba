//! The read cache (`portcullis_store::CachingStore`) over a real SQLite store: answers are
//! served from memory until something they depend on is written through the cache, and
//! changes made behind its back (another node) show after the time bound.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use portcullis_store::*;
use portcullis_store_sql::SqlStore;

const ACCOUNT: &str = "111111111111";

/// A user of the test account.
fn user(id: &str, name: &str, path: &str) -> UserRecord {
    common::user(ACCOUNT, id, name, path)
}

async fn setup(ttl: Duration) -> (Arc<SqlStore>, CachingStore) {
    let raw = Arc::new(SqlStore::connect("sqlite::memory:").await.unwrap());
    let cached = CachingStore::new(raw.clone(), 10_000, ttl);
    let mut tx = cached.begin().await.unwrap();
    tx.insert_account(&common::account(ACCOUNT)).await.unwrap();
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    tx.commit().await.unwrap();
    (raw, cached)
}

async fn read_path(store: &dyn Store, name: &str) -> Option<String> {
    let mut tx = store.begin_read().await.unwrap();
    tx.get_user(ACCOUNT, name).await.unwrap().map(|u| u.path)
}

/// Changes the user's path without the cache knowing, as another node would.
async fn change_behind_its_back(raw: &SqlStore, path: &str) {
    let mut tx = raw.begin().await.unwrap();
    let mut u = tx.get_user(ACCOUNT, "alice").await.unwrap().unwrap();
    u.path = path.into();
    tx.update_user(&u).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn reads_are_cached_until_a_write_through_the_cache() {
    let (raw, cached) = setup(Duration::from_secs(60)).await;
    assert_eq!(read_path(&cached, "alice").await.as_deref(), Some("/"));
    assert!(cached.cached_entries() >= 1);

    // Served from memory: a change the cache was not told about is not seen...
    change_behind_its_back(&raw, "/elsewhere/").await;
    assert_eq!(read_path(&cached, "ALICE").await.as_deref(), Some("/"), "names are case-insensitive keys");

    // ...nor after a write to another category...
    let mut tx = cached.begin().await.unwrap();
    tx.set_tags(TagTarget::User, "AIDA1", &[Tag { key: "k".into(), value: "v".into() }]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(read_path(&cached, "alice").await.as_deref(), Some("/"));

    // ...but a committed write to users through the cache invalidates it.
    let mut tx = cached.begin().await.unwrap();
    tx.insert_user(&user("AIDA2", "bob", "/")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(read_path(&cached, "alice").await.as_deref(), Some("/elsewhere/"));

    // A write transaction that is dropped changes nothing, so it invalidates nothing.
    change_behind_its_back(&raw, "/third/").await;
    let mut tx = cached.begin().await.unwrap();
    tx.insert_user(&user("AIDA3", "carol", "/")).await.unwrap();
    drop(tx);
    assert_eq!(read_path(&cached, "alice").await.as_deref(), Some("/elsewhere/"));
    assert_eq!(read_path(&cached, "carol").await, None);
}

#[tokio::test]
async fn write_transactions_always_read_the_database() {
    let (raw, cached) = setup(Duration::from_secs(60)).await;
    assert_eq!(read_path(&cached, "alice").await.as_deref(), Some("/"));
    change_behind_its_back(&raw, "/new/").await;
    let mut tx = cached.begin().await.unwrap();
    assert_eq!(tx.get_user(ACCOUNT, "alice").await.unwrap().unwrap().path, "/new/");
}

#[tokio::test]
async fn absent_rows_are_not_cached() {
    let (raw, cached) = setup(Duration::from_secs(60)).await;
    assert_eq!(read_path(&cached, "dave").await, None);
    let mut tx = raw.begin().await.unwrap();
    tx.insert_user(&user("AIDA4", "dave", "/d/")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(read_path(&cached, "dave").await.as_deref(), Some("/d/"));
}

#[tokio::test]
async fn answers_expire_after_the_time_bound() {
    let (raw, cached) = setup(Duration::from_millis(200)).await;
    assert_eq!(read_path(&cached, "alice").await.as_deref(), Some("/"));
    change_behind_its_back(&raw, "/later/").await;
    assert_eq!(read_path(&cached, "alice").await.as_deref(), Some("/"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(read_path(&cached, "alice").await.as_deref(), Some("/later/"));
}

fn spawn_read(cached: &CachingStore) -> tokio::task::JoinHandle<Option<String>> {
    let cached = cached.clone();
    tokio::spawn(async move { read_path(&cached, "alice").await })
}

/// Caches alice's path with time bound `ttl`, changes it behind the cache's back, waits
/// `wait` (past the bound) and starts the reader that refreshes it, while holding SQLite's
/// one connection so that the refresh cannot finish until the returned transaction is dropped.
async fn refresh_held_up(ttl: Duration, wait: Duration) -> (Arc<SqlStore>, CachingStore, Box<dyn Tx>, tokio::task::JoinHandle<Option<String>>) {
    let (raw, cached) = setup(ttl).await;
    assert_eq!(read_path(&cached, "alice").await.as_deref(), Some("/"));
    change_behind_its_back(&raw, "/later/").await;
    tokio::time::sleep(wait).await;
    let held = raw.begin().await.unwrap();
    let refresher = spawn_read(&cached);
    (raw, cached, held, refresher)
}

#[tokio::test]
async fn one_reader_refreshes_an_expired_answer_while_the_others_keep_it() {
    let (raw, cached, held, refresher) = refresh_held_up(Duration::from_millis(300), Duration::from_millis(350)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let other = tokio::time::timeout(Duration::from_secs(2), read_path(&cached, "alice")).await;
    assert_eq!(other.expect("a reader waited for the refresh").as_deref(), Some("/"), "the old answer, at once");
    drop(held);
    assert_eq!(refresher.await.unwrap().as_deref(), Some("/later/"));
    assert_eq!(read_path(&cached, "alice").await.as_deref(), Some("/later/"));

    // Deleted behind the cache's back: once the time bound has passed, the refreshing reader
    // finds nothing, and nobody is served the old row any more.
    let mut tx = raw.begin().await.unwrap();
    tx.delete_user("AIDA1").await.unwrap();
    tx.commit().await.unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(read_path(&cached, "alice").await, None);
    assert_eq!(read_path(&cached, "alice").await, None);
}

#[tokio::test]
async fn expired_answers_are_not_kept_past_twice_the_time_bound() {
    // A refresh starts and cannot finish while the connection is held...
    let (_raw, cached, held, refresher) = refresh_held_up(Duration::from_millis(200), Duration::from_millis(250)).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    // ...and past twice the bound, the others ask the database too instead of the old answer.
    let other = spawn_read(&cached);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!other.is_finished(), "an answer older than twice the bound was served");
    drop(held);
    assert_eq!(refresher.await.unwrap().as_deref(), Some("/later/"));
    assert_eq!(other.await.unwrap().as_deref(), Some("/later/"));
}

#[tokio::test]
async fn lists_and_tags_follow_writes() {
    let (_raw, cached) = setup(Duration::from_secs(60)).await;
    let page = PageQuery { path_prefix: None, after: None, limit: 10 };
    let names = |v: Vec<UserRecord>| v.into_iter().map(|u| u.name).collect::<Vec<_>>();
    let mut tx = cached.begin_read().await.unwrap();
    assert_eq!(names(tx.list_users(ACCOUNT, &page).await.unwrap()), ["alice"]);
    assert!(tx.tags(TagTarget::User, "AIDA1").await.unwrap().is_empty());
    drop(tx);

    let mut tx = cached.begin().await.unwrap();
    tx.insert_user(&user("AIDA2", "bob", "/")).await.unwrap();
    tx.set_tags(TagTarget::User, "AIDA1", &[Tag { key: "team".into(), value: "a".into() }]).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = cached.begin_read().await.unwrap();
    assert_eq!(names(tx.list_users(ACCOUNT, &page).await.unwrap()), ["alice", "bob"]);
    assert_eq!(tx.tags(TagTarget::User, "AIDA1").await.unwrap().len(), 1);
}

#[tokio::test]
async fn read_only_transactions_refuse_writes() {
    let (_raw, cached) = setup(Duration::from_secs(60)).await;
    let mut tx = cached.begin_read().await.unwrap();
    match tx.insert_user(&user("AIDA9", "mallory", "/")).await {
        Err(StoreError::Backend(m)) => assert!(m.contains("read-only"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    tx.commit().await.unwrap();
    assert_eq!(read_path(&cached, "mallory").await, None);
}
