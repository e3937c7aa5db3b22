//! Sotto's end-to-end cryptography: the post-quantum hybrid key agreement and the
//! header-encrypted double ratchet (sans-IO: time and randomness are passed in).
//!
//! Randomness is always a caller-supplied byte array of a documented length (e.g.
//! [`ENCRYPT_RANDOMNESS_LEN`]): the crate never calls an RNG, so it runs unchanged in the
//! browser (wasm32) and under test with fixed seeds.
//!
//! Map of the modules:
//! - [`primitives`]: wrappers over the audited crates (X25519 with low-order rejection,
//!   Ed25519, ML-KEM-768, XChaCha20-Poly1305, HKDF/HMAC-SHA-256).
//! - `identity`: long-term identity keys.
//! - `key_agreement`: invitations and the key agreement (PQXDH-style: three DHs and one
//!   KEM).
//! - `answer`: the answer's layout, with the joiner's identity key sealed for the
//!   inviter alone (answer version 2; version 1, identity in clear, read only).
//! - `root_key`, `chain_key`, `message_key`, `header_key`, `ratchet_key`: the keys of
//!   the double ratchet, each with its KDF step.
//! - `sender_chain`, `receiver_chain`, `double_ratchet`: the ratchet state machine with
//!   bounded skipped keys.
//! - `message`: byte layouts of headers and messages (format version 2, and version 1
//!   read only): a fixed-size header, a variable-length payload, filler to a fixed size.
//! - `session`: the public session type tying it together.
//! - `pickle`: encrypted, versioned storage of sessions and pending invitations.
//! - `security_code`: digits and QR payload to verify a contact.
//!
//! The wire format and every constant are specified in `docs/e2e-protocol.md`.
//!
//! ```
//! use sotto_crypto::{IdentityKeyPair, PendingInvitation, PickleKey, Session, join};
//!
//! # fn main() -> Result<(), sotto_crypto::Error> {
//! // Randomness comes from the caller (fixed bytes here; a CSPRNG in a client).
//! let alice = IdentityKeyPair::from_secret_bytes(&[1; 32]);
//! let bob = IdentityKeyPair::from_secret_bytes(&[2; 32]);
//!
//! // Alice invites; the invitation travels out of band (link or QR code).
//! let pending = PendingInvitation::new(&alice, &[3; sotto_crypto::INVITATION_RANDOMNESS_LEN])?;
//! let invitation = pending.invitation().to_bytes();
//!
//! // Bob answers, with a first message inside the answer.
//! let invitation = sotto_crypto::Invitation::from_bytes(&invitation)?;
//! let (mut bob_session, answer) =
//!     join(&bob, &invitation, b"my reply queue", &[4; sotto_crypto::JOIN_RANDOMNESS_LEN])?;
//!
//! // Alice accepts and reads it; from now on both sides encrypt and decrypt.
//! let (mut alice_session, first) = pending.accept(&alice, &answer)?;
//! assert_eq!(first, b"my reply queue");
//! let message = alice_session.encrypt(b"hello", &[5; sotto_crypto::ENCRYPT_RANDOMNESS_LEN])?;
//! assert_eq!(message.len(), sotto_crypto::ENCRYPTED_MESSAGE_LEN);
//! assert_eq!(bob_session.decrypt(&message)?, b"hello");
//! assert_eq!(bob_session.decrypt(&message), Err(sotto_crypto::Error::Duplicate));
//!
//! // Both see the same security code; sessions are stored as encrypted pickles.
//! assert_eq!(alice_session.security_code(), bob_session.security_code());
//! let key = PickleKey::from_bytes(&[6; 32]);
//! let pickle = bob_session.pickle(&key, &[7; sotto_crypto::PICKLE_NONCE_LEN]);
//! let _restored = Session::from_pickle(&key, &pickle)?;
//! # Ok(())
//! # }
//! ```

mod answer;
mod chain_key;
mod codec;
mod double_ratchet;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod header_key;
mod identity;
mod key_agreement;
mod message;
mod message_key;
mod pickle;
pub mod primitives;
mod ratchet_key;
mod receiver_chain;
#[cfg(test)]
mod recorded_vectors;
mod root_key;
mod security_code;
mod sender_chain;
mod session;

pub use answer::{ANSWER_KEY_AGREEMENT_LEN, ANSWER_LEN};
pub use error::Error;
pub use identity::{IDENTITY_KEY_LEN, IdentityKeyPair, IdentityPublicKey};
pub use key_agreement::{
    INVITATION_LEN, INVITATION_RANDOMNESS_LEN, Invitation, JOIN_RANDOMNESS_LEN, MAX_MESSAGE_BODY,
    PendingInvitation, join,
};
pub use message::{ENCRYPTED_HEADER_LEN, ENCRYPTED_MESSAGE_LEN, HEADER_LEN, MAX_PLAINTEXT_LEN};
pub use pickle::{PASSPHRASE_SALT_LEN, PICKLE_KEY_LEN, PICKLE_NONCE_LEN, PickleKey};
pub use receiver_chain::{MAX_RECEIVING_CHAINS, MAX_SKIP_PER_CHAIN, MAX_STORED_SKIPPED_KEYS};
pub use security_code::{
    SECURITY_CODE_GROUP_DIGITS, SECURITY_CODE_GROUPS, SECURITY_CODE_QR_LEN, SecurityCode,
};
pub use session::{ENCRYPT_RANDOMNESS_LEN, Session};
