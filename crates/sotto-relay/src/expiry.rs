//! The expiry sweep: deletes messages older than the TTL (and, in the log
//! store, queues unused for too long, then reclaims space), at start and then
//! periodically. Reads already skip expired messages, so the sweep only reclaims
//! space and quota; being driven by the stored accept time, it also catches up
//! after a restart.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::chunk_files::ChunkFiles;
use crate::clock::unix_now;
use crate::metrics::Metrics;
use crate::store::Storage;

/// Messages deleted per transaction, so a large backlog does not stall writers.
const SWEEP_BATCH: usize = 4096;

/// Sweeps now, then every `interval`, until `shutdown` turns true. A fatal
/// store error raises `failure` (the relay stops) and ends the sweeps.
pub async fn run(
    storage: Arc<dyn Storage>,
    chunk_files: Arc<ChunkFiles>,
    metrics: Arc<Metrics>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
    failure: watch::Sender<bool>,
) {
    loop {
        if !sweep(&storage, &metrics, &mut shutdown).await
            || !sweep_chunks(&storage, &chunk_files, &metrics).await
        {
            failure.send_replace(true);
            return;
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// Forgets the file chunks expired now and deletes their files; `false` if
/// the store failed fatally. A file left behind (a failed deletion) goes when
/// the relay starts again.
async fn sweep_chunks(
    storage: &Arc<dyn Storage>,
    chunk_files: &Arc<ChunkFiles>,
    metrics: &Metrics,
) -> bool {
    let storage = Arc::clone(storage);
    let files = Arc::clone(chunk_files);
    let swept = tokio::task::spawn_blocking(move || {
        let expired = storage.expire_chunks(unix_now())?;
        for file in &expired {
            files.remove(*file)?;
        }
        Ok::<_, crate::Error>(expired.len() as u64)
    })
    .await;
    match swept {
        Ok(Ok(expired)) => {
            metrics.count_expired_chunks(expired);
            true
        }
        Ok(Err(error)) if error.is_fatal() => {
            tracing::error!(%error, "stopping the relay: the store failed");
            false
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "expiry sweep of file chunks failed");
            true
        }
        Err(_) => true,
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
