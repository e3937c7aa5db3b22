//! The command keys a connection derived for queues whose commands it
//! authenticated.
//!
//! A command key costs one X25519 and one HKDF (about 55 µs); checking an
//! authenticator with it costs a keyed BLAKE3 over the command (about 1 µs for
//! a full block). A connection uses the same few queue keys again and again, so
//! it keeps the command keys that checked a valid command, up to [`CAPACITY`].
//!
//! A key enters only after it checked a valid authenticator here. Whoever does
//! not hold a queue's secret therefore always meets a derivation, like the dummy
//! key of a queue that does not exist: the cache tells no one whether a queue
//! exists.

use std::collections::HashMap;

use sotto_wire::CommandKey;

use crate::store::AuthKey;

/// Command keys one connection keeps (about 100 bytes each).
pub const CAPACITY: usize = 256;

/// A bounded map from a queue auth key to its command key on this connection.
#[derive(Default)]
pub struct CommandKeys {
    keys: HashMap<[u8; 32], CommandKey>,
}

impl CommandKeys {
    /// The command key if it checked a valid command on this connection before.
    pub fn get(&self, key: &AuthKey) -> Option<&CommandKey> {
        self.keys.get(key.as_bytes())
    }

    /// Keeps a command key that just checked a valid command, evicting another
    /// if full.
    pub fn insert(&mut self, key: &AuthKey, command_key: CommandKey) {
        let bytes = *key.as_bytes();
        if self.keys.len() >= CAPACITY && !self.keys.contains_key(&bytes) {
            // Any victim will do: a connection that uses more queues than this
            // derives some keys again, nothing more.
            if let Some(victim) = self.keys.keys().next().copied() {
                self.keys.remove(&victim);
            }
        }
        self.keys.insert(bytes, command_key);
    }

    /// Keys kept.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is kept.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use sotto_wire::x25519_dalek::{PublicKey, StaticSecret};
    use sotto_wire::{QueueAuthSecret, SessionId};

    use super::*;

    fn queue(seed: u16) -> (AuthKey, CommandKey) {
        let mut secret = [1u8; 32];
        secret[..2].copy_from_slice(&seed.to_be_bytes());
        let secret = QueueAuthSecret::from_bytes(secret);
        let relay = PublicKey::from(&StaticSecret::from([2; 32]));
        let command_key =
            CommandKey::for_client(&secret, &relay, &SessionId::from_bytes([3; 32])).unwrap();
        (AuthKey::from(secret.public_key()), command_key)
    }

    #[test]
    fn keeps_keys_it_was_given() {
        let mut keys = CommandKeys::default();
        assert!(keys.is_empty());
        let (one, one_key) = queue(1);
        assert!(keys.get(&one).is_none());
        keys.insert(&one, one_key.clone());
        keys.insert(&one, one_key);
        assert_eq!(keys.len(), 1);
        assert!(keys.get(&one).is_some());
        assert!(keys.get(&queue(2).0).is_none());
    }

    #[test]
    fn stays_bounded() {
        let mut keys = CommandKeys::default();
        let count = u16::try_from(CAPACITY).unwrap() + 10;
        for seed in 0..count {
            let (key, command_key) = queue(seed);
            keys.insert(&key, command_key);
        }
        assert_eq!(keys.len(), CAPACITY);
        // The newest key is always kept.
        assert!(keys.get(&queue(count - 1).0).is_some());
    }
}
