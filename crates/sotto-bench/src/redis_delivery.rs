//! End-to-end delivery through a durable Redis, shaped like Sotto's delivery
//! run (`delivery`) so that the two can be set side by side: as many sender
//! and recipient connections, one list per queue with queue `i` written by
//! sender `i mod N` and read by recipient `i mod N`, the same window of sends
//! in flight per sender, the same payload size and the same clock.
//!
//! Senders LPUSH, pipelined: a push is answered once it is in the fsynced
//! append-only file, as a Sotto SEND is answered OK once it is on disk.
//! Recipients take the oldest message of each of their lists in turn (one
//! pipelined RPOP per list and round): at most one message per queue per round
//! trip, as the relay pushes a queue's next message only after the ACK of the
//! previous one. The pop is also the deletion, fsynced before the reply like
//! an ACK, so each side makes two durable writes per delivered message.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::load::{self, Outcome, Shape};
use crate::resp::{self, Reply};

/// Bytes of commands a sender writes at once; it writes sooner when its
/// window has no more room.
const WRITE_BATCH: usize = 256 * 1024;
/// How long a recipient whose lists are all empty blocks in one BLMPOP before
/// it checks whether the run is over.
const BLOCK_SECONDS: &[u8] = b"1";

/// Connected senders and recipients over `shape.queues` lists.
pub(crate) struct RedisFleet {
    senders: Vec<(TcpStream, Vec<Vec<u8>>)>,
    recipients: Vec<(TcpStream, Vec<Vec<u8>>)>,
    shape: Shape,
    epoch: Instant,
}

/// Sends counted over a run.
#[derive(Default)]
struct Tally {
    /// Acknowledged pushes submitted inside the measurement window.
    sent: AtomicU64,
    errors: AtomicU64,
}

impl RedisFleet {
    pub(crate) async fn connect(address: SocketAddr, shape: Shape) -> Result<RedisFleet> {
        let mut senders = Vec::new();
        let mut recipients = Vec::new();
        for _ in 0..shape.connections {
            senders.push((connect(address).await?, Vec::new()));
            recipients.push((connect(address).await?, Vec::new()));
        }
        for index in 0..shape.queues {
            let slot = index % shape.connections;
            let key = format!("sotto-bench:queue:{index}").into_bytes();
            senders[slot].1.push(key.clone());
            recipients[slot].1.push(key);
        }
        Ok(RedisFleet {
            senders,
            recipients,
            shape,
            epoch: Instant::now(),
        })
    }

    /// Runs senders as fast as their window allows for `warmup + measure`,
    /// counting what is delivered during `measure`. Lists may hold messages
    /// afterwards.
    pub(crate) async fn run(self, warmup: Duration, measure: Duration) -> Result<Outcome> {
        let RedisFleet {
            senders,
            recipients,
            shape,
            epoch,
        } = self;
        let window_start = Instant::now() + warmup;
        let window = (window_start, window_start + measure);
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Tally::default());
        let (done, done_signal) = watch::channel(false);

        let mut receiving = Vec::new();
        for (stream, keys) in recipients {
            receiving.push(tokio::spawn(receive(
                stream,
                keys,
                epoch,
                window,
                done_signal.clone(),
            )));
        }
        let mut sending = Vec::new();
        for (stream, keys) in senders {
            sending.push(tokio::spawn(send(
                stream,
                keys,
                shape,
                epoch,
                window,
                Arc::clone(&stop),
                Arc::clone(&tally),
            )));
        }
        tokio::time::sleep_until(window.1.into()).await;
        stop.store(true, Ordering::Relaxed);
        for task in sending {
            task.await?;
        }
        // Let what is in flight arrive, then collect.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = done.send(true);
        let mut latencies = Vec::new();
        for task in receiving {
            latencies.extend(task.await?);
        }
        Outcome::measured(
            latencies,
            tally.sent.load(Ordering::Relaxed),
            tally.errors.load(Ordering::Relaxed),
            measure,
        )
    }
}

async fn connect(address: SocketAddr) -> Result<TcpStream> {
    let stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Pushes onto `keys` in turn with up to `shape.window` pushes unanswered,
/// until `stop`; then waits for the answers still due.
async fn send(
    stream: TcpStream,
    keys: Vec<Vec<u8>>,
    shape: Shape,
    epoch: Instant,
    window: (Instant, Instant),
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    let (read, mut write) = stream.into_split();
    let room = Arc::new(Semaphore::new(shape.window));
    // Redis answers a connection's commands in order, so the submit times
    // queue up in that order beside the socket.
    let (submitted, pending) = mpsc::unbounded_channel();
    let answers = tokio::spawn(count_answers(read, pending, window, Arc::clone(&tally)));
    let mut payload = vec![0x5a; shape.body_size.max(load::STAMP_LEN)];
    let mut batch = Vec::with_capacity(WRITE_BATCH + payload.len() + 64);
    let mut count = 0usize;
    'sending: while !stop.load(Ordering::Relaxed) {
        let Ok(permit) = Arc::clone(&room).acquire_owned().await else {
            break;
        };
        if stop.load(Ordering::Relaxed) {
            break;
        }
        batch.clear();
        let mut next = Some(permit);
        while let Some(permit) = next.take() {
            let now = Instant::now();
            payload[..load::STAMP_LEN].copy_from_slice(&load::stamp(epoch, now));
            resp::encode(&mut batch, &[b"LPUSH", &keys[count % keys.len()], &payload]);
            count += 1;
            if submitted.send((now, permit)).is_err() {
                break 'sending;
            }
            if batch.len() < WRITE_BATCH {
                next = Arc::clone(&room).try_acquire_owned().ok();
            }
        }
        if write.write_all(&batch).await.is_err() {
            tally.errors.fetch_add(1, Ordering::Relaxed);
            break;
        }
    }
    // Wait for the pushes in flight, so that none is cut off by the end of the run.
    drop(submitted);
    let _ = tokio::time::timeout(Duration::from_secs(30), answers).await;
}

/// Reads a sender's answers, one per push submitted, and gives back the
/// push's room in the window.
async fn count_answers(
    read: OwnedReadHalf,
    mut pending: mpsc::UnboundedReceiver<(Instant, OwnedSemaphorePermit)>,
    (window_start, window_end): (Instant, Instant),
    tally: Arc<Tally>,
) {
    let mut reader = BufReader::new(read);
    while let Some((submitted_at, permit)) = pending.recv().await {
        match resp::read(&mut reader).await {
            Ok(Reply::Integer(_)) => {
                if (window_start..window_end).contains(&submitted_at) {
                    tally.sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(_) => {
                tally.errors.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                tally.errors.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
        drop(permit);
    }
}

/// Takes messages off `keys` until `done`; returns the latencies (ns) of
/// those taken inside the measurement window.
async fn receive(
    stream: TcpStream,
    keys: Vec<Vec<u8>>,
    epoch: Instant,
    window: (Instant, Instant),
    mut done: watch::Receiver<bool>,
) -> Vec<u64> {
    let mut recipient = Recipient {
        stream: BufReader::with_capacity(WRITE_BATCH, stream),
        epoch,
        window,
        latencies: Vec::new(),
    };
    let mut round = Vec::new();
    for key in &keys {
        resp::encode(&mut round, &[b"RPOP", key]);
    }
    let count = keys.len().to_string();
    let mut wait: Vec<&[u8]> = vec![b"BLMPOP", BLOCK_SECONDS, count.as_bytes()];
    wait.extend(keys.iter().map(Vec::as_slice));
    wait.extend([b"RIGHT".as_slice(), b"COUNT", b"1"]);
    let mut block = Vec::new();
    resp::encode(&mut block, &wait);
    loop {
        let taking = async {
            if recipient.round(&round, keys.len()).await? == 0 {
                // Every list is empty: wait on all of them rather than poll.
                recipient.block(&block).await?;
            }
            anyhow::Ok(())
        };
        let taken = tokio::select! {
            taken = taking => taken,
            _ = done.changed() => break,
        };
        if taken.is_err() {
            break;
        }
    }
    recipient.latencies
}

/// A recipient connection and what it has measured.
struct Recipient {
    stream: BufReader<TcpStream>,
    epoch: Instant,
    window: (Instant, Instant),
    latencies: Vec<u64>,
}

impl Recipient {
    /// One pipelined RPOP per list; returns how many messages came.
    async fn round(&mut self, commands: &[u8], replies: usize) -> Result<usize> {
        self.stream.get_mut().write_all(commands).await?;
        let mut taken = 0;
        for _ in 0..replies {
            match resp::read(&mut self.stream).await? {
                Reply::Bulk(Some(payload)) => {
                    self.record(&payload);
                    taken += 1;
                }
                Reply::Bulk(None) => {}
                other => bail!("unexpected answer to RPOP: {other:?}"),
            }
        }
        Ok(taken)
    }

    /// One BLMPOP over every list, which waits for the next message.
    async fn block(&mut self, command: &[u8]) -> Result<()> {
        self.stream.get_mut().write_all(command).await?;
        match resp::read(&mut self.stream).await? {
            Reply::Array(None) => {}
            Reply::Array(Some(reply)) => match reply.as_slice() {
                [_key, Reply::Array(Some(payloads))] => {
                    for payload in payloads {
                        if let Reply::Bulk(Some(payload)) = payload {
                            self.record(payload);
                        }
                    }
                }
                _ => bail!("unexpected answer to BLMPOP: {reply:?}"),
            },
            other => bail!("unexpected answer to BLMPOP: {other:?}"),
        }
        Ok(())
    }

    fn record(&mut self, payload: &[u8]) {
        let now = Instant::now();
        if (self.window.0..self.window.1).contains(&now)
            && let Some(latency) = load::latency(self.epoch, payload, now)
        {
            self.latencies.push(latency);
        }
    }
}
