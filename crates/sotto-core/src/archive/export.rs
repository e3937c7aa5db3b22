//! Writing an archive: a pull-based exporter that walks the store table by table
//! and hands out the archive's bytes piece by piece, so a large profile streams to
//! a file or a browser download without being held in memory.

use zeroize::Zeroizing;

use super::chunk::{CHUNK_LEN, ChunkCipher};
use super::header::{Header, NONCE_PREFIX_LEN};
use super::moved::MOVED_TABLE;
use super::{ArchiveError, ExportReceipt, entry};
use crate::passphrase::{
    Argon2Params, KeyDerivation, PASSPHRASE_SALT_LEN, Passphrase, Salt, StorageKey,
};
use crate::store::Store;

/// Records read from the store at a time: few, since a value may be as large as
/// [`entry::MAX_VALUE_LEN`].
const PAGE: usize = 32;

/// The randomness one export needs, from the caller's RNG.
#[derive(Clone, Copy)]
pub struct ExportRandomness {
    /// Salt of the passphrase derivation.
    pub salt: [u8; PASSPHRASE_SALT_LEN],
    /// Prefix of every chunk nonce.
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
}

/// Writes one archive of a whole store. Call [`Exporter::next_bytes`] until it
/// returns `None`, writing each piece in order; then [`Exporter::receipt`].
pub struct Exporter<'s, S: Store + ?Sized> {
    store: &'s S,
    header: Option<Vec<u8>>,
    cipher: ChunkCipher,
    archive: ExportReceipt,
    tables: std::vec::IntoIter<String>,
    /// The table being walked, and the last key read from it.
    current: Option<(String, Option<Vec<u8>>)>,
    plaintext: Zeroizing<Vec<u8>>,
    table_count: u32,
    /// The end entry is in the plaintext.
    ended: bool,
    /// The final chunk was handed out.
    done: bool,
}

impl<S: Store + ?Sized> std::fmt::Debug for Exporter<'_, S> {
    // The exporter holds the chunk key and plaintext: show only its progress.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("records", &self.archive.records)
            .field("done", &self.done)
            .finish()
    }
}

impl<'s, S: Store + ?Sized> Exporter<'s, S> {
    /// Starts an export of `store` under `passphrase` (runs Argon2id once).
    /// Refuses an empty passphrase ([`Passphrase::check_chosen`]).
    pub fn new(
        store: &'s S,
        passphrase: &Passphrase,
        params: Argon2Params,
        randomness: ExportRandomness,
    ) -> Result<Self, ArchiveError> {
        passphrase.check_chosen()?;
        let derivation = KeyDerivation {
            params,
            salt: Salt(randomness.salt),
        };
        let (header, bytes) = Header::create(passphrase, &derivation, randomness.nonce_prefix)?;
        Self::start(store, header, bytes)
    }

    /// Starts an export of `store` under `key`, which `derivation` gave for the
    /// passphrase already (the browser derives in a worker).
    pub fn with_derived_key(
        store: &'s S,
        derivation: &KeyDerivation,
        key: &StorageKey,
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Result<Self, ArchiveError> {
        let (header, bytes) = Header::create_with_key(key, derivation, nonce_prefix)?;
        Self::start(store, header, bytes)
    }

    fn start(store: &'s S, header: Header, bytes: Vec<u8>) -> Result<Self, ArchiveError> {
        let mut tables = store.tables()?;
        tables.retain(|name| name != MOVED_TABLE.name());
        tables.sort();
        tables.dedup();
        Ok(Exporter {
            store,
            cipher: ChunkCipher::new(&header),
            archive: ExportReceipt {
                archive_id: header.id(),
                tables: 0,
                records: 0,
            },
            header: Some(bytes),
            tables: tables.into_iter(),
            current: None,
            plaintext: Zeroizing::new(Vec::with_capacity(2 * CHUNK_LEN)),
            table_count: 0,
            ended: false,
            done: false,
        })
    }

    /// The next piece of the archive: the header, then one sealed chunk at a time;
    /// `None` once the final chunk was handed out.
    pub fn next_bytes(&mut self) -> Result<Option<Vec<u8>>, ArchiveError> {
        if let Some(header) = self.header.take() {
            return Ok(Some(header));
        }
        if self.done {
            return Ok(None);
        }
        while self.plaintext.len() <= CHUNK_LEN && !self.ended {
            if !self.fill()? {
                entry::encode_end(&mut self.plaintext, self.table_count, self.archive.records);
                self.ended = true;
            }
        }
        if self.plaintext.len() > CHUNK_LEN {
            // More plaintext follows this chunk, so it is not the last.
            let chunk = self.cipher.seal(&self.plaintext[..CHUNK_LEN], false)?;
            self.plaintext.drain(..CHUNK_LEN);
            return Ok(Some(chunk));
        }
        let chunk = self.cipher.seal(&self.plaintext, true)?;
        self.plaintext.clear();
        self.done = true;
        self.archive.tables = self.table_count;
        Ok(Some(chunk))
    }

    /// What was exported, once [`Exporter::next_bytes`] has returned `None`.
    pub fn receipt(&self) -> Option<ExportReceipt> {
        (self.done && self.header.is_none()).then_some(self.archive)
    }

    /// Reads the next page of records into the plaintext; false when every table
    /// has been read.
    fn fill(&mut self) -> Result<bool, ArchiveError> {
        loop {
            if self.current.is_none() {
                match self.tables.next() {
                    Some(name) => self.current = Some((name, None)),
                    None => return Ok(false),
                }
            }
            let Some((name, after)) = &mut self.current else {
                continue;
            };
            let page = self.store.records_after(name, after.as_deref(), PAGE)?;
            let Some(last) = page.last() else {
                self.current = None;
                continue;
            };
            if after.is_none() {
                entry::encode_table(&mut self.plaintext, name)?;
                self.table_count = self
                    .table_count
                    .checked_add(1)
                    .ok_or(ArchiveError::Malformed("too many tables"))?;
            }
            *after = Some(last.key.clone());
            for record in &page {
                entry::encode_record(&mut self.plaintext, record)?;
            }
            self.archive.records += page.len() as u64;
            return Ok(true);
        }
    }
}
