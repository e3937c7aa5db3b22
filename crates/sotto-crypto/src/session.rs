//! A session with one contact: the public face of the double ratchet.

use crate::Error;
use crate::codec::{Entropy, kind};
use crate::double_ratchet::{DoubleRatchet, Role};
use crate::identity::IdentityPublicKey;
use crate::key_agreement::Answer;
use crate::primitives::x25519::X25519Public;
use crate::ratchet_key::RATCHET_KEY_RANDOMNESS_LEN;
use crate::security_code::SecurityCode;

/// Randomness for one [`Session::encrypt`]: header nonce (24), then, used only when a
/// ratchet step is due, new ratchet keys (96) and the KEM encapsulation (32).
pub const ENCRYPT_RANDOMNESS_LEN: usize = 24 + RATCHET_KEY_RANDOMNESS_LEN + 32;

/// An end-to-end encrypted session with one contact.
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
            let ours = self.answer_ephemeral == Some(answer.ephemeral)
                && answer.identity == self.peer_identity();
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
