//! Backups of the SQLite database: a consistent copy taken while the server runs, and the
//! check that a file is a Portcullis database before it is restored. PostgreSQL has its own
//! tools (pg_dump, pg_restore).

use std::path::Path;

use portcullis_store::{StoreError, StoreResult};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::{backend, Dialect, SqlStore, SQLITE_MIGRATIONS};

/// What [`SqlStore::check_sqlite_file`] found in a database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteFileInfo {
    /// The last migration applied to it.
    pub schema_version: i64,
    /// The last migration this build knows (a file behind it is migrated at start).
    pub known_version: i64,
    pub accounts: i64,
}

fn refuse(path: &Path, why: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("{} is not a Portcullis database: {why}", path.display()))
}

impl SqlStore {
    /// Writes a consistent copy of the SQLite database to `out`, which must not exist, with
    /// `VACUUM INTO`: one read transaction, so the server may go on writing meanwhile.
    pub async fn backup_to(&self, out: &Path) -> StoreResult<()> {
        if self.dialect != Dialect::Sqlite {
            return Err(StoreError::Backend(
                "backups of a PostgreSQL database are taken with pg_dump (see docs/deployment.md)".to_owned(),
            ));
        }
        let target = out.to_str().ok_or_else(|| StoreError::Backend(format!("{}: the path is not UTF-8", out.display())))?;
        sqlx::query("VACUUM INTO $1").bind(target.to_owned()).execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    /// Checks, without changing it, that `path` is an intact SQLite database whose
    /// migrations are Portcullis's, none of them unknown to this build.
    pub async fn check_sqlite_file(path: &Path) -> StoreResult<SqliteFileInfo> {
        // Immutable: nothing is written beside the file (no -wal or -shm), nothing locked.
        let options = SqliteConnectOptions::new().filename(path).read_only(true).immutable(true);
        let mut conn = options.connect().await.map_err(|e| refuse(path, e))?;
        let result = check(&mut conn, path).await;
        let _ = conn.close().await;
        result
    }
}

async fn check(conn: &mut sqlx::SqliteConnection, path: &Path) -> StoreResult<SqliteFileInfo> {
    let (verdict,): (String,) = sqlx::query_as("PRAGMA quick_check").fetch_one(&mut *conn).await.map_err(|e| refuse(path, e))?;
    if verdict != "ok" {
        return Err(refuse(path, format!("SQLite's integrity check fails: {verdict}")));
    }
    let applied: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| refuse(path, format!("it has no migration history ({e})")))?;
    let known_version = SQLITE_MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0);
    for (version, checksum) in &applied {
        match SQLITE_MIGRATIONS.iter().find(|m| m.version == *version) {
            Some(m) if m.checksum.as_ref() == checksum.as_slice() => {}
            Some(_) => return Err(refuse(path, format!("its migration {version} differs from this build's"))),
            None if *version > known_version => {
                return Err(StoreError::Backend(format!(
                    "{} is at schema migration {version}, newer than this build's {known_version}: restore it with the newer Portcullis",
                    path.display()
                )))
            }
            None => return Err(refuse(path, format!("its migration {version} is not one of Portcullis's"))),
        }
    }
    let Some((schema_version, _)) = applied.last() else { return Err(refuse(path, "no migration was applied to it")) };
    let (accounts,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts").fetch_one(&mut *conn).await.map_err(|e| refuse(path, e))?;
    Ok(SqliteFileInfo { schema_version: *schema_version, known_version, accounts })
}
