//! A session with one contact: the public face of the double ratchet.

use crate::Error;
use crate::answer::{Answer, JoinerIdentity};
use crate::codec::{Entropy, kind};
use crate::double_ratchet::FILLER_SEED_LEN;
use crate::double_ratchet::{DoubleRatchet, Role};
use crate::identity::IdentityPublicKey;
use crate::primitives::x25519::X25519Public;
use crate::ratchet_key::RATCHET_KEY_RANDOMNESS_LEN;
use crate::security_code::SecurityCode;

/// Randomness for one [`Session::encrypt`]: header nonce (24), filler seed (32), then,
/// used only when a ratchet step is due, new ratchet keys (96) and the KEM encapsulation
/// (32).
pub const ENCRYPT_RANDOMNESS_LEN: usize = 24 + FILLER_SEED_LEN + RATCHET_KEY_RANDOMNESS_LEN + 32;

/// An end-to-end encrypted session with one contact.
///
/// `Clone` copies the secrets: like restoring an older pickle, encrypting from two copies
/// reuses chain positions (never a key and nonce, see `docs/e2e-protocol.md` 6.1), and
/// the peer then reads the second message at a position as a duplicate.
#[derive(Clone, Debug)]
pub struct Session {
    pub(crate) ratchet: DoubleRatchet,
    /// The inviter remembers the answer's ephemeral key to recognise a redelivered answer.
    pub(crate) answer_ephemeral: Option<X25519Public>,
}

impl Session {
    pub(crate) fn new(ratchet: DoubleRatchet, answer_ephemeral: Option<X25519Public>) -> Self {
        Self {
            ratchet,
            answer_ephemeral,
        }
    }

    /// Encrypts one plaintext (at most [`crate::MAX_PLAINTEXT_LEN`] bytes) into exactly
    /// [`crate::ENCRYPTED_MESSAGE_LEN`] bytes.
    pub fn encrypt(
        &mut self,
        plaintext: &[u8],
        randomness: &[u8; ENCRYPT_RANDOMNESS_LEN],
    ) -> Result<Vec<u8>, Error> {
        self.encrypt_with(plaintext, &mut Entropy::new(randomness))
    }

    pub(crate) fn encrypt_with(
        &mut self,
        plaintext: &[u8],
        entropy: &mut Entropy<'_>,
    ) -> Result<Vec<u8>, Error> {
        self.ratchet.encrypt(plaintext, entropy)
    }

    /// Decrypts a message (or a redelivered answer). [`Error::Duplicate`] means it was
    /// already decrypted; every error leaves the session unchanged.
    pub fn decrypt(&mut self, bytes: &[u8]) -> Result<Vec<u8>, Error> {
        if bytes.get(1) == Some(&kind::ANSWER) {
            let answer = Answer::parse(bytes)?;
            // A version-2 answer's identity key is sealed under keys the session no
            // longer holds; its embedded message still only opens under this session's
            // keys, so at worst a redelivery altered outside them reads as a duplicate.
            let same_joiner = match answer.joiner {
                JoinerIdentity::Sealed { .. } => true,
                JoinerIdentity::Clear(identity) => identity == self.peer_identity(),
            };
            let ours = self.answer_ephemeral == Some(answer.ephemeral) && same_joiner;
            if !ours {
                return Err(Error::UnexpectedAnswer);
            }
            return self.decrypt_message(answer.message);
        }
        self.decrypt_message(bytes)
    }

    pub(crate) fn decrypt_message(&mut self, bytes: &[u8]) -> Result<Vec<u8>, Error> {
        self.ratchet.decrypt(bytes)
    }

    /// Our identity key in this session.
    pub fn local_identity(&self) -> IdentityPublicKey {
        self.identity_of(self.ratchet.role)
    }

    /// The contact's identity key.
    pub fn peer_identity(&self) -> IdentityPublicKey {
        self.identity_of(self.ratchet.role.peer())
    }

    /// The security code to compare with the contact.
    pub fn security_code(&self) -> SecurityCode {
        SecurityCode::new(&self.local_identity(), &self.peer_identity())
    }

    fn identity_of(&self, role: Role) -> IdentityPublicKey {
        let ad = &self.ratchet.associated_data;
        let mut key = [0u8; 32];
        match role {
            Role::Inviter => key.copy_from_slice(&ad[..32]),
            Role::Joiner => key.copy_from_slice(&ad[32..]),
        }
        IdentityPublicKey::from_bytes(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityKeyPair;
    use crate::key_agreement::{JOIN_RANDOMNESS_LEN, PendingInvitation, join};
    use crate::sender_chain::Sending;

    /// Renders bytes the two ways a careless `Debug` would: as a list and as hex.
    fn renderings(bytes: &[u8]) -> [String; 2] {
        let list = format!("{:?}", &bytes[..8]);
        let hex: String = bytes[..8].iter().map(|b| format!("{b:02x}")).collect();
        [list.trim_end_matches(']').to_owned(), hex]
    }

    #[test]
    fn debug_prints_no_secret_of_the_state() {
        let inviter_identity = IdentityKeyPair::from_secret_bytes(&[0x11; 32]);
        let joiner_identity = IdentityKeyPair::from_secret_bytes(&[0x22; 32]);
        let randomness: Vec<u8> = (0..=255u8)
            .cycle()
            .skip(7)
            .take(JOIN_RANDOMNESS_LEN)
            .collect();
        let pending =
            PendingInvitation::new(&inviter_identity, randomness[..96].try_into().unwrap())
                .unwrap();
        let (mut joiner, answer) = join(
            &joiner_identity,
            &pending.invitation(),
            b"hi",
            randomness[..JOIN_RANDOMNESS_LEN].try_into().unwrap(),
        )
        .unwrap();
        let (mut inviter, _) = pending.accept(&inviter_identity, &answer).unwrap();
        let randomness: [u8; ENCRYPT_RANDOMNESS_LEN] = [0x5a; ENCRYPT_RANDOMNESS_LEN];
        let skipped = inviter.encrypt(b"skipped", &randomness).unwrap();
        let _ = skipped;
        let second = inviter.encrypt(b"second", &randomness).unwrap();
        joiner.decrypt(&second).unwrap();

        for session in [&inviter, &joiner] {
            let printed = format!("{session:?} {pending:?} {inviter_identity:?}");
            let ratchet = &session.ratchet;
            let mut secrets: Vec<Vec<u8>> = vec![
                ratchet.root_key.as_bytes().to_vec(),
                ratchet.own.dh.to_bytes().to_vec(),
                ratchet.own.kem.secret_bytes().to_vec(),
                ratchet.next_sending_header_key.as_bytes().to_vec(),
                ratchet.next_receiving_header_key.as_bytes().to_vec(),
                inviter_identity.to_secret_bytes().to_vec(),
                pending.one_time_key.to_bytes().to_vec(),
            ];
            if let Sending::Active(chain) = &ratchet.sending {
                secrets.push(chain.chain_key.as_bytes().to_vec());
                secrets.push(chain.header_key.as_bytes().to_vec());
            }
            for chain in &ratchet.receivers {
                secrets.push(chain.header_key.as_bytes().to_vec());
                if let Some(key) = &chain.chain_key {
                    secrets.push(key.as_bytes().to_vec());
                }
                for (_, key) in &chain.skipped {
                    secrets.push(key.as_bytes().to_vec());
                }
            }
            for secret in &secrets {
                for rendering in renderings(secret) {
                    assert!(!printed.contains(&rendering), "{rendering} printed");
                }
            }
            assert!(printed.contains("redacted"));
        }
    }
}
