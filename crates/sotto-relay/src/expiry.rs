//! The expiry sweep: deletes messages older than the TTL, at start and then
//! periodically. Reads already skip expired messages, so the sweep only reclaims
//! space and quota; being driven by the stored accept time, it also catches up
//! after a restart.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::clock::unix_now;
use crate::metrics::Metrics;
use crate::store::Storage;

/// Messages deleted per transaction, so a large backlog does not stall writers.
const SWEEP_BATCH: usize = 4096;

/// Sweeps now, then every `interval`, until `shutdown` turns true.
pub async fn run(
    storage: Arc<dyn Storage>,
    metrics: Arc<Metrics>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        sweep(&storage, &metrics, &mut shutdown).await;
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

async fn sweep(
    storage: &Arc<dyn Storage>,
    metrics: &Metrics,
    shutdown: &mut watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        let storage = Arc::clone(storage);
        let swept =
            tokio::task::spawn_blocking(move || storage.expire(unix_now(), SWEEP_BATCH)).await;
        match swept {
            Ok(Ok(expired)) => {
                metrics.count_expired(expired);
                if expired > 0 {
                    tracing::debug!(expired, "expired messages deleted");
                }
                if expired < SWEEP_BATCH as u64 {
                    return;
                }
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "expiry sweep failed");
                return;
            }
            Err(_) => return,
        }
    }
}
