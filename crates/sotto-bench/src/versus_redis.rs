//! Sotto against a durable Redis in the same run: the relay's delivery at the
//! maximum rate and the same workload through Redis (`redis_delivery`), in
//! rounds that alternate the two, each server on the same single CPU when
//! pinned. The result is the ratio of the medians of delivered messages/s.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};

use crate::delivery::Fleet;
use crate::load::{Outcome, Shape};
use crate::pinning::{self, DRIVER_CPU, PinnedDriver, SERVER_CPU};
use crate::redis_delivery::RedisFleet;
use crate::redis_process::{self, RedisProcess};
use crate::relay_process::RelayProcess;
use crate::usage::{Cost, Usage};

/// Everything the side-by-side run needs.
pub(crate) struct Setup<'a> {
    pub(crate) relay_binary: &'a Path,
    pub(crate) relay_args: &'a [String],
    pub(crate) redis_binary: &'a Path,
    /// Where both servers keep their data: one filesystem for both.
    pub(crate) scratch: &'a Path,
    pub(crate) shape: Shape,
    pub(crate) warmup: Duration,
    pub(crate) measure: Duration,
    pub(crate) rounds: usize,
    pub(crate) pin: bool,
}

/// The two servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Sotto,
    Redis,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Sotto => "Sotto",
            Server::Redis => "durable Redis",
        }
    }
}

/// One server's run in one round.
struct Measured {
    outcome: Outcome,
    cost: Cost,
}

/// Runs the rounds; returns the summary's lines, the ratio last.
pub(crate) async fn measure(setup: &Setup<'_>) -> Result<Vec<String>> {
    let version = redis_process::version(setup.redis_binary)?;
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|major| major.parse().ok())
        .unwrap_or(0);
    if major < 7 {
        bail!("Redis {version} is too old: 7 or later is needed (BLMPOP)");
    }
    let mut lines = vec![format!(
        "versus durable Redis {version} (appendonly yes, appendfsync always, no snapshots): {} \
         rounds, {}",
        setup.rounds,
        if setup.pin {
            format!("each server on CPU {SERVER_CPU}, the load driver on CPU {DRIVER_CPU}")
        } else {
            "not pinned".to_owned()
        }
    )];
    eprintln!("{}", lines[0]);
    let _driver = if setup.pin {
        Some(PinnedDriver::pin(DRIVER_CPU)?)
    } else {
        None
    };
    let mut sotto = Vec::new();
    let mut redis = Vec::new();
    for round in 1..=setup.rounds.max(1) {
        // Each server goes first in every other round, so that neither always
        // runs on a machine the other has just warmed (page cache, disk).
        let order = if round % 2 == 1 {
            [Server::Sotto, Server::Redis]
        } else {
            [Server::Redis, Server::Sotto]
        };
        for server in order {
            eprintln!("  round {round}: {}", server.name());
            let measured = run(setup, server, round).await?;
            let line = format!("  round {round}: {}", figures(server, &measured));
            eprintln!("{line}");
            lines.push(line);
            match server {
                Server::Sotto => sotto.push(measured),
                Server::Redis => redis.push(measured),
            }
        }
    }
    let sotto_rate = median(&sotto);
    let redis_rate = median(&redis);
    lines.push(format!(
        "  median of {}: Sotto {sotto_rate:.0} delivered/s, durable Redis {redis_rate:.0} \
         delivered/s",
        sotto.len()
    ));
    lines.push(format!(
        "Sotto / durable Redis = {:.2}x",
        sotto_rate / redis_rate.max(f64::MIN_POSITIVE)
    ));
    Ok(lines)
}

/// One server's run: a fresh server over a fresh directory, connected,
/// loaded at the maximum rate, then stopped and its data removed.
async fn run(setup: &Setup<'_>, server: Server, round: usize) -> Result<Measured> {
    let cpu = setup.pin.then_some(SERVER_CPU);
    let dir: PathBuf = setup.scratch.join(match server {
        Server::Sotto => format!("versus-sotto-{round}"),
        Server::Redis => format!("versus-redis-{round}"),
    });
    let measured = match server {
        Server::Sotto => {
            let relay = RelayProcess::start_command(
                pinning::command(setup.relay_binary, cpu),
                &dir,
                setup.relay_args,
            )?;
            let fleet = Fleet::connect(&relay.address, setup.shape).await?;
            let usage = Usage::start(relay.pid())?;
            let outcome = fleet.run(None, setup.warmup, setup.measure).await?;
            let cost = usage.cost(&outcome)?;
            Measured { outcome, cost }
        }
        Server::Redis => {
            let redis = RedisProcess::start(setup.redis_binary, &dir, cpu).await?;
            let fleet = RedisFleet::connect(redis.address, setup.shape).await?;
            let usage = Usage::start(redis.pid())?;
            let outcome = fleet.run(setup.warmup, setup.measure).await?;
            let cost = usage.cost(&outcome)?;
            Measured { outcome, cost }
        }
    };
    // The server is stopped by now; its data would only fill the disk.
    std::fs::remove_dir_all(&dir).ok();
    Ok(measured)
}

fn figures(server: Server, measured: &Measured) -> String {
    let Measured { outcome, cost } = measured;
    let mut line = format!(
        "{} {:.0} delivered/s ({:.0} sends acknowledged/s), latency p50 {:.2} ms, p99 {:.2} ms; \
         server {:.2} cores, {:.1} µs of CPU and {:.1} KiB written per delivered message",
        server.name(),
        outcome.delivered_per_second,
        outcome.sent_per_second,
        outcome.p50.as_secs_f64() * 1e3,
        outcome.p99.as_secs_f64() * 1e3,
        cost.cores,
        cost.cpu.as_secs_f64() * 1e6,
        cost.written / 1024.0,
    );
    if outcome.send_errors > 0 {
        line.push_str(&format!(", {} send errors", outcome.send_errors));
    }
    line
}

/// The median of the rounds' delivered messages/s.
fn median(rounds: &[Measured]) -> f64 {
    median_of(
        rounds
            .iter()
            .map(|measured| measured.outcome.delivered_per_second)
            .collect(),
    )
}

fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    match (values.get(middle.wrapping_sub(1)), values.get(middle)) {
        (Some(low), Some(high)) if values.len().is_multiple_of(2) => (low + high) / 2.0,
        (_, Some(middle)) => *middle,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_is_the_middle_value() {
        assert_eq!(median_of(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_of(vec![4.0, 1.0]), 2.5);
        assert_eq!(median_of(vec![7.0]), 7.0);
        assert_eq!(median_of(Vec::new()), 0.0);
    }
}
