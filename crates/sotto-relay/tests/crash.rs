//! SIGKILL during a storm of sends: every message the relay acknowledged with OK
//! is delivered after a restart (exactly once after dropping duplicates by
//! message id), and nothing is delivered that no sender sent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sotto_client::ClientError;
use sotto_client::relay::{Push, RecipientQueue, SenderQueue};
use sotto_wire::{ErrorCode, MessageBody, MessageContent, MessageId};
use support::{Client, Relay, within};

const SENDERS: usize = 4;
const QUEUES_PER_SENDER: usize = 4;
const MESSAGES_PER_SENDER: u32 = 5_000;
/// The relay is killed once this many sends got OK, while the rest are in flight.
const KILL_AFTER_OKS: usize = 2_500;
/// Sends each sender keeps in flight.
const WINDOW: usize = 48;

/// What the senders did: ids they tried to send, and ids the relay acknowledged.
#[derive(Default)]
struct Ledger {
    attempted: HashSet<u64>,
    acknowledged: HashSet<u64>,
}

/// A payload that names itself: `sender u32 | sequence u32 | filler`.
fn payload(sender: usize, sequence: u32) -> (u64, MessageBody) {
    let id = ((sender as u64) << 32) | u64::from(sequence);
    let mut bytes = id.to_be_bytes().to_vec();
    bytes.resize(200 + (sequence as usize % 300), 0x33);
    (id, MessageBody::new(bytes).unwrap())
}

async fn send_storm(
    client: Client,
    sender: usize,
    queues: Vec<SenderQueue>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut in_flight = VecDeque::new();
    let settle = |(id, outcome): (u64, Result<(), ClientError>)| match outcome {
        Ok(()) => {
            ledger.lock().unwrap().acknowledged.insert(id);
            true
        }
        // The relay died: the send may or may not be stored; not claimed as sent.
        Err(ClientError::Closed | ClientError::Timeout) => false,
        Err(ClientError::Refused(ErrorCode::Internal)) => false,
        Err(other) => panic!("unexpected send failure: {other}"),
    };
    for sequence in 0..MESSAGES_PER_SENDER {
        let (id, body) = payload(sender, sequence);
        ledger.lock().unwrap().attempted.insert(id);
        let queue = &queues[sequence as usize % queues.len()];
        match client.connection.submit_send(queue, body).await {
            Ok(pending) => in_flight.push_back((id, pending)),
            Err(_) => break,
        }
        if in_flight.len() >= WINDOW {
            let (id, pending) = in_flight.pop_front().unwrap();
            if !settle((id, pending.ok("SEND").await)) {
                break;
            }
        }
    }
    // Answers that arrived before the relay died still count.
    for (id, pending) in in_flight {
        settle((id, pending.ok("SEND").await));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_message_is_lost_when_the_relay_is_killed() {
    let mut relay = Relay::start(&["--queue-quota", "100000"]);
    let owner = relay.connect().await;
    let mut queues: Vec<RecipientQueue> = Vec::new();
    let mut sender_queues = Vec::new();
    for _ in 0..SENDERS {
        let mut own = Vec::new();
        for _ in 0..QUEUES_PER_SENDER {
            let (queue, sender) = owner.secured_queue().await;
            queues.push(queue);
            own.push(sender);
        }
        sender_queues.push(own);
    }
    drop(owner);

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut storms = Vec::new();
    for (index, own) in sender_queues.into_iter().enumerate() {
        let client = relay.connect().await;
        storms.push(tokio::spawn(send_storm(client, index, own, ledger.clone())));
    }
    let started = Instant::now();
    loop {
        let acknowledged = ledger.lock().unwrap().acknowledged.len();
        if acknowledged >= KILL_AFTER_OKS {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "only {acknowledged} sends acknowledged in a minute"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    relay.kill();
    for storm in storms {
        within("the senders to notice", storm).await.unwrap();
    }
    let (attempted, acknowledged) = {
        let ledger = ledger.lock().unwrap();
        (ledger.attempted.clone(), ledger.acknowledged.clone())
    };
    assert!(acknowledged.len() >= KILL_AFTER_OKS);
    assert!(
        attempted.len() > acknowledged.len(),
        "the kill came after every send was acknowledged: nothing was in flight"
    );

    relay.restart();
    let mut recipient = relay.connect().await;
    let results = recipient.connection.subscribe(&queues).await;
    assert!(results.iter().all(Result::is_ok));
    let by_recipient: HashMap<_, _> = queues
        .iter()
        .map(|queue| (queue.recipient_id(), queue))
        .collect();
    let mut delivered: HashMap<u64, MessageId> = HashMap::new();
    let mut message_ids = HashSet::new();
    let mut acks = Vec::new();
    let mut duplicates = 0;
    while let Some(push) = recipient.push_within(Duration::from_secs(3)).await {
        let Push::Message(delivery) = push else {
            panic!("unexpected push {push:?}");
        };
        let queue = by_recipient[&delivery.recipient_id];
        let MessageContent::Body(body) = queue.open(&delivery).unwrap().content else {
            panic!("no quota was configured to be reached");
        };
        let id = u64::from_be_bytes(body.as_bytes()[..8].try_into().unwrap());
        assert!(attempted.contains(&id), "delivered a message nobody sent");
        if !message_ids.insert(delivery.message_id) {
            duplicates += 1;
        } else if let Some(previous) = delivered.insert(id, delivery.message_id) {
            panic!(
                "one send stored twice: {previous:?} and {:?}",
                delivery.message_id
            );
        }
        acks.push(
            recipient
                .connection
                .submit(
                    &sotto_wire::Command::Ack {
                        recipient_id: delivery.recipient_id,
                        message_id: delivery.message_id,
                    },
                    Some(queue.auth_key()),
                )
                .await
                .unwrap(),
        );
    }
    for ack in acks {
        ack.response().await.unwrap();
    }
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !delivered.contains_key(id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages were lost",
        lost.len(),
        acknowledged.len()
    );
    eprintln!(
        "crash test: {} sends attempted, {} acknowledged before SIGKILL, {} delivered after \
         restart ({} unacknowledged but stored), {duplicates} redelivered duplicates",
        attempted.len(),
        acknowledged.len(),
        delivered.len(),
        delivered.len() - acknowledged.len(),
    );
    // Everything is acknowledged now: nothing is left on the relay.
    for queue in &queues {
        assert_eq!(recipient.connection.get(queue).await.unwrap(), None);
    }
}
