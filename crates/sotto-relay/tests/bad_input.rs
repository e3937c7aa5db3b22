//! Hostile and broken clients: malformed, truncated, oversized and wrong-size
//! frames, text frames, garbage after valid transmissions, unknown versions,
//! unauthorized commands, bad block MACs and floods. Each gets a clear error or
//! a clean close; the relay never crashes and keeps serving a well-behaved
//! client meanwhile.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use futures_util::SinkExt;
use sotto_client::relay::SenderQueue;
use sotto_wire::x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use sotto_wire::{
    BLOCK_SIZE, Block, ClientHandshake, ClientHello, Command, CorrId, ErrorCode, INNER_SIZE,
    InnerBlock, Response, ServerReply, Version, VersionRange, VersionReject, WireError,
};
use support::{
    Client, RawSession, Relay, body, closed, dh_public, next_frame, open_body, random, raw_socket,
    say_hello, within,
};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

/// A well-behaved client that must keep working while others misbehave.
struct Bystander {
    client: Client,
    queue: sotto_client::relay::RecipientQueue,
    sender: SenderQueue,
    round: u32,
}

impl Bystander {
    async fn new(relay: &Relay) -> Bystander {
        let client = relay.connect().await;
        let (queue, sender) = client.secured_queue().await;
        Bystander {
            client,
            queue,
            sender,
            round: 0,
        }
    }

    /// A full round trip: PING, SEND, GET, ACK.
    async fn still_served(&mut self, relay: &mut Relay) {
        assert!(relay.is_running(), "the relay died");
        self.round += 1;
        let tag = self.round.to_be_bytes();
        within("the bystander", async {
            self.client.connection.ping().await.unwrap();
            self.client
                .connection
                .send(&self.sender, body(&tag, 32))
                .await
                .unwrap();
            let delivery = self
                .client
                .connection
                .get(&self.queue)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(open_body(&self.queue, &delivery)[..4], tag);
            self.client
                .connection
                .ack(&self.queue, delivery.message_id)
                .await
                .unwrap();
        })
        .await;
    }
}

/// A close code the relay may use for a frame it refuses, or a dropped socket.
fn clean_close(code: Option<u16>) {
    if let Some(code) = code {
        assert!(
            matches!(code, 1000 | 1002 | 1003 | 1008 | 1009),
            "unexpected close code {code}"
        );
    }
}

#[tokio::test]
async fn frames_of_the_wrong_size_or_type_close_the_connection() {
    let mut relay = Relay::start(&[]);
    let mut bystander = Bystander::new(&relay).await;
    let frames = [
        Message::binary(vec![0; BLOCK_SIZE - 1]),
        Message::binary(vec![0; BLOCK_SIZE + 1]),
        Message::binary(vec![0; 1]),
        Message::binary(Vec::new()),
        Message::binary(vec![0; 4 * BLOCK_SIZE]),
        Message::text("SOTTOREL hello"),
    ];
    // Before the handshake.
    for frame in frames.clone() {
        let mut socket = raw_socket(&relay.address).await;
        let _ = socket.send(frame).await;
        clean_close(closed(&mut socket).await);
    }
    // After the handshake.
    for frame in frames {
        let mut session = RawSession::open(&relay.address).await;
        session.send_frame(frame).await;
        clean_close(closed(&mut session.socket).await);
    }
    bystander.still_served(&mut relay).await;
}

#[tokio::test]
async fn an_oversized_frame_is_refused_before_it_is_buffered() {
    let mut relay = Relay::start(&[]);
    let mut bystander = Bystander::new(&relay).await;
    let mut session = RawSession::open(&relay.address).await;
    session
        .send_frame(Message::binary(vec![0x11; 8 * 1024 * 1024]))
        .await;
    clean_close(closed(&mut session.socket).await);
    bystander.still_served(&mut relay).await;
}

#[tokio::test]
async fn truncated_frames_and_dropped_connections_are_harmless() {
    let mut relay = Relay::start(&[]);
    let mut bystander = Bystander::new(&relay).await;
    for (handshake_first, sent) in [(false, 100), (true, 100), (true, 16_383), (false, 0)] {
        let mut session_socket = if handshake_first {
            RawSession::open(&relay.address).await.socket
        } else {
            raw_socket(&relay.address).await
        };
        // A masked binary frame header announcing a whole block, then only
        // part of it, then the end of the TCP stream.
        let mut frame = vec![0x82, 0x80 | 126];
        frame.extend_from_slice(&u16::try_from(BLOCK_SIZE).unwrap().to_be_bytes());
        frame.extend_from_slice(&[1, 2, 3, 4]);
        frame.resize(frame.len() + sent, 0x55);
        let tcp = session_socket.get_mut();
        tcp.write_all(&frame).await.unwrap();
        tcp.shutdown().await.unwrap();
        // The relay must close its side; reading then ends.
        let _ = next_frame(&mut session_socket).await;
    }
    // A client that vanishes in the middle of the handshake.
    for _ in 0..20 {
        drop(raw_socket(&relay.address).await);
    }
    bystander.still_served(&mut relay).await;
}

#[tokio::test]
async fn malformed_hellos_and_unknown_versions_are_refused() {
    let mut relay = Relay::start(&[]);
    let mut bystander = Bystander::new(&relay).await;

    // Not a hello at all.
    for garbage in [vec![0; BLOCK_SIZE], random::<32>().repeat(BLOCK_SIZE / 32)] {
        let mut socket = raw_socket(&relay.address).await;
        socket.send(Message::binary(garbage)).await.unwrap();
        clean_close(closed(&mut socket).await);
    }
    // A hello with a non-zero byte in its padding.
    let (_, hello) = ClientHandshake::start(random(), VersionRange::SUPPORTED);
    let mut bytes = hello.into_vec();
    bytes[BLOCK_SIZE - 1] = 1;
    let mut socket = raw_socket(&relay.address).await;
    socket.send(Message::binary(bytes)).await.unwrap();
    clean_close(closed(&mut socket).await);

    // Versions the relay does not speak: it answers with its own range.
    for (min, max) in [(3, 4), (7, 9)] {
        let (mut socket, handshake, reply) =
            say_hello(&relay.address, VersionRange::new(min, max).unwrap()).await;
        assert_eq!(
            handshake
                .handle_server_hello(&reply, &relay.address.fingerprint)
                .map(|_| ()),
            Err(WireError::VersionRejected {
                relay_min: 2,
                relay_max: 2
            })
        );
        clean_close(closed(&mut socket).await);
    }
    // A range that includes version 2 is accepted.
    let (_, handshake, reply) = say_hello(&relay.address, VersionRange::new(1, 5).unwrap()).await;
    let transport = handshake
        .handle_server_hello(&reply, &relay.address.fingerprint)
        .unwrap();
    assert_eq!(transport.version(), Version::V2);

    // A second hello after the handshake is not a valid encrypted block.
    let mut session = RawSession::open(&relay.address).await;
    let (_, hello) = ClientHandshake::start(random(), VersionRange::SUPPORTED);
    session.send_frame(Message::binary(hello.into_vec())).await;
    clean_close(closed(&mut session.socket).await);

    bystander.still_served(&mut relay).await;
}

/// A version-1 client (no suite list in its hello) learns the relay's range
/// from a VersionReject, then the relay closes; a v2 hello without a suite
/// list is malformed and closes without a reply.
#[tokio::test]
async fn a_version_1_hello_gets_a_version_reject() {
    let mut relay = Relay::start(&[]);
    let mut bystander = Bystander::new(&relay).await;
    let ephemeral_key = DhPublicKey::from(&StaticSecret::from(random::<32>()));
    let hello = |min, max| ClientHello {
        versions: VersionRange::new(min, max).unwrap(),
        ephemeral_key,
        suites: Vec::new(),
    };

    let mut socket = raw_socket(&relay.address).await;
    socket
        .send(Message::binary(hello(1, 1).encode().into_vec()))
        .await
        .unwrap();
    let reply = match next_frame(&mut socket).await {
        Some(Message::Binary(bytes)) => Block::from_slice(&bytes).unwrap(),
        other => panic!("expected a version reject, got {other:?}"),
    };
    assert_eq!(
        ServerReply::decode(&reply).unwrap(),
        ServerReply::Reject(VersionReject {
            relay_versions: VersionRange::SUPPORTED
        })
    );
    assert_eq!(VersionRange::SUPPORTED, VersionRange::new(2, 2).unwrap());
    clean_close(closed(&mut socket).await);

    let mut socket = raw_socket(&relay.address).await;
    socket
        .send(Message::binary(hello(1, 2).encode().into_vec()))
        .await
        .unwrap();
    clean_close(closed(&mut socket).await);

    bystander.still_served(&mut relay).await;
}

#[tokio::test]
async fn blocks_with_a_bad_mac_or_replayed_close_the_connection_silently() {
    let mut relay = Relay::start(&[]);
    let mut bystander = Bystander::new(&relay).await;
    let ping = Command::Ping.to_transmission(CorrId::from_bytes([0, 0, 0, 0, 0, 0, 0, 1]));
    let mut batch = InnerBlock::new();
    batch.push(&ping).unwrap();

    for index in [0, 5000, BLOCK_SIZE - 1] {
        let mut session = RawSession::open(&relay.address).await;
        let mut bytes = session.transport.seal(&batch).unwrap().into_vec();
        bytes[index] ^= 0x80;
        session.send_frame(Message::binary(bytes)).await;
        clean_close(closed(&mut session.socket).await);
    }

    // The same block twice: the second is sealed under another counter.
    let mut session = RawSession::open(&relay.address).await;
    let block = session.transport.seal(&batch).unwrap().into_vec();
    session.send_frame(Message::binary(block.clone())).await;
    assert_eq!(session.responses().await[0].1, Response::Pong);
    session.send_frame(Message::binary(block)).await;
    clean_close(closed(&mut session.socket).await);

    // A block sealed for another connection.
    let mut first = RawSession::open(&relay.address).await;
    let mut second = RawSession::open(&relay.address).await;
    let block = first.transport.seal(&batch).unwrap().into_vec();
    second.send_frame(Message::binary(block)).await;
    clean_close(closed(&mut second.socket).await);

    bystander.still_served(&mut relay).await;
}

#[tokio::test]
async fn garbage_after_valid_transmissions_gets_an_error_for_that_part_only() {
    let mut relay = Relay::start(&[]);
    let mut bystander = Bystander::new(&relay).await;
    let mut session = RawSession::open(&relay.address).await;
    let corr = |n: u8| CorrId::from_bytes([0, 0, 0, 0, 0, 0, 0, n]);
    let ping = |n| Command::Ping.to_transmission(corr(n)).encode();

    // Valid, garbage, valid, trailing bytes on a valid command, bad auth_len.
    let mut trailing = ping(4);
    trailing.push(0);
    let mut bad_auth_len = ping(5);
    bad_auth_len[0] = 63;
    session
        .send_encoded(&[
            ping(1),
            random::<32>().repeat(3),
            ping(3),
            trailing,
            bad_auth_len,
        ])
        .await;
    let mut responses = Vec::new();
    while responses.len() < 3 {
        responses.extend(session.responses().await);
    }
    let pongs: Vec<_> = responses
        .iter()
        .filter(|(_, response)| *response == Response::Pong)
        .map(|(corr_id, _)| *corr_id)
        .collect();
    assert!(
        pongs.contains(&corr(1)) && pongs.contains(&corr(3)),
        "{responses:?}"
    );
    assert!(!pongs.contains(&corr(4)));
    for (_, response) in &responses {
        assert!(
            matches!(
                response,
                Response::Pong
                    | Response::Err {
                        code: ErrorCode::Cmd | ErrorCode::Block,
                        ..
                    }
            ),
            "{response:?}"
        );
    }

    // An inner block holding a zero-length transmission is malformed as a whole:
    // count 2, a PING, then a zero length. The codec refuses to build one, so it
    // is sealed raw.
    let mut session = RawSession::open(&relay.address).await;
    let ping = ping(1);
    let mut inner = vec![0u8; INNER_SIZE];
    inner[0] = 2;
    inner[1..3].copy_from_slice(&u16::try_from(ping.len()).unwrap().to_be_bytes());
    inner[3..3 + ping.len()].copy_from_slice(&ping);
    let block = session.transport.dangerous_seal_unchecked(&inner).unwrap();
    session.send_frame(Message::binary(block.into_vec())).await;
    let responses = session.responses().await;
    assert!(
        matches!(
            responses.first(),
            Some((
                _,
                Response::Err {
                    code: ErrorCode::Block,
                    ..
                }
            ))
        ),
        "{responses:?}"
    );
    bystander.still_served(&mut relay).await;
}

#[tokio::test]
async fn unauthorized_commands_are_refused_with_auth() {
    let mut relay = Relay::start(&["--password", "operator"]);
    let mut session = RawSession::open(&relay.address).await;
    let key = sotto_client::relay::random_auth_secret();
    let other = sotto_client::relay::random_auth_secret();
    let new = |password: Option<&[u8]>| Command::New {
        recipient_auth_key: key.public_key(),
        recipient_dh_key: dh_public(),
        password: password.map(|bytes| sotto_wire::ServerPassword::new(bytes.to_vec()).unwrap()),
    };
    let right = session.command_key(&key);
    let wrong = session.command_key(&other);
    let corr = |n: u8| CorrId::from_bytes([0, 0, 0, 0, 0, 0, 0, n]);
    let transmissions = [
        // Right password, but unauthorized or authorized by another key than the body's.
        new(Some(b"operator")).to_transmission(corr(1)),
        new(Some(b"operator")).to_authorized_transmission(corr(2), &wrong),
        // Authorized, wrong or missing password.
        new(Some(b"operator!")).to_authorized_transmission(corr(3), &right),
        new(None).to_authorized_transmission(corr(4), &right),
        // Everything right.
        new(Some(b"operator")).to_authorized_transmission(corr(5), &right),
    ];
    session
        .send_encoded(&transmissions.iter().map(|t| t.encode()).collect::<Vec<_>>())
        .await;
    let mut responses = Vec::new();
    while responses.len() < transmissions.len() {
        responses.extend(session.responses().await);
    }
    responses.sort_by_key(|(corr_id, _)| *corr_id);
    for (corr_id, response) in &responses[..4] {
        assert!(
            matches!(
                response,
                Response::Err {
                    code: ErrorCode::Auth,
                    ..
                }
            ),
            "{corr_id:?}: {response:?}"
        );
    }
    assert!(matches!(responses[4].1, Response::Ids { .. }));
    assert!(relay.is_running());
    // Still serving.
    let mut bystander_relay_check = Client::connect(&relay.address).await;
    bystander_relay_check.connection.ping().await.unwrap();
    assert!(
        bystander_relay_check
            .push_within(Duration::from_millis(10))
            .await
            .is_none()
    );
    assert!(relay.is_running());
}

/// ERR AUTH for a queue that exists (wrong key, forged or missing
/// authenticator) and for one
/// that does not: the same bytes, so that nothing in the answer tells them
/// apart. (That they take the same time is measured by `sotto-relay-bench`
/// `--only auth`, not asserted here.)
#[tokio::test]
async fn auth_errors_are_the_same_bytes_whether_a_queue_exists_or_not() {
    // 7 commands x 4 ways to fail: more than the default failure burst.
    let relay = Relay::start(&["--auth-failure-burst", "64"]);
    let mut session = RawSession::open(&relay.address).await;
    let corr_id = CorrId::from_bytes([0, 0, 0, 0, 0, 0, 0, 7]);
    let recipient_secret = sotto_client::relay::random_auth_secret();
    let sender_secret = sotto_client::relay::random_auth_secret();
    let wrong_secret = sotto_client::relay::random_auth_secret();
    let recipient_key = session.command_key(&recipient_secret);
    let sender_key = session.command_key(&sender_secret);
    let wrong_key = session.command_key(&wrong_secret);
    let new = Command::New {
        recipient_auth_key: recipient_secret.public_key(),
        recipient_dh_key: dh_public(),
        password: None,
    };
    let reply = session
        .exchange(&new.to_authorized_transmission(corr_id, &recipient_key))
        .await;
    let (recipient_id, sender_id) = match decode_reply(&reply[0]) {
        Response::Ids {
            recipient_id,
            sender_id,
            ..
        } => (recipient_id, sender_id),
        other => panic!("expected IDS, got {other:?}"),
    };
    let key = Command::Key {
        recipient_id,
        sender_auth_key: sender_secret.public_key(),
    };
    let reply = session
        .exchange(&key.to_authorized_transmission(corr_id, &recipient_key))
        .await;
    assert!(matches!(decode_reply(&reply[0]), Response::Ok { .. }));

    // Each command with the key that would be right if the queue exists.
    let commands = [
        (Command::Sub { recipient_id }, &recipient_key),
        (Command::Get { recipient_id }, &recipient_key),
        (
            Command::Ack {
                recipient_id,
                message_id: sotto_wire::MessageId::from_bytes([1; 24]),
            },
            &recipient_key,
        ),
        (Command::Off { recipient_id }, &recipient_key),
        (Command::Del { recipient_id }, &recipient_key),
        (
            Command::Key {
                recipient_id,
                sender_auth_key: wrong_secret.public_key(),
            },
            &recipient_key,
        ),
        (Command::send(sender_id, body(b"x", 16_000)), &sender_key),
    ];
    let mut existing = Vec::new();
    for (command, _) in &commands {
        let by_another_key = command.to_authorized_transmission(corr_id, &wrong_key);
        existing.push(session.exchange(&by_another_key).await);
    }
    for (command, right_key) in &commands {
        let mut forged = command.to_authorized_transmission(corr_id, right_key);
        let mut authenticator = *forged.authenticator.unwrap().as_bytes();
        authenticator[20] ^= 1;
        forged.authenticator = Some(sotto_wire::Authenticator::from_bytes(authenticator));
        assert!(!forged.verify(right_key));
        existing.push(session.exchange(&forged).await);
    }
    for (command, _) in &commands {
        let unauthorized = command.to_transmission(corr_id);
        existing.push(session.exchange(&unauthorized).await);
    }
    // The queue goes; the same commands, authorized with its keys, find nothing.
    let del = Command::Del { recipient_id };
    let reply = session
        .exchange(&del.to_authorized_transmission(corr_id, &recipient_key))
        .await;
    assert!(matches!(decode_reply(&reply[0]), Response::Ok { .. }));
    let mut missing = Vec::new();
    for (command, right_key) in &commands {
        let authorized = command.to_authorized_transmission(corr_id, right_key);
        missing.push(session.exchange(&authorized).await);
    }

    for (index, (command, _)) in commands.iter().enumerate() {
        let [reply] = missing[index].as_slice() else {
            panic!("one reply per block: {command:?}");
        };
        assert!(
            matches!(
                decode_reply(reply),
                Response::Err {
                    code: ErrorCode::Auth,
                    ..
                }
            ),
            "{command:?}"
        );
        // Every ERR AUTH has the same length (the entity is echoed, the rest fixed).
        assert_eq!(reply.len(), missing[0][0].len(), "{command:?}");
        assert_eq!(existing[index], missing[index], "another key: {command:?}");
        let forged = &existing[index + commands.len()];
        assert_eq!(forged, &missing[index], "forged authenticator: {command:?}");
        let unauthorized = &existing[index + 2 * commands.len()];
        assert_eq!(
            unauthorized, &missing[index],
            "no authenticator: {command:?}"
        );
    }
    assert!(relay.log().lines().all(|line| !line.contains("WARN")));
}

fn decode_reply(bytes: &[u8]) -> Response {
    Response::from_transmission(&sotto_wire::Transmission::decode(bytes).unwrap()).unwrap()
}

#[tokio::test]
async fn floods_are_limited_and_do_not_starve_others() {
    // Many connections come from 127.0.0.1 below: the per-address cap (its own
    // test is in connection_slots.rs) is raised out of the way.
    let mut relay = Relay::start(&[
        "--rate-limit",
        "200",
        "--rate-burst",
        "300",
        "--max-connections-per-ip",
        "1000",
    ]);
    let mut bystander = Bystander::new(&relay).await;

    // One connection sends blocks of 255 PINGs as fast as it can, never reading.
    let mut flooder = RawSession::open(&relay.address).await;
    let mut batch = InnerBlock::new();
    for n in 0..255u64 {
        batch
            .push(&Command::Ping.to_transmission(CorrId::from_bytes((n + 1).to_be_bytes())))
            .unwrap();
    }
    let flood = async {
        for _ in 0..200 {
            let block = flooder.transport.seal(&batch).unwrap();
            if flooder
                .socket
                .send(Message::binary(block.into_vec()))
                .await
                .is_err()
            {
                break;
            }
        }
    };
    // The flood may block on back-pressure: that is the relay protecting itself.
    let _ = tokio::time::timeout(Duration::from_secs(5), flood).await;
    bystander.still_served(&mut relay).await;

    // What the flooder gets back: PONGs within its burst, then ERR LIMIT.
    let mut limited = 0;
    let mut pongs = 0;
    for _ in 0..10 {
        match tokio::time::timeout(Duration::from_secs(2), next_frame(&mut flooder.socket)).await {
            Ok(Some(Message::Binary(bytes))) => {
                let inner = flooder
                    .transport
                    .open(Block::from_slice(&bytes).unwrap())
                    .unwrap();
                for encoded in inner.transmissions() {
                    let transmission = sotto_wire::Transmission::decode(encoded).unwrap();
                    match Response::from_transmission(&transmission).unwrap() {
                        Response::Pong => pongs += 1,
                        Response::Err {
                            code: ErrorCode::Limit,
                            ..
                        } => limited += 1,
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
            _ => break,
        }
    }
    assert!(pongs > 0 && limited > 0, "pongs {pongs}, limited {limited}");

    // Many connections at once, most never finishing the handshake.
    let mut sockets = Vec::new();
    for _ in 0..300 {
        sockets.push(raw_socket(&relay.address).await);
    }
    bystander.still_served(&mut relay).await;
    drop(sockets);
    drop(flooder);
    bystander.still_served(&mut relay).await;
}
