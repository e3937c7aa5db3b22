//! What a client holds about a queue: the recipient's ids and keys, the sender's
//! id and key, and opening the messages the relay delivers.

use std::fmt;

use rand::RngCore;
use rand::rngs::OsRng;
use sotto_wire::{
    CipherSuite, GroupEntry, GroupReadId, MessageId, QueueAuthKey, QueueAuthSecret, QueueKey,
    QueueMessage, RecipientId, SealedMessage, SenderId,
};
use x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::ClientError;

/// A queue as its recipient holds it: both ids, the key that authorizes the
/// recipient's commands, and the queue key that opens delivered messages.
/// `Debug` prints no id or key.
pub struct RecipientQueue {
    recipient_id: RecipientId,
    sender_id: SenderId,
    auth_key: QueueAuthSecret,
    queue_key: QueueKey,
}

impl RecipientQueue {
    /// Assembles a queue from the answer to NEW: derives the queue key from the
    /// recipient's DH secret and the relay's queue DH key.
    pub fn from_ids(
        recipient_id: RecipientId,
        sender_id: SenderId,
        auth_key: QueueAuthSecret,
        dh_secret: &StaticSecret,
        queue_dh_key: &DhPublicKey,
    ) -> Result<RecipientQueue, ClientError> {
        Ok(RecipientQueue {
            recipient_id,
            sender_id,
            auth_key,
            queue_key: QueueKey::derive(dh_secret, queue_dh_key)?,
        })
    }

    /// The id the recipient uses for the queue.
    pub fn recipient_id(&self) -> RecipientId {
        self.recipient_id
    }

    /// The id to hand to the sender.
    pub fn sender_id(&self) -> SenderId {
        self.sender_id
    }

    /// The secret that authorizes the recipient's commands on this queue.
    pub fn auth_key(&self) -> &QueueAuthSecret {
        &self.auth_key
    }

    /// Opens a delivered message: checks that the relay sealed it for this queue
    /// under its message id, and returns its timestamp and content.
    pub fn open(&self, delivery: &Delivery) -> Result<QueueMessage, ClientError> {
        if delivery.recipient_id != self.recipient_id {
            return Err(ClientError::UnexpectedResponse { command: "MSG" });
        }
        Ok(self
            .queue_key
            .open(delivery.suite, &delivery.message_id, &delivery.sealed)?)
    }
}

impl fmt::Debug for RecipientQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecipientQueue(..)")
    }
}

/// A queue as its sender holds it: the sender id and, once the recipient has
/// secured the queue with it, the key that authorizes every SEND.
pub struct SenderQueue {
    sender_id: SenderId,
    auth_key: Option<QueueAuthSecret>,
}

impl SenderQueue {
    /// A sender on a queue that is not secured yet: SENDs go without
    /// authenticator.
    pub fn unsecured(sender_id: SenderId) -> SenderQueue {
        SenderQueue {
            sender_id,
            auth_key: None,
        }
    }

    /// A sender with a fresh random key; the recipient secures the queue with
    /// [`SenderQueue::public_key`] (KEY), then every SEND is authorized.
    pub fn with_new_key(sender_id: SenderId) -> SenderQueue {
        SenderQueue::with_key(sender_id, random_auth_secret())
    }

    /// A sender authorizing with this key.
    pub fn with_key(sender_id: SenderId, auth_key: QueueAuthSecret) -> SenderQueue {
        SenderQueue {
            sender_id,
            auth_key: Some(auth_key),
        }
    }

    /// The queue's sender id.
    pub fn sender_id(&self) -> SenderId {
        self.sender_id
    }

    /// The secret that authorizes SENDs, if any.
    pub fn auth_key(&self) -> Option<&QueueAuthSecret> {
        self.auth_key.as_ref()
    }

    /// The public half of the sender key, for the recipient's KEY command.
    pub fn public_key(&self) -> Option<QueueAuthKey> {
        self.auth_key.as_ref().map(QueueAuthSecret::public_key)
    }
}

impl fmt::Debug for SenderQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderQueue")
            .field("secured", &self.auth_key.is_some())
            .finish_non_exhaustive()
    }
}

/// A message the relay delivered (pushed, or answering GET), still sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The queue it came on.
    pub recipient_id: RecipientId,
    /// Its id: ACK it to receive the next one; drop a second delivery of it.
    pub message_id: MessageId,
    /// The message sealed with the queue key; open with [`RecipientQueue::open`].
    pub sealed: SealedMessage,
    /// The cipher suite of the connection it came on, which sealed it.
    pub suite: CipherSuite,
}

/// What the relay pushes without being asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    /// MSG: a message on a subscribed queue.
    Message(Delivery),
    /// END: another connection subscribed this queue; this one no longer gets it.
    End(RecipientId),
    /// GENT: a new entry of a subscribed group log.
    GroupEntry {
        /// The log, as its readers know it.
        read_id: GroupReadId,
        /// The entry's sequence number.
        seq: u64,
        /// The entry.
        entry: GroupEntry,
    },
    /// GEND: the log was rekeyed or deleted; this subscription of it ended.
    GroupEnd(GroupReadId),
}

/// 32 bytes from the operating system's generator.
pub(crate) fn random_bytes() -> Zeroizing<[u8; 32]> {
    let mut bytes = Zeroizing::new([0; 32]);
    OsRng.fill_bytes(bytes.as_mut());
    bytes
}

/// A fresh X25519 queue auth secret.
pub fn random_auth_secret() -> QueueAuthSecret {
    QueueAuthSecret::from_bytes(*random_bytes())
}

#[cfg(test)]
mod tests {
    use sotto_wire::{MessageBody, MessageContent};

    use super::*;

    fn queue() -> (RecipientQueue, QueueKey) {
        let relay_secret = StaticSecret::from(*random_bytes());
        let recipient_secret = StaticSecret::from(*random_bytes());
        let queue = RecipientQueue::from_ids(
            RecipientId::from_bytes([1; 24]),
            SenderId::from_bytes([2; 24]),
            random_auth_secret(),
            &recipient_secret,
            &DhPublicKey::from(&relay_secret),
        )
        .unwrap();
        let relay_key = QueueKey::derive(&relay_secret, &DhPublicKey::from(&recipient_secret));
        (queue, relay_key.unwrap())
    }

    fn delivery(relay_key: &QueueKey, recipient: [u8; 24], body: &[u8]) -> Delivery {
        let message_id = MessageId::from_bytes([9; 24]);
        let message = QueueMessage {
            timestamp: 1_700_000_000,
            content: MessageContent::Body(MessageBody::new(body.to_vec()).unwrap()),
        };
        Delivery {
            recipient_id: RecipientId::from_bytes(recipient),
            message_id,
            sealed: relay_key
                .seal(CipherSuite::Aes256Gcm, &message_id, &message)
                .unwrap(),
            suite: CipherSuite::Aes256Gcm,
        }
    }

    #[test]
    fn the_recipient_opens_what_the_relay_sealed() {
        let (queue, relay_key) = queue();
        let opened = queue
            .open(&delivery(&relay_key, [1; 24], b"hello"))
            .unwrap();
        assert_eq!(opened.timestamp, 1_700_000_000);
        assert_eq!(
            opened.content,
            MessageContent::Body(MessageBody::new(b"hello".to_vec()).unwrap())
        );
    }

    #[test]
    fn another_queue_or_key_does_not_open() {
        let (queue, relay_key) = queue();
        assert!(queue.open(&delivery(&relay_key, [3; 24], b"x")).is_err());
        let (other, _) = self::queue();
        assert!(matches!(
            other.open(&delivery(&relay_key, [1; 24], b"x")),
            Err(ClientError::Protocol(_))
        ));
    }

    #[test]
    fn debug_prints_no_ids_or_keys() {
        let (queue, _) = queue();
        assert_eq!(format!("{queue:?}"), "RecipientQueue(..)");
        let sender = SenderQueue::with_new_key(SenderId::from_bytes([5; 24]));
        let text = format!("{sender:?}");
        assert!(text.contains("secured: true"));
        assert!(!text.contains('5'));
        assert!(
            SenderQueue::unsecured(SenderId::from_bytes([5; 24]))
                .public_key()
                .is_none()
        );
    }

    #[test]
    fn keys_are_random() {
        assert_ne!(*random_bytes(), *random_bytes());
        assert_ne!(
            random_auth_secret().public_key(),
            random_auth_secret().public_key()
        );
    }
}
