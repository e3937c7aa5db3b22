//! `sotto-relay`: the relay server binary.
//!
//! Prints `relay address: …` and `web: …` on stdout once it listens, logs to
//! stderr, and exits 0 after a graceful shutdown (SIGTERM or SIGINT), 1 when the
//! relay fails, 2 for an invalid command line or configuration.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use sotto_relay::Config;
use sotto_relay::server::Server;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let config = match Config::load() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("sotto-relay: {error}");
            return ExitCode::from(2);
        }
    };
    let filter = match EnvFilter::try_new(&config.log_level) {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!("sotto-relay: invalid --log-level: {error}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("sotto-relay: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let server = Server::bind(&config).await.context("starting the relay")?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "relay address: {}", server.relay_address())?;
        writeln!(stdout, "web: {}", server.web_url())?;
        stdout.flush()?;
        drop(stdout);
        tracing::info!(
            listen = %server.relay_address(),
            "relay started"
        );
        server.run(shutdown_signal()).await.context("serving")?;
        Ok(())
    })
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
