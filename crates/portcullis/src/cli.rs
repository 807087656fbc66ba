use std::net::SocketAddr;
use std::sync::Arc;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::setup;

#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about = "A self-hosted identity and access management server that speaks the AWS APIs")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines are written to standard error: `text` for people, `json` (one object
    /// a line, with the request id of the request it belongs to) for log collectors.
    #[arg(long, global = true, env = "PORTCULLIS_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (creates the account on first start).
    Serve(ServeArgs),
    /// Create an administrator user in the Admins group and print a new access key for it.
    BootstrapAdmin(BootstrapArgs),
    /// Print the account's security checklist; exit 1 while a check fails.
    SecurityStatus {
        #[command(flatten)]
        store: StoreArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the audit trail as JSON lines (CloudTrail events, oldest first); `--follow`
    /// keeps printing new ones.
    Events(crate::events_cmd::EventsArgs),
    /// Check and evaluate IAM policy documents offline.
    Policy {
        #[command(subcommand)]
        command: crate::policy_cmd::PolicyCommand,
    },
    /// Run the account-security checklist against any IAM endpoint (AWS included), read-only;
    /// exit 1 when a check fails, 2 when the endpoint cannot be read.
    Audit(crate::audit_cmd::AuditArgs),
    /// Recreate the users, groups, roles and policies of a `get-account-authorization-details`
    /// dump (no secrets); what exists is skipped.
    Import(crate::import_cmd::ImportArgs),
    /// Copy the SQLite database to a file while the server runs (PostgreSQL: pg_dump).
    Backup(crate::backup_cmd::BackupArgs),
    /// Replace the SQLite database with a backup; stop the server first (PostgreSQL: pg_restore).
    Restore(crate::backup_cmd::RestoreArgs),
    /// IAM Identity Center sign-in for AWS CLI and SDK profiles.
    Sso {
        #[command(subcommand)]
        command: SsoCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// Sign in with the device authorization flow and write botocore's SSO token cache for a
    /// profile with `sso_session` (or `sso_start_url`).
    Login {
        /// The profile of the AWS config file (`AWS_CONFIG_FILE`, else ~/.aws/config).
        #[arg(long, env = "AWS_PROFILE", default_value = "default")]
        profile: String,
        /// The OpenID Connect endpoint (default: `AWS_ENDPOINT_URL_SSO_OIDC`, then
        /// `AWS_ENDPOINT_URL`, then AWS's for the session's Region).
        #[arg(long)]
        endpoint_url: Option<String>,
        /// Print the sign-in URL without trying to open a browser.
        #[arg(long)]
        no_browser: bool,
    },
}

/// Where the state lives; shared by every subcommand.
#[derive(Debug, Args, Clone)]
pub struct StoreArgs {
    /// Directory for the SQLite database and the master key file.
    #[arg(long, env = "PORTCULLIS_DATA_DIR", default_value = "portcullis-data")]
    pub data_dir: PathBuf,
    /// `postgres://…` to keep the state in PostgreSQL instead of the embedded SQLite file.
    #[arg(long, env = "PORTCULLIS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Root user's e-mail address, used when the account is created.
    #[arg(long, env = "PORTCULLIS_ROOT_EMAIL", default_value = "root@example.com")]
    pub root_email: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "PORTCULLIS_LISTEN", default_value = "127.0.0.1:8700")]
    pub listen: SocketAddr,
    /// Tests only: serve POST /_portcullis/clock to move the server's time (loopback only).
    #[arg(long)]
    pub test_clock: bool,
    /// Test mode: state lives in memory only, as long as the process (loopback only).
    #[arg(long)]
    pub ephemeral: bool,
    /// The account id of the ephemeral account.
    #[arg(long, default_value = "123456789012", requires = "ephemeral")]
    pub account_id: String,
    /// Test mode: requests signed with unknown access keys act as the root user, as with
    /// moto and LocalStack (only with --ephemeral, only on a loopback address).
    #[arg(long, requires = "ephemeral")]
    pub accept_any_credentials: bool,
    /// Serve over TLS with this PEM certificate chain (with --tls-key).
    /// The address people open the console at, e.g. https://iam.example.com: passkeys and
    /// security keys are bound to its host name. Default: http(s)://localhost on any port.
    #[arg(long, env = "PORTCULLIS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// CA certificates (PEM) to trust, besides the public ones, when fetching OpenID Connect
    /// providers' keys (AssumeRoleWithWebIdentity with a provider behind a private CA).
    #[arg(long, env = "PORTCULLIS_OIDC_CA_FILE")]
    pub oidc_ca_file: Option<std::path::PathBuf>,
    #[arg(long, env = "PORTCULLIS_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "PORTCULLIS_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// The SMTP relay for the server's e-mail (Identity Center's invitations):
    /// `smtp://host:port` (plain), `smtp://host:587?tls=required` (STARTTLS) or
    /// `smtps://user:password@host:465`.
    #[arg(long, env = "PORTCULLIS_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of the server's e-mail.
    #[arg(long, env = "PORTCULLIS_SMTP_FROM", default_value = "Portcullis <no-reply@localhost>")]
    pub smtp_from: String,
    /// Which calls the audit trail records: `all` (reads and writes, as CloudTrail's
    /// management events), `writes` (calls that may change something, and sign-ins), `off`.
    #[arg(long, env = "PORTCULLIS_AUDIT_EVENTS", default_value = "all", value_parser = ["all", "writes", "off"])]
    pub audit_events: String,
    /// How many days audit events are kept (CloudTrail's event history keeps 90).
    #[arg(long, env = "PORTCULLIS_EVENT_RETENTION_DAYS", default_value_t = portcullis_core::audit::DEFAULT_RETENTION_DAYS, value_parser = clap::value_parser!(i64).range(1..=36_500))]
    pub event_retention_days: i64,
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Name of the administrator user to create (or reuse).
    #[arg(long)]
    pub user_name: String,
    /// Print AWS's credentials CSV instead of a credentials-file profile.
    #[arg(long)]
    pub csv: bool,
    /// Base URL of this server, for the console sign-in link in the CSV.
    #[arg(long, env = "PORTCULLIS_PUBLIC_URL", default_value = "http://127.0.0.1:8700")]
    pub public_url: String,
}

pub async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let ok = std::process::ExitCode::SUCCESS;
    match cli.command {
        Command::Serve(args) => serve(args).await.map(|()| ok),
        Command::BootstrapAdmin(args) => bootstrap(args).await.map(|()| ok),
        Command::Events(args) => crate::events_cmd::run(args).await,
        Command::Policy { command } => crate::policy_cmd::run(command),
        Command::Sso { command: SsoCommand::Login { profile, endpoint_url, no_browser } } => crate::sso_login::login(&profile, endpoint_url, !no_browser).await.map(|()| std::process::ExitCode::SUCCESS),
        Command::SecurityStatus { store, json } => security_status(store, json).await,
        Command::Audit(args) => crate::audit_cmd::run(args).await,
        Command::Import(args) => crate::import_cmd::run(args).await,
        Command::Backup(args) => crate::backup_cmd::backup(args).await,
        Command::Restore(args) => crate::backup_cmd::restore(args).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if (args.test_clock || args.ephemeral) && !args.listen.ip().is_loopback() {
        anyhow::bail!(
            "--test-clock and --ephemeral are for tests and only allowed on a loopback address (not {})",
            args.listen.ip()
        );
    }
    if args.ephemeral && portcullis_types::AccountId::parse(&args.account_id).is_err() {
        anyhow::bail!("--account-id must be 12 digits");
    }
    let test_clock = args.test_clock.then(|| Arc::new(portcullis_types::OffsetClock::default()));
    let clock: Arc<dyn portcullis_types::Clock> = match &test_clock {
        Some(c) => c.clone(),
        None => Arc::new(portcullis_types::SystemClock),
    };
    let mut env = if args.ephemeral { setup::open_ephemeral(clock).await? } else { setup::open(&args.store, clock).await? };
    let audit = portcullis_core::audit::AuditLevel::parse(&args.audit_events).unwrap_or_default();
    env.iam = env.iam.clone().with_audit(audit, args.event_retention_days);
    let webauthn = match &args.public_url {
        Some(url) => portcullis_core::WebAuthnSettings::from_public_url(url)?,
        None => portcullis_core::WebAuthnSettings::localhost(args.tls_cert.is_some()),
    };
    env.iam = env.iam.clone().with_webauthn(&webauthn)?;
    if let Some(file) = &args.oidc_ca_file {
        let pem = std::fs::read(file).with_context(|| format!("cannot read --oidc-ca-file {}", file.display()))?;
        env.iam = env.iam.clone().with_oidc_ca(&pem)?;
    }
    let (account, one_time_password) = if args.ephemeral {
        env.iam.reset_all(&args.account_id, &args.store.root_email).await?;
        env.iam.ensure_account(&args.store.root_email, None).await?
    } else {
        env.iam.ensure_account(&args.store.root_email, None).await?
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(portcullis_api::Tls::from_pem_files(cert, key).map_err(anyhow::Error::msg)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    // Issuer URLs (outbound federation) are built on the public address.
    let base = args.public_url.clone().unwrap_or_else(|| format!("{scheme}://localhost:{}", addr.port()));
    env.iam = env.iam.clone().with_public_base_url(&base);
    if let Some(url) = &args.smtp_url {
        env.iam = env.iam.clone().with_mailer(std::sync::Arc::new(crate::mail::SmtpMailer::new(url, &args.smtp_from)?));
    }
    println!("Portcullis {}", env!("CARGO_PKG_VERSION"));
    println!("account {} (state: {})", account.account_id, env.description);
    if let Some(pw) = one_time_password {
        println!("root user {} created; one-time root password (shown only now): {pw}", account.root_email);
    }
    println!("API endpoint: {scheme}://{addr}  (aws --endpoint-url {scheme}://{addr} iam list-users)");
    println!(
        "web console: {scheme}://{addr}/console  (IAM users sign in at {scheme}://{addr}/signin/{})",
        account.alias.as_deref().unwrap_or(&account.account_id)
    );
    println!(
        "passkeys and security keys: for the console opened at {}{}",
        webauthn.origin,
        if webauthn.any_port { " (any port)" } else { "" }
    );
    if args.ephemeral {
        println!("TEST MODE: state is in memory and gone when the process stops; POST /_portcullis/reset starts over");
        if args.accept_any_credentials {
            println!("TEST MODE: requests signed with unknown access keys act as the root user; never use this in production");
        }
    } else {
        println!(
            "credentials: portcullis bootstrap-admin --user-name NAME --data-dir {}",
            args.store.data_dir.display()
        );
    }
    if test_clock.is_some() {
        println!("test clock on: POST /_portcullis/clock moves this server's time");
    }
    let mut state = portcullis_api::AppState::new(env.iam.clone(), test_clock).map_err(anyhow::Error::msg)?;
    if args.ephemeral {
        state = state.with_test_mode(portcullis_api::TestMode::new(&account.account_id, &args.store.root_email, args.accept_any_credentials));
    }
    let app = portcullis_api::router(state);
    println!("listening on {scheme}://{addr}");
    portcullis_api::install_panic_hook();
    portcullis_api::serve_with(listener, app, shutdown_signal(), tls).await?;
    // What the audit trail still holds in memory goes to the database before the pool closes.
    env.iam.flush_events().await;
    env.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn system_clock() -> Arc<dyn portcullis_types::Clock> {
    Arc::new(portcullis_types::SystemClock)
}

async fn security_status(store: StoreArgs, json: bool) -> anyhow::Result<std::process::ExitCode> {
    let env = setup::open(&store, system_clock()).await?;
    let (account, _) = env.iam.ensure_account(&store.root_email, None).await?;
    let status = env.iam.security_status(&account.account_id).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        println!("Security status of account {}", status.account_id);
        for c in &status.checks {
            println!("  [{}] {:<42} {}", if c.ok { "ok" } else { "!!" }, c.title, c.detail);
        }
    }
    env.close().await;
    Ok(if status.all_ok() { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE })
}

async fn bootstrap(args: BootstrapArgs) -> anyhow::Result<()> {
    let env = setup::open(&args.store, system_clock()).await?;
    let (account, one_time_password) = env.iam.ensure_account(&args.store.root_email, None).await?;
    if let Some(pw) = one_time_password {
        eprintln!("root user {} created; one-time root password (shown only now): {pw}", account.root_email);
    }
    let key = env.iam.bootstrap_admin(&args.user_name).await?;
    if args.csv {
        println!("User name,Password,Access key ID,Secret access key,Console login link");
        println!(
            "{},,{},{},{}/signin/{}",
            key.user_name,
            key.access_key_id,
            key.secret_access_key,
            args.public_url.trim_end_matches('/'),
            key.account_id
        );
    } else {
        println!("[default]");
        println!("aws_access_key_id = {}", key.access_key_id);
        println!("aws_secret_access_key = {}", key.secret_access_key);
    }
    env.close().await;
    Ok(())
}
