//! The crate's one error type, grouped by who is at fault.

/// Everything that can go wrong while encoding, decoding, or running the relay protocol.
///
/// Variants are grouped by fault: malformed input (the bytes do not parse), a
/// misbehaving peer (well-formed bytes that fail a cryptographic check), an
/// incompatible peer (no common protocol version), and local limits or misuse.
/// `Display` never contains key material, queue ids or message contents, so it is
/// safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    // ---- Malformed input -------------------------------------------------------------
    /// A block was not exactly [`BLOCK_SIZE`](crate::BLOCK_SIZE) bytes.
    #[error("a block must be exactly 16384 bytes, got {len}")]
    WrongBlockSize {
        /// The size that was received.
        len: usize,
    },
    /// The input ended inside a field.
    #[error("input ended inside a field")]
    Truncated,
    /// Bytes were left over after the last field of a structure.
    #[error("unexpected bytes after the last field")]
    TrailingBytes,
    /// Padding that must be all zero contains a non-zero byte.
    #[error("padding contains a non-zero byte")]
    NonZeroPadding,
    /// A length field (or a length-bounded value) is outside its allowed range.
    #[error("length out of range: {field}")]
    LengthOutOfRange {
        /// Which field, by its protocol name.
        field: &'static str,
    },
    /// An inner block announces zero transmissions.
    #[error("block carries no transmission")]
    EmptyBlock,
    /// A hello block does not start with the protocol magic.
    #[error("not a Sotto relay hello")]
    BadMagic,
    /// A hello block has a kind byte that is not expected here.
    #[error("unexpected hello kind {0}")]
    UnexpectedHelloKind(u8),
    /// A command tag that this protocol version does not define.
    #[error("unknown command tag {0:#04x}")]
    UnknownCommand(u8),
    /// A response tag that this protocol version does not define.
    #[error("unknown response tag {0:#04x}")]
    UnknownResponse(u8),
    /// An error code that this protocol version does not define.
    #[error("unknown error code {0}")]
    UnknownErrorCode(u8),
    /// An entity id is present where none is allowed, or missing where one is required.
    #[error("entity id present where none is allowed, or missing where one is required")]
    EntityMismatch,
    /// Reserved flag bits are set.
    #[error("reserved flag bits are set")]
    ReservedFlags,
    /// A response carries an authenticator; relay responses never do.
    #[error("response carries an authenticator")]
    UnexpectedAuthenticator,
    /// A hello offers no cipher suite, or one suite twice.
    #[error("invalid cipher suite list")]
    InvalidSuites,
    /// A protocol version number is zero, or a version range has min > max.
    #[error("invalid protocol version or version range")]
    InvalidVersion,
    /// A relay address does not parse.
    #[error("invalid relay address: {reason}")]
    InvalidAddress {
        /// What is wrong, in a few words.
        reason: &'static str,
    },
    /// A relay fingerprint is not 43 characters of unpadded base64url for 32 bytes.
    #[error("invalid relay fingerprint")]
    InvalidFingerprint,

    // ---- Misbehaving peer -------------------------------------------------------------
    /// An encrypted block or sealed message failed to authenticate. On a connection
    /// this means the stream is broken: close it without a reply.
    #[error("decryption failed")]
    DecryptFailed,
    /// A signature (the relay's, in the handshake) does not verify.
    #[error("signature invalid")]
    BadSignature,
    /// The relay chose a cipher suite the client did not offer.
    #[error("relay chose a cipher suite that was not offered")]
    SuiteNotOffered,
    /// The relay's identity key does not match the fingerprint in its address.
    #[error("relay identity does not match the fingerprint in its address")]
    FingerprintMismatch,
    /// An X25519 exchange produced an all-zero secret (the peer sent a low-order key).
    #[error("key exchange produced an all-zero secret (low-order key)")]
    LowOrderKey,
    /// The relay chose a version outside the range the client offered.
    #[error("relay chose version {version}, outside the offered range")]
    VersionNotOffered {
        /// The version the relay chose.
        version: u16,
    },

    // ---- Incompatible peer ------------------------------------------------------------
    /// The relay shares no protocol version with the client.
    #[error("relay supports protocol versions {relay_min}..={relay_max} only")]
    VersionRejected {
        /// Lowest version the relay supports.
        relay_min: u16,
        /// Highest version the relay supports.
        relay_max: u16,
    },

    /// No cipher suite is both offered by the client and supported by the relay.
    #[error("no common cipher suite")]
    NoCommonSuite,

    // ---- Local limits and API misuse -------------------------------------------------
    /// This build does not implement the cipher suite (the browser build has no
    /// AES-256-GCM).
    #[error("cipher suite not available in this build")]
    SuiteUnavailable,
    /// A transmission does not fit in the remaining space of an inner block, or the
    /// block already holds 255 transmissions.
    #[error("transmission does not fit in the block")]
    BatchFull,
    /// The per-direction block counter is exhausted; open a new connection.
    #[error("block counter exhausted")]
    CounterExhausted,
    /// A previous block failed to decrypt, so this transport accepts nothing more.
    #[error("transport is broken by an earlier failed block")]
    TransportBroken,
}
