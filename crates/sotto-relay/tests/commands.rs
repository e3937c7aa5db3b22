//! Every relay command and its errors, through `sotto-client` against a real
//! `sotto-relay` process over a real WebSocket.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sotto_client::ClientError;
use sotto_client::relay::{Push, RecipientQueue, SenderQueue, random_signing_key};
use sotto_wire::x25519_dalek::StaticSecret;
use sotto_wire::{
    Command, CorrId, ErrorCode, MessageId, RecipientId, RelayFingerprint, Response, SenderId,
};
use support::{Client, Relay, body, dh_public, open_body, random, within};

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
        random_signing_key(),
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
    let sender_key = sender_queue.verifying_key().unwrap();
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
async fn key_is_idempotent_and_sends_must_then_be_signed_by_it() {
    let relay = Relay::start(&[]);
    let client = relay.connect().await;
    let queue = client.connection.create_queue(None).await.unwrap();

    // Before KEY, an unsigned SEND is accepted.
    let unsigned = SenderQueue::unsecured(queue.sender_id());
    client
        .connection
        .send(&unsigned, body(b"early", 10))
        .await
        .unwrap();

    let sender = SenderQueue::with_new_key(queue.sender_id());
    let key = sender.verifying_key().unwrap();
    client.connection.secure(&queue, &key).await.unwrap();
    client.connection.secure(&queue, &key).await.unwrap();
    let other = random_signing_key().verifying_key();
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
        .send(&sender, body(b"signed", 10))
        .await
        .unwrap();

    // KEY signed by someone else than the recipient is refused too.
    let command = Command::Key {
        recipient_id: queue.recipient_id(),
        sender_auth_key: key,
    };
    let response = client
        .connection
        .request(&command, Some(&random_signing_key()))
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
async fn unknown_queues_and_bad_signatures_both_get_auth() {
    let relay = Relay::start(&[]);
    let client = relay.connect().await;
    let (queue, _sender) = client.secured_queue().await;
    let unknown = unknown_queue();
    let wrong_key = random_signing_key();

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
                sender_auth_key: random_signing_key().verifying_key(),
            },
        ]
    };
    for (real, missing) in commands(queue.recipient_id())
        .into_iter()
        .zip(commands(unknown.recipient_id()))
    {
        let bad_signature = client
            .connection
            .request(&real, Some(&wrong_key))
            .await
            .unwrap();
        let unsigned = client.connection.request(&real, None).await.unwrap();
        let no_queue = client
            .connection
            .request(&missing, Some(unknown.auth_key()))
            .await
            .unwrap();
        for response in [&bad_signature, &unsigned, &no_queue] {
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
        assert_eq!(bad_signature.tag(), no_queue.tag());
        assert_eq!(bad_signature.encode_body(), no_queue.encode_body());
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

#[tokio::test]
async fn a_command_signed_for_one_connection_fails_on_another() {
    let relay = Relay::start(&[]);
    let first = relay.connect().await;
    let second = relay.connect().await;
    let (queue, _sender) = first.secured_queue().await;

    let corr_id = second.connection.corr_id();
    let command = Command::Get {
        recipient_id: queue.recipient_id(),
    };
    let replayed =
        command.to_signed_transmission(corr_id, &first.connection.session_id(), queue.auth_key());
    let response = second
        .connection
        .submit_transmission(replayed)
        .await
        .unwrap()
        .response()
        .await
        .unwrap();
    assert!(matches!(
        response,
        Response::Err {
            code: ErrorCode::Auth,
            ..
        }
    ));
    let fresh =
        command.to_signed_transmission(corr_id, &second.connection.session_id(), queue.auth_key());
    let response = second
        .connection
        .submit_transmission(fresh)
        .await
        .unwrap()
        .response()
        .await
        .unwrap();
    assert!(matches!(
        response,
        Response::Err {
            code: ErrorCode::NoMsg,
            ..
        }
    ));
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
        .secure(&queue, &sender_queue.verifying_key().unwrap())
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
