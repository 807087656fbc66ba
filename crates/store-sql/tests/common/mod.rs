//! Records the storage test suites build (shared by `conformance.rs` and `read_cache.rs`).
#![allow(dead_code)]

use portcullis_store::{AccountRecord, UserRecord};

pub fn account(id: &str) -> AccountRecord {
    AccountRecord { account_id: id.into(), created_at: 1, root_email: "root@example.com".into(), root_password_hash: None, alias: None }
}

pub fn user(account: &str, id: &str, name: &str, path: &str) -> UserRecord {
    UserRecord {
        account_id: account.into(),
        user_id: id.into(),
        name: name.into(),
        path: path.into(),
        created_at: 10,
        permissions_boundary: None,
        password_last_used: None,
    }
}
