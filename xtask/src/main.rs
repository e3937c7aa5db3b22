//! Project automation: `cargo xtask run` starts a local relay, `cargo xtask test`
//! runs every test after installing what the tests need.
//!
//! Modules: `install` (prerequisites on a fresh machine), `steps` (the test
//! pipeline), `run` (a local relay for development), `web` (the web client's
//! npm build and tests).

mod install;
mod run;
mod steps;
mod web;

use std::path::PathBuf;
use std::process::ExitCode;

const HELP: &str = "\
cargo xtask — Sotto's development commands

USAGE:
    cargo xtask run [--release] [-- RELAY-OPTIONS...]
        Build and start a relay with embedded storage on 127.0.0.1 that serves
        the web client. Prints the relay address (with its fingerprint) and URL.
        Data lives in ./relay-data unless RELAY-OPTIONS set --data. Installs
        what building the web client needs first (wasm32 target,
        wasm-bindgen-cli) when missing.

    cargo xtask test [--no-install] [--skip-lint] [--skip-fuzz]
        Run every test: formatting, clippy, unit and integration tests against
        real relay processes, the web client's type check, unit tests and
        build (npm) and its browser tests (headless Chromium against a real
        relay, and with the sotto command; screenshots in
        <target>/e2e-artifacts), the wasm32 build and a short run of every
        fuzz target.
        Installs what is missing first (wasm32 target, cargo-fuzz, Debian
        packages, among them redis-server for the relay benchmark) unless
        --no-install is given.

    cargo xtask fuzz [TARGET] [--seconds N]
        Run one fuzz target (or all of them) for N seconds each (default 10).

    cargo xtask bench [relay|client|catch-up|files|crypto|groups|web|web-catch-up|web-search|web-files|all] [OPTIONS...]
        Run the release-mode benchmarks (see docs/benchmarks.md). Options
        after `relay` go to sotto-relay-bench, after `client` to
        sotto-client-bench, after `catch-up` to sotto-catch-up-bench,
        after `files` to sotto-files-bench (a 1 GiB file through a relay);
        `groups` measures MLS groups of 100 and 1,000 members, then
        groups of 100 and 1,000 over a relay with sotto-groups-bench
        (options after `groups` go to it: `--members 100,1000,10000`
        adds 10,000, about ten minutes more);
        `web --runs N` sets the page loads measured
        (default 5), `web-catch-up --runs N` the catch-ups measured in
        Chromium (default 3), `web-search --runs N` the runs of each query
        over 100,000 stored messages (default 7), `web-files --runs N` the
        100 MB files sent between two Chromium profiles (default 3). `relay` installs redis-server when missing
        (its versus-redis run measures the relay against a durable Redis).

    cargo xtask help
        Show this help.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run::run(&args[1..]),
        Some("test") => steps::test(&args[1..]),
        Some("fuzz") => steps::fuzz_command(&args[1..]),
        Some("bench") => steps::bench(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!(
            "unknown command `{other}`; `cargo xtask help` lists the commands"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's directory).
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
