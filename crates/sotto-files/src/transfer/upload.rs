//! An upload: the file's chunks, each created on a relay (FNEW), sent in
//! pieces (FPUT, resuming from FSTAT) and complete, then the description
//! each recipient gets; FDEL for every chunk when the message is deleted.
//!
//! Record (big-endian):
//!
//! ```text
//! 0x01 || file size u64 || file key (32) || nonce (19) || recipients u8 (1..=64)
//!      || failure u8 (0 none, else TransferFailure code)
//!      || count u16 (1..=4096) || count × chunk
//! chunk = address_len u16 || relay address || size class u8 || digest (32)
//!      || sent u32 || done u8 || attempts u32 || not_before u64
//!      || option(upload id (24) || upload secret (32)
//!                || recipients × (download id (24) || download secret (32)))
//! ```
//!
//! While the file is still being encrypted (only the first chunks' digests
//! are known, [`Upload::encrypting`]) the record is version `0x02`: the same,
//! with `encrypted u16` (the chunks whose digest is known, from the first;
//! the digests of the others are zeros) after `count`.

use sotto_wire::{
    ChunkDigest, ChunkSize, DownloadId, MAX_ADDRESS_LEN, MAX_DOWNLOADS, QueueAuthSecret,
    RelayAddress, UploadId,
};

use super::{Busy, Retry, TransferFailure};
use crate::codec::Reader;
use crate::layout::{encrypted_len, plan_chunks};
use crate::{
    ChunkDescription, FILE_NONCE_LEN, FileDescription, FileError, FileKey, FileNonce,
    MAX_DESCRIBED_CHUNKS,
};

const VERSION: u8 = 1;
const VERSION_ENCRYPTING: u8 = 2;

/// What FNEW gave for a chunk: the uploader's id and secret, and one
/// download id and secret per recipient, in order.
#[derive(Clone)]
pub struct ChunkIds {
    /// The uploader's id (FPUT, FSTAT, FDEL).
    pub upload_id: UploadId,
    /// The uploader's auth secret.
    pub upload_secret: QueueAuthSecret,
    /// Each recipient's download id and auth secret.
    pub downloads: Vec<(DownloadId, QueueAuthSecret)>,
}

#[derive(Clone)]
struct UploadChunk {
    relay: RelayAddress,
    size: ChunkSize,
    digest: ChunkDigest,
    sent: u32,
    done: bool,
    retry: Retry,
    ids: Option<ChunkIds>,
}

/// What to do next for an upload.
#[derive(Clone)]
pub enum UploadStep {
    /// FNEW on `relay`: a chunk of `size` with `digest` for `recipients`.
    Create {
        /// The chunk's index in the file.
        chunk: usize,
        /// The relay to create it on.
        relay: RelayAddress,
        /// Its size class.
        size: ChunkSize,
        /// Its digest.
        digest: ChunkDigest,
        /// How many download ids to ask for.
        recipients: usize,
    },
    /// FSTAT, then FPUT of the chunk's bytes from where the relay stands.
    Put {
        /// The chunk's index in the file.
        chunk: usize,
        /// The relay that holds it.
        relay: RelayAddress,
        /// The uploader's id.
        upload_id: UploadId,
        /// The uploader's secret.
        secret: QueueAuthSecret,
        /// Its size class.
        size: ChunkSize,
        /// Its digest.
        digest: ChunkDigest,
    },
}

/// An FDEL to send for a deleted upload.
#[derive(Clone)]
pub struct DeleteStep {
    /// The relay that holds the chunk.
    pub relay: RelayAddress,
    /// The uploader's id.
    pub upload_id: UploadId,
    /// The uploader's secret.
    pub secret: QueueAuthSecret,
}

/// One file being uploaded for `recipients` recipients.
#[derive(Clone)]
pub struct Upload {
    file_len: u64,
    key: FileKey,
    nonce: FileNonce,
    recipients: usize,
    failure: Option<TransferFailure>,
    chunks: Vec<UploadChunk>,
    /// Chunks whose digest is known, from the first (all once the file is
    /// encrypted); only they are created and sent.
    encrypted: usize,
    busy: Busy,
}

impl Upload {
    /// An upload of a file of `file_len` bytes encrypted under `key` and
    /// `nonce` into chunks with these `digests` (in order, as the encryptor
    /// made them), spread over `relays` in turn.
    pub fn new(
        key: FileKey,
        nonce: FileNonce,
        file_len: u64,
        digests: &[ChunkDigest],
        relays: &[RelayAddress],
        recipients: usize,
    ) -> Result<Upload, FileError> {
        let plan = plan_chunks(encrypted_len(file_len)?);
        if plan.len() != digests.len() {
            return Err(FileError::WrongLength);
        }
        Upload::build(key, nonce, file_len, digests, relays, recipients)
    }

    /// An upload of a file of `file_len` bytes still to be encrypted under
    /// `key` and `nonce`: its chunks go up as their digests come in
    /// ([`Upload::handle_encrypted`]), so the upload overlaps the encryption.
    pub fn encrypting(
        key: FileKey,
        nonce: FileNonce,
        file_len: u64,
        relays: &[RelayAddress],
        recipients: usize,
    ) -> Result<Upload, FileError> {
        let count = plan_chunks(encrypted_len(file_len)?).len();
        let zeros = vec![ChunkDigest::from_bytes([0; 32]); count];
        let mut upload = Upload::build(key, nonce, file_len, &zeros, relays, recipients)?;
        upload.encrypted = 0;
        Ok(upload)
    }

    fn build(
        key: FileKey,
        nonce: FileNonce,
        file_len: u64,
        digests: &[ChunkDigest],
        relays: &[RelayAddress],
        recipients: usize,
    ) -> Result<Upload, FileError> {
        let plan = plan_chunks(encrypted_len(file_len)?);
        if plan.len() != digests.len() || plan.len() > MAX_DESCRIBED_CHUNKS {
            return Err(FileError::WrongLength);
        }
        if relays.is_empty() || recipients == 0 || recipients > MAX_DOWNLOADS {
            return Err(FileError::MalformedDescription("upload"));
        }
        let chunks = plan
            .into_iter()
            .zip(digests)
            .zip(relays.iter().cycle())
            .map(|((size, digest), relay)| UploadChunk {
                relay: relay.clone(),
                size,
                digest: *digest,
                sent: 0,
                done: false,
                retry: Retry::default(),
                ids: None,
            })
            .collect::<Vec<_>>();
        Ok(Upload {
            file_len,
            key,
            nonce,
            recipients,
            failure: None,
            busy: Busy::new(chunks.len()),
            encrypted: chunks.len(),
            chunks,
        })
    }

    /// Chunk `chunk`, the next one, was encrypted: its digest. It may go up.
    pub fn handle_encrypted(&mut self, chunk: usize, digest: ChunkDigest) -> Result<(), FileError> {
        if chunk != self.encrypted {
            return Err(FileError::MalformedDescription("chunk index"));
        }
        self.chunk_mut(chunk)?.digest = digest;
        self.encrypted += 1;
        Ok(())
    }

    /// Every chunk waiting for a retry may be tried at once (a new run, which
    /// the user started, does not wait out the delays of an earlier one);
    /// the attempts made still count towards [`super::MAX_ATTEMPTS`].
    pub fn retry_now(&mut self) {
        for chunk in &mut self.chunks {
            chunk.retry.now();
        }
    }

    /// Chunks whose digest is known, from the first.
    pub fn encrypted_chunks(&self) -> usize {
        self.encrypted
    }

    /// Whether every chunk's digest is known (the file is encrypted).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted == self.chunks.len()
    }

    /// Chunk `chunk`'s digest, once known.
    pub fn digest(&self, chunk: usize) -> Option<ChunkDigest> {
        (chunk < self.encrypted)
            .then(|| self.chunks.get(chunk).map(|c| c.digest))
            .flatten()
    }

    /// The file key (to encrypt the file again after a restart).
    pub fn key(&self) -> &FileKey {
        &self.key
    }

    /// The file nonce.
    pub fn nonce(&self) -> FileNonce {
        self.nonce
    }

    /// The steps to start now (Unix ms), at most [`super::PARALLEL_CHUNKS`]
    /// under way at once; each is under way until its result comes back.
    pub fn next_steps(&mut self, now: u64) -> Vec<UploadStep> {
        let mut steps = Vec::new();
        if self.failure.is_some() {
            return steps;
        }
        for (index, chunk) in self.chunks.iter().enumerate() {
            if steps.len() >= self.busy.room() || index >= self.encrypted {
                break;
            }
            if chunk.done || self.busy.is_busy(index) || !chunk.retry.ready(now) {
                continue;
            }
            steps.push(match &chunk.ids {
                None => UploadStep::Create {
                    chunk: index,
                    relay: chunk.relay.clone(),
                    size: chunk.size,
                    digest: chunk.digest,
                    recipients: self.recipients,
                },
                Some(ids) => UploadStep::Put {
                    chunk: index,
                    relay: chunk.relay.clone(),
                    upload_id: ids.upload_id,
                    secret: ids.upload_secret.clone(),
                    size: chunk.size,
                    digest: chunk.digest,
                },
            });
        }
        for step in &steps {
            let (UploadStep::Create { chunk, .. } | UploadStep::Put { chunk, .. }) = step;
            self.busy.set(*chunk, true);
        }
        steps
    }

    /// When the next waiting step may start, if one waits.
    pub fn next_wake(&self) -> Option<u64> {
        self.chunks
            .iter()
            .filter(|chunk| !chunk.done)
            .map(|chunk| chunk.retry.not_before())
            .min()
    }

    /// FNEW answered: the chunk's ids (as many download ids as recipients).
    pub fn handle_created(&mut self, chunk: usize, ids: ChunkIds) -> Result<(), FileError> {
        let recipients = self.recipients;
        let slot = self.chunk_mut(chunk)?;
        if ids.downloads.len() != recipients {
            return Err(FileError::MalformedDescription("download ids"));
        }
        slot.ids = Some(ids);
        slot.retry.reset();
        self.busy.set(chunk, false);
        Ok(())
    }

    /// The relay holds `sent` bytes of the chunk (progress; the step goes on).
    pub fn handle_sent(&mut self, chunk: usize, sent: u32) -> Result<(), FileError> {
        let slot = self.chunk_mut(chunk)?;
        slot.sent = sent.min(slot.size.bytes());
        Ok(())
    }

    /// The chunk is complete on its relay.
    pub fn handle_stored(&mut self, chunk: usize) -> Result<(), FileError> {
        let slot = self.chunk_mut(chunk)?;
        slot.sent = slot.size.bytes();
        slot.done = true;
        slot.retry.reset();
        self.busy.set(chunk, false);
        Ok(())
    }

    /// The chunk's step failed at `now`: on the network (`gone` false, tried
    /// again later) or because the relay no longer knows the chunk (`gone`:
    /// created again, from the start).
    pub fn handle_error(&mut self, chunk: usize, now: u64, gone: bool) -> Result<(), FileError> {
        let slot = self.chunk_mut(chunk)?;
        if gone {
            slot.ids = None;
            slot.sent = 0;
        }
        let again = slot.retry.failed(now);
        self.busy.set(chunk, false);
        if !again {
            self.failure = Some(TransferFailure::Unreachable);
        }
        Ok(())
    }

    /// The user cancelled, or the message was deleted.
    pub fn cancel(&mut self) {
        self.failure = Some(TransferFailure::Cancelled);
    }

    /// Why the upload failed, if it did.
    pub fn failure(&self) -> Option<TransferFailure> {
        self.failure
    }

    /// Whether every chunk is complete on its relay.
    pub fn is_complete(&self) -> bool {
        self.chunks.iter().all(|chunk| chunk.done)
    }

    /// Bytes on the relays so far, and of all the chunks.
    pub fn progress(&self) -> (u64, u64) {
        let total = self.chunks.iter().map(|c| u64::from(c.size.bytes())).sum();
        let sent = self.chunks.iter().map(|c| u64::from(c.sent)).sum();
        (sent, total)
    }

    /// The file's length.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The description recipient `recipient` (0-based) gets, once every chunk
    /// is complete.
    pub fn description(
        &self,
        recipient: usize,
        name: &str,
        media_type: &str,
    ) -> Result<FileDescription, FileError> {
        if !self.is_encrypted() {
            return Err(FileError::MalformedDescription("upload not complete"));
        }
        let chunks = self
            .chunks
            .iter()
            .map(|chunk| {
                let (download_id, download_secret) = chunk
                    .ids
                    .as_ref()
                    .filter(|_| chunk.done)
                    .and_then(|ids| ids.downloads.get(recipient))
                    .cloned()
                    .ok_or(FileError::MalformedDescription("upload not complete"))?;
                Ok(ChunkDescription {
                    relay: chunk.relay.clone(),
                    download_id,
                    download_secret,
                    size: chunk.size,
                    digest: chunk.digest,
                })
            })
            .collect::<Result<Vec<_>, FileError>>()?;
        let description = FileDescription {
            name: name.to_owned(),
            media_type: media_type.to_owned(),
            size: self.file_len,
            key: self.key.clone(),
            nonce: self.nonce,
            chunks,
        };
        // Checks the name and type bounds.
        description.encode()?;
        Ok(description)
    }

    /// The FDELs that remove every chunk created so far.
    pub fn delete_steps(&self) -> Vec<DeleteStep> {
        self.chunks
            .iter()
            .filter_map(|chunk| {
                chunk.ids.as_ref().map(|ids| DeleteStep {
                    relay: chunk.relay.clone(),
                    upload_id: ids.upload_id,
                    secret: ids.upload_secret.clone(),
                })
            })
            .collect()
    }

    /// The record above.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80 + self.chunks.len() * 160);
        out.push(if self.is_encrypted() {
            VERSION
        } else {
            VERSION_ENCRYPTING
        });
        out.extend_from_slice(&self.file_len.to_be_bytes());
        out.extend_from_slice(self.key.as_bytes());
        out.extend_from_slice(self.nonce.as_bytes());
        // At most MAX_DOWNLOADS (64) recipients and 4096 chunks, checked in `new`.
        out.push(self.recipients as u8);
        out.push(self.failure.map_or(0, TransferFailure::code));
        out.extend_from_slice(&(self.chunks.len() as u16).to_be_bytes());
        if !self.is_encrypted() {
            out.extend_from_slice(&(self.encrypted as u16).to_be_bytes());
        }
        for chunk in &self.chunks {
            let address = chunk.relay.to_string();
            out.extend_from_slice(&(address.len() as u16).to_be_bytes());
            out.extend_from_slice(address.as_bytes());
            out.push(chunk.size.code());
            out.extend_from_slice(chunk.digest.as_bytes());
            out.extend_from_slice(&chunk.sent.to_be_bytes());
            out.push(u8::from(chunk.done));
            chunk.retry.encode(&mut out);
            match &chunk.ids {
                None => out.push(0),
                Some(ids) => {
                    out.push(1);
                    out.extend_from_slice(ids.upload_id.as_bytes());
                    out.extend_from_slice(ids.upload_secret.as_bytes());
                    for (id, secret) in &ids.downloads {
                        out.extend_from_slice(id.as_bytes());
                        out.extend_from_slice(secret.as_bytes());
                    }
                }
            }
        }
        out
    }

    /// Reads the record above, exactly.
    pub fn decode(bytes: &[u8]) -> Result<Upload, FileError> {
        let mut reader = Reader::new(bytes, "upload record");
        let version = reader.u8()?;
        if version != VERSION && version != VERSION_ENCRYPTING {
            return Err(FileError::MalformedDescription("upload record"));
        }
        let file_len = reader.u64()?;
        let key = FileKey::from_bytes(reader.array()?);
        let nonce = FileNonce::from_bytes(reader.array::<FILE_NONCE_LEN>()?);
        let recipients = usize::from(reader.u8()?);
        let failure = match reader.u8()? {
            0 => None,
            code => Some(TransferFailure::from_code(code)?),
        };
        let plan = plan_chunks(encrypted_len(file_len)?);
        let count = usize::from(reader.u16()?);
        if count != plan.len() || recipients == 0 || recipients > MAX_DOWNLOADS {
            return Err(FileError::MalformedDescription("upload record"));
        }
        let encrypted = match version {
            VERSION => count,
            _ => usize::from(reader.u16()?),
        };
        if encrypted > count || (version == VERSION_ENCRYPTING && encrypted == count) {
            return Err(FileError::MalformedDescription("upload record"));
        }
        let mut chunks = Vec::with_capacity(count);
        for planned in plan {
            let address_len = usize::from(reader.u16()?);
            if address_len == 0 || address_len > MAX_ADDRESS_LEN {
                return Err(FileError::MalformedDescription("relay address"));
            }
            let relay = std::str::from_utf8(reader.take(address_len)?)
                .ok()
                .and_then(|text| text.parse::<RelayAddress>().ok())
                .ok_or(FileError::MalformedDescription("relay address"))?;
            let size = ChunkSize::from_code(reader.u8()?)
                .ok()
                .filter(|size| *size == planned)
                .ok_or(FileError::MalformedDescription("chunk sizes"))?;
            let digest = ChunkDigest::from_bytes(reader.array()?);
            let sent = reader.u32()?.min(size.bytes());
            let done = reader.u8()? != 0;
            let retry = Retry::decode(&mut reader)?;
            let ids = match reader.u8()? {
                0 => None,
                _ => Some(ChunkIds {
                    upload_id: UploadId::from_bytes(reader.array()?),
                    upload_secret: QueueAuthSecret::from_bytes(reader.array()?),
                    downloads: (0..recipients)
                        .map(|_| {
                            Ok((
                                DownloadId::from_bytes(reader.array()?),
                                QueueAuthSecret::from_bytes(reader.array()?),
                            ))
                        })
                        .collect::<Result<_, FileError>>()?,
                }),
            };
            // A chunk not encrypted yet was never created.
            if chunks.len() >= encrypted && (done || ids.is_some()) {
                return Err(FileError::MalformedDescription("upload record"));
            }
            chunks.push(UploadChunk {
                relay,
                size,
                digest,
                sent,
                done: done && ids.is_some(),
                retry,
                ids,
            });
        }
        if !reader.is_empty() {
            return Err(FileError::MalformedDescription("upload record"));
        }
        Ok(Upload {
            file_len,
            key,
            nonce,
            recipients,
            failure,
            busy: Busy::new(chunks.len()),
            encrypted,
            chunks,
        })
    }

    fn chunk_mut(&mut self, chunk: usize) -> Result<&mut UploadChunk, FileError> {
        self.chunks
            .get_mut(chunk)
            .ok_or(FileError::MalformedDescription("chunk index"))
    }
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upload({} chunks)", self.chunks.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::{MAX_ATTEMPTS, PARALLEL_CHUNKS};

    fn relay(port: u16) -> RelayAddress {
        format!("sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@127.0.0.1:{port}")
            .parse()
            .unwrap()
    }

    fn upload(file_len: u64) -> Upload {
        let count = plan_chunks(encrypted_len(file_len).unwrap()).len();
        let digests: Vec<_> = (0..count)
            .map(|n| ChunkDigest::from_bytes([n as u8; 32]))
            .collect();
        Upload::new(
            FileKey::from_bytes([1; 32]),
            FileNonce::from_bytes([2; 19]),
            file_len,
            &digests,
            &[relay(7000), relay(7001)],
            2,
        )
        .unwrap()
    }

    fn ids(seed: u8) -> ChunkIds {
        ChunkIds {
            upload_id: UploadId::from_bytes([seed; 24]),
            upload_secret: QueueAuthSecret::from_bytes([seed; 32]),
            downloads: vec![
                (
                    DownloadId::from_bytes([seed + 1; 24]),
                    QueueAuthSecret::from_bytes([3; 32]),
                ),
                (
                    DownloadId::from_bytes([seed + 2; 24]),
                    QueueAuthSecret::from_bytes([4; 32]),
                ),
            ],
        }
    }

    fn chunk_of(step: &UploadStep) -> usize {
        match step {
            UploadStep::Create { chunk, .. } | UploadStep::Put { chunk, .. } => *chunk,
        }
    }

    #[test]
    fn chunks_go_up_as_they_are_encrypted_and_the_record_says_how_far() {
        let file_len = 9 * 1024 * 1024;
        let mut upload = Upload::encrypting(
            FileKey::from_bytes([1; 32]),
            FileNonce::from_bytes([2; 19]),
            file_len,
            &[relay(7000)],
            1,
        )
        .unwrap();
        assert!(upload.next_steps(0).is_empty(), "nothing is encrypted yet");
        assert!(
            upload
                .handle_encrypted(1, ChunkDigest::from_bytes([9; 32]))
                .is_err()
        );
        upload
            .handle_encrypted(0, ChunkDigest::from_bytes([5; 32]))
            .unwrap();
        let steps = upload.next_steps(0);
        assert!(
            matches!(steps[..], [UploadStep::Create { chunk: 0, digest, .. }] if digest == ChunkDigest::from_bytes([5; 32]))
        );
        assert!(upload.description(0, "a", "").is_err());
        // The record keeps how far the encryption got, and resumes there.
        let record = upload.encode();
        assert_eq!(record[0], VERSION_ENCRYPTING);
        let mut resumed = Upload::decode(&record).unwrap();
        assert_eq!(resumed.encrypted_chunks(), 1);
        assert_eq!(resumed.digest(0), Some(ChunkDigest::from_bytes([5; 32])));
        assert_eq!(resumed.digest(1), None);
        for chunk in 1..resumed.chunks.len() {
            resumed
                .handle_encrypted(chunk, ChunkDigest::from_bytes([chunk as u8; 32]))
                .unwrap();
        }
        assert!(resumed.is_encrypted());
        // Once encrypted, the record is the first version's, byte for byte.
        assert_eq!(resumed.encode()[0], VERSION);
        assert_eq!(
            Upload::decode(&resumed.encode()).unwrap().encode(),
            resumed.encode()
        );
    }

    #[test]
    fn chunks_are_created_put_and_described_a_few_at_a_time() {
        // 6 chunks of 4 MiB and one more.
        let mut upload = upload(24 * 1024 * 1024);
        let count = upload.chunks.len();
        let steps = upload.next_steps(0);
        assert_eq!(steps.len(), PARALLEL_CHUNKS);
        assert!(upload.next_steps(0).is_empty(), "all slots are busy");
        for step in steps {
            let UploadStep::Create {
                chunk,
                relay: at,
                recipients,
                ..
            } = step
            else {
                panic!("create first")
            };
            assert_eq!(recipients, 2);
            assert_eq!(at, relay(7000 + (chunk % 2) as u16));
            upload.handle_created(chunk, ids(chunk as u8 * 3)).unwrap();
        }
        assert!(upload.description(0, "a", "b").is_err());
        let mut rounds = 0;
        while !upload.is_complete() {
            rounds += 1;
            assert!(rounds < 20);
            for step in upload.next_steps(0) {
                let chunk = chunk_of(&step);
                match step {
                    UploadStep::Create { .. } => {
                        upload.handle_created(chunk, ids(chunk as u8 * 3)).unwrap()
                    }
                    UploadStep::Put { .. } => upload.handle_stored(chunk).unwrap(),
                }
            }
        }
        let (sent, total) = upload.progress();
        assert_eq!(sent, total);
        let description = upload
            .description(1, "movie.mkv", "video/x-matroska")
            .unwrap();
        assert_eq!(description.chunks.len(), count);
        assert_eq!(
            description.chunks[2].download_id,
            DownloadId::from_bytes([8; 24])
        );
        assert_eq!(upload.delete_steps().len(), count);
    }

    #[test]
    fn records_round_trip_and_resume_where_they_stood() {
        let mut upload = upload(5 * 1024 * 1024);
        let steps = upload.next_steps(0);
        upload.handle_created(chunk_of(&steps[0]), ids(10)).unwrap();
        upload.handle_sent(chunk_of(&steps[0]), 1000).unwrap();
        upload.handle_error(chunk_of(&steps[1]), 50, false).unwrap();
        let encoded = upload.encode();
        let mut resumed = Upload::decode(&encoded).unwrap();
        assert_eq!(resumed.encode(), encoded);
        assert_eq!(resumed.progress().0, 1000);
        // After a restart nothing is under way: the created chunk is put,
        // the failed one waits for its delay.
        let steps = resumed.next_steps(100);
        assert!(matches!(steps[0], UploadStep::Put { chunk: 0, .. }));
        assert!(steps.iter().all(|step| chunk_of(step) != 1));
        assert_eq!(resumed.next_wake(), Some(0));
        for len in 0..encoded.len() {
            assert!(Upload::decode(&encoded[..len]).is_err(), "{len}");
        }
    }

    #[test]
    fn a_chunk_the_relay_lost_is_created_again_and_errors_end_in_failure() {
        let mut upload = upload(10);
        upload.next_steps(0);
        upload.handle_created(0, ids(1)).unwrap();
        upload.next_steps(0);
        upload.handle_error(0, 0, true).unwrap();
        assert!(matches!(
            upload.next_steps(5_000)[..],
            [UploadStep::Create { chunk: 0, .. }]
        ));
        for _ in 0..MAX_ATTEMPTS {
            upload.handle_error(0, 0, false).unwrap();
        }
        assert_eq!(upload.failure(), Some(TransferFailure::Unreachable));
        assert!(upload.next_steps(u64::MAX).is_empty());
        assert!(upload.handle_stored(9).is_err());
    }
}
