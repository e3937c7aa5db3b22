//! Slow consumers and connection floods against the real relay: a client that
//! stops reading gets its replies held back (the relay stops reading from it)
//! instead of buffered without bound, everyone else keeps being served, and
//! nothing that got OK is lost. Connections beyond the cap wait outside and
//! leave no trace.
//!
//! These tests wait on conditions with generous timeouts; they assert no
//! timing (latencies are printed for the curious, measured by the bench).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use sotto_client::relay::{RecipientQueue, SenderQueue};
use sotto_wire::{Command, CorrId, InnerBlock, Response, Transmission};
use support::{Client, RawSession, Relay, body, open_body, within};
use tokio_tungstenite::tungstenite::Message;

/// Queues the slow subscriber holds.
const QUEUES: usize = 8;
/// GET blocks the slow subscriber sends without reading, one GET each: as
/// many replies of a block each, 23 MiB if the relay buffered them, about three
/// times what the kernel's socket buffers hold before the relay stops reading.
/// (The messages it fetches are short, so that each costs the relay little,
/// but every frame is a whole 16 KiB block.)
const GET_BLOCKS: usize = 1_500;
const GETS_PER_BLOCK: usize = 1;
/// What the relay may grow by while the slow subscriber does not read.
const MEMORY_BOUND_KIB: u64 = 16 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_is_held_back_and_loses_nothing() {
    let relay = Relay::start(&[]);
    let owner = relay.connect().await;
    let senders = relay.connect().await;
    let mut queues: Vec<(RecipientQueue, SenderQueue)> = Vec::new();
    for _ in 0..QUEUES {
        queues.push(owner.secured_queue().await);
    }
    // Every body that got OK, by queue; one message each to start with.
    let mut sent: HashMap<usize, HashSet<Vec<u8>>> = HashMap::new();
    let mut next_tag = 0u32;
    let mut send_round = async |sent: &mut HashMap<usize, HashSet<Vec<u8>>>, size: usize| {
        for (index, (_, sender)) in queues.iter().enumerate() {
            next_tag += 1;
            let message = body(&next_tag.to_be_bytes(), size);
            within("a SEND", senders.connection.send(sender, message.clone()))
                .await
                .unwrap();
            sent.entry(index).or_default().insert(message.into_vec());
        }
    };
    send_round(&mut sent, 64).await;

    // The slow subscriber: subscribes to every queue, then asks for each
    // queue's first message thousands of times without reading anything.
    let slow = RawSession::open(&relay.address).await;
    let keys: Vec<_> = queues
        .iter()
        .map(|(queue, _)| slow.command_key(queue.auth_key()))
        .collect();
    let ((mut sink, mut sealer), (mut stream, mut opener)) = slow.into_split();
    let recipient_ids: Vec<_> = queues
        .iter()
        .map(|(queue, _)| queue.recipient_id())
        .collect();
    let mut subscribe = InnerBlock::new();
    for (index, recipient_id) in recipient_ids.iter().enumerate() {
        let corr_id = CorrId::from_bytes((index as u64 + 1).to_be_bytes());
        let command = Command::Sub {
            recipient_id: *recipient_id,
        };
        subscribe
            .push(&command.to_authorized_transmission(corr_id, &keys[index]))
            .unwrap();
    }
    let block = sealer.seal(&subscribe).unwrap();
    sink.send(Message::binary(block.into_vec())).await.unwrap();

    let baseline = relay.resident_kib();
    let blocks_sent = Arc::new(AtomicUsize::new(0));
    let flood = tokio::spawn({
        let blocks_sent = Arc::clone(&blocks_sent);
        async move {
            let mut corr = 1_000u64;
            for _ in 0..GET_BLOCKS {
                let mut gets = InnerBlock::new();
                for _ in 0..GETS_PER_BLOCK {
                    corr += 1;
                    let index = corr as usize % QUEUES;
                    let command = Command::Get {
                        recipient_id: recipient_ids[index],
                    };
                    let corr_id = CorrId::from_bytes(corr.to_be_bytes());
                    gets.push(&command.to_authorized_transmission(corr_id, &keys[index]))
                        .unwrap();
                }
                let block = sealer.seal(&gets).unwrap();
                sink.send(Message::binary(block.into_vec())).await.unwrap();
                blocks_sent.fetch_add(1, Ordering::Relaxed);
            }
            sink
        }
    });

    // The relay stops reading from it: its GETs stop going out, well before
    // the last, and stay stopped.
    let stalled_at = within("the slow subscriber to be held back", async {
        let mut last = usize::MAX;
        let mut unchanged = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = blocks_sent.load(Ordering::Relaxed);
            assert!(
                now < GET_BLOCKS,
                "the relay took every GET of a client that does not read"
            );
            if now == last {
                unchanged += 1;
                // Four seconds without progress: held back, not merely slow.
                if unchanged == 16 {
                    return now;
                }
            } else {
                unchanged = 0;
                last = now;
            }
        }
    })
    .await;

    // Meanwhile senders keep sending to its queues, and others are served.
    for _ in 0..20 {
        send_round(&mut sent, 16_000).await;
    }
    let mut bystander = Bystander::new(&relay).await;
    let mut slowest = Duration::ZERO;
    for round in 0..20 {
        slowest = slowest.max(bystander.round_trip(round).await);
    }
    eprintln!(
        "slow subscriber held back after {stalled_at} of {GET_BLOCKS} blocks; slowest bystander \
         round trip {slowest:?}"
    );
    assert_eq!(
        blocks_sent.load(Ordering::Relaxed),
        stalled_at,
        "the relay read on while its replies could not leave"
    );
    if let (Some(before), Some(peak)) = (baseline, relay.peak_resident_kib()) {
        eprintln!("relay resident memory {before} KiB before, peak {peak} KiB");
        assert!(
            peak.saturating_sub(before) < MEMORY_BOUND_KIB,
            "relay grew from {before} KiB to a peak of {peak} KiB"
        );
    }

    // It reads again: every GET gets its answer, in order, after the SUBs'.
    let gets = GET_BLOCKS * GETS_PER_BLOCK;
    let mut answered = 0;
    let mut next_corr = 1u64;
    let draining = Instant::now();
    {
        while answered < gets {
            // Progress, not the whole drain, is bounded in time.
            let Some(Ok(Message::Binary(bytes))) = within("a held-back reply", stream.next()).await
            else {
                panic!("the relay closed the slow subscriber after {answered} answers");
            };
            let inner = opener
                .open(sotto_wire::Block::from_slice(&bytes).unwrap())
                .unwrap();
            for encoded in inner.transmissions() {
                let transmission = Transmission::decode(encoded).unwrap();
                if transmission.corr_id.is_push() {
                    continue;
                }
                let response = Response::from_transmission(&transmission).unwrap();
                let expected = if next_corr <= QUEUES as u64 {
                    next_corr
                } else {
                    1_000 + next_corr - QUEUES as u64
                };
                assert_eq!(
                    transmission.corr_id,
                    CorrId::from_bytes(expected.to_be_bytes())
                );
                next_corr += 1;
                if expected > 1_000 {
                    assert!(matches!(response, Response::Msg { .. }), "{response:?}");
                    answered += 1;
                } else {
                    assert!(matches!(response, Response::Ok { .. }), "{response:?}");
                }
            }
        }
    }
    eprintln!("{gets} held-back replies read in {:?}", draining.elapsed());
    let sink = within("the rest of the GETs", flood).await.unwrap();

    // Then it goes away with its pushes unacknowledged: a new subscriber gets
    // every message that got OK.
    drop((sink, stream));
    let mut receiver = relay.connect().await;
    let subscribed = queues.iter().map(|(queue, _)| queue);
    for result in within("SUB", receiver.connection.subscribe(subscribed)).await {
        result.unwrap();
    }
    let mut delivered: HashMap<usize, HashSet<Vec<u8>>> = HashMap::new();
    let expected: usize = sent.values().map(HashSet::len).sum();
    while delivered.values().map(HashSet::len).sum::<usize>() < expected {
        let delivery = receiver.next_message().await;
        let index = queues
            .iter()
            .position(|(queue, _)| queue.recipient_id() == delivery.recipient_id)
            .unwrap();
        let queue = &queues[index].0;
        delivered
            .entry(index)
            .or_default()
            .insert(open_body(queue, &delivery));
        within("ACK", receiver.connection.ack(queue, delivery.message_id))
            .await
            .unwrap();
    }
    assert_eq!(delivered, sent);
    assert!(
        receiver
            .push_within(Duration::from_millis(200))
            .await
            .is_none()
    );
}

/// A well-behaved client with its own queue.
struct Bystander {
    client: Client,
    queue: RecipientQueue,
    sender: SenderQueue,
}

impl Bystander {
    async fn new(relay: &Relay) -> Bystander {
        let client = relay.connect().await;
        let (queue, sender) = client.secured_queue().await;
        client.connection.subscribe([&queue]).await[0]
            .as_ref()
            .unwrap();
        Bystander {
            client,
            queue,
            sender,
        }
    }

    /// SEND, then the push, then ACK; how long that took.
    async fn round_trip(&mut self, round: u32) -> Duration {
        let started = Instant::now();
        let tag = round.to_be_bytes();
        within("the bystander's SEND", async {
            self.client
                .connection
                .send(&self.sender, body(&tag, 16_000))
                .await
                .unwrap();
        })
        .await;
        let delivery = self.client.next_message().await;
        assert_eq!(open_body(&self.queue, &delivery)[..4], tag);
        within("the bystander's ACK", async {
            self.client
                .connection
                .ack(&self.queue, delivery.message_id)
                .await
                .unwrap();
        })
        .await;
        started.elapsed()
    }

    /// Still answered, within `support::WAIT`.
    async fn still_served(&mut self, round: u32) {
        let _ = self.round_trip(round).await;
    }
}

/// The connection cap.
const CAP: usize = 12;
/// Connections attempted at once beyond it.
const FLOOD: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_outside_and_leave_no_trace() {
    let relay = Relay::start(&["--max-connections", &CAP.to_string()]);
    let mut bystander = Bystander::new(&relay).await;
    let mut held = Vec::new();
    for _ in 0..CAP / 2 - 1 {
        held.push(relay.connect().await);
    }
    let before = relay.resident_kib();

    // A flood of clients that connect and complete the handshake if they can,
    // giving up after a while; the relay takes only what the cap allows.
    // Those that get in stay until every attempt is over, so that none makes
    // room for another.
    let give_up = Duration::from_secs(3);
    let mut attempts = Vec::new();
    for _ in 0..FLOOD {
        let address = relay.address.clone();
        attempts.push(tokio::spawn(async move {
            tokio::time::timeout(give_up, RawSession::open(&address))
                .await
                .ok()
        }));
    }
    // While it lasts, the clients already in are served.
    for round in 0..5 {
        bystander.still_served(round).await;
    }
    let mut sessions = Vec::new();
    for attempt in attempts {
        sessions.extend(within("the flood to give up", attempt).await.unwrap());
    }
    let served = sessions.len();
    drop(sessions);
    eprintln!("{served} of {FLOOD} flooding connections got in under the cap of {CAP}");
    assert!(
        served < CAP - held.len(),
        "{served} connections served past the cap"
    );
    if let (Some(before), Some(after)) = (before, relay.resident_kib()) {
        assert!(
            after.saturating_sub(before) < MEMORY_BOUND_KIB,
            "relay grew from {before} KiB to {after} KiB"
        );
    }

    // Once they are gone, the relay serves newcomers up to the cap again and
    // counts only the connections that are really open.
    for round in 5..8 {
        bystander.still_served(round).await;
    }
    drop(held);
    let newcomers = within("newcomers up to the cap", async {
        let mut newcomers = Vec::new();
        for _ in 0..CAP - 2 {
            newcomers.push(relay.connect().await);
        }
        newcomers
    })
    .await;
    for newcomer in &newcomers {
        within("a newcomer's PING", newcomer.connection.ping())
            .await
            .unwrap();
    }
    drop(newcomers);
    // /metrics shares the cap (it is one more connection).
    let open = within("the connection count to settle", async {
        loop {
            let open = relay.metric("sotto_connections_open").await;
            if open == 1 {
                return open;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(open, 1, "only the bystander is left");
    bystander.still_served(9).await;
}
