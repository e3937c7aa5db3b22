//! A client and a toy relay driven through the public API only: handshake, queue
//! creation, securing, sending, delivery with re-encryption, and acknowledgement,
//! every block going through the encrypted transport.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::panic)]

use sotto_wire::x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use sotto_wire::{
    Block, ClientHandshake, Command, CommandKey, CorrId, ErrorCode, InnerBlock, MessageBody,
    MessageContent, MessageId, QueueAuthSecret, QueueKey, QueueMessage, RecipientId, RelayAddress,
    RelayIdentity, RelaySessionAuth, Response, SenderId, ServerHandshake, ServerHandshakeOutcome,
    Transmission, Transport, VersionRange,
};

struct Connection {
    client: Transport,
    relay: Transport,
    auth: RelaySessionAuth,
}

fn connect(identity: &RelayIdentity, address: &RelayAddress, seed: u8) -> Connection {
    let (client, hello) = ClientHandshake::start([seed; 32], VersionRange::SUPPORTED);
    // Frames travel as byte vectors.
    let hello = Block::from_vec(hello.into_vec()).unwrap();
    let relay = ServerHandshake::new([seed.wrapping_add(100); 32], VersionRange::SUPPORTED);
    let ServerHandshakeOutcome::Accepted {
        server_hello,
        transport: relay,
        auth,
    } = relay.handle_client_hello(&hello, identity).unwrap()
    else {
        panic!("versions did not negotiate");
    };
    let client = client
        .handle_server_hello(&server_hello, &address.fingerprint)
        .unwrap();
    Connection {
        client,
        relay,
        auth,
    }
}

impl Connection {
    /// The client's command key for a queue secret on this connection.
    fn command_key(&self, secret: &QueueAuthSecret) -> CommandKey {
        CommandKey::for_client(
            secret,
            &self.client.relay_session_key(),
            &self.client.session_id(),
        )
        .unwrap()
    }

    /// The relay's command key for a queue auth key on this connection.
    fn relay_key(&self, key: &sotto_wire::QueueAuthKey) -> CommandKey {
        self.auth.command_key(key).unwrap()
    }

    /// Client → relay: one block of transmissions, decoded on the relay side.
    fn client_sends(&mut self, transmissions: &[Transmission]) -> Vec<Transmission> {
        let mut batch = InnerBlock::new();
        for transmission in transmissions {
            batch.push(transmission).unwrap();
        }
        let block = self.client.seal(&batch).unwrap();
        let received = self
            .relay
            .open(Block::from_slice(block.as_bytes()).unwrap());
        received
            .unwrap()
            .transmissions()
            .iter()
            .map(|bytes| Transmission::decode(bytes).unwrap())
            .collect()
    }

    /// Relay → client: one block of responses.
    fn relay_sends(&mut self, responses: &[(CorrId, Response)]) -> Vec<(CorrId, Response)> {
        let mut batch = InnerBlock::new();
        for (corr_id, response) in responses {
            batch.push(&response.to_transmission(*corr_id)).unwrap();
        }
        let block = self.relay.seal(&batch).unwrap();
        self.client
            .open(block)
            .unwrap()
            .transmissions()
            .iter()
            .map(|bytes| {
                let transmission = Transmission::decode(bytes).unwrap();
                let response = Response::from_transmission(&transmission).unwrap();
                (transmission.corr_id, response)
            })
            .collect()
    }
}

#[test]
fn a_message_goes_from_sender_to_recipient_through_the_relay() {
    let identity = RelayIdentity::from_secret_bytes([42; 32]);
    let address: RelayAddress = format!("sotto+ws://{}@127.0.0.1:7000", identity.fingerprint())
        .parse()
        .unwrap();
    assert!(address.is_loopback());

    // The recipient creates a queue.
    let mut recipient = connect(&identity, &address, 1);
    let recipient_secret = QueueAuthSecret::from_bytes([10; 32]);
    let recipient_key = recipient.command_key(&recipient_secret);
    let recipient_dh = StaticSecret::from([11; 32]);
    let new = Command::New {
        recipient_auth_key: recipient_secret.public_key(),
        recipient_dh_key: DhPublicKey::from(&recipient_dh),
        password: None,
    };
    let corr = CorrId::from_bytes([1; 8]);
    let received = recipient.client_sends(&[new.to_authorized_transmission(corr, &recipient_key)]);

    // The relay checks NEW with the key it carries, then answers IDS.
    let Command::New {
        recipient_auth_key,
        recipient_dh_key,
        ..
    } = Command::from_transmission(&received[0]).unwrap()
    else {
        panic!("not NEW");
    };
    assert!(received[0].verify(&recipient.relay_key(&recipient_auth_key)));
    let queue_secret = StaticSecret::from([12; 32]);
    let relay_queue_key = QueueKey::derive(&queue_secret, &recipient_dh_key).unwrap();
    let recipient_id = RecipientId::from_bytes([20; 24]);
    let sender_id = SenderId::from_bytes([21; 24]);
    let ids = Response::Ids {
        recipient_id,
        sender_id,
        queue_dh_key: DhPublicKey::from(&queue_secret),
    };
    let answered = recipient.relay_sends(&[(received[0].corr_id, ids)]);
    assert_eq!(answered[0].0, corr);
    let Response::Ids { queue_dh_key, .. } = answered[0].1 else {
        panic!("not IDS");
    };
    let recipient_queue_key = QueueKey::derive(&recipient_dh, &queue_dh_key).unwrap();

    // The recipient secures the queue with the sender's key and subscribes, in one block.
    let sender_secret = QueueAuthSecret::from_bytes([30; 32]);
    let key = Command::Key {
        recipient_id,
        sender_auth_key: sender_secret.public_key(),
    };
    let sub = Command::Sub { recipient_id };
    let received = recipient.client_sends(&[
        key.to_authorized_transmission(CorrId::from_bytes([2; 8]), &recipient_key),
        sub.to_authorized_transmission(CorrId::from_bytes([3; 8]), &recipient_key),
    ]);
    assert_eq!(received.len(), 2);
    let relay_recipient_key = recipient.relay_key(&recipient_secret.public_key());
    for transmission in &received {
        assert!(transmission.verify(&relay_recipient_key));
    }
    assert_eq!(Command::from_transmission(&received[0]).unwrap(), key);
    assert_eq!(Command::from_transmission(&received[1]).unwrap(), sub);

    // The sender, on its own connection, sends.
    let mut sender = connect(&identity, &address, 2);
    let body = MessageBody::new(b"end-to-end ciphertext".to_vec()).unwrap();
    let send = Command::send(sender_id, body.clone());
    let sender_key = sender.command_key(&sender_secret);
    let signed = send.to_authorized_transmission(CorrId::from_bytes([4; 8]), &sender_key);
    let received = sender.client_sends(std::slice::from_ref(&signed));
    assert!(received[0].verify(&sender.relay_key(&sender_secret.public_key())));
    // The same authorized SEND replayed on the recipient's connection does not verify.
    assert!(!signed.verify(&recipient.relay_key(&sender_secret.public_key())));
    let Command::Send { body: stored, .. } = Command::from_transmission(&received[0]).unwrap()
    else {
        panic!("not SEND");
    };
    let ok = Response::Ok {
        entity: Some(sender_id.into()),
    };
    assert_eq!(
        sender.relay_sends(&[(received[0].corr_id, ok.clone())])[0].1,
        ok
    );

    // The relay pushes the message, re-sealed with the queue key.
    let message_id = MessageId::from_bytes([40; 24]);
    let suite = recipient.relay.suite();
    let sealed = relay_queue_key
        .seal(
            suite,
            &message_id,
            &QueueMessage {
                timestamp: 1_800_000_000,
                content: MessageContent::Body(stored),
            },
        )
        .unwrap();
    assert!(
        !sealed
            .as_bytes()
            .windows(body.len())
            .any(|window| window == body.as_bytes())
    );
    let push = Response::Msg {
        recipient_id,
        message_id,
        sealed,
    };
    let pushed = recipient.relay_sends(&[(CorrId::PUSH, push)]);
    assert!(pushed[0].0.is_push());
    let Response::Msg {
        message_id: pushed_id,
        sealed,
        ..
    } = &pushed[0].1
    else {
        panic!("not MSG");
    };
    let opened = recipient_queue_key.open(suite, pushed_id, sealed).unwrap();
    assert_eq!(opened.content, MessageContent::Body(body));
    assert_eq!(opened.timestamp, 1_800_000_000);

    // ACK; then an ACK of an unknown id is answered NO_MSG.
    let ack = Command::Ack {
        recipient_id,
        message_id: *pushed_id,
    };
    let received = recipient.client_sends(&[
        ack.to_authorized_transmission(CorrId::from_bytes([5; 8]), &recipient_key)
    ]);
    assert_eq!(Command::from_transmission(&received[0]).unwrap(), ack);
    let err = Response::Err {
        entity: Some(recipient_id.into()),
        code: ErrorCode::NoMsg,
    };
    assert_eq!(
        recipient.relay_sends(&[(CorrId::PUSH, err.clone())])[0].1,
        err
    );
}

#[test]
fn a_relay_with_another_identity_is_refused() {
    let real = RelayIdentity::from_secret_bytes([42; 32]);
    let impostor = RelayIdentity::from_secret_bytes([43; 32]);
    let address: RelayAddress = format!("sotto://{}@relay.example", real.fingerprint())
        .parse()
        .unwrap();
    let (client, hello) = ClientHandshake::start([1; 32], VersionRange::SUPPORTED);
    let ServerHandshakeOutcome::Accepted { server_hello, .. } =
        ServerHandshake::new([2; 32], VersionRange::SUPPORTED)
            .handle_client_hello(&hello, &impostor)
            .unwrap()
    else {
        panic!("versions did not negotiate");
    };
    let refused = client.handle_server_hello(&server_hello, &address.fingerprint);
    assert_eq!(
        refused.map(|_| ()),
        Err(sotto_wire::WireError::FingerprintMismatch)
    );
}
