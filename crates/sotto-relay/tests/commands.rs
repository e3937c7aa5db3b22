//! Every relay command and its errors, through `sotto-client` against a real
//! `sotto-relay` process over a real WebSocket.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sotto_client::ClientError;
use sotto_client::relay::{
    ConnectOptions, Delivery, Push, RecipientQueue, SenderQueue, random_auth_secret,
};
use sotto_wire::x25519_dalek::StaticSecret;
use sotto_wire::{
    Authenticator, CipherSuite, Command, CommandKey, CorrId, ErrorCode, MessageId, QueueAuthSecret,
    RecipientId, RelayFingerprint, Response, SenderId, Transmission,
};
use support::{Client, RawSession, Relay, body, dh_public, open_body, random, within};

fn refused(result: Result<impl std::fmt::Debug, ClientError>) -> ErrorCode {
    match result {
        Err(ClientError::Refused(code)) => code,
        other => panic!("expected ERR, got {other:?}"),
    }
}

/// A queue the relay never created.
fn unknown_queue() -> RecipientQueue {
    let secret = StaticSecret::from(random::<32>());
    RecipientQueue::from_ids(
        RecipientId::from_bytes(random()),
        SenderId::from_bytes(random()),
        random_auth_secret(),
        &secret,
        &dh_public(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_message_goes_new_key_send_sub_msg_ack() {
    let relay = Relay::start(&[]);
    let mut recipient = relay.connect().await;
    let sender = relay.connect().await;

    let queue = recipient.connection.create_queue(None).await.unwrap();
    assert_ne!(
        queue.recipient_id().as_bytes(),
        queue.sender_id().as_bytes()
    );
    let sender_queue = SenderQueue::with_new_key(queue.sender_id());
    let sender_key = sender_queue.public_key().unwrap();
    recipient
        .connection
        .secure(&queue, &sender_key)
        .await
        .unwrap();

    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for index in 0..3u8 {
        let message = body(&[b'm', index], 100 + usize::from(index));
        sender
            .connection
            .send(&sender_queue, message)
            .await
            .unwrap();
    }
    let subscribed = recipient.connection.subscribe([&queue]).await;
    assert!(subscribed.iter().all(Result::is_ok), "{subscribed:?}");

    let mut seen = Vec::new();
    for index in 0..3u8 {
        let delivery = recipient.next_message().await;
        assert_eq!(delivery.recipient_id, queue.recipient_id());
        let opened = queue.open(&delivery).unwrap();
        assert!(opened.timestamp >= before && opened.timestamp <= before + 60);
        let bytes = open_body(&queue, &delivery);
        assert_eq!(&bytes[..2], &[b'm', index]);
        assert_eq!(bytes.len(), 100 + usize::from(index));
        // What comes out shares nothing with what went in.
        assert!(
            !delivery
                .sealed
                .as_bytes()
                .windows(16)
                .any(|window| window == &bytes[..16])
        );
        assert!(!seen.contains(&delivery.message_id));
        seen.push(delivery.message_id);
        // The next message waits for the ACK.
        assert_eq!(
            recipient.push_within(Duration::from_millis(300)).await,
            None
        );
        recipient
            .connection
            .ack(&queue, delivery.message_id)
            .await
            .unwrap();
    }
    // Subscribed and empty: a new message is pushed as it arrives.
    sender
        .connection
        .send(&sender_queue, body(b"live", 20))
        .await
        .unwrap();
    let delivery = recipient.next_message().await;
    assert_eq!(&open_body(&queue, &delivery)[..4], b"live");
    recipient
        .connection
        .ack(&queue, delivery.message_id)
        .await
        .unwrap();
    assert_eq!(recipient.connection.get(&queue).await.unwrap(), None);
}

#[tokio::test]
async fn key_is_idempotent_and_sends_must_then_be_authorized_by_it() {
    let relay = Relay::start(&[]);
    let client = relay.connect().await;
    let queue = client.connection.create_queue(None).await.unwrap();

    // Before KEY, an unauthorized SEND is accepted.
    let unsigned = SenderQueue::unsecured(queue.sender_id());
    client
        .connection
        .send(&unsigned, body(b"early", 10))
        .await
        .unwrap();

    let sender = SenderQueue::with_new_key(queue.sender_id());
    let key = sender.public_key().unwrap();
    client.connection.secure(&queue, &key).await.unwrap();
    client.connection.secure(&queue, &key).await.unwrap();
    let other = random_auth_secret().public_key();
    assert_eq!(
        refused(client.connection.secure(&queue, &other).await),
        ErrorCode::Auth
    );

    assert_eq!(
        refused(client.connection.send(&unsigned, body(b"x", 1)).await),
        ErrorCode::Auth
    );
    let impostor = SenderQueue::with_new_key(queue.sender_id());
    assert_eq!(
        refused(client.connection.send(&impostor, body(b"x", 1)).await),
        ErrorCode::Auth
    );
    client
        .connection
        .send(&sender, body(b"authorized", 10))
        .await
        .unwrap();

    // KEY authorized by someone else than the recipient is refused too.
    let command = Command::Key {
        recipient_id: queue.recipient_id(),
        sender_auth_key: key,
    };
    let response = client
        .connection
        .request(&command, Some(&random_auth_secret()))
        .await
        .unwrap();
    assert!(matches!(
        response,
        Response::Err {
            code: ErrorCode::Auth,
            ..
        }
    ));

    let first = client.connection.get(&queue).await.unwrap().unwrap();
    assert_eq!(&open_body(&queue, &first)[..5], b"early");
}

#[tokio::test]
async fn get_fetches_without_subscribing_and_ack_checks_the_id() {
    let relay = Relay::start(&[]);
    let client = relay.connect().await;
    let (queue, sender) = client.secured_queue().await;

    assert_eq!(client.connection.get(&queue).await.unwrap(), None);
    assert_eq!(
        refused(
            client
                .connection
                .ack(&queue, MessageId::from_bytes(random()))
                .await
        ),
        ErrorCode::NoMsg
    );

    for tag in [b"one", b"two"] {
        client
            .connection
            .send(&sender, body(tag, 50))
            .await
            .unwrap();
    }
    let first = client.connection.get(&queue).await.unwrap().unwrap();
    assert_eq!(&open_body(&queue, &first)[..3], b"one");
    // Not acknowledged: GET returns the same message again.
    let again = client.connection.get(&queue).await.unwrap().unwrap();
    assert_eq!(again.message_id, first.message_id);
    assert_eq!(again, first);

    assert_eq!(
        refused(
            client
                .connection
                .ack(&queue, MessageId::from_bytes(random()))
                .await
        ),
        ErrorCode::NoMsg
    );
    client
        .connection
        .ack(&queue, first.message_id)
        .await
        .unwrap();
    let second = client.connection.get(&queue).await.unwrap().unwrap();
    assert_eq!(&open_body(&queue, &second)[..3], b"two");
    assert_ne!(second.message_id, first.message_id);
    client
        .connection
        .ack(&queue, second.message_id)
        .await
        .unwrap();
    assert_eq!(client.connection.get(&queue).await.unwrap(), None);
    // The acknowledged message cannot be acknowledged twice.
    assert_eq!(
        refused(client.connection.ack(&queue, second.message_id).await),
        ErrorCode::NoMsg
    );
}

#[tokio::test]
async fn unknown_queues_and_bad_authenticators_both_get_auth() {
    // 6 commands x 3 failures and a SEND: more than the default failure burst.
    let relay = Relay::start(&["--auth-failure-burst", "64"]);
    let client = relay.connect().await;
    let (queue, _sender) = client.secured_queue().await;
    let unknown = unknown_queue();
    let wrong_key = random_auth_secret();

    let commands = |recipient_id| {
        vec![
            Command::Sub { recipient_id },
            Command::Get { recipient_id },
            Command::Ack {
                recipient_id,
                message_id: MessageId::from_bytes([1; 24]),
            },
            Command::Off { recipient_id },
            Command::Del { recipient_id },
            Command::Key {
                recipient_id,
                sender_auth_key: random_auth_secret().public_key(),
            },
        ]
    };
    for (real, missing) in commands(queue.recipient_id())
        .into_iter()
        .zip(commands(unknown.recipient_id()))
    {
        let bad_authenticator = client
            .connection
            .request(&real, Some(&wrong_key))
            .await
            .unwrap();
        let unauthorized = client.connection.request(&real, None).await.unwrap();
        let no_queue = client
            .connection
            .request(&missing, Some(unknown.auth_key()))
            .await
            .unwrap();
        for response in [&bad_authenticator, &unauthorized, &no_queue] {
            assert!(
                matches!(
                    response,
                    Response::Err {
                        code: ErrorCode::Auth,
                        ..
                    }
                ),
                "{real:?}: {response:?}"
            );
        }
        // Same response, entity aside: nothing tells the two cases apart.
        assert_eq!(bad_authenticator.tag(), no_queue.tag());
        assert_eq!(bad_authenticator.encode_body(), no_queue.encode_body());
    }

    // A SEND to a sender id that does not exist.
    let nowhere = SenderQueue::with_new_key(SenderId::from_bytes(random()));
    assert_eq!(
        refused(client.connection.send(&nowhere, body(b"x", 1)).await),
        ErrorCode::Auth
    );
    // The real queue is untouched by all this.
    client.connection.subscribe([&queue]).await[0]
        .as_ref()
        .unwrap();
}

/// A random correlation id that is not the push id, for hand-made
/// transmissions (the connection keeps it).
fn random_corr_id() -> CorrId {
    loop {
        let id = CorrId::from_bytes(random());
        if id != CorrId::PUSH {
            return id;
        }
    }
}

/// The command key of `secret` on `client`'s connection.
fn command_key(client: &Client, secret: &QueueAuthSecret) -> CommandKey {
    let parameters = client.connection.parameters();
    CommandKey::for_client(
        secret,
        &parameters.relay_session_key,
        &parameters.session_id,
    )
    .unwrap()
}

/// Sends a hand-made transmission and waits for its response.
async fn exchange(client: &Client, transmission: Transmission) -> Response {
    client
        .connection
        .submit_transmission(transmission)
        .await
        .unwrap()
        .response()
        .await
        .unwrap()
}

fn is_auth_error(response: &Response) -> bool {
    matches!(
        response,
        Response::Err {
            code: ErrorCode::Auth,
            ..
        }
    )
}

#[tokio::test]
async fn a_command_authorized_for_one_connection_fails_on_another() {
    let relay = Relay::start(&[]);
    let first = relay.connect().await;
    let second = relay.connect().await;
    let (queue, _sender) = first.secured_queue().await;
    assert_ne!(
        first.connection.parameters().session_id,
        second.connection.parameters().session_id
    );

    let command = Command::Get {
        recipient_id: queue.recipient_id(),
    };
    // The command key is per session: the first connection's authenticator,
    // replayed byte for byte on the second, fails there.
    let first_key = command_key(&first, queue.auth_key());
    let second_key = command_key(&second, queue.auth_key());
    let corr_id = random_corr_id();
    let replayed = command.to_authorized_transmission(corr_id, &first_key);
    assert!(replayed.verify(&first_key) && !replayed.verify(&second_key));
    let response = exchange(&second, replayed.clone()).await;
    assert!(is_auth_error(&response), "{response:?}");
    // It was a valid command where it was made.
    let response = exchange(&first, replayed).await;
    assert!(
        matches!(
            response,
            Response::Err {
                code: ErrorCode::NoMsg,
                ..
            }
        ),
        "{response:?}"
    );

    // A forged authenticator (one bit off) and a missing one fail too.
    let mut forged = command.to_authorized_transmission(random_corr_id(), &second_key);
    let mut authenticator = *forged.authenticator.unwrap().as_bytes();
    authenticator[0] ^= 1;
    forged.authenticator = Some(Authenticator::from_bytes(authenticator));
    let response = exchange(&second, forged).await;
    assert!(is_auth_error(&response), "{response:?}");
    let response = exchange(&second, command.to_transmission(random_corr_id())).await;
    assert!(is_auth_error(&response), "{response:?}");

    // Authorized for the second connection, it works there.
    let fresh = command.to_authorized_transmission(random_corr_id(), &second_key);
    let response = exchange(&second, fresh).await;
    assert!(
        matches!(
            response,
            Response::Err {
                code: ErrorCode::NoMsg,
                ..
            }
        ),
        "{response:?}"
    );
}

/// After a burst of failed authorizations the relay answers each with ERR
/// AUTH, then closes the connection with 1008 (policy violation); other
/// connections are not affected.
#[tokio::test]
async fn a_burst_of_failed_authorizations_closes_the_connection() {
    let relay = Relay::start(&["--auth-failure-burst", "4"]);
    let bystander = relay.connect().await;
    let (queue, _sender) = bystander.secured_queue().await;
    let mut session = RawSession::open(&relay.address).await;
    let command = Command::Sub {
        recipient_id: queue.recipient_id(),
    };
    let wrong_key = session.command_key(&random_auth_secret());
    // Within the burst: ERR AUTH each time, and the connection stays.
    for n in 1..=4u8 {
        let corr = CorrId::from_bytes([0, 0, 0, 0, 0, 0, 0, n]);
        let responses = session
            .exchange(&command.to_authorized_transmission(corr, &wrong_key))
            .await;
        let [reply] = responses.as_slice() else {
            panic!("one reply: {responses:?}");
        };
        let transmission = Transmission::decode(reply).unwrap();
        assert_eq!(transmission.corr_id, corr);
        let response = Response::from_transmission(&transmission).unwrap();
        assert!(is_auth_error(&response), "{response:?}");
    }
    // Past the burst, in one block: failures (three, so that what the bucket
    // refills at one a second while this test runs cannot cover them) and a
    // PING. All are answered, then the relay closes.
    let corr = |n: u8| CorrId::from_bytes([0, 0, 0, 0, 0, 0, 0, n]);
    let unknown = Command::Sub {
        recipient_id: RecipientId::from_bytes(random()),
    };
    session
        .send_encoded(&[
            command.to_transmission(corr(5)).encode(),
            command
                .to_authorized_transmission(corr(6), &wrong_key)
                .encode(),
            unknown
                .to_authorized_transmission(corr(7), &wrong_key)
                .encode(),
            Command::Ping.to_transmission(corr(8)).encode(),
        ])
        .await;
    let mut responses = Vec::new();
    while responses.len() < 4 {
        responses.extend(session.responses().await);
    }
    assert_eq!(responses.len(), 4, "{responses:?}");
    for (index, (corr_id, response)) in responses[..3].iter().enumerate() {
        assert_eq!(*corr_id, corr(5 + index as u8));
        assert!(is_auth_error(response), "{responses:?}");
    }
    assert_eq!(responses[3], (corr(8), Response::Pong));
    assert_eq!(support::closed(&mut session.socket).await, Some(1008));

    // A well-behaved connection is still served, the queue untouched.
    bystander.connection.ping().await.unwrap();
    bystander.connection.subscribe([&queue]).await[0]
        .as_ref()
        .unwrap();
}

/// Each cipher suite works end to end: a recipient that offers only that suite
/// gets it, and what the relay pushes to it is sealed with it (and opens with
/// no other), whatever suite the sender's connection uses.
#[tokio::test]
async fn both_cipher_suites_work_end_to_end() {
    let relay = Relay::start(&[]);
    for (suite, other) in [
        (CipherSuite::ChaCha20Poly1305, CipherSuite::Aes256Gcm),
        (CipherSuite::Aes256Gcm, CipherSuite::ChaCha20Poly1305),
    ] {
        let options = ConnectOptions {
            suites: vec![suite],
            ..ConnectOptions::default()
        };
        let mut recipient = Client::connect_with(&relay.address, &options).await;
        assert_eq!(recipient.connection.parameters().suite, suite);
        let sender_options = ConnectOptions {
            suites: vec![other],
            ..ConnectOptions::default()
        };
        let sender = Client::connect_with(&relay.address, &sender_options).await;
        assert_eq!(sender.connection.parameters().suite, other);

        let (queue, sender_queue) = recipient.secured_queue().await;
        let tag = suite.name().as_bytes();
        sender
            .connection
            .send(&sender_queue, body(tag, 1000))
            .await
            .unwrap();
        let subscribed = recipient.connection.subscribe([&queue]).await;
        assert!(subscribed.iter().all(Result::is_ok), "{subscribed:?}");
        let delivery = recipient.next_message().await;
        assert_eq!(delivery.suite, suite);
        let bytes = open_body(&queue, &delivery);
        assert_eq!(&bytes[..tag.len()], tag);
        assert_eq!(bytes.len(), 1000);
        let mislabelled = Delivery {
            suite: other,
            ..delivery.clone()
        };
        assert!(queue.open(&mislabelled).is_err());
        recipient
            .connection
            .ack(&queue, delivery.message_id)
            .await
            .unwrap();

        // The same message, fetched with GET on the sender's connection, comes
        // sealed with that connection's suite instead.
        sender
            .connection
            .send(&sender_queue, body(b"second", 10))
            .await
            .unwrap();
        let pushed = recipient.next_message().await;
        assert_eq!(pushed.suite, suite);
        assert_eq!(&open_body(&queue, &pushed)[..6], b"second");
        let fetched = sender.connection.get(&queue).await.unwrap().unwrap();
        assert_eq!(fetched.suite, other);
        assert_eq!(fetched.message_id, pushed.message_id);
        assert_ne!(fetched.sealed, pushed.sealed);
        assert_eq!(&open_body(&queue, &fetched)[..6], b"second");
    }
}

#[tokio::test]
async fn suspend_keeps_messages_readable_and_delete_removes_the_queue() {
    let relay = Relay::start(&[]);
    let client = relay.connect().await;
    let (queue, sender) = client.secured_queue().await;
    client
        .connection
        .send(&sender, body(b"kept", 10))
        .await
        .unwrap();

    client.connection.suspend(&queue).await.unwrap();
    assert_eq!(
        refused(client.connection.send(&sender, body(b"late", 10)).await),
        ErrorCode::Auth
    );
    let kept = client.connection.get(&queue).await.unwrap().unwrap();
    assert_eq!(&open_body(&queue, &kept)[..4], b"kept");
    client
        .connection
        .ack(&queue, kept.message_id)
        .await
        .unwrap();
    assert_eq!(client.connection.get(&queue).await.unwrap(), None);

    client.connection.delete(&queue).await.unwrap();
    assert_eq!(
        refused(client.connection.get(&queue).await),
        ErrorCode::Auth
    );
    let subscribed = client.connection.subscribe([&queue]).await;
    assert!(matches!(
        subscribed[0],
        Err(ClientError::Refused(ErrorCode::Auth))
    ));
    assert_eq!(
        refused(client.connection.send(&sender, body(b"gone", 10)).await),
        ErrorCode::Auth
    );
    assert_eq!(
        refused(client.connection.delete(&queue).await),
        ErrorCode::Auth
    );
}

#[tokio::test]
async fn ping_pongs_and_unknown_commands_get_cmd() {
    let relay = Relay::start(&[]);
    let client = relay.connect().await;
    for _ in 0..3 {
        client.connection.ping().await.unwrap();
    }
    let mut unknown = Command::Ping.to_transmission(CorrId::PUSH);
    unknown.tag = 0x7f;
    let response = client
        .connection
        .submit_transmission(unknown)
        .await
        .unwrap()
        .response()
        .await
        .unwrap();
    assert!(
        matches!(
            response,
            Response::Err {
                code: ErrorCode::Cmd,
                ..
            }
        ),
        "{response:?}"
    );
    // PING with a body: trailing bytes after a valid command.
    let mut trailing = Command::Ping.to_transmission(CorrId::PUSH);
    trailing.body = vec![0];
    let response = client
        .connection
        .submit_transmission(trailing)
        .await
        .unwrap()
        .response()
        .await
        .unwrap();
    assert!(
        matches!(
            response,
            Response::Err {
                code: ErrorCode::Cmd,
                ..
            }
        ),
        "{response:?}"
    );
    client.connection.ping().await.unwrap();
}

#[tokio::test]
async fn a_second_subscriber_takes_the_queue_over_with_end() {
    let relay = Relay::start(&[]);
    let mut first = relay.connect().await;
    let mut second = relay.connect().await;
    let sender = relay.connect().await;
    let queue = first.connection.create_queue(None).await.unwrap();
    let sender_queue = SenderQueue::with_new_key(queue.sender_id());
    first
        .connection
        .secure(&queue, &sender_queue.public_key().unwrap())
        .await
        .unwrap();

    first.connection.subscribe([&queue]).await[0]
        .as_ref()
        .unwrap();
    second.connection.subscribe([&queue]).await[0]
        .as_ref()
        .unwrap();
    assert_eq!(first.next_push().await, Push::End(queue.recipient_id()));

    sender
        .connection
        .send(&sender_queue, body(b"to-second", 30))
        .await
        .unwrap();
    let delivery = second.next_message().await;
    assert_eq!(&open_body(&queue, &delivery)[..9], b"to-second");
    assert_eq!(first.push_within(Duration::from_millis(300)).await, None);

    // Taking it back: the second one gets END, the first one the pending message.
    first.connection.subscribe([&queue]).await[0]
        .as_ref()
        .unwrap();
    assert_eq!(second.next_push().await, Push::End(queue.recipient_id()));
    let again = first.next_message().await;
    assert_eq!(again.message_id, delivery.message_id);
}

#[tokio::test]
async fn hundreds_of_queues_subscribe_in_one_batch() {
    let relay = Relay::start(&[]);
    let mut recipient = relay.connect().await;
    let sender = relay.connect().await;
    let mut queues = Vec::new();
    for _ in 0..300 {
        queues.push(recipient.connection.create_queue(None).await.unwrap());
    }
    let mut sends = Vec::new();
    for (index, queue) in queues.iter().enumerate() {
        let sender_queue = SenderQueue::unsecured(queue.sender_id());
        let message = body(format!("q{index:04}").as_bytes(), 64);
        sends.push(
            sender
                .connection
                .submit_send(&sender_queue, message)
                .await
                .unwrap(),
        );
    }
    for send in sends {
        send.ok("SEND").await.unwrap();
    }
    let results = within("300 SUBs", recipient.connection.subscribe(&queues)).await;
    assert_eq!(results.len(), 300);
    assert!(results.iter().all(Result::is_ok));
    let mut seen = vec![false; 300];
    for _ in 0..300 {
        let delivery = recipient.next_message().await;
        let index = queues
            .iter()
            .position(|queue| queue.recipient_id() == delivery.recipient_id)
            .unwrap();
        let bytes = open_body(&queues[index], &delivery);
        assert_eq!(bytes[..5], *format!("q{index:04}").as_bytes());
        assert!(!seen[index]);
        seen[index] = true;
    }
}

#[tokio::test]
async fn a_relay_with_another_fingerprint_is_refused() {
    let relay = Relay::start(&[]);
    let mut address = relay.address.clone();
    address.fingerprint = RelayFingerprint::from_bytes(random());
    let result = sotto_client::relay::RelayConnection::connect(
        &address,
        &sotto_client::relay::ConnectOptions::default(),
    )
    .await;
    assert!(
        matches!(result, Err(ClientError::WrongRelayIdentity)),
        "{:?}",
        result.map(|_| ())
    );
    // The right fingerprint still works.
    let client: Client = relay.connect().await;
    client.connection.ping().await.unwrap();
}

#[tokio::test]
async fn a_tls_relay_is_reached_over_wss_with_its_certificate_trusted() {
    use sotto_client::relay::rustls::{ClientConfig, RootCertStore};
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let cert = fixtures.join("test-cert.pem");
    let key = fixtures.join("test-key.pem");
    let relay = Relay::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(relay.address.scheme, sotto_wire::RelayScheme::Secure);

    // Without trusted roots a sotto:// address is refused before connecting.
    let refused = sotto_client::relay::RelayConnection::connect(
        &relay.address,
        &sotto_client::relay::ConnectOptions::default(),
    )
    .await;
    assert!(matches!(refused, Err(ClientError::TlsUnsupported)));

    let mut roots = RootCertStore::empty();
    let pem = std::fs::read(&cert).unwrap();
    for der in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(der.unwrap()).unwrap();
    }
    let options = sotto_client::relay::ConnectOptions {
        tls: Some(std::sync::Arc::new(
            ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )),
        ..sotto_client::relay::ConnectOptions::default()
    };
    let mut client = Client::connect_with(&relay.address, &options).await;
    let (queue, sender) = client.secured_queue().await;
    client
        .connection
        .send(&sender, body(b"tls", 10))
        .await
        .unwrap();
    client.connection.subscribe([&queue]).await[0]
        .as_ref()
        .unwrap();
    let delivery = client.next_message().await;
    assert_eq!(&open_body(&queue, &delivery)[..3], b"tls");

    // The fingerprint is still checked inside the TLS tunnel.
    let mut impostor = relay.address.clone();
    impostor.fingerprint = RelayFingerprint::from_bytes(random());
    let result = sotto_client::relay::RelayConnection::connect(&impostor, &options).await;
    assert!(matches!(result, Err(ClientError::WrongRelayIdentity)));
}

#[tokio::test]
async fn a_send_retried_with_the_same_bytes_is_answered_and_stored_once() {
    let relay = Relay::start(&[]);
    let client = relay.connect().await;
    let (queue, sender) = client.secured_queue().await;
    let retried = body(b"retried", 60);
    client
        .connection
        .send(&sender, retried.clone())
        .await
        .unwrap();
    // Its OK was lost: the sender sends the same bytes again, on another
    // connection, even after the recipient took the first copy.
    let first = client.connection.get(&queue).await.unwrap().unwrap();
    client
        .connection
        .ack(&queue, first.message_id)
        .await
        .unwrap();
    let again = relay.connect().await;
    again.connection.send(&sender, retried).await.unwrap();
    assert_eq!(client.connection.get(&queue).await.unwrap(), None);
    // Other bytes are another message.
    again
        .connection
        .send(&sender, body(b"next", 60))
        .await
        .unwrap();
    let next = client.connection.get(&queue).await.unwrap().unwrap();
    assert_eq!(&open_body(&queue, &next)[..4], b"next");
}
