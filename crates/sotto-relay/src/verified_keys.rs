//! Decoded queue keys that have already signed a command on this connection.
//!
//! Decoding an Ed25519 public key (decompressing its point) costs about a quarter
//! of a signature check. A connection signs many commands with the same few queue
//! keys, so it keeps the decoded keys it used, up to [`CAPACITY`], and each later
//! SEND or ACK pays only for the signature check itself.
//!
//! A key enters only after it verified a signature here. Whoever does not hold a
//! queue's key therefore always meets a key that is decoded first, like the dummy
//! key of a queue that does not exist: the cache tells no one whether a queue
//! exists.

use std::collections::HashMap;

use ed25519_dalek::VerifyingKey;

use crate::store::AuthKey;

/// Decoded keys one connection keeps.
pub const CAPACITY: usize = 256;

/// A bounded map from stored key bytes to the decoded key.
#[derive(Default)]
pub struct VerifiedKeys {
    keys: HashMap<[u8; 32], VerifyingKey>,
}

impl VerifiedKeys {
    /// The decoded key if it signed a command on this connection before.
    pub fn get(&self, key: &AuthKey) -> Option<&VerifyingKey> {
        self.keys.get(key.as_bytes())
    }

    /// Keeps a key that just verified a signature, evicting another if full.
    pub fn insert(&mut self, key: VerifyingKey) {
        let bytes = key.to_bytes();
        if self.keys.len() >= CAPACITY && !self.keys.contains_key(&bytes) {
            // Any victim will do: a connection that uses more keys than this pays
            // for decoding some of them again, nothing more.
            if let Some(victim) = self.keys.keys().next().copied() {
                self.keys.remove(&victim);
            }
        }
        self.keys.insert(bytes, key);
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
    use ed25519_dalek::SigningKey;

    use super::*;

    fn key(seed: u16) -> VerifyingKey {
        let mut secret = [0u8; 32];
        secret[..2].copy_from_slice(&seed.to_be_bytes());
        SigningKey::from_bytes(&secret).verifying_key()
    }

    #[test]
    fn keeps_keys_it_was_given() {
        let mut keys = VerifiedKeys::default();
        assert!(keys.is_empty());
        assert!(keys.get(&key(1).into()).is_none());
        keys.insert(key(1));
        keys.insert(key(1));
        assert_eq!(keys.len(), 1);
        assert_eq!(keys.get(&key(1).into()), Some(&key(1)));
        assert!(keys.get(&key(2).into()).is_none());
    }

    #[test]
    fn stays_bounded() {
        let mut keys = VerifiedKeys::default();
        let count = u16::try_from(CAPACITY).unwrap() + 10;
        for seed in 0..count {
            keys.insert(key(seed));
        }
        assert_eq!(keys.len(), CAPACITY);
        // The newest key is always kept.
        assert!(keys.get(&key(count - 1).into()).is_some());
    }
}
