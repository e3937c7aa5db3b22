//! What the benchmark and the `steady_state` example share: deterministic randomness and
//! connected session pairs (sotto-crypto and vodozemac's Olm) after one round trip.

#![allow(dead_code, clippy::unwrap_used, clippy::panic, unreachable_pub)]

use sha2::{Digest, Sha256};
use sotto_crypto::{IdentityKeyPair, PendingInvitation, Session, join};
use vodozemac::olm::{Account, OlmMessage, Session as OlmSession, SessionConfig};

/// Deterministic bytes standing in for the caller's RNG (one SHA-256 per 32 bytes).
pub struct Randomness(pub u64);

impl Randomness {
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(32) {
            self.0 += 1;
            let block = Sha256::digest(self.0.to_be_bytes());
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        out
    }
}

/// A connected sotto pair after one full round trip (both sides have sending chains).
pub fn sotto_pair(rng: &mut Randomness) -> (Session, Session) {
    let inviter_identity = IdentityKeyPair::from_secret_bytes(&rng.bytes());
    let joiner_identity = IdentityKeyPair::from_secret_bytes(&rng.bytes());
    let pending = PendingInvitation::new(&inviter_identity, &rng.bytes()).unwrap();
    let (mut joiner, answer) =
        join(&joiner_identity, &pending.invitation(), b"hi", &rng.bytes()).unwrap();
    let (mut inviter, _) = pending.accept(&inviter_identity, &answer).unwrap();
    let reply = inviter.encrypt(b"reply", &rng.bytes()).unwrap();
    joiner.decrypt(&reply).unwrap();
    (inviter, joiner)
}

/// A connected Olm pair after one full round trip.
pub fn olm_pair() -> (OlmSession, OlmSession) {
    let alice = Account::new();
    let mut bob = Account::new();
    bob.generate_one_time_keys(1);
    let one_time_key = *bob.one_time_keys().values().next().unwrap();
    bob.mark_keys_as_published();
    let mut alice_session = alice
        .create_outbound_session(
            SessionConfig::version_1(),
            bob.curve25519_key(),
            one_time_key,
        )
        .unwrap();
    let OlmMessage::PreKey(first) = alice_session.encrypt("hi").unwrap() else {
        panic!("first Olm message is a pre-key message");
    };
    let mut bob_session = bob
        .create_inbound_session(SessionConfig::version_1(), alice.curve25519_key(), &first)
        .unwrap()
        .session;
    let reply = bob_session.encrypt("reply").unwrap();
    alice_session.decrypt(&reply).unwrap();
    (alice_session, bob_session)
}
