//! A download: each chunk fetched in pieces (FGET) into the client's own
//! store, its digest checked, the file decrypted once every chunk is there,
//! then FACK for every chunk. A shared download (a group's file, whose one
//! download id per chunk every member holds) never acknowledges: one
//! member's FACK would take the chunk from the others; its chunks stay
//! until their TTL or the sender's FDEL.
//!
//! Record (big-endian):
//!
//! ```text
//! version u8 (0x01; 0x02: shared) || description_len u32
//!      || description (the file description's encoding)
//!      || failure u8 (0 none, else TransferFailure code) || decrypted u8
//!      || count u16 (the description's chunk count) || count × chunk
//! chunk = received u32 || flags u8 (bit 0 done, bit 1 fetched again, bit 2 acknowledged)
//!      || attempts u32 || not_before u64
//! ```

use sotto_wire::{ChunkDigest, ChunkSize, DownloadId, QueueAuthSecret, RelayAddress};

use super::{Busy, Retry, TransferFailure};
use crate::codec::Reader;
use crate::{FileDescription, FileError};

const VERSION: u8 = 1;
/// The version byte of a shared download's record.
const SHARED_VERSION: u8 = 2;
const DONE: u8 = 1;
const REFETCHED: u8 = 2;
const ACKED: u8 = 4;

/// The longest description a download record holds (4096 chunks of at most
/// about 600 bytes each).
const MAX_DESCRIPTION_LEN: usize = 4 * 1024 * 1024;

#[derive(Clone, Copy, Default)]
struct DownloadChunk {
    received: u32,
    flags: u8,
    retry: Retry,
}

impl DownloadChunk {
    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// What to do next for a download.
#[derive(Clone)]
pub enum DownloadStep {
    /// FGET the chunk from byte `from` to its end, then check its digest.
    Get {
        /// The chunk's index in the file.
        chunk: usize,
        /// The relay that holds it.
        relay: RelayAddress,
        /// This recipient's id for it.
        download_id: DownloadId,
        /// This recipient's secret for it.
        secret: QueueAuthSecret,
        /// Its size class.
        size: ChunkSize,
        /// The digest it must have.
        digest: ChunkDigest,
        /// The bytes already kept from an earlier attempt.
        from: u32,
    },
    /// Every chunk is kept and checked: decrypt the file, then report
    /// [`Download::handle_decrypted`].
    Decrypt,
    /// FACK: this recipient is done with the chunk.
    Ack {
        /// The chunk's index in the file.
        chunk: usize,
        /// The relay that holds it.
        relay: RelayAddress,
        /// This recipient's id for it.
        download_id: DownloadId,
        /// This recipient's secret for it.
        secret: QueueAuthSecret,
    },
}

/// One file being downloaded.
#[derive(Clone)]
pub struct Download {
    description: FileDescription,
    failure: Option<TransferFailure>,
    decrypted: bool,
    decrypting: bool,
    /// Never acknowledged (a group's file).
    shared: bool,
    chunks: Vec<DownloadChunk>,
    busy: Busy,
}

impl Download {
    /// A download of the file `description` describes.
    pub fn new(description: FileDescription) -> Download {
        let count = description.chunks.len();
        Download {
            description,
            failure: None,
            decrypted: false,
            decrypting: false,
            shared: false,
            chunks: vec![DownloadChunk::default(); count],
            busy: Busy::new(count),
        }
    }

    /// A download of a file whose chunks other recipients fetch with the
    /// same ids (a group's file): it never acknowledges a chunk.
    pub fn shared(description: FileDescription) -> Download {
        Download {
            shared: true,
            ..Download::new(description)
        }
    }

    /// Whether this download leaves its chunks on the relays for others.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The file's description.
    pub fn description(&self) -> &FileDescription {
        &self.description
    }

    /// The steps to start now (Unix ms): chunk fetches, at most
    /// [`super::PARALLEL_CHUNKS`] at once; then the decryption; then the
    /// acknowledgements (also after a failure, to free the relays), unless
    /// the download is shared.
    pub fn next_steps(&mut self, now: u64) -> Vec<DownloadStep> {
        let mut steps = Vec::new();
        let fetched = self.chunks.iter().all(|chunk| chunk.has(DONE));
        if self.failure.is_none() && !fetched {
            for (index, chunk) in self.chunks.iter().enumerate() {
                if steps.len() >= self.busy.room() {
                    break;
                }
                if chunk.has(DONE) || self.busy.is_busy(index) || !chunk.retry.ready(now) {
                    continue;
                }
                if let Some(described) = self.description.chunks.get(index) {
                    steps.push(DownloadStep::Get {
                        chunk: index,
                        relay: described.relay.clone(),
                        download_id: described.download_id,
                        secret: described.download_secret.clone(),
                        size: described.size,
                        digest: described.digest,
                        from: chunk.received,
                    });
                }
            }
        } else if self.failure.is_none() && !self.decrypted {
            if !self.decrypting {
                self.decrypting = true;
                steps.push(DownloadStep::Decrypt);
            }
        } else if !self.shared {
            for (index, chunk) in self.chunks.iter().enumerate() {
                if steps.len() >= self.busy.room() {
                    break;
                }
                if chunk.has(ACKED) || self.busy.is_busy(index) || !chunk.retry.ready(now) {
                    continue;
                }
                if let Some(described) = self.description.chunks.get(index) {
                    steps.push(DownloadStep::Ack {
                        chunk: index,
                        relay: described.relay.clone(),
                        download_id: described.download_id,
                        secret: described.download_secret.clone(),
                    });
                }
            }
        }
        for step in &steps {
            if let DownloadStep::Get { chunk, .. } | DownloadStep::Ack { chunk, .. } = step {
                self.busy.set(*chunk, true);
            }
        }
        steps
    }

    /// When the next waiting step may start, if one waits.
    pub fn next_wake(&self) -> Option<u64> {
        if self.shared && (self.decrypted || self.failure.is_some()) {
            return None;
        }
        self.chunks
            .iter()
            .filter(|chunk| !chunk.has(ACKED))
            .map(|chunk| chunk.retry.not_before())
            .min()
    }

    /// `received` bytes of the chunk are kept (progress; the step goes on).
    pub fn handle_received(&mut self, chunk: usize, received: u32) -> Result<(), FileError> {
        let size = self.chunk_size(chunk)?;
        self.chunk_mut(chunk)?.received = received.min(size);
        Ok(())
    }

    /// The whole chunk is kept and its digest is `digest`. A wrong digest
    /// sends the chunk to be fetched again from its start, once; the second
    /// time the file fails as tampered, and that failure is returned.
    pub fn handle_fetched(
        &mut self,
        chunk: usize,
        digest: ChunkDigest,
    ) -> Result<Option<TransferFailure>, FileError> {
        let expected = self
            .description
            .chunks
            .get(chunk)
            .map(|described| described.digest)
            .ok_or(FileError::MalformedDescription("chunk index"))?;
        self.busy.set(chunk, false);
        let slot = self.chunk_mut(chunk)?;
        slot.retry.reset();
        if digest == expected {
            slot.flags |= DONE;
            return Ok(None);
        }
        slot.received = 0;
        if slot.has(REFETCHED) {
            self.failure = Some(TransferFailure::Tampered);
            return Ok(self.failure);
        }
        slot.flags |= REFETCHED;
        Ok(None)
    }

    /// The check before decryption found that the client's copy does not
    /// hold these chunks as fetched (a crash lost bytes not yet on its
    /// disk; nothing is acknowledged before the check, so the relays still
    /// have them): they are fetched again, then the file is checked again.
    pub fn handle_copy_damaged(&mut self, chunks: &[usize]) -> Result<(), FileError> {
        if self.decrypted || self.failure.is_some() {
            return Err(FileError::MalformedDescription("chunk index"));
        }
        for &chunk in chunks {
            self.busy.set(chunk, false);
            let slot = self.chunk_mut(chunk)?;
            slot.flags &= !DONE;
            slot.received = 0;
            slot.retry.reset();
        }
        self.decrypting = false;
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

    /// The decryption's outcome: `false` fails the file as forged.
    pub fn handle_decrypted(&mut self, ok: bool) {
        self.decrypting = false;
        if ok {
            self.decrypted = true;
        } else {
            self.failure = Some(TransferFailure::Forged);
        }
    }

    /// FACK answered (or the relay no longer knows the chunk: as good).
    pub fn handle_acked(&mut self, chunk: usize) -> Result<(), FileError> {
        self.busy.set(chunk, false);
        let slot = self.chunk_mut(chunk)?;
        slot.flags |= ACKED;
        slot.retry.reset();
        Ok(())
    }

    /// The chunk's step failed at `now`: on the network (`gone` false: tried
    /// again later) or because the relay no longer knows the chunk (`gone`:
    /// a fetch fails the file, an acknowledgement is done).
    pub fn handle_error(&mut self, chunk: usize, now: u64, gone: bool) -> Result<(), FileError> {
        let fetching = self.failure.is_none() && !self.decrypted;
        self.busy.set(chunk, false);
        if gone && !fetching {
            return self.handle_acked(chunk);
        }
        let slot = self.chunk_mut(chunk)?;
        if gone {
            self.failure = Some(TransferFailure::Gone);
        } else if !slot.retry.failed(now) {
            if fetching {
                self.failure = Some(TransferFailure::Unreachable);
            } else {
                // Give up acknowledging: the chunk expires on the relay.
                slot.flags |= ACKED;
            }
        }
        Ok(())
    }

    /// The user cancelled, or the message was deleted.
    pub fn cancel(&mut self) {
        if !self.decrypted {
            self.failure = Some(TransferFailure::Cancelled);
        }
    }

    /// Why the download failed, if it did.
    pub fn failure(&self) -> Option<TransferFailure> {
        self.failure
    }

    /// Whether the file decrypted (every chunk kept and checked).
    pub fn is_received(&self) -> bool {
        self.decrypted
    }

    /// Whether nothing is left to do (received or failed, every chunk
    /// acknowledged unless the download is shared).
    pub fn is_finished(&self) -> bool {
        (self.decrypted || self.failure.is_some())
            && (self.shared || self.chunks.iter().all(|chunk| chunk.has(ACKED)))
    }

    /// Chunk bytes kept so far, and of all the chunks.
    pub fn progress(&self) -> (u64, u64) {
        let total = self
            .description
            .chunks
            .iter()
            .map(|c| u64::from(c.size.bytes()))
            .sum();
        let received = self
            .chunks
            .iter()
            .zip(&self.description.chunks)
            .map(|(chunk, described)| {
                if chunk.has(DONE) {
                    u64::from(described.size.bytes())
                } else {
                    u64::from(chunk.received)
                }
            })
            .sum();
        (received, total)
    }

    /// The record above.
    pub fn encode(&self) -> Result<Vec<u8>, FileError> {
        let description = self.description.encode()?;
        let mut out = Vec::with_capacity(12 + description.len() + self.chunks.len() * 17);
        out.push(if self.shared { SHARED_VERSION } else { VERSION });
        out.extend_from_slice(&(description.len() as u32).to_be_bytes());
        out.extend_from_slice(&description);
        out.push(self.failure.map_or(0, TransferFailure::code));
        out.push(u8::from(self.decrypted));
        // The description holds at most 4096 chunks.
        out.extend_from_slice(&(self.chunks.len() as u16).to_be_bytes());
        for chunk in &self.chunks {
            out.extend_from_slice(&chunk.received.to_be_bytes());
            out.push(chunk.flags);
            chunk.retry.encode(&mut out);
        }
        Ok(out)
    }

    /// Reads the record above, exactly.
    pub fn decode(bytes: &[u8]) -> Result<Download, FileError> {
        let mut reader = Reader::new(bytes, "download record");
        let shared = match reader.u8()? {
            VERSION => false,
            SHARED_VERSION => true,
            _ => return Err(FileError::MalformedDescription("download record")),
        };
        let description_len = reader.u32()? as usize;
        if description_len > MAX_DESCRIPTION_LEN {
            return Err(FileError::MalformedDescription("download record"));
        }
        let description = FileDescription::decode(reader.take(description_len)?)?;
        let failure = match reader.u8()? {
            0 => None,
            code => Some(TransferFailure::from_code(code)?),
        };
        let decrypted = reader.u8()? != 0;
        let count = usize::from(reader.u16()?);
        if count != description.chunks.len() {
            return Err(FileError::MalformedDescription("download record"));
        }
        let mut chunks = Vec::with_capacity(count);
        for described in &description.chunks {
            let received = reader.u32()?.min(described.size.bytes());
            let flags = reader.u8()?;
            if flags & !(DONE | REFETCHED | ACKED) != 0 {
                return Err(FileError::MalformedDescription("download record"));
            }
            chunks.push(DownloadChunk {
                received,
                flags,
                retry: Retry::decode(&mut reader)?,
            });
        }
        if !reader.is_empty() {
            return Err(FileError::MalformedDescription("download record"));
        }
        Ok(Download {
            description,
            failure,
            decrypted,
            decrypting: false,
            shared,
            busy: Busy::new(chunks.len()),
            chunks,
        })
    }

    fn chunk_size(&self, chunk: usize) -> Result<u32, FileError> {
        self.description
            .chunks
            .get(chunk)
            .map(|described| described.size.bytes())
            .ok_or(FileError::MalformedDescription("chunk index"))
    }

    fn chunk_mut(&mut self, chunk: usize) -> Result<&mut DownloadChunk, FileError> {
        self.chunks
            .get_mut(chunk)
            .ok_or(FileError::MalformedDescription("chunk index"))
    }
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Download({} chunks)", self.chunks.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{encrypted_len, plan_chunks};
    use crate::transfer::{MAX_ATTEMPTS, PARALLEL_CHUNKS};
    use crate::{ChunkDescription, FileKey, FileNonce};

    fn description(size: u64) -> FileDescription {
        let relay: RelayAddress =
            "sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@127.0.0.1:7000"
                .parse()
                .unwrap();
        FileDescription {
            name: "notes.txt".into(),
            media_type: "text/plain".into(),
            size,
            key: FileKey::from_bytes([1; 32]),
            nonce: FileNonce::from_bytes([2; 19]),
            chunks: plan_chunks(encrypted_len(size).unwrap())
                .into_iter()
                .enumerate()
                .map(|(n, size)| ChunkDescription {
                    relay: relay.clone(),
                    download_id: DownloadId::from_bytes([n as u8; 24]),
                    download_secret: QueueAuthSecret::from_bytes([9; 32]),
                    size,
                    digest: ChunkDigest::from_bytes([n as u8; 32]),
                })
                .collect(),
        }
    }

    fn digest(n: usize) -> ChunkDigest {
        ChunkDigest::from_bytes([n as u8; 32])
    }

    #[test]
    fn chunks_are_fetched_decrypted_then_acknowledged() {
        let mut download = Download::new(description(30 * 1024 * 1024));
        let count = download.chunks.len();
        let mut decrypts = 0;
        let mut rounds = 0;
        while !download.is_finished() {
            rounds += 1;
            assert!(rounds < 30);
            let steps = download.next_steps(0);
            assert!(steps.len() <= PARALLEL_CHUNKS);
            for step in steps {
                match step {
                    DownloadStep::Get { chunk, from, .. } => {
                        assert_eq!(from, 0);
                        download.handle_received(chunk, 5).unwrap();
                        assert_eq!(download.handle_fetched(chunk, digest(chunk)), Ok(None));
                    }
                    DownloadStep::Decrypt => {
                        decrypts += 1;
                        assert!(download.next_steps(0).is_empty());
                        download.handle_decrypted(true);
                    }
                    DownloadStep::Ack { chunk, .. } => download.handle_acked(chunk).unwrap(),
                }
            }
        }
        assert_eq!(decrypts, 1);
        assert!(download.is_received());
        assert_eq!(download.progress().0, download.progress().1);
        assert_eq!(download.chunks.len(), count);
    }

    #[test]
    fn a_shared_download_never_acknowledges() {
        let mut download = Download::shared(description(10 * 1024 * 1024));
        assert!(download.is_shared());
        let mut rounds = 0;
        while !download.is_finished() {
            rounds += 1;
            assert!(rounds < 30);
            for step in download.next_steps(0) {
                match step {
                    DownloadStep::Get { chunk, .. } => {
                        assert_eq!(download.handle_fetched(chunk, digest(chunk)), Ok(None));
                    }
                    DownloadStep::Decrypt => download.handle_decrypted(true),
                    DownloadStep::Ack { .. } => panic!("a shared download acknowledged"),
                }
            }
        }
        assert!(download.is_received());
        assert_eq!(download.next_wake(), None);
        // Its record says so; a deleted message's clean-up has no step.
        let mut stored = Download::decode(&download.encode().unwrap()).unwrap();
        assert!(stored.is_shared() && stored.is_finished());
        stored.cancel();
        assert!(stored.next_steps(u64::MAX).is_empty());
        // A failed one neither.
        let mut failed = Download::shared(description(100));
        failed.next_steps(0);
        failed.handle_error(0, 0, true).unwrap();
        assert_eq!(failed.failure(), Some(TransferFailure::Gone));
        assert!(failed.is_finished() && failed.next_steps(u64::MAX).is_empty());
        // A pairwise download's record is unchanged.
        assert_eq!(
            Download::new(description(100)).encode().unwrap()[0],
            VERSION
        );
    }

    #[test]
    fn a_new_run_retries_at_once_and_the_attempts_still_count() {
        let mut download = Download::new(description(100));
        for _ in 0..5 {
            download.next_steps(0);
            download.handle_error(0, 0, false).unwrap();
        }
        // An outage left the chunk waiting 16 s.
        assert!(download.next_steps(15_000).is_empty());
        let mut resumed = Download::decode(&download.encode().unwrap()).unwrap();
        resumed.retry_now();
        assert!(matches!(
            resumed.next_steps(1)[..],
            [DownloadStep::Get { chunk: 0, .. }]
        ));
        resumed.handle_error(0, 1, false).unwrap();
        assert_eq!(resumed.next_wake(), Some(1 + 32_000));
    }

    #[test]
    fn chunks_lost_from_the_copy_are_fetched_again_before_the_check() {
        let mut download = Download::new(description(9 * 1024 * 1024));
        for step in download.next_steps(0) {
            if let DownloadStep::Get { chunk, .. } = step {
                download.handle_fetched(chunk, digest(chunk)).unwrap();
            }
        }
        assert!(matches!(
            download.next_steps(0)[..],
            [DownloadStep::Decrypt]
        ));
        download.handle_copy_damaged(&[1]).unwrap();
        assert!(matches!(
            download.next_steps(0)[..],
            [DownloadStep::Get { chunk: 1, .. }]
        ));
        download.handle_fetched(1, digest(1)).unwrap();
        assert!(matches!(
            download.next_steps(0)[..],
            [DownloadStep::Decrypt]
        ));
        download.handle_decrypted(true);
        // Once decrypted, nothing is fetched again.
        assert!(download.handle_copy_damaged(&[0]).is_err());
        // A record from before the crash resumes the same way.
        let resumed = Download::decode(&download.encode().unwrap()).unwrap();
        assert!(resumed.is_received());
    }

    #[test]
    fn a_wrong_digest_is_fetched_again_once_then_fails_the_file() {
        let mut download = Download::new(description(100));
        download.next_steps(0);
        download.handle_received(0, 65536).unwrap();
        assert_eq!(download.handle_fetched(0, digest(7)), Ok(None));
        assert!(matches!(
            download.next_steps(0)[..],
            [DownloadStep::Get {
                chunk: 0,
                from: 0,
                ..
            }]
        ));
        assert_eq!(
            download.handle_fetched(0, digest(7)),
            Ok(Some(TransferFailure::Tampered))
        );
        // The chunk is still acknowledged, to free the relay.
        assert!(matches!(
            download.next_steps(0)[..],
            [DownloadStep::Ack { chunk: 0, .. }]
        ));
        download.handle_error(0, 0, true).unwrap();
        assert!(download.is_finished());
        assert!(!download.is_received());
    }

    #[test]
    fn records_round_trip_and_errors_retry_then_fail() {
        let mut download = Download::new(description(3 * 1024 * 1024));
        download.next_steps(0);
        download.handle_received(1, 4000).unwrap();
        download.handle_error(1, 10, false).unwrap();
        let encoded = download.encode().unwrap();
        let mut resumed = Download::decode(&encoded).unwrap();
        assert_eq!(resumed.encode().unwrap(), encoded);
        let steps = resumed.next_steps(1_010);
        assert!(steps.iter().any(|step| matches!(
            step,
            DownloadStep::Get {
                chunk: 1,
                from: 4000,
                ..
            }
        )));
        for len in 0..encoded.len() {
            assert!(Download::decode(&encoded[..len]).is_err(), "{len}");
        }
        for _ in 0..MAX_ATTEMPTS {
            resumed.handle_error(0, 0, false).unwrap();
        }
        assert_eq!(resumed.failure(), Some(TransferFailure::Unreachable));
        let mut gone = Download::new(description(10));
        gone.next_steps(0);
        gone.handle_error(0, 0, true).unwrap();
        assert_eq!(gone.failure(), Some(TransferFailure::Gone));
    }
}
