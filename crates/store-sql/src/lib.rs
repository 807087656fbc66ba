//! The SQL backend of Portcullis: one implementation of `portcullis_store::Store` over
//! sqlx's `Any` driver, with a migration set per dialect (SQLite for the embedded default,
//! PostgreSQL for many nodes). Queries use `$N` placeholders, which both dialects accept.

mod backup;
mod rows;
mod tx;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use portcullis_store::{Store, StoreError, StoreResult, Tx};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyTransactionManager};
use sqlx::{AnyConnection, AnyPool, Connection, Executor, TransactionManager};

pub use backup::SqliteFileInfo;
pub use tx::SqlTx;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    /// The PostgreSQL URL, for the change listener's own connection.
    url: String,
}

/// The PostgreSQL channel on which nodes announce committed changes (see
/// [`SqlStore::listen_for_changes`]).
pub(crate) const CHANGES_CHANNEL: &str = "portcullis_changes";

/// Set when a statement failed with a database error: the SQLite connection may have had its
/// transaction rolled back by SQLite itself (see [`realign_sqlite`]), so it is checked when it
/// goes back to the pool. Unset, the check (a round trip to the connection's worker) is
/// skipped, which keeps it off the path of every successful transaction.
static MAY_BE_OUT_OF_STEP: AtomicBool = AtomicBool::new(false);

pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    if matches!(e, sqlx::Error::Database(_) | sqlx::Error::Io(_)) {
        MAY_BE_OUT_OF_STEP.store(true, Ordering::Release);
    }
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_owned()),
        // PostgreSQL's connection exceptions (08…) and "operator intervention" (57P01
        // admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

/// Puts an SQLite connection back in step with sqlx when it returns to the pool.
///
/// SQLite rolls a transaction back by itself when a statement or its COMMIT fails with
/// SQLITE_FULL or SQLITE_IOERR (a full disk). The ROLLBACK sqlx sends when it drops that
/// transaction then fails ("no transaction is active"), and sqlx goes on counting one
/// transaction open on the connection: its next `begin` is a SAVEPOINT, and once a RELEASE
/// that should have committed fails too, every later transaction nests inside one that is
/// never committed. Writes would be acknowledged and lost, even after space is freed. So
/// when sqlx still counts a transaction once the dropped one's ROLLBACK has run, whatever
/// SQLite holds open is rolled back and sqlx's count brought back to zero; false (close the
/// connection) when that cannot be done.
async fn realign_sqlite(conn: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    // The ROLLBACK of a transaction dropped without a commit is queued to the connection's
    // worker; a ping is answered after it.
    conn.ping().await?;
    match AnyTransactionManager::get_transaction_depth(conn) {
        0 => return Ok(true),
        1 => {}
        depth => {
            tracing::error!(depth, "an SQLite connection came back with nested transactions open; closing it");
            return Ok(false);
        }
    }
    tracing::warn!("a failed transaction left the SQLite connection out of step with sqlx; rolling it back");
    // Nothing SQLite still holds open was committed (there may be nothing to roll back).
    let _ = conn.execute("ROLLBACK").await;
    // One transaction for sqlx's own ROLLBACK to end, which takes its count back to zero.
    conn.execute("BEGIN").await?;
    AnyTransactionManager::rollback(conn).await?;
    Ok(AnyTransactionManager::get_transaction_depth(conn) == 0)
}

impl SqlStore {
    /// Connects to `sqlite://PATH` or `postgres://…` and applies pending migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(StoreError::Backend(format!(
                "unsupported database URL scheme (expected sqlite: or postgres:): {}",
                url.split(':').next().unwrap_or_default()
            )));
        };
        let options = AnyConnectOptions::from_str(url).map_err(backend)?;
        let pool = match dialect {
            // SQLite has one writer at a time; a single connection serialises transactions
            // instead of failing them with SQLITE_BUSY when a reader upgrades to a writer.
            Dialect::Sqlite => AnyPoolOptions::new()
                .max_connections(1)
                // Never recycle the one connection: an in-memory database lives in it.
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(Duration::from_secs(30))
                .after_release(|conn, _| {
                    Box::pin(async move {
                        if !MAY_BE_OUT_OF_STEP.swap(false, Ordering::AcqRel) {
                            return Ok(true);
                        }
                        realign_sqlite(conn).await
                    })
                })
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;").await?;
                        Ok(())
                    })
                }),
            // A database that went away is answered within seconds (ServiceUnavailable), not
            // after a long wait; the pool reconnects by itself when it is back.
            Dialect::Postgres => AnyPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(5)),
        }
        .connect_with(options)
        .await
        .map_err(backend)?;
        let migrator = match dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self { pool, dialect, url: url.to_owned() })
    }

    /// The URL of an SQLite database file in `data_dir`, created if missing.
    pub fn sqlite_url(data_dir: &std::path::Path) -> String {
        format!("sqlite://{}?mode=rwc", data_dir.join("portcullis.db").display())
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// On PostgreSQL, follows the changes other nodes commit to the same database: calls
    /// `on_change` with each announced category mask, and with `u32::MAX` whenever
    /// announcements may have been missed (the listening connection was lost, or could not
    /// be made; it is retried every second). Returns None for SQLite, which one process uses.
    pub fn listen_for_changes(&self, on_change: impl Fn(u32) + Send + Sync + 'static) -> Option<tokio::task::JoinHandle<()>> {
        if self.dialect != Dialect::Postgres {
            return None;
        }
        let url = self.url.clone();
        Some(tokio::spawn(async move {
            loop {
                let mut listener = match sqlx::postgres::PgListener::connect(&url).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot connect the change listener; retrying");
                        on_change(u32::MAX);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                if let Err(e) = listener.listen(CHANGES_CHANNEL).await {
                    tracing::warn!(error = %e, "cannot listen for changes; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                // Whatever was announced before listening began may have been missed.
                on_change(u32::MAX);
                loop {
                    match listener.try_recv().await {
                        Ok(Some(n)) => on_change(n.payload().parse().unwrap_or(u32::MAX)),
                        Ok(None) => on_change(u32::MAX),
                        Err(e) => {
                            tracing::warn!(error = %e, "the change listener lost its connection; reconnecting");
                            on_change(u32::MAX);
                            break;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }))
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self.pool.begin().await.map_err(backend)?;
        Ok(Box::new(SqlTx::new(tx, self.dialect)))
    }

    fn pool_use(&self) -> Option<(u32, u32, u32)> {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        Some((self.pool.size().saturating_sub(idle), idle, self.pool.options().get_max_connections()))
    }

    async fn check_ready(&self) -> StoreResult<()> {
        let migrator = match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let applied: (Option<i64>,) = sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await.map_err(backend)?;
        match applied.0.unwrap_or(0) {
            v if v == known => Ok(()),
            v if v > known => Err(StoreError::Unavailable(format!("the database schema is at migration {v}, newer than this build's {known}"))),
            v => Err(StoreError::Unavailable(format!("the database schema is at migration {v}; this build needs {known}"))),
        }
    }

    fn backend_name(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// A transaction SQLite rolled back by itself (SQLITE_FULL, here from `max_page_count`
    /// as it would be from a full disk) leaves the connection as sqlx believes it is: no
    /// transaction open, so the next `begin` is a real BEGIN and its commit is for good.
    #[tokio::test]
    async fn a_transaction_sqlite_rolled_back_leaves_the_connection_in_step() {
        let dir = tempfile::tempdir().unwrap();
        let url = SqlStore::sqlite_url(dir.path());
        let store = SqlStore::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE filler (b BLOB)").execute(&store.pool).await.unwrap();
        let (pages,): (i64,) = sqlx::query_as("PRAGMA page_count").fetch_one(&store.pool).await.unwrap();
        sqlx::query(&format!("PRAGMA max_page_count = {}", pages + 3)).execute(&store.pool).await.unwrap();
        let mut full = None;
        for _ in 0..50 {
            let mut tx = store.pool.begin().await.unwrap();
            if let Err(e) = sqlx::query("INSERT INTO filler VALUES (zeroblob(3000))").execute(&mut *tx).await {
                full = Some(e.to_string());
                let _ = backend(e); // as the store's methods map every error
                break; // dropped: SQLite has already rolled it back, so sqlx's ROLLBACK fails
            }
            tx.commit().await.unwrap();
        }
        assert!(full.as_deref().is_some_and(|e| e.contains("full")), "{full:?}");

        let conn = store.pool.acquire().await.unwrap();
        assert!(!conn.is_in_transaction(), "sqlx still counts the transaction SQLite rolled back");
        drop(conn);

        sqlx::query("PRAGMA max_page_count = 1000000").execute(&store.pool).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.insert_account(&portcullis_store::AccountRecord {
            account_id: "111111111111".into(),
            created_at: 1,
            root_email: "root@example.com".into(),
            root_password_hash: None,
            alias: None,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let other = SqlStore::connect(&url).await.unwrap();
        let mut tx = other.begin().await.unwrap();
        assert_eq!(tx.first_account().await.unwrap().map(|a| a.account_id).as_deref(), Some("111111111111"));
    }
}
