//! Files between two cores: the upload recorded with its item, the
//! description travelling in a chat message (inline or through a redirect),
//! the download with its digests checked, tampering refused, and deletion
//! and disappearing messages leaving records for the runtime to clean up.
//! The relays' chunk storage is a map here; the real one is tested with
//! real processes in sotto-cli.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod util;

use std::collections::HashMap;
use std::time::Duration;

use sotto_core::{ChatId, DescriptionKind, Event, FileMessage, FileState, MessageNumber, Transfer};
use sotto_files::{
    ChunkIds, Download, DownloadStep, FileDecryptor, FileEncryptor, FileKey, FileNonce,
    TransferFailure, Upload, UploadStep,
};
use sotto_wire::{ChunkDigest, DownloadId, QueueAuthSecret, UploadId};
use util::World;

/// Chunks on "the relay", by download id.
#[derive(Default)]
struct Chunks {
    stored: HashMap<[u8; 24], Vec<u8>>,
    next: u8,
}

fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

fn encrypt(key: &FileKey, nonce: &FileNonce, plaintext: &[u8]) -> Vec<Vec<u8>> {
    let mut encryptor = FileEncryptor::new(key, nonce, plaintext.len() as u64).unwrap();
    let mut chunks = Vec::new();
    for piece in plaintext.chunks(10_000) {
        encryptor.push(piece).unwrap();
        while let Some(chunk) = encryptor.poll_chunk() {
            chunks.push(chunk);
        }
    }
    encryptor.finish().unwrap();
    while let Some(chunk) = encryptor.poll_chunk() {
        chunks.push(chunk);
    }
    chunks
}

/// Runs an upload to the end, the chunks going to `relay`.
fn upload_all(upload: &mut Upload, chunks: &[Vec<u8>], relay: &mut Chunks) {
    while !upload.is_complete() {
        for step in upload.next_steps(u64::MAX) {
            match step {
                UploadStep::Create { chunk, .. } => {
                    relay.next += 1;
                    let id = [relay.next; 24];
                    relay.stored.insert(id, chunks[chunk].clone());
                    let ids = ChunkIds {
                        upload_id: UploadId::from_bytes(id),
                        upload_secret: QueueAuthSecret::from_bytes([relay.next; 32]),
                        downloads: vec![(
                            DownloadId::from_bytes(id),
                            QueueAuthSecret::from_bytes([relay.next; 32]),
                        )],
                    };
                    upload.handle_created(chunk, ids).unwrap();
                }
                UploadStep::Put { chunk, .. } => upload.handle_stored(chunk).unwrap(),
            }
        }
    }
}

/// Starts, uploads and sends a file from client `from`; returns its item.
fn send_file(
    world: &mut World,
    relay: &mut Chunks,
    from: usize,
    chat: ChatId,
    name: &str,
    plaintext: &[u8],
) -> MessageNumber {
    let key = FileKey::from_bytes([plaintext.len() as u8; 32]);
    let nonce = FileNonce::from_bytes([7; 19]);
    let chunks = encrypt(&key, &nonce, plaintext);
    let digests: Vec<_> = chunks.iter().map(|c| ChunkDigest::of(c)).collect();
    let relays = [world.clients[from].relay.clone()];
    let mut upload = Upload::new(key, nonce, plaintext.len() as u64, &digests, &relays, 1).unwrap();
    let now = world.now;
    let client = &mut world.clients[from];
    let number = client
        .core
        .start_upload(now, chat, name, "text/plain", &upload)
        .unwrap();
    let item = client.core.history(chat, None, 1).unwrap().pop().unwrap();
    assert_eq!(item.file.as_ref().unwrap().state, "uploading");
    upload_all(&mut upload, &chunks, relay);
    let transfer = Transfer::Upload(upload.clone());
    client.core.save_transfer(chat, number, &transfer).unwrap();
    let description = upload.description(0, name, "text/plain").unwrap();
    let file = FileMessage::inline(&description).unwrap().unwrap();
    client
        .core
        .send_file(now, &mut client.rng, chat, number, file)
        .unwrap();
    number
}

/// Runs a download: the chunks from `relay` (through `serve`, which may
/// damage them), the file decrypted. Returns the plaintext or the failure.
fn download_all(
    download: &mut Download,
    relay: &Chunks,
    serve: &mut dyn FnMut(usize, Vec<u8>) -> Vec<u8>,
) -> Result<Vec<u8>, TransferFailure> {
    let mut kept: HashMap<usize, Vec<u8>> = HashMap::new();
    let mut plaintext = Err(TransferFailure::Cancelled);
    while !download.is_finished() {
        for step in download.next_steps(u64::MAX) {
            match step {
                DownloadStep::Get {
                    chunk, download_id, ..
                } => {
                    let bytes = serve(chunk, relay.stored[download_id.as_bytes()].clone());
                    let digest = ChunkDigest::of(&bytes);
                    kept.insert(chunk, bytes);
                    if let Some(failure) = download.handle_fetched(chunk, digest).unwrap() {
                        plaintext = Err(failure);
                    }
                }
                DownloadStep::Decrypt => {
                    let description = download.description();
                    let mut decryptor =
                        FileDecryptor::new(&description.key, &description.nonce, description.size)
                            .unwrap();
                    let mut out = Vec::new();
                    let mut ok = true;
                    for index in 0..description.chunks.len() {
                        match decryptor.push(&kept[&index]) {
                            Ok(bytes) => out.extend_from_slice(&bytes),
                            Err(_) => ok = false,
                        }
                    }
                    ok &= decryptor.finish().is_ok();
                    download.handle_decrypted(ok);
                    plaintext = if ok {
                        Ok(out)
                    } else {
                        Err(TransferFailure::Forged)
                    };
                }
                DownloadStep::Ack { chunk, .. } => download.handle_acked(chunk).unwrap(),
            }
        }
    }
    plaintext
}

fn last_file(world: &World, client: usize, chat: ChatId) -> sotto_core::FileView {
    world.clients[client]
        .core
        .history(chat, None, 100)
        .unwrap()
        .into_iter()
        .rev()
        .find_map(|item| item.file)
        .map(|file| *file)
        .expect("a file item")
}

fn download_of(transfer: Transfer) -> Download {
    match transfer {
        Transfer::Download(download) => download,
        other => panic!("not a download: {other:?}"),
    }
}

#[test]
fn a_file_travels_in_its_message_and_is_received_once_every_digest_checks() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 1]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    let mut relay = Chunks::default();
    let plaintext = content(300_000, 1);
    let sent = send_file(
        &mut world,
        &mut relay,
        0,
        alice_bob,
        "notes.txt",
        &plaintext,
    );
    world.run();
    assert_eq!(last_file(&world, 0, alice_bob).state, "sent");
    let offered = last_file(&world, 1, bob_alice);
    assert_eq!(
        (
            offered.name.as_str(),
            offered.size,
            offered.media_type.as_str()
        ),
        ("notes.txt", 300_000, "text/plain")
    );
    assert_eq!(offered.state, "available");
    let number = world.clients[1]
        .core
        .history(bob_alice, None, 1)
        .unwrap()
        .pop()
        .unwrap()
        .number;

    // Bob starts, restarts, and finishes the download.
    let now = world.now;
    let bob = &mut world.clients[1];
    let mut download = download_of(bob.core.start_download(now, bob_alice, number).unwrap());
    assert_eq!(last_file(&world, 1, bob_alice).state, "downloading");
    world.restart(1);
    let bob = &mut world.clients[1];
    let stored = bob.core.file_transfers().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].state, Some(FileState::Downloading));
    assert!(!stored[0].item_gone);
    let received = download_all(&mut download, &relay, &mut |_, bytes| bytes).unwrap();
    assert_eq!(received, plaintext);
    let transfer = Transfer::Download(download);
    bob.core
        .finish_transfer(now, bob_alice, number, &transfer, FileState::Received)
        .unwrap();
    bob.core
        .save_transfer(bob_alice, number, &transfer)
        .unwrap();
    bob.core.sync().unwrap();
    let mut events = Vec::new();
    while let Some(event) = bob.core.poll_event().unwrap() {
        events.push(event);
    }
    assert!(events.iter().any(|event| matches!(
        event,
        Event::FileProgress { done, total, .. } if done == total && *total > 300_000
    )));
    assert_eq!(last_file(&world, 1, bob_alice).state, "received");
    // Downloading it again gives the stored transfer back (to save it).
    let bob = &mut world.clients[1];
    assert!(download_of(bob.core.start_download(now, bob_alice, number).unwrap()).is_received());

    // Alice deletes it for everyone: both records are to be cleaned up.
    let alice = &mut world.clients[0];
    alice
        .core
        .delete_for_everyone(now, &mut alice.rng, alice_bob, sent)
        .unwrap();
    world.run();
    for (client, chat) in [(0, alice_bob), (1, bob_alice)] {
        let core = &mut world.clients[client].core;
        let transfers = core.file_transfers().unwrap();
        assert_eq!(transfers.len(), 1);
        assert!(transfers[0].item_gone, "client {client}");
        core.forget_transfer(chat, transfers[0].number).unwrap();
        assert!(core.file_transfers().unwrap().is_empty());
    }
}

#[test]
fn a_damaged_or_swapped_chunk_fails_the_file_and_the_chat_goes_on() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    let mut relay = Chunks::default();
    let plaintext = content(2 * 1024 * 1024 + 5, 2);
    send_file(&mut world, &mut relay, 0, alice_bob, "big.bin", &plaintext);
    world.run();
    let now = world.now;
    let number = world.clients[1]
        .core
        .history(bob_alice, None, 1)
        .unwrap()
        .pop()
        .unwrap()
        .number;
    // A byte flipped every time it is served: fetched again once, then refused.
    let bob = &mut world.clients[1];
    let mut download = download_of(bob.core.start_download(now, bob_alice, number).unwrap());
    let mut served = 0;
    let failure = download_all(&mut download, &relay, &mut |chunk, mut bytes| {
        if chunk == 1 {
            served += 1;
            bytes[10] ^= 1;
        }
        bytes
    })
    .unwrap_err();
    assert_eq!((failure, served), (TransferFailure::Tampered, 2));
    bob.core
        .finish_transfer(
            now,
            bob_alice,
            number,
            &Transfer::Download(download),
            FileState::Failed(failure),
        )
        .unwrap();
    let view = last_file(&world, 1, bob_alice);
    assert_eq!(view.state, "failed");
    assert!(view.failure.unwrap().contains("digest"));
    // Tried again from the start, with the other chunk served instead.
    let bob = &mut world.clients[1];
    let mut download = download_of(bob.core.start_download(now, bob_alice, number).unwrap());
    assert_eq!(download.progress().0, 0);
    let all: Vec<Vec<u8>> = relay.stored.values().cloned().collect();
    let failure = download_all(&mut download, &relay, &mut |chunk, bytes| {
        if chunk == 0 {
            all.iter().find(|other| **other != bytes).unwrap().clone()
        } else {
            bytes
        }
    });
    assert_eq!(failure, Err(TransferFailure::Tampered));
    // The chat works on.
    world.send_text(1, bob_alice, "the file did not arrive");
    world.run();
    assert_eq!(
        world.texts(0, alice_bob).last().unwrap(),
        "the file did not arrive"
    );
}

#[test]
fn a_long_description_goes_through_a_redirect() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    let mut relay = Chunks::default();
    // A 300 MiB file's chunks (their content does not matter here).
    let size = 300 * 1024 * 1024;
    let count = sotto_files::plan_chunks(sotto_files::encrypted_len(size).unwrap()).len();
    let digests: Vec<_> = (0..count)
        .map(|n| ChunkDigest::from_bytes([n as u8; 32]))
        .collect();
    let relays = [world.clients[0].relay.clone()];
    let key = FileKey::from_bytes([9; 32]);
    let nonce = FileNonce::from_bytes([9; 19]);
    let mut upload = Upload::new(key, nonce, size, &digests, &relays, 1).unwrap();
    let now = world.now;
    let alice = &mut world.clients[0];
    let number = alice
        .core
        .start_upload(now, alice_bob, "movie.mkv", "video/x-matroska", &upload)
        .unwrap();
    let fake: Vec<Vec<u8>> = vec![Vec::new(); count];
    upload_all(&mut upload, &fake, &mut relay);
    let description = upload
        .description(0, "movie.mkv", "video/x-matroska")
        .unwrap();
    assert!(FileMessage::inline(&description).unwrap().is_none());
    // The description, uploaded as a small file of its own.
    let plain = description.encode().unwrap();
    let redirect_key = FileKey::from_bytes([10; 32]);
    let chunks = encrypt(&redirect_key, &nonce, &plain);
    let digests: Vec<_> = chunks.iter().map(|c| ChunkDigest::of(c)).collect();
    let mut redirect = Upload::new(
        redirect_key,
        nonce,
        plain.len() as u64,
        &digests,
        &relays,
        1,
    )
    .unwrap();
    upload_all(&mut redirect, &chunks, &mut relay);
    let transfer = Transfer::UploadRedirect {
        file: upload,
        redirect: redirect.clone(),
    };
    alice
        .core
        .save_transfer(alice_bob, number, &transfer)
        .unwrap();
    let file = FileMessage::redirect(
        "movie.mkv",
        size,
        "video/x-matroska",
        &redirect.description(0, "", "").unwrap(),
    )
    .unwrap();
    assert_eq!(file.kind, DescriptionKind::Redirect);
    alice
        .core
        .send_file(now, &mut alice.rng, alice_bob, number, file)
        .unwrap();
    world.run();

    let offered = last_file(&world, 1, bob_alice);
    assert_eq!((offered.size, offered.state), (size, "available"));
    let bob = &mut world.clients[1];
    let number = bob
        .core
        .history(bob_alice, None, 1)
        .unwrap()
        .pop()
        .unwrap()
        .number;
    let Transfer::DownloadRedirect(mut download) =
        bob.core.start_download(now, bob_alice, number).unwrap()
    else {
        panic!("the redirect first")
    };
    let content = download_all(&mut download, &relay, &mut |_, bytes| bytes).unwrap();
    // A description of another file is refused.
    let mut other = sotto_files::FileDescription::decode(&content).unwrap();
    other.name = "other.exe".into();
    assert!(
        bob.core
            .redirect_downloaded(bob_alice, number, &other.encode().unwrap())
            .is_err()
    );
    let download = bob
        .core
        .redirect_downloaded(bob_alice, number, &content)
        .unwrap();
    assert_eq!(download.description().chunks.len(), count);
    assert!(matches!(
        bob.core.transfer(bob_alice, number).unwrap(),
        Some(Transfer::Download(_))
    ));
}

#[test]
fn small_files_download_as_they_arrive_and_disappear_with_their_timer() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    let mut relay = Chunks::default();
    let bob = &mut world.clients[1];
    assert_eq!(bob.core.auto_download().unwrap(), None);
    bob.core.set_auto_download(Some(100_000)).unwrap();
    assert_eq!(bob.core.auto_download().unwrap(), Some(100_000));
    let now = world.now;
    let alice = &mut world.clients[0];
    alice
        .core
        .set_timer(now, &mut alice.rng, alice_bob, Some(60))
        .unwrap();
    world.run();
    send_file(
        &mut world,
        &mut relay,
        0,
        alice_bob,
        "small.txt",
        &content(1000, 3),
    );
    send_file(
        &mut world,
        &mut relay,
        0,
        alice_bob,
        "large.txt",
        &content(200_000, 4),
    );
    world.run();
    let states: Vec<_> = world.clients[1]
        .core
        .history(bob_alice, None, 100)
        .unwrap()
        .into_iter()
        .filter_map(|item| item.file.map(|file| file.state))
        .collect();
    assert_eq!(states, ["downloading", "available"]);
    let transfers = world.clients[1].core.file_transfers().unwrap();
    assert_eq!(transfers.len(), 1);
    assert!(!transfers[0].item_gone);
    // The timer runs out on both sides: the records are left to clean up.
    world.advance(Duration::from_secs(61));
    world.run();
    for client in [0, 1] {
        let transfers = world.clients[client].core.file_transfers().unwrap();
        assert!(!transfers.is_empty());
        assert!(transfers.iter().all(|t| t.item_gone), "client {client}");
    }
}
