//! One chunk's steps on its relay: FNEW, the upload from where the relay
//! stands (FSTAT, then pipelined FPUTs of the chunk read from the copy), and
//! the download (pipelined FGETs, the chunk into the copy).

use std::cell::RefCell;
use std::rc::Rc;

use rand_core::RngCore;
use sotto_core::{ChatId, MessageNumber};
use sotto_wire::{
    ChunkDigest, ChunkSize, Command, DownloadKeys, FilePiece, MAX_PIECE_LEN, QueueAuthSecret,
    RelayAddress, Response,
};
use zeroize::Zeroizing;

use super::requests::{Fault, request, submit};
use super::{PIECE_WINDOW, copies, progress};
use crate::client::Shared;
use crate::rng::BrowserRng;

pub(super) async fn create_chunk(
    shared: &Rc<RefCell<Shared>>,
    relay: &RelayAddress,
    size: ChunkSize,
    digest: ChunkDigest,
    recipients: usize,
) -> Result<sotto_files::ChunkIds, Fault> {
    let upload_secret = random_auth_secret();
    let secrets: Vec<QueueAuthSecret> = (0..recipients).map(|_| random_auth_secret()).collect();
    let download_keys =
        DownloadKeys::new(secrets.iter().map(QueueAuthSecret::public_key).collect())
            .map_err(|_| Fault::Unexpected)?;
    let command = Command::FileNew {
        upload_auth_key: upload_secret.public_key(),
        size,
        digest,
        password: None,
        download_keys,
    };
    match request(shared, relay, command, Some(upload_secret.clone())).await? {
        Response::FileIds {
            upload_id,
            download_ids,
        } if download_ids.len() == secrets.len() => Ok(sotto_files::ChunkIds {
            upload_id,
            upload_secret,
            downloads: download_ids.into_iter().zip(secrets).collect(),
        }),
        _ => Err(Fault::Unexpected),
    }
}

/// Uploads a chunk from the copy, from where the relay stands.
#[allow(clippy::too_many_arguments)]
pub(super) async fn put_chunk(
    shared: &Rc<RefCell<Shared>>,
    key: (ChatId, MessageNumber),
    redirect: bool,
    chunk: usize,
    relay: &RelayAddress,
    upload_id: sotto_wire::UploadId,
    secret: QueueAuthSecret,
    size: ChunkSize,
) -> Result<(), Fault> {
    let size = size.bytes();
    let copies = copies(shared).await.map_err(|_| Fault::Local)?;
    let copy = copies
        .copy_of(key.0, key.1, redirect)
        .await
        .map_err(|_| Fault::Local)?
        .ok_or(Fault::Local)?;
    let bytes = copies
        .chunk(&copy, chunk)
        .await
        .map_err(|_| Fault::Local)?
        .filter(|bytes| bytes.len() == size as usize)
        .ok_or(Fault::Local)?;
    let (received, complete) = match request(
        shared,
        relay,
        Command::FileStat { upload_id },
        Some(secret.clone()),
    )
    .await?
    {
        Response::FilePos {
            received, complete, ..
        } => (received, complete),
        _ => return Err(Fault::Unexpected),
    };
    if complete {
        return Ok(());
    }
    // A chunk held whole but not complete is completed by its last piece.
    let start = received.min(size.saturating_sub(1));
    progress(shared, key, chunk, u64::from(start));
    let mut in_flight = std::collections::VecDeque::new();
    for (from, end) in pieces(start, size) {
        let piece = FilePiece::new(bytes[from as usize..end as usize].to_vec())
            .map_err(|_| Fault::Unexpected)?;
        let command = Command::FilePut {
            upload_id,
            offset: from,
            piece,
        };
        in_flight.push_back((end, submit(shared, relay, command, Some(secret.clone()))));
        if in_flight.len() >= PIECE_WINDOW
            && let Some((end, oldest)) = in_flight.pop_front()
        {
            expect_ok(oldest.await)?;
            progress(shared, key, chunk, u64::from(end));
        }
    }
    while let Some((end, pending)) = in_flight.pop_front() {
        expect_ok(pending.await)?;
        progress(shared, key, chunk, u64::from(end));
    }
    Ok(())
}

/// Downloads a whole chunk into the copy; returns its digest.
#[allow(clippy::too_many_arguments)]
pub(super) async fn get_chunk(
    shared: &Rc<RefCell<Shared>>,
    key: (ChatId, MessageNumber),
    redirect: bool,
    chunk: usize,
    relay: &RelayAddress,
    download_id: sotto_wire::DownloadId,
    secret: QueueAuthSecret,
    size: ChunkSize,
) -> Result<ChunkDigest, Fault> {
    let size = size.bytes();
    let mut bytes = Vec::with_capacity(size as usize);
    let mut in_flight = std::collections::VecDeque::new();
    let take = |bytes: &mut Vec<u8>, offset: u32, len: u32, answer| match answer {
        Ok(Response::FileData {
            offset: at, piece, ..
        }) if at == offset && piece.len() == len as usize => {
            bytes.extend_from_slice(piece.as_bytes());
            Ok(())
        }
        Ok(Response::Err { code, .. }) => Err(Fault::Refused(code)),
        Ok(_) => Err(Fault::Unexpected),
        Err(fault) => Err(fault),
    };
    for (from, end) in pieces(0, size) {
        let command = Command::FileGet {
            download_id,
            offset: from,
            len: end - from,
        };
        in_flight.push_back((
            from,
            end,
            submit(shared, relay, command, Some(secret.clone())),
        ));
        if in_flight.len() >= PIECE_WINDOW
            && let Some((from, end, oldest)) = in_flight.pop_front()
        {
            take(&mut bytes, from, end - from, oldest.await)?;
            progress(shared, key, chunk, bytes.len() as u64);
        }
    }
    while let Some((from, end, pending)) = in_flight.pop_front() {
        take(&mut bytes, from, end - from, pending.await)?;
        progress(shared, key, chunk, bytes.len() as u64);
    }
    let digest = ChunkDigest::of(&bytes);
    let copies = copies(shared).await.map_err(|_| Fault::Local)?;
    let copy = copies
        .download_copy(key.0, key.1, redirect)
        .await
        .map_err(|_| Fault::Local)?;
    copies
        .put_chunk(&copy, chunk, &bytes)
        .await
        .map_err(|_| Fault::Local)?;
    Ok(digest)
}

pub(super) fn expect_ok(answer: Result<Response, Fault>) -> Result<(), Fault> {
    match answer? {
        Response::Ok { .. } => Ok(()),
        Response::Err { code, .. } => Err(Fault::Refused(code)),
        _ => Err(Fault::Unexpected),
    }
}

/// The pieces from `start` to `size`: (offset, end).
pub(super) fn pieces(start: u32, size: u32) -> impl Iterator<Item = (u32, u32)> {
    let step = MAX_PIECE_LEN as u32;
    (start..size)
        .step_by(MAX_PIECE_LEN)
        .map(move |offset| (offset, offset.saturating_add(step).min(size)))
}

pub(super) fn random_auth_secret() -> QueueAuthSecret {
    let mut bytes = Zeroizing::new([0u8; 32]);
    BrowserRng.fill_bytes(bytes.as_mut());
    QueueAuthSecret::from_bytes(*bytes)
}
