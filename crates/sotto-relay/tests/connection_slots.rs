//! Connection slots against the real relay: idle connections kept alive with
//! WebSocket pings cannot hold them (pings are no activity, and a connection
//! must authorize a command within `--unauthorized-timeout`), and one source
//! address cannot take more than `--max-connections-per-ip` of them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use support::{RawSession, Relay, Socket, within};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

/// Keeps a connection alive with WebSocket pings only, reading what comes;
/// returns the close code when the relay closes it.
async fn ping_until_closed(mut socket: Socket) -> Option<u16> {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if socket.send(Message::Ping(vec![1].into())).await.is_err() {
                    return None;
                }
            }
            frame = socket.next() => match frame {
                Some(Ok(Message::Close(frame))) => return frame.map(|frame| frame.code.into()),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_only_connections_do_not_keep_an_honest_client_out() {
    const SLOTS: usize = 4;
    let relay = Relay::start(&[
        "--max-connections",
        &SLOTS.to_string(),
        "--unauthorized-timeout",
        "2s",
    ]);
    let mut squatters = Vec::new();
    for _ in 0..SLOTS {
        let session = RawSession::open(&relay.address).await;
        squatters.push(tokio::spawn(ping_until_closed(session.socket)));
    }
    // Every slot is taken: the honest client waits outside until the squatters'
    // deadline passes, then gets in and is served.
    let client = relay.connect().await;
    let queue = within("NEW", client.connection.create_queue(None)).await;
    assert!(queue.is_ok(), "{queue:?}");
    for squatter in squatters {
        let code = within("a squatter to be closed", squatter).await.unwrap();
        assert_eq!(code, Some(1008), "policy violation close expected");
    }
    // An authorized connection keeps its slot past the deadline.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let again = within(
        "NEW after the deadline",
        client.connection.create_queue(None),
    )
    .await;
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_pings_do_not_reset_the_idle_timeout() {
    // The unauthorized deadline is out of the way: only the idle timeout acts.
    let relay = Relay::start(&["--idle-timeout", "2s", "--unauthorized-timeout", "1h"]);
    let session = RawSession::open(&relay.address).await;
    let started = std::time::Instant::now();
    let code = within("the idle close", ping_until_closed(session.socket)).await;
    assert_eq!(code, Some(1000));
    assert!(started.elapsed() < Duration::from_secs(6));
}

/// A WebSocket to the relay from the local address `from`, or `None` when the
/// relay refuses it.
async fn socket_from(relay: &Relay, from: &str) -> Option<Socket> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let port = relay.address.port;
    // A refused connection may be reset before the connect completes.
    let tcp = socket
        .connect(format!("127.0.0.1:{port}").parse().unwrap())
        .await
        .ok()?;
    let stream: Box<dyn support::ByteStream> = Box::new(tcp);
    let upgrade = tokio_tungstenite::client_async(relay.address.websocket_url(), stream);
    within("a WebSocket upgrade", upgrade)
        .await
        .ok()
        .map(|(socket, _)| socket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_more_than_its_share() {
    let relay = Relay::start(&["--max-connections-per-ip", "2"]);
    let first = socket_from(&relay, "127.0.0.1").await.expect("first");
    let second = socket_from(&relay, "127.0.0.1").await.expect("second");
    assert!(
        socket_from(&relay, "127.0.0.1").await.is_none(),
        "a third connection from one address was accepted"
    );
    // Another address is counted apart.
    let other = socket_from(&relay, "127.0.0.2").await;
    assert!(other.is_some(), "another address was refused");
    // A closed connection gives its place back.
    drop(first);
    let again = within("a place to be given back", async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Some(socket) = socket_from(&relay, "127.0.0.1").await {
                return socket;
            }
        }
    })
    .await;
    drop((second, again, other));
    // (The relay logs its own listen address, 127.0.0.1; never a client's.)
    assert!(!relay.log().contains("127.0.0.2"), "an address was logged");
}
