//! `sotto-files-bench`: a large file through one release `sotto-relay` on
//! loopback, sent and received with the release `sotto` binary (the same
//! commands a user runs), against `cp` of the same file on the same disk.

#[allow(dead_code)]
#[path = "../relay_process.rs"]
mod relay_process;

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use rand::RngCore;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::Value;

use relay_process::{RelayProcess, default_relay_binary, load_average, mib};

/// Benchmarks a file sent and received through a release `sotto-relay` on
/// this machine with the release `sotto` command: `send-file` (encrypt once,
/// upload) and `download` (download, check, save in plain form), each timed
/// as a whole, with the peak resident memory of each `sotto` process and of
/// the relay, and `cp` of the same file on the same disk as the ceiling.
/// Progress goes to stderr, the summary to stdout.
#[derive(Debug, Parser)]
#[command(name = "sotto-files-bench", version)]
struct Cli {
    /// The relay binary. [default: `sotto-relay` next to this executable]
    #[arg(long, value_name = "PATH")]
    relay: Option<PathBuf>,

    /// The `sotto` binary. [default: `sotto` next to this executable]
    #[arg(long, value_name = "PATH")]
    sotto: Option<PathBuf>,

    /// The file's size in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    size_mib: u64,

    /// Rounds (each: cp, upload, download); the summary gives the median.
    #[arg(long, value_name = "N", default_value_t = 3)]
    runs: usize,

    /// Where the file, the profiles and the relay's data go (one disk).
    /// [default: a temporary directory]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// One round's figures.
struct Round {
    cp: Duration,
    upload: Duration,
    download: Duration,
    sender_peak: u64,
    receiver_peak: u64,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.size_mib == 0 || cli.runs == 0 {
        bail!("--size-mib and --runs must be at least 1");
    }
    let relay_binary = match &cli.relay {
        Some(path) => path.clone(),
        None => default_relay_binary()?,
    };
    let sotto = match &cli.sotto {
        Some(path) => path.clone(),
        None => next_to_self("sotto")?,
    };
    let work = match &cli.dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .context("creating a work directory")?;
    let root = work.path();
    let load_before = load_average();
    let relay = RelayProcess::start(&relay_binary, &root.join("relay"), &[])?;
    eprintln!("relay at {}", relay.address);

    let alice = Client::new(&sotto, &root.join("alice"));
    let bob = Client::new(&sotto, &root.join("bob"));
    connect(&alice, &bob, &relay.address.to_string())?;

    let size = cli.size_mib * 1024 * 1024;
    let original = root.join("original.bin");
    eprintln!("writing a {} MiB file of random bytes…", cli.size_mib);
    write_random(&original, size)?;

    let mut rounds = Vec::new();
    for run in 1..=cli.runs {
        eprintln!("round {run} of {}: cp…", cli.runs);
        let copy = root.join("copy.bin");
        let start = Instant::now();
        let status = Command::new("cp").arg(&original).arg(&copy).status()?;
        let cp = start.elapsed();
        if !status.success() {
            bail!("cp failed");
        }
        std::fs::remove_file(&copy)?;

        eprintln!("round {run}: send-file…");
        let (sent, upload, sender_peak) =
            alice.timed(&["send-file", "Bob", path_text(&original)?])?;
        if sent["state"] != "sent" {
            bail!("the upload did not finish: {sent}");
        }
        let message = sent["message"].as_u64().context("the message number")?;

        // Bob learns of the file (not timed).
        let number = wait_for_file(&bob)?;
        eprintln!("round {run}: download…");
        let out = root.join("out");
        std::fs::create_dir_all(&out)?;
        let (saved, download, receiver_peak) = bob.timed(&[
            "download",
            "Alice",
            &number.to_string(),
            "--dir",
            path_text(&out)?,
        ])?;
        let path = saved["files"][0]["path"]
            .as_str()
            .with_context(|| format!("the download did not finish: {saved}"))?;
        if !same_content(&original, Path::new(path))? {
            bail!("the received file differs from the original");
        }
        std::fs::remove_dir_all(&out)?;
        // The file goes for everyone (relay chunks, both profiles' copies).
        alice.run(&["delete", "Bob", &message.to_string()])?;
        bob.run(&["receive"])?;
        let round = Round {
            cp,
            upload,
            download,
            sender_peak,
            receiver_peak,
        };
        eprintln!(
            "round {run}: cp {:.0} MB/s, upload {:.0} MB/s, download {:.0} MB/s",
            rate(size, round.cp),
            rate(size, round.upload),
            rate(size, round.download)
        );
        rounds.push(round);
    }
    let relay_peak = relay.peak_rss()?;

    let median = |pick: &dyn Fn(&Round) -> f64| -> f64 {
        let mut values: Vec<f64> = rounds.iter().map(pick).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let max = |pick: &dyn Fn(&Round) -> u64| rounds.iter().map(pick).max().unwrap_or(0);
    println!(
        "file: {} MiB ({size} bytes) through one relay on loopback, {} rounds, median",
        cli.size_mib, cli.runs
    );
    println!(
        "upload (send-file: encrypt once, upload):      {:>7.1} MB/s",
        median(&|r| rate(size, r.upload))
    );
    println!(
        "download (download: fetch, check, save):       {:>7.1} MB/s",
        median(&|r| rate(size, r.download))
    );
    println!(
        "cp of the file on the same disk (ceiling):     {:>7.1} MB/s",
        median(&|r| rate(size, r.cp))
    );
    // Each round's rate over its own `cp`, so that rounds on a noisy machine
    // compare; the median of those ratios.
    println!(
        "as a share of cp in the same round (median):   upload {:.2}, download {:.2}",
        median(&|r| r.cp.as_secs_f64() / r.upload.as_secs_f64().max(1e-9)),
        median(&|r| r.cp.as_secs_f64() / r.download.as_secs_f64().max(1e-9))
    );
    println!(
        "peak RSS: sender {:.1} MiB, receiver {:.1} MiB, relay {:.1} MiB",
        mib(max(&|r| r.sender_peak)),
        mib(max(&|r| r.receiver_peak)),
        mib(relay_peak)
    );
    for (index, round) in rounds.iter().enumerate() {
        println!(
            "  round {}: upload {:.1} s, download {:.1} s, cp {:.2} s",
            index + 1,
            round.upload.as_secs_f64(),
            round.download.as_secs_f64(),
            round.cp.as_secs_f64()
        );
    }
    println!(
        "load average before: {load_before}, after: {}",
        load_average()
    );
    Ok(())
}

/// MB/s (10^6 bytes).
fn rate(bytes: u64, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64().max(1e-9)
}

fn path_text(path: &Path) -> Result<&str> {
    path.to_str().context("a path that is not UTF-8")
}

/// A binary next to this executable.
fn next_to_self(name: &str) -> Result<PathBuf> {
    let binary = std::env::current_exe()?
        .parent()
        .context("the bench's directory")?
        .join(name);
    if !binary.exists() {
        bail!(
            "{} not found: build it (cargo build --release -p sotto-cli)",
            binary.display()
        );
    }
    Ok(binary)
}

/// A profile driven through the `sotto` binary.
struct Client {
    sotto: PathBuf,
    dir: PathBuf,
}

impl Client {
    fn new(sotto: &Path, dir: &Path) -> Client {
        Client {
            sotto: sotto.to_owned(),
            dir: dir.to_owned(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.sotto);
        command
            .arg("--profile")
            .arg(&self.dir)
            .args(["--json", "--timeout", "120"])
            .args(args)
            .env("SOTTO_PASSPHRASE", "bench passphrase")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        command
    }

    fn run(&self, args: &[&str]) -> Result<Value> {
        let output = self.command(args).output()?;
        let value: Value = serde_json::from_slice(&output.stdout)
            .with_context(|| format!("sotto {args:?}: not JSON"))?;
        if !output.status.success() {
            bail!("sotto {args:?} failed: {value}");
        }
        Ok(value)
    }

    /// Runs a command; its output, wall time and peak RSS (VmHWM, read
    /// every 20 ms until it exits).
    fn timed(&self, args: &[&str]) -> Result<(Value, Duration, u64)> {
        let start = Instant::now();
        let mut child = self.command(args).spawn()?;
        let mut stdout = child.stdout.take().context("stdout")?;
        let reader = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stdout.read_to_end(&mut text);
            text
        });
        let status_path = format!("/proc/{}/status", child.id());
        let mut peak = 0u64;
        let status = loop {
            if let Ok(status) = std::fs::read_to_string(&status_path)
                && let Some(kib) = status
                    .lines()
                    .find_map(|line| line.strip_prefix("VmHWM:"))
                    .and_then(|rest| {
                        rest.trim()
                            .trim_end_matches("kB")
                            .trim()
                            .parse::<u64>()
                            .ok()
                    })
            {
                peak = peak.max(kib * 1024);
            }
            if let Some(status) = child.try_wait()? {
                break status;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let elapsed = start.elapsed();
        let text = reader.join().unwrap_or_default();
        let value: Value =
            serde_json::from_slice(&text).with_context(|| format!("sotto {args:?}: not JSON"))?;
        if !status.success() {
            bail!("sotto {args:?} failed: {value}");
        }
        Ok((value, elapsed, peak))
    }
}

/// Two profiles on the relay, connected by an invitation.
fn connect(alice: &Client, bob: &Client, relay: &str) -> Result<()> {
    eprintln!("creating two profiles and connecting them…");
    alice.run(&["init", "--name", "Alice", "--relay", relay])?;
    bob.run(&["init", "--name", "Bob", "--relay", relay])?;
    let invitation = alice.run(&["invite", "--no-qr"])?;
    let link = invitation["link"].as_str().context("the invitation link")?;
    bob.run(&["connect", link])?;
    for _ in 0..50 {
        alice.run(&["receive"])?;
        bob.run(&["receive"])?;
        let contacts = alice.run(&["contacts"])?;
        if contacts["contacts"][0]["state"] == "connected" {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the two profiles did not connect")
}

/// Receives until a file not downloaded shows; its message number.
fn wait_for_file(bob: &Client) -> Result<u64> {
    for _ in 0..100 {
        bob.run(&["receive"])?;
        let history = bob.run(&["history", "Alice", "--limit", "5"])?;
        if let Some(item) = history["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .rev()
            .find(|item| item["file"]["state"] == "available" && item["deleted"] == false)
        {
            return item["number"].as_u64().context("a message number");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the file's message did not arrive")
}

fn write_random(path: &Path, len: u64) -> Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let take = block.len().min(left as usize);
        rng.fill_bytes(&mut block[..take]);
        out.write_all(&block[..take])?;
        left -= take as u64;
    }
    out.flush()?;
    Ok(())
}

fn same_content(a: &Path, b: &Path) -> Result<bool> {
    let (mut a, mut b) = (File::open(a)?, File::open(b)?);
    let (mut left, mut right) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let read = a.read(&mut left)?;
        if read == 0 {
            return Ok(b.read(&mut right)? == 0);
        }
        b.read_exact(&mut right[..read])?;
        if left[..read] != right[..read] {
            return Ok(false);
        }
    }
}
