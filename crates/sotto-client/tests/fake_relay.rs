//! The client against a minimal in-process relay built from the sans-IO crate:
//! handshake and fingerprint check, request routing, batching and pushes, over a
//! real TCP WebSocket.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sotto_client::ClientError;
use sotto_client::relay::{ConnectOptions, Push, RelayConnection, SenderQueue};
use sotto_wire::{
    Block, Command, CorrId, InnerBlock, MessageBody, RecipientId, RelayAddress, RelayFingerprint,
    RelayHost, RelayIdentity, RelayScheme, Response, SenderId, ServerHandshake,
    ServerHandshakeOutcome, Transmission, Transport, VersionRange,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Accepts one client on `listener` and completes the handshake as the relay
/// with this identity; `None` if the client left first.
async fn accept(listener: &TcpListener, identity_seed: u8) -> Option<(Socket, Transport)> {
    let identity = RelayIdentity::from_secret_bytes([identity_seed; 32]);
    let (stream, _) = listener.accept().await.unwrap();
    let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
    let Some(Ok(Message::Binary(hello))) = socket.next().await else {
        return None;
    };
    let hello = Block::from_slice(&hello).unwrap();
    let outcome = ServerHandshake::new([5; 32], VersionRange::SUPPORTED)
        .handle_client_hello(&hello, &identity)
        .unwrap();
    let ServerHandshakeOutcome::Accepted {
        server_hello,
        transport,
        ..
    } = outcome
    else {
        panic!("rejected");
    };
    socket
        .send(Message::binary(server_hello.into_vec()))
        .await
        .ok()?;
    Some((socket, transport))
}

/// Starts a fake relay that answers PING with PONG (and pushes END after the
/// first PING), reporting how many transmissions each block carried.
async fn fake_relay(identity_seed: u8) -> (u16, mpsc::UnboundedReceiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (counts, counted) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let Some((mut socket, mut transport)) = accept(&listener, identity_seed).await else {
            return;
        };
        let mut pushed_end = false;
        while let Some(Ok(message)) = socket.next().await {
            let Message::Binary(bytes) = message else {
                break;
            };
            let Ok(inner) = transport.open(Block::from_slice(&bytes).unwrap()) else {
                break;
            };
            counts.send(inner.len()).unwrap();
            let mut reply = InnerBlock::new();
            for encoded in inner.transmissions() {
                let transmission = Transmission::decode(encoded).unwrap();
                assert_eq!(
                    Command::from_transmission(&transmission).unwrap(),
                    Command::Ping
                );
                reply
                    .push(&Response::Pong.to_transmission(transmission.corr_id))
                    .unwrap();
            }
            if !pushed_end {
                pushed_end = true;
                let end = Response::End {
                    recipient_id: RecipientId::from_bytes([4; 24]),
                };
                reply.push(&end.to_transmission(CorrId::PUSH)).unwrap();
            }
            let block = transport.seal(&reply).unwrap();
            socket
                .send(Message::binary(block.into_vec()))
                .await
                .unwrap();
        }
    });
    (port, counted)
}

fn address(port: u16, identity_seed: u8) -> RelayAddress {
    RelayAddress {
        scheme: RelayScheme::Plain,
        fingerprint: RelayIdentity::from_secret_bytes([identity_seed; 32]).fingerprint(),
        host: RelayHost::from(std::net::Ipv4Addr::LOCALHOST),
        port,
    }
}

#[tokio::test]
async fn ping_round_trips_and_pushes_arrive() {
    let (port, _counts) = fake_relay(1).await;
    let (connection, mut pushes) =
        RelayConnection::connect(&address(port, 1), &ConnectOptions::default())
            .await
            .unwrap();
    connection.ping().await.unwrap();
    let push = tokio::time::timeout(Duration::from_secs(5), pushes.recv())
        .await
        .unwrap();
    assert_eq!(push, Some(Push::End(RecipientId::from_bytes([4; 24]))));
    connection.ping().await.unwrap();
}

#[tokio::test]
async fn commands_submitted_together_share_blocks() {
    let (port, mut counts) = fake_relay(1).await;
    let (connection, _pushes) =
        RelayConnection::connect(&address(port, 1), &ConnectOptions::default())
            .await
            .unwrap();
    let mut pending = Vec::new();
    for _ in 0..500 {
        pending.push(connection.submit(&Command::Ping, None).await.unwrap());
    }
    for response in pending {
        assert_eq!(response.response().await.unwrap(), Response::Pong);
    }
    let mut blocks = 0;
    let mut total = 0;
    while total < 500 {
        total += counts.recv().await.unwrap();
        blocks += 1;
    }
    assert_eq!(total, 500);
    assert!(blocks < 100, "500 pings took {blocks} blocks");
}

#[tokio::test]
async fn a_relay_with_another_identity_is_refused() {
    let (port, _counts) = fake_relay(2).await;
    let result = RelayConnection::connect(&address(port, 1), &ConnectOptions::default()).await;
    assert!(matches!(result, Err(ClientError::WrongRelayIdentity)));
}

#[tokio::test]
async fn plain_websocket_to_a_remote_host_and_tls_are_refused_up_front() {
    let mut remote = address(9, 1);
    remote.host = RelayHost::from(std::net::Ipv4Addr::new(192, 0, 2, 1));
    let result = RelayConnection::connect(&remote, &ConnectOptions::default()).await;
    assert!(matches!(result, Err(ClientError::InsecureTransport)));
    remote.scheme = RelayScheme::Secure;
    let result = RelayConnection::connect(&remote, &ConnectOptions::default()).await;
    assert!(matches!(result, Err(ClientError::TlsUnsupported)));
    let _ = RelayFingerprint::from_bytes([0; 32]);
}

#[tokio::test]
async fn a_closed_relay_fails_waiting_callers() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
        let _ = socket.next().await;
        socket.close(None).await.unwrap();
    });
    let result = RelayConnection::connect(&address(port, 1), &ConnectOptions::default()).await;
    assert!(matches!(result, Err(ClientError::Closed)), "{result:?}");
}

/// Blocks each way in the test below: 16 MiB, more than loopback TCP buffers.
const FLOOD_BLOCKS: usize = 1000;

#[tokio::test]
async fn the_client_reads_while_its_writes_wait_for_a_relay_that_does_not_read() {
    // A relay that, like the real one with its replies unwritten, reads
    // nothing until its own blocks are written: a client that stopped reading
    // while its writes waited would leave both ends waiting on each other.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (read_blocks, mut blocks_read) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let Some((mut socket, mut transport)) = accept(&listener, 1).await else {
            return;
        };
        for n in 0..FLOOD_BLOCKS {
            let mut push = InnerBlock::new();
            let end = Response::End {
                recipient_id: RecipientId::from_bytes([(n % 251) as u8; 24]),
            };
            push.push(&end.to_transmission(CorrId::PUSH)).unwrap();
            let block = transport.seal(&push).unwrap();
            if socket
                .send(Message::binary(block.into_vec()))
                .await
                .is_err()
            {
                return;
            }
        }
        while let Some(Ok(Message::Binary(_))) = socket.next().await {
            if read_blocks.send(()).is_err() {
                return;
            }
        }
    });
    let (connection, mut pushes) =
        RelayConnection::connect(&address(port, 1), &ConnectOptions::default())
            .await
            .unwrap();
    let queue = SenderQueue::unsecured(SenderId::from_bytes([7; 24]));
    let sending = tokio::spawn(async move {
        let mut pending = Vec::new();
        for _ in 0..FLOOD_BLOCKS {
            // Each SEND of a whole body fills a block of its own.
            let body = MessageBody::new(vec![0x5a; 16_000]).unwrap();
            pending.push(connection.submit_send(&queue, body).await.unwrap());
        }
        (connection, pending)
    });
    let flow = async {
        for _ in 0..FLOOD_BLOCKS {
            assert!(matches!(pushes.recv().await, Some(Push::End(_))));
        }
        for _ in 0..FLOOD_BLOCKS {
            blocks_read.recv().await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(60), flow)
        .await
        .expect("the client and the relay waited on each other");
    drop(sending);
}
