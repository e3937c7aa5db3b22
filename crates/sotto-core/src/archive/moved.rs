//! The mark left on a profile once it has been exported: "moved, not to be used
//! again". Two live copies of one profile would reuse ratchet keys and message
//! numbers; the clients refuse to send from a profile that carries this mark.
//!
//! ```text
//! table "profile_moved", key "moved":
//!   version (1: 0x01) || moved at (u64 BE, Unix seconds) || archive id (32)
//! ```

use super::{ArchiveError, ArchiveId, ExportReceipt};
use crate::store::{Store, StoreError, Table, WriteBatch};

/// The table of the mark. Never exported, refused in an archive.
pub const MOVED_TABLE: Table = Table::new("profile_moved");
const MOVED_KEY: &[u8] = b"moved";
const MARK_VERSION: u8 = 1;
const MARK_LEN: usize = 1 + 8 + 32;

/// A profile's record of having been moved to another device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileMoved {
    /// When the archive was written, in Unix seconds (from the caller's clock).
    pub moved_at: u64,
    /// The archive the profile went into.
    pub archive_id: ArchiveId,
}

/// Marks the profile in `store` as moved into the archive of `receipt`. Call it
/// once the archive is safely written (flushed to disk or handed to the user).
pub fn mark_moved<S: Store + ?Sized>(
    store: &mut S,
    receipt: &ExportReceipt,
    now_unix_seconds: u64,
) -> Result<(), StoreError> {
    let mut value = Vec::with_capacity(MARK_LEN);
    value.push(MARK_VERSION);
    value.extend_from_slice(&now_unix_seconds.to_be_bytes());
    value.extend_from_slice(&receipt.archive_id.0);
    let mut batch = WriteBatch::new();
    batch.put(MOVED_TABLE, MOVED_KEY, value);
    store.apply(batch)
}

/// The mark, if the profile in `store` was moved.
pub fn moved<S: Store + ?Sized>(store: &S) -> Result<Option<ProfileMoved>, StoreError> {
    let Some(value) = store.get(MOVED_TABLE, MOVED_KEY)? else {
        return Ok(None);
    };
    // A mark we cannot read still means "moved": never let a damaged mark
    // re-enable a retired profile.
    let mut moved = ProfileMoved {
        moved_at: 0,
        archive_id: ArchiveId([0; 32]),
    };
    if value.len() == MARK_LEN && value[0] == MARK_VERSION {
        let mut at = [0u8; 8];
        at.copy_from_slice(&value[1..9]);
        moved.moved_at = u64::from_be_bytes(at);
        moved.archive_id.0.copy_from_slice(&value[9..]);
    }
    Ok(Some(moved))
}

/// `Ok` when the profile may be used; [`ArchiveError::ProfileMoved`] when it was
/// moved to another device.
pub fn ensure_not_moved<S: Store + ?Sized>(store: &S) -> Result<(), ArchiveError> {
    match moved(store)? {
        Some(_) => Err(ArchiveError::ProfileMoved),
        None => Ok(()),
    }
}
