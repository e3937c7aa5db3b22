//! The client against a minimal in-process relay built from the sans-IO crate:
//! handshake and fingerprint check, request routing, batching and pushes, over a
//! real TCP WebSocket.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sotto_client::ClientError;
use sotto_client::relay::{ConnectOptions, Push, RelayConnection};
use sotto_wire::{
    Block, Command, CorrId, InnerBlock, RecipientId, RelayAddress, RelayFingerprint, RelayHost,
    RelayIdentity, RelayScheme, Response, ServerHandshake, ServerHandshakeOutcome, Transmission,
    VersionRange,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Starts a fake relay that answers PING with PONG (and pushes END after the
/// first PING), reporting how many transmissions each block carried.
async fn fake_relay(identity_seed: u8) -> (u16, mpsc::UnboundedReceiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (counts, counted) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let identity = RelayIdentity::from_secret_bytes([identity_seed; 32]);
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
        let Some(Ok(Message::Binary(hello))) = socket.next().await else {
            return;
        };
        let hello = Block::from_slice(&hello).unwrap();
        let outcome = ServerHandshake::new([5; 32], VersionRange::SUPPORTED)
            .handle_client_hello(&hello, &identity)
            .unwrap();
        let ServerHandshakeOutcome::Accepted {
            server_hello,
            mut transport,
            ..
        } = outcome
        else {
            panic!("rejected");
        };
        socket
            .send(Message::binary(server_hello.into_vec()))
            .await
            .unwrap();
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
