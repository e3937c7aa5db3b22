//! Power loss, not only SIGKILL: the relay runs on a FUSE filesystem that keeps
//! only what was fsynced when the test cuts its power (see
//! `support/power_cut_fs`), so an OK that came before the data was on disk
//! shows up as a lost message.

//!
//! - The load test cuts the power many times while several connections send
//!   on many queues and a recipient drains them, restarts the relay on what
//!   the disk kept, and checks that every message that got OK is delivered
//!   (once, after dropping redeliveries of the same message id) and that
//!   nothing is delivered that was never sent.
//! - A power cut right after the relay's first start keeps its identity,
//!   database and acknowledged messages.
//! - A file chunk whose upload got OK survives a power cut; one half uploaded
//!   resumes from what the disk kept.
//! - The relay's files are private (0600, in a 0700 directory), chunk files
//!   included.
//! - The filesystem itself keeps exactly what was synced.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sotto_client::ClientError;
use sotto_client::relay::{Push, RecipientQueue, SenderQueue};
use sotto_wire::{
    ChunkDigest, ChunkSize, ErrorCode, FilePiece, MAX_PIECE_LEN, MessageBody, MessageContent,
    MessageId, RecipientId,
};
use support::power_cut_fs::{self, CutStyle, PowerCutFs};
use support::{Client, Relay, within};

/// Power cuts in the load test.
const CYCLES: usize = 20;
/// Connections that send, each on its own queues.
const SENDERS: usize = 3;
const QUEUES_PER_SENDER: usize = 16;
/// Sends each connection keeps in flight.
const WINDOW: usize = 8;
/// How long the load runs before each cut, at random in this range.
const LOAD_MILLIS: std::ops::Range<u64> = 150..700;
/// The final drain is over once no message came for this long.
const QUIET: Duration = Duration::from_secs(2);

/// Mounts a fresh filesystem in a temporary directory; `None` (after saying so
/// loudly) on a machine without FUSE.
fn mount(temp: &tempfile::TempDir) -> Option<PowerCutFs> {
    if !power_cut_fs::available() {
        eprintln!(
            "\n*** SKIPPED: /dev/fuse is missing, so the power-loss test cannot run here. ***\n"
        );
        return None;
    }
    let backing = temp.path().join("backing");
    let mountpoint = temp.path().join("mnt");
    fs::create_dir(&mountpoint).unwrap();
    match PowerCutFs::mount(&backing, &mountpoint) {
        Ok(disk) => Some(disk),
        Err(error) => panic!("cannot mount the power-cut filesystem (it needs root): {error}"),
    }
}

fn sync_dir(path: &Path) {
    fs::File::open(path).unwrap().sync_all().unwrap();
}

/// Right after the relay's first start, a message that got OK survives a
/// power cut with the relay's identity and database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_start_survives_a_power_cut() {
    let temp = tempfile::tempdir().unwrap();
    let Some(disk) = mount(&temp) else { return };
    let mut relay = start_relay(&disk, &temp);
    let fingerprint = relay.address.fingerprint;
    let files = data_files(&relay.data);
    let client = relay.connect().await;
    let (queue, sender) = client.secured_queue().await;
    let (_, bytes) = payload(0, 1);
    client
        .connection
        .send(&sender, MessageBody::new(bytes.clone()).unwrap())
        .await
        .unwrap();
    drop(client);

    let mut rng = StdRng::seed_from_u64(1);
    disk.cut_power(CutStyle::LoseUnsynced, &mut rng, || relay.kill());
    let missing: Vec<_> = files
        .iter()
        .filter(|file| !relay.data.join(file).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "after a power cut right after the first start, {missing:?} vanished from the \
         data directory (had: {files:?}; the data directory itself {}): a new file or \
         directory is on disk only once its parent directory is fsynced",
        if relay.data.exists() {
            "survived"
        } else {
            "vanished too"
        }
    );
    relay.try_restart().unwrap();
    assert_eq!(
        relay.address.fingerprint, fingerprint,
        "the relay's identity changed"
    );
    let mut client = relay.connect().await;
    assert!(client.connection.subscribe([&queue]).await[0].is_ok());
    let delivery = client.next_message().await;
    assert_eq!(support::open_body(&queue, &delivery), bytes);
}

/// A chunk's bytes, random as an encrypted chunk's are.
fn chunk_content(size: ChunkSize) -> Vec<u8> {
    let mut bytes = vec![0; size.bytes() as usize];
    StdRng::seed_from_u64(u64::from(size.code())).fill(&mut bytes[..]);
    bytes
}

/// A chunk whose upload got OK is on disk; a chunk half uploaded resumes from
/// what the disk kept (the digest check catches a piece the cut lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_chunk_survives_a_power_cut() {
    let temp = tempfile::tempdir().unwrap();
    let Some(disk) = mount(&temp) else { return };
    let mut relay = start_relay(&disk, &temp);
    let whole = chunk_content(ChunkSize::Kib256);
    let half = chunk_content(ChunkSize::Mib1);
    let (done, partial) = {
        let client = relay.connect().await;
        let create = |bytes: &[u8]| {
            let size = ChunkSize::smallest_for(bytes.len() as u64).unwrap();
            client
                .connection
                .create_chunk(size, ChunkDigest::of(bytes), 1, None)
        };
        let done = create(&whole).await.unwrap();
        client
            .connection
            .upload_chunk(&done.upload, &whole, 16)
            .await
            .unwrap();
        let partial = create(&half).await.unwrap();
        for offset in (0..300_000).step_by(MAX_PIECE_LEN) {
            let piece = FilePiece::new(half[offset..offset + MAX_PIECE_LEN].to_vec()).unwrap();
            client
                .connection
                .submit_piece(&partial.upload, offset as u32, piece)
                .await
                .unwrap()
                .ok("FPUT")
                .await
                .unwrap();
        }
        (done, partial)
    };
    let mut rng = StdRng::seed_from_u64(3);
    disk.cut_power(CutStyle::LoseUnsynced, &mut rng, || relay.kill());
    relay.try_restart().unwrap();
    let client = relay.connect().await;
    let downloaded = client
        .connection
        .download_chunk(&done.downloads[0], 16)
        .await
        .unwrap();
    assert!(
        downloaded == whole,
        "a chunk that got OK came back different"
    );
    // FNEW was durable before FIDS: the half chunk is there, with what the
    // disk kept of it.
    let status = client
        .connection
        .chunk_status(&partial.upload)
        .await
        .unwrap();
    assert!(!status.complete);
    assert!(status.received as usize <= 300_000);
    match client
        .connection
        .upload_chunk(&partial.upload, &half, 16)
        .await
    {
        Ok(()) => {}
        // A piece answered OK before the cut but never synced: start again.
        Err(ClientError::Refused(ErrorCode::Digest)) => client
            .connection
            .upload_chunk(&partial.upload, &half, 16)
            .await
            .unwrap(),
        Err(error) => panic!("resuming after the power cut: {error}"),
    }
    let downloaded = client
        .connection
        .download_chunk(&partial.downloads[0], 16)
        .await
        .unwrap();
    assert!(downloaded == half, "a resumed chunk came back different");
}

/// The relay's data directory and every directory in it are 0700, every file 0600.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_keeps_its_files_private() {
    let temp = tempfile::tempdir().unwrap();
    let Some(disk) = mount(&temp) else { return };
    let relay = start_relay(&disk, &temp);
    let client = relay.connect().await;
    client.secured_queue().await;
    // A file chunk too, half uploaded.
    let chunk = client
        .connection
        .create_chunk(ChunkSize::Kib64, ChunkDigest::from_bytes([0; 32]), 1, None)
        .await
        .unwrap();
    let piece = FilePiece::new(vec![1; 100]).unwrap();
    client
        .connection
        .submit_piece(&chunk.upload, 0, piece)
        .await
        .unwrap()
        .ok("FPUT")
        .await
        .unwrap();
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&relay.data), 0o700, "the data directory");
    let loose: Vec<_> = data_tree(&relay.data)
        .into_iter()
        .filter_map(|path| {
            let want = if path.is_dir() { 0o700 } else { 0o600 };
            let mode = mode(&path);
            let name = path.strip_prefix(&relay.data).unwrap_or(&path).display();
            (mode != want).then(|| format!("{name} is {mode:o}"))
        })
        .collect();
    assert!(
        loose.is_empty(),
        "relay files open to others: {}",
        loose.join(", ")
    );
}

/// The names in the relay's data directory.
/// Every file and directory under `data`, depth first.
fn data_tree(data: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(data_tree(&path));
        }
        found.push(path);
    }
    found
}

fn data_files(data: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(data)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The filesystem itself: what was synced survives a cut, nothing else does.
#[test]
fn the_filesystem_keeps_only_what_was_synced() {
    let temp = tempfile::tempdir().unwrap();
    let Some(disk) = mount(&temp) else { return };
    let root = disk.path().to_path_buf();
    let mut rng = StdRng::seed_from_u64(7);

    let dir = root.join("dir");
    fs::create_dir(&dir).unwrap();
    sync_dir(&root);
    let synced = dir.join("synced");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&synced)
        .unwrap();
    file.write_all(b"durable").unwrap();
    file.sync_all().unwrap();
    sync_dir(&dir);
    file.write_all(b" and then some").unwrap();
    drop(file);
    assert_eq!(fs::read(&synced).unwrap(), b"durable and then some");
    fs::write(dir.join("unsynced entry"), b"gone").unwrap();
    let renamed = dir.join("renamed");
    fs::rename(&synced, &renamed).unwrap();
    assert_eq!(
        fs::metadata(&renamed).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let report = disk.cut_power(CutStyle::LoseUnsynced, &mut rng, || {});
    assert_eq!(fs::read(&synced).unwrap(), b"durable");
    assert!(!renamed.exists(), "an unsynced rename survived");
    assert!(!dir.join("unsynced entry").exists());
    assert_eq!(report.nodes_lost, 1, "{report:?}");

    // A directory whose own entry was never synced vanishes with its files,
    // even synced ones.
    let orphan = root.join("orphan");
    fs::create_dir(&orphan).unwrap();
    let inside = fs::File::create(orphan.join("file")).unwrap();
    inside.sync_all().unwrap();
    sync_dir(&orphan);
    disk.cut_power(CutStyle::Torn, &mut rng, || {});
    assert!(!orphan.exists());

    // A torn cut keeps the synced prefix and the file's size is either size.
    let mut file = fs::OpenOptions::new().append(true).open(&synced).unwrap();
    file.write_all(&[1; 3 * 4096]).unwrap();
    drop(file);
    disk.cut_power(CutStyle::Torn, &mut rng, || {});
    let bytes = fs::read(&synced).unwrap();
    assert!(bytes.starts_with(b"durable"));
    assert!(bytes.len() == 7 || bytes.len() == 7 + 3 * 4096);
}

/// Many power cuts under load: no message that got OK is ever lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_message_is_lost_when_power_is_cut() {
    let temp = tempfile::tempdir().unwrap();
    let Some(disk) = mount(&temp) else { return };
    let seed = rand::random::<u64>();
    eprintln!("power-loss test seed: {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut relay = start_relay(&disk, &temp);
    // The first start's own files are the subject of
    // `the_first_start_survives_a_power_cut`; here the kernel gets the half
    // minute its writeback takes before the power ever goes.
    disk.write_back();

    let owner = relay.connect().await;
    let mut recipients = Vec::new();
    let mut senders = Vec::new();
    for index in 0..SENDERS {
        let mut queues = Vec::new();
        for _ in 0..QUEUES_PER_SENDER {
            let (queue, sender) = owner.secured_queue().await;
            recipients.push(queue);
            queues.push(sender);
        }
        senders.push(Arc::new(Sender {
            index,
            queues,
            next: AtomicU32::new(0),
        }));
    }
    drop(owner);
    let recipients = Arc::new(recipients);
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    let started = Instant::now();
    let mut lost_pages = 0;
    for cycle in 0..CYCLES {
        let mut tasks = Vec::new();
        for sender in &senders {
            let client = relay.connect().await;
            tasks.push(tokio::spawn(send_until_cut(
                client,
                Arc::clone(sender),
                Arc::clone(&ledger),
            )));
        }
        let recipient = relay.connect().await;
        tasks.push(tokio::spawn(drain(
            recipient,
            Arc::clone(&recipients),
            Arc::clone(&ledger),
            None,
        )));
        tokio::time::sleep(Duration::from_millis(rng.gen_range(LOAD_MILLIS))).await;
        let style = if rng.gen_bool(0.5) {
            CutStyle::Torn
        } else {
            CutStyle::LoseUnsynced
        };
        let report = disk.cut_power(style, &mut rng, || relay.kill());
        lost_pages += report.pages_lost;
        for task in tasks {
            within("the clients to notice the power cut", task)
                .await
                .unwrap();
        }
        if relay.try_restart().is_err() {
            panic!(
                "the relay did not start again after power cut {cycle} ({style:?}, {report:?}):\n{}",
                relay.log()
            );
        }
    }

    // The last drain, with nothing sending: every queue ends empty.
    let recipient = relay.connect().await;
    within(
        "the last drain",
        drain(
            recipient,
            Arc::clone(&recipients),
            Arc::clone(&ledger),
            Some(QUIET),
        ),
    )
    .await;
    let ledger = ledger.lock().unwrap();
    let lost: Vec<_> = ledger
        .acknowledged
        .iter()
        .filter(|id| !ledger.delivered.contains_key(id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages were lost across {CYCLES} power cuts (seed {seed})",
        lost.len(),
        ledger.acknowledged.len(),
    );
    let sent: u32 = senders
        .iter()
        .map(|sender| sender.next.load(Ordering::Relaxed))
        .sum();
    eprintln!(
        "power-loss test: {CYCLES} power cuts in {:.1?}; {sent} sends, {} acknowledged, {} \
         delivered ({} redelivered after a cut); {lost_pages} unsynced pages discarded",
        started.elapsed(),
        ledger.acknowledged.len(),
        ledger.delivered.len(),
        ledger.redeliveries,
    );
    assert!(ledger.acknowledged.len() > CYCLES * 10, "too little load");
}

/// What the clients saw, across all power cuts.
#[derive(Default)]
struct Ledger {
    /// Sends that got OK.
    acknowledged: std::collections::HashSet<u64>,
    /// Each delivered send, by the message id it came with.
    delivered: HashMap<u64, (RecipientId, MessageId)>,
    /// The same message id delivered again (allowed: an ACK not yet on disk).
    redeliveries: usize,
}

impl Ledger {
    /// Records a delivery of send `id`; fails on one send stored twice or one
    /// message id reused for another send.
    fn delivered(&mut self, id: u64, queue: RecipientId, message_id: MessageId) {
        match self.delivered.insert(id, (queue, message_id)) {
            None => {}
            Some(previous) if previous == (queue, message_id) => self.redeliveries += 1,
            Some(previous) => panic!(
                "send {id:#x} stored twice: as {previous:?} and as {:?}",
                (queue, message_id)
            ),
        }
    }
}

/// A sending connection's queues and the next sequence number it sends.
struct Sender {
    index: usize,
    queues: Vec<SenderQueue>,
    next: AtomicU32,
}

/// A body that names itself and fills the rest with bytes derived from its
/// name, so any corruption shows: `sender u32 | sequence u32 | pattern`.
fn payload(sender: usize, sequence: u32) -> (u64, Vec<u8>) {
    let id = ((sender as u64) << 32) | u64::from(sequence);
    let mut bytes = id.to_be_bytes().to_vec();
    let len = 64 + (sequence as usize * 37) % 900;
    bytes.extend((bytes.len()..len).map(|index| (id as usize ^ index.wrapping_mul(131)) as u8));
    (id, bytes)
}

/// Sends until the connection dies, with [`WINDOW`] sends in flight, and
/// records which got OK.
async fn send_until_cut(client: Client, sender: Arc<Sender>, ledger: Arc<Mutex<Ledger>>) {
    let mut in_flight = std::collections::VecDeque::new();
    let settle = |id: u64, outcome: Result<(), ClientError>| match outcome {
        Ok(()) => {
            ledger.lock().unwrap().acknowledged.insert(id);
            true
        }
        // The power went: the send may or may not be on disk, and was not
        // claimed to be.
        Err(ClientError::Closed | ClientError::Timeout | ClientError::Refused(_)) => false,
        Err(other) => panic!("unexpected send failure: {other}"),
    };
    loop {
        let sequence = sender.next.fetch_add(1, Ordering::Relaxed);
        let (id, bytes) = payload(sender.index, sequence);
        let queue = &sender.queues[sequence as usize % sender.queues.len()];
        let body = MessageBody::new(bytes).unwrap();
        match client.connection.submit_send(queue, body).await {
            Ok(pending) => in_flight.push_back((id, pending)),
            Err(_) => break,
        }
        if in_flight.len() >= WINDOW {
            let (id, pending) = in_flight.pop_front().unwrap();
            if !settle(id, pending.ok("SEND").await) {
                break;
            }
        }
    }
    // Answers that came before the power went still count.
    for (id, pending) in in_flight {
        settle(id, pending.ok("SEND").await);
    }
}

/// Subscribes to every queue, checks and acknowledges each message; returns
/// when the connection dies, or (with `quiet`) once no message came for that
/// long, after which every queue must be empty.
async fn drain(
    mut client: Client,
    queues: Arc<Vec<RecipientQueue>>,
    ledger: Arc<Mutex<Ledger>>,
    quiet: Option<Duration>,
) {
    let by_recipient: HashMap<_, _> = queues
        .iter()
        .map(|queue| (queue.recipient_id(), queue))
        .collect();
    for result in client.connection.subscribe(queues.iter()).await {
        match result {
            Ok(()) => {}
            Err(ClientError::Closed | ClientError::Timeout) if quiet.is_none() => return,
            Err(other) => panic!("SUB failed: {other}"),
        }
    }
    let mut acks = Vec::new();
    loop {
        let push = match quiet {
            Some(quiet) => match client.push_within(quiet).await {
                Some(push) => push,
                None => break,
            },
            None => match client.pushes.recv().await {
                Some(push) => push,
                None => return,
            },
        };
        let Push::Message(delivery) = push else {
            panic!("unexpected push {push:?}");
        };
        let queue = by_recipient[&delivery.recipient_id];
        let message = queue
            .open(&delivery)
            .unwrap_or_else(|error| panic!("a delivered message does not open: {error}"));
        let MessageContent::Body(body) = message.content else {
            panic!("the quota marker, with no quota that low");
        };
        let bytes = body.as_bytes();
        let id = u64::from_be_bytes(bytes[..8].try_into().unwrap());
        let (sender, sequence) = ((id >> 32) as usize, id as u32);
        assert!(
            sender < SENDERS && bytes == payload(sender, sequence).1,
            "delivered a message that nobody sent (id {id:#x}, {} bytes)",
            bytes.len()
        );
        ledger
            .lock()
            .unwrap()
            .delivered(id, delivery.recipient_id, delivery.message_id);
        match client.submit_ack(queue, delivery.message_id).await {
            Ok(ack) => acks.push(ack),
            Err(_) if quiet.is_none() => return,
            Err(other) => panic!("ACK failed: {other}"),
        }
        // Only the last drain waits for ACKs; under load they may die with the
        // power.
        if quiet.is_none() {
            acks.clear();
        }
    }
    for ack in acks {
        ack.await.unwrap();
    }
    for queue in queues.iter() {
        assert!(
            client.connection.get(queue).await.unwrap().is_none(),
            "a queue still holds a message after the last drain"
        );
    }
}

/// Starts the relay with its data directory on `disk` and its log beside it.
fn start_relay(disk: &PowerCutFs, temp: &tempfile::TempDir) -> Relay {
    let data: PathBuf = disk.path().join("relay");
    Relay::try_start_logging_to(
        &data,
        &temp.path().join("relay.log"),
        &["--queue-quota", "1000000"],
        &[],
    )
    .unwrap()
}
