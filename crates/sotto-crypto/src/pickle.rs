//! Encrypted, versioned storage of sessions and pending invitations ("pickles").
//!
//! ```text
//! pickle = version (1) || kind (0x10 session, 0x11 pending invitation) || nonce (24)
//!       || XChaCha20-Poly1305(storage key, nonce, AD = "Sotto v1 pickle" || version || kind,
//!                             state)
//! ```
//! The state layouts are in `docs/e2e-protocol.md`; a version-1 pickle keeps loading in
//! every later version.

use std::collections::VecDeque;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::Error;
use crate::chain_key::ChainKey;
use crate::codec::{FORMAT_VERSION, Reader, kind, write_prefix};
use crate::double_ratchet::{DoubleRatchet, Role};
use crate::header_key::HeaderKey;
use crate::identity::IdentityPublicKey;
use crate::key_agreement::PendingInvitation;
use crate::message_key::MessageKey;
use crate::primitives::aead::{self, AEAD_NONCE_LEN};
use crate::primitives::kdf::label;
use crate::primitives::kem::{KemCiphertext, KemKeyPair, KemPublicKey};
use crate::primitives::x25519::{X25519Public, X25519Secret};
use crate::ratchet_key::{PeerRatchetKey, RatchetKeyPair};
use crate::receiver_chain::{MAX_RECEIVING_CHAINS, MAX_STORED_SKIPPED_KEYS, ReceiverChain};
use crate::root_key::RootKey;
use crate::sender_chain::{SenderChain, Sending};
use crate::session::Session;

/// Length of the random nonce a pickle needs.
pub const PICKLE_NONCE_LEN: usize = AEAD_NONCE_LEN;
/// Length of a storage key.
pub const PICKLE_KEY_LEN: usize = 32;
/// Salt length for [`PickleKey::from_passphrase`].
pub const PASSPHRASE_SALT_LEN: usize = 16;

/// Argon2id memory cost in KiB (19 MiB), as recommended by OWASP.
const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id passes.
const ARGON2_ITERATIONS: u32 = 2;
/// Argon2id lanes.
const ARGON2_LANES: u32 = 1;

/// The storage key that encrypts pickles. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PickleKey([u8; PICKLE_KEY_LEN]);

impl PickleKey {
    /// Wraps a 32-byte key held by the caller's storage layer.
    pub fn from_bytes(bytes: &[u8; PICKLE_KEY_LEN]) -> Self {
        Self(*bytes)
    }

    /// Argon2id(passphrase, salt; 19 MiB, 2 passes, 1 lane) → 32 bytes.
    pub fn from_passphrase(
        passphrase: &[u8],
        salt: &[u8; PASSPHRASE_SALT_LEN],
    ) -> Result<Self, Error> {
        let params = argon2::Params::new(
            ARGON2_MEMORY_KIB,
            ARGON2_ITERATIONS,
            ARGON2_LANES,
            Some(PICKLE_KEY_LEN),
        )
        .map_err(|_| Error::PassphraseDerivation)?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = [0u8; PICKLE_KEY_LEN];
        argon
            .hash_password_into(passphrase, salt, &mut key)
            .map_err(|_| Error::PassphraseDerivation)?;
        let pickle_key = Self(key);
        key.zeroize();
        Ok(pickle_key)
    }
}

impl core::fmt::Debug for PickleKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PickleKey(<redacted>)")
    }
}

fn associated_data(kind: u8) -> Vec<u8> {
    let mut ad = label::PICKLE_ASSOCIATED_DATA.to_vec();
    ad.push(FORMAT_VERSION);
    ad.push(kind);
    ad
}

fn seal(kind: u8, key: &PickleKey, nonce: &[u8; PICKLE_NONCE_LEN], state: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + PICKLE_NONCE_LEN + state.len() + 16);
    write_prefix(&mut out, kind);
    out.extend_from_slice(nonce);
    // Sealing only fails for plaintexts over 256 GiB; a state is a few kilobytes.
    if let Ok(ciphertext) = aead::seal(&key.0, nonce, &associated_data(kind), state) {
        out.extend_from_slice(&ciphertext);
    }
    out
}

fn open(kind: u8, key: &PickleKey, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut reader = Reader::new(bytes, "pickle");
    reader.prefix(kind)?;
    let nonce = reader.array::<PICKLE_NONCE_LEN>()?;
    aead::open(&key.0, &nonce, &associated_data(kind), reader.rest())
        .map_err(|_| Error::PickleDecryption)
}

impl Session {
    /// Saves the session, encrypted with `key` under a caller-supplied random nonce.
    pub fn pickle(&self, key: &PickleKey, nonce: &[u8; PICKLE_NONCE_LEN]) -> Vec<u8> {
        let state = encode_session(self);
        seal(kind::SESSION_PICKLE, key, nonce, &state)
    }

    /// Restores a session saved by [`Session::pickle`] (any supported version).
    pub fn from_pickle(key: &PickleKey, bytes: &[u8]) -> Result<Self, Error> {
        let state = open(kind::SESSION_PICKLE, key, bytes)?;
        decode_session(&state)
    }
}

impl PendingInvitation {
    /// Saves the pending invitation, encrypted like a session.
    pub fn pickle(&self, key: &PickleKey, nonce: &[u8; PICKLE_NONCE_LEN]) -> Vec<u8> {
        let mut state = Zeroizing::new(Vec::with_capacity(32 + 32 + 2400));
        state.extend_from_slice(&self.identity.to_bytes());
        state.extend_from_slice(self.one_time_key.to_bytes().as_ref());
        state.extend_from_slice(self.kem.secret_bytes());
        seal(kind::INVITATION_PICKLE, key, nonce, &state)
    }

    /// Restores a pending invitation saved by [`PendingInvitation::pickle`].
    pub fn from_pickle(key: &PickleKey, bytes: &[u8]) -> Result<Self, Error> {
        let state = open(kind::INVITATION_PICKLE, key, bytes)?;
        let mut reader = Reader::new(&state, "pending invitation pickle");
        let identity = IdentityPublicKey::from_bytes(&reader.array()?);
        let one_time_key = X25519Secret::from_bytes(&Zeroizing::new(reader.array()?));
        let kem = KemKeyPair::from_secret_bytes(&Zeroizing::new(reader.array()?))?;
        reader.finish()?;
        Ok(Self {
            identity,
            one_time_key,
            kem,
        })
    }
}

pub(crate) fn encode_session(session: &Session) -> Zeroizing<Vec<u8>> {
    let ratchet = &session.ratchet;
    let skipped: usize = ratchet.receivers.iter().map(|c| c.skipped.len()).sum();
    let mut out = Zeroizing::new(Vec::with_capacity(8192 + skipped * 36));
    out.push(ratchet.role.byte());
    out.extend_from_slice(&ratchet.associated_data);
    match &session.answer_ephemeral {
        Some(key) => {
            out.push(1);
            out.extend_from_slice(&key.0);
        }
        None => out.push(0),
    }
    out.extend_from_slice(ratchet.root_key.as_bytes());
    out.extend_from_slice(ratchet.own.dh.to_bytes().as_ref());
    out.extend_from_slice(ratchet.own.kem.secret_bytes());
    match &ratchet.peer {
        Some(peer) => {
            out.push(1);
            out.extend_from_slice(&peer.dh.0);
            out.extend_from_slice(peer.kem.as_bytes());
        }
        None => out.push(0),
    }
    match &ratchet.sending {
        Sending::Active(chain) => {
            out.push(0);
            out.extend_from_slice(chain.header_key.as_bytes());
            out.extend_from_slice(chain.chain_key.as_bytes());
            out.extend_from_slice(&chain.next_message_number.to_be_bytes());
            out.extend_from_slice(&chain.previous_chain_length.to_be_bytes());
            out.extend_from_slice(&chain.kem_ciphertext.0[..]);
        }
        Sending::StepPending {
            header_key,
            previous_chain_length,
        } => {
            out.push(1);
            out.extend_from_slice(header_key.as_bytes());
            out.extend_from_slice(&previous_chain_length.to_be_bytes());
        }
    }
    out.extend_from_slice(ratchet.next_sending_header_key.as_bytes());
    out.extend_from_slice(ratchet.next_receiving_header_key.as_bytes());
    // At most MAX_RECEIVING_CHAINS (5) chains: the count fits a byte.
    out.push(u8::try_from(ratchet.receivers.len()).unwrap_or(u8::MAX));
    for chain in &ratchet.receivers {
        out.extend_from_slice(&chain.ratchet_key.0);
        out.extend_from_slice(chain.header_key.as_bytes());
        match &chain.chain_key {
            Some(key) => {
                out.push(1);
                out.extend_from_slice(key.as_bytes());
            }
            None => out.push(0),
        }
        out.extend_from_slice(&chain.next_message_number.to_be_bytes());
        // At most MAX_STORED_SKIPPED_KEYS (2000) keys: the count fits a u16.
        let count = u16::try_from(chain.skipped.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for (number, key) in &chain.skipped {
            out.extend_from_slice(&number.to_be_bytes());
            out.extend_from_slice(key.as_bytes());
        }
    }
    out
}

fn flag(reader: &mut Reader<'_>) -> Result<bool, Error> {
    match reader.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::Malformed("session pickle")),
    }
}

pub(crate) fn decode_session(state: &[u8]) -> Result<Session, Error> {
    const MALFORMED: Error = Error::Malformed("session pickle");
    let mut reader = Reader::new(state, "session pickle");
    let role = Role::from_byte(reader.u8()?).ok_or(MALFORMED)?;
    let associated_data = reader.array()?;
    let answer_ephemeral = if flag(&mut reader)? {
        Some(X25519Public(reader.array()?))
    } else {
        None
    };
    let root_key = RootKey::new(reader.array()?);
    let own = RatchetKeyPair::new(
        X25519Secret::from_bytes(&Zeroizing::new(reader.array()?)),
        KemKeyPair::from_secret_bytes(&Zeroizing::new(reader.array()?))?,
    );
    let peer = if flag(&mut reader)? {
        Some(PeerRatchetKey {
            dh: X25519Public(reader.array()?),
            kem: KemPublicKey::from_bytes(&reader.array()?)?,
        })
    } else {
        None
    };
    let sending = match reader.u8()? {
        0 => Sending::Active(SenderChain {
            header_key: HeaderKey::new(reader.array()?),
            chain_key: ChainKey::new(reader.array()?),
            next_message_number: reader.u32()?,
            previous_chain_length: reader.u32()?,
            kem_ciphertext: KemCiphertext(Box::new(reader.array()?)),
        }),
        1 => Sending::StepPending {
            header_key: HeaderKey::new(reader.array()?),
            previous_chain_length: reader.u32()?,
        },
        _ => return Err(MALFORMED),
    };
    let next_sending_header_key = HeaderKey::new(reader.array()?);
    let next_receiving_header_key = HeaderKey::new(reader.array()?);
    let chain_count = usize::from(reader.u8()?);
    if chain_count > MAX_RECEIVING_CHAINS {
        return Err(MALFORMED);
    }
    let mut receivers = VecDeque::with_capacity(chain_count);
    let mut stored = 0usize;
    for _ in 0..chain_count {
        let ratchet_key = X25519Public(reader.array()?);
        let header_key = HeaderKey::new(reader.array()?);
        let chain_key = if flag(&mut reader)? {
            Some(ChainKey::new(reader.array()?))
        } else {
            None
        };
        let next_message_number = reader.u32()?;
        let count = usize::from(u16::from_be_bytes(reader.array()?));
        stored += count;
        if stored > MAX_STORED_SKIPPED_KEYS {
            return Err(MALFORMED);
        }
        let mut skipped = VecDeque::with_capacity(count);
        for _ in 0..count {
            skipped.push_back((reader.u32()?, MessageKey::new(reader.array()?)));
        }
        receivers.push_back(ReceiverChain {
            ratchet_key,
            header_key,
            chain_key,
            next_message_number,
            skipped,
        });
    }
    reader.finish()?;
    Ok(Session::new(
        DoubleRatchet {
            role,
            associated_data,
            root_key,
            own,
            peer,
            sending,
            next_sending_header_key,
            receivers,
            next_receiving_header_key,
        },
        answer_ephemeral,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_key_and_wrong_kind_fail() {
        let key = PickleKey::from_bytes(&[1; 32]);
        let sealed = seal(kind::SESSION_PICKLE, &key, &[2; 24], b"state");
        assert_eq!(
            open(
                kind::SESSION_PICKLE,
                &PickleKey::from_bytes(&[3; 32]),
                &sealed
            )
            .err(),
            Some(Error::PickleDecryption)
        );
        assert!(matches!(
            open(kind::INVITATION_PICKLE, &key, &sealed),
            Err(Error::WrongKind { .. })
        ));
        assert_eq!(
            &open(kind::SESSION_PICKLE, &key, &sealed).unwrap()[..],
            b"state"
        );
    }

    #[test]
    fn garbage_state_is_malformed_not_a_panic() {
        for state in [&b""[..], &[0u8; 10], &[9u8; 200]] {
            assert!(decode_session(state).is_err());
        }
    }

    #[test]
    fn passphrase_key_is_deterministic() {
        let a = PickleKey::from_passphrase(b"correct horse", &[7; 16]).unwrap();
        let b = PickleKey::from_passphrase(b"correct horse", &[7; 16]).unwrap();
        let c = PickleKey::from_passphrase(b"correct horse", &[8; 16]).unwrap();
        assert_eq!(a.0, b.0);
        assert_ne!(a.0, c.0);
    }
}
