//! Reading an archive: a push-based reader that takes the archive's bytes in
//! pieces of any size and hands back the records of each authenticated chunk.

use super::chunk::{ChunkCipher, FINAL, FRAME_HEADER_LEN, MAX_SEALED_LEN, MORE, TAG_LEN};
use super::entry::EntryParser;
use super::header::{Credential, HEADER_LEN, Header, MAGIC, PREAMBLE_LEN};
use super::{ArchiveError, ArchiveId, ArchiveSummary, ImportedRecord};
use crate::passphrase::{Passphrase, StorageKey};
use crate::store::Store;

/// Reads one archive. Records come out chunk by chunk, each from an authenticated
/// chunk, but the archive as a whole is verified only when
/// [`ArchiveReader::finish`] succeeds: import into a staging store and adopt it
/// only then (or use [`import_archive`], which verifies everything first).
pub struct ArchiveReader {
    credential: Credential,
    state: State,
    /// The incomplete tail of the bytes pushed so far: less than a header or
    /// one chunk.
    pending: Vec<u8>,
    entries: EntryParser,
}

impl std::fmt::Debug for ArchiveReader {
    // The reader holds the passphrase and the chunk key: show only its stage.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stage = match self.state {
            State::Header => "header",
            State::Chunks { .. } => "chunks",
            State::Done { .. } => "done",
            State::Failed => "failed",
        };
        f.debug_struct("ArchiveReader")
            .field("stage", &stage)
            .finish()
    }
}

enum State {
    Header,
    Chunks {
        cipher: ChunkCipher,
        id: ArchiveId,
    },
    Done {
        id: ArchiveId,
        tables: u32,
        records: u64,
    },
    Failed,
}

impl ArchiveReader {
    /// A reader for an archive written under `passphrase`.
    pub fn new(passphrase: Passphrase) -> ArchiveReader {
        Self::opened_by(Credential::Passphrase(passphrase))
    }

    /// A reader for an archive whose key was derived already: `key` is what
    /// the archive's [`super::archive_key_derivation`] gives for its
    /// passphrase. Any other key reads as a wrong passphrase.
    pub fn with_derived_key(key: StorageKey) -> ArchiveReader {
        Self::opened_by(Credential::DerivedKey(key))
    }

    fn opened_by(credential: Credential) -> ArchiveReader {
        ArchiveReader {
            credential,
            state: State::Header,
            pending: Vec::new(),
            entries: EntryParser::default(),
        }
    }

    /// Takes the next bytes of the archive; returns the records they completed.
    /// The first call that completes the header runs Argon2id. After an error the
    /// reader is unusable.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<ImportedRecord>, ArchiveError> {
        if matches!(self.state, State::Failed) {
            return Err(ArchiveError::Unusable);
        }
        let result = self.consume(bytes);
        if result.is_err() {
            self.state = State::Failed;
            self.pending.clear();
        }
        result
    }

    /// Ends the archive: `Ok` only if the final chunk was read and nothing follows.
    pub fn finish(self) -> Result<ArchiveSummary, ArchiveError> {
        match self.state {
            State::Done {
                id,
                tables,
                records,
            } => Ok(ArchiveSummary {
                archive_id: id,
                tables,
                records,
            }),
            State::Failed => Err(ArchiveError::Unusable),
            State::Header
                if !MAGIC.starts_with(&self.pending[..self.pending.len().min(MAGIC.len())]) =>
            {
                Err(ArchiveError::NotAnArchive)
            }
            State::Header | State::Chunks { .. } => Err(ArchiveError::Truncated),
        }
    }

    fn consume(&mut self, bytes: &[u8]) -> Result<Vec<ImportedRecord>, ArchiveError> {
        if let State::Done { .. } = self.state {
            return if bytes.is_empty() {
                Ok(Vec::new())
            } else {
                Err(ArchiveError::TrailingData)
            };
        }
        // Work on the caller's bytes directly unless a piece is left over from
        // the last push: a whole archive in one push is not copied.
        let mut buffer = std::mem::take(&mut self.pending);
        let input: &[u8] = if buffer.is_empty() {
            bytes
        } else {
            buffer.extend_from_slice(bytes);
            &buffer
        };
        let mut records = Vec::new();
        let used = self.process(input, &mut records)?;
        self.pending = input[used..].to_vec();
        Ok(records)
    }

    /// Reads the header and every complete chunk of `input`; the bytes used.
    fn process(
        &mut self,
        input: &[u8],
        records: &mut Vec<ImportedRecord>,
    ) -> Result<usize, ArchiveError> {
        let mut at = 0;
        loop {
            let rest = &input[at..];
            match &mut self.state {
                State::Header => {
                    let seen = rest.len().min(MAGIC.len());
                    if !MAGIC.starts_with(&rest[..seen]) {
                        return Err(ArchiveError::NotAnArchive);
                    }
                    if rest.len() >= PREAMBLE_LEN {
                        Header::check_preamble(rest)?;
                    }
                    let Some(header) = rest.first_chunk::<HEADER_LEN>() else {
                        return Ok(at);
                    };
                    let header = Header::open(header, &self.credential)?;
                    self.state = State::Chunks {
                        cipher: ChunkCipher::new(&header),
                        id: header.id(),
                    };
                    at += HEADER_LEN;
                }
                State::Chunks { cipher, id } => {
                    let Some(frame) = rest.first_chunk::<FRAME_HEADER_LEN>() else {
                        return Ok(at);
                    };
                    let flag = frame[0];
                    let length = u32::from_be_bytes([frame[1], frame[2], frame[3], frame[4]]);
                    let length = usize::try_from(length).unwrap_or(usize::MAX);
                    if (flag != MORE && flag != FINAL)
                        || !(TAG_LEN..=MAX_SEALED_LEN).contains(&length)
                    {
                        return Err(ArchiveError::Tampered(cipher.counter()));
                    }
                    let Some(sealed) = rest.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + length) else {
                        return Ok(at);
                    };
                    let plaintext = cipher.open(flag, sealed)?;
                    records.extend(self.entries.push(&plaintext)?);
                    at += FRAME_HEADER_LEN + length;
                    if flag == FINAL {
                        let (tables, records_in_archive) = self.entries.finish()?;
                        self.state = State::Done {
                            id: *id,
                            tables,
                            records: records_in_archive,
                        };
                        if at != input.len() {
                            return Err(ArchiveError::TrailingData);
                        }
                        return Ok(at);
                    }
                }
                State::Done { .. } | State::Failed => return Ok(at),
            }
        }
    }
}

/// Imports a whole archive held in memory into `target`, which must be empty.
/// Every chunk is verified before the first record is written: a wrong
/// passphrase, a truncated, reordered or modified archive imports nothing.
pub fn import_archive<S: Store + ?Sized>(
    archive: &[u8],
    passphrase: Passphrase,
    target: &mut S,
) -> Result<ArchiveSummary, ArchiveError> {
    import_with(archive, ArchiveReader::new(passphrase), target)
}

/// [`import_archive`] with the key derived already (see
/// [`ArchiveReader::with_derived_key`]).
pub fn import_archive_with_key<S: Store + ?Sized>(
    archive: &[u8],
    key: StorageKey,
    target: &mut S,
) -> Result<ArchiveSummary, ArchiveError> {
    import_with(archive, ArchiveReader::with_derived_key(key), target)
}

fn import_with<S: Store + ?Sized>(
    archive: &[u8],
    mut reader: ArchiveReader,
    target: &mut S,
) -> Result<ArchiveSummary, ArchiveError> {
    if !target.tables()?.is_empty() {
        return Err(ArchiveError::TargetNotEmpty);
    }
    let records = reader.push(archive)?;
    let summary = reader.finish()?;
    for imported in records {
        target.import_record(&imported.table, imported.record)?;
    }
    Ok(summary)
}
