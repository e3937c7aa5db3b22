//! The crate's one error type, grouped by who is at fault.

/// Everything that can go wrong in `sotto-crypto`.
///
/// `Display` never includes key material or plaintext, so errors are safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- Malformed input: the bytes do not parse. ---
    /// The input has the wrong length or layout for what it claims to be.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The input is another kind of object (e.g. an invitation where an answer was expected).
    #[error("wrong kind of object: expected {expected:#04x}, found {found:#04x}")]
    WrongKind {
        /// The kind byte that was expected.
        expected: u8,
        /// The kind byte that was found.
        found: u8,
    },

    // --- Incompatible peer. ---
    /// The input uses a format version this implementation does not speak.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u8),

    // --- Misbehaving peer or forged input. ---
    /// An X25519 public key gave a low-order (all-zero) shared secret.
    #[error("low-order X25519 public key")]
    LowOrderPublicKey,
    /// An ML-KEM-768 encapsulation key failed the FIPS 203 modulus check.
    #[error("invalid ML-KEM-768 encapsulation key")]
    InvalidKemKey,
    /// An Ed25519 key or signature was rejected.
    #[error("invalid Ed25519 signature")]
    InvalidSignature,
    /// No known header key opens this message's header (tampered, reflected, or from a
    /// receiving chain that was already forgotten).
    #[error("no header key opens the message header")]
    UnknownHeaderKey,
    /// The header decrypted but contradicts the session (e.g. wrong ratchet key).
    #[error("inconsistent message header")]
    InconsistentHeader,
    /// The message body failed authentication.
    #[error("message authentication failed")]
    AuthenticationFailed,
    /// The message would skip more message keys than allowed; the session is unchanged.
    #[error("message skips more than the allowed number of message keys")]
    TooManySkipped,
    /// The message number lies beyond the end of a receiving chain that was closed.
    #[error("message number beyond the end of a closed chain")]
    BeyondClosedChain,
    /// The joiner's sealed identity key in an answer did not open: the answer was made for
    /// another invitation, or was altered on the way.
    #[error("the answer's sealed identity key does not open")]
    SealedIdentity,
    /// An invitation answer arrived at a session it does not belong to.
    #[error("unexpected invitation answer")]
    UnexpectedAnswer,

    // --- Delivery: expected on an at-least-once network; the session is intact. ---
    /// This message was already decrypted; it is not shown twice.
    #[error("duplicate message")]
    Duplicate,

    // --- Local: storage and API misuse. ---
    /// The plaintext is longer than [`crate::MAX_PLAINTEXT_LEN`].
    #[error("plaintext of {len} bytes exceeds the maximum of {max}")]
    PlaintextTooLong {
        /// The given plaintext length.
        len: usize,
        /// The largest accepted length.
        max: usize,
    },
    /// The sending chain has used every message number.
    #[error("sending chain exhausted")]
    ChainExhausted,
    /// A pickle did not open with the given storage key (wrong key or corrupted).
    #[error("pickle could not be decrypted")]
    PickleDecryption,
    /// The session cannot send yet: it has not received the peer's ratchet keys.
    #[error("session not established")]
    NotEstablished,
    /// The randomness buffer handed in is shorter than the operation needs.
    #[error("not enough randomness supplied")]
    InsufficientRandomness,
    /// Deriving a storage key from a passphrase failed.
    #[error("passphrase key derivation failed")]
    PassphraseDerivation,
}
