//! Quota, TTL, message size, the server password and data across restarts,
//! through `sotto-client` against a real `sotto-relay` process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use sotto_client::ClientError;
use sotto_client::relay::SenderQueue;
use sotto_wire::{
    Command, CorrId, ErrorCode, MAX_MESSAGE_BODY, MessageContent, Response, ServerPassword,
};
use support::{Relay, body, open_body};

fn refused(result: Result<impl std::fmt::Debug, ClientError>) -> ErrorCode {
    match result {
        Err(ClientError::Refused(code)) => code,
        other => panic!("expected ERR, got {other:?}"),
    }
}

#[tokio::test]
async fn quota_refuses_then_marks_the_queue_and_accepts_again_after_acks() {
    let relay = Relay::start(&["--queue-quota", "4"]);
    let mut recipient = relay.connect().await;
    let sender = relay.connect().await;
    let (queue, sender_queue) = recipient.secured_queue().await;

    for index in 0..4u8 {
        sender
            .connection
            .send(&sender_queue, body(&[index], 40))
            .await
            .unwrap();
    }
    for _ in 0..3 {
        assert_eq!(
            refused(
                sender
                    .connection
                    .send(&sender_queue, body(b"over", 40))
                    .await
            ),
            ErrorCode::Quota
        );
    }

    recipient.connection.subscribe([&queue]).await[0]
        .as_ref()
        .unwrap();
    for index in 0..4u8 {
        let delivery = recipient.next_message().await;
        assert_eq!(open_body(&queue, &delivery)[0], index);
        recipient
            .connection
            .ack(&queue, delivery.message_id)
            .await
            .unwrap();
    }
    // One marker, however many sends were refused.
    let marker = recipient.next_message().await;
    assert_eq!(
        queue.open(&marker).unwrap().content,
        MessageContent::QuotaReached
    );
    recipient
        .connection
        .ack(&queue, marker.message_id)
        .await
        .unwrap();
    assert_eq!(
        recipient.push_within(Duration::from_millis(300)).await,
        None
    );

    // Room again: the sender's retry succeeds and is delivered.
    sender
        .connection
        .send(&sender_queue, body(b"retry", 40))
        .await
        .unwrap();
    let delivery = recipient.next_message().await;
    assert_eq!(&open_body(&queue, &delivery)[..5], b"retry");
}

#[tokio::test]
async fn the_storage_budget_refuses_sends_before_the_disk_is_full() {
    let relay = Relay::start(&["--max-storage", "16MiB", "--queue-quota", "100000"]);
    let mut recipient = relay.connect().await;
    let sender = relay.connect().await;
    let (queue, sender_queue) = recipient.secured_queue().await;
    let mut sent = 0u32;
    let code = loop {
        match sender
            .connection
            .send(&sender_queue, body(b"fill", 15_000))
            .await
        {
            Ok(_) => sent += 1,
            Err(ClientError::Refused(code)) => break code,
            Err(other) => panic!("send failed: {other:?}"),
        }
        assert!(sent < 1_200, "16 MiB took more than {sent} messages");
    };
    assert_eq!(code, ErrorCode::Full);
    assert!(sent > 1_000, "refused after {sent} messages");
    // Reading and acknowledging go on.
    recipient.connection.subscribe([&queue]).await[0]
        .as_ref()
        .unwrap();
    let delivery = recipient.next_message().await;
    assert_eq!(&open_body(&queue, &delivery)[..4], b"fill");
    recipient
        .connection
        .ack(&queue, delivery.message_id)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_quota_marker_does_not_count_against_the_quota() {
    let relay = Relay::start(&["--queue-quota", "2"]);
    let client = relay.connect().await;
    let (queue, sender) = client.secured_queue().await;
    for _ in 0..2 {
        client
            .connection
            .send(&sender, body(b"m", 8))
            .await
            .unwrap();
    }
    assert_eq!(
        refused(client.connection.send(&sender, body(b"m", 8)).await),
        ErrorCode::Quota
    );
    // Acknowledge one message: one send fits again although the marker is queued.
    let first = client.connection.get(&queue).await.unwrap().unwrap();
    client
        .connection
        .ack(&queue, first.message_id)
        .await
        .unwrap();
    client
        .connection
        .send(&sender, body(b"n", 8))
        .await
        .unwrap();
    assert_eq!(
        refused(client.connection.send(&sender, body(b"m", 8)).await),
        ErrorCode::Quota
    );
}

#[tokio::test]
async fn message_bodies_up_to_the_limit_pass_and_larger_get_large_msg() {
    let relay = Relay::start(&[]);
    let client = relay.connect().await;
    let queue = client.connection.create_queue(None).await.unwrap();
    let sender = SenderQueue::unsecured(queue.sender_id());

    client
        .connection
        .send(&sender, body(b"max", MAX_MESSAGE_BODY))
        .await
        .unwrap();
    let delivery = client.connection.get(&queue).await.unwrap().unwrap();
    assert_eq!(open_body(&queue, &delivery).len(), MAX_MESSAGE_BODY);

    // The client library refuses to build such a body; write it by hand.
    for len in [MAX_MESSAGE_BODY + 1, 16_300] {
        let mut send =
            Command::send(queue.sender_id(), body(b"x", 1)).to_transmission(CorrId::PUSH);
        send.body = vec![0];
        send.body
            .extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
        send.body.resize(3 + len, 0x41);
        let response = client
            .connection
            .submit_transmission(send)
            .await
            .unwrap()
            .response()
            .await
            .unwrap();
        assert!(
            matches!(
                response,
                Response::Err {
                    code: ErrorCode::LargeMsg,
                    ..
                }
            ),
            "{len}: {response:?}"
        );
    }
    // An empty body is malformed, not large.
    let mut empty = Command::send(queue.sender_id(), body(b"x", 1)).to_transmission(CorrId::PUSH);
    empty.body = vec![0, 0, 0];
    let response = client
        .connection
        .submit_transmission(empty)
        .await
        .unwrap()
        .response()
        .await
        .unwrap();
    assert!(matches!(response, Response::Err { .. }), "{response:?}");
    // Still one message only.
    client
        .connection
        .ack(&queue, delivery.message_id)
        .await
        .unwrap();
    assert_eq!(client.connection.get(&queue).await.unwrap(), None);
}

#[tokio::test]
async fn expired_messages_are_deleted_also_across_a_restart() {
    let mut relay = Relay::start(&["--message-ttl", "2s", "--expiry-interval", "1s"]);
    let client = relay.connect().await;
    let (queue, sender) = client.secured_queue().await;
    let (kept_queue, kept_sender) = client.secured_queue().await;
    client
        .connection
        .send(&sender, body(b"old", 10))
        .await
        .unwrap();
    assert!(client.connection.get(&queue).await.unwrap().is_some());

    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(client.connection.get(&queue).await.unwrap(), None);
    // The queue itself lives on.
    client
        .connection
        .send(&sender, body(b"new", 10))
        .await
        .unwrap();
    let fresh = client.connection.get(&queue).await.unwrap().unwrap();
    assert_eq!(&open_body(&queue, &fresh)[..3], b"new");

    // Across a restart: the message expires while the relay is down.
    client
        .connection
        .send(&kept_sender, body(b"down", 10))
        .await
        .unwrap();
    drop(client);
    relay.kill();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    relay.restart();
    let client = relay.connect().await;
    // Expired messages are never delivered, whether or not a sweep ran yet.
    assert_eq!(client.connection.get(&kept_queue).await.unwrap(), None);
}

#[tokio::test]
async fn queues_messages_and_identity_survive_a_restart() {
    let mut relay = Relay::start(&[]);
    let fingerprint = relay.address.fingerprint;
    let client = relay.connect().await;
    let (queue, sender) = client.secured_queue().await;
    let (suspended, _) = client.secured_queue().await;
    client.connection.suspend(&suspended).await.unwrap();
    for tag in [b"a", b"b", b"c"] {
        client
            .connection
            .send(&sender, body(tag, 1000))
            .await
            .unwrap();
    }
    let first = client.connection.get(&queue).await.unwrap().unwrap();
    client
        .connection
        .ack(&queue, first.message_id)
        .await
        .unwrap();
    // An ACK is answered before it is on disk (a crash may deliver its
    // message again, which at-least-once delivery allows); the next durable
    // write carries it there.
    let _ = client.secured_queue().await;
    drop(client);

    relay.restart();
    assert_eq!(relay.address.fingerprint, fingerprint);
    let mut client = relay.connect().await;
    client.connection.subscribe([&queue]).await[0]
        .as_ref()
        .unwrap();
    for tag in [b'b', b'c'] {
        let delivery = client.next_message().await;
        assert_eq!(open_body(&queue, &delivery)[0], tag);
        client
            .connection
            .ack(&queue, delivery.message_id)
            .await
            .unwrap();
    }
    // The sender key and the suspension are stored too.
    let unsigned = SenderQueue::unsecured(queue.sender_id());
    assert_eq!(
        refused(client.connection.send(&unsigned, body(b"x", 1)).await),
        ErrorCode::Auth
    );
    client
        .connection
        .send(&sender, body(b"d", 5))
        .await
        .unwrap();
    let suspended_sender = SenderQueue::unsecured(suspended.sender_id());
    assert_eq!(
        refused(
            client
                .connection
                .send(&suspended_sender, body(b"x", 1))
                .await
        ),
        ErrorCode::Auth
    );
}

#[tokio::test]
async fn a_server_password_gates_queue_creation() {
    let relay = Relay::start(&["--password", "correct horse"]);
    let client = relay.connect().await;
    assert_eq!(
        refused(client.connection.create_queue(None).await),
        ErrorCode::Auth
    );
    let wrong = ServerPassword::new(b"correct horsf".to_vec()).unwrap();
    assert_eq!(
        refused(client.connection.create_queue(Some(&wrong)).await),
        ErrorCode::Auth
    );
    let longer = ServerPassword::new(b"correct horse ".to_vec()).unwrap();
    assert_eq!(
        refused(client.connection.create_queue(Some(&longer)).await),
        ErrorCode::Auth
    );
    let right = ServerPassword::new(b"correct horse".to_vec()).unwrap();
    let queue = client.connection.create_queue(Some(&right)).await.unwrap();
    // Only creation is gated: the queue works without the password.
    let sender = SenderQueue::unsecured(queue.sender_id());
    client
        .connection
        .send(&sender, body(b"hi", 2))
        .await
        .unwrap();
    assert!(client.connection.get(&queue).await.unwrap().is_some());

    // Without a configured password any password is accepted.
    let open_relay = Relay::start(&[]);
    let open = open_relay.connect().await;
    open.connection.create_queue(Some(&wrong)).await.unwrap();
}
