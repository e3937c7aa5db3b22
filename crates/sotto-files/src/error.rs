//! The crate's one error type, grouped by who is at fault.

/// What can go wrong encrypting, decrypting or reading a file description.
/// `Display` carries no key or content, so it is safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    // ---- Damaged or forged input ---------------------------------------------------
    /// A segment does not open: changed, reordered, from another file or key,
    /// or cut at the wrong place.
    #[error("the file does not decrypt: a segment was changed, moved or replaced")]
    Forged,
    /// The chunks ended before the file did.
    #[error("the file is truncated")]
    Truncated,
    /// A file description does not parse (or a field is out of its bounds).
    #[error("malformed file description: {0}")]
    MalformedDescription(&'static str),

    // ---- Misuse --------------------------------------------------------------------
    /// More or fewer plaintext bytes than the file's length were given.
    #[error("the plaintext is not the announced length")]
    WrongLength,
    /// The file is larger than a STREAM of 2^32 segments can carry.
    #[error("the file is too large")]
    TooLarge,
}
