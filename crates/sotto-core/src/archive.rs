//! The export archive: one versioned, encrypted, portable file holding every
//! record of every table of a profile, which any Sotto client (native or browser)
//! can write and read.
//!
//! ```text
//! archive = header || chunk*            (the last chunk has the final flag)
//! header  = "SOTTOARC" || version (u16 BE, 1) || key derivation (29, see
//!           `passphrase`) || nonce prefix (16) || key check (32)
//! chunk   = flag (1: 0x00 more, 0x01 final) || sealed length (u32 BE, 16..=65552)
//!        || XChaCha20-Poly1305(chunk key, nonce = nonce prefix || counter (u64 BE),
//!                              AD = SHA-256(header) || counter (u64 BE) || flag,
//!                              plaintext of at most 64 KiB)
//! ```
//! The chunk plaintexts, concatenated, are a stream of entries (see `entry`). The
//! counter in the nonce and the flag in the associated data make a reordered,
//! dropped, duplicated or truncated chunk fail to open; the header hash in the
//! associated data binds every chunk to its header. The full layout, with the key
//! schedule, is in `docs/storage.md`.
//!
//! The core does no I/O: [`Exporter`] hands out the archive piece by piece and
//! [`ArchiveReader`] takes it in pieces of any size, so large profiles stream.

mod chunk;
mod entry;
mod export;
mod header;
mod import;
mod moved;

pub use entry::{MAX_KEY_LEN, MAX_VALUE_LEN};
pub use export::{ExportRandomness, Exporter};
pub use import::{ArchiveReader, import_archive, import_archive_with_key};
pub use moved::{MOVED_TABLE, ProfileMoved, ensure_not_moved, mark_moved, moved};

use crate::passphrase::{Argon2Params, KeyDerivation, Passphrase, PassphraseError, StorageKey};
use crate::store::{Record, Store, StoreError};

/// An archive's identity: the SHA-256 of its header (unique per export, since the
/// header holds a random salt and nonce prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArchiveId(pub [u8; 32]);

/// What an export wrote; hand it to [`mark_moved`] once the archive is safe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportReceipt {
    /// The archive written.
    pub archive_id: ArchiveId,
    /// Tables in it.
    pub tables: u32,
    /// Records in it.
    pub records: u64,
}

/// What a verified archive holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchiveSummary {
    /// The archive read.
    pub archive_id: ArchiveId,
    /// Tables in it.
    pub tables: u32,
    /// Records in it.
    pub records: u64,
}

/// One record read from an archive, with the name of its table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedRecord {
    /// The table's name.
    pub table: String,
    /// The record.
    pub record: Record,
}

/// Exports every record of `store` into one archive in memory. For large
/// profiles, drive an [`Exporter`] and write its pieces as they come.
pub fn export_archive<S: Store + ?Sized>(
    store: &S,
    passphrase: &Passphrase,
    params: Argon2Params,
    randomness: ExportRandomness,
) -> Result<(Vec<u8>, ExportReceipt), ArchiveError> {
    finish_export(Exporter::new(store, passphrase, params, randomness)?)
}

/// [`export_archive`] under a key that `derivation` gave for the passphrase
/// already (see [`Exporter::with_derived_key`]).
pub fn export_archive_with_key<S: Store + ?Sized>(
    store: &S,
    derivation: &KeyDerivation,
    key: &StorageKey,
    nonce_prefix: [u8; header::NONCE_PREFIX_LEN],
) -> Result<(Vec<u8>, ExportReceipt), ArchiveError> {
    finish_export(Exporter::with_derived_key(
        store,
        derivation,
        key,
        nonce_prefix,
    )?)
}

/// The key derivation an archive was written with, from its first
/// [`ARCHIVE_DERIVATION_LEN`] bytes: what a caller that derives the key
/// itself (the browser, in a worker) runs before
/// [`import_archive_with_key`].
pub fn archive_key_derivation(archive: &[u8]) -> Result<KeyDerivation, ArchiveError> {
    let seen = archive.len().min(header::MAGIC.len());
    if archive[..seen] != header::MAGIC[..seen] {
        return Err(ArchiveError::NotAnArchive);
    }
    let start = archive
        .first_chunk::<ARCHIVE_DERIVATION_LEN>()
        .ok_or(ArchiveError::Truncated)?;
    header::Header::derivation(start)
}

/// Bytes of an archive's start that [`archive_key_derivation`] reads.
pub const ARCHIVE_DERIVATION_LEN: usize = header::DERIVATION_END;

fn finish_export<S: Store + ?Sized>(
    mut exporter: Exporter<'_, S>,
) -> Result<(Vec<u8>, ExportReceipt), ArchiveError> {
    let mut archive = Vec::new();
    while let Some(piece) = exporter.next_bytes()? {
        archive.extend_from_slice(&piece);
    }
    let receipt = exporter
        .receipt()
        .ok_or(ArchiveError::Malformed("export did not finish"))?;
    Ok((archive, receipt))
}

/// Why an export or import failed. Safe to log: it never holds record contents.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    // The user's input.
    /// The passphrase does not open this archive (or its header was damaged).
    #[error("wrong passphrase for this archive")]
    WrongPassphrase,

    // A damaged or hostile file.
    /// The file does not start like a Sotto archive.
    #[error("not a Sotto archive")]
    NotAnArchive,
    /// The archive ends before its final chunk.
    #[error("the archive is truncated")]
    Truncated,
    /// A chunk failed authentication: modified, reordered, dropped or duplicated.
    #[error("the archive was modified or reordered (chunk {0} does not authenticate)")]
    Tampered(u64),
    /// The decrypted contents break the format's rules.
    #[error("the archive is malformed: {0}")]
    Malformed(&'static str),
    /// Bytes follow the final chunk.
    #[error("the archive has data after its final chunk")]
    TrailingData,

    // A newer or foreign client.
    /// The archive was written in a version this client does not read.
    #[error("archive version {0} is not supported by this client")]
    UnsupportedVersion(u16),
    /// The key derivation parameters are unknown or out of bounds.
    #[error("archive key derivation: {0}")]
    KeyDerivation(#[from] PassphraseError),

    // The profile and the caller.
    /// A record is too large for the format (see [`MAX_KEY_LEN`], [`MAX_VALUE_LEN`]).
    #[error("a record is too large to export")]
    RecordTooLarge,
    /// The store holds a table whose name breaks the naming rule.
    #[error("the profile holds an invalid table name")]
    InvalidTableName,
    /// Import goes only into an empty store.
    #[error("import needs an empty profile")]
    TargetNotEmpty,
    /// The profile was exported and moved to another device.
    #[error("this profile was moved to another device and must not be used again")]
    ProfileMoved,
    /// The reader was used again after it failed.
    #[error("the archive reader already failed")]
    Unusable,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests;
