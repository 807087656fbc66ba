//! `portcullis events`: the audit trail as JSON lines (one CloudTrail event a line, oldest
//! first), from the database directly, and with `--follow` the events of every node as
//! they are written.

use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::cli::StoreArgs;
use crate::setup;

#[derive(Debug, Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Keep printing events as they are written (every node's, on PostgreSQL), until
    /// interrupted.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only events at or after this time (RFC 3339, e.g. 2026-12-07T10:00:00Z); default:
    /// every event kept.
    #[arg(long)]
    pub since: Option<String>,
}

/// Events read per query.
const PAGE: i64 = 500;

pub async fn run(args: EventsArgs) -> anyhow::Result<std::process::ExitCode> {
    let start = match &args.since {
        Some(t) => {
            let at = time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).with_context(|| format!("--since {t}: not an RFC 3339 time"))?;
            (at.unix_timestamp_nanos() / 1_000_000) as i64 - 1
        }
        None => i64::MIN,
    };
    let env = setup::open(&args.store, std::sync::Arc::new(portcullis_types::SystemClock)).await?;
    let store = env.store.clone();
    // The position after the last event printed: (time, id).
    let mut after = (start, String::from("~"));
    let mut out = std::io::stdout().lock();
    loop {
        let events = portcullis_core::audit::events_after(store.as_ref(), (after.0, &after.1), PAGE).await?;
        for e in &events {
            use std::io::Write;
            if writeln!(out, "{}", e.body).is_err() {
                // The reader went away (a pipe closed).
                env.close().await;
                return Ok(std::process::ExitCode::SUCCESS);
            }
        }
        let _ = std::io::Write::flush(&mut out);
        if let Some(last) = events.last() {
            after = (last.event_time, last.event_id.clone());
        }
        if (events.len() as i64) < PAGE {
            if !args.follow {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = tokio::signal::ctrl_c() => break,
            }
        }
    }
    env.close().await;
    Ok(std::process::ExitCode::SUCCESS)
}
