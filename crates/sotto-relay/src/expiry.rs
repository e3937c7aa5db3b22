//! The expiry sweep: deletes messages older than the TTL (and, in the log
//! store, queues unused for too long, then reclaims space), at start and then
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

/// Sweeps now, then every `interval`, until `shutdown` turns true. A fatal
/// store error raises `failure` (the relay stops) and ends the sweeps.
pub async fn run(
    storage: Arc<dyn Storage>,
    metrics: Arc<Metrics>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
    failure: watch::Sender<bool>,
) {
    loop {
        if !sweep(&storage, &metrics, &mut shutdown).await {
            failure.send_replace(true);
            return;
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// One sweep; `false` if the store failed fatally.
async fn sweep(
    storage: &Arc<dyn Storage>,
    metrics: &Metrics,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
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
                    return true;
                }
            }
            Ok(Err(error)) if error.is_fatal() => {
                tracing::error!(%error, "stopping the relay: the store failed");
                return false;
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "expiry sweep failed");
                return true;
            }
            Err(_) => return true,
        }
    }
    true
}
