//! One profile as the browser keeps it: a few `meta` values and the sealed
//! records ([`crate::sealed_record`]). What is read and written here is bytes;
//! the bridge carries them to and from IndexedDB.
//!
//! ```text
//! meta     "kdf"    the key derivation (sotto_core::KeyDerivation, 29 bytes, not secret)
//!          "check"  a sealed empty record under the table name "passphrase_check":
//!                   it opens only with the right key
//!          "prefs"  the UI's preferences (its own JSON), sealed under the table
//!                   name "web_prefs" (absent until the UI saves some)
//!          "moved"  present once the profile was exported and moved away
//!          "lock_key"  the key that opens what was kept while locked
//!                   (crate::held_delivery), sealed; absent until first needed
//! records  index (32) -> sealed record, one per record of the core's store
//! ```
//!
//! A profile written before records were padded, or under weaker Argon2id
//! parameters than today's default, still opens; [`LoadedProfile`] says so,
//! and the bridge writes it again (a [`Snapshot`]) in today's format, under a
//! new key derivation when the old one was weaker.

use rand_core::CryptoRngCore;
use sotto_core::{Argon2Params, KeyDerivation, PassphraseError, Record, Store, StoreError};
use zeroize::{Zeroize, Zeroizing};

use crate::held_delivery::{LockKey, META_LOCK_KEY};
use crate::mirror::{MirrorChange, MirrorStore};
use crate::sealed_record::{INDEX_LEN, RecordFormat, RecordIndex, RecordSealer, SealError};

/// `meta` entry: the encoded [`KeyDerivation`].
pub const META_KDF: &str = "kdf";
/// `meta` entry: a sealed record that opens only with the right passphrase.
pub const META_CHECK: &str = "check";
/// `meta` entry: the UI's preferences, sealed.
pub const META_PREFS: &str = "prefs";
/// `meta` entry, present once the profile was exported and moved away.
pub const META_MOVED: &str = "moved";
/// The table name the passphrase check is sealed under (never a core table).
const CHECK_TABLE: &str = "passphrase_check";
/// The table name the UI's preferences are sealed under (never a core table).
const PREFS_TABLE: &str = "web_prefs";
/// Records read per step when every record is sealed again.
const SNAPSHOT_PAGE: usize = 256;

/// Why a stored profile did not open. Safe to log.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The passphrase does not open the profile.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The stored key derivation is damaged or out of bounds.
    #[error("the stored key derivation is damaged: {0}")]
    Derivation(#[from] PassphraseError),
    /// A stored record is damaged.
    #[error("a stored record is damaged: {0}")]
    Record(#[from] SealError),
    /// The records do not make a store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One write to the `records` store: a sealed value, or a delete.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedWrite {
    /// Where.
    pub index: RecordIndex,
    /// The sealed value, or `None` to delete.
    pub sealed: Option<Vec<u8>>,
}

impl std::fmt::Debug for SealedWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedWrite")
            .field("sealed_len", &self.sealed.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// The key derivation stored in `meta` under [`META_KDF`].
pub fn stored_derivation(kdf: &[u8]) -> Result<KeyDerivation, ProfileError> {
    let kdf: &[u8; KeyDerivation::ENCODED_LEN] = kdf
        .try_into()
        .map_err(|_| ProfileError::Derivation(PassphraseError::ParametersOutOfBounds))?;
    Ok(KeyDerivation::decode(kdf)?)
}

/// Checks that `sealer` (from the passphrase typed) opens the stored
/// passphrase check (`meta` [`META_CHECK`]); [`ProfileError::WrongPassphrase`]
/// if it does not. Returns the check's format.
pub fn check_passphrase(
    sealer: &RecordSealer,
    check: Option<&[u8]>,
) -> Result<RecordFormat, ProfileError> {
    let index = sealer.index(CHECK_TABLE, &[])?;
    sealer
        .open(&index, check.unwrap_or_default())
        .map(|opened| opened.format)
        .map_err(|_| ProfileError::WrongPassphrase)
}

/// A profile read back from IndexedDB.
#[derive(Debug)]
pub struct LoadedProfile {
    /// Its records, with nothing to write.
    pub store: MirrorStore,
    /// The UI's preferences (empty if none were saved).
    pub prefs: Zeroizing<Vec<u8>>,
    /// Some records were written before padding: seal them again.
    pub unpadded: bool,
    /// The stored key derivation costs less than today's default: derive a
    /// new key with it and seal everything again.
    pub weak_key_derivation: bool,
}

impl LoadedProfile {
    /// Whether the profile should be written again in today's format.
    pub fn outdated(&self) -> bool {
        self.unpadded || self.weak_key_derivation
    }
}

/// Whether `params` cost less memory or fewer passes than the default.
pub fn weaker_than_default(params: &Argon2Params) -> bool {
    params.memory_kib < Argon2Params::DEFAULT.memory_kib
        || params.iterations < Argon2Params::DEFAULT.iterations
}

/// Opens every stored record (`(index, sealed)` as IndexedDB returned them)
/// and the preferences with `sealer`. `derivation` is the stored one, and
/// `check_format` what [`check_passphrase`] returned.
pub fn load(
    sealer: &RecordSealer,
    derivation: &KeyDerivation,
    check_format: RecordFormat,
    records: Vec<(Vec<u8>, Vec<u8>)>,
    prefs: Option<&[u8]>,
) -> Result<LoadedProfile, ProfileError> {
    let mut unpadded = check_format != RecordFormat::Padded;
    let mut opened_records = Vec::with_capacity(records.len());
    for (index, sealed) in records {
        let index: [u8; INDEX_LEN] = index
            .as_slice()
            .try_into()
            .map_err(|_| ProfileError::Record(SealError::Malformed))?;
        let opened = sealer.open(&RecordIndex(index), &sealed)?;
        unpadded |= opened.format != RecordFormat::Padded;
        opened_records.push((
            opened.table,
            Record {
                key: opened.key,
                value: opened.value,
            },
        ));
    }
    let store = MirrorStore::loaded(opened_records)?;
    let prefs = match prefs {
        Some(sealed) => {
            let index = sealer.index(PREFS_TABLE, &[])?;
            let opened = sealer.open(&index, sealed)?;
            unpadded |= opened.format != RecordFormat::Padded;
            Zeroizing::new(opened.value)
        }
        None => Zeroizing::new(Vec::new()),
    };
    Ok(LoadedProfile {
        store,
        prefs,
        unpadded,
        weak_key_derivation: weaker_than_default(&derivation.params),
    })
}

/// Everything IndexedDB holds for one profile, sealed: written in one
/// transaction that first clears the database.
#[derive(Debug)]
pub struct Snapshot {
    /// `meta` values by name.
    pub meta: Vec<(&'static str, Vec<u8>)>,
    /// Every record.
    pub records: Vec<SealedWrite>,
}

impl Snapshot {
    /// Seals every record of `store`, the passphrase check, `prefs` and the
    /// lock key. Changes `store` had queued are dropped: the snapshot holds
    /// them.
    pub fn seal(
        rng: &mut impl CryptoRngCore,
        store: &MirrorStore,
        sealer: &RecordSealer,
        derivation: &KeyDerivation,
        prefs: &[u8],
        lock_key: Option<&LockKey>,
    ) -> Result<Snapshot, ProfileError> {
        zeroize_changes(store.take_changes());
        let mut records = Vec::new();
        for table in store.tables()? {
            let mut after: Option<Vec<u8>> = None;
            loop {
                let page = store.records_after(&table, after.as_deref(), SNAPSHOT_PAGE)?;
                let Some(last) = page.last() else { break };
                after = Some(last.key.clone());
                for mut record in page {
                    let sealed = sealer.seal(rng, &table, &record.key, &record.value);
                    record.value.zeroize();
                    let (index, sealed) = sealed?;
                    records.push(SealedWrite {
                        index,
                        sealed: Some(sealed),
                    });
                }
            }
        }
        let (_, check) = sealer.seal(rng, CHECK_TABLE, &[], &[])?;
        let mut meta = vec![
            (META_KDF, derivation.encode().to_vec()),
            (META_CHECK, check),
        ];
        if !prefs.is_empty() {
            meta.push((META_PREFS, seal_prefs(rng, sealer, prefs)?));
        }
        if let Some(lock_key) = lock_key {
            meta.push((META_LOCK_KEY, lock_key.seal(rng, sealer)?));
        }
        Ok(Snapshot { meta, records })
    }
}

/// The UI's preferences, sealed for `meta` [`META_PREFS`].
pub fn seal_prefs(
    rng: &mut impl CryptoRngCore,
    sealer: &RecordSealer,
    prefs: &[u8],
) -> Result<Vec<u8>, SealError> {
    let (_, sealed) = sealer.seal(rng, PREFS_TABLE, &[], prefs)?;
    Ok(sealed)
}

/// The store's changes since the last call, sealed for IndexedDB.
pub fn seal_changes(
    rng: &mut impl CryptoRngCore,
    sealer: &RecordSealer,
    store: &MirrorStore,
) -> Result<Vec<SealedWrite>, SealError> {
    let changes = store.take_changes();
    let mut writes = Vec::with_capacity(changes.len());
    let mut changes = changes.into_iter();
    while let Some(change) = changes.next() {
        let write = match change {
            MirrorChange::Put { table, mut record } => {
                let sealed = sealer.seal(rng, &table, &record.key, &record.value);
                record.value.zeroize();
                sealed.map(|(index, sealed)| SealedWrite {
                    index,
                    sealed: Some(sealed),
                })
            }
            MirrorChange::Delete { table, key } => {
                sealer.index(&table, &key).map(|index| SealedWrite {
                    index,
                    sealed: None,
                })
            }
        };
        match write {
            Ok(write) => writes.push(write),
            Err(error) => {
                zeroize_changes(changes.collect());
                return Err(error);
            }
        }
    }
    Ok(writes)
}

/// Zeroizes the values of changes that will not be written.
pub fn zeroize_changes(changes: Vec<MirrorChange>) {
    for change in changes {
        if let MirrorChange::Put { mut record, .. } = change {
            record.value.zeroize();
        }
    }
}

#[cfg(test)]
mod tests;
