//! The `groundup` binary: parse the command line, start the server, and stop
//! it gracefully on SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use groundup::app::App;
use groundup::http::Limits;
use groundup::server::Server;

/// An HTTP/1.1 server written from the ground up.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on. Port 0 picks a free port (the log says which).
    #[arg(long, default_value = "127.0.0.1:8080", env = "GROUNDUP_LISTEN")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();

    let server = match Server::bind(args.listen, App::new(), Limits::default()).await {
        Ok(server) => server,
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
