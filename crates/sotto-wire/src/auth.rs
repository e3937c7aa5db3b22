//! Command authorization: a deniable authenticator per command, keyed per
//! (session, queue).
//!
//! Every queue has X25519 auth keys (the recipient's from NEW, the sender's
//! from KEY). On a connection, the client's queue auth secret and the relay's
//! session key from the handshake give a shared secret; both ends derive
//! `command_key = HKDF-SHA256(salt = session_id, ikm = X25519(..), info =
//! "sotto-relay-v2 command-auth" || queue auth public key)` once and cache it.
//! Each command then carries `BLAKE3-keyed(command_key, transmission bytes
//! from corr_id to the tag)`: it binds the session (through the key), the
//! correlation id, the entity id and the tag; the body is authenticated by the
//! AEAD of the block that carries it. Both ends hold the key, so neither can
//! prove to anyone else that the client sent a command.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::WireError;
use crate::transport::SessionId;

/// Length of an authenticator.
pub const AUTHENTICATOR_LEN: usize = 32;

const COMMAND_AUTH_INFO: &[u8] = b"sotto-relay-v2 command-auth";

/// The public X25519 key that authorizes commands on a queue, as NEW and KEY
/// carry it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueueAuthKey([u8; 32]);

impl QueueAuthKey {
    /// The key with these bytes. Any 32 bytes decode; a low-order point is
    /// refused where the key is first used ([`WireError::LowOrderKey`]).
    pub const fn from_bytes(bytes: [u8; 32]) -> QueueAuthKey {
        QueueAuthKey(bytes)
    }

    /// The key's bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for QueueAuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys link queues: keep them out of logs.
        f.write_str("QueueAuthKey(..)")
    }
}

/// The X25519 secret behind a [`QueueAuthKey`]: a client keeps one per queue
/// side. Zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct QueueAuthSecret([u8; 32]);

impl QueueAuthSecret {
    /// The secret with these 32 random bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> QueueAuthSecret {
        QueueAuthSecret(bytes)
    }

    /// The secret's bytes, to store. Secret: keep them away from logs.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The public key to give the relay (NEW) or the recipient (for KEY).
    pub fn public_key(&self) -> QueueAuthKey {
        let secret = StaticSecret::from(self.0);
        QueueAuthKey(DhPublicKey::from(&secret).to_bytes())
    }
}

impl fmt::Debug for QueueAuthSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueAuthSecret(..)")
    }
}

/// An authenticator carried by a command.
#[derive(Clone, Copy)]
pub struct Authenticator([u8; AUTHENTICATOR_LEN]);

impl Authenticator {
    /// The authenticator with these bytes.
    pub const fn from_bytes(bytes: [u8; AUTHENTICATOR_LEN]) -> Authenticator {
        Authenticator(bytes)
    }

    /// The authenticator's bytes.
    pub const fn as_bytes(&self) -> &[u8; AUTHENTICATOR_LEN] {
        &self.0
    }
}

impl PartialEq for Authenticator {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Authenticator {}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authenticator(..)")
    }
}

/// The key that authenticates commands on one queue over one connection.
/// Zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CommandKey([u8; 32]);

impl CommandKey {
    /// The client's side: its queue auth secret and the relay's session key
    /// from the handshake ([`crate::Transport::relay_session_key`]).
    pub fn for_client(
        secret: &QueueAuthSecret,
        relay_session_key: &DhPublicKey,
        session_id: &SessionId,
    ) -> Result<CommandKey, WireError> {
        let own = StaticSecret::from(secret.0);
        let public = QueueAuthKey(DhPublicKey::from(&own).to_bytes());
        let shared = own.diffie_hellman(relay_session_key);
        CommandKey::derive(shared, session_id, &public)
    }

    /// The relay's side: its session secret (see [`RelaySessionAuth`]) and the
    /// queue's auth key.
    fn for_relay(
        session_secret: &StaticSecret,
        queue_key: &QueueAuthKey,
        session_id: &SessionId,
    ) -> Result<CommandKey, WireError> {
        let shared = session_secret.diffie_hellman(&DhPublicKey::from(queue_key.0));
        CommandKey::derive(shared, session_id, queue_key)
    }

    fn derive(
        shared: x25519_dalek::SharedSecret,
        session_id: &SessionId,
        queue_key: &QueueAuthKey,
    ) -> Result<CommandKey, WireError> {
        if !shared.was_contributory() {
            return Err(WireError::LowOrderKey);
        }
        let mut info = [0; COMMAND_AUTH_INFO.len() + 32];
        info[..COMMAND_AUTH_INFO.len()].copy_from_slice(COMMAND_AUTH_INFO);
        info[COMMAND_AUTH_INFO.len()..].copy_from_slice(&queue_key.0);
        let mut key = Zeroizing::new([0; 32]);
        Hkdf::<Sha256>::new(Some(session_id.as_bytes()), shared.as_bytes())
            .expand(&info, key.as_mut())
            .map_err(|_| WireError::LengthOutOfRange {
                field: "command key",
            })?;
        Ok(CommandKey(*key))
    }

    /// The authenticator of `authenticated` (a transmission's bytes from
    /// corr_id to the tag).
    pub(crate) fn authenticate(&self, authenticated: &[u8]) -> Authenticator {
        Authenticator(*blake3::keyed_hash(&self.0, authenticated).as_bytes())
    }
}

impl fmt::Debug for CommandKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CommandKey(..)")
    }
}

/// The relay's half of command authorization on one connection: its session
/// secret, kept for the connection's lifetime (zeroized on drop).
pub struct RelaySessionAuth {
    session_secret: StaticSecret,
    session_id: SessionId,
}

impl RelaySessionAuth {
    pub(crate) fn new(session_secret: StaticSecret, session_id: SessionId) -> RelaySessionAuth {
        RelaySessionAuth {
            session_secret,
            session_id,
        }
    }

    /// The command key of a queue auth key on this connection (one X25519 and
    /// one HKDF: cache it). [`WireError::LowOrderKey`] for a low-order key.
    pub fn command_key(&self, queue_key: &QueueAuthKey) -> Result<CommandKey, WireError> {
        CommandKey::for_relay(&self.session_secret, queue_key, &self.session_id)
    }
}

impl fmt::Debug for RelaySessionAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RelaySessionAuth(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_derive_the_same_key_and_it_binds_session_and_queue() {
        let relay_secret = StaticSecret::from([2; 32]);
        let relay_public = DhPublicKey::from(&relay_secret);
        let queue = QueueAuthSecret::from_bytes([5; 32]);
        let session = SessionId::from_bytes([9; 32]);
        let relay = RelaySessionAuth::new(relay_secret.clone(), session);
        let client = CommandKey::for_client(&queue, &relay_public, &session).unwrap();
        let relay_key = relay.command_key(&queue.public_key()).unwrap();
        assert_eq!(client.0, relay_key.0);

        let other_session = SessionId::from_bytes([8; 32]);
        let other = CommandKey::for_client(&queue, &relay_public, &other_session).unwrap();
        assert_ne!(client.0, other.0);
        let other_queue = QueueAuthSecret::from_bytes([6; 32]);
        let other = CommandKey::for_client(&other_queue, &relay_public, &session).unwrap();
        assert_ne!(client.0, other.0);
    }

    #[test]
    fn low_order_keys_are_refused() {
        let relay =
            RelaySessionAuth::new(StaticSecret::from([2; 32]), SessionId::from_bytes([0; 32]));
        assert_eq!(
            relay
                .command_key(&QueueAuthKey::from_bytes([0; 32]))
                .unwrap_err(),
            WireError::LowOrderKey
        );
    }

    #[test]
    fn authenticators_cover_every_byte_and_compare_by_value() {
        let key = CommandKey([3; 32]);
        let tag = key.authenticate(b"corrrest");
        assert_eq!(tag, key.authenticate(b"corrrest"));
        assert_ne!(tag, key.authenticate(b"corrresT"));
        assert_ne!(tag, CommandKey([4; 32]).authenticate(b"corrrest"));
    }

    #[test]
    fn secrets_do_not_print() {
        let text = format!(
            "{:?} {:?} {:?} {:?}",
            QueueAuthSecret::from_bytes([7; 32]),
            QueueAuthKey::from_bytes([7; 32]),
            CommandKey([7; 32]),
            Authenticator([7; 32]),
        );
        assert!(!text.contains('7'), "{text}");
    }
}
