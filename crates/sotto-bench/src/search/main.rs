//! `sotto-search-bench`: how long a search over every message of a profile
//! takes natively. `sotto-seed-profile` (next to this executable) builds a
//! profile of `--messages` texts over `--chats` chats through real cores; it
//! is imported into a real SQLCipher database, opened as `sotto` opens it,
//! and each query runs `--runs` times through `Core::search` (the first run
//! of each query after the database was opened, so with a cold page cache,
//! is reported apart). The summary line gives the slowest query's median.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use sotto_core::{Core, Passphrase};
use sotto_store::SqlCipherStore;

/// Times searches over a profile's messages in its SQLCipher database.
#[derive(Debug, Parser)]
#[command(name = "sotto-search-bench", version)]
struct Cli {
    /// Messages in the profile.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    messages: usize,

    /// Chats they are spread over (half of them in the first chat).
    #[arg(long, value_name = "N", default_value_t = 50)]
    chats: usize,

    /// Runs of each query.
    #[arg(long, value_name = "N", default_value_t = 5)]
    runs: usize,

    /// Results asked for.
    #[arg(long, value_name = "N", default_value_t = 50)]
    limit: usize,

    /// The profile builder. [default: `sotto-seed-profile` next to this executable]
    #[arg(long, value_name = "PATH")]
    seed_profile: Option<PathBuf>,
}

/// A word in many texts, a phrase, a word in none, and a query that is not
/// ASCII (the slower, Unicode lower-case path).
const QUERIES: [&str; 4] = ["coffee", "see you later", "zeppelin", "café"];

fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.chats < 2 || cli.messages < 2 * cli.chats || cli.runs == 0 {
        bail!("--chats must be at least 2, --messages at least twice --chats, --runs at least 1");
    }
    let builder = match cli.seed_profile {
        Some(path) => path,
        None => std::env::current_exe()
            .context("locating this executable")?
            .with_file_name("sotto-seed-profile"),
    };
    let dir = tempfile::tempdir()?;
    let archive = dir.path().join("profile.sotto");
    let per_chat = cli.messages / (2 * (cli.chats - 1));
    let big_chat = cli.messages - per_chat * (cli.chats - 1);
    eprintln!(
        "building a profile of {} messages ({big_chat} in one chat, {per_chat} in each of {} others)…",
        cli.messages,
        cli.chats - 1
    );
    let started = Instant::now();
    let status = Command::new(&builder)
        .arg("--out")
        .arg(&archive)
        .args(["--passphrase", "search bench"])
        .args(["--chats", &cli.chats.to_string()])
        .args(["--big-chat", &big_chat.to_string()])
        .args(["--per-chat", &per_chat.to_string()])
        .args(["--unread-chats", "0"])
        .status()
        .with_context(|| format!("running {}", builder.display()))?;
    if !status.success() {
        bail!("{} failed: {status}", builder.display());
    }
    eprintln!(
        "built in {:.1} s; importing into SQLCipher…",
        started.elapsed().as_secs_f64()
    );

    let passphrase = Passphrase::new("search bench".to_owned());
    let database = dir.path().join("profile.db");
    let mut store = SqlCipherStore::create(&database, &passphrase)?;
    let mut file = std::io::BufReader::new(std::fs::File::open(&archive)?);
    let summary = store.import_archive(&mut file, passphrase.clone())?;
    eprintln!("imported {} records; opening it again…", summary.records);
    drop(store);
    let core = Core::open(SqlCipherStore::open(&database, &passphrase)?)?;

    let mut slowest: f64 = 0.0;
    for query in QUERIES {
        let mut times = Vec::with_capacity(cli.runs);
        let mut hits = 0;
        for _ in 0..cli.runs {
            let started = Instant::now();
            hits = core.search(query, cli.limit)?.len();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let first = times[0];
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        slowest = slowest.max(median);
        let runs: Vec<String> = times.iter().map(|ms| format!("{ms:.1}")).collect();
        println!(
            "search {query:?}: {hits} results, median {median:.1} ms, first {first:.1} ms (runs: {} ms)",
            runs.join(", ")
        );
    }
    println!(
        "search over {} messages: slowest median {slowest:.1} ms (target 100 ms)",
        cli.messages
    );
    Ok(())
}
