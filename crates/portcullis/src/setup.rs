//! Opening the state: the store backend and the master key, then the domain on top.

use std::sync::Arc;

use anyhow::Context;
use portcullis_core::Iam;
use portcullis_credentials::SecretBox;
use portcullis_store_sql::SqlStore;

use portcullis_store::{CachingStore, Store};

use crate::cli::StoreArgs;
use crate::master_key;

pub struct Env {
    pub iam: Iam,
    pub description: String,
    pub store: Arc<SqlStore>,
}

/// Read-only transactions are answered from memory when nothing they read has been
/// written since (see `portcullis_store::CachingStore`). The capacity is in records; the
/// time bound limits staleness when other nodes write to the same PostgreSQL database.
const READ_CACHE_RECORDS: u64 = 250_000;
const READ_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

fn with_read_cache(store: &Arc<SqlStore>) -> Arc<CachingStore> {
    Arc::new(CachingStore::new(store.clone(), READ_CACHE_RECORDS, READ_CACHE_TTL))
}

/// The domain over a store with its read cache. On PostgreSQL, the caches (the read cache
/// and the authorization cache) follow the changes other nodes commit, so that a write on
/// one node (a deleted key, a new Deny) is honoured by the others within milliseconds
/// rather than after the caches' time bounds.
fn domain(store: &Arc<SqlStore>, clock: Arc<dyn portcullis_types::Clock>, secrets: Arc<SecretBox>) -> anyhow::Result<Iam> {
    let cache = with_read_cache(store);
    let iam = Iam::new(cache.clone() as Arc<dyn Store>, clock, secrets).map_err(|e| anyhow::anyhow!("{e}"))?;
    let follower = iam.clone();
    store.listen_for_changes(move |categories| {
        cache.invalidate(categories);
        follower.invalidate_authorization_cache();
    });
    Ok(iam)
}

impl Env {
    pub async fn close(&self) {
        self.store.close().await;
    }
}

/// State that lives only as long as the process: an in-memory SQLite database and a master
/// key that never touches the disk (the `--ephemeral` test mode).
pub async fn open_ephemeral(clock: Arc<dyn portcullis_types::Clock>) -> anyhow::Result<Env> {
    let store = Arc::new(SqlStore::connect("sqlite::memory:").await.context("cannot open the in-memory database")?);
    let key = SecretBox::generate_key().map_err(|e| anyhow::anyhow!("{e}"))?;
    let secrets = Arc::new(SecretBox::new(&key).map_err(|e| anyhow::anyhow!("{e}"))?);
    let iam = domain(&store, clock, secrets)?;
    Ok(Env { iam, description: "in memory (ephemeral)".to_owned(), store })
}

pub async fn open(args: &StoreArgs, clock: Arc<dyn portcullis_types::Clock>) -> anyhow::Result<Env> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.data_dir.display()))?;
    let (url, description) = match &args.database_url {
        Some(u) => (u.clone(), "postgres".to_owned()),
        None => {
            let url = SqlStore::sqlite_url(&args.data_dir);
            (url, format!("sqlite {}", args.data_dir.join("portcullis.db").display()))
        }
    };
    let store = Arc::new(SqlStore::connect(&url).await.context("cannot open the database")?);
    let key = master_key::load_or_create(&args.data_dir)?;
    let secrets = Arc::new(SecretBox::new(&key).map_err(|e| anyhow::anyhow!("{e}"))?);
    let iam = domain(&store, clock, secrets)?;
    Ok(Env { iam, description, store })
}
