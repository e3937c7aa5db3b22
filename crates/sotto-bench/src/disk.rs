//! The disk's own ceiling: 16 KiB records appended to a file with one fsync per
//! batch, the same work group commit asks of the disk without any database.

use std::fs::OpenOptions;
use std::io::{Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Size of one record: a block.
pub(crate) const RECORD: usize = sotto_wire::BLOCK_SIZE;

/// What the disk did: records per second, and the fsync latencies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ceiling {
    pub(crate) records_per_second: f64,
    pub(crate) fsync_p50: Duration,
    pub(crate) fsync_p99: Duration,
    pub(crate) fsync_max: Duration,
}

/// Records per second written to `dir` in batches of `batch`, for `duration`.
pub(crate) fn ceiling(dir: &Path, batch: usize, duration: Duration) -> Result<Ceiling> {
    let path = dir.join("disk-ceiling.bin");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    let record = vec![0xa5; RECORD];
    let mut batch_buffer = Vec::with_capacity(RECORD * batch);
    let started = Instant::now();
    let mut records = 0u64;
    let mut written = 0u64;
    let mut syncs = Vec::new();
    while started.elapsed() < duration {
        batch_buffer.clear();
        for _ in 0..batch {
            batch_buffer.extend_from_slice(&record);
        }
        file.write_all(&batch_buffer)?;
        let sync_started = Instant::now();
        file.sync_data()?;
        syncs.push(sync_started.elapsed());
        records += batch as u64;
        written += batch_buffer.len() as u64;
        // Keep the file bounded: rewrite from the start past 1 GiB.
        if written > 1 << 30 {
            file.set_len(0)?;
            file.rewind()?;
            written = 0;
        }
    }
    let records_per_second = records as f64 / started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(&path).ok();
    syncs.sort_unstable();
    let at = |p: f64| {
        let index = ((syncs.len() as f64 * p) as usize).min(syncs.len().saturating_sub(1));
        syncs.get(index).copied().unwrap_or_default()
    };
    Ok(Ceiling {
        records_per_second,
        fsync_p50: at(0.5),
        fsync_p99: at(0.99),
        fsync_max: at(1.0),
    })
}
