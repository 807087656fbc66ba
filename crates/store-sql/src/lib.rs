//! The SQL backend of Portcullis: one implementation of `portcullis_store::Store` over
//! sqlx's `Any` driver, with a migration set per dialect (SQLite for the embedded default,
//! PostgreSQL for many nodes). Queries use `$N` placeholders, which both dialects accept.

mod backup;
mod rows;
mod tx;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use portcullis_store::{Store, StoreError, StoreResult, Tx};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;

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

pub(crate) fn backend(e: sqlx::Error) -> StoreError {
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
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        use sqlx::Executor;
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
