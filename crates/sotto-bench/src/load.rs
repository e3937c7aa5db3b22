//! What the delivery drivers share, so that Sotto and durable Redis are loaded
//! and measured alike: the shape of a run, the submit time each payload starts
//! with, and the summary of the latencies counted in the measurement window.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// The shape of a delivery run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) connections: usize,
    pub(crate) queues: usize,
    pub(crate) body_size: usize,
    pub(crate) window: usize,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) delivered_per_second: f64,
    pub(crate) sent_per_second: f64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
    pub(crate) send_errors: u64,
}

impl Outcome {
    /// The outcome of a run measured for `measure`: `latencies` (ns) of the
    /// messages delivered inside the window, `sent` sends acknowledged for
    /// messages submitted inside it.
    pub(crate) fn measured(
        mut latencies: Vec<u64>,
        sent: u64,
        send_errors: u64,
        measure: Duration,
    ) -> Result<Outcome> {
        if latencies.is_empty() {
            bail!("nothing was delivered");
        }
        latencies.sort_unstable();
        let seconds = measure.as_secs_f64();
        let percentile = |p: f64| {
            let index = ((latencies.len() as f64 * p) as usize).min(latencies.len() - 1);
            Duration::from_nanos(latencies[index])
        };
        Ok(Outcome {
            delivered_per_second: latencies.len() as f64 / seconds,
            sent_per_second: sent as f64 / seconds,
            p50: percentile(0.50),
            p99: percentile(0.99),
            max: percentile(1.0),
            send_errors,
        })
    }
}

/// Bytes of the submit time at the start of every payload.
pub(crate) const STAMP_LEN: usize = 8;

/// The submit time `at` as a payload starts with it: nanoseconds since
/// `epoch`, big-endian. Senders and recipients live in this process, so
/// latency is measured on one clock.
pub(crate) fn stamp(epoch: Instant, at: Instant) -> [u8; STAMP_LEN] {
    let nanos = u64::try_from(at.duration_since(epoch).as_nanos()).unwrap_or(u64::MAX);
    nanos.to_be_bytes()
}

/// Nanoseconds from the submit time `payload` starts with to `at`, when the
/// recipient has it; `None` for a payload too short to carry one.
pub(crate) fn latency(epoch: Instant, payload: &[u8], at: Instant) -> Option<u64> {
    let bytes: [u8; STAMP_LEN] = payload.get(..STAMP_LEN)?.try_into().ok()?;
    let sent_at = u64::from_be_bytes(bytes);
    let now = u64::try_from(at.duration_since(epoch).as_nanos()).unwrap_or(u64::MAX);
    Some(now.saturating_sub(sent_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_reads_back_the_stamp() {
        let epoch = Instant::now();
        let sent = epoch + Duration::from_millis(3);
        let mut payload = vec![0; 100];
        payload[..STAMP_LEN].copy_from_slice(&stamp(epoch, sent));
        let received = sent + Duration::from_micros(250);
        assert_eq!(latency(epoch, &payload, received), Some(250_000));
        assert_eq!(latency(epoch, &payload[..7], received), None);
    }

    #[test]
    fn outcome_takes_percentiles_of_the_window() {
        let latencies = (1..=100).map(|ms| ms * 1_000_000).collect();
        let outcome = Outcome::measured(latencies, 50, 0, Duration::from_secs(10)).unwrap();
        assert_eq!(outcome.delivered_per_second, 10.0);
        assert_eq!(outcome.sent_per_second, 5.0);
        assert_eq!(outcome.p50, Duration::from_millis(51));
        assert_eq!(outcome.max, Duration::from_millis(100));
        assert!(Outcome::measured(Vec::new(), 0, 0, Duration::from_secs(1)).is_err());
    }
}
