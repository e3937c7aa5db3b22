//! Memory: a relay holding many stored queues with many subscribed, and a relay
//! holding many idle connections. Idle connections come from child processes
//! (this binary re-executed with a hidden subcommand), each from its own
//! 127.0.0.x source address, so that no process needs more than 20,000 files
//! and no source address runs out of ports.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command as Process, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use sotto_client::relay::{ConnectOptions, RecipientQueue, RelayConnection};
use sotto_wire::RelayAddress;
use tokio::sync::Semaphore;

use crate::relay_process::{RelayProcess, mib};

/// Creates `stored` queues (over `connections` connections, pipelined) and
/// subscribes `subscribed` of them; returns the queues kept subscribed and the
/// connections holding the subscriptions.
pub(crate) async fn fill_queues(
    address: &RelayAddress,
    stored: usize,
    subscribed: usize,
    connections: usize,
) -> Result<Vec<(Arc<RelayConnection>, Vec<RecipientQueue>)>> {
    let mut holders = Vec::new();
    for _ in 0..connections.max(1) {
        let (connection, pushes) =
            RelayConnection::connect(address, &ConnectOptions::default()).await?;
        // No messages are sent here; nothing will be pushed.
        drop(pushes);
        holders.push((Arc::new(connection), Vec::new()));
    }
    let per_connection = stored.div_ceil(holders.len());
    let mut tasks = Vec::new();
    for (connection, _) in &holders {
        let connection = Arc::clone(connection);
        tasks.push(tokio::spawn(async move {
            create_many(&connection, per_connection).await
        }));
    }
    let mut created = 0;
    for (task, (_, queues)) in tasks.into_iter().zip(holders.iter_mut()) {
        *queues = task.await??;
        created += queues.len();
    }
    eprintln!("  {created} queues stored");
    let per_connection = subscribed.div_ceil(holders.len());
    for (connection, queues) in &mut holders {
        queues.truncate(per_connection);
        for result in connection.subscribe(queues.iter()).await {
            result?;
        }
    }
    eprintln!(
        "  {} queues subscribed",
        holders.iter().map(|(_, q)| q.len()).sum::<usize>()
    );
    Ok(holders)
}

/// NEW `count` times, up to 256 in flight.
async fn create_many(connection: &RelayConnection, count: usize) -> Result<Vec<RecipientQueue>> {
    let window = Arc::new(Semaphore::new(256));
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let permit = Arc::clone(&window).acquire_owned().await?;
        let pending = connection.submit_create_queue(None).await?;
        tasks.push(tokio::spawn(async move {
            let queue = pending.queue().await;
            drop(permit);
            queue
        }));
    }
    let mut queues = Vec::with_capacity(count);
    for task in tasks {
        queues.push(task.await??);
    }
    Ok(queues)
}

/// Opens `total` idle connections from `processes` child processes and returns
/// the relay's resident memory per connection (bytes), measured against its
/// memory before.
pub(crate) fn idle_connections(
    relay: &RelayProcess,
    total: usize,
    processes: usize,
) -> Result<(f64, u64, u64)> {
    let before = relay.rss()?;
    let exe = std::env::current_exe().context("locating this executable")?;
    let per_child = total.div_ceil(processes.max(1));
    let mut children: Vec<Child> = Vec::new();
    let mut opened = 0;
    for index in 0..processes.max(1) {
        let count = per_child.min(total - opened);
        if count == 0 {
            break;
        }
        let local = Ipv4Addr::new(127, 0, 0, u8::try_from(index + 2).unwrap_or(254));
        let child = Process::new(&exe)
            .args(["idle-clients", "--address"])
            .arg(relay.address.to_string())
            .args(["--count", &count.to_string(), "--local"])
            .arg(local.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting an idle-clients child")?;
        children.push(child);
        opened += count;
    }
    for child in &mut children {
        let stdout = child.stdout.take().context("child stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        if !line.starts_with("ready") {
            bail!("an idle-clients child failed: {line:?}");
        }
        eprintln!("  {}", line.trim());
    }
    // Let the relay settle (buffers of finished handshakes released).
    std::thread::sleep(Duration::from_secs(2));
    let after = relay.rss()?;
    for mut child in children {
        // Closing stdin tells the child to exit.
        drop(child.stdin.take());
        let _ = child.wait();
    }
    let per_connection = after.saturating_sub(before) as f64 / total as f64;
    eprintln!(
        "  relay RSS {:.1} MiB before, {:.1} MiB with {total} idle connections",
        mib(before),
        mib(after)
    );
    Ok((per_connection, before, after))
}

/// The hidden subcommand: opens `count` connections from `local`, prints
/// `ready N`, and holds them until stdin closes.
pub(crate) async fn hold_idle_connections(
    address: &RelayAddress,
    count: usize,
    local: IpAddr,
) -> Result<()> {
    let options = ConnectOptions {
        local_address: Some(local),
        read_buffer_size: 4096,
        push_capacity: 1,
        send_capacity: 1,
        connect_timeout: Duration::from_secs(60),
        ..ConnectOptions::default()
    };
    let gate = Arc::new(Semaphore::new(64));
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let permit = Arc::clone(&gate).acquire_owned().await?;
        let address = address.clone();
        let options = options.clone();
        tasks.push(tokio::spawn(async move {
            let connection = RelayConnection::connect(&address, &options).await;
            drop(permit);
            connection
        }));
    }
    let mut held = Vec::with_capacity(count);
    for task in tasks {
        held.push(task.await??);
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready {} connections from {local}", held.len())?;
    stdout.flush()?;
    // Wait for the parent to close stdin.
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await?;
    drop(held);
    Ok(())
}
