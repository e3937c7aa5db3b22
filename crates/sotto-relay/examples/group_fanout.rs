//! One group log entry delivered to N subscribed readers through one relay:
//! connects N reader connections (spread over source addresses 127.0.0.x, 60
//! each, under the relay's per-address limit), subscribes each to one log,
//! then appends an entry on a writer connection and measures the append (GAPP
//! to GSEQ: the entry is on disk) and the time until the last reader has its
//! push (GAPP sent to the last GENT received). Three appends, one after the
//! other once every reader has the previous one; prints each and the median.
//! Run a release relay first, with room for the connections:
//!
//! ```text
//! cargo build --release -p sotto-relay --bin sotto-relay --example group_fanout
//! target/release/sotto-relay --data /tmp/relay-data --max-connections 12000 &
//! target/release/examples/group_fanout 'sotto+ws://…@127.0.0.1:7000' 1000
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sotto_client::relay::{ConnectOptions, GroupReader, Push, RelayConnection};
use sotto_wire::{GROUP_ENTRY_LEN, GroupEntry, RelayAddress};
use tokio::sync::{Semaphore, mpsc};

/// Connections per source address (the relay allows 64 by default).
const PER_ADDRESS: usize = 60;
/// Connections being opened at once.
const CONNECTING: usize = 64;
/// Appends measured.
const ROUNDS: u64 = 3;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let address: RelayAddress = args.next().expect("relay address").parse().unwrap();
    let readers: usize = args.next().map_or(100, |text| text.parse().unwrap());
    let options = |n: usize| ConnectOptions {
        local_address: Some(IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            (n / PER_ADDRESS / 250) as u8,
            (n / PER_ADDRESS % 250) as u8 + 1,
        ))),
        read_buffer_size: sotto_wire::BLOCK_SIZE,
        connect_timeout: Duration::from_secs(60),
        ..ConnectOptions::default()
    };
    let (writer, _pushes) = RelayConnection::connect(&address, &options(readers))
        .await
        .unwrap();
    let log = writer.create_group_log(None).await.unwrap();

    // Each reader reports (sequence number, when its push arrived).
    let (arrivals, mut arrived) = mpsc::unbounded_channel();
    let connecting = Arc::new(Semaphore::new(CONNECTING));
    let started = Instant::now();
    let mut subscribed = Vec::with_capacity(readers);
    for n in 0..readers {
        let address = address.clone();
        let options = options(n);
        let reader: GroupReader = log.reader.clone();
        let arrivals = arrivals.clone();
        let permit = Arc::clone(&connecting).acquire_owned().await.unwrap();
        subscribed.push(tokio::spawn(async move {
            let (connection, mut pushes) =
                RelayConnection::connect(&address, &options).await.unwrap();
            connection.subscribe_group_log(&reader).await.unwrap();
            drop(permit);
            tokio::spawn(async move {
                // The connection lives as long as this task.
                let _connection = connection;
                while let Some(push) = pushes.recv().await {
                    if let Push::GroupEntry { seq, .. } = push {
                        let _ = arrivals.send((seq, Instant::now()));
                    }
                }
            });
        }));
    }
    for task in subscribed {
        task.await.unwrap();
    }
    println!(
        "{readers} readers connected and subscribed in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut appends = Vec::new();
    let mut deliveries = Vec::new();
    for round in 1..=ROUNDS {
        let mut bytes = vec![round as u8; GROUP_ENTRY_LEN];
        bytes[..8].copy_from_slice(&round.to_be_bytes());
        let entry = GroupEntry::new(bytes).unwrap();
        let sent = Instant::now();
        let seq = writer.append_group_entry(&log.writer, entry).await.unwrap();
        let append = sent.elapsed();
        let mut last = sent;
        let mut received = 0;
        while received < readers {
            let (pushed, at) = arrived.recv().await.unwrap();
            if pushed == seq {
                received += 1;
                last = last.max(at);
            }
        }
        let delivery = last - sent;
        println!(
            "append {seq}: GSEQ after {:.2} ms, the last of {readers} readers had it after {:.1} ms",
            ms(append),
            ms(delivery)
        );
        appends.push(append);
        deliveries.push(delivery);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    appends.sort();
    deliveries.sort();
    println!(
        "median of {ROUNDS}: append {:.2} ms, last reader {:.1} ms",
        ms(appends[appends.len() / 2]),
        ms(deliveries[deliveries.len() / 2])
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
