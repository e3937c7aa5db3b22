//! Files over relays in the browser: the core's stored transfers
//! (`sotto_core::Transfer`) carried out on relay links of their own, as the
//! native runner does (`sotto_client::files`). The machines
//! (`sotto_files::Upload`, `Download`) say what to do next; each step runs as
//! a task of the page (FNEW, FSTAT and pipelined FPUTs of a chunk read from
//! the copy; pipelined FGETs of a chunk, its digest, the chunk into the copy;
//! the whole copy decrypted to check it; FACK); its result goes back into
//! the machine, which the core stores after every chunk, so a transfer
//! stopped anywhere (a reload, a lock) resumes from the last complete chunk.
//!
//! - A file to send is read by slices of the browser's `File`, encrypted
//!   and kept chunk by chunk in the copies (`crate::file_copies`), then
//!   uploaded from there; once every chunk is on its relay the description
//!   goes in the chat message, or, too long for one, is uploaded first as a
//!   small file of its own (a redirect, docs/client-protocol.md §15).
//! - A download shows as received only once every chunk's digest matched
//!   and the whole copy decrypted. Saving decrypts the copy again into what
//!   the page hands over (a file on disk, or a `Blob` for a small one).
//! - Cancelling fails the transfer as cancelled: an upload's chunks are
//!   deleted from the relay (FDEL), a download's acknowledged (FACK).
//! - An item deleted or disappeared: its copies are removed, FDEL or FACK
//!   sent, then the record forgotten.
//!
//! Nothing here holds more than a few chunks (4 MiB each) in memory.
//!
//! Modules: `requests` (the transfers' own relay links), `chunks` (one
//! chunk's steps on its relay), `local_copy` (a file encrypted into the
//! copies, a copy decrypted), `transfer_end` (what follows a transfer's
//! last chunk).

mod chunks;
mod local_copy;
mod requests;
mod transfer_end;

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use sotto_core::{ChatId, Event, FileMedia, FileState, MessageNumber, Transfer};
use sotto_files::{Download, DownloadStep, TransferFailure, Upload, UploadStep};
use sotto_wire::{ChunkDigest, Command, Response};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use self::chunks::{create_chunk, get_chunk, put_chunk};
use self::local_copy::{EncryptError, Source, decrypt_copy, encrypt, forget_encrypting};
use self::requests::{Fault, request};
use self::transfer_end::{downloaded, uploaded};
use crate::client::{Shared, emit, now, pump};
use crate::file_copies::FileCopies;
use crate::link_pool::LinkPool;

/// Pieces of one chunk in flight at once (about 512 KiB).
const PIECE_WINDOW: usize = 32;

/// Plaintext read from a `File` at a time.
const BLOCK: f64 = 1024.0 * 1024.0;

/// Refusals of a chunk's download (other than "no such chunk") after which
/// the file fails as gone.
const MAX_REFUSALS: u32 = 3;

/// The largest redirect content read into memory (a description of 4096
/// chunks is well under it).
const MAX_REDIRECT_LEN: u64 = 4 * 1024 * 1024;

/// The least time between two progress events of one transfer.
const PROGRESS_MS: f64 = 100.0;

/// The file transfers of the unlocked profile. See the module documentation.
#[derive(Default)]
pub(crate) struct Files {
    copies: Option<Rc<FileCopies>>,
    links: LinkPool,
    active: HashMap<(ChatId, MessageNumber), Active>,
    /// The retry timer: its id and the `Date.now()` it is armed for.
    timer: Option<(i32, f64)>,
    refreshing: bool,
    refresh_again: bool,
    /// Copies being encrypted, not listed yet: a refresh leaves them be.
    encrypting: Vec<String>,
}

/// One transfer being carried out.
struct Active {
    name: String,
    media_type: String,
    transfer: Transfer,
    /// Bytes of chunks under way, by chunk.
    partial: HashMap<usize, u64>,
    refusals: HashMap<usize, u32>,
    /// A step that is not a chunk's runs (the message being sent, a
    /// redirect read): the machine waits for it.
    finishing: bool,
    last_progress: f64,
}

impl Active {
    fn upload(&mut self) -> Option<&mut Upload> {
        self.transfer.upload_mut()
    }

    fn download(&mut self) -> Option<&mut Download> {
        self.transfer.download_mut()
    }

    fn redirect_phase(&self) -> bool {
        matches!(
            self.transfer,
            Transfer::UploadRedirect { .. } | Transfer::DownloadRedirect(_)
        )
    }

    fn next_wake(&self) -> Option<u64> {
        match &self.transfer {
            Transfer::Upload(upload)
            | Transfer::UploadRedirect {
                redirect: upload, ..
            } => upload.next_wake(),
            Transfer::Download(download) | Transfer::DownloadRedirect(download) => {
                download.next_wake()
            }
        }
    }
}

impl Files {
    /// Closes every link and forgets what runs (the profile was locked):
    /// the tasks still under way find their transfer gone.
    pub(crate) fn stop(&mut self) {
        self.links.stop();
        self.active.clear();
        if let (Some((id, _)), Some(window)) = (self.timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(id);
        }
    }
}

/// The copies' database, opened on first use.
async fn copies(shared: &Rc<RefCell<Shared>>) -> Result<Rc<FileCopies>, JsValue> {
    if let Some(copies) = &shared.borrow().files.copies {
        return Ok(Rc::clone(copies));
    }
    let copies = Rc::new(FileCopies::open().await?);
    let mut state = shared.borrow_mut();
    Ok(Rc::clone(state.files.copies.get_or_insert(copies)))
}

/// Looks at the stored transfers: cleans up those whose item is gone, and
/// carries on every unfinished one that does not run yet. Called on unlock
/// and whenever a file item appears or changes.
pub(crate) fn refresh(shared: &Rc<RefCell<Shared>>) {
    {
        let mut state = shared.borrow_mut();
        if state.unlocked.is_none() {
            return;
        }
        if state.files.refreshing {
            state.files.refresh_again = true;
            return;
        }
        state.files.refreshing = true;
    }
    let shared = Rc::clone(shared);
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            let generation = shared.borrow().generation;
            let _ = refresh_once(&shared, generation).await;
            let mut state = shared.borrow_mut();
            if !state.files.refresh_again || state.generation != generation {
                state.files.refreshing = false;
                state.files.refresh_again = false;
                break;
            }
            state.files.refresh_again = false;
        }
        advance(&shared);
    });
}

async fn refresh_once(shared: &Rc<RefCell<Shared>>, generation: u64) -> Result<(), JsValue> {
    let copies = copies(shared).await?;
    let stored = {
        let state = shared.borrow();
        let Some(unlocked) = &state.unlocked else {
            return Ok(());
        };
        unlocked
            .core
            .file_transfers()
            .map_err(crate::client::core_error)?
    };
    let kept: Vec<_> = stored.iter().map(|t| (t.chat, t.number)).collect();
    let encrypting = shared.borrow().files.encrypting.clone();
    copies.remove_unless(&kept, &encrypting).await?;
    let mut gone = Vec::new();
    {
        let mut state = shared.borrow_mut();
        if state.generation != generation {
            return Ok(());
        }
        for stored in stored {
            let key = (stored.chat, stored.number);
            if stored.item_gone {
                // Its steps under way find it gone.
                state.files.active.remove(&key);
                gone.push(stored);
                continue;
            }
            if state.files.active.contains_key(&key) {
                continue;
            }
            let unfinished = match (&stored.transfer, stored.state) {
                (Transfer::Upload(_) | Transfer::UploadRedirect { .. }, state) => {
                    state == Some(FileState::Uploading)
                }
                (Transfer::DownloadRedirect(_), state) => state == Some(FileState::Downloading),
                (Transfer::Download(download), state) => {
                    state == Some(FileState::Downloading) || !download.is_finished()
                }
            };
            if unfinished {
                state.files.active.insert(
                    key,
                    Active {
                        name: stored.name,
                        media_type: stored.media_type,
                        transfer: stored.transfer,
                        partial: HashMap::new(),
                        refusals: HashMap::new(),
                        finishing: false,
                        last_progress: 0.0,
                    },
                );
            }
        }
    }
    for stored in gone {
        clean_up(shared, &copies, stored.chat, stored.number, stored.transfer).await;
    }
    Ok(())
}

/// Removes a gone item's copies and tells the relays; forgets the record
/// once they know (a relay that cannot be reached is tried at the next
/// refresh).
async fn clean_up(
    shared: &Rc<RefCell<Shared>>,
    copies: &FileCopies,
    chat: ChatId,
    number: MessageNumber,
    transfer: Transfer,
) {
    if copies.remove(chat, number).await.is_err() {
        return;
    }
    let reached = match transfer {
        Transfer::Upload(upload) => delete_chunks(shared, &upload).await,
        Transfer::UploadRedirect { file, redirect } => {
            delete_chunks(shared, &file).await & delete_chunks(shared, &redirect).await
        }
        Transfer::Download(mut download) | Transfer::DownloadRedirect(mut download) => {
            download.cancel();
            let mut reached = true;
            for step in download.next_steps(u64::MAX) {
                if let DownloadStep::Ack {
                    relay,
                    download_id,
                    secret,
                    ..
                } = step
                {
                    let result = request(
                        shared,
                        &relay,
                        Command::FileAck { download_id },
                        Some(secret),
                    )
                    .await;
                    reached &= matches!(result, Ok(Response::Ok { .. }) | Err(Fault::Refused(_)));
                }
            }
            reached
        }
    };
    if reached {
        let mut state = shared.borrow_mut();
        if let Some(unlocked) = state.unlocked.as_mut() {
            let _ = unlocked.core.forget_transfer(chat, number);
        }
        drop(state);
        pump(shared);
    }
}

/// FDEL of every chunk the upload created; whether each relay answered.
async fn delete_chunks(shared: &Rc<RefCell<Shared>>, upload: &Upload) -> bool {
    let mut reached = true;
    for step in upload.delete_steps() {
        let result = request(
            shared,
            &step.relay,
            Command::FileDel {
                upload_id: step.upload_id,
            },
            Some(step.secret),
        )
        .await;
        reached &= matches!(result, Ok(Response::Ok { .. }) | Err(Fault::Refused(_)));
    }
    reached
}

/// What a step's task reports.
enum Report {
    Created(usize, Result<sotto_files::ChunkIds, Fault>),
    Stored(usize, Result<(), Fault>),
    Fetched(usize, Result<ChunkDigest, Fault>),
    Decrypted(Result<(), Fault>),
    Acked(usize, Result<(), Fault>),
}

/// Starts the steps every running transfer asks for now, and arms the
/// retry timer for the earliest that waits.
pub(crate) fn advance(shared: &Rc<RefCell<Shared>>) {
    let keys: Vec<_> = shared.borrow().files.active.keys().copied().collect();
    let now_ms = now().0;
    for key in keys {
        advance_one(shared, key, now_ms);
    }
    arm_timer(shared);
}

fn advance_one(shared: &Rc<RefCell<Shared>>, key: (ChatId, MessageNumber), now_ms: u64) {
    let generation = shared.borrow().generation;
    let mut state = shared.borrow_mut();
    let Some(active) = state.files.active.get_mut(&key) else {
        return;
    };
    if active.finishing {
        return;
    }
    let redirect = active.redirect_phase();
    if let Some(upload) = active.upload() {
        if let Some(failure) = upload.failure() {
            drop(state);
            fail(shared, key, failure);
            return;
        }
        if upload.is_complete() {
            active.finishing = true;
            drop(state);
            spawn(shared, generation, move |shared| async move {
                uploaded(&shared, key).await;
            });
            return;
        }
        let steps = upload.next_steps(now_ms);
        drop(state);
        for step in steps {
            match step {
                UploadStep::Create {
                    chunk,
                    relay,
                    size,
                    digest,
                    recipients,
                } => spawn(shared, generation, move |shared| async move {
                    let result = create_chunk(&shared, &relay, size, digest, recipients).await;
                    handle(&shared, key, Report::Created(chunk, result));
                }),
                UploadStep::Put {
                    chunk,
                    relay,
                    upload_id,
                    secret,
                    size,
                    ..
                } => spawn(shared, generation, move |shared| async move {
                    let result = put_chunk(
                        &shared, key, redirect, chunk, &relay, upload_id, secret, size,
                    )
                    .await;
                    handle(&shared, key, Report::Stored(chunk, result));
                }),
            }
        }
        return;
    }
    let Some(download) = active.download() else {
        return;
    };
    if download.is_finished() {
        active.finishing = true;
        drop(state);
        spawn(shared, generation, move |shared| async move {
            downloaded(&shared, key).await;
        });
        return;
    }
    let description = download.description().clone();
    let steps = download.next_steps(now_ms);
    drop(state);
    for step in steps {
        match step {
            DownloadStep::Get {
                chunk,
                relay,
                download_id,
                secret,
                size,
                ..
            } => spawn(shared, generation, move |shared| async move {
                let result = get_chunk(
                    &shared,
                    key,
                    redirect,
                    chunk,
                    &relay,
                    download_id,
                    secret,
                    size,
                )
                .await;
                handle(&shared, key, Report::Fetched(chunk, result));
            }),
            DownloadStep::Decrypt => {
                let description = description.clone();
                spawn(shared, generation, move |shared| async move {
                    let result = async {
                        let copies = copies(&shared).await.map_err(|_| Fault::Local)?;
                        let copy = copies
                            .copy_of(key.0, key.1, redirect)
                            .await
                            .map_err(|_| Fault::Local)?
                            .ok_or(Fault::Local)?;
                        decrypt_copy(
                            &copies,
                            &copy,
                            &description.key,
                            &description.nonce,
                            description.size,
                            description.chunks.len(),
                            &mut |_| async { Ok(()) },
                        )
                        .await
                    }
                    .await;
                    handle(&shared, key, Report::Decrypted(result));
                });
            }
            DownloadStep::Ack {
                chunk,
                relay,
                download_id,
                secret,
            } => spawn(shared, generation, move |shared| async move {
                let result = match request(
                    &shared,
                    &relay,
                    Command::FileAck { download_id },
                    Some(secret),
                )
                .await
                {
                    Ok(Response::Ok { .. }) => Ok(()),
                    Ok(_) => Err(Fault::Unexpected),
                    Err(fault) => Err(fault),
                };
                handle(&shared, key, Report::Acked(chunk, result));
            }),
        }
    }
}

/// Runs `task` on the page, unless the profile changed before it starts.
fn spawn<F, Fut>(shared: &Rc<RefCell<Shared>>, generation: u64, task: F)
where
    F: FnOnce(Rc<RefCell<Shared>>) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let weak = Rc::downgrade(shared);
    wasm_bindgen_futures::spawn_local(async move {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        if shared.borrow().generation != generation {
            return;
        }
        task(shared).await;
    });
}

/// Arms the timer for the earliest retry a running transfer waits for.
fn arm_timer(shared: &Rc<RefCell<Shared>>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let at = {
        let state = shared.borrow();
        state
            .files
            .active
            .values()
            .filter(|active| !active.finishing)
            .filter_map(Active::next_wake)
            .filter(|at| *at > now().0)
            .min()
    };
    let mut state = shared.borrow_mut();
    if let (Some((_, armed)), Some(at)) = (state.files.timer, at)
        && armed == at as f64
    {
        return;
    }
    if let Some((id, _)) = state.files.timer.take() {
        window.clear_timeout_with_handle(id);
    }
    let Some(at) = at else {
        return;
    };
    let delay = at.saturating_sub(now().0).min(300_000) as i32;
    let weak = Rc::downgrade(shared);
    let fire = Closure::once_into_js(move || {
        if let Some(shared) = weak.upgrade() {
            shared.borrow_mut().files.timer = None;
            advance(&shared);
        }
    });
    if let Ok(id) = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(fire.unchecked_ref(), delay + 1)
    {
        state.files.timer = Some((id, at as f64));
    }
}

/// Applies a step's report to its machine, stores the machine, and moves on.
fn handle(shared: &Rc<RefCell<Shared>>, key: (ChatId, MessageNumber), report: Report) {
    let now_ms = now().0;
    {
        let mut state = shared.borrow_mut();
        let state = &mut *state;
        let Some(active) = state.files.active.get_mut(&key) else {
            return;
        };
        let Some(unlocked) = state.unlocked.as_mut() else {
            return;
        };
        let core = &mut unlocked.core;
        let store = match report {
            Report::Created(chunk, result) => {
                if let Some(upload) = active.upload() {
                    let _ = match result {
                        Ok(ids) => upload.handle_created(chunk, ids),
                        Err(fault) => upload.handle_error(chunk, now_ms, fault.is_gone()),
                    };
                }
                true
            }
            Report::Stored(chunk, result) => {
                active.partial.remove(&chunk);
                if let Some(upload) = active.upload() {
                    let _ = match result {
                        Ok(()) => upload.handle_stored(chunk),
                        Err(fault) => upload.handle_error(chunk, now_ms, fault.is_gone()),
                    };
                }
                true
            }
            Report::Fetched(chunk, result) => {
                active.partial.remove(&chunk);
                // A relay that keeps refusing to serve a complete chunk lost it.
                let refused = match result {
                    Err(Fault::Refused(_)) => {
                        let count = active.refusals.entry(chunk).or_default();
                        *count += 1;
                        *count >= MAX_REFUSALS
                    }
                    _ => false,
                };
                if let Some(download) = active.download() {
                    let _ = match result {
                        Ok(digest) => download.handle_fetched(chunk, digest).map(|_| ()),
                        Err(fault) => {
                            download.handle_error(chunk, now_ms, refused || fault.is_gone())
                        }
                    };
                }
                true
            }
            Report::Decrypted(result) => {
                let redirect = matches!(active.transfer, Transfer::DownloadRedirect(_));
                let Some(download) = active.download() else {
                    return;
                };
                match result {
                    Ok(()) => download.handle_decrypted(true),
                    Err(Fault::Local) => {
                        // The copy could not be read: the next refresh
                        // resumes from the stored record and checks again.
                        state.files.active.remove(&key);
                        return;
                    }
                    Err(_) => download.handle_decrypted(false),
                }
                let file_state = match download.failure() {
                    Some(failure) => FileState::Failed(failure),
                    None if !redirect => FileState::Received,
                    // A redirect's content is read once its chunks are acknowledged.
                    None => FileState::Downloading,
                };
                let _ = core.finish_transfer(now(), key.0, key.1, &active.transfer, file_state);
                false
            }
            Report::Acked(chunk, result) => {
                if let Some(download) = active.download() {
                    let _ = match result {
                        Ok(()) => download.handle_acked(chunk),
                        Err(fault) => download.handle_error(chunk, now_ms, fault.is_gone()),
                    };
                }
                true
            }
        };
        // A download that failed shows it at once (its FACKs follow).
        let failed = active
            .download()
            .and_then(|download| download.failure().filter(|_| !download.is_received()));
        let _ = match failed {
            _ if !store => Ok(()),
            Some(failure) => core.finish_transfer(
                now(),
                key.0,
                key.1,
                &active.transfer,
                FileState::Failed(failure),
            ),
            None => core.save_transfer(key.0, key.1, &active.transfer),
        };
    }
    pump(shared);
    advance(shared);
}

/// Tells the UI how far a transfer moved, pieces included, at most every
/// [`PROGRESS_MS`].
fn progress(shared: &Rc<RefCell<Shared>>, key: (ChatId, MessageNumber), chunk: usize, moved: u64) {
    let event = {
        let mut state = shared.borrow_mut();
        let Some(active) = state.files.active.get_mut(&key) else {
            return;
        };
        active.partial.insert(chunk, moved);
        let at = js_sys::Date::now();
        if at - active.last_progress < PROGRESS_MS {
            return;
        }
        active.last_progress = at;
        let (done, total) = active.transfer.progress();
        let partial: u64 = active.partial.values().sum();
        Event::FileProgress {
            chat: key.0,
            number: key.1,
            done: (done + partial).min(total),
            total,
        }
    };
    emit(shared, &event);
}

/// The transfer failed (or was cancelled): its item says so.
fn fail(shared: &Rc<RefCell<Shared>>, key: (ChatId, MessageNumber), failure: TransferFailure) {
    {
        let mut state = shared.borrow_mut();
        let state = &mut *state;
        let Some(active) = state.files.active.remove(&key) else {
            return;
        };
        if let Some(unlocked) = state.unlocked.as_mut() {
            let _ = unlocked.core.finish_transfer(
                now(),
                key.0,
                key.1,
                &active.transfer,
                FileState::Failed(failure),
            );
        }
    }
    pump(shared);
}

/// Starts sending `blob` to `chat`: encrypts it into a copy, adds its item
/// and uploads it. Returns the item's number.
pub(crate) async fn send(
    shared: &Rc<RefCell<Shared>>,
    chat: ChatId,
    blob: web_sys::Blob,
    name: String,
    media_type: String,
    media: Option<FileMedia>,
) -> Result<MessageNumber, JsValue> {
    let copies = copies(shared).await?;
    let encrypted = encrypt(shared, &copies, Source::Blob(&blob))
        .await
        .map_err(|error| match error {
            EncryptError::TooLarge => {
                crate::client::error("invalid-input", "the file is too large to send")
            }
            EncryptError::Unreadable => crate::client::error(
                "invalid-input",
                "the file could not be read whole (did it change?)",
            ),
            EncryptError::Storage(cause) => crate::client::error(
                "internal",
                &format!(
                    "the browser's storage refused the file ({})",
                    cause.as_string().unwrap_or_default()
                ),
            ),
        })?;
    let home = shared.borrow().home_relay.clone();
    let upload = Upload::new(
        encrypted.key.clone(),
        encrypted.nonce,
        encrypted.len,
        &encrypted.digests,
        std::slice::from_ref(&home),
        1,
    );
    let started = {
        let mut state = shared.borrow_mut();
        match (state.unlocked.as_mut(), upload) {
            (Some(unlocked), Ok(upload)) => unlocked
                .core
                .start_upload_with_media(now(), chat, &name, &media_type, media, &upload)
                .map(|number| (number, upload))
                .map_err(crate::client::core_error),
            (None, _) => Err(crate::client::error("locked", "the profile is locked")),
            (_, Err(_)) => Err(crate::client::error(
                "invalid-input",
                "the file is too large to send",
            )),
        }
    };
    let (number, upload) = match started {
        Ok(started) => started,
        Err(error) => {
            let _ = copies.remove_copy(&encrypted.copy).await;
            forget_encrypting(shared, &encrypted.copy);
            return Err(error);
        }
    };
    pump(shared);
    let adopted = copies.adopt(&encrypted.copy, chat, number, false).await;
    forget_encrypting(shared, &encrypted.copy);
    adopted.map_err(crate::client::internal)?;
    shared.borrow_mut().files.active.insert(
        (chat, number),
        Active {
            name,
            media_type,
            transfer: Transfer::Upload(upload),
            partial: HashMap::new(),
            refusals: HashMap::new(),
            finishing: false,
            last_progress: 0.0,
        },
    );
    advance(shared);
    Ok(number)
}

/// Starts (or resumes) the download of incoming file `number`.
pub(crate) fn download(
    shared: &Rc<RefCell<Shared>>,
    chat: ChatId,
    number: MessageNumber,
) -> Result<(), JsValue> {
    {
        let mut state = shared.borrow_mut();
        let state = &mut *state;
        let unlocked = state
            .unlocked
            .as_mut()
            .ok_or_else(|| crate::client::error("locked", "the profile is locked"))?;
        let (file, _) = unlocked
            .core
            .offered_file(chat, number)
            .map_err(crate::client::core_error)?;
        let transfer = unlocked
            .core
            .start_download(now(), chat, number)
            .map_err(crate::client::core_error)?;
        let finished = matches!(&transfer, Transfer::Download(download) if download.is_finished());
        if let std::collections::hash_map::Entry::Vacant(slot) =
            state.files.active.entry((chat, number))
            && !finished
        {
            slot.insert(Active {
                name: file.name,
                media_type: file.media_type,
                transfer,
                partial: HashMap::new(),
                refusals: HashMap::new(),
                finishing: false,
                last_progress: 0.0,
            });
        }
    }
    pump(shared);
    advance(shared);
    Ok(())
}

/// Cancels item `number`'s transfer, either way: it fails as cancelled; an
/// upload's chunks are deleted from the relay, a download's acknowledged.
pub(crate) fn cancel(
    shared: &Rc<RefCell<Shared>>,
    chat: ChatId,
    number: MessageNumber,
) -> Result<(), JsValue> {
    let key = (chat, number);
    let upload = {
        let mut state = shared.borrow_mut();
        let Some(active) = state.files.active.get_mut(&key) else {
            return Err(crate::client::error(
                "not-found",
                "no transfer of this file is under way",
            ));
        };
        match &mut active.transfer {
            Transfer::Upload(upload) => {
                upload.cancel();
                Some(vec![upload.clone()])
            }
            Transfer::UploadRedirect { file, redirect } => {
                redirect.cancel();
                Some(vec![file.clone(), redirect.clone()])
            }
            Transfer::Download(download) | Transfer::DownloadRedirect(download) => {
                download.cancel();
                None
            }
        }
    };
    match upload {
        Some(uploads) => {
            fail(shared, key, TransferFailure::Cancelled);
            let generation = shared.borrow().generation;
            spawn(shared, generation, move |shared| async move {
                for upload in uploads {
                    delete_chunks(&shared, &upload).await;
                }
                if let Ok(copies) = copies(&shared).await {
                    let _ = copies.remove(chat, number).await;
                }
            });
        }
        None => {
            {
                let mut state = shared.borrow_mut();
                let state = &mut *state;
                if let (Some(active), Some(unlocked)) =
                    (state.files.active.get(&key), state.unlocked.as_mut())
                {
                    let _ = unlocked.core.finish_transfer(
                        now(),
                        chat,
                        number,
                        &active.transfer,
                        FileState::Failed(TransferFailure::Cancelled),
                    );
                }
            }
            pump(shared);
            advance(shared);
        }
    }
    Ok(())
}

/// Decrypts item `number`'s file (received, or sent from here) into `sink`,
/// a function called with each `Uint8Array` of plaintext in order, whose
/// promise (if it returns one) is awaited before the next.
pub(crate) async fn read(
    shared: &Rc<RefCell<Shared>>,
    chat: ChatId,
    number: MessageNumber,
    sink: js_sys::Function,
) -> Result<(), JsValue> {
    let not_here = || crate::client::error("not-found", "this file is not in this browser");
    let (key, nonce, size, chunks) = {
        let state = shared.borrow();
        let unlocked = state
            .unlocked
            .as_ref()
            .ok_or_else(|| crate::client::error("locked", "the profile is locked"))?;
        let transfer = unlocked
            .core
            .transfer(chat, number)
            .map_err(crate::client::core_error)?
            .ok_or_else(not_here)?;
        match transfer {
            Transfer::Download(download) if download.is_received() => {
                let description = download.description();
                (
                    description.key.clone(),
                    description.nonce,
                    description.size,
                    description.chunks.len(),
                )
            }
            Transfer::Upload(upload) | Transfer::UploadRedirect { file: upload, .. }
                if upload.is_complete() =>
            {
                let description = upload.description(0, "", "").map_err(|_| not_here())?;
                (
                    description.key.clone(),
                    description.nonce,
                    description.size,
                    description.chunks.len(),
                )
            }
            _ => return Err(not_here()),
        }
    };
    let copies = copies(shared).await?;
    let copy = copies
        .copy_of(chat, number, false)
        .await?
        .ok_or_else(not_here)?;
    let result = decrypt_copy(
        &copies,
        &copy,
        &key,
        &nonce,
        size,
        chunks,
        &mut |plain: Vec<u8>| {
            let sink = sink.clone();
            async move {
                let written = sink
                    .call1(&JsValue::NULL, &js_sys::Uint8Array::from(plain.as_slice()))
                    .map_err(|_| Fault::Local)?;
                if let Ok(promise) = written.dyn_into::<js_sys::Promise>() {
                    JsFuture::from(promise).await.map_err(|_| Fault::Local)?;
                }
                Ok(())
            }
        },
    )
    .await;
    match result {
        Ok(()) => Ok(()),
        Err(Fault::Local) => Err(crate::client::error(
            "internal",
            "the file could not be read from the browser's storage, or not written",
        )),
        Err(_) => Err(crate::client::error(
            "invalid-input",
            "the file does not decrypt: it was altered",
        )),
    }
}
