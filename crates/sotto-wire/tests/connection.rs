//! The sans-IO client connection against a relay end built from the same crate,
//! under a fake clock: handshake, authenticators, batching, random correlation
//! ids, timeouts, keep-alive and the end of a connection.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use sotto_wire::{
    Block, CipherSuite, ClientConnection, Command, ConnectionConfig, ConnectionEnd, CorrId,
    DownloadId, Event, FilePiece, GROUP_ENTRY_LEN, GroupAdminId, GroupEntry, GroupReadId,
    GroupWriteId, InnerBlock, MessageBody, QueueAuthSecret, RecipientId, RelayIdentity,
    RelaySessionAuth, Request, RequestFailure, Response, SenderId, ServerHandshake,
    ServerHandshakeOutcome, Transmission, Transport, UploadId, VersionRange,
};

/// The relay's end of one connection.
struct Relay {
    transport: Transport,
    auth: RelaySessionAuth,
}

impl Relay {
    fn accept(hello: &Block) -> (Relay, Block) {
        let identity = identity();
        match ServerHandshake::new([2; 32], VersionRange::SUPPORTED)
            .handle_client_hello(hello, &identity)
            .unwrap()
        {
            ServerHandshakeOutcome::Accepted {
                server_hello,
                transport,
                auth,
            } => (Relay { transport, auth }, server_hello),
            ServerHandshakeOutcome::Rejected { .. } => panic!("rejected"),
        }
    }

    fn receive(&mut self, block: Block) -> Vec<Transmission> {
        self.transport
            .open(block)
            .unwrap()
            .transmissions()
            .iter()
            .map(|bytes| Transmission::decode(bytes).unwrap())
            .collect()
    }

    fn send(&mut self, replies: &[Transmission]) -> Vec<u8> {
        let mut inner = InnerBlock::new();
        for reply in replies {
            inner.push(reply).unwrap();
        }
        self.transport.seal(&inner).unwrap().into_vec()
    }
}

fn identity() -> RelayIdentity {
    RelayIdentity::from_secret_bytes([42; 32])
}

fn at(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

fn connection() -> ClientConnection {
    ClientConnection::new(
        identity().fingerprint(),
        ConnectionConfig::default(),
        [7; 32],
        at(0),
    )
}

/// A connection through its handshake, and the relay's end.
fn connected() -> (ClientConnection, Relay) {
    let mut client = connection();
    let hello = client.poll_transmit(at(0)).unwrap();
    assert!(client.poll_transmit(at(0)).is_none());
    let (relay, server_hello) = Relay::accept(&hello);
    client.handle_frame(at(0), server_hello.as_bytes());
    match client.poll_event() {
        Some(Event::Connected(parameters)) => {
            assert_eq!(parameters.suite, CipherSuite::offered()[0]);
            assert_eq!(parameters.session_id, relay.transport.session_id());
        }
        other => panic!("{other:?}"),
    }
    (client, relay)
}

fn sub(secret: &QueueAuthSecret, id: u8) -> Request {
    Request {
        command: Command::Sub {
            recipient_id: RecipientId::from_bytes([id; 24]),
        },
        auth: Some(secret.clone()),
    }
}

fn send(id: u8) -> Request {
    Request {
        command: Command::send(
            SenderId::from_bytes([id; 24]),
            MessageBody::new(vec![id; 100]).unwrap(),
        ),
        auth: None,
    }
}

fn ok_for(transmission: &Transmission) -> Transmission {
    Response::Ok {
        entity: transmission.entity,
    }
    .to_transmission(transmission.corr_id)
}

#[test]
fn commands_wait_for_the_handshake_then_carry_authenticators_the_relay_checks() {
    let mut client = connection();
    let secret = QueueAuthSecret::from_bytes([5; 32]);
    let first = client.submit(sub(&secret, 1)).unwrap();
    let hello = client.poll_transmit(at(0)).unwrap();
    let (mut relay, server_hello) = Relay::accept(&hello);
    client.handle_frame(at(1), server_hello.as_bytes());
    assert!(matches!(client.poll_event(), Some(Event::Connected(_))));

    let sent = relay.receive(client.poll_transmit(at(1)).unwrap());
    assert_eq!(sent.len(), 1);
    let key = relay.auth.command_key(&secret.public_key()).unwrap();
    assert!(sent[0].verify(&key));
    let other = QueueAuthSecret::from_bytes([6; 32]).public_key();
    assert!(!sent[0].verify(&relay.auth.command_key(&other).unwrap()));

    let reply = relay.send(&[ok_for(&sent[0])]);
    client.handle_frame(at(2), &reply);
    assert_eq!(
        client.poll_event(),
        Some(Event::Answer {
            id: first,
            response: Response::Ok {
                entity: sent[0].entity
            }
        })
    );
    assert_eq!(client.requests_in_flight(), 0);
}

#[test]
fn commands_share_blocks_but_never_sender_with_recipient() {
    let (mut client, mut relay) = connected();
    let secret = QueueAuthSecret::from_bytes([5; 32]);
    client.submit(sub(&secret, 1)).unwrap();
    client.submit(sub(&secret, 2)).unwrap();
    client.submit(send(3)).unwrap();
    client.submit(send(4)).unwrap();
    client
        .submit(Request {
            command: Command::Ping,
            auth: None,
        })
        .unwrap();
    client.submit(sub(&secret, 5)).unwrap();
    let mut blocks = Vec::new();
    while let Some(block) = client.poll_transmit(at(0)) {
        blocks.push(relay.receive(block));
    }
    let tags: Vec<Vec<u8>> = blocks
        .iter()
        .map(|block| block.iter().map(|t| t.tag).collect())
        .collect();
    // SUB SUB | SEND SEND PING | SUB.
    assert_eq!(tags, vec![vec![3, 3], vec![4, 4, 9], vec![3]]);
    assert_eq!(client.queued_bytes(), 0);
}

#[test]
fn upload_and_download_commands_never_share_a_block() {
    let (mut client, mut relay) = connected();
    let secret = QueueAuthSecret::from_bytes([5; 32]);
    let put = |offset: u32| Request {
        command: Command::FilePut {
            upload_id: UploadId::from_bytes([1; 24]),
            offset,
            piece: FilePiece::new(vec![7; 100]).unwrap(),
        },
        auth: Some(secret.clone()),
    };
    let get = Request {
        command: Command::FileGet {
            download_id: DownloadId::from_bytes([2; 24]),
            offset: 0,
            len: 100,
        },
        auth: Some(secret.clone()),
    };
    client.submit(put(0)).unwrap();
    client.submit(put(100)).unwrap();
    client.submit(get.clone()).unwrap();
    client.submit(get).unwrap();
    client.submit(sub(&secret, 3)).unwrap();
    client.submit(put(200)).unwrap();
    let mut blocks = Vec::new();
    while let Some(block) = client.poll_transmit(at(0)) {
        blocks.push(relay.receive(block));
    }
    let tags: Vec<Vec<u8>> = blocks
        .iter()
        .map(|block| block.iter().map(|t| t.tag).collect())
        .collect();
    // FPUT FPUT | FGET FGET | SUB | FPUT.
    assert_eq!(
        tags,
        vec![vec![0x0f, 0x0f], vec![0x11, 0x11], vec![3], vec![0x0f]]
    );
}

#[test]
fn group_writer_reader_and_admin_commands_never_share_a_block() {
    let (mut client, mut relay) = connected();
    let secret = QueueAuthSecret::from_bytes([5; 32]);
    let request = |command: Command| Request {
        command,
        auth: Some(secret.clone()),
    };
    let append = request(Command::GroupAppend {
        write_id: GroupWriteId::from_bytes([1; 24]),
        entry: GroupEntry::new(vec![7; GROUP_ENTRY_LEN]).unwrap(),
    });
    let read = |from: u64| {
        request(Command::GroupRead {
            read_id: GroupReadId::from_bytes([2; 24]),
            from,
        })
    };
    let rotate = request(Command::GroupKey {
        admin_id: GroupAdminId::from_bytes([3; 24]),
        write_auth_key: secret.public_key(),
        read_auth_key: secret.public_key(),
    });
    client.submit(read(1)).unwrap();
    client.submit(read(2)).unwrap();
    client.submit(append).unwrap();
    client.submit(rotate).unwrap();
    client.submit(sub(&secret, 3)).unwrap();
    client.submit(read(3)).unwrap();
    let mut blocks = Vec::new();
    while let Some(block) = client.poll_transmit(at(0)) {
        blocks.push(relay.receive(block));
    }
    let tags: Vec<Vec<u8>> = blocks
        .iter()
        .map(|block| block.iter().map(|t| t.tag).collect())
        .collect();
    // GREAD GREAD | GAPP | GKEY | SUB | GREAD.
    assert_eq!(
        tags,
        vec![
            vec![0x17, 0x17],
            vec![0x16],
            vec![0x1a],
            vec![3],
            vec![0x17]
        ]
    );
}

#[test]
fn correlation_ids_are_random_and_never_the_push_id() {
    let (mut client, mut relay) = connected();
    for _ in 0..50 {
        client.submit(send(1)).unwrap();
    }
    let mut ids: Vec<CorrId> = Vec::new();
    while let Some(block) = client.poll_transmit(at(0)) {
        ids.extend(relay.receive(block).iter().map(|t| t.corr_id));
    }
    assert_eq!(ids.len(), 50);
    assert!(ids.iter().all(|id| !id.is_push()));
    let mut unique = ids.clone();
    unique.sort_by_key(|id| *id.as_bytes());
    unique.dedup();
    assert_eq!(unique.len(), 50);
    // Not a counter: consecutive ids differ in more than their last byte.
    let counters = ids
        .windows(2)
        .filter(|pair| pair[0].as_bytes()[..7] == pair[1].as_bytes()[..7])
        .count();
    assert!(counters < 3, "{counters}");
}

#[test]
fn late_answers_time_out_and_are_then_ignored() {
    let (mut client, mut relay) = connected();
    // Well before the first keep-alive is due.
    let id = client.submit(send(1)).unwrap();
    let sent = relay.receive(client.poll_transmit(at(0)).unwrap());
    client.handle_frame(
        at(15),
        &relay.send(&[Response::Pong.to_transmission(CorrId::PUSH)]),
    );
    assert!(matches!(client.poll_event(), Some(Event::Push(_))));
    let deadline = client.poll_timeout().unwrap();
    assert_eq!(deadline, ConnectionConfig::default().request_timeout);
    client.handle_timeout(deadline);
    assert_eq!(
        client.poll_event(),
        Some(Event::Failed {
            id,
            reason: RequestFailure::Timeout
        })
    );
    let reply = relay.send(&[ok_for(&sent[0])]);
    client.handle_frame(deadline, &reply);
    assert_eq!(client.poll_event(), None);
    assert!(client.is_established());
}

#[test]
fn a_quiet_line_is_pinged_and_a_dead_one_ends() {
    let config = ConnectionConfig::default();
    let (mut client, mut relay) = connected();
    let ping_at = client.poll_timeout().unwrap();
    assert_eq!(ping_at, config.keepalive_interval);
    client.handle_timeout(ping_at);
    let sent = relay.receive(client.poll_transmit(ping_at).unwrap());
    assert_eq!(sent[0].tag, 9);
    // Answered: the line is alive, the next ping is an interval later.
    let pong = relay.send(&[Response::Pong.to_transmission(sent[0].corr_id)]);
    client.handle_frame(ping_at + at(1), &pong);
    assert_eq!(client.poll_event(), None);
    let next = client.poll_timeout().unwrap();
    assert_eq!(next, ping_at + at(1) + config.keepalive_interval);

    // Unanswered: the connection ends and open requests fail.
    client.handle_timeout(next);
    assert!(client.poll_transmit(next).is_some());
    let id = client.submit(send(1)).unwrap();
    let dead = client.poll_timeout().unwrap();
    assert_eq!(dead, next + config.keepalive_timeout);
    client.handle_timeout(dead);
    assert_eq!(
        client.poll_event(),
        Some(Event::Failed {
            id,
            reason: RequestFailure::Closed
        })
    );
    assert_eq!(
        client.poll_event(),
        Some(Event::Ended(ConnectionEnd::TimedOut))
    );
    assert!(client.is_ended());
    assert_eq!(client.poll_timeout(), None);
}

#[test]
fn a_relay_that_never_answers_the_hello_times_out() {
    let mut client = connection();
    client.poll_transmit(at(0)).unwrap();
    let deadline = client.poll_timeout().unwrap();
    client.handle_timeout(deadline);
    assert_eq!(
        client.poll_event(),
        Some(Event::Ended(ConnectionEnd::TimedOut))
    );
}

#[test]
fn a_wrong_relay_key_ends_the_handshake() {
    let mut client = ClientConnection::new(
        RelayIdentity::from_secret_bytes([1; 32]).fingerprint(),
        ConnectionConfig::default(),
        [7; 32],
        at(0),
    );
    let id = client.submit(send(1)).unwrap();
    let hello = client.poll_transmit(at(0)).unwrap();
    let (_, server_hello) = Relay::accept(&hello);
    client.handle_frame(at(0), server_hello.as_bytes());
    assert_eq!(
        client.poll_event(),
        Some(Event::Failed {
            id,
            reason: RequestFailure::Closed
        })
    );
    assert!(matches!(
        client.poll_event(),
        Some(Event::Ended(ConnectionEnd::Handshake(_)))
    ));
    // Later requests fail at once.
    let later = client.submit(send(2)).unwrap();
    assert_eq!(
        client.poll_event(),
        Some(Event::Failed {
            id: later,
            reason: RequestFailure::Closed
        })
    );
}

#[test]
fn pushes_are_reported_and_garbage_ends_the_connection() {
    let (mut client, mut relay) = connected();
    let end = Response::End {
        recipient_id: RecipientId::from_bytes([1; 24]),
    };
    let pushed = relay.send(&[end.to_transmission(CorrId::PUSH)]);
    client.handle_frame(at(1), &pushed);
    assert_eq!(client.poll_event(), Some(Event::Push(end)));
    client.handle_frame(at(2), &[0; 100]);
    assert!(matches!(
        client.poll_event(),
        Some(Event::Ended(ConnectionEnd::Protocol(_)))
    ));
}

#[test]
fn oversized_commands_are_refused_at_submit() {
    let (mut client, _) = connected();
    let mut request = send(1);
    let Command::Send { body, .. } = &mut request.command else {
        unreachable!()
    };
    *body = MessageBody::new(vec![1; 16000]).unwrap();
    assert!(client.submit(request).is_ok());
    // auth_len, corr id, entity_len, sender id, tag, flags, send id, body_len, body.
    assert_eq!(
        client.queued_bytes(),
        1 + 8 + 1 + 24 + 1 + 1 + 16 + 2 + 16000
    );
}

#[test]
fn the_browser_suite_can_be_chosen() {
    let mut client = ClientConnection::with_suites(
        identity().fingerprint(),
        ConnectionConfig::default(),
        [7; 32],
        at(0),
        &[CipherSuite::ChaCha20Poly1305],
    );
    let hello = client.poll_transmit(at(0)).unwrap();
    let (relay, server_hello) = Relay::accept(&hello);
    assert_eq!(relay.transport.suite(), CipherSuite::ChaCha20Poly1305);
    client.handle_frame(at(0), server_hello.as_bytes());
    let Some(Event::Connected(parameters)) = client.poll_event() else {
        panic!("not connected");
    };
    assert_eq!(parameters.suite, CipherSuite::ChaCha20Poly1305);
    assert_eq!(
        parameters.relay_session_key,
        relay.transport.relay_session_key()
    );
}
