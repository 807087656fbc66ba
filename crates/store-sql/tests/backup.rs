//! `SqlStore::backup_to` and `SqlStore::check_sqlite_file`: a copy taken from a live SQLite
//! store is a Portcullis database with the same content; other files are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::account;
use portcullis_store::Store;
use portcullis_store_sql::SqlStore;

#[tokio::test]
async fn a_backup_of_a_live_store_is_a_checked_copy() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::connect(&SqlStore::sqlite_url(dir.path())).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.insert_account(&account("111111111111")).await.unwrap();
    tx.commit().await.unwrap();

    let out = dir.path().join("copy.db");
    store.backup_to(&out).await.unwrap();
    // VACUUM INTO never overwrites.
    assert!(store.backup_to(&out).await.is_err());
    store.close().await;

    let info = SqlStore::check_sqlite_file(&out).await.unwrap();
    assert_eq!(info.accounts, 1);
    assert_eq!(info.schema_version, info.known_version);
    // The check writes nothing beside the file.
    assert!(!dir.path().join("copy.db-wal").exists() && !dir.path().join("copy.db-shm").exists());
    let copy = SqlStore::connect(&format!("sqlite://{}", out.display())).await.unwrap();
    let mut tx = copy.begin().await.unwrap();
    assert_eq!(tx.first_account().await.unwrap().unwrap().account_id, "111111111111");
}

#[tokio::test]
async fn other_files_are_not_portcullis_databases() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello\n".repeat(200)).unwrap();
    let err = SqlStore::check_sqlite_file(&text).await.unwrap_err().to_string();
    assert!(err.contains("is not a Portcullis database"), "{err}");
    assert!(SqlStore::check_sqlite_file(&dir.path().join("missing.db")).await.is_err());
}
