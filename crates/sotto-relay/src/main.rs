//! `sotto-relay`: the relay server binary.
//!
//! Prints `relay address: …`, `metrics: …` (with `--metrics-listen`) and
//! `web: …` on stdout once it listens, logs to
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
        // The handlers are in place before the address is printed: whoever waits
        // for that line may send SIGTERM at once, and it must shut down cleanly.
        let shutdown = shutdown_signal().context("installing signal handlers")?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "relay address: {}", server.relay_address())?;
        if let Some(url) = server.metrics_url() {
            writeln!(stdout, "metrics: {url}")?;
        }
        writeln!(stdout, "web: {}", server.web_url())?;
        stdout.flush()?;
        drop(stdout);
        tracing::info!(
            listen = %server.relay_address(),
            "relay started"
        );
        server.run(shutdown).await.context("serving")?;
        Ok(())
    })
}

/// Installs the SIGTERM and SIGINT (Ctrl-C) handlers now and returns a future
/// that completes on the first of them.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

/// Returns a future that completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
