//! The answer's layout, and the sealing of the joiner's identity key inside it.
//!
//! ```text
//! answer (version 2) = 0x02 || 0x02 || EK_j (32) || KEM ciphertext (1088)
//!                      || sealed IK_j (32 + 16) || first message (ENCRYPTED_MESSAGE_LEN)
//! answer (version 1) = 0x01 || 0x02 || IK_j (32) || EK_j (32) || KEM ciphertext (1088)
//!                      || first message                                  (read only)
//! ```
//!
//! Version 2 hides the joiner's long-term key from everyone but the inviter, in the
//! manner of Noise's `-> e, es, s`: the key is sealed under a key derived from the two
//! agreements of the joiner's ephemeral key with the invitation's keys and from the
//! ML-KEM secret, so opening it takes the inviter's identity secret, one-time secret and
//! ML-KEM secret alike, and a recorded answer stays sealed against a future quantum
//! adversary. The sealing binds the hash of everything before it; the key agreement's
//! transcript then binds the sealed key.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::Error;
use crate::codec::{ANSWER_VERSION, ANSWER_VERSION_1, Reader, kind};
use crate::identity::{IDENTITY_KEY_LEN, IdentityPublicKey};
use crate::key_agreement::Invitation;
use crate::message::ENCRYPTED_MESSAGE_LEN;
use crate::primitives::aead::{AEAD_KEY_LEN, AEAD_NONCE_LEN, AEAD_TAG_LEN, open, seal};
use crate::primitives::kdf::{hkdf, label};
use crate::primitives::kem::{KEM_CIPHERTEXT_LEN, KemCiphertext, KemSharedSecret};
use crate::primitives::x25519::{DhSecret, X25519_LEN, X25519Public};

/// Length of the sealed identity key: the key and its tag.
pub(crate) const SEALED_IDENTITY_LEN: usize = IDENTITY_KEY_LEN + AEAD_TAG_LEN;
/// Length of what the sealing binds: prefix, ephemeral key and KEM ciphertext.
pub(crate) const SEALING_PREFIX_LEN: usize = 2 + X25519_LEN + KEM_CIPHERTEXT_LEN;
/// Length of the key-agreement part of a version-2 answer.
pub const ANSWER_KEY_AGREEMENT_LEN: usize = SEALING_PREFIX_LEN + SEALED_IDENTITY_LEN;
/// Length of a whole version-2 answer (key agreement and the first message).
pub const ANSWER_LEN: usize = ANSWER_KEY_AGREEMENT_LEN + ENCRYPTED_MESSAGE_LEN;
/// Length of the key-agreement part of a version-1 answer.
const V1_KEY_AGREEMENT_LEN: usize = 2 + IDENTITY_KEY_LEN + X25519_LEN + KEM_CIPHERTEXT_LEN;

/// The joiner's identity key as an answer carries it.
pub(crate) enum JoinerIdentity<'a> {
    /// Version 2: sealed, opened by [`IdentitySealingKey::open`].
    Sealed {
        /// The bytes the sealing binds: everything before the sealed key.
        prefix: &'a [u8],
        sealed: &'a [u8; SEALED_IDENTITY_LEN],
    },
    /// Version 1, read only: in clear.
    Clear(IdentityPublicKey),
}

/// A parsed answer of either version.
pub(crate) struct Answer<'a> {
    pub(crate) joiner: JoinerIdentity<'a>,
    pub(crate) ephemeral: X25519Public,
    pub(crate) kem_ciphertext: KemCiphertext,
    /// The key-agreement part, hashed into the transcript.
    pub(crate) key_agreement: &'a [u8],
    pub(crate) message: &'a [u8],
}

impl<'a> Answer<'a> {
    /// Checks the version (2, or 1 for answers written before the upgrade), the kind and
    /// the exact length, and splits the fields.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let version = match bytes.first() {
            Some(&ANSWER_VERSION_1) => ANSWER_VERSION_1,
            _ => ANSWER_VERSION,
        };
        let mut reader = Reader::new(bytes, "answer");
        reader.versioned_prefix(version, kind::ANSWER)?;
        let key_agreement_len = match version {
            ANSWER_VERSION_1 => V1_KEY_AGREEMENT_LEN,
            _ => ANSWER_KEY_AGREEMENT_LEN,
        };
        if bytes.len() != key_agreement_len + ENCRYPTED_MESSAGE_LEN {
            return Err(Error::Malformed("answer"));
        }
        let clear_identity = match version {
            ANSWER_VERSION_1 => Some(IdentityPublicKey::from_bytes(&reader.array()?)),
            _ => None,
        };
        let ephemeral = X25519Public(reader.array()?);
        let kem_ciphertext = KemCiphertext(Box::new(reader.array()?));
        let joiner = match clear_identity {
            Some(identity) => JoinerIdentity::Clear(identity),
            None => JoinerIdentity::Sealed {
                prefix: bytes
                    .get(..SEALING_PREFIX_LEN)
                    .ok_or(Error::Malformed("answer"))?,
                sealed: reader.array_ref()?,
            },
        };
        let (key_agreement, message) = bytes
            .split_at_checked(key_agreement_len)
            .ok_or(Error::Malformed("answer"))?;
        Ok(Self {
            joiner,
            ephemeral,
            kem_ciphertext,
            key_agreement,
            message,
        })
    }
}

/// The one-use key that seals the joiner's identity key in a version-2 answer, with the
/// hash it binds.
pub(crate) struct IdentitySealingKey {
    key: Zeroizing<[u8; AEAD_KEY_LEN]>,
    transcript: [u8; 32],
}

impl IdentitySealingKey {
    /// `H_s = SHA-256(invitation || sealing prefix)`;
    /// `K_s = HKDF(salt = 32 zero bytes, ikm = 0xFF×32 || DH2 || DH3 || SS,
    /// info = "Sotto v2 answer identity" || H_s, L = 32)`.
    pub(crate) fn derive(
        dh2: &DhSecret,
        dh3: &DhSecret,
        kem: &KemSharedSecret,
        invitation: &Invitation,
        sealing_prefix: &[u8],
    ) -> Self {
        let mut hash = Sha256::new();
        hash.update(invitation.to_bytes());
        hash.update(sealing_prefix);
        let transcript: [u8; 32] = hash.finalize().into();
        let mut ikm = Zeroizing::new([0u8; 32 * 4]);
        ikm[..32].copy_from_slice(&[0xff; 32]);
        ikm[32..64].copy_from_slice(dh2.as_bytes());
        ikm[64..96].copy_from_slice(dh3.as_bytes());
        ikm[96..].copy_from_slice(kem.as_bytes());
        let mut info = Vec::with_capacity(label::ANSWER_IDENTITY.len() + 32);
        info.extend_from_slice(label::ANSWER_IDENTITY);
        info.extend_from_slice(&transcript);
        Self {
            key: hkdf::<AEAD_KEY_LEN>(&[0u8; 32], &*ikm, &info),
            transcript,
        }
    }

    /// `XChaCha20-Poly1305(K_s, nonce = 24 zero bytes, ad = H_s, IK_j)`. The key seals
    /// this one plaintext only (it is derived from a fresh ephemeral key and KEM secret),
    /// so the fixed nonce is never reused under it.
    pub(crate) fn seal(
        &self,
        identity: IdentityPublicKey,
    ) -> Result<[u8; SEALED_IDENTITY_LEN], Error> {
        let sealed = seal(
            &self.key,
            &[0u8; AEAD_NONCE_LEN],
            &self.transcript,
            &identity.to_bytes(),
        )?;
        sealed
            .try_into()
            .map_err(|_| Error::Malformed("sealed identity"))
    }

    /// Opens the sealed identity key; any failure is [`Error::SealedIdentity`].
    pub(crate) fn open(
        &self,
        sealed: &[u8; SEALED_IDENTITY_LEN],
    ) -> Result<IdentityPublicKey, Error> {
        let opened = open(&self.key, &[0u8; AEAD_NONCE_LEN], &self.transcript, sealed)
            .map_err(|_| Error::SealedIdentity)?;
        let key: [u8; IDENTITY_KEY_LEN] = opened
            .as_slice()
            .try_into()
            .map_err(|_| Error::SealedIdentity)?;
        Ok(IdentityPublicKey::from_bytes(&key))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::codec::Entropy;
    use crate::identity::IdentityKeyPair;
    use crate::key_agreement::{JOIN_RANDOMNESS_LEN, PendingInvitation, join, join_version_1};
    use crate::primitives::x25519::X25519Secret;

    fn randomness(seed: u8) -> [u8; JOIN_RANDOMNESS_LEN] {
        let mut bytes = [0u8; JOIN_RANDOMNESS_LEN];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = seed.wrapping_mul(31).wrapping_add((i % 251) as u8) ^ 0x5a;
        }
        bytes
    }

    fn inviter(seed: u8) -> (IdentityKeyPair, PendingInvitation) {
        let identity = IdentityKeyPair::from_secret_bytes(&[seed; 32]);
        let pending = PendingInvitation::new(&identity, &[seed.wrapping_add(1); 96]).unwrap();
        (identity, pending)
    }

    /// Every 8-byte window of `bytes`.
    fn windows(bytes: &[u8]) -> HashSet<&[u8]> {
        bytes.windows(8).collect()
    }

    /// The sealing key the joiner derived for an answer made from `randomness`.
    fn sealing_key_of(
        invitation: &Invitation,
        randomness: &[u8; JOIN_RANDOMNESS_LEN],
        answer: &[u8],
    ) -> IdentitySealingKey {
        let mut entropy = Entropy::new(randomness);
        let ephemeral = X25519Secret::from_bytes(&entropy.take::<32>().unwrap());
        let (_, kem_secret) = invitation
            .kem_key
            .encapsulate(&entropy.take::<32>().unwrap());
        let dh2 = ephemeral.diffie_hellman(&invitation.identity.0).unwrap();
        let dh3 = ephemeral.diffie_hellman(&invitation.one_time_key).unwrap();
        IdentitySealingKey::derive(
            &dh2,
            &dh3,
            &kem_secret,
            invitation,
            &answer[..SEALING_PREFIX_LEN],
        )
    }

    #[test]
    fn answer_carries_no_identity_key_in_clear() {
        let (inviter_identity, pending) = inviter(1);
        let joiner = IdentityKeyPair::from_secret_bytes(&[9; 32]);
        let (_, answer) = join(&joiner, &pending.invitation(), b"hi", &randomness(1)).unwrap();
        assert_eq!(answer.len(), ANSWER_LEN);
        assert_eq!(answer[..2], [ANSWER_VERSION, kind::ANSWER]);
        let answer_windows = windows(&answer);
        for key in [joiner.public_key(), inviter_identity.public_key()] {
            for window in key.to_bytes().windows(8) {
                assert!(!answer_windows.contains(window));
            }
        }
        // The version-1 layout did carry it, which is what the test would catch.
        let (_, old) =
            join_version_1(&joiner, &pending.invitation(), b"hi", &randomness(1)).unwrap();
        assert_eq!(old[2..34], joiner.public_key().to_bytes());
    }

    #[test]
    fn two_answers_of_one_profile_share_no_bytes() {
        let joiner = IdentityKeyPair::from_secret_bytes(&[9; 32]);
        let (_, first_inviter) = inviter(1);
        let (_, second_inviter) = inviter(2);
        let (_, first) = join(&joiner, &first_inviter.invitation(), b"hi", &randomness(1)).unwrap();
        // To another invitation, and again to the same one (a contact address answers
        // many times with the same keys).
        let (_, second) =
            join(&joiner, &second_inviter.invitation(), b"hi", &randomness(2)).unwrap();
        let (_, third) = join(&joiner, &first_inviter.invitation(), b"hi", &randomness(3)).unwrap();
        let first_windows = windows(&first[2..]);
        for other in [&second, &third] {
            assert!(other[2..].windows(8).all(|w| !first_windows.contains(w)));
        }
    }

    #[test]
    fn sealed_identity_opens_for_the_inviter_alone() {
        let (identity, pending) = inviter(1);
        let joiner = IdentityKeyPair::from_secret_bytes(&[9; 32]);
        let randomness = randomness(4);
        let (_, answer) = join(&joiner, &pending.invitation(), b"hi", &randomness).unwrap();
        let sealed: &[u8; SEALED_IDENTITY_LEN] = answer[SEALING_PREFIX_LEN..]
            [..SEALED_IDENTITY_LEN]
            .try_into()
            .unwrap();
        let key = sealing_key_of(&pending.invitation(), &randomness, &answer);
        assert_eq!(key.open(sealed).unwrap(), joiner.public_key());
        // Another invitation's inviter derives another key.
        let (other_identity, other) = inviter(2);
        assert_eq!(
            other.accept(&other_identity, &answer).err(),
            Some(Error::SealedIdentity)
        );
        let (session, first) = pending.accept(&identity, &answer).unwrap();
        assert_eq!(first, b"hi");
        assert_eq!(session.peer_identity(), joiner.public_key());
    }

    #[test]
    fn every_altered_byte_of_the_key_agreement_is_refused() {
        let (identity, pending) = inviter(1);
        let joiner = IdentityKeyPair::from_secret_bytes(&[9; 32]);
        let (_, answer) = join(&joiner, &pending.invitation(), b"hi", &randomness(5)).unwrap();
        let positions = (0..ANSWER_KEY_AGREEMENT_LEN)
            .step_by(7)
            .chain(SEALING_PREFIX_LEN..ANSWER_KEY_AGREEMENT_LEN)
            .chain([
                ANSWER_KEY_AGREEMENT_LEN + 30,
                ANSWER_KEY_AGREEMENT_LEN + 2000,
            ]);
        for position in positions {
            let mut altered = answer.clone();
            altered[position] ^= 0x01;
            let error = pending.accept(&identity, &altered).err();
            assert!(error.is_some(), "byte {position} altered, accepted");
            if (SEALING_PREFIX_LEN..ANSWER_KEY_AGREEMENT_LEN).contains(&position) {
                assert_eq!(error, Some(Error::SealedIdentity));
            }
        }
        assert_eq!(
            pending.accept(&identity, &answer[..ANSWER_LEN - 1]).err(),
            Some(Error::Malformed("answer"))
        );
        // The pending invitation is unchanged by the failures.
        assert_eq!(pending.accept(&identity, &answer).unwrap().1, b"hi");
    }

    #[test]
    fn a_sealed_identity_swapped_by_an_attacker_does_not_connect() {
        // Anyone can seal a key of their choice under their own ephemeral key, but the
        // session's keys need DH1 with that identity's secret.
        let (identity, pending) = inviter(1);
        let attacker = IdentityKeyPair::from_secret_bytes(&[7; 32]);
        let victim = IdentityKeyPair::from_secret_bytes(&[8; 32]).public_key();
        let randomness = randomness(6);
        let (_, mut answer) = join(&attacker, &pending.invitation(), b"hi", &randomness).unwrap();
        let key = sealing_key_of(&pending.invitation(), &randomness, &answer);
        answer[SEALING_PREFIX_LEN..ANSWER_KEY_AGREEMENT_LEN]
            .copy_from_slice(&key.seal(victim).unwrap());
        assert_eq!(
            pending.accept(&identity, &answer).err(),
            Some(Error::UnknownHeaderKey)
        );
        // A sealed low-order key is refused as such.
        answer[SEALING_PREFIX_LEN..ANSWER_KEY_AGREEMENT_LEN]
            .copy_from_slice(&key.seal(IdentityPublicKey::from_bytes(&[0; 32])).unwrap());
        assert_eq!(
            pending.accept(&identity, &answer).err(),
            Some(Error::LowOrderPublicKey)
        );
    }

    #[test]
    fn version_1_answers_are_still_accepted() {
        let (identity, pending) = inviter(1);
        let joiner = IdentityKeyPair::from_secret_bytes(&[9; 32]);
        let (mut joiner_session, answer) =
            join_version_1(&joiner, &pending.invitation(), b"hi", &randomness(7)).unwrap();
        assert_eq!(answer.len(), V1_KEY_AGREEMENT_LEN + ENCRYPTED_MESSAGE_LEN);
        let (mut session, first) = pending.accept(&identity, &answer).unwrap();
        assert_eq!(first, b"hi");
        assert_eq!(session.peer_identity(), joiner.public_key());
        assert_eq!(session.decrypt(&answer), Err(Error::Duplicate));
        let reply = session
            .encrypt(b"reply", &[3; crate::ENCRYPT_RANDOMNESS_LEN])
            .unwrap();
        assert_eq!(joiner_session.decrypt(&reply).unwrap(), b"reply");
        // A version-1 answer of a version-2 length is malformed.
        let mut wrong = answer;
        wrong.resize(ANSWER_LEN, 0);
        assert_eq!(
            Answer::parse(&wrong).err(),
            Some(Error::Malformed("answer"))
        );
    }
}
