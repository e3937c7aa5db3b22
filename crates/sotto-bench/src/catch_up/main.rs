//! `sotto-catch-up-bench`: a profile comes back online to messages that
//! waited for it. Through a release `sotto-relay` process, `--contacts`
//! profiles (real SQLCipher databases, real `sotto_client::Runtime`s) each
//! connect to the receiving profile by a one-time invitation; the receiver
//! goes offline (its database closed); every contact sends
//! `--per-contact` texts, all accepted by the relay; then the receiver's
//! database is opened again and a live runtime started on it, and the clock
//! runs until the last of the messages is stored and its `MessageReceived`
//! event handed out (the event comes once the message's transaction is
//! committed, so "shown" implies "stored").
//!
//! Each run starts from a fresh relay and fresh profiles; the summary gives
//! every run and the median. The receiver's store is wrapped in a timer
//! (`timed_store`) so that the summary says how much of the catch-up went to
//! database reads and commits; `--perf FILE` records a CPU profile of this
//! process during the last run's catch-up (only the receiver runs in it
//! then) with `perf record`.
//!
//! With `--for-web`, each run stops before the catch-up: the offline
//! receiver is written as an export archive and the relay's data directory
//! kept, with what it takes to start the relay again on the same port
//! (`web-catch-up.json`), for the web client's catch-up benchmark
//! (`web/e2e/bench-catch-up.mjs`), which imports the archive in a browser and
//! times the same catch-up there.

mod timed_store;

#[allow(dead_code)]
#[path = "../relay_process.rs"]
mod relay_process;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use rand::rngs::OsRng;
use sotto_client::runtime::now_millis;
use sotto_client::{Mode, Runtime, RuntimeOptions};
use sotto_core::{Argon2Params, ChatId, Core, Event, MessageDirection, Passphrase, Profile};
use sotto_store::SqlCipherStore;
use sotto_wire::RelayAddress;
use tokio::sync::{mpsc, oneshot};

use relay_process::{RelayProcess, cpu_time, default_relay_binary, load_average};
use timed_store::{StoreTimes, TimedStore};

/// Measures how long a profile takes to catch up with the messages that
/// waited for it on a release `sotto-relay`. Progress goes to stderr, the
/// summary to stdout.
#[derive(Debug, Parser)]
#[command(name = "sotto-catch-up-bench", version)]
struct Cli {
    /// The relay binary. [default: `sotto-relay` next to this executable]
    #[arg(long, value_name = "PATH")]
    relay: Option<PathBuf>,

    /// Contacts of the receiving profile, each sending while it is offline.
    #[arg(long, value_name = "N", default_value_t = 50)]
    contacts: usize,

    /// Texts each contact sends.
    #[arg(long, value_name = "N", default_value_t = 200)]
    per_contact: usize,

    /// Bytes of each text.
    #[arg(long, value_name = "BYTES", default_value_t = 100)]
    text_size: usize,

    /// Runs, each from a fresh relay and fresh profiles; the median is
    /// reported.
    #[arg(long, value_name = "N", default_value_t = 3)]
    runs: usize,

    /// Records a CPU profile of the last run's catch-up to this file
    /// (`perf record -F 499 --call-graph dwarf` on this process: the release
    /// build has no frame pointers).
    #[arg(long, value_name = "FILE")]
    perf: Option<PathBuf>,

    /// Where the runs' profiles and relay data go (kept afterwards).
    /// [default: a temporary directory, removed afterwards]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,

    /// Stops each run before the catch-up and leaves, in `DIR/run-N`, the
    /// offline receiver as an export archive (`receiver.sotto`, passphrase
    /// "catch-up benchmark"), the relay's data (`relay/`) and how to start it
    /// again (`web-catch-up.json`), for the web client's catch-up benchmark.
    /// Needs --dir.
    #[arg(long, requires = "dir", conflicts_with = "perf")]
    for_web: bool,
}

/// Cheap Argon2id parameters for the senders' databases, which only need to
/// exist; the receiver's uses the default, like a real profile.
const SENDER_KDF: Argon2Params = Argon2Params {
    memory_kib: 256,
    iterations: 1,
    lanes: 1,
};

const PASSPHRASE: &str = "catch-up benchmark";

/// What one run measured.
struct RunResult {
    /// Opening the receiver's database and core (Argon2id included).
    open: Duration,
    /// Runtime started → last `MessageReceived`.
    catch_up: Duration,
    store: StoreTimes,
    /// CPU time of this process (the receiver alone) and of the relay over
    /// the catch-up.
    receiver_cpu: Duration,
    relay_cpu: Duration,
    /// Events handed out during the catch-up, by kind.
    received: usize,
    other_events: usize,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.text_size == 0 || cli.text_size > 10_000 {
        bail!("--text-size must be 1 to 10000 bytes");
    }
    if cli.contacts == 0 || cli.per_contact == 0 || cli.runs == 0 {
        bail!("--contacts, --per-contact and --runs must be at least 1");
    }
    let relay_binary = match &cli.relay {
        Some(path) => path.clone(),
        None => default_relay_binary()?,
    };
    let temporary;
    let root = match &cli.dir {
        Some(dir) => dir.clone(),
        None => {
            temporary = tempfile::tempdir().context("creating a temporary directory")?;
            temporary.path().to_owned()
        }
    };
    let load_before = load_average();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut results = Vec::new();
    for run in 0..cli.runs {
        let dir = root.join(format!("run-{run}"));
        let perf = cli.perf.as_deref().filter(|_| run + 1 == cli.runs);
        let Some(result) = runtime.block_on(one_run(&cli, &relay_binary, &dir, perf))? else {
            eprintln!(
                "run {}: the offline receiver and the relay's data are in {}",
                run + 1,
                dir.display()
            );
            continue;
        };
        eprintln!(
            "run {}: {} messages in {:.2} s ({:.0}/s), open {:.2} s",
            run + 1,
            result.received,
            result.catch_up.as_secs_f64(),
            result.received as f64 / result.catch_up.as_secs_f64(),
            result.open.as_secs_f64(),
        );
        results.push(result);
        if cli.dir.is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    if !cli.for_web {
        summary(&cli, &results, &load_before);
    }
    Ok(())
}

/// Prints every run and the median run.
fn summary(cli: &Cli, results: &[RunResult], load_before: &str) {
    let total = cli.contacts * cli.per_contact;
    println!(
        "Catch-up: {total} messages from {} contacts ({} each, {}-byte texts) waiting on one release relay",
        cli.contacts, cli.per_contact, cli.text_size
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let per_message = |d: Duration| d.as_secs_f64() * 1e6 / total as f64;
    for (index, r) in results.iter().enumerate() {
        println!(
            "  run {}: {:.2} s, {:.0} messages/s; open {:.0} ms; CPU per message: receiver {:.0} µs, relay {:.0} µs; other events {}",
            index + 1,
            r.catch_up.as_secs_f64(),
            r.received as f64 / r.catch_up.as_secs_f64(),
            ms(r.open),
            per_message(r.receiver_cpu),
            per_message(r.relay_cpu),
            r.other_events,
        );
        println!(
            "    store, per message: batches applied {:.0} µs ({:.2} per message, {:.1} writes each), commits {:.0} µs ({:.3} per message, {:.2} ms each), reads {:.0} µs ({:.1} per message); fsyncs beside: {} of {:.2} ms",
            per_message(r.store.applies.time),
            r.store.applies.calls as f64 / total as f64,
            r.store.writes as f64 / r.store.applies.calls.max(1) as f64,
            per_message(r.store.syncs.time),
            r.store.syncs.calls as f64 / total as f64,
            ms(r.store.syncs.time) / r.store.syncs.calls.max(1) as f64,
            per_message(r.store.reads.time),
            r.store.reads.calls as f64 / total as f64,
            r.store.background.calls,
            ms(r.store.background.time) / r.store.background.calls.max(1) as f64,
        );
    }
    let mut order: Vec<&RunResult> = results.iter().collect();
    order.sort_by_key(|r| r.catch_up);
    if let Some(median) = order.get(order.len() / 2) {
        println!(
            "  median of {} runs: {:.2} s, {:.0} messages/s (runtime started → last message stored and its event handed out)",
            results.len(),
            median.catch_up.as_secs_f64(),
            total as f64 / median.catch_up.as_secs_f64(),
        );
    }
    println!(
        "  load average {load_before} before, {} after",
        load_average()
    );
}

/// The relay's options besides its address and data: room for every
/// message on one queue, and its rate limits out of the way.
const RELAY_OPTIONS: [&str; 6] = [
    "--queue-quota",
    "100000",
    "--rate-limit",
    "10000000",
    "--rate-burst",
    "10000000",
];

/// One run: fresh relay, fresh profiles, contacts connected, messages sent
/// while the receiver is offline, then the measured catch-up (none with
/// `--for-web`: see [`leave_for_web`]).
async fn one_run(
    cli: &Cli,
    relay_binary: &Path,
    dir: &Path,
    perf: Option<&Path>,
) -> Result<Option<RunResult>> {
    std::fs::create_dir_all(dir)?;
    let relay_options: Vec<String> = RELAY_OPTIONS
        .iter()
        .map(|&option| option.to_owned())
        .collect();
    let relay = RelayProcess::start(relay_binary, &dir.join("relay"), &relay_options)?;
    eprintln!("relay at {}", relay.address);

    let receiver_path = dir.join("receiver").join("profile.db");
    std::fs::create_dir_all(dir.join("receiver"))?;
    let store = SqlCipherStore::create(&receiver_path, &Passphrase::new(PASSPHRASE))
        .map_err(|e| anyhow::anyhow!("creating the receiver's database: {e}"))?;
    let core = Core::create(store, &mut OsRng, Profile::new("Receiver", None)?)?;
    let mut receiver = Runtime::new(core, RuntimeOptions::new(Mode::Live));

    eprintln!("connecting {} contacts…", cli.contacts);
    let started = Instant::now();
    let senders = connect_contacts(cli, dir, &relay.address, &mut receiver).await?;
    // Whatever the receiver still had to send goes out before it leaves.
    receiver.run_until_idle(Duration::from_secs(30)).await?;
    drop(receiver.into_core());
    eprintln!(
        "connected in {:.1} s; the receiver is offline",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut done = Vec::new();
    for sender in senders {
        let _ = sender.send.send(());
        done.push(sender.done);
    }
    for done in done {
        done.await.context("a sender's task ended")??;
    }
    let total = cli.contacts * cli.per_contact;
    eprintln!(
        "{total} messages sent and accepted by the relay in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    if cli.for_web {
        // The relay stops; the browser's run starts it again on its data.
        let address = relay.address.clone();
        drop(relay);
        leave_for_web(cli, dir, &receiver_path, &address)?;
        return Ok(None);
    }

    // The receiver comes back.
    let started = Instant::now();
    let store = SqlCipherStore::open(&receiver_path, &Passphrase::new(PASSPHRASE))
        .map_err(|e| anyhow::anyhow!("opening the receiver's database: {e}"))?;
    let core = Core::open(TimedStore::new(store))?;
    let open = started.elapsed();
    let mut receiver = Runtime::new(core, RuntimeOptions::new(Mode::Live));
    let profiler = perf.map(start_perf).transpose()?;
    let cpu_before = cpu_time("self")?;
    let relay_cpu_before = relay.cpu_time()?;
    let started = Instant::now();
    let mut received = 0usize;
    let mut other_events = 0usize;
    let deadline = Duration::from_secs(600);
    tokio::time::timeout(deadline, async {
        while received < total {
            match receiver.next_event().await? {
                Event::ItemAdded { item, .. } if item.direction == MessageDirection::Incoming => {
                    received += 1;
                }
                other => {
                    other_events += 1;
                    if other_events <= 3 {
                        eprintln!("event: {other:?}");
                    }
                }
            }
        }
        anyhow::Ok(())
    })
    .await
    .context("the catch-up timed out")??;
    let catch_up = started.elapsed();
    let receiver_cpu = cpu_time("self")? - cpu_before;
    let relay_cpu = relay.cpu_time()? - relay_cpu_before;
    if let Some(profiler) = profiler {
        stop_perf(profiler)?;
    }
    let store = receiver.core().store().take();

    // Every message is in the database: the contact list's unread counts.
    let unread: u64 = receiver
        .core()
        .chats()?
        .iter()
        .map(|contact| u64::from(contact.unread))
        .sum();
    if unread != total as u64 {
        bail!("{unread} messages stored unread, expected {total}");
    }
    Ok(Some(RunResult {
        open,
        catch_up,
        store,
        receiver_cpu,
        relay_cpu,
        received,
        other_events,
    }))
}

/// Writes the offline receiver's database as an export archive
/// (`receiver.sotto`, under [`PASSPHRASE`] with the default Argon2id
/// parameters, as a browser imports it) and `web-catch-up.json`: the relay's
/// address, how to start it again on the same port over `relay/`, the
/// archive, its passphrase and the messages waiting.
fn leave_for_web(cli: &Cli, dir: &Path, receiver_path: &Path, relay: &RelayAddress) -> Result<()> {
    let store = SqlCipherStore::open(receiver_path, &Passphrase::new(PASSPHRASE))
        .map_err(|e| anyhow::anyhow!("opening the receiver's database: {e}"))?;
    let archive_path = dir.join("receiver.sotto");
    let mut archive = std::fs::File::create(&archive_path)
        .with_context(|| format!("creating {}", archive_path.display()))?;
    store
        .export_archive(&mut archive, &Passphrase::new(PASSPHRASE))
        .map_err(|e| anyhow::anyhow!("exporting the receiver: {e}"))?;
    archive.sync_all()?;
    let quoted = |text: &str| format!("{text:?}");
    let options: Vec<String> = RELAY_OPTIONS.iter().map(|option| quoted(option)).collect();
    let description = format!(
        "{{\n  \"relay\": {},\n  \"listen\": {},\n  \"data\": \"relay\",\n  \"relayOptions\": [{}],\n  \"archive\": \"receiver.sotto\",\n  \"passphrase\": {},\n  \"contacts\": {},\n  \"messages\": {}\n}}\n",
        quoted(&relay.to_string()),
        quoted(&format!("127.0.0.1:{}", relay.port)),
        options.join(", "),
        quoted(PASSPHRASE),
        cli.contacts,
        cli.contacts * cli.per_contact,
    );
    std::fs::write(dir.join("web-catch-up.json"), description)?;
    // The senders' profiles served their purpose (about 3 MiB each).
    for index in 0..cli.contacts {
        let _ = std::fs::remove_dir_all(dir.join(format!("sender-{index}")));
    }
    Ok(())
}

/// A sending contact's task: connected, waiting for the order to send.
struct Sender {
    send: oneshot::Sender<()>,
    done: oneshot::Receiver<Result<()>>,
}

/// Creates one invitation per contact at the receiver, and a sending
/// profile that accepts each; returns once every contact is connected on
/// both sides.
async fn connect_contacts(
    cli: &Cli,
    dir: &Path,
    relay: &RelayAddress,
    receiver: &mut Runtime<SqlCipherStore>,
) -> Result<Vec<Sender>> {
    for _ in 0..cli.contacts {
        receiver
            .core_mut()
            .create_invitation(now_millis(), &mut OsRng, relay)?;
    }
    let (connected_tx, mut connected) = mpsc::unbounded_channel::<Result<()>>();
    let mut senders = Vec::new();
    let mut receiver_connected = 0usize;
    let mut senders_connected = 0usize;
    let deadline = Duration::from_secs(300);
    tokio::time::timeout(deadline, async {
        while receiver_connected < cli.contacts || senders_connected < cli.contacts {
            tokio::select! {
                event = receiver.next_event() => match event? {
                    Event::InvitationReady { link, .. } => {
                        let index = senders.len();
                        let runtime = sender_profile(&dir.join(format!("sender-{index}")), index)?;
                        senders.push(spawn_sender(
                            runtime,
                            link,
                            relay.clone(),
                            index,
                            cli.per_contact,
                            cli.text_size,
                            connected_tx.clone(),
                        ));
                    }
                    Event::ContactConnected { .. } => receiver_connected += 1,
                    _ => {}
                },
                report = connected.recv() => {
                    report.context("a sender's task ended")??;
                    senders_connected += 1;
                }
            }
        }
        anyhow::Ok(())
    })
    .await
    .context("connecting the contacts timed out")??;
    Ok(senders)
}

/// A sending contact's profile: its own SQLCipher database, live runtime.
fn sender_profile(dir: &Path, index: usize) -> Result<Runtime<SqlCipherStore>> {
    std::fs::create_dir_all(dir)?;
    let store = SqlCipherStore::create_with_params(
        &dir.join("profile.db"),
        &Passphrase::new(PASSPHRASE),
        SENDER_KDF,
    )
    .map_err(|e| anyhow::anyhow!("creating a sender's database: {e}"))?;
    let core = Core::create(
        store,
        &mut OsRng,
        Profile::new(&format!("Sender {index}"), None)?,
    )?;
    Ok(Runtime::new(core, RuntimeOptions::new(Mode::Live)))
}

/// The sender's task: accepts the invitation, reports when connected, then,
/// when told, sends its texts and reports once the relay has accepted every
/// one of them (its outbox is empty), and stops.
fn spawn_sender(
    mut runtime: Runtime<SqlCipherStore>,
    link: String,
    relay: RelayAddress,
    index: usize,
    count: usize,
    text_size: usize,
    connected: mpsc::UnboundedSender<Result<()>>,
) -> Sender {
    let (send_tx, send) = oneshot::channel();
    let (done, done_rx) = oneshot::channel();
    tokio::spawn(async move {
        let contact = match sender_connect(&mut runtime, &link, &relay).await {
            Ok(contact) => {
                let _ = connected.send(Ok(()));
                contact
            }
            Err(error) => {
                let _ = connected.send(Err(error));
                return;
            }
        };
        let _ = done.send(sender_send(runtime, send, contact, index, count, text_size).await);
    });
    Sender {
        send: send_tx,
        done: done_rx,
    }
}

async fn sender_connect(
    runtime: &mut Runtime<SqlCipherStore>,
    link: &str,
    relay: &RelayAddress,
) -> Result<ChatId> {
    runtime
        .core_mut()
        .connect(now_millis(), &mut OsRng, link, relay)?;
    loop {
        if let Event::ContactConnected { chat } = runtime.next_event().await? {
            return Ok(chat.id);
        }
    }
}

async fn sender_send(
    mut runtime: Runtime<SqlCipherStore>,
    send: oneshot::Receiver<()>,
    contact: ChatId,
    index: usize,
    count: usize,
    text_size: usize,
) -> Result<()> {
    // Keep the client running (the receiver's last handshake messages) until
    // told to send.
    tokio::pin!(send);
    loop {
        tokio::select! {
            order = &mut send => { order.context("the order to send never came")?; break; }
            event = runtime.next_event() => { event?; }
        }
    }
    for i in 0..count {
        let mut text = format!("message {i} from contact {index} ");
        text.extend(std::iter::repeat_n(
            'x',
            text_size.saturating_sub(text.len()),
        ));
        runtime
            .core_mut()
            .send_text(now_millis(), &mut OsRng, contact, &text, None)?;
    }
    loop {
        runtime.run_until_idle(Duration::from_secs(120)).await?;
        if runtime.core().is_idle(now_millis()) {
            return Ok(());
        }
    }
}

/// `perf record` on this process, until [`stop_perf`].
fn start_perf(out: &Path) -> Result<Child> {
    let child = Command::new("perf")
        .args(["record", "-F", "499", "--call-graph", "dwarf,32768", "-p"])
        .arg(std::process::id().to_string())
        .arg("-o")
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("starting perf")?;
    // perf needs a moment to attach.
    std::thread::sleep(Duration::from_millis(500));
    Ok(child)
}

fn stop_perf(mut child: Child) -> Result<()> {
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .context("stopping perf")?;
    child.wait().context("waiting for perf")?;
    Ok(())
}
