//! CPU pinning with `taskset` (util-linux) for the side-by-side run: the
//! server under test on one CPU, the load driver (this process) on another,
//! so that both servers get the same single core and never compete with the
//! clients that load them.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The CPU each server runs on.
pub(crate) const SERVER_CPU: usize = 0;
/// The CPU this process, the load driver, runs on.
pub(crate) const DRIVER_CPU: usize = 1;

/// Whether pinning is on when neither `--pin` nor `--no-pin` is given: when
/// this process may run on at least two CPUs.
pub(crate) fn default_on() -> bool {
    std::thread::available_parallelism().is_ok_and(|cpus| cpus.get() >= 2)
}

/// A command that runs `binary` on CPU `cpu`, or anywhere when `None`.
pub(crate) fn command(binary: &Path, cpu: Option<usize>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.args(["--cpu-list", &cpu.to_string()]).arg(binary);
            command
        }
        None => Command::new(binary),
    }
}

/// Every thread of this process held on one CPU; dropping it gives them back
/// the CPUs they had.
pub(crate) struct PinnedDriver {
    previous: String,
}

impl PinnedDriver {
    /// Pins every thread of this process to `cpu`. Threads started later
    /// inherit the pinning from the thread that starts them.
    pub(crate) fn pin(cpu: usize) -> Result<PinnedDriver> {
        let pid = std::process::id().to_string();
        let output = Command::new("taskset")
            .args(["--cpu-list", "--pid", &pid])
            .output()
            .context("running taskset (util-linux)")?;
        if !output.status.success() {
            bail!("taskset could not read this process's CPUs");
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let previous = text
            .rsplit_once(": ")
            .map(|(_, list)| list.trim().to_owned())
            .with_context(|| format!("unexpected taskset output `{}`", text.trim()))?;
        set_all_threads(&pid, &cpu.to_string())?;
        Ok(PinnedDriver { previous })
    }
}

impl Drop for PinnedDriver {
    fn drop(&mut self) {
        let pid = std::process::id().to_string();
        if let Err(error) = set_all_threads(&pid, &self.previous) {
            eprintln!("  could not unpin this process: {error:#}");
        }
    }
}

fn set_all_threads(pid: &str, cpu_list: &str) -> Result<()> {
    let status = Command::new("taskset")
        .args(["--all-tasks", "--cpu-list", "--pid", cpu_list, pid])
        .stdout(std::process::Stdio::null())
        .status()
        .context("running taskset (util-linux)")?;
    if !status.success() {
        bail!("taskset could not pin this process to CPUs {cpu_list} ({status})");
    }
    Ok(())
}
