//! The disk's own ceiling: 16 KiB records appended to a file with one fsync per
//! batch, the same work group commit asks of the disk without any database.

use std::fs::OpenOptions;
use std::io::{Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Size of one record: a block.
pub(crate) const RECORD: usize = sotto_wire::BLOCK_SIZE;

/// Records per second written to `dir` in batches of `batch`, for `duration`.
pub(crate) fn ceiling(dir: &Path, batch: usize, duration: Duration) -> Result<f64> {
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
    while started.elapsed() < duration {
        batch_buffer.clear();
        for _ in 0..batch {
            batch_buffer.extend_from_slice(&record);
        }
        file.write_all(&batch_buffer)?;
        file.sync_data()?;
        records += batch as u64;
        written += batch_buffer.len() as u64;
        // Keep the file bounded: rewrite from the start past 1 GiB.
        if written > 1 << 30 {
            file.set_len(0)?;
            file.rewind()?;
            written = 0;
        }
    }
    let rate = records as f64 / started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(&path).ok();
    Ok(rate)
}
