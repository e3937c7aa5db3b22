//! `sotto-relay-bench`: end-to-end benchmarks of a release `sotto-relay`.
//!
//! Modules:
//! - `relay_process`: the relay under test and its resident memory.
//! - `disk`: the disk's own ceiling for 16 KiB records with batched fsync.
//! - `delivery`: senders → relay (durable) → subscribed recipients → ACK;
//!   throughput and latency.
//! - `memory`: stored and subscribed queues, and idle connections spread over
//!   child processes.
//! - `auth`: ERR AUTH for queues that exist and for queues that do not, timed
//!   side by side.
//! - `floor`: the cost of each step a delivered message cannot avoid (signatures,
//!   block and body encryption, WebSocket frames), measured in isolation.
//! - `versus_redis`: the delivery run side by side with a durable Redis in
//!   rounds, and their ratio; with `redis_process` (the server), `resp` (its
//!   protocol), `redis_delivery` (the same workload through Redis), `pinning`
//!   (servers and load driver on their own CPUs) and `usage` (a server's CPU
//!   and writes per message).
//! - `load`: what the Sotto and Redis delivery drivers share.

mod auth;
mod delivery;
mod disk;
mod floor;
mod load;
mod memory;
mod pinning;
mod redis_delivery;
mod redis_process;
mod relay_process;
mod resp;
mod usage;
mod versus_redis;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use sotto_wire::RelayAddress;

use delivery::Fleet;
use load::{Outcome, Shape};
use relay_process::{RelayProcess, cpu_time, default_relay_binary, load_average, mib};

/// Benchmarks a release `sotto-relay` on this machine: end-to-end delivery
/// (messages/s, p50/p99 latency, relay RSS), the same delivery side by side
/// with a durable Redis, the disk's own fsync ceiling, a latency run at half
/// the maximum rate, memory with many stored and subscribed queues, and memory
/// per idle connection. Progress goes to stderr, the summary to stdout.
#[derive(Debug, Parser)]
#[command(name = "sotto-relay-bench", version)]
struct Cli {
    /// The relay binary to benchmark. [default: `sotto-relay` next to this
    /// executable]
    #[arg(long, value_name = "PATH")]
    relay: Option<PathBuf>,

    /// Sender connections, and as many recipient connections.
    #[arg(long, value_name = "N", default_value_t = 4)]
    connections: usize,

    /// Queues the messages are spread over.
    #[arg(long, value_name = "M", default_value_t = 64)]
    queues: usize,

    /// Message body size in bytes (at most 16000; every frame is a 16 KiB block
    /// whatever the body size).
    #[arg(long, value_name = "BYTES", default_value_t = 16_000)]
    body_size: usize,

    /// Sends each sender connection keeps in flight in the maximum-rate run.
    #[arg(long, value_name = "N", default_value_t = 128)]
    window: usize,

    /// Total rate of the paced latency run, in messages/s. [default: half the
    /// rate the maximum-rate run delivered]
    #[arg(long, value_name = "PER_SECOND")]
    paced_rate: Option<f64>,

    /// Seconds of warm-up before each delivery measurement.
    #[arg(long, value_name = "S", default_value_t = 2)]
    warmup: u64,

    /// Seconds each delivery run is measured.
    #[arg(long, value_name = "S", default_value_t = 10)]
    seconds: u64,

    /// Records per fsync in the disk ceiling run (several sizes are measured;
    /// this one is the reference for the ratio).
    #[arg(long, value_name = "N", default_value_t = 64)]
    disk_batch: usize,

    /// Queues stored in the memory run.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    stored_queues: usize,

    /// Of those, queues subscribed in the memory run.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    subscribed_queues: usize,

    /// Idle connections in the connection-memory run.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    idle_connections: usize,

    /// Child processes the idle connections are spread over (each from its own
    /// 127.0.0.x address).
    #[arg(long, value_name = "N", default_value_t = 4)]
    idle_processes: usize,

    /// An extra option for every relay started (repeat it), e.g.
    /// `--relay-arg=--sync-acks`.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    relay_arg: Vec<String>,

    /// Refusals timed per case (queue exists, queue does not) and command in
    /// the ERR AUTH run.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    auth_requests: usize,

    /// Runs to skip: floor, disk, delivery, latency, versus-redis, memory,
    /// idle, auth (comma-separated).
    #[arg(long, value_name = "RUNS", value_delimiter = ',')]
    skip: Vec<String>,

    /// Only these runs (comma-separated, same names as `--skip`).
    #[arg(long, value_name = "RUNS", value_delimiter = ',')]
    only: Vec<String>,

    /// The Redis server of the versus-redis run.
    #[arg(long, value_name = "PATH", default_value = "redis-server")]
    redis: PathBuf,

    /// Rounds of the versus-redis run, each measuring Sotto and Redis.
    #[arg(long, value_name = "N", default_value_t = 3)]
    rounds: usize,

    /// In the versus-redis run, pin each server to CPU 0 and this process to
    /// CPU 1 (with taskset). [default: when there are at least 2 CPUs]
    #[arg(long, overrides_with = "no_pin")]
    pin: bool,

    /// Do not pin (see `--pin`).
    #[arg(long, overrides_with = "pin")]
    no_pin: bool,

    #[command(subcommand)]
    internal: Option<Internal>,
}

/// Subcommands the bench runs in its child processes.
#[derive(Debug, Subcommand)]
enum Internal {
    /// Holds idle connections until stdin closes.
    #[command(hide = true)]
    IdleClients {
        #[arg(long)]
        address: RelayAddress,
        #[arg(long)]
        count: usize,
        #[arg(long)]
        local: IpAddr,
    },
}

/// Options every relay under test gets: limits out of the way of the
/// measurement (rate limits are per connection and the bench opens few).
const RELAY_ARGS: &[&str] = &[
    "--rate-limit",
    "10000000",
    "--rate-burst",
    "10000000",
    "--auth-failure-burst",
    "10000000",
    "--max-connections",
    "20000",
    "--queue-quota",
    "100000",
    // The idle run opens 2,500 connections per source address that stay idle
    // without authorizing any command.
    "--max-connections-per-ip",
    "20000",
    "--unauthorized-timeout",
    "1h",
];

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(Internal::IdleClients {
        address,
        count,
        local,
    }) = &cli.internal
    {
        return memory::hold_idle_connections(address, *count, *local).await;
    }
    let relay_binary = match &cli.relay {
        Some(path) => path.clone(),
        None => default_relay_binary()?,
    };
    let scratch = tempfile::tempdir().context("creating a temporary directory")?;
    let skip = |run: &str| {
        cli.skip.iter().any(|name| name == run)
            || (!cli.only.is_empty() && !cli.only.iter().any(|name| name == run))
    };
    let mut relay_args: Vec<String> = RELAY_ARGS.iter().map(|arg| (*arg).to_owned()).collect();
    relay_args.extend(cli.relay_arg.iter().cloned());
    let mut summary = Vec::new();
    summary.push(format!(
        "relay: {}; {} sender + {} recipient connections, {} queues, {}-byte bodies",
        relay_binary.display(),
        cli.connections,
        cli.connections,
        cli.queues,
        cli.body_size
    ));

    if !cli.relay_arg.is_empty() {
        summary.push(format!("extra relay options: {}", cli.relay_arg.join(" ")));
    }
    summary.push(format!("load average at start: {}", load_average()));
    let mut ceiling = None;
    let mut durable_write_cpu = None;
    if !skip("disk") {
        eprintln!("disk ceiling: 16 KiB records, one fsync per batch");
        for batch in [16, cli.disk_batch, 256] {
            let cpu_before = cpu_time("self")?;
            let started = std::time::Instant::now();
            let measured = disk::ceiling(scratch.path(), batch, Duration::from_secs(3))?;
            let records = measured.records_per_second * started.elapsed().as_secs_f64();
            let cpu = (cpu_time("self")? - cpu_before).as_secs_f64() / records.max(1.0);
            let rate = measured.records_per_second;
            let line = format!(
                "disk ceiling, {batch} records of 16 KiB per fsync: {rate:.0} records/s \
                 (fsync p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {:.1} µs of CPU per record)",
                measured.fsync_p50.as_secs_f64() * 1e3,
                measured.fsync_p99.as_secs_f64() * 1e3,
                measured.fsync_max.as_secs_f64() * 1e3,
                cpu * 1e6,
            );
            eprintln!("  {line}");
            summary.push(line);
            if batch == cli.disk_batch {
                ceiling = Some(rate);
                durable_write_cpu = Some(Duration::from_secs_f64(cpu));
            }
        }
    }

    if !skip("floor") {
        eprintln!("floor: each unavoidable step of a delivered message, in isolation");
        let steps = floor::measure().await?;
        summary.extend(floor_summary(&steps, durable_write_cpu));
    }

    let shape = Shape {
        connections: cli.connections.max(1),
        queues: cli.queues.max(cli.connections.max(1)),
        body_size: cli.body_size,
        window: cli.window.max(1),
    };
    let warmup = Duration::from_secs(cli.warmup);
    let measure = Duration::from_secs(cli.seconds.max(1));
    let mut max_rate = None;
    if !skip("delivery") || !skip("latency") {
        let relay =
            RelayProcess::start(&relay_binary, &scratch.path().join("delivery"), &relay_args)?;
        if !skip("delivery") {
            eprintln!("delivery at the maximum rate ({} s)", cli.seconds);
            let fleet = Fleet::connect(&relay.address, shape).await?;
            let cpu = CpuMeter::start(&relay).await?;
            let outcome = fleet.run(None, warmup, measure).await?;
            let rss = relay.rss()?;
            report("maximum rate", &outcome, &mut summary);
            cpu.report(&relay, &outcome, &mut summary).await?;
            summary.push(format!(
                "  relay RSS after the run: {:.1} MiB (peak {:.1} MiB)",
                mib(rss),
                mib(relay.peak_rss()?)
            ));
            if let Some(ceiling) = ceiling {
                summary.push(format!(
                    "  delivered / disk ceiling (batch {}): {:.2}",
                    cli.disk_batch,
                    outcome.delivered_per_second / ceiling
                ));
            }
            max_rate = Some(outcome.delivered_per_second);
        }
        if !skip("latency") {
            let rate = cli
                .paced_rate
                .or(max_rate.map(|rate| rate / 2.0))
                .unwrap_or(10_000.0);
            eprintln!("delivery at {rate:.0} messages/s ({} s)", cli.seconds);
            let fleet = Fleet::connect(
                &relay.address,
                Shape {
                    window: 100_000,
                    ..shape
                },
            )
            .await?;
            let cpu = CpuMeter::start(&relay).await?;
            let outcome = fleet.run(Some(rate), warmup, measure).await?;
            report(&format!("paced at {rate:.0}/s"), &outcome, &mut summary);
            cpu.report(&relay, &outcome, &mut summary).await?;
        }
    }

    if !skip("versus-redis") {
        eprintln!(
            "delivery side by side with a durable Redis ({} s per run)",
            cli.seconds
        );
        let setup = versus_redis::Setup {
            relay_binary: &relay_binary,
            relay_args: &relay_args,
            redis_binary: &cli.redis,
            scratch: scratch.path(),
            shape,
            warmup,
            measure,
            rounds: cli.rounds,
            pin: if cli.pin {
                true
            } else if cli.no_pin {
                false
            } else {
                pinning::default_on()
            },
        };
        summary.extend(versus_redis::measure(&setup).await?);
    }

    if !skip("memory") {
        eprintln!(
            "memory: {} queues stored, {} subscribed",
            cli.stored_queues, cli.subscribed_queues
        );
        let relay =
            RelayProcess::start(&relay_binary, &scratch.path().join("memory"), &relay_args)?;
        let idle = relay.rss()?;
        let holders =
            memory::fill_queues(&relay.address, cli.stored_queues, cli.subscribed_queues, 10)
                .await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss = relay.rss()?;
        summary.push(format!(
            "memory: relay RSS {:.1} MiB with {} queues stored and {} subscribed \
             (peak {:.1} MiB, {:.1} MiB at start)",
            mib(rss),
            cli.stored_queues,
            cli.subscribed_queues,
            mib(relay.peak_rss()?),
            mib(idle)
        ));
        drop(holders);
    }

    if !skip("idle") {
        eprintln!(
            "idle connections: {} over {} processes",
            cli.idle_connections, cli.idle_processes
        );
        let relay = RelayProcess::start(&relay_binary, &scratch.path().join("idle"), &relay_args)?;
        let (per_connection, before, after) =
            memory::idle_connections(&relay, cli.idle_connections, cli.idle_processes)?;
        summary.push(format!(
            "idle connections: {} → relay RSS {:.1} MiB → {:.1} MiB, {:.1} KiB per connection",
            cli.idle_connections,
            mib(before),
            mib(after),
            per_connection / 1024.0
        ));
    }

    if !skip("auth") {
        eprintln!(
            "ERR AUTH timing: {} refusals per case and command",
            cli.auth_requests
        );
        let relay = RelayProcess::start(&relay_binary, &scratch.path().join("auth"), &relay_args)?;
        summary.extend(auth::measure(&relay, cli.auth_requests.max(1)).await?);
    }

    println!("\nsotto-relay-bench summary");
    for line in summary {
        println!("{line}");
    }
    Ok(())
}

/// Relay metrics: durable commits, and writes committed.
const FSYNC_BATCHES: &str = "sotto_fsync_batches_total";
const FSYNC_WRITES: &str = "sotto_fsync_batch_size_sum";
/// Relay metrics: blocks received from and sent to clients.
const BLOCKS_RECEIVED: &str = "sotto_blocks_received_total";
const BLOCKS_SENT: &str = "sotto_blocks_sent_total";

/// CPU time of the relay and of this process over a delivery run: where the
/// time goes, whatever else the machine is doing.
struct CpuMeter {
    disk_writes: u64,
    commits: f64,
    writes: f64,
    blocks_received: f64,
    blocks_sent: f64,
    relay: Duration,
    writer: Duration,
    bench: Duration,
    started: std::time::Instant,
}

impl CpuMeter {
    async fn start(relay: &RelayProcess) -> Result<CpuMeter> {
        Ok(CpuMeter {
            disk_writes: relay.disk_writes()?,
            commits: relay.metric(FSYNC_BATCHES).await?,
            writes: relay.metric(FSYNC_WRITES).await?,
            blocks_received: relay.metric(BLOCKS_RECEIVED).await?,
            blocks_sent: relay.metric(BLOCKS_SENT).await?,
            relay: relay.cpu_time()?,
            writer: relay.writer_cpu_time()?,
            bench: cpu_time("self")?,
            started: std::time::Instant::now(),
        })
    }

    async fn report(
        self,
        relay: &RelayProcess,
        outcome: &Outcome,
        summary: &mut Vec<String>,
    ) -> Result<()> {
        let commits = relay.metric(FSYNC_BATCHES).await? - self.commits;
        let writes = relay.metric(FSYNC_WRITES).await? - self.writes;
        let blocks_received = relay.metric(BLOCKS_RECEIVED).await? - self.blocks_received;
        let blocks_sent = relay.metric(BLOCKS_SENT).await? - self.blocks_sent;
        let written = relay.disk_writes()?.saturating_sub(self.disk_writes) as f64;
        let wall = self.started.elapsed().as_secs_f64();
        let relay_cpu = (relay.cpu_time()? - self.relay).as_secs_f64();
        let bench_cpu = (cpu_time("self")? - self.bench).as_secs_f64();
        let messages = outcome.delivered_per_second * wall;
        let line = format!(
            "  CPU over the run: relay {:.2} cores ({:.0} µs per message), clients {:.2} cores \
             ({:.0} µs per message)",
            relay_cpu / wall,
            relay_cpu * 1e6 / messages.max(1.0),
            bench_cpu / wall,
            bench_cpu * 1e6 / messages.max(1.0),
        );
        eprintln!("{line}");
        summary.push(line);
        let writer_cpu = relay.writer_cpu_time()?.saturating_sub(self.writer);
        let line = format!(
            "  group commit: {:.0} durable commits/s, {:.1} writes per commit, {:.2} ms between \
             commits; writer thread {:.1} µs of CPU per write",
            commits / wall,
            writes / commits.max(1.0),
            wall * 1e3 / commits.max(1.0),
            writer_cpu.as_secs_f64() * 1e6 / writes.max(1.0),
        );
        eprintln!("{line}");
        summary.push(line);
        let line = format!(
            "  blocks per delivered message: {:.2} received, {:.2} sent",
            blocks_received / messages.max(1.0),
            blocks_sent / messages.max(1.0),
        );
        eprintln!("{line}");
        summary.push(line);
        let line = format!(
            "  storage writes: {:.1} MB/s, {:.1} KiB per delivered message",
            written / wall / 1e6,
            written / 1024.0 / (outcome.delivered_per_second * wall).max(1.0),
        );
        eprintln!("{line}");
        summary.push(line);
        Ok(())
    }
}

fn report(label: &str, outcome: &Outcome, summary: &mut Vec<String>) {
    let line = format!(
        "delivery, {label}: {:.0} delivered/s ({:.0} sends OK/s), latency p50 {:.2} ms, \
         p99 {:.2} ms, max {:.2} ms, {} send errors",
        outcome.delivered_per_second,
        outcome.sent_per_second,
        outcome.p50.as_secs_f64() * 1e3,
        outcome.p99.as_secs_f64() * 1e3,
        outcome.max.as_secs_f64() * 1e3,
        outcome.send_errors
    );
    eprintln!("  {line}");
    summary.push(line);
}

/// The floor's lines: each step, then the sums per delivered message on each
/// side and the rate two cores could reach at best.
fn floor_summary(steps: &[floor::Step], durable_write_cpu: Option<Duration>) -> Vec<String> {
    let mut lines: Vec<String> = steps
        .iter()
        .map(|step| format!("floor: {}", step.line()))
        .collect();
    let cost = |name: &str| {
        steps
            .iter()
            .find(|step| step.name.starts_with(name))
            .map_or(0.0, |step| step.fastest.as_secs_f64() * 1e6)
    };
    let storage = durable_write_cpu.map_or(0.0, |cpu| cpu.as_secs_f64() * 1e6);
    // Per delivered message, small commands (ACK, OK) batched many to a block:
    // only SEND in and MSG out take a block each.
    let relay = cost("WebSocket read of a 16 KiB frame, client → relay")
        + cost("block open")
        + cost("check the authenticator of a SEND")
        + storage
        + cost("re-seal")
        + cost("block seal")
        + cost("WebSocket write of a 16 KiB frame, relay → client")
        + cost("check the authenticator of an ACK");
    let client = cost("authenticate a SEND")
        + cost("block seal")
        + cost("WebSocket write of a 16 KiB frame, client → relay")
        + cost("WebSocket read of a 16 KiB frame, relay → client")
        + cost("block open")
        + cost("open the re-sealed body")
        + cost("authenticate an ACK");
    lines.push(format!(
        "floor per delivered message: relay {relay:.0} µs (with {storage:.1} µs of CPU \
         for the durable write, from the disk run), clients {client:.0} µs; at best \
         {:.0} messages/s on 2 cores, {:.0}/s for the relay alone on one core",
        2e6 / (relay + client),
        1e6 / relay,
    ));
    lines
}
