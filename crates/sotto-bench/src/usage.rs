//! What a server process cost over a delivery run, as the kernel counts it:
//! CPU time and bytes written to storage, per delivered message. The same
//! readings for the relay and for Redis, so that the two compare.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::load::Outcome;
use crate::relay_process::{cpu_time_with_children, write_bytes};

/// A server's counters at the start of a run.
pub(crate) struct Usage {
    pid: u32,
    cpu: Duration,
    written: u64,
    at: Instant,
}

/// A server's cost per delivered message over a run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cost {
    /// CPU time per delivered message.
    pub(crate) cpu: Duration,
    /// Bytes written to storage per delivered message.
    pub(crate) written: f64,
    /// Cores the server kept busy on average.
    pub(crate) cores: f64,
}

impl Usage {
    /// Reads the counters of process `pid` now.
    pub(crate) fn start(pid: u32) -> Result<Usage> {
        Ok(Usage {
            pid,
            cpu: cpu_time_with_children(pid)?,
            written: write_bytes(pid)?,
            at: Instant::now(),
        })
    }

    /// The cost per message since the start, with messages counted at the
    /// rate `outcome` measured over the whole metered time (warm-up and the
    /// drain at the end included, as for the relay's own delivery run).
    pub(crate) fn cost(self, outcome: &Outcome) -> Result<Cost> {
        let wall = self.at.elapsed().as_secs_f64();
        let cpu = cpu_time_with_children(self.pid)?.saturating_sub(self.cpu);
        let written = write_bytes(self.pid)?.saturating_sub(self.written) as f64;
        let messages = (outcome.delivered_per_second * wall).max(1.0);
        Ok(Cost {
            cpu: cpu.div_f64(messages),
            written: written / messages,
            cores: cpu.as_secs_f64() / wall,
        })
    }
}
