//! The relay under test: a release `sotto-relay` process on a temporary data
//! directory, and its memory as the kernel reports it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use sotto_wire::RelayAddress;

/// A running relay; killed when dropped.
pub(crate) struct RelayProcess {
    child: Child,
    pub(crate) address: RelayAddress,
    /// `host:port` of the relay's metrics listener (`--metrics-listen`).
    metrics: String,
}

impl RelayProcess {
    /// Starts `binary` on 127.0.0.1 (any port) over `data` with `args`.
    pub(crate) fn start(binary: &Path, data: &Path, args: &[String]) -> Result<RelayProcess> {
        RelayProcess::start_command(Command::new(binary), data, args)
    }

    /// Like [`RelayProcess::start`], with `command` running the relay binary
    /// (e.g. under `taskset`).
    pub(crate) fn start_command(
        mut command: Command,
        data: &Path,
        args: &[String],
    ) -> Result<RelayProcess> {
        let mut child = command
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(["--log-level", "warn"])
            .args(["--metrics-listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("SOTTO_RELAY_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {:?}", command.get_program()))?;
        let stdout = child.stdout.take().context("relay stdout")?;
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = lines.send(line);
            }
        });
        let mut address = None;
        let mut metrics = None;
        loop {
            match received.recv_timeout(Duration::from_secs(20)) {
                Ok(line) => {
                    if let Some(text) = line.strip_prefix("relay address: ") {
                        address = Some(text.trim().parse().context("parsing the relay address")?);
                    } else if let Some(text) = line.strip_prefix("metrics: ") {
                        metrics = Some(
                            text.trim()
                                .trim_start_matches("http://")
                                .trim_end_matches("/metrics")
                                .to_owned(),
                        );
                    } else if line.starts_with("web: ")
                        && let Some(address) = address.take()
                        && let Some(metrics) = metrics.take()
                    {
                        return Ok(RelayProcess {
                            child,
                            address,
                            metrics,
                        });
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    bail!("the relay did not print its address: {:?}", child.wait());
                }
            }
        }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now, in bytes (VmRSS).
    pub(crate) fn rss(&self) -> Result<u64> {
        status_field(self.child.id(), "VmRSS:")
    }

    /// Peak resident memory, in bytes (VmHWM).
    pub(crate) fn peak_rss(&self) -> Result<u64> {
        status_field(self.child.id(), "VmHWM:")
    }

    /// A counter from the relay's `/metrics` (0 when absent).
    pub(crate) async fn metric(&self, name: &str) -> Result<f64> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(&self.metrics).await?;
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: relay\r\n\r\n")
            .await?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await?;
        Ok(text
            .lines()
            .find_map(|line| {
                let (key, value) = line.rsplit_once(' ')?;
                (key == name).then(|| value.parse().ok()).flatten()
            })
            .unwrap_or(0.0))
    }

    /// Bytes the relay has caused to be written to storage (`write_bytes` of
    /// `/proc/PID/io`).
    pub(crate) fn disk_writes(&self) -> Result<u64> {
        write_bytes(self.child.id())
    }

    /// CPU time the relay has used so far.
    pub(crate) fn cpu_time(&self) -> Result<Duration> {
        cpu_time(&self.child.id().to_string())
    }

    /// CPU time the relay's group-commit writer thread (`sotto-writer`) has
    /// used so far, to the nanosecond; zero if there is no such thread.
    pub(crate) fn writer_cpu_time(&self) -> Result<Duration> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id()))
            .context("reading /proc/PID/task")?;
        for task in tasks {
            let path = task?.path();
            let Ok(name) = std::fs::read_to_string(path.join("comm")) else {
                continue;
            };
            if name.trim() != "sotto-writer" {
                continue;
            }
            let schedstat =
                std::fs::read_to_string(path.join("schedstat")).context("reading schedstat")?;
            let nanos = schedstat
                .split_whitespace()
                .next()
                .context("empty schedstat")?
                .parse::<u64>()
                .context("parsing schedstat")?;
            return Ok(Duration::from_nanos(nanos));
        }
        Ok(Duration::ZERO)
    }

    /// CPU time the relay's live threads have used so far, to the nanosecond
    /// (the first field of each `/proc/PID/task/TID/schedstat`): for short
    /// windows, where clock ticks are too coarse.
    pub(crate) fn thread_cpu_time(&self) -> Result<Duration> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id()))
            .context("reading /proc/PID/task")?;
        let mut total = 0u64;
        for task in tasks {
            let path = task?.path().join("schedstat");
            // A thread that ended since the listing has nothing left to count.
            let Ok(schedstat) = std::fs::read_to_string(path) else {
                continue;
            };
            total += schedstat
                .split_whitespace()
                .next()
                .context("empty schedstat")?
                .parse::<u64>()
                .context("parsing schedstat")?;
        }
        Ok(Duration::from_nanos(total))
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time (user + system) a process has used so far: `/proc/PID/stat`
/// fields 14 and 15, in clock ticks of 1/100 s (Linux's USER_HZ).
pub(crate) fn cpu_time(pid: &str) -> Result<Duration> {
    // Fields 14 and 15 overall are the 12th and 13th after the name.
    stat_ticks(pid, &[11, 12])
}

/// [`cpu_time`] with that of the children the process has waited for
/// (fields 16 and 17): a Redis AOF rewrite runs in a forked child.
pub(crate) fn cpu_time_with_children(pid: u32) -> Result<Duration> {
    stat_ticks(&pid.to_string(), &[11, 12, 13, 14])
}

/// The sum of fields of `/proc/PID/stat`, counted after the command name, as
/// a duration of clock ticks.
fn stat_ticks(pid: &str, indices: &[usize]) -> Result<Duration> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).context("reading /proc/PID/stat")?;
    // The command name may hold spaces; fields are counted after its ')'.
    let after = stat.rsplit_once(')').context("malformed /proc/PID/stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let mut total = 0u64;
    for &index in indices {
        total += fields
            .get(index)
            .context("short /proc/PID/stat")?
            .parse::<u64>()
            .context("parsing /proc/PID/stat")?;
    }
    Ok(Duration::from_millis(total * 10))
}

/// Bytes a process has caused to be written to storage: `write_bytes` of
/// `/proc/PID/io`, which also counts the children it has waited for.
pub(crate) fn write_bytes(pid: u32) -> Result<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).context("reading /proc/PID/io")?;
    io.lines()
        .find_map(|line| line.strip_prefix("write_bytes:"))
        .context("write_bytes missing from /proc/PID/io")?
        .trim()
        .parse()
        .context("parsing write_bytes")
}

/// The one-minute load average, to tell a quiet machine from a busy one.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// A `kB` field of `/proc/PID/status`, in bytes.
fn status_field(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("reading /proc/PID/status")?;
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .with_context(|| format!("{field} missing from /proc/PID/status"))?;
    let kib: u64 = line
        .trim_start_matches(field)
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("parsing {line}"))?;
    Ok(kib * 1024)
}

/// Where the relay binary is by default: next to this executable.
pub(crate) fn default_relay_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating this executable")?;
    let dir = exe.parent().context("executable has no directory")?;
    Ok(dir.join("sotto-relay"))
}

/// Mebibytes, for printing.
pub(crate) fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
