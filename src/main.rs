//! The `groundup` binary: read the command line and environment, open the
//! store, start the server, and stop it gracefully on SIGINT or SIGTERM.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use tracing_subscriber::EnvFilter;

use groundup::app::{App, AppConfig};
use groundup::http::forwarded::Cidr;
use groundup::http::{Limits, TrustedProxies};
use groundup::server::{Server, access_log};
use groundup::session::hash_pool::HashLimits;
use groundup::session::jwt::{self, TokenKey};
use groundup::session::manager::SessionPolicy;
use groundup::session::throttle::LoginLimits;
use groundup::store::sweep::{self, Sweeper};
use groundup::store::{self, StoreChoice, StoreConfig};

/// An HTTP/1.1 server written from the ground up.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on. Port 0 picks a free port (the log says which).
    #[arg(long, default_value = "127.0.0.1:8080", env = "GROUNDUP_LISTEN")]
    listen: SocketAddr,
    /// Where users, sessions and posts live: MongoDB (needs MONGODB_URI),
    /// the embedded file store, or auto (MongoDB when MONGODB_URI is set).
    #[arg(long, value_enum, default_value_t = StoreArg::Auto)]
    store: StoreArg,
    /// The embedded store's directory.
    #[arg(long, env = "GROUNDUP_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Development mode for plain http:// on a host other than localhost (a LAN address,
    /// say): the session cookie drops `Secure` and the `__Host-` prefix, which browsers
    /// refuse without TLS. (They treat http://localhost as secure, so it needs no --dev.)
    #[arg(long)]
    dev: bool,
    /// A reverse proxy whose `Forwarded` / `X-Forwarded-For` / `X-Forwarded-Proto` headers
    /// are believed: an address or ADDRESS/PREFIX, repeatable (environment: comma-separated).
    /// From any other peer those headers are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "GROUNDUP_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<Cidr>,
    /// Password hashes run at once, each in its own 19 MiB (default: the
    /// available parallelism).
    #[arg(long, env = "GROUNDUP_HASH_WORKERS", value_parser = clap::value_parser!(u16).range(1..))]
    hash_workers: Option<u16>,
    /// Password checks that may wait for a worker; past them, 503 with
    /// Retry-After (default: 32 per worker).
    #[arg(long, env = "GROUNDUP_HASH_QUEUE")]
    hash_queue: Option<usize>,
    /// Login attempts allowed per account in each window.
    #[arg(long, env = "GROUNDUP_LOGIN_PER_ACCOUNT", default_value_t = LoginLimits::default().per_account)]
    login_per_account: usize,
    /// Login attempts allowed per client address in each window.
    #[arg(long, env = "GROUNDUP_LOGIN_PER_ADDRESS", default_value_t = LoginLimits::default().per_address)]
    login_per_address: usize,
    /// The sliding window of the two limits above, in seconds.
    #[arg(long, env = "GROUNDUP_LOGIN_WINDOW", default_value_t = LoginLimits::default().window.as_secs())]
    login_window: u64,
    /// Login attempts allowed per client address in each pace window: the
    /// pace one address may keep.
    #[arg(long, env = "GROUNDUP_LOGIN_ADDRESS_PACE", default_value_t = LoginLimits::default().address_pace)]
    login_address_pace: usize,
    /// The pace window, in seconds.
    #[arg(long, env = "GROUNDUP_LOGIN_PACE_WINDOW", default_value_t = LoginLimits::default().pace_window.as_secs())]
    login_pace_window: u64,
    /// How often expired sessions are deleted, in seconds (the first sweep runs at start).
    #[arg(long, env = "GROUNDUP_SESSION_SWEEP_EVERY", default_value_t = sweep::DEFAULT_EVERY.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    session_sweep_every: u64,
    /// The log's form: text for a person to read, or json, one object per line, with an
    /// event for every answered request (target `access`, each answer carrying its
    /// `X-Request-Id`)
    #[arg(long, value_enum, env = "GROUNDUP_LOG_FORMAT", default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Logs at `info` unless `RUST_LOG` says otherwise. The per-request events (target
/// `access`) are for machines: on in JSON, off in text unless `RUST_LOG` names them.
fn start_logging(format: LogFormat) {
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let mut filter = EnvFilter::new(&directives);
    if matches!(format, LogFormat::Text) && !directives.contains(access_log::TARGET) {
        filter = filter.add_directive(
            format!("{}=off", access_log::TARGET)
                .parse()
                .expect("a valid directive"),
        );
    }
    let log = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        // Colours for a terminal only: a log file or a pipe gets plain text to grep.
        LogFormat::Text => log.with_ansi(std::io::stderr().is_terminal()).init(),
        // The event's fields at the top level of each object, beside its time and level.
        LogFormat::Json => log.json().flatten_event(true).init(),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StoreArg {
    Auto,
    Mongo,
    Embedded,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    start_logging(args.log_format);

    let choice = match args.store {
        StoreArg::Auto => StoreChoice::Auto,
        StoreArg::Mongo => StoreChoice::Mongo,
        StoreArg::Embedded => StoreChoice::Embedded,
    };
    let store = match StoreConfig::from_env(choice, args.data_dir) {
        Ok(config) => store::open(&config).await,
        Err(error) => Err(error),
    };
    let store = match store {
        Ok(store) => Arc::new(store),
        Err(error) => {
            tracing::error!("cannot open the store: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("store: {}", store.describe());
    if args.dev {
        tracing::warn!(
            "--dev: the session cookie is sent without Secure and without the __Host- prefix; \
             use this only for development over plain http://"
        );
    }

    let mut config = match AppConfig::new() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "no random source for keys");
            return ExitCode::FAILURE;
        }
    };
    config.sessions = SessionPolicy {
        dev: args.dev,
        ..SessionPolicy::default()
    };
    config.logins = LoginLimits {
        per_account: args.login_per_account,
        per_address: args.login_per_address,
        window: Duration::from_secs(args.login_window),
        address_pace: args.login_address_pace,
        pace_window: Duration::from_secs(args.login_pace_window),
    };
    if let Some(workers) = args.hash_workers {
        config.hashing = HashLimits::with_workers(workers.into());
    }
    if let Some(queue) = args.hash_queue {
        config.hashing.queue = queue;
    }
    tracing::info!(
        workers = config.hashing.workers,
        queue = config.hashing.queue,
        per_account = config.logins.per_account,
        per_address = config.logins.per_address,
        window_s = config.logins.window.as_secs(),
        address_pace = config.logins.address_pace,
        pace_window_s = config.logins.pace_window.as_secs(),
        "password hashing and login limits"
    );
    match TokenKey::from_env() {
        Ok(Some(key)) => config.token_key = key,
        Ok(None) => tracing::info!(
            "bearer tokens are signed with a key made at start-up: they die with this process \
             (set {} to keep them across restarts and share them between servers)",
            jwt::KEY_ENV
        ),
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::FAILURE;
        }
    }
    // Kept for as long as the server runs; dropping it stops the sweep.
    let _sweeper = Sweeper::start(
        Arc::clone(&store),
        Duration::from_secs(args.session_sweep_every),
    );
    let app = match App::new(store, config) {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "cannot start the password workers");
            return ExitCode::FAILURE;
        }
    };
    if !args.trusted_proxies.is_empty() {
        let blocks: Vec<String> = args.trusted_proxies.iter().map(Cidr::to_string).collect();
        tracing::info!(proxies = %blocks.join(", "), "forwarding headers are believed from these proxies only");
    }
    let proxies = TrustedProxies::new(args.trusted_proxies);
    let server = match Server::bind(args.listen, app, Limits::default()).await {
        Ok(server) => server.trust_proxies(proxies),
        Err(error) => {
            tracing::error!(address = %args.listen, %error, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    match server.local_addr() {
        Ok(address) => tracing::info!(%address, "listening on http://{address}"),
        Err(error) => tracing::warn!(%error, "listening, but the address is unknown"),
    }
    server.run(shutdown_signal()).await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM (what `kill` and service
/// managers send).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(terminate) => terminate,
            Err(error) => {
                tracing::warn!(%error, "cannot watch SIGTERM; only Ctrl-C stops the server");
                let _ = interrupt.await;
                return;
            }
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}
