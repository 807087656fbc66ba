//! The master key that encrypts recoverable secrets at rest. It never lives in the
//! database: it comes from `PORTCULLIS_MASTER_KEY` (64 hex digits), from the file named by
//! `PORTCULLIS_MASTER_KEY_FILE`, or from `master.key` in the data directory, created with
//! mode 0600 on first start. Nodes sharing one PostgreSQL must share the key.

use std::path::Path;

use anyhow::{bail, Context};
use portcullis_credentials::SecretBox;

fn parse(text: &str, source: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = hex::decode(text.trim()).with_context(|| format!("{source}: not hex"))?;
    match <[u8; 32]>::try_from(bytes.as_slice()) {
        Ok(k) => Ok(k),
        Err(_) => bail!("{source}: the master key must be 32 bytes (64 hex digits)"),
    }
}

pub fn load_or_create(data_dir: &Path) -> anyhow::Result<[u8; 32]> {
    if let Ok(v) = std::env::var("PORTCULLIS_MASTER_KEY") {
        return parse(&v, "PORTCULLIS_MASTER_KEY");
    }
    let path = match std::env::var("PORTCULLIS_MASTER_KEY_FILE") {
        Ok(p) => std::path::PathBuf::from(p),
        Err(_) => data_dir.join("master.key"),
    };
    if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        return parse(&text, &path.display().to_string());
    }
    let key = SecretBox::generate_key().map_err(|e| anyhow::anyhow!("{e}"))?;
    write_private(&path, &hex::encode(key))?;
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot create {}", path.display()))
}
