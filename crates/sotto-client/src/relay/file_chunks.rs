//! Typed file chunk commands on a [`RelayConnection`]: create a chunk, upload
//! it in pieces (resuming where the relay stands), read its status, download
//! it in pieces, delete it (its uploader) or acknowledge it (a recipient), and
//! ask the relay's file limits.
//!
//! Pieces are pipelined: up to a window of FPUTs or FGETs is in flight at
//! once, so a chunk does not wait a round trip per piece, and at most one
//! chunk (4 MiB) is held in memory.

use std::collections::VecDeque;
use std::fmt;

use sotto_wire::{
    ChunkDigest, ChunkSize, Command, DownloadId, DownloadKeys, ErrorCode, FilePiece, MAX_DOWNLOADS,
    MAX_PIECE_LEN, QueueAuthSecret, Response, ServerPassword, UploadId, WireError,
};

use crate::ClientError;
use crate::relay::commands::{PendingOk, expect_ok, refusal};
use crate::relay::queue::random_auth_secret;
use crate::relay::{PendingResponse, RelayConnection};

/// Pieces in flight at once by default: 64 pieces, about 1 MiB.
pub const DEFAULT_PIECE_WINDOW: usize = 64;

/// A chunk as its uploader holds it: the upload id, the key that authorizes
/// FPUT, FSTAT and FDEL, the size class and the digest. `Debug` prints none.
pub struct ChunkUpload {
    upload_id: UploadId,
    auth_key: QueueAuthSecret,
    size: ChunkSize,
    digest: ChunkDigest,
}

impl ChunkUpload {
    /// A chunk from what FNEW made (or what was stored to resume later).
    pub fn new(
        upload_id: UploadId,
        auth_key: QueueAuthSecret,
        size: ChunkSize,
        digest: ChunkDigest,
    ) -> ChunkUpload {
        ChunkUpload {
            upload_id,
            auth_key,
            size,
            digest,
        }
    }

    /// The chunk's upload id.
    pub fn upload_id(&self) -> UploadId {
        self.upload_id
    }

    /// The secret that authorizes the uploader's commands.
    pub fn auth_key(&self) -> &QueueAuthSecret {
        &self.auth_key
    }

    /// The chunk's size class.
    pub fn size(&self) -> ChunkSize {
        self.size
    }

    /// The digest the chunk must have.
    pub fn digest(&self) -> ChunkDigest {
        self.digest
    }
}

impl fmt::Debug for ChunkUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChunkUpload(..)")
    }
}

/// A chunk as one recipient holds it (from the file description): the
/// download id, the key that authorizes FGET and FACK, the size class and the
/// digest. `Debug` prints none.
pub struct ChunkDownload {
    download_id: DownloadId,
    auth_key: QueueAuthSecret,
    size: ChunkSize,
    digest: ChunkDigest,
}

impl ChunkDownload {
    /// A recipient's chunk.
    pub fn new(
        download_id: DownloadId,
        auth_key: QueueAuthSecret,
        size: ChunkSize,
        digest: ChunkDigest,
    ) -> ChunkDownload {
        ChunkDownload {
            download_id,
            auth_key,
            size,
            digest,
        }
    }

    /// The recipient's id for the chunk.
    pub fn download_id(&self) -> DownloadId {
        self.download_id
    }

    /// The secret that authorizes the recipient's commands.
    pub fn auth_key(&self) -> &QueueAuthSecret {
        &self.auth_key
    }
}

impl fmt::Debug for ChunkDownload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChunkDownload(..)")
    }
}

/// A chunk FNEW created: the uploader's part and one part per recipient.
#[derive(Debug)]
pub struct NewChunk {
    /// What the uploader keeps.
    pub upload: ChunkUpload,
    /// What each recipient is given, end to end, in the file description.
    pub downloads: Vec<ChunkDownload>,
}

/// Where an upload stands on the relay (FPOS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkStatus {
    /// Bytes the relay holds from the chunk's start.
    pub received: u32,
    /// Whether the chunk is complete (digest checked, on disk).
    pub complete: bool,
}

/// The relay's limits for files (FMAX).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimits {
    /// The largest file the relay accepts, in bytes (the sum of its chunks).
    pub max_file_size: u64,
    /// Seconds a chunk is kept after its upload.
    pub chunk_ttl_secs: u64,
}

impl RelayConnection {
    /// FNEW: creates a chunk of `size` whose content has `digest`, for
    /// `recipients` recipients (1 to [`MAX_DOWNLOADS`]), with fresh random
    /// keys; `password` when the relay requires one.
    pub async fn create_chunk(
        &self,
        size: ChunkSize,
        digest: ChunkDigest,
        recipients: usize,
        password: Option<&ServerPassword>,
    ) -> Result<NewChunk, ClientError> {
        if recipients == 0 || recipients > MAX_DOWNLOADS {
            return Err(ClientError::Protocol(WireError::LengthOutOfRange {
                field: "download keys",
            }));
        }
        let upload_key = random_auth_secret();
        let download_secrets: Vec<QueueAuthSecret> =
            (0..recipients).map(|_| random_auth_secret()).collect();
        let download_keys = DownloadKeys::new(
            download_secrets
                .iter()
                .map(QueueAuthSecret::public_key)
                .collect(),
        )?;
        let command = Command::FileNew {
            upload_auth_key: upload_key.public_key(),
            size,
            digest,
            password: password.cloned(),
            download_keys,
        };
        match self.request(&command, Some(&upload_key)).await? {
            Response::FileIds {
                upload_id,
                download_ids,
            } if download_ids.len() == download_secrets.len() => Ok(NewChunk {
                upload: ChunkUpload::new(upload_id, upload_key, size, digest),
                downloads: download_ids
                    .into_iter()
                    .zip(download_secrets)
                    .map(|(id, key)| ChunkDownload::new(id, key, size, digest))
                    .collect(),
            }),
            other => Err(refusal(other, "FNEW")),
        }
    }

    /// FPUT without waiting: await [`PendingOk::ok`] later. The piece that
    /// ends the chunk is answered once the chunk is complete and on disk.
    pub async fn submit_piece(
        &self,
        upload: &ChunkUpload,
        offset: u32,
        piece: FilePiece,
    ) -> Result<PendingOk, ClientError> {
        let command = Command::FilePut {
            upload_id: upload.upload_id,
            offset,
            piece,
        };
        Ok(PendingOk::new(
            self.submit(&command, Some(&upload.auth_key)).await?,
        ))
    }

    /// FSTAT: how much of the chunk the relay holds.
    pub async fn chunk_status(&self, upload: &ChunkUpload) -> Result<ChunkStatus, ClientError> {
        let command = Command::FileStat {
            upload_id: upload.upload_id,
        };
        match self.request(&command, Some(&upload.auth_key)).await? {
            Response::FilePos {
                received, complete, ..
            } => Ok(ChunkStatus { received, complete }),
            other => Err(refusal(other, "FSTAT")),
        }
    }

    /// Uploads `chunk` (exactly the chunk's size) from where the relay stands
    /// (FSTAT), with up to `window` pieces in flight; returns once the chunk
    /// is complete on the relay. Call it again after a lost connection or a
    /// relay restart: it resumes.
    pub async fn upload_chunk(
        &self,
        upload: &ChunkUpload,
        chunk: &[u8],
        window: usize,
    ) -> Result<(), ClientError> {
        let size = upload.size.bytes();
        if chunk.len() != size as usize {
            return Err(ClientError::ChunkSize);
        }
        let status = self.chunk_status(upload).await?;
        if status.complete {
            return Ok(());
        }
        // A chunk held whole but not complete (the relay stopped between the
        // two) is completed by sending its last piece again.
        let start = status.received.min(size.saturating_sub(1));
        let mut in_flight = VecDeque::new();
        for (offset, end) in pieces(start, size) {
            let piece = FilePiece::new(chunk[offset as usize..end as usize].to_vec())?;
            in_flight.push_back(self.submit_piece(upload, offset, piece).await?);
            if in_flight.len() >= window.max(1)
                && let Some(oldest) = in_flight.pop_front()
            {
                oldest.ok("FPUT").await?;
            }
        }
        while let Some(pending) = in_flight.pop_front() {
            pending.ok("FPUT").await?;
        }
        Ok(())
    }

    /// FGET without waiting: await [`PendingPiece::piece`] later.
    pub async fn submit_get_piece(
        &self,
        download: &ChunkDownload,
        offset: u32,
        len: u32,
    ) -> Result<PendingPiece, ClientError> {
        let command = Command::FileGet {
            download_id: download.download_id,
            offset,
            len,
        };
        let pending = self.submit(&command, Some(&download.auth_key)).await?;
        Ok(PendingPiece {
            pending,
            offset,
            len,
        })
    }

    /// Downloads the whole chunk with up to `window` pieces in flight and
    /// checks its digest.
    pub async fn download_chunk(
        &self,
        download: &ChunkDownload,
        window: usize,
    ) -> Result<Vec<u8>, ClientError> {
        let size = download.size.bytes();
        let mut chunk = Vec::with_capacity(size as usize);
        let mut in_flight = VecDeque::new();
        for (offset, end) in pieces(0, size) {
            in_flight.push_back(
                self.submit_get_piece(download, offset, end - offset)
                    .await?,
            );
            if in_flight.len() >= window.max(1)
                && let Some(oldest) = in_flight.pop_front()
            {
                chunk.extend_from_slice(oldest.piece().await?.as_bytes());
            }
        }
        while let Some(pending) = in_flight.pop_front() {
            chunk.extend_from_slice(pending.piece().await?.as_bytes());
        }
        if ChunkDigest::of(&chunk) != download.digest {
            return Err(ClientError::ChunkDigest);
        }
        Ok(chunk)
    }

    /// FDEL: deletes the chunk and every download id of it.
    pub async fn delete_chunk(&self, upload: &ChunkUpload) -> Result<(), ClientError> {
        let command = Command::FileDel {
            upload_id: upload.upload_id,
        };
        expect_ok(
            self.request(&command, Some(&upload.auth_key)).await?,
            "FDEL",
        )
    }

    /// FACK: this recipient is done with the chunk; its download id stops
    /// working.
    pub async fn ack_chunk(&self, download: &ChunkDownload) -> Result<(), ClientError> {
        let command = Command::FileAck {
            download_id: download.download_id,
        };
        expect_ok(
            self.request(&command, Some(&download.auth_key)).await?,
            "FACK",
        )
    }

    /// FLIM: the relay's limits for files.
    pub async fn file_limits(&self) -> Result<FileLimits, ClientError> {
        match self.request(&Command::FileLimits, None).await? {
            Response::FileLimits {
                max_file_size,
                chunk_ttl_secs,
            } => Ok(FileLimits {
                max_file_size,
                chunk_ttl_secs,
            }),
            other => Err(refusal(other, "FLIM")),
        }
    }
}

/// A submitted FGET.
#[derive(Debug)]
pub struct PendingPiece {
    pending: PendingResponse,
    offset: u32,
    len: u32,
}

impl PendingPiece {
    /// Waits for the piece; one that is not the piece asked for does not fit.
    pub async fn piece(self) -> Result<FilePiece, ClientError> {
        match self.pending.response().await? {
            Response::FileData { offset, piece, .. }
                if offset == self.offset && piece.len() == self.len as usize =>
            {
                Ok(piece)
            }
            Response::Err { code, .. } => Err(ClientError::Refused(code)),
            _ => Err(ClientError::UnexpectedResponse { command: "FGET" }),
        }
    }
}

/// The pieces from `start` to `size`: (offset, end) of at most
/// [`MAX_PIECE_LEN`] bytes each.
fn pieces(start: u32, size: u32) -> impl Iterator<Item = (u32, u32)> {
    let step = MAX_PIECE_LEN as u32;
    (start..size)
        .step_by(MAX_PIECE_LEN)
        .map(move |offset| (offset, offset.saturating_add(step).min(size)))
}

/// Whether a refusal means the chunk is gone (deleted, expired, never there).
pub fn is_gone(error: &ClientError) -> bool {
    matches!(error, ClientError::Refused(ErrorCode::Auth))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_rest_of_a_chunk() {
        let all: Vec<_> = pieces(0, 65536).collect();
        assert_eq!(all.len(), 5);
        assert_eq!(all[0], (0, 16256));
        assert_eq!(all[4], (65024, 65536));
        assert_eq!(pieces(65535, 65536).collect::<Vec<_>>(), [(65535, 65536)]);
        assert_eq!(pieces(65536, 65536).count(), 0);
    }
}
