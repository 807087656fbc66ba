//! `portcullis backup --out FILE` and `portcullis restore FILE` for the SQLite database.
//! A backup is SQLite's `VACUUM INTO`, safe while the server runs; a restore checks the file
//! is a Portcullis database and puts it in place atomically, with the server stopped.
//! PostgreSQL has pg_dump and pg_restore for both (docs/deployment.md). Neither command
//! touches the master key: a backup is usable only with the key it was taken with.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use portcullis_store_sql::SqlStore;

use crate::cli::StoreArgs;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write (replaced if it exists).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file written by `portcullis backup` (or any copy of a Portcullis SQLite database).
    pub file: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
}

const DATABASE: &str = "portcullis.db";

const MASTER_KEY_NOTE: &str = "the backup is usable only with the master key it was taken with \
    (DATA_DIR/master.key or PORTCULLIS_MASTER_KEY): keep a copy of the key apart from the backups";

pub async fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    if args.store.database_url.is_some() {
        bail!("the state is in PostgreSQL: back it up with `pg_dump --format=custom --file=portcullis.dump \"$PORTCULLIS_DATABASE_URL\"` (see docs/deployment.md, Backups)");
    }
    let db = args.store.data_dir.join(DATABASE);
    if !db.is_file() {
        bail!("there is no database at {}: is --data-dir right?", db.display());
    }
    if same_file(&db, &args.out) {
        bail!("--out names the database itself");
    }
    let partial = sibling(&args.out, "partial")?;
    remove_if_present(&partial)?;
    let store = SqlStore::connect(&SqlStore::sqlite_url(&args.store.data_dir)).await.context("cannot open the database")?;
    let copied = store.backup_to(&partial).await;
    store.close().await;
    let info = async {
        copied.with_context(|| format!("cannot write the backup to {}", partial.display()))?;
        let info = SqlStore::check_sqlite_file(&partial).await?;
        sync(&partial)?;
        std::fs::rename(&partial, &args.out).with_context(|| format!("cannot rename {} to {}", partial.display(), args.out.display()))?;
        sync_parent(&args.out)?;
        anyhow::Ok(info)
    }
    .await
    .inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })?;
    println!("backed up {} to {} (schema migration {}, {})", db.display(), args.out.display(), info.schema_version, accounts(info.accounts));
    eprintln!("note: {MASTER_KEY_NOTE}");
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    if args.store.database_url.is_some() {
        bail!("the state is in PostgreSQL: restore a pg_dump archive with `pg_restore --dbname=\"$NEW_DATABASE_URL\" portcullis.dump` into an empty database (see docs/deployment.md, Backups)");
    }
    if !args.file.is_file() {
        bail!("{} is not a file", args.file.display());
    }
    let db = args.store.data_dir.join(DATABASE);
    if same_file(&db, &args.file) {
        bail!("{} is the database itself", args.file.display());
    }
    // A copy of a live database may have part of its content in a write-ahead log beside
    // it, which copying the file alone would lose.
    let log = PathBuf::from(format!("{}-wal", args.file.display()));
    if log.metadata().is_ok_and(|m| m.len() > 0) {
        bail!(
            "refusing to restore: {} has a write-ahead log beside it ({}); restore a file made by `portcullis backup`, or checkpoint it first (`sqlite3 FILE 'PRAGMA wal_checkpoint(TRUNCATE)'`)",
            args.file.display(),
            log.display()
        );
    }
    let info = SqlStore::check_sqlite_file(&args.file).await.context("refusing to restore")?;
    std::fs::create_dir_all(&args.store.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.store.data_dir.display()))?;
    // A copy beside the database, checked again, then renamed over it: the database is
    // the old one or the new one, never half of each.
    let incoming = sibling(&db, "restoring")?;
    remove_if_present(&incoming)?;
    let installed = async {
        std::fs::copy(&args.file, &incoming).with_context(|| format!("cannot copy {} to {}", args.file.display(), incoming.display()))?;
        sync(&incoming)?;
        SqlStore::check_sqlite_file(&incoming).await.context("refusing to restore")?;
        // The old database's write-ahead log and index belong to it: SQLite would replay
        // them into the restored file.
        for suffix in ["-wal", "-shm"] {
            remove_if_present(&PathBuf::from(format!("{}{suffix}", db.display())))?;
        }
        std::fs::rename(&incoming, &db).with_context(|| format!("cannot rename {} to {}", incoming.display(), db.display()))?;
        sync_parent(&db)
    }
    .await;
    if installed.is_err() {
        let _ = std::fs::remove_file(&incoming);
    }
    installed?;
    println!("restored {} as {} (schema migration {}, {})", args.file.display(), db.display(), info.schema_version, accounts(info.accounts));
    if info.schema_version < info.known_version {
        println!("the server migrates it to schema migration {} when it starts", info.known_version);
    }
    let key_file = args.store.data_dir.join("master.key");
    if std::env::var_os("PORTCULLIS_MASTER_KEY").is_none() && std::env::var_os("PORTCULLIS_MASTER_KEY_FILE").is_none() && !key_file.exists() {
        eprintln!("warning: there is no {}: put back the master key the backup was taken with before starting the server", key_file.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn accounts(n: i64) -> String {
    format!("{n} account{}", if n == 1 { "" } else { "s" })
}

/// `DIR/.NAME.WHAT-PID`: a temporary file in the same directory (so a rename is atomic).
fn sibling(path: &Path, what: &str) -> anyhow::Result<PathBuf> {
    let name = path.file_name().with_context(|| format!("{} names no file", path.display()))?;
    let tmp = format!(".{}.{what}-{}", name.to_string_lossy(), std::process::id());
    Ok(path.with_file_name(tmp))
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).with_context(|| format!("cannot remove {}", path.display())),
        _ => Ok(()),
    }
}

fn sync(path: &Path) -> anyhow::Result<()> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).with_context(|| format!("cannot flush {} to disk", path.display()))
}

/// Makes a rename durable: the directory entry is flushed too.
fn sync_parent(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("cannot flush {} to disk", dir.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
