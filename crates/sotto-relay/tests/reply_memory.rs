//! Reply memory against the real relay: what a connection may have waiting is
//! bounded in bytes, whatever its blocks ask for (one block of 162 GETs on a
//! queue holding a 16,000-byte message asks for 2.5 MiB of replies), and a
//! client that stops reading is cut off with a TCP reset, so that the kernel
//! drops what it still buffers for it.
//!
//! `measure_reply_memory` (ignored) prints the figures of docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sotto_wire::{Command, CorrId, InnerBlock};
use support::wire::{self, QueueOwner, send_command};
use support::{RawSession, Relay, within};

use tokio_tungstenite::tungstenite::{self, Message};

/// The body of the message every GET fetches.
const BODY: usize = 16_000;

/// A queue holding one message of [`BODY`] bytes.
async fn queue_with_a_large_message(relay: &Relay) -> QueueOwner {
    let mut client = wire::Client::connect(&relay.address).await.unwrap();
    let owner = QueueOwner::create(&mut client).await;
    let reply = client
        .request(&send_command(owner.sender_id, &vec![7; BODY]), None)
        .await;
    assert!(
        matches!(reply, sotto_wire::Response::Ok { .. }),
        "{reply:?}"
    );
    owner
}

/// Blocks, each as full of GETs on `owner`'s queue as a block holds (162),
/// sealed for `session`.
fn get_blocks(session: &mut RawSession, owner: &QueueOwner, blocks: usize) -> Vec<Message> {
    let key = session.command_key(&owner.auth_key);
    let mut corr = 0u64;
    let mut sealed = Vec::new();
    for _ in 0..blocks {
        let mut gets = InnerBlock::new();
        loop {
            corr += 1;
            let command = Command::Get {
                recipient_id: owner.recipient_id,
            };
            let transmission =
                command.to_authorized_transmission(CorrId::from_bytes(corr.to_be_bytes()), &key);
            if !gets.fits(transmission.encoded_len()) {
                break;
            }
            gets.push(&transmission).unwrap();
        }
        sealed.push(Message::binary(
            session.transport.seal(&gets).unwrap().into_vec(),
        ));
    }
    sealed
}

/// A client that sends `blocks` blocks of GETs and never reads: it holds its
/// connection open until the relay ends it, then reports how it ended (the
/// first thing its socket gives once it reads: a close frame or an error).
async fn flood_without_reading(
    relay: &Relay,
    owner: &QueueOwner,
    blocks: usize,
    read_after: Duration,
) -> tokio::task::JoinHandle<Option<Result<Message, tungstenite::Error>>> {
    let mut session = RawSession::open(&relay.address).await;
    let sealed = get_blocks(&mut session, owner, blocks);
    let mut socket = session.socket;
    tokio::spawn(async move {
        for block in sealed {
            // Blocks once the relay stops reading; fails once it reset.
            match tokio::time::timeout(read_after, socket.send(block)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => break,
            }
        }
        tokio::time::sleep(read_after).await;
        // Now read: skip the replies that did arrive, report the end.
        loop {
            match socket.next().await {
                Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => continue,
                other => return other,
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_waiting_per_connection_are_bounded_in_bytes() {
    const CONNECTIONS: usize = 24;
    let relay = Relay::start(&["--stall-timeout", "1h"]);
    let owner = queue_with_a_large_message(&relay).await;
    let baseline = relay.resident_kib().unwrap();
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        clients.push(flood_without_reading(&relay, &owner, 4, Duration::from_secs(3600)).await);
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let grown = relay.resident_kib().unwrap().saturating_sub(baseline);
    eprintln!("{CONNECTIONS} connections flooding GETs without reading: relay grew by {grown} KiB");
    // Each may have 16 blocks (256 KiB) of replies waiting plus its buffers;
    // without the bound, each pinned 2.5 MiB per block of GETs it had read.
    assert!(
        grown < 1024 * CONNECTIONS as u64,
        "the relay grew by {grown} KiB for {CONNECTIONS} connections"
    );
    // And the relay still serves everyone else.
    let other = relay.connect().await;
    within("NEW", other.connection.create_queue(None))
        .await
        .unwrap();
    for client in clients {
        client.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_reset_at_the_stall_timeout() {
    let relay = Relay::start(&["--stall-timeout", "2s"]);
    let owner = queue_with_a_large_message(&relay).await;
    let client = flood_without_reading(&relay, &owner, 8, Duration::from_secs(4)).await;
    let end = within("the stalled client to be cut off", client)
        .await
        .unwrap();
    match end {
        Some(Err(tungstenite::Error::Io(error))) => {
            assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
        }
        other => panic!("expected a reset, got {other:?}"),
    }
    within("the connection to be gone", async {
        while relay.metric("sotto_connections_open").await > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

/// The resident memory of the relay and the bytes the kernel holds for its
/// sockets (receive and send queues, orphans included), while `N` clients
/// (default 120) each send one block of 162 GETs on a 16,000-byte message and
/// never read, and after the relay has ended their connections (they stay
/// open on the client side). Extra relay options come from
/// `SOTTO_MEASURE_RELAY_ARGS`. See docs/benchmarks.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; prints figures"]
async fn measure_reply_memory() {
    let count: usize = std::env::var("N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(120);
    let extra = std::env::var("SOTTO_MEASURE_RELAY_ARGS").unwrap_or_default();
    let mut args: Vec<&str> = vec!["--max-connections", "100000"];
    args.extend(extra.split_whitespace());
    let relay = Relay::start(&args);
    let owner = queue_with_a_large_message(&relay).await;
    let port = relay.address.port;
    let report = |when: &str| {
        let rss = relay.resident_kib().unwrap();
        let (sockets, kib) = socket_memory_kib(port);
        eprintln!("{when}: relay RSS {rss} KiB; {sockets} relay sockets hold {kib} KiB");
    };
    report("start");
    let mut clients = Vec::new();
    for _ in 0..count {
        let mut session = RawSession::open(&relay.address).await;
        let block = get_blocks(&mut session, &owner, 1).remove(0);
        session.socket.send(block).await.unwrap();
        clients.push(session);
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    report(&format!(
        "{count} clients, one block of GETs each, not reading"
    ));
    let wait = std::env::var("WAIT_AFTER")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    tokio::time::sleep(Duration::from_secs(wait)).await;
    report(&format!("{wait} s later"));
    drop(clients);
}

/// Sockets with local port `port` (the relay's side) and the bytes queued in
/// them, from `ss -tmn`: `r` (receive) plus `w` (send queue) of each.
fn socket_memory_kib(port: u16) -> (usize, u64) {
    let output = std::process::Command::new("ss")
        .args(["-tmn", "state", "all", "sport", "=", &format!(":{port}")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let mut sockets = 0usize;
    let mut bytes = 0u64;
    for line in text.lines() {
        let Some(start) = line.find("skmem:(") else {
            continue;
        };
        sockets += 1;
        let fields = &line[start + 7..];
        for field in fields.trim_end_matches(')').split(',') {
            let number = |prefix: &str| {
                field
                    .strip_prefix(prefix)
                    .filter(|rest| rest.chars().all(|c| c.is_ascii_digit()))
                    .and_then(|rest| rest.parse::<u64>().ok())
            };
            if let Some(value) = number("r").or_else(|| number("w")) {
                bytes += value;
            }
        }
    }
    // The listening socket is one of them.
    (sockets.saturating_sub(1), bytes / 1024)
}
