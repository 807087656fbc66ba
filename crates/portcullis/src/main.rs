//! `portcullis`: the server binary. Parses the command line, opens the store, wires the
//! layers together. Only this crate knows which storage backend is in use.

mod audit_cmd;
mod backup_cmd;
mod cli;
mod events_cmd;
mod import_cmd;
mod mail;
mod master_key;
mod policy_cmd;
mod setup;
mod sso_login;

use clap::Parser;

/// Requests allocate many small, short-lived strings; mimalloc serves them from
/// thread-local pages, which costs a fraction of glibc malloc's time under load
/// (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTCULLIS_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log_format {
        cli::LogFormat::Text => logs.init(),
        // The current span's fields (the request id) with every event.
        cli::LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
