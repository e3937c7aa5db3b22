//! Shared helpers: deterministic randomness and a freshly connected pair of sessions.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use sha2::{Digest, Sha256};
use sotto_crypto::{
    ENCRYPT_RANDOMNESS_LEN, INVITATION_RANDOMNESS_LEN, IdentityKeyPair, JOIN_RANDOMNESS_LEN,
    PendingInvitation, Session, join,
};

/// Deterministic "randomness" for tests: SHA-256(seed || counter) blocks.
pub struct TestRng {
    seed: u64,
    counter: u64,
}

impl TestRng {
    pub fn new(seed: u64) -> Self {
        Self { seed, counter: 0 }
    }

    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(32) {
            let mut hash = Sha256::new();
            hash.update(self.seed.to_be_bytes());
            hash.update(self.counter.to_be_bytes());
            self.counter += 1;
            chunk.copy_from_slice(&hash.finalize()[..chunk.len()]);
        }
        out
    }

    pub fn encrypt_randomness(&mut self) -> [u8; ENCRYPT_RANDOMNESS_LEN] {
        self.bytes()
    }
}

/// Length of the part of a message its receiver authenticates (docs/e2e-protocol.md,
/// 4.3): version, kind, header nonce, encrypted header, then the payload (the sender's
/// ML-KEM key, which every version-2 message carries, and the plaintext) and its tag.
/// Everything after it is filler.
pub fn authenticated_len(plaintext_len: usize) -> usize {
    2 + 24 + sotto_crypto::ENCRYPTED_HEADER_LEN + 1184 + plaintext_len + 16
}

/// Two connected sessions: (inviter, joiner), after the answer was accepted.
pub struct Pair {
    pub inviter_identity: IdentityKeyPair,
    pub joiner_identity: IdentityKeyPair,
    pub inviter: Session,
    pub joiner: Session,
    pub answer: Vec<u8>,
}

pub fn connect(rng: &mut TestRng) -> Pair {
    let inviter_identity = IdentityKeyPair::from_secret_bytes(&rng.bytes());
    let joiner_identity = IdentityKeyPair::from_secret_bytes(&rng.bytes());
    let pending =
        PendingInvitation::new(&inviter_identity, &rng.bytes::<INVITATION_RANDOMNESS_LEN>())
            .unwrap();
    let (joiner, answer) = join(
        &joiner_identity,
        &pending.invitation(),
        b"hello from the joiner",
        &rng.bytes::<JOIN_RANDOMNESS_LEN>(),
    )
    .unwrap();
    let (inviter, first) = pending.accept(&inviter_identity, &answer).unwrap();
    assert_eq!(first, b"hello from the joiner");
    Pair {
        inviter_identity,
        joiner_identity,
        inviter,
        joiner,
        answer,
    }
}
