//! The file chunk commands of a connection: FNEW, FPUT, FSTAT, FGET, FDEL,
//! FACK and FLIM.
//!
//! Like queues and links, a chunk that does not exist and a key that is not
//! the chunk's give the same ERR AUTH after the same work (one lookup, one
//! command key derived, one authenticator checked, with the dummy key when
//! the chunk is missing), and both count as failed authorizations. Pieces go
//! to the chunk's file as they come; the last one is checked against the
//! digest and synced off the connection's task, and its OK waits until the
//! chunk's completion is durable in the store.

use std::sync::Arc;

use rand::RngCore;
use sotto_wire::{
    Command, CorrId, DownloadId, EntityId, ErrorCode, FilePiece, Response, Transmission, UploadId,
};

use super::{AfterWrite, BlockInFlight, Session, Slot, id_as_pending, random_id};
use crate::chunk_files::PieceOutcome;
use crate::clock::unix_now;
use crate::metrics::Event;
use crate::store::{ChunkFile, ChunkRecord, WriteOp, WriteOutcome};

impl Session {
    /// Runs one file chunk command.
    pub(super) async fn execute_file(
        &mut self,
        command: Command,
        transmission: &Transmission,
        current: &mut BlockInFlight,
    ) -> Result<Slot, crate::Error> {
        let corr_id = transmission.corr_id;
        let entity = transmission.entity;
        let relay = Arc::clone(&self.relay);
        let refuse = |session: &Self, code| Ok(session.ready_error(corr_id, entity, code));
        match command {
            Command::FileNew {
                upload_auth_key,
                size,
                digest,
                password,
                download_keys,
            } => {
                let authorised = self.verify(transmission, Some(upload_auth_key.into()));
                if !(authorised && self.password_allowed(password.as_ref())) {
                    return refuse(self, ErrorCode::Auth);
                }
                self.authorized = true;
                // Download keys are not checked for low order here (up to 64
                // X25519 operations per FNEW): such a key authorizes nothing,
                // which harms only the uploader who chose it.
                let file = random_chunk_file();
                let files = Arc::clone(&relay.chunk_files);
                tokio::task::spawn_blocking(move || files.create(file))
                    .await
                    .map_err(|_| {
                        crate::Error::Storage("creating a chunk was interrupted".into())
                    })??;
                let upload_id = UploadId::from_bytes(random_id());
                let downloads: Vec<_> = download_keys
                    .as_slice()
                    .iter()
                    .map(|key| (DownloadId::from_bytes(random_id()), (*key).into()))
                    .collect();
                let download_ids = downloads.iter().map(|(id, _)| *id).collect();
                let record = ChunkRecord {
                    upload_key: upload_auth_key.into(),
                    size,
                    digest,
                    file,
                    since: unix_now(),
                    complete: false,
                    downloads,
                };
                let op = WriteOp::CreateChunk {
                    upload_id,
                    record: Box::new(record),
                };
                let then = AfterWrite::FileIds {
                    upload_id,
                    download_ids,
                    file,
                };
                self.write(corr_id, None, op, then).await
            }
            Command::FilePut {
                upload_id,
                offset,
                piece,
            } => {
                let Some(chunk) = self.authorise_upload(transmission, &upload_id)? else {
                    return refuse(self, ErrorCode::Auth);
                };
                self.put_piece(transmission, upload_id, chunk, (offset, piece), current)
                    .await
            }
            Command::FileStat { upload_id } => {
                let Some(chunk) = self.authorise_upload(transmission, &upload_id)? else {
                    return refuse(self, ErrorCode::Auth);
                };
                let received = if chunk.complete {
                    chunk.size.bytes()
                } else {
                    relay.chunk_files.received(chunk.file)?
                };
                let position = Response::FilePos {
                    upload_id,
                    received,
                    complete: chunk.complete,
                };
                Ok(Slot::Ready(vec![position.to_transmission(corr_id)]))
            }
            Command::FileGet {
                download_id,
                offset,
                len,
            } => {
                let Some(chunk) = self.authorise_download(transmission, &download_id)? else {
                    return refuse(self, ErrorCode::Auth);
                };
                if !chunk.complete {
                    return refuse(self, ErrorCode::Incomplete);
                }
                if u64::from(offset) + u64::from(len) > u64::from(chunk.size.bytes()) {
                    return refuse(self, ErrorCode::Offset);
                }
                let bytes = relay.chunk_files.read_piece(chunk.file, offset, len)?;
                let piece = FilePiece::new(bytes)
                    .map_err(|_| crate::Error::Storage("a chunk piece of a wrong length".into()))?;
                relay.metrics.count(Event::ChunkPieceSent);
                let data = Response::FileData {
                    download_id,
                    offset,
                    piece,
                };
                Ok(Slot::Ready(vec![data.to_transmission(corr_id)]))
            }
            Command::FileDel { upload_id } => {
                if self.authorise_upload(transmission, &upload_id)?.is_none() {
                    return refuse(self, ErrorCode::Auth);
                }
                current
                    .pending
                    .add(id_as_pending(upload_id.as_bytes()), false);
                let op = WriteOp::DeleteChunk { upload_id };
                self.write(corr_id, entity, op, AfterWrite::ChunkReleased)
                    .await
            }
            Command::FileAck { download_id } => {
                if self
                    .authorise_download(transmission, &download_id)?
                    .is_none()
                {
                    return refuse(self, ErrorCode::Auth);
                }
                current
                    .pending
                    .add(id_as_pending(download_id.as_bytes()), false);
                let op = WriteOp::AckChunk { download_id };
                self.write(corr_id, entity, op, AfterWrite::ChunkReleased)
                    .await
            }
            Command::FileLimits => {
                let limits = Response::FileLimits {
                    max_file_size: relay.file_limits.max_file_size,
                    chunk_ttl_secs: relay.file_limits.file_ttl_secs,
                };
                Ok(Slot::Ready(vec![limits.to_transmission(corr_id)]))
            }
            _ => refuse(self, ErrorCode::Cmd),
        }
    }

    /// FPUT on an authorised chunk: writes the piece; the piece that ends
    /// the chunk checks its digest and syncs it, then records it complete.
    async fn put_piece(
        &mut self,
        transmission: &Transmission,
        upload_id: UploadId,
        chunk: ChunkRecord,
        (offset, piece): (u32, FilePiece),
        current: &mut BlockInFlight,
    ) -> Result<Slot, crate::Error> {
        let (corr_id, entity) = (transmission.corr_id, transmission.entity);
        if chunk.complete {
            return Ok(self.ready_error(corr_id, entity, ErrorCode::Complete));
        }
        let files = Arc::clone(&self.relay.chunk_files);
        let size = chunk.size;
        let end = u64::from(offset) + piece.len() as u64;
        match files.write_piece(chunk.file, size, offset, piece.as_bytes())? {
            PieceOutcome::Gap | PieceOutcome::PastEnd => {
                Ok(self.ready_error(corr_id, entity, ErrorCode::Offset))
            }
            PieceOutcome::Received(received)
                if received == size.bytes() && end == u64::from(size.bytes()) =>
            {
                self.relay.metrics.count(Event::ChunkPieceReceived);
                let (file, digest) = (chunk.file, chunk.digest);
                let whole = tokio::task::spawn_blocking(move || files.finish(file, size, &digest))
                    .await
                    .map_err(|_| {
                        crate::Error::Storage("checking a chunk was interrupted".into())
                    })??;
                if !whole {
                    return Ok(self.ready_error(corr_id, entity, ErrorCode::Digest));
                }
                current
                    .pending
                    .add(id_as_pending(upload_id.as_bytes()), false);
                let op = WriteOp::CompleteChunk { upload_id };
                self.write(corr_id, entity, op, AfterWrite::ChunkCompleted(file))
                    .await
            }
            PieceOutcome::Received(_) => {
                self.relay.metrics.count(Event::ChunkPieceReceived);
                let ok = Response::Ok { entity }.to_transmission(corr_id);
                Ok(Slot::Ready(vec![ok]))
            }
        }
    }

    /// The chunk if it exists and the transmission is authorized by its
    /// upload key; a missing chunk is checked against the dummy key.
    fn authorise_upload(
        &mut self,
        transmission: &Transmission,
        upload_id: &UploadId,
    ) -> Result<Option<ChunkRecord>, crate::Error> {
        let chunk = self.relay.storage.chunk(upload_id, unix_now())?;
        let valid = self.verify(transmission, chunk.as_ref().map(|chunk| chunk.upload_key));
        self.authorized |= valid;
        Ok(chunk.filter(|_| valid))
    }

    /// The chunk if one of its download ids is this one and the transmission
    /// is authorized by that download's key; else checked against the dummy
    /// key.
    fn authorise_download(
        &mut self,
        transmission: &Transmission,
        download_id: &DownloadId,
    ) -> Result<Option<ChunkRecord>, crate::Error> {
        let chunk = self
            .relay
            .storage
            .chunk_by_download(download_id, unix_now())?;
        let key = chunk
            .as_ref()
            .and_then(|chunk| chunk.download_key(download_id));
        let valid = self.verify(transmission, key);
        self.authorized |= valid;
        Ok(chunk.filter(|_| valid))
    }

    /// The replies to a file chunk command once its write is done.
    pub(super) fn after_file_write(
        &self,
        corr_id: CorrId,
        entity: Option<EntityId>,
        outcome: WriteOutcome,
        then: AfterWrite,
    ) -> Result<Vec<Transmission>, crate::Error> {
        let relay = &self.relay;
        let ok = || vec![Response::Ok { entity }.to_transmission(corr_id)];
        Ok(match (outcome, then) {
            (
                WriteOutcome::Done,
                AfterWrite::FileIds {
                    upload_id,
                    download_ids,
                    ..
                },
            ) => {
                relay.metrics.count(Event::ChunkCreated);
                let ids = Response::FileIds {
                    upload_id,
                    download_ids,
                };
                vec![ids.to_transmission(corr_id)]
            }
            (outcome, AfterWrite::FileIds { file, .. }) => {
                // Not recorded: its file goes.
                relay.chunk_files.remove(file)?;
                let code = match outcome {
                    WriteOutcome::StorageFull => ErrorCode::Full,
                    _ => ErrorCode::Internal,
                };
                vec![self.error(corr_id, None, code)]
            }
            (WriteOutcome::Done, AfterWrite::ChunkCompleted(file)) => {
                relay.chunk_files.completed(file)?;
                relay.metrics.count(Event::ChunkCompleted);
                ok()
            }
            (WriteOutcome::ChunkRemoved(file), AfterWrite::ChunkReleased) => {
                relay.chunk_files.remove(file)?;
                relay.metrics.count(Event::ChunkDeleted);
                ok()
            }
            (WriteOutcome::Done, AfterWrite::ChunkReleased) => ok(),
            // Deleted or expired meanwhile.
            (WriteOutcome::Refused, _) => vec![self.error(corr_id, entity, ErrorCode::Auth)],
            (outcome, _) => {
                tracing::warn!(?outcome, "unexpected write outcome for a file chunk");
                vec![self.error(corr_id, entity, ErrorCode::Internal)]
            }
        })
    }
}

/// A random name for a new chunk's file, drawn apart from its ids.
fn random_chunk_file() -> ChunkFile {
    let mut name = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut name);
    ChunkFile::from_bytes(name)
}
