//! `sotto-groups-bench`: a group of 100, 1,000 (and, with `--members`,
//! 10,000) members over a release `sotto-relay` process.
//!
//! The owner and `--cores` members (the observers) are full client cores,
//! each on its own SQLCipher profile, reading the log over their own
//! connections; every other member is a connection of its own that
//! subscribes to the log with the members' read credentials and counts
//! what the relay pushes (a full core per member would not fit the machine
//! at 10,000: each holds the whole ratchet tree). The group is set up with
//! one commit adding everyone, merged without the log, and a welcome that
//! lacks the tree (the core's `dangerous-testing` shortcuts); everything
//! measured then goes through the cores' own calls and the relay:
//!
//! - a text: the owner encrypts it (send), appends it once (GAPP, upload),
//!   the relay pushes it to every member (fan-out: from the GAPP to the last
//!   push received, and the relay's CPU time), each observer processes it
//!   (receive);
//! - receipts: each observer reads the texts and appends its receipts; the
//!   owner processes them;
//! - adding a member (commit made by the owner, processed by the
//!   observers), the new member processing its welcome (tree included),
//!   and removing that member (commit made, processed);
//! - storage: the relay's data directory and its memory per subscribed
//!   member, an observer's profile per member.
//!
//! A group whose state no core can store (the owner's store refuses it)
//! is measured on the relay's side only: the owner appends opaque entries
//! of the same size, pushed to every subscribed member.
//!
//! Every step a core takes is timed until its store is synced (the
//! runtime hands out nothing before). Times are medians over the texts
//! and the rounds; CPU time is the
//! calling thread's (`CLOCK_THREAD_CPUTIME_ID`) for the cores, the
//! relay process's for the fan-out. Progress goes to stderr, tables to
//! stdout.

#[allow(dead_code)]
#[path = "../relay_process.rs"]
mod relay_process;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use rand::rngs::OsRng;
use sotto_client::relay::{
    ConnectOptions, GroupAdmin, GroupReader, GroupWriter, Push, RelayConnection,
};
use sotto_core::{
    Argon2Params, ChatId, Core, CoreError, GroupLog, GroupSend, GroupUpdate, Passphrase, Profile,
    UnixMillis,
};
use sotto_groups::{DisplayName, KeyPackage, PendingJoin};
use sotto_store::SqlCipherStore;
use sotto_wire::{GroupEntry, RelayAddress};
use tokio::runtime::Runtime;
use tokio::sync::{Semaphore, mpsc};

use relay_process::{RelayProcess, default_relay_binary, load_average, mib};

/// Benchmarks a group over a release `sotto-relay`: a text's send, fan-out
/// and receive, receipts, adding and removing a member, a new member's
/// welcome, and storage, at each group size.
#[derive(Debug, Parser)]
#[command(name = "sotto-groups-bench", version)]
struct Cli {
    /// The relay binary. [default: `sotto-relay` next to this executable]
    #[arg(long, value_name = "PATH")]
    relay: Option<PathBuf>,

    /// Group sizes, members counting the owner. A group whose state no
    /// core can store is measured on the relay's side only, with opaque
    /// entries (10,000 members take about a minute and a quarter with
    /// `--cores 1 --texts 3 --rounds 1`).
    #[arg(long, value_name = "N,...", value_delimiter = ',', default_values_t = [100, 1000])]
    members: Vec<usize>,

    /// Members that are full client cores besides the owner (the rest are
    /// subscribed connections).
    #[arg(long, value_name = "N", default_value_t = 3)]
    cores: usize,

    /// Texts sent at each size.
    #[arg(long, value_name = "N", default_value_t = 5)]
    texts: usize,

    /// Rounds of adding, joining and removing a member at each size.
    #[arg(long, value_name = "N", default_value_t = 3)]
    rounds: usize,
}

/// The relay's limits moved out of the way: one process holds every
/// member's connection, from one address.
const RELAY_OPTIONS: [&str; 10] = [
    "--max-connections",
    "20000",
    "--max-connections-per-ip",
    "20000",
    "--rate-limit",
    "10000000",
    "--rate-burst",
    "10000000",
    "--queue-quota",
    "100000",
];

const PASSPHRASE: &str = "groups benchmark";
/// Cheap key derivation for the benchmark's profiles (opening a profile is
/// not measured here).
const KDF: Argon2Params = Argon2Params {
    memory_kib: 256,
    iterations: 1,
    lanes: 1,
};
const WEEK_SECS: u64 = 7 * 24 * 3600;
const GROUP_NAME: &str = "Bench";

fn main() -> Result<()> {
    let cli = Cli::parse();
    let relay_binary = match &cli.relay {
        Some(path) => path.clone(),
        None => default_relay_binary()?,
    };
    if cli.cores == 0 || cli.texts == 0 || cli.rounds == 0 {
        bail!("--cores, --texts and --rounds must be at least 1");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    eprintln!("load average before: {}", load_average());
    let mut results = Vec::new();
    for &members in &cli.members {
        if members < cli.cores + 2 {
            bail!("a group of {members} is too small for {} cores", cli.cores);
        }
        let dir = tempfile::tempdir()?;
        let started = Instant::now();
        let result = run(&cli, &runtime, &relay_binary, dir.path(), members)?;
        eprintln!(
            "{members} members: done in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        results.push(result);
    }
    eprintln!("load average after: {}", load_average());
    summary(&results);
    Ok(())
}

/// A wall time and the CPU time of the thread that spent it.
#[derive(Clone, Copy, Debug, Default)]
struct Cost {
    wall: Duration,
    cpu: Duration,
}

/// Times `f` on this thread.
fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, Cost)> {
    let cpu = thread_cpu()?;
    let started = Instant::now();
    let value = f()?;
    let cost = Cost {
        wall: started.elapsed(),
        cpu: thread_cpu()?.saturating_sub(cpu),
    };
    Ok((value, cost))
}

/// CPU time of the calling thread, to the nanosecond (the clock, unlike
/// `/proc/thread-self/schedstat`, counts the running slice too).
fn thread_cpu() -> Result<Duration> {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Ok(Duration::new(
        u64::try_from(now.tv_sec)?,
        u32::try_from(now.tv_nsec)?,
    ))
}

fn now() -> UnixMillis {
    sotto_client::runtime::now_millis()
}

fn median<T: Ord + Copy>(values: &[T]) -> T {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

/// Appends a message's entries in order (a long commit spans several):
/// their sequence numbers.
fn append_all(
    runtime: &tokio::runtime::Runtime,
    connection: &RelayConnection,
    writer: &GroupWriter,
    entries: &[GroupEntry],
) -> Result<Vec<u64>> {
    entries
        .iter()
        .map(|entry| Ok(runtime.block_on(connection.append_group_entry(writer, entry.clone()))?))
        .collect()
}

/// Processes a message's entries at their sequence numbers and syncs the
/// store: what the last entry did.
fn handle_all<S: sotto_core::Store>(
    core: &mut Core<S>,
    chat: ChatId,
    seqs: &[u64],
    entries: &[GroupEntry],
) -> Result<GroupUpdate> {
    let mut update = GroupUpdate::default();
    for (seq, entry) in seqs.iter().zip(entries) {
        update = core.handle_group_entry(now(), &mut OsRng, chat, *seq, entry)?;
    }
    core.sync()?;
    Ok(update)
}

fn median_cost(costs: &[Cost]) -> Cost {
    Cost {
        wall: median(&costs.iter().map(|c| c.wall).collect::<Vec<_>>()),
        cpu: median(&costs.iter().map(|c| c.cpu).collect::<Vec<_>>()),
    }
}

/// What one group size measured.
#[derive(Debug, Default)]
struct SizeResult {
    members: usize,
    /// Why no core could hold the group, if none could.
    core_limit: Option<String>,
    setup: Duration,
    send: Cost,
    upload: Duration,
    fan_out: Duration,
    relay_cpu_per_text: Duration,
    pushes_per_text: usize,
    relay_pushes_per_text: usize,
    appends_per_text: usize,
    receive: Cost,
    own_back: Cost,
    /// A member's view of the group's chat (`Core::chat`: the chat list's
    /// entry, which front ends read again with each change).
    chat_view: Cost,
    receipt_entries_per_member: usize,
    delivered_entries_per_member: usize,
    receipt_at_owner: Cost,
    receipt_at_member: Cost,
    add_commit: Cost,
    add_confirm: Cost,
    add_process: Cost,
    welcome: Cost,
    welcome_bytes: usize,
    remove_commit: Cost,
    remove_confirm: Option<Cost>,
    remove_process: Option<Cost>,
    remove_too_long: bool,
    /// The entries the removal's commit spans.
    remove_entries: usize,
    relay_disk: u64,
    relay_entries: u64,
    relay_rss_per_member: f64,
    profile_bytes: u64,
}

/// A full member: its core and its connection's pushes.
struct Member {
    core: Core<SqlCipherStore>,
    chat: ChatId,
    pushes: mpsc::Receiver<Push>,
    _connection: RelayConnection,
    path: PathBuf,
}

fn profile(dir: &Path, name: &str) -> Result<(Core<SqlCipherStore>, PathBuf)> {
    let home = dir.join(name);
    std::fs::create_dir_all(&home)?;
    let path = home.join("profile.db");
    let store = SqlCipherStore::create_with_params(&path, &Passphrase::new(PASSPHRASE), KDF)
        .map_err(|e| anyhow::anyhow!("creating a profile: {e}"))?;
    let core = Core::create(store, &mut OsRng, Profile::new(name, None)?)?;
    Ok((core, path))
}

fn pseudonym(name: &str) -> Result<(PendingJoin, KeyPackage)> {
    let now_secs = now().0 / 1000;
    Ok(PendingJoin::new(
        &DisplayName::new(name)?,
        now_secs,
        WEEK_SECS,
    )?)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Waits for the push of the entry at `seq` on a full member's connection.
async fn pushed(pushes: &mut mpsc::Receiver<Push>, seq: u64) -> Result<GroupEntry> {
    loop {
        match tokio::time::timeout(Duration::from_secs(120), pushes.recv()).await {
            Ok(Some(Push::GroupEntry {
                seq: pushed, entry, ..
            })) if pushed == seq => return Ok(entry),
            Ok(Some(_)) => {}
            Ok(None) => bail!("a member's connection closed"),
            Err(_) => bail!("no push of entry {seq} within 2 minutes"),
        }
    }
}

/// The members that are subscribed connections only: each reports the
/// sequence number of every entry pushed to it.
struct Subscribed {
    count: usize,
    arrivals: mpsc::UnboundedReceiver<u64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The relay's resident memory per subscribed connection.
    rss_per_member: f64,
}

impl Subscribed {
    fn start(
        runtime: &Runtime,
        relay: &RelayProcess,
        reader: &GroupReader,
        count: usize,
    ) -> Result<Subscribed> {
        let rss_before = relay.rss()?;
        let (sender, arrivals) = mpsc::unbounded_channel();
        let tasks = runtime.block_on(subscribers(&relay.address, reader, count, sender))?;
        std::thread::sleep(Duration::from_secs(1));
        let rss_per_member = relay.rss()?.saturating_sub(rss_before) as f64 / count.max(1) as f64;
        Ok(Subscribed {
            count,
            arrivals,
            tasks,
            rss_per_member,
        })
    }

    /// Waits until every subscribed connection got the entry at `seq`;
    /// `others` members reached already count too. How many were reached.
    async fn wait(&mut self, seq: u64, others: usize) -> Result<usize> {
        let mut reached = 0;
        while reached < self.count {
            match tokio::time::timeout(Duration::from_secs(120), self.arrivals.recv()).await {
                Ok(Some(arrived)) if arrived == seq => reached += 1,
                Ok(Some(_)) => {}
                _ => bail!("{reached} of {} connections got entry {seq}", self.count),
            }
        }
        Ok(reached + others)
    }

    fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

async fn subscribers(
    address: &RelayAddress,
    reader: &GroupReader,
    count: usize,
    arrivals: mpsc::UnboundedSender<u64>,
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let options = ConnectOptions {
        push_capacity: 16,
        read_buffer_size: sotto_wire::BLOCK_SIZE,
        ..ConnectOptions::default()
    };
    let limit = Arc::new(Semaphore::new(32));
    let mut connecting = Vec::new();
    for _ in 0..count {
        let (address, options, reader, limit) = (
            address.clone(),
            options.clone(),
            reader.clone(),
            limit.clone(),
        );
        connecting.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let (connection, pushes) = RelayConnection::connect(&address, &options).await?;
            connection.subscribe_group_log(&reader).await?;
            anyhow::Ok((connection, pushes))
        }));
    }
    let mut tasks = Vec::new();
    for connecting in connecting {
        let (connection, mut pushes) = connecting.await??;
        let arrivals = arrivals.clone();
        tasks.push(tokio::spawn(async move {
            let _connection = connection;
            while let Some(push) = pushes.recv().await {
                if let Push::GroupEntry { seq, .. } = push
                    && arrivals.send(seq).is_err()
                {
                    break;
                }
            }
        }));
    }
    Ok(tasks)
}

fn run(
    cli: &Cli,
    runtime: &Runtime,
    relay_binary: &Path,
    dir: &Path,
    members: usize,
) -> Result<SizeResult> {
    let mut result = SizeResult {
        members,
        ..SizeResult::default()
    };
    let options: Vec<String> = RELAY_OPTIONS.iter().map(|&o| o.to_owned()).collect();
    let relay_dir = dir.join("relay");
    let relay = RelayProcess::start(relay_binary, &relay_dir, &options)?;
    eprintln!("{members} members: relay at {}", relay.address);
    let setup = Instant::now();

    // The owner creates the group on a new log.
    let (mut owner, _) = profile(dir, "owner")?;
    let (connection, mut owner_pushes) = runtime.block_on(RelayConnection::connect(
        &relay.address,
        &ConnectOptions::default(),
    ))?;
    let created = runtime.block_on(connection.create_group_log(None))?;
    let log = GroupLog {
        relay: relay.address.clone(),
        admin: Some((created.admin.admin_id(), created.admin.auth_key().clone())),
        write: (created.writer.write_id(), created.writer.auth_key().clone()),
        read: (created.reader.read_id(), created.reader.auth_key().clone()),
    };
    let admin: GroupAdmin = created.admin.clone();
    let chat = owner.create_group(now(), GROUP_NAME, log.clone())?;
    runtime.block_on(connection.subscribe_group_log(&created.reader))?;

    // Everyone else joins in one commit.
    let mut observers = Vec::new();
    let mut key_packages = Vec::new();
    for index in 0..cli.cores {
        let (pending, key_package) = pseudonym(&format!("observer {index}"))?;
        observers.push(pending);
        key_packages.push(key_package);
    }
    for index in cli.cores..members - 1 {
        key_packages.push(pseudonym(&format!("member {index}"))?.1);
    }
    eprintln!(
        "{members} members: {} key packages in {:.1} s",
        key_packages.len(),
        setup.elapsed().as_secs_f64()
    );
    let added = owner.dangerous_add_group_members_at_once(now(), chat, &key_packages);
    drop(key_packages);
    let (welcome, tree) = match added {
        Ok(added) => added,
        // The group's state is longer than one stored record may be: no
        // core holds it; the relay's part is measured with opaque entries.
        Err(CoreError::Store(error)) => {
            eprintln!("{members} members: the owner's core cannot store the group: {error}");
            result.core_limit = Some(error.to_string());
            drop(owner);
            let mut subscribed = Subscribed::start(runtime, &relay, &created.reader, members - 1)?;
            result.relay_rss_per_member = subscribed.rss_per_member;
            result.setup = setup.elapsed();
            eprintln!(
                "{members} members: subscribed; set up in {:.1} s",
                result.setup.as_secs_f64()
            );
            let appends_before =
                runtime.block_on(relay.metric("sotto_group_entries_appended_total"))?;
            let pushes_before =
                runtime.block_on(relay.metric("sotto_group_entries_pushed_total"))?;
            let mut uploads = Vec::new();
            let mut fan_outs = Vec::new();
            let mut relay_cpu = Duration::ZERO;
            for index in 0..cli.texts {
                let mut bytes = vec![0; sotto_wire::GROUP_ENTRY_LEN];
                rand::RngCore::fill_bytes(&mut OsRng, &mut bytes);
                bytes[0] = u8::try_from(index % 256)?;
                let entry = GroupEntry::new(bytes)?;
                let cpu_before = relay.thread_cpu_time()?;
                let started = Instant::now();
                let seq =
                    runtime.block_on(connection.append_group_entry(&created.writer, entry))?;
                uploads.push(started.elapsed());
                result.pushes_per_text = runtime.block_on(subscribed.wait(seq, 0))?;
                fan_outs.push(started.elapsed());
                relay_cpu += relay.thread_cpu_time()?.saturating_sub(cpu_before);
            }
            let appends_after =
                runtime.block_on(relay.metric("sotto_group_entries_appended_total"))?;
            let pushes_after =
                runtime.block_on(relay.metric("sotto_group_entries_pushed_total"))?;
            result.appends_per_text =
                ((appends_after - appends_before) / cli.texts as f64).round() as usize;
            result.relay_pushes_per_text =
                ((pushes_after - pushes_before) / cli.texts as f64).round() as usize;
            result.upload = median(&uploads);
            result.fan_out = median(&fan_outs);
            result.relay_cpu_per_text = relay_cpu / u32::try_from(cli.texts)?;
            result.relay_disk = dir_size(&relay_dir)?;
            result.relay_entries = appends_after.round() as u64;
            subscribed.stop();
            return Ok(result);
        }
        Err(error) => return Err(error.into()),
    };
    eprintln!(
        "{members} members: added in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let member_log = GroupLog {
        admin: None,
        ..log.clone()
    };
    let next_seq = owner.group_cursor(chat)?;
    let mut cores = Vec::new();
    for (index, pending) in observers.iter().enumerate() {
        let (mut core, path) = profile(dir, &format!("observer-{index}"))?;
        let member_chat = core.dangerous_join_group(
            now(),
            pending,
            GROUP_NAME,
            member_log.clone(),
            next_seq,
            &welcome,
            Some(&tree),
        )?;
        let (member_connection, pushes) = runtime.block_on(RelayConnection::connect(
            &relay.address,
            &ConnectOptions::default(),
        ))?;
        runtime.block_on(member_connection.subscribe_group_log(&created.reader))?;
        cores.push(Member {
            core,
            chat: member_chat,
            pushes,
            _connection: member_connection,
            path,
        });
    }
    drop((welcome, tree));
    eprintln!(
        "{members} members: {} observers joined in {:.1} s",
        cores.len(),
        setup.elapsed().as_secs_f64()
    );

    let others = members - 1 - cli.cores;
    let mut subscribed = Subscribed::start(runtime, &relay, &created.reader, others)?;
    result.relay_rss_per_member = subscribed.rss_per_member;
    let subscribed_members = members - 1;
    result.setup = setup.elapsed();
    eprintln!(
        "{members} members: {others} more subscribed; set up in {:.1} s",
        result.setup.as_secs_f64()
    );

    // Texts: sent once, pushed to every member, processed by the observers.
    let writer: GroupWriter = created.writer.clone();
    let mut sends = Vec::new();
    let mut uploads = Vec::new();
    let mut fan_outs = Vec::new();
    let mut relay_cpu = Duration::ZERO;
    let mut receives = Vec::new();
    let mut own_backs = Vec::new();
    let appends_before = runtime.block_on(relay.metric("sotto_group_entries_appended_total"))?;
    let pushes_before = runtime.block_on(relay.metric("sotto_group_entries_pushed_total"))?;
    for index in 0..cli.texts {
        let text = format!("text {index} to the group of {members}");
        let send = GroupSend::Text {
            text: &text,
            reply_to: None,
            mentions: &[],
        };
        let (entry, cost) = timed(|| {
            let entry = owner.group_send(now(), chat, send)?;
            owner.sync()?;
            Ok(entry)
        })?;
        sends.push(cost);
        let cpu_before = relay.thread_cpu_time()?;
        let started = Instant::now();
        let seq = runtime.block_on(connection.append_group_entry(&writer, entry))?;
        uploads.push(started.elapsed());
        let reached = runtime.block_on(async {
            for member in &mut cores {
                let _ = pushed(&mut member.pushes, seq).await?;
            }
            subscribed.wait(seq, cores.len()).await
        })?;
        if reached != subscribed_members {
            bail!("{reached} of {subscribed_members} members got entry {seq}");
        }
        fan_outs.push(started.elapsed());
        relay_cpu += relay.thread_cpu_time()?.saturating_sub(cpu_before);
        result.pushes_per_text = reached;
        // The owner's own text comes back from the log.
        let back = runtime.block_on(pushed(&mut owner_pushes, seq))?;
        let ((), cost) = timed(|| {
            owner.handle_group_entry(now(), &mut OsRng, chat, seq, &back)?;
            owner.sync()?;
            Ok(())
        })?;
        own_backs.push(cost);
        for member in &mut cores {
            let ((), cost) = timed(|| {
                member
                    .core
                    .handle_group_entry(now(), &mut OsRng, member.chat, seq, &back)?;
                member.core.sync()?;
                Ok(())
            })?;
            receives.push(cost);
        }
    }
    let appends_after = runtime.block_on(relay.metric("sotto_group_entries_appended_total"))?;
    let pushes_after = runtime.block_on(relay.metric("sotto_group_entries_pushed_total"))?;
    result.appends_per_text =
        ((appends_after - appends_before) / cli.texts as f64).round() as usize;
    result.relay_pushes_per_text =
        ((pushes_after - pushes_before) / cli.texts as f64).round() as usize;
    result.send = median_cost(&sends);
    result.upload = median(&uploads);
    result.fan_out = median(&fan_outs);
    result.relay_cpu_per_text = relay_cpu / u32::try_from(cli.texts)?;
    result.receive = median_cost(&receives);
    result.own_back = median_cost(&own_backs);
    let mut views = Vec::new();
    for member in &cores {
        for _ in 0..3 {
            let (_, cost) = timed(|| Ok(member.core.chat(member.chat)?))?;
            views.push(cost);
        }
    }
    result.chat_view = median_cost(&views);
    eprintln!("{members} members: texts done");

    // Receipts: each observer read the texts and says so; the owner and the
    // other observers process what they append.
    let mut receipts = Vec::new();
    for member in &mut cores {
        // Delivery receipts owed for the texts processed (none above the
        // group size that sends them), then the read receipts.
        let delivered = member.core.group_receipts(now(), member.chat)?;
        result.delivered_entries_per_member = delivered.len();
        member.core.mark_read(now(), &mut OsRng, member.chat)?;
        let read = member.core.group_receipts(now(), member.chat)?;
        result.receipt_entries_per_member = delivered.len() + read.len();
        receipts.extend(delivered);
        receipts.extend(read);
    }
    let mut at_owner = Vec::new();
    let mut at_member = Vec::new();
    for entry in receipts {
        let seq = runtime.block_on(connection.append_group_entry(&writer, entry))?;
        let entry = runtime.block_on(pushed(&mut owner_pushes, seq))?;
        let ((), cost) = timed(|| {
            owner.handle_group_entry(now(), &mut OsRng, chat, seq, &entry)?;
            owner.sync()?;
            Ok(())
        })?;
        at_owner.push(cost);
        for member in &mut cores {
            let entry = runtime.block_on(pushed(&mut member.pushes, seq))?;
            let ((), cost) = timed(|| {
                member
                    .core
                    .handle_group_entry(now(), &mut OsRng, member.chat, seq, &entry)?;
                member.core.sync()?;
                Ok(())
            })?;
            at_member.push(cost);
        }
    }
    result.receipt_at_owner = median_cost(&at_owner);
    result.receipt_at_member = median_cost(&at_member);
    eprintln!("{members} members: receipts done");

    // Storage, before the rounds change the group.
    result.relay_disk = dir_size(&relay_dir)?;
    result.relay_entries = runtime
        .block_on(relay.metric("sotto_group_entries_appended_total"))?
        .round() as u64;
    // The store writes what it applied once it syncs.
    cores[0].core.sync()?;
    result.profile_bytes = profile_size(&cores[0].path)?;

    // The subscribed connections are done: a removal's rekeying ends their
    // subscriptions.
    subscribed.stop();

    // Rounds: add a member, the member joins, remove it.
    let mut add_commits = Vec::new();
    let mut add_confirms = Vec::new();
    let mut add_processes = Vec::new();
    let mut welcomes = Vec::new();
    let mut remove_commits = Vec::new();
    let mut remove_confirms = Vec::new();
    let mut remove_processes = Vec::new();
    let mut writer = writer;
    for round in 0..cli.rounds {
        let (pending, key_package) = pseudonym(&format!("newcomer {round}"))?;
        let (entry, cost) = timed(|| {
            let entry = owner.add_group_member(chat, &key_package.into_bytes())?;
            owner.sync()?;
            Ok(entry)
        })?;
        add_commits.push(cost);
        let seqs = append_all(runtime, &connection, &writer, &entry)?;
        let seq = seqs.last().copied().context("an entry")?;
        let (update, cost) = timed(|| handle_all(&mut owner, chat, &seqs, &entry))?;
        add_confirms.push(cost);
        let welcome = update.welcome.context("the add's welcome")?;
        result.welcome_bytes = welcome.len();
        for member in &mut cores {
            let (_, cost) = timed(|| handle_all(&mut member.core, member.chat, &seqs, &entry))?;
            add_processes.push(cost);
        }
        let (mut newcomer, _) = profile(dir, &format!("newcomer-{round}"))?;
        let (_, cost) = timed(|| {
            let joined = newcomer.dangerous_join_group(
                now(),
                &pending,
                GROUP_NAME,
                member_log.clone(),
                seq + 1,
                &welcome,
                None,
            )?;
            newcomer.sync()?;
            Ok(joined)
        })?;
        welcomes.push(cost);

        let id = hex(pending.member_id().as_bytes());
        let (made, cost) = timed(|| Ok(owner.remove_group_member(chat, &id)))?;
        remove_commits.push(cost);
        let entry = match made {
            Ok(entry) => entry,
            // A commit with a path encrypts to every leaf of a blank
            // subtree: past a few members it is longer than an entry.
            Err(CoreError::TooLong { .. }) => {
                result.remove_too_long = true;
                eprintln!(
                    "{members} members: round {round} done (the removal does not fit an entry)"
                );
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        result.remove_entries = entry.len();
        let seqs = append_all(runtime, &connection, &writer, &entry)?;
        let (_, cost) = timed(|| handle_all(&mut owner, chat, &seqs, &entry))?;
        remove_confirms.push(cost);
        for member in &mut cores {
            let (_, cost) = timed(|| handle_all(&mut member.core, member.chat, &seqs, &entry))?;
            remove_processes.push(cost);
        }
        // The removal gave the log a new write secret: the owner installs it.
        if let Some((write, read)) = owner.group_rotation(chat)? {
            runtime.block_on(connection.rekey_group_log_to(&admin, &write, &read))?;
            owner.group_rotation_installed(chat)?;
            writer = GroupWriter::new(created.writer.write_id(), write);
        }
        eprintln!("{members} members: round {round} done");
    }
    result.add_commit = median_cost(&add_commits);
    result.add_confirm = median_cost(&add_confirms);
    result.add_process = median_cost(&add_processes);
    result.welcome = median_cost(&welcomes);
    result.remove_commit = median_cost(&remove_commits);
    if !remove_confirms.is_empty() {
        result.remove_confirm = Some(median_cost(&remove_confirms));
        result.remove_process = Some(median_cost(&remove_processes));
    }
    Ok(result)
}

/// Bytes of the files under `dir`.
fn dir_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// A profile's files: its database, write-ahead log and key file.
fn profile_size(path: &Path) -> Result<u64> {
    dir_size(path.parent().context("a profile's directory")?)
}

fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn cost(cost: Cost) -> String {
    format!("{} ({} CPU)", ms(cost.wall), ms(cost.cpu))
}

/// A core's cost, or a dash when no core held the group.
fn core_cost(r: &SizeResult, value: Cost) -> String {
    match r.core_limit {
        Some(_) => "–".to_owned(),
        None => cost(value),
    }
}

fn kib(bytes: f64) -> String {
    format!("{:.1} KiB", bytes / 1024.0)
}

fn summary(results: &[SizeResult]) {
    for r in results {
        if let Some(limit) = &r.core_limit {
            println!(
                "\n{} members: no core holds the group ({limit}); only the relay's part was measured, with opaque entries.",
                r.members
            );
        }
    }
    let results_with_cores: Vec<&SizeResult> =
        results.iter().filter(|r| r.core_limit.is_none()).collect();
    println!("\nA text (medians; wall time, with the thread's CPU time for the cores):\n");
    println!(
        "| members | send (owner) | upload (GAPP → on disk) | fan-out (GAPP → last push) | relay CPU per text | appends | pushes (relay) | members reached | receive (member) | own text back (owner) | the group's chat view (member) |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in results {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.members,
            core_cost(r, r.send),
            ms(r.upload),
            ms(r.fan_out),
            ms(r.relay_cpu_per_text),
            r.appends_per_text,
            r.relay_pushes_per_text,
            r.pushes_per_text,
            core_cost(r, r.receive),
            core_cost(r, r.own_back),
            core_cost(r, r.chat_view),
        );
    }
    println!("\nReceipts (each observer read every text, then appended what it owed):\n");
    println!(
        "| members | entries per member | of which delivered | one receipt at the sender | one receipt at a member |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for r in &results_with_cores {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.members,
            r.receipt_entries_per_member,
            r.delivered_entries_per_member,
            cost(r.receipt_at_owner),
            cost(r.receipt_at_member),
        );
    }
    println!("\nAdding and removing one member (medians of the rounds):\n");
    println!(
        "| members | add: commit | add: back at the owner | add: process (member) | welcome: process (new member) | welcome | remove: commit | remove: back at the owner | remove: process (member) |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in &results_with_cores {
        let too_long = if r.remove_too_long {
            ", too long for a message".to_owned()
        } else {
            format!(", {} entries", r.remove_entries)
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {}{too_long} | {} | {} |",
            r.members,
            cost(r.add_commit),
            cost(r.add_confirm),
            cost(r.add_process),
            cost(r.welcome),
            kib(r.welcome_bytes as f64),
            cost(r.remove_commit),
            r.remove_confirm.map_or("–".to_owned(), cost),
            r.remove_process.map_or("–".to_owned(), cost),
        );
    }
    println!("\nStorage:\n");
    println!(
        "| members | set up in | relay disk (entries) | relay memory per subscribed member | a member's profile | per member |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in results {
        println!(
            "| {} | {:.0} s | {:.2} MiB ({}) | {} | {} | {} |",
            r.members,
            r.setup.as_secs_f64(),
            mib(r.relay_disk),
            r.relay_entries,
            kib(r.relay_rss_per_member),
            if r.core_limit.is_some() {
                "–".to_owned()
            } else {
                format!("{:.1} MiB", mib(r.profile_bytes))
            },
            if r.core_limit.is_some() {
                "–".to_owned()
            } else {
                kib(r.profile_bytes as f64 / r.members as f64)
            },
        );
    }
}
