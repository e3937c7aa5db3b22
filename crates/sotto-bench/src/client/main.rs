//! `sotto-client-bench`: two running Sotto clients through a release
//! `sotto-relay` process. Each client is a `sotto_client::Runtime` in live mode
//! over its own SQLCipher profile database, on its own thread: the same stack
//! as `sotto listen` and `sotto chat`. Measures the time from `send` to the
//! message stored in the recipient's database (p50/p99), and the throughput of
//! a burst.

#[allow(dead_code)]
#[path = "../relay_process.rs"]
mod relay_process;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use rand::rngs::OsRng;
use sotto_client::runtime::now_millis;
use sotto_client::{Mode, Runtime, RuntimeOptions};
use sotto_core::{ChatId, Core, Event, MessageDirection, Passphrase, Profile};
use sotto_store::SqlCipherStore;
use sotto_wire::RelayAddress;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use relay_process::{RelayProcess, cpu_time, default_relay_binary, load_average};

/// Benchmarks two running clients through a release `sotto-relay` on this
/// machine: send → stored at the recipient (p50/p99, one message at a time),
/// and a burst's throughput. Progress goes to stderr, the summary to stdout.
#[derive(Debug, Parser)]
#[command(name = "sotto-client-bench", version)]
struct Cli {
    /// The relay binary. [default: `sotto-relay` next to this executable]
    #[arg(long, value_name = "PATH")]
    relay: Option<PathBuf>,

    /// Messages of the latency run (sent one at a time, each after the
    /// previous one is stored at the recipient).
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    latency_messages: usize,

    /// Messages of the latency run sent first and not counted.
    #[arg(long, value_name = "N", default_value_t = 50)]
    warmup: usize,

    /// Messages of the burst.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    burst: usize,

    /// Bytes of each message's text.
    #[arg(long, value_name = "BYTES", default_value_t = 100)]
    text_size: usize,
}

/// What the main thread asks the sender's thread.
enum Order {
    /// Send this many texts, as fast as the client takes them.
    Send(usize),
}

/// The sending client's task and how to give it orders.
struct ClientTask {
    orders: mpsc::UnboundedSender<Order>,
    task: JoinHandle<Result<()>>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.text_size == 0 || cli.text_size > 10_000 {
        bail!("--text-size must be 1 to 10000 bytes");
    }
    let relay_binary = match &cli.relay {
        Some(path) => path.clone(),
        None => default_relay_binary()?,
    };
    let work = tempfile::tempdir().context("creating a temporary directory")?;
    let relay = RelayProcess::start(
        &relay_binary,
        &work.path().join("relay"),
        &["--queue-quota".to_owned(), "100000".to_owned()],
    )?;
    eprintln!("relay at {}", relay.address);
    let load_before = load_average();

    // Each client runs as its own task; the two may run on the two worker
    // threads at once, like two processes.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(measure(&cli, &relay, work.path(), &load_before))
}

async fn measure(
    cli: &Cli,
    relay: &RelayProcess,
    root: &std::path::Path,
    load_before: &str,
) -> Result<()> {
    eprintln!("creating two profiles and connecting them…");
    let (alice, bob, alice_bob) = connect(root, &relay.address).await?;

    let (stored_tx, mut stored) = mpsc::unbounded_channel::<Instant>();
    let sender = spawn_sender(alice, alice_bob, cli.text_size);
    let receiver = spawn_receiver(bob, stored_tx);
    let bench_cpu_before = cpu_time("self")?;
    let relay_cpu_before = relay.cpu_time()?;

    // Latency: one message at a time.
    eprintln!(
        "latency: {} messages one at a time ({} warm-up)…",
        cli.latency_messages, cli.warmup
    );
    let mut latencies = Vec::with_capacity(cli.latency_messages);
    for i in 0..cli.warmup + cli.latency_messages {
        let start = Instant::now();
        sender
            .orders
            .send(Order::Send(1))
            .ok()
            .context("sender gone")?;
        let at = stored.recv().await.context("the recipient's task ended")?;
        if i >= cli.warmup {
            latencies.push(at.duration_since(start));
        }
    }
    latencies.sort();

    // Throughput: a burst.
    eprintln!("burst: {} messages…", cli.burst);
    let start = Instant::now();
    sender
        .orders
        .send(Order::Send(cli.burst))
        .ok()
        .context("sender gone")?;
    let mut last = start;
    for _ in 0..cli.burst {
        last = stored.recv().await.context("the recipient's task ended")?;
    }
    let burst = last.duration_since(start);
    let bench_cpu = cpu_time("self")? - bench_cpu_before;
    let relay_cpu = relay.cpu_time()? - relay_cpu_before;
    let load_after = load_average();
    drop(sender.orders);
    let _ = sender.task.await;
    receiver.abort();

    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[index]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("Client: two live clients (SQLCipher profiles) through one release relay");
    println!(
        "  send → stored at the recipient, one at a time ({} messages): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        ms(percentile(0.50)),
        ms(percentile(0.99)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO)),
    );
    println!(
        "  burst of {} messages: {:.1} s, {:.0} messages/s (first send → last stored)",
        cli.burst,
        burst.as_secs_f64(),
        cli.burst as f64 / burst.as_secs_f64()
    );
    println!(
        "  CPU over both runs: clients {:.1} s, relay {:.1} s; load average {load_before} before, {load_after} after",
        bench_cpu.as_secs_f64(),
        relay_cpu.as_secs_f64()
    );
    Ok(())
}

/// A profile in its own directory: SQLCipher store, live runtime.
fn client(dir: &std::path::Path, name: &str) -> Result<Runtime<SqlCipherStore>> {
    std::fs::create_dir_all(dir)?;
    let store = SqlCipherStore::create(&dir.join("profile.db"), &Passphrase::new("bench"))
        .map_err(|e| anyhow::anyhow!("creating the profile database: {e}"))?;
    let core = Core::create(store, &mut OsRng, Profile::new(name, None)?)?;
    Ok(Runtime::new(core, RuntimeOptions::new(Mode::Live)))
}

/// Two profiles connected by an invitation; Alice's id for Bob.
async fn connect(
    root: &std::path::Path,
    relay: &RelayAddress,
) -> Result<(Runtime<SqlCipherStore>, Runtime<SqlCipherStore>, ChatId)> {
    let mut alice = client(&root.join("alice"), "Alice")?;
    let mut bob = client(&root.join("bob"), "Bob")?;
    alice
        .core_mut()
        .create_invitation(now_millis(), &mut OsRng, relay)?;
    let link = loop {
        if let Event::InvitationReady { link, .. } = alice.next_event().await? {
            break link;
        }
    };
    bob.core_mut()
        .connect(now_millis(), &mut OsRng, &link, relay)?;
    let deadline = Duration::from_secs(60);
    let alice_bob = tokio::time::timeout(deadline, async {
        let mut alice_bob = None;
        let mut bob_connected = false;
        while alice_bob.is_none() || !bob_connected {
            tokio::select! {
                event = alice.next_event() => {
                    if let Event::ContactConnected { chat } = event? {
                        alice_bob = Some(chat.id);
                    }
                }
                event = bob.next_event() => {
                    if let Event::ContactConnected { .. } = event? {
                        bob_connected = true;
                    }
                }
            }
        }
        anyhow::Ok(alice_bob)
    })
    .await
    .context("connecting the two profiles timed out")??
    .context("no contact")?;
    Ok((alice, bob, alice_bob))
}

/// Alice's task: sends what it is told, as fast as the client takes it,
/// and keeps her client running (answers, delivery receipts).
fn spawn_sender(
    mut alice: Runtime<SqlCipherStore>,
    contact: ChatId,
    text_size: usize,
) -> ClientTask {
    let (orders, mut received) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut left = 0usize;
        let mut sent = 0usize;
        loop {
            tokio::select! {
                biased;
                order = received.recv() => match order {
                    Some(Order::Send(n)) => left += n,
                    None => return Ok(()),
                },
                event = alice.next_event() => { event?; }
                () = std::future::ready(()), if left > 0 => {
                    let mut text = format!("message {sent} ");
                    text.extend(std::iter::repeat_n('x', text_size.saturating_sub(text.len())));
                    alice
                        .core_mut()
                        .send_text(now_millis(), &mut OsRng, contact, &text, None)?;
                    sent += 1;
                    left -= 1;
                }
            }
        }
    });
    ClientTask { orders, task }
}

/// Bob's task: reports the instant each message is stored in his database.
fn spawn_receiver(
    mut bob: Runtime<SqlCipherStore>,
    stored: mpsc::UnboundedSender<Instant>,
) -> JoinHandle<Result<()>> {
    tokio::spawn(async move {
        loop {
            // The event comes once the message's batch is committed.
            if let Event::ItemAdded { item, .. } = bob.next_event().await?
                && item.direction == MessageDirection::Incoming
                && stored.send(Instant::now()).is_err()
            {
                return Ok(());
            }
        }
    })
}
