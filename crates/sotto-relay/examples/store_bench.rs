//! The relay store's write path alone: bytes written and CPU per delivered
//! message, for each backend, without the network and the protocol's crypto.
//!
//! `cargo run --release -p sotto-relay --example store_bench -- [MESSAGES]
//! [BATCH] [BACKENDS]`, e.g. `… -- 20000 64 log,redb,raw`. A delivered message is
//! one SEND of a 16,000-byte body and its ACK, written as the group-commit writer
//! writes them: batches of BATCH SENDs, then the same number of ACKs, each batch
//! one durable commit, over 64 queues. Before each ACK the message is read back
//! (`delivery`), as the relay does before pushing it; that read is not counted
//! in the writer's CPU. `raw` is the disk's own ceiling: the same bytes appended
//! to one file with one fdatasync per batch.
//!
//! Bytes written are the process's `write_bytes` in `/proc/self/io` (what it
//! sent to the block layer; the file system's journal is written by a kernel
//! thread and not counted); CPU is the calling thread's own time from
//! `/proc/thread-self/schedstat`.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use sotto_relay::store::embedded::{DATABASE_FILE, EmbeddedStore};
use sotto_relay::store::log::{LogConfig, LogStore};
use sotto_relay::store::{
    AuthKey, Commit, Policy, QueueRecord, QueueStatus, Storage, StoredMessage, WriteOp,
    WriteOutcome,
};
use sotto_wire::{MessageId, QueueKey, RecipientId, SenderId};

const QUEUES: u32 = 64;
const BODY: usize = 16_000;
const NOW: u64 = 1_800_000_000;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let messages: u32 = args
        .first()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(20_000);
    let batch: u32 = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(64);
    let backends = args.get(2).map(String::as_str).unwrap_or("log,redb,raw");
    println!("{messages} messages of {BODY} bytes, {batch} per commit, {QUEUES} queues");
    println!(
        "{:<6} {:>14} {:>16} {:>16} {:>12}",
        "store", "KiB/message", "CPU µs/write", "CPU µs/message", "messages/s"
    );
    for backend in backends.split(',') {
        let dir = tempfile::tempdir()?;
        let result = match backend {
            "raw" => raw(dir.path(), messages, batch)?,
            "log" => {
                let policy = policy();
                let config = LogConfig {
                    policy,
                    segment_bytes: LogConfig::segment_bytes_for(None),
                    max_bytes: None,
                    idle_queue_secs: policy.message_ttl_secs,
                };
                let result = run(&LogStore::open(dir.path(), config, NOW)?, messages, batch)?;
                // Replay of the whole log, none of it reclaimed (no sweep ran).
                let start = Instant::now();
                let store = LogStore::open(dir.path(), config, NOW)?;
                let (total, _) = store.usage()?;
                eprintln!(
                    "log replay at open: {:.0} MiB in {:.2} s",
                    total as f64 / f64::from(1 << 20),
                    start.elapsed().as_secs_f64()
                );
                result
            }
            "redb" => {
                let store =
                    EmbeddedStore::open(&dir.path().join(DATABASE_FILE), policy(), 64 << 20)?;
                run(&store, messages, batch)?
            }
            other => anyhow::bail!("unknown backend {other}: use log, redb or raw"),
        };
        let per_message = f64::from(messages);
        println!(
            "{backend:<6} {:>14.1} {:>16.1} {:>16.1} {:>12.0}",
            result.bytes as f64 / 1024.0 / per_message,
            result.cpu_ns as f64 / 1000.0 / (2.0 * per_message),
            result.cpu_ns as f64 / 1000.0 / per_message,
            per_message / result.seconds,
        );
    }
    Ok(())
}

fn policy() -> Policy {
    Policy {
        queue_quota: 1_000_000,
        message_ttl_secs: 21 * 24 * 3600,
        file_ttl_secs: 200,
        group_ttl_secs: 200,
    }
}

struct Measured {
    bytes: u64,
    cpu_ns: u64,
    seconds: f64,
}

/// Bytes this process has caused to be written to storage.
fn write_bytes() -> anyhow::Result<u64> {
    let io = std::fs::read_to_string("/proc/self/io")?;
    io.lines()
        .find_map(|line| line.strip_prefix("write_bytes: "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no write_bytes in /proc/self/io"))
}

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    stat.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("unreadable schedstat"))
}

fn id24(kind: u8, n: u32) -> [u8; 24] {
    let mut id = [kind; 24];
    id[..4].copy_from_slice(&n.to_be_bytes());
    id
}

fn run(store: &dyn Storage, messages: u32, batch: u32) -> anyhow::Result<Measured> {
    let create: Vec<WriteOp> = (0..QUEUES)
        .map(|q| WriteOp::CreateQueue {
            recipient_id: RecipientId::from_bytes(id24(1, q)),
            record: Box::new(QueueRecord {
                recipient_key: AuthKey::from_bytes([1; 32]),
                sender_id: SenderId::from_bytes(id24(2, q)),
                sender_key: None,
                status: QueueStatus::Active,
                queue_key: QueueKey::from_bytes([3; 32]),
                pending: 0,
                quota_marker: false,
                next_seq: 0,
            }),
        })
        .collect();
    store.apply(&create, NOW, Commit::Durable)?;
    let body = vec![0x5a; BODY];
    let (mut bytes, mut cpu_ns) = (0, 0);
    let start = Instant::now();
    let mut sent = 0;
    while sent < messages {
        let count = batch.min(messages - sent);
        let sends: Vec<WriteOp> = (sent..sent + count)
            .map(|n| WriteOp::Send {
                sender_id: SenderId::from_bytes(id24(2, n % QUEUES)),
                message: StoredMessage {
                    id: MessageId::from_bytes(id24(4, n)),
                    accepted_at: NOW,
                    flags: 0,
                    body: body.clone().into(),
                },
                marker_id: MessageId::from_bytes(id24(5, n)),
            })
            .collect();
        let acks: Vec<WriteOp> = (sent..sent + count)
            .map(|n| WriteOp::Ack {
                recipient_id: RecipientId::from_bytes(id24(1, n % QUEUES)),
                message_id: MessageId::from_bytes(id24(4, n)),
            })
            .collect();
        for (ops, read_first) in [(&sends, false), (&acks, true)] {
            if read_first {
                for q in 0..count.min(QUEUES) {
                    let recipient_id = RecipientId::from_bytes(id24(1, (sent + q) % QUEUES));
                    std::hint::black_box(store.delivery(&recipient_id, NOW)?);
                }
            }
            let (bytes_before, cpu_before) = (write_bytes()?, thread_cpu_ns()?);
            let outcomes = store.apply(ops, NOW, Commit::Durable)?;
            cpu_ns += thread_cpu_ns()? - cpu_before;
            bytes += write_bytes()? - bytes_before;
            anyhow::ensure!(
                outcomes
                    .iter()
                    .all(|o| matches!(o, WriteOutcome::Sent(_) | WriteOutcome::Done)),
                "unexpected outcomes: {outcomes:?}"
            );
        }
        sent += count;
    }
    Ok(Measured {
        bytes,
        cpu_ns,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn raw(dir: &Path, messages: u32, batch: u32) -> anyhow::Result<Measured> {
    let mut file = File::create(dir.join("raw"))?;
    let record = vec![0x5a; BODY + 74];
    let ack = [0x5a; 41];
    let (bytes_before, cpu_before) = (write_bytes()?, thread_cpu_ns()?);
    let start = Instant::now();
    let mut sent = 0;
    let mut buffer = Vec::new();
    while sent < messages {
        let count = batch.min(messages - sent);
        for source in [&record[..], &ack[..]] {
            buffer.clear();
            for _ in 0..count {
                buffer.extend_from_slice(source);
            }
            file.write_all(&buffer)?;
            file.sync_data()?;
        }
        sent += count;
    }
    Ok(Measured {
        bytes: write_bytes()? - bytes_before,
        cpu_ns: thread_cpu_ns()? - cpu_before,
        seconds: start.elapsed().as_secs_f64(),
    })
}
