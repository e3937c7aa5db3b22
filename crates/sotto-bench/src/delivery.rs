//! End-to-end delivery through the relay: sender connections SEND (OK once the
//! message is on disk), the relay pushes each message to its subscribed
//! recipient, which opens it and ACKs it. Latency is from the sender's submit to
//! the recipient's push, measured on one clock (both ends live in this process).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sotto_client::relay::{ConnectOptions, Push, RecipientQueue, RelayConnection, SenderQueue};
use sotto_wire::{Command, MessageBody, MessageContent, RecipientId, RelayAddress};
use tokio::sync::{Semaphore, mpsc, watch};

use crate::load::{self, Outcome, Shape};

/// Connected senders and recipients over `shape.queues` secured, subscribed queues.
pub(crate) struct Fleet {
    senders: Vec<(Arc<RelayConnection>, Vec<SenderQueue>)>,
    recipients: Vec<(
        Arc<RelayConnection>,
        mpsc::Receiver<Push>,
        Vec<RecipientQueue>,
    )>,
    shape: Shape,
    epoch: Instant,
}

impl Fleet {
    pub(crate) async fn connect(address: &RelayAddress, shape: Shape) -> Result<Fleet> {
        let options = ConnectOptions {
            push_capacity: 4096,
            send_capacity: 4096,
            ..ConnectOptions::default()
        };
        let mut senders = Vec::new();
        let mut recipients = Vec::new();
        for _ in 0..shape.connections {
            let (sender, _) = RelayConnection::connect(address, &options).await?;
            senders.push((Arc::new(sender), Vec::new()));
            let (recipient, pushes) = RelayConnection::connect(address, &options).await?;
            recipients.push((Arc::new(recipient), pushes, Vec::new()));
        }
        for index in 0..shape.queues {
            let slot = index % shape.connections;
            let recipient = &recipients[slot].0;
            let queue = recipient.create_queue(None).await?;
            let sender = SenderQueue::with_new_key(queue.sender_id());
            let key = sender.public_key().context("sender key")?;
            recipient.secure(&queue, &key).await?;
            senders[slot].1.push(sender);
            recipients[slot].2.push(queue);
        }
        for (connection, _, queues) in &recipients {
            for result in connection.subscribe(queues.iter()).await {
                result?;
            }
        }
        Ok(Fleet {
            senders,
            recipients,
            shape,
            epoch: Instant::now(),
        })
    }

    /// Runs senders for `warmup + measure` (at `rate` messages/s in total, or as
    /// fast as the window allows when `None`), counting what is delivered during
    /// `measure`. The fleet is consumed: queues may hold messages afterwards.
    pub(crate) async fn run(
        self,
        rate: Option<f64>,
        warmup: Duration,
        measure: Duration,
    ) -> Result<Outcome> {
        let Fleet {
            senders,
            recipients,
            shape,
            epoch,
        } = self;
        let window_start = Instant::now() + warmup;
        let window_end = window_start + measure;
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let (done, done_signal) = watch::channel(false);

        let mut receiving = Vec::new();
        for (connection, pushes, queues) in recipients {
            receiving.push(tokio::spawn(receive(
                connection,
                pushes,
                queues,
                epoch,
                (window_start, window_end),
                done_signal.clone(),
            )));
        }
        let mut sending = Vec::new();
        let per_sender = rate.map(|rate| rate / shape.connections as f64);
        for (connection, queues) in senders {
            sending.push(tokio::spawn(send(
                connection,
                queues,
                shape,
                per_sender,
                epoch,
                Arc::clone(&stop),
                (window_start, window_end, Arc::clone(&sent)),
                Arc::clone(&errors),
            )));
        }
        tokio::time::sleep_until(window_end.into()).await;
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
            sent.load(Ordering::Relaxed),
            errors.load(Ordering::Relaxed),
            measure,
        )
    }
}

#[allow(clippy::too_many_arguments)]
async fn send(
    connection: Arc<RelayConnection>,
    queues: Vec<SenderQueue>,
    shape: Shape,
    rate: Option<f64>,
    epoch: Instant,
    stop: Arc<AtomicBool>,
    (window_start, window_end, sent): (Instant, Instant, Arc<AtomicU64>),
    errors: Arc<AtomicU64>,
) {
    let window = Arc::new(Semaphore::new(shape.window));
    let started = Instant::now();
    let mut count: u64 = 0;
    let mut filler = vec![0x5a; shape.body_size.max(8)];
    while !stop.load(Ordering::Relaxed) {
        if let Some(rate) = rate {
            let due = started + Duration::from_secs_f64(count as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let Ok(permit) = Arc::clone(&window).acquire_owned().await else {
            break;
        };
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let queue = &queues[(count as usize) % queues.len()];
        let now = Instant::now();
        filler[..load::STAMP_LEN].copy_from_slice(&load::stamp(epoch, now));
        let Ok(body) = MessageBody::new(filler.clone()) else {
            break;
        };
        count += 1;
        match connection.submit_send(queue, body).await {
            Ok(pending) => {
                let errors = Arc::clone(&errors);
                let sent = Arc::clone(&sent);
                tokio::spawn(async move {
                    if pending.ok("SEND").await.is_err() {
                        errors.fetch_add(1, Ordering::Relaxed);
                    } else if (window_start..window_end).contains(&now) {
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    drop(permit);
                });
            }
            Err(_) => {
                errors.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
    // Wait for the sends in flight, so that none is cut off by the end of the run.
    let all = u32::try_from(shape.window).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(30), window.acquire_many(all)).await;
}

/// Receives, opens and ACKs pushes; returns the latencies (ns) of the messages
/// delivered inside the measurement window.
async fn receive(
    connection: Arc<RelayConnection>,
    mut pushes: mpsc::Receiver<Push>,
    queues: Vec<RecipientQueue>,
    epoch: Instant,
    (window_start, window_end): (Instant, Instant),
    mut done: watch::Receiver<bool>,
) -> Vec<u64> {
    let by_id: HashMap<RecipientId, RecipientQueue> = queues
        .into_iter()
        .map(|queue| (queue.recipient_id(), queue))
        .collect();
    let mut latencies = Vec::new();
    loop {
        let push = tokio::select! {
            push = pushes.recv() => push,
            _ = done.changed() => None,
        };
        let Some(Push::Message(delivery)) = push else {
            break;
        };
        let now = Instant::now();
        let Some(queue) = by_id.get(&delivery.recipient_id) else {
            continue;
        };
        if let Ok(message) = queue.open(&delivery)
            && let MessageContent::Body(body) = message.content
            && (window_start..window_end).contains(&now)
            && let Some(latency) = load::latency(epoch, body.as_bytes(), now)
        {
            latencies.push(latency);
        }
        let ack = Command::Ack {
            recipient_id: delivery.recipient_id,
            message_id: delivery.message_id,
        };
        // The response is not awaited: the next push proves the ACK arrived.
        if connection
            .submit(&ack, Some(queue.auth_key()))
            .await
            .is_err()
        {
            break;
        }
    }
    latencies
}
