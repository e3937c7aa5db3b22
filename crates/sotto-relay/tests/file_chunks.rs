//! File chunks over a real relay process: uploaded in pieces and downloaded
//! by each recipient on connections of their own, resumed after a lost
//! connection and after SIGKILL, checked against their digest, refused alike
//! for unknown ids and wrong keys, deleted by the uploader, acknowledged by
//! recipients, expired, bounded by the storage budget, and unharmed by
//! hostile pieces.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use sotto_client::ClientError;
use sotto_client::relay::{ChunkDownload, ChunkUpload, DEFAULT_PIECE_WINDOW, NewChunk};
use sotto_wire::{
    ChunkDigest, ChunkSize, Command, CorrId, DownloadId, EntityId, ErrorCode, FilePiece,
    MAX_PIECE_LEN, Response, Transmission, UploadId,
};
use support::wire::without_entity;
use support::{RawSession, Relay, auth_secret, random};

/// A chunk's worth of random bytes, as an encrypted chunk looks to the relay.
fn content(size: ChunkSize) -> Vec<u8> {
    let mut bytes = vec![0; size.bytes() as usize];
    for part in bytes.chunks_mut(32) {
        part.copy_from_slice(&random::<32>()[..part.len()]);
    }
    bytes
}

async fn create(client: &support::Client, bytes: &[u8], recipients: usize) -> NewChunk {
    let size = ChunkSize::smallest_for(bytes.len() as u64).unwrap();
    client
        .connection
        .create_chunk(size, ChunkDigest::of(bytes), recipients, None)
        .await
        .unwrap()
}

/// Uploads the whole chunk (resuming where the relay stands).
async fn upload(client: &support::Client, upload: &ChunkUpload, bytes: &[u8]) {
    client
        .connection
        .upload_chunk(upload, bytes, DEFAULT_PIECE_WINDOW)
        .await
        .unwrap();
}

/// Downloads the whole chunk and checks that it is `bytes`.
async fn download_is(client: &support::Client, download: &ChunkDownload, bytes: &[u8]) {
    let downloaded = client
        .connection
        .download_chunk(download, DEFAULT_PIECE_WINDOW)
        .await
        .unwrap();
    assert!(downloaded == bytes, "the chunk came back different");
}

fn refused(result: Result<impl std::fmt::Debug, ClientError>, code: ErrorCode) {
    match result {
        Err(ClientError::Refused(got)) if got == code => {}
        other => panic!("expected ERR {code:?}, got {other:?}"),
    }
}

/// Uploads the pieces of `bytes` that end at or before `until`, one by one.
async fn upload_until(client: &support::Client, upload: &ChunkUpload, bytes: &[u8], until: usize) {
    let mut offset = 0;
    while offset + MAX_PIECE_LEN <= until {
        let piece = FilePiece::new(bytes[offset..offset + MAX_PIECE_LEN].to_vec()).unwrap();
        client
            .connection
            .submit_piece(upload, offset as u32, piece)
            .await
            .unwrap()
            .ok("FPUT")
            .await
            .unwrap();
        offset += MAX_PIECE_LEN;
    }
}

fn chunk_files(relay: &Relay) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(relay.data.join("chunks"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_chunk_is_uploaded_in_pieces_and_downloaded_by_each_recipient() {
    let relay = Relay::start(&["--max-file-size", "2GiB", "--file-ttl", "3h"]);
    let uploader = relay.connect().await;
    let limits = uploader.connection.file_limits().await.unwrap();
    assert_eq!(limits.max_file_size, 2 << 30);
    assert_eq!(limits.chunk_ttl_secs, 3 * 3600);

    let bytes = content(ChunkSize::Kib256);
    let chunk = create(&uploader, &bytes, 2).await;
    assert_eq!(chunk.downloads.len(), 2);
    assert_ne!(
        chunk.downloads[0].download_id(),
        chunk.downloads[1].download_id()
    );
    assert_ne!(
        chunk.upload.upload_id().as_bytes(),
        chunk.downloads[0].download_id().as_bytes()
    );
    // Nothing can be downloaded before the upload completes.
    let first = relay.connect().await;
    refused(
        first
            .connection
            .download_chunk(&chunk.downloads[0], DEFAULT_PIECE_WINDOW)
            .await,
        ErrorCode::Incomplete,
    );
    upload(&uploader, &chunk.upload, &bytes).await;
    let status = uploader
        .connection
        .chunk_status(&chunk.upload)
        .await
        .unwrap();
    assert!(status.complete);
    assert_eq!(status.received, ChunkSize::Kib256.bytes());

    // Each recipient on a connection of its own.
    let second = relay.connect().await;
    for (client, download) in [
        (&first, &chunk.downloads[0]),
        (&second, &chunk.downloads[1]),
    ] {
        download_is(client, download, &bytes).await;
    }
    // A piece in the middle, of any length up to a piece.
    let piece = first
        .connection
        .submit_get_piece(&chunk.downloads[0], 1000, 77)
        .await
        .unwrap()
        .piece()
        .await
        .unwrap();
    assert_eq!(piece.as_bytes(), &bytes[1000..1077]);

    // One file in the chunk directory, under a name that is none of the ids,
    // holding exactly the chunk, readable by the relay alone.
    let names = chunk_files(&relay);
    assert_eq!(names.len(), 1);
    let hex = |id: &[u8]| id.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_ne!(names[0], hex(chunk.upload.upload_id().as_bytes()));
    let path = relay.data.join("chunks").join(&names[0]);
    assert!(std::fs::read(&path).unwrap() == bytes);
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode();
    assert_eq!(mode(&path) & 0o777, 0o600);
    assert_eq!(mode(&relay.data.join("chunks")) & 0o777, 0o700);

    assert_eq!(relay.metric("sotto_file_chunks_created_total").await, 1);
    assert_eq!(relay.metric("sotto_file_chunks_completed_total").await, 1);
    assert_eq!(
        relay
            .metric("sotto_file_chunks_pieces_received_total")
            .await,
        17
    );
    // Nothing identifying in the relay's log.
    let log = relay.log();
    for id in [
        chunk.upload.upload_id().as_bytes(),
        chunk.downloads[0].download_id().as_bytes(),
    ] {
        assert!(!log.contains(&hex(id)), "the log shows a chunk id");
    }
}

#[tokio::test]
async fn an_upload_resumes_after_a_lost_connection_and_after_sigkill() {
    let mut relay = Relay::start(&[]);
    let bytes = content(ChunkSize::Mib1);
    let (chunk, done) = {
        let client = relay.connect().await;
        let chunk = create(&client, &bytes, 1).await;
        upload_until(&client, &chunk.upload, &bytes, 300_000).await;
        // A chunk uploaded whole before the kill must survive it.
        let small = content(ChunkSize::Kib64);
        let done = create(&client, &small, 1).await;
        upload(&client, &done.upload, &small).await;
        (chunk, (done, small))
    };
    // A new connection resumes where the relay stands.
    let client = relay.connect().await;
    let status = client.connection.chunk_status(&chunk.upload).await.unwrap();
    assert!(!status.complete);
    assert_eq!(
        status.received as usize,
        300_000 / MAX_PIECE_LEN * MAX_PIECE_LEN
    );
    upload_until(&client, &chunk.upload, &bytes, 600_000).await;
    drop(client);

    relay.kill();
    relay.restart();
    let client = relay.connect().await;
    let status = client.connection.chunk_status(&chunk.upload).await.unwrap();
    assert!(!status.complete);
    assert_eq!(
        status.received as usize,
        600_000 / MAX_PIECE_LEN * MAX_PIECE_LEN
    );
    upload(&client, &chunk.upload, &bytes).await;
    download_is(&client, &chunk.downloads[0], &bytes).await;
    let (done, small) = done;
    download_is(&client, &done.downloads[0], &small).await;
    // Completing is durable too: killed now, the chunk is still complete.
    drop(client);
    relay.kill();
    relay.restart();
    let client = relay.connect().await;
    assert!(
        client
            .connection
            .chunk_status(&chunk.upload)
            .await
            .unwrap()
            .complete
    );
    // Uploading again is a no-op.
    upload(&client, &chunk.upload, &bytes).await;
}

#[tokio::test]
async fn a_chunk_that_does_not_match_its_digest_is_refused_and_can_be_uploaded_again() {
    let relay = Relay::start(&[]);
    let client = relay.connect().await;
    let bytes = content(ChunkSize::Kib64);
    let chunk = create(&client, &bytes, 1).await;
    let mut wrong = bytes.clone();
    wrong[40_000] ^= 1;
    refused(
        client
            .connection
            .upload_chunk(&chunk.upload, &wrong, DEFAULT_PIECE_WINDOW)
            .await,
        ErrorCode::Digest,
    );
    let status = client.connection.chunk_status(&chunk.upload).await.unwrap();
    assert_eq!((status.received, status.complete), (0, false));
    upload(&client, &chunk.upload, &bytes).await;
    download_is(&client, &chunk.downloads[0], &bytes).await;
    assert_eq!(relay.metric("sotto_errors_total{code=\"DIGEST\"}").await, 1);
}

#[tokio::test]
async fn wrong_keys_and_unknown_ids_are_refused_alike() {
    let relay = Relay::start(&["--auth-failure-burst", "64"]);
    let owner = relay.connect().await;
    let bytes = content(ChunkSize::Kib64);
    let chunk = create(&owner, &bytes, 1).await;
    upload(&owner, &chunk.upload, &bytes).await;
    let mut raw = RawSession::open(&relay.address).await;
    let key = raw.command_key(&auth_secret());
    let corr_id = CorrId::from_bytes([7; 8]);
    let piece = || FilePiece::new(vec![1; 100]).unwrap();
    let mut answers = Vec::new();
    let uploads = [*chunk.upload.upload_id().as_bytes(), random::<24>()];
    let downloads = [*chunk.downloads[0].download_id().as_bytes(), random::<24>()];
    for (upload, download) in uploads.into_iter().zip(downloads) {
        let upload_id = UploadId::from_bytes(upload);
        let download_id = DownloadId::from_bytes(download);
        let commands = [
            (
                Command::FilePut {
                    upload_id,
                    offset: 0,
                    piece: piece(),
                },
                upload,
            ),
            (Command::FileStat { upload_id }, upload),
            (Command::FileDel { upload_id }, upload),
            (
                Command::FileGet {
                    download_id,
                    offset: 0,
                    len: 100,
                },
                download,
            ),
            (Command::FileAck { download_id }, download),
        ];
        for (command, id) in commands {
            for transmission in [
                command.to_authorized_transmission(corr_id, &key),
                command.to_transmission(corr_id),
            ] {
                let reply = raw.exchange(&transmission).await;
                assert_eq!(reply.len(), 1);
                answers.push(without_entity(&reply[0], &id));
            }
        }
    }
    assert_eq!(answers.len(), 20);
    assert!(answers.windows(2).all(|pair| pair[0] == pair[1]));
    // Nothing changed: the recipient still downloads the whole chunk.
    download_is(&owner, &chunk.downloads[0], &bytes).await;
    // A thief with the id but not the key is refused too.
    let thief = ChunkDownload::new(
        chunk.downloads[0].download_id(),
        auth_secret(),
        ChunkSize::Kib64,
        ChunkDigest::of(&bytes),
    );
    refused(
        owner.connection.download_chunk(&thief, 8).await,
        ErrorCode::Auth,
    );
}

#[tokio::test]
async fn guessing_chunk_ids_closes_the_connection() {
    let relay = Relay::start(&["--auth-failure-burst", "4"]);
    let mut raw = RawSession::open(&relay.address).await;
    let key = raw.command_key(&auth_secret());
    let guesses: Vec<Vec<u8>> = (1..=6u8)
        .map(|n| {
            let guess = Command::FileGet {
                download_id: DownloadId::from_bytes(random()),
                offset: 0,
                len: 1,
            };
            guess
                .to_authorized_transmission(CorrId::from_bytes([n; 8]), &key)
                .encode()
        })
        .collect();
    raw.send_encoded(&guesses).await;
    // The answers ready come first, every one ERR AUTH, then the close.
    let mut answers = Vec::new();
    while answers.len() < 5 {
        answers.extend(raw.responses().await);
    }
    for (_, answer) in &answers {
        assert!(
            matches!(
                answer,
                Response::Err {
                    code: ErrorCode::Auth,
                    ..
                }
            ),
            "{answer:?}"
        );
    }
    assert_eq!(support::closed(&mut raw.socket).await, Some(1008));
}

#[tokio::test]
async fn the_uploader_deletes_and_recipients_acknowledge() {
    // Each refused FGET below takes from the failed-authorization budget.
    let relay = Relay::start(&["--auth-failure-burst", "64"]);
    let client = relay.connect().await;
    let bytes = content(ChunkSize::Kib64);
    let shared = create(&client, &bytes, 2).await;
    let deleted = create(&client, &bytes, 2).await;
    for chunk in [&shared, &deleted] {
        upload(&client, &chunk.upload, &bytes).await;
    }
    assert_eq!(chunk_files(&relay).len(), 2);

    // FDEL: every download id of the chunk stops working, and its file goes.
    client
        .connection
        .delete_chunk(&deleted.upload)
        .await
        .unwrap();
    for download in &deleted.downloads {
        refused(
            client.connection.download_chunk(download, 8).await,
            ErrorCode::Auth,
        );
    }
    refused(
        client.connection.delete_chunk(&deleted.upload).await,
        ErrorCode::Auth,
    );
    assert_eq!(chunk_files(&relay).len(), 1);

    // FACK: only that recipient loses access; the last one deletes the chunk.
    client
        .connection
        .ack_chunk(&shared.downloads[0])
        .await
        .unwrap();
    refused(
        client
            .connection
            .download_chunk(&shared.downloads[0], 8)
            .await,
        ErrorCode::Auth,
    );
    refused(
        client.connection.ack_chunk(&shared.downloads[0]).await,
        ErrorCode::Auth,
    );
    download_is(&client, &shared.downloads[1], &bytes).await;
    client
        .connection
        .ack_chunk(&shared.downloads[1])
        .await
        .unwrap();
    refused(
        client.connection.chunk_status(&shared.upload).await,
        ErrorCode::Auth,
    );
    assert!(chunk_files(&relay).is_empty());
    assert_eq!(relay.metric("sotto_file_chunks_deleted_total").await, 2);
}

#[tokio::test]
async fn chunks_expire_with_their_ttl_also_half_uploaded() {
    let mut relay = Relay::start(&["--file-ttl", "3s", "--expiry-interval", "1s"]);
    let client = relay.connect().await;
    let bytes = content(ChunkSize::Kib64);
    let whole = create(&client, &bytes, 1).await;
    upload(&client, &whole.upload, &bytes).await;
    let half = create(&client, &bytes, 1).await;
    upload_until(&client, &half.upload, &bytes, 20_000).await;
    assert_eq!(chunk_files(&relay).len(), 2);
    tokio::time::sleep(Duration::from_secs(5)).await;
    refused(
        client
            .connection
            .download_chunk(&whole.downloads[0], 8)
            .await,
        ErrorCode::Auth,
    );
    refused(
        client.connection.chunk_status(&half.upload).await,
        ErrorCode::Auth,
    );
    assert!(chunk_files(&relay).is_empty());
    assert_eq!(relay.metric("sotto_file_chunks_expired_total").await, 2);
    // Expired across a restart too.
    let late = create(&client, &bytes, 1).await;
    drop(client);
    relay.kill();
    std::thread::sleep(Duration::from_secs(4));
    relay.restart();
    let client = relay.connect().await;
    refused(
        client.connection.chunk_status(&late.upload).await,
        ErrorCode::Auth,
    );
    assert!(chunk_files(&relay).is_empty());
}

#[tokio::test]
async fn the_storage_budget_refuses_new_chunks_with_full() {
    let relay = Relay::start(&["--max-storage", "16MiB"]);
    let client = relay.connect().await;
    let digest = ChunkDigest::from_bytes([0; 32]);
    let mut chunks = Vec::new();
    for _ in 0..3 {
        chunks.push(
            client
                .connection
                .create_chunk(ChunkSize::Mib4, digest, 1, None)
                .await
                .unwrap(),
        );
    }
    refused(
        client
            .connection
            .create_chunk(ChunkSize::Mib4, digest, 1, None)
            .await,
        ErrorCode::Full,
    );
    // The refused chunk left no file behind; deleting one makes room.
    assert_eq!(chunk_files(&relay).len(), 3);
    client
        .connection
        .delete_chunk(&chunks[0].upload)
        .await
        .unwrap();
    client
        .connection
        .create_chunk(ChunkSize::Mib4, digest, 1, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn hostile_pieces_get_clear_errors_and_lose_nothing() {
    let relay = Relay::start(&[]);
    let client = relay.connect().await;
    let bytes = content(ChunkSize::Kib64);
    let chunk = create(&client, &bytes, 1).await;
    let put = |offset: u32, len: usize| {
        let piece = FilePiece::new(vec![0xee; len]).unwrap();
        client.connection.submit_piece(&chunk.upload, offset, piece)
    };
    upload_until(&client, &chunk.upload, &bytes, 2 * MAX_PIECE_LEN).await;
    // Beyond what the relay holds (a gap), and past the chunk's end.
    refused(
        put(2 * MAX_PIECE_LEN as u32 + 1, 10)
            .await
            .unwrap()
            .ok("FPUT")
            .await,
        ErrorCode::Offset,
    );
    refused(
        put(65_530, 10).await.unwrap().ok("FPUT").await,
        ErrorCode::Offset,
    );
    refused(
        put(u32::MAX - 5, 10).await.unwrap().ok("FPUT").await,
        ErrorCode::Offset,
    );
    // A piece longer than a piece does not even parse.
    let mut raw = RawSession::open(&relay.address).await;
    let key = raw.command_key(chunk.upload.auth_key());
    let mut body = 0u32.to_be_bytes().to_vec();
    body.extend_from_slice(&(MAX_PIECE_LEN as u16 + 1).to_be_bytes());
    body.extend(std::iter::repeat_n(0, MAX_PIECE_LEN + 1));
    let mut oversize = Transmission {
        authenticator: None,
        corr_id: CorrId::from_bytes([3; 8]),
        entity: Some(EntityId::from_bytes(*chunk.upload.upload_id().as_bytes())),
        tag: 0x0f,
        body,
    };
    oversize.authenticate(&key);
    let reply = raw.exchange(&oversize).await;
    let answer = Response::from_transmission(&Transmission::decode(&reply[0]).unwrap()).unwrap();
    assert!(
        matches!(
            answer,
            Response::Err {
                code: ErrorCode::Cmd,
                ..
            }
        ),
        "{answer:?}"
    );
    // None of it changed what the relay holds.
    let status = client.connection.chunk_status(&chunk.upload).await.unwrap();
    assert_eq!(status.received as usize, 2 * MAX_PIECE_LEN);
    upload(&client, &chunk.upload, &bytes).await;
    // After completion: no more pieces, reads only inside the chunk.
    refused(
        put(0, 10).await.unwrap().ok("FPUT").await,
        ErrorCode::Complete,
    );
    refused(
        client
            .connection
            .submit_get_piece(&chunk.downloads[0], 65_530, 10)
            .await
            .unwrap()
            .piece()
            .await,
        ErrorCode::Offset,
    );
    download_is(&client, &chunk.downloads[0], &bytes).await;
    // A chunk of the wrong length is not even sent.
    assert!(matches!(
        client
            .connection
            .upload_chunk(&chunk.upload, &bytes[1..], 8)
            .await,
        Err(ClientError::ChunkSize)
    ));
    client.connection.ping().await.unwrap();
}

#[tokio::test]
async fn the_redb_storage_holds_chunks_too() {
    let mut relay = Relay::start(&["--storage", "redb"]);
    let bytes = content(ChunkSize::Kib256);
    let (chunk, half, half_bytes) = {
        let client = relay.connect().await;
        let chunk = create(&client, &bytes, 2).await;
        upload(&client, &chunk.upload, &bytes).await;
        let half_bytes = content(ChunkSize::Kib64);
        let half = create(&client, &half_bytes, 1).await;
        upload_until(&client, &half.upload, &half_bytes, 40_000).await;
        (chunk, half, half_bytes)
    };
    relay.kill();
    relay.restart();
    let client = relay.connect().await;
    download_is(&client, &chunk.downloads[1], &bytes).await;
    client
        .connection
        .ack_chunk(&chunk.downloads[1])
        .await
        .unwrap();
    refused(
        client.connection.ack_chunk(&chunk.downloads[1]).await,
        ErrorCode::Auth,
    );
    upload(&client, &half.upload, &half_bytes).await;
    download_is(&client, &half.downloads[0], &half_bytes).await;
    client.connection.delete_chunk(&chunk.upload).await.unwrap();
    refused(
        client
            .connection
            .download_chunk(&chunk.downloads[0], DEFAULT_PIECE_WINDOW)
            .await,
        ErrorCode::Auth,
    );
    assert_eq!(chunk_files(&relay).len(), 1);
}
