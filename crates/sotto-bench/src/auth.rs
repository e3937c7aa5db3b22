//! ERR AUTH timing: the relay's refusals for queues that exist (a command
//! authorized by another key) and for queues that do not, measured side by side.
//!
//! One connection sends one command at a time (authorized before the clock
//! starts) and times each round trip; the two cases alternate in chunks so that
//! the machine's drift falls on both alike, and the relay's CPU time is read
//! around each chunk (per thread, to the nanosecond). SUB (a small transmission)
//! and SEND (a 16,000-byte body, so the authenticator covers a whole block) are
//! measured separately. The relay under test allows unlimited failed
//! authorizations per connection (`--auth-failure-burst`), or it would close the
//! connection after a few.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use sotto_client::relay::{
    ConnectOptions, RecipientQueue, RelayConnection, SenderQueue, random_auth_secret,
};
use sotto_wire::{
    Command, CommandKey, CorrId, ErrorCode, MessageBody, QueueAuthSecret, RecipientId, Response,
    SenderId,
};

use crate::relay_process::RelayProcess;

/// Round trips per chunk of one case.
const CHUNK: usize = 250;
/// Queues the existing case cycles over.
const QUEUES: usize = 32;

/// One case's round trips and relay CPU time.
#[derive(Default)]
pub(crate) struct Timings {
    round_trips: Vec<Duration>,
    relay_cpu: Duration,
}

impl Timings {
    fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.round_trips.clone();
        sorted.sort_unstable();
        let index = ((sorted.len() - 1) as f64 * q).round() as usize;
        sorted[index].as_secs_f64() * 1e6
    }

    fn mean(&self) -> f64 {
        self.round_trips
            .iter()
            .map(Duration::as_secs_f64)
            .sum::<f64>()
            * 1e6
            / self.round_trips.len() as f64
    }

    /// Standard error of the mean, in µs.
    fn standard_error(&self) -> f64 {
        let mean = self.mean();
        let n = self.round_trips.len() as f64;
        let variance = self
            .round_trips
            .iter()
            .map(|rtt| (rtt.as_secs_f64() * 1e6 - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0);
        (variance / n).sqrt()
    }

    fn cpu_per_request(&self) -> f64 {
        self.relay_cpu.as_secs_f64() * 1e6 / self.round_trips.len() as f64
    }

    fn describe(&self) -> String {
        format!(
            "round trip p10 {:.0} µs, p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, mean {:.1} ± {:.1} µs; \
             relay CPU {:.1} µs per request",
            self.quantile(0.10),
            self.quantile(0.50),
            self.quantile(0.90),
            self.quantile(0.99),
            self.mean(),
            self.standard_error(),
            self.cpu_per_request(),
        )
    }
}

/// Measures `requests` refusals of each case for SUB and for SEND; returns
/// summary lines.
pub(crate) async fn measure(relay: &RelayProcess, requests: usize) -> Result<Vec<String>> {
    let options = ConnectOptions::default();
    // The queues are made on another connection than the one measured: a
    // connection keeps decoded the keys that signed on it, which would spare
    // the owner's refusals a point decompression (an attacker has no such keys).
    let (owner, _owner_pushes) = RelayConnection::connect(&relay.address, &options).await?;
    let mut queues = Vec::with_capacity(QUEUES);
    for _ in 0..QUEUES {
        let queue = owner.create_queue(None).await?;
        let sender = SenderQueue::with_new_key(queue.sender_id());
        if let Some(key) = sender.public_key() {
            owner.secure(&queue, &key).await?;
        }
        queues.push((queue, sender));
    }
    let (connection, _pushes) = RelayConnection::connect(&relay.address, &options).await?;
    // Never a key that authorized anything on this connection (the relay keeps
    // those command keys), like an attacker's.
    let wrong_key = random_auth_secret();
    let body = MessageBody::new(vec![0x5a; 16_000])?;
    let mut lines = Vec::new();
    for kind in ["SUB", "SEND"] {
        let command = |index: usize, exists: bool| -> (Command, QueueAuthSecret) {
            let (queue, _): &(RecipientQueue, SenderQueue) = &queues[index % QUEUES];
            match (kind, exists) {
                ("SUB", true) => (
                    Command::Sub {
                        recipient_id: queue.recipient_id(),
                    },
                    wrong_key.clone(),
                ),
                ("SUB", false) => (
                    Command::Sub {
                        recipient_id: RecipientId::from_bytes(random()),
                    },
                    wrong_key.clone(),
                ),
                (_, true) => (
                    Command::send(queue.sender_id(), body.clone()),
                    wrong_key.clone(),
                ),
                (_, false) => (
                    Command::send(SenderId::from_bytes(random()), body.clone()),
                    wrong_key.clone(),
                ),
            }
        };
        let mut existing = Timings::default();
        let mut missing = Timings::default();
        let mut done = 0;
        // Warm-up, not recorded.
        let mut scratch = Timings::default();
        run_chunk(&connection, relay, &mut scratch, |i| command(i, true)).await?;
        run_chunk(&connection, relay, &mut scratch, |i| command(i, false)).await?;
        while done < requests {
            run_chunk(&connection, relay, &mut existing, |i| command(i, true)).await?;
            run_chunk(&connection, relay, &mut missing, |i| command(i, false)).await?;
            done += CHUNK;
        }
        let line = format!(
            "ERR AUTH, {kind}, queue exists (another key): {}",
            existing.describe()
        );
        eprintln!("  {line}");
        lines.push(line);
        let line = format!("ERR AUTH, {kind}, no such queue: {}", missing.describe());
        eprintln!("  {line}");
        lines.push(line);
        let difference = existing.mean() - missing.mean();
        let error = (existing.standard_error().powi(2) + missing.standard_error().powi(2)).sqrt();
        let line = format!(
            "ERR AUTH, {kind}: exists − missing: p50 {:+.1} µs, mean {difference:+.1} ± {error:.1} µs, \
             relay CPU {:+.1} µs per request ({} requests each)",
            existing.quantile(0.5) - missing.quantile(0.5),
            existing.cpu_per_request() - missing.cpu_per_request(),
            existing.round_trips.len(),
        );
        eprintln!("  {line}");
        lines.push(line);
    }
    Ok(lines)
}

/// [`CHUNK`] round trips of one case, one at a time.
async fn run_chunk(
    connection: &RelayConnection,
    relay: &RelayProcess,
    timings: &mut Timings,
    command: impl Fn(usize) -> (Command, QueueAuthSecret),
) -> Result<()> {
    let parameters = connection.parameters();
    let cpu_before = relay.thread_cpu_time()?;
    for index in 0..CHUNK {
        let (command, secret) = command(index);
        let key = CommandKey::for_client(
            &secret,
            &parameters.relay_session_key,
            &parameters.session_id,
        )?;
        // The connection draws a fresh random correlation id for the push id.
        let transmission = command.to_authorized_transmission(CorrId::PUSH, &key);
        let started = Instant::now();
        let response = connection
            .submit_transmission(transmission)
            .await?
            .response()
            .await?;
        timings.round_trips.push(started.elapsed());
        if !matches!(
            response,
            Response::Err {
                code: ErrorCode::Auth,
                ..
            }
        ) {
            bail!("expected ERR AUTH, got {response:?}");
        }
    }
    timings.relay_cpu += relay.thread_cpu_time()?.saturating_sub(cpu_before);
    Ok(())
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    bytes
}
