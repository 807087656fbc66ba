//! The storage conformance suite (`portcullis_store::conformance`), run against every
//! backend: SQLite always, PostgreSQL when `PORTCULLIS_TEST_DATABASE_URL` names a server (each
//! run uses a fresh database), and SQLite through the read cache.

mod common;

use common::account;
use portcullis_store::*;
use portcullis_store_sql::SqlStore;

/// `reset_all` (the test mode's reset) leaves nothing behind.
#[tokio::test]
async fn reset_all_empties_every_table() {
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    conformance::run(&store).await;
    let mut tx = store.begin().await.unwrap();
    tx.reset_all().await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(tx.first_account().await.unwrap().is_none());
    assert_eq!(tx.count_users("111111111111").await.unwrap(), 0);
    assert!(tx.list_oidc_providers("111111111111").await.unwrap().is_empty());
    // And the store is usable again from nothing.
    tx.insert_account(&account("111111111111")).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn sqlite_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::connect(&SqlStore::sqlite_url(dir.path())).await.unwrap();
    conformance::run(&store).await;
    // Reopening sees the committed state (durability across restarts).
    store.close().await;
    let store = SqlStore::connect(&SqlStore::sqlite_url(dir.path())).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.count_users("111111111111").await.unwrap(), 4);
    assert_eq!(tx.get_account("111111111111").await.unwrap().unwrap().alias.as_deref(), Some("my-alias"));
}

#[tokio::test]
async fn postgres_conformance() {
    let Ok(base) = std::env::var("PORTCULLIS_TEST_DATABASE_URL") else {
        eprintln!("PORTCULLIS_TEST_DATABASE_URL not set: PostgreSQL conformance skipped");
        return;
    };
    let db = format!("portcullis_conf_{}_{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 1_000_000_000);
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {db}").as_str()).await.unwrap();
    let url = match base.rfind('/') {
        Some(i) => format!("{}/{db}", &base[..i]),
        None => panic!("bad url"),
    };
    {
        let store = SqlStore::connect(&url).await.unwrap();
        conformance::run(&store).await;
        store.close().await;
    }
    sqlx::Executor::execute(&mut admin, format!("DROP DATABASE {db}").as_str()).await.unwrap();
}

/// The same suite through the read cache: write transactions pass straight through.
#[tokio::test]
async fn sqlite_conformance_through_read_cache() {
    let store = std::sync::Arc::new(SqlStore::connect("sqlite::memory:").await.unwrap());
    let cached = CachingStore::new(store, 10_000, std::time::Duration::from_secs(60));
    conformance::run(&cached).await;
}
