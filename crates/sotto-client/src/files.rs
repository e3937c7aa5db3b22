//! Files over relays, natively: the profile's encrypted copies
//! ([`FileStore`], module `local`) and the [`FileRunner`], which carries
//! out the core's stored transfers (`sotto_core::Transfer`) on relay
//! connections of its own: the steps each machine asks for run a few
//! chunks at a time in spawned tasks, their results go back into the
//! machine, and the machine is stored after every chunk, so a transfer
//! stopped anywhere resumes from the last complete chunk.
//!
//! - Upload: the file encrypted into the copy on a blocking thread, each
//!   chunk's digest handed to the machine as the chunk is written; for each
//!   chunk whose digest is known, FNEW, then FSTAT and the FPUTs from where
//!   the relay stands, read from the copy; once every chunk is complete the
//!   description goes in the chat message, or, too long for one, is
//!   encrypted and uploaded as a small file first (a redirect).
//! - Download: FGET of each chunk into the copy, its digest checked, then
//!   the whole copy decrypted to check it before the file shows as
//!   received (the copy stays encrypted), then FACK. A redirect downloads
//!   first and leads to the file's own download.
//! - A deleted or disappeared item: the copies are removed and FDEL (the
//!   sender) or FACK (a recipient) sent, then the record forgotten. A
//!   group's file is never acknowledged: its chunks serve every member.
//!
//! Everything that touches the core runs on the caller's task.

pub mod local;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use rand::rngs::OsRng;
use sotto_core::{ChatId, Core, CoreError, FileMessage, FileState, MessageNumber, Store, Transfer};
use sotto_files::{
    Download, DownloadStep, FileKey, FileNonce, TransferFailure, Upload, UploadStep,
};
use sotto_wire::{ChunkDigest, ChunkSize, ErrorCode, FilePiece, MAX_PIECE_LEN, RelayAddress};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::ClientError;
use crate::relay::{ChunkDownload, ChunkUpload, is_gone};
use crate::relay::{ConnectOptions, RelayConnection};
use crate::runtime::now_millis;
pub use local::{Encrypted, FileStore};

/// Pieces of one chunk in flight at once.
const PIECE_WINDOW: usize = 64;

/// How often a run looks again at transfers waiting for a retry.
const POLL_MS: u64 = 250;

/// Refusals of a chunk (other than "no such chunk": a relay that cannot
/// read it back, say) after which the file fails as gone, in one run.
const MAX_REFUSALS: u32 = 3;

/// A transfer's progress, for a progress bar: chunk bytes moved so far
/// (pieces included) and in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The chat.
    pub chat: ChatId,
    /// The file's item.
    pub number: MessageNumber,
    /// Whether this profile sends the file.
    pub upload: bool,
    /// Bytes moved.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

/// How one transfer stands when [`FileRunner::run`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Uploaded, and its message queued (the runtime sends it).
    Sent,
    /// Downloaded and checked.
    Received,
    /// It failed, for this reason (in its item too).
    Failed(TransferFailure),
    /// Not finished: a relay did not answer in time, or a retry waits.
    Waiting,
    /// Not finished: the relay is out of storage (ERR FULL) and takes no
    /// new chunk for now. Nothing is lost: the copy and the record stay,
    /// and the next run goes on from where this one stopped.
    RelayFull,
    /// Its item is gone: the copies are removed, the relays told.
    Removed,
}

/// Which transfers [`FileRunner::run`] carries on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Every unfinished one.
    All,
    /// Only this item's (and the clean-up of removed items).
    One(ChatId, MessageNumber),
}

/// What a step's task reports.
enum Report {
    /// A chunk of an upload's file is in the copy: its digest.
    Encrypted(usize, usize, ChunkDigest),
    /// The encryption of an upload's file ended (whether it succeeded).
    EncryptionEnded(usize, bool),
    Created(usize, usize, Result<sotto_files::ChunkIds, ClientError>),
    Sent(usize, usize, u32),
    Stored(usize, usize, Result<(), ClientError>),
    Received(usize, usize, u32),
    Fetched(usize, usize, Result<ChunkDigest, ClientError>),
    /// The check's outcome, and whether the file was saved meanwhile.
    Decrypted(usize, Result<(), local::DecryptError>, bool),
    Acked(usize, usize, Result<(), ClientError>),
}

impl Report {
    /// Whether it is progress (not a failure).
    fn moved(&self) -> bool {
        match self {
            Report::Sent(..)
            | Report::Received(..)
            | Report::Encrypted(..)
            | Report::EncryptionEnded(..) => true,
            Report::Created(_, _, result) => result.is_ok(),
            Report::Stored(_, _, result) | Report::Acked(_, _, result) => result.is_ok(),
            Report::Fetched(_, _, result) => result.is_ok(),
            Report::Decrypted(_, result, _) => result.is_ok(),
        }
    }
}

/// One transfer being carried out.
struct Active {
    chat: ChatId,
    number: MessageNumber,
    name: String,
    media_type: String,
    transfer: Transfer,
    /// Bytes of chunks under way, by chunk.
    partial: HashMap<usize, u64>,
    /// Refusals of each chunk's download other than "no such chunk".
    refusals: HashMap<usize, u32>,
    /// Whether the whole-file check (local work, however long) runs.
    checking: bool,
    /// Whether the upload's file is being encrypted (local work too).
    encrypting: bool,
    outcome: Option<Outcome>,
}

impl Active {
    fn redirect_phase(&self) -> bool {
        matches!(
            self.transfer,
            Transfer::UploadRedirect { .. } | Transfer::DownloadRedirect(_)
        )
    }

    fn upload(&mut self) -> Option<&mut Upload> {
        self.transfer.upload_mut()
    }

    fn download(&mut self) -> Option<&mut Download> {
        self.transfer.download_mut()
    }

    fn progress(&self) -> Progress {
        let (done, total) = self.transfer.progress();
        let partial: u64 = self.partial.values().sum();
        Progress {
            chat: self.chat,
            number: self.number,
            upload: matches!(
                self.transfer,
                Transfer::Upload(_) | Transfer::UploadRedirect { .. }
            ),
            done: (done + partial).min(total),
            total,
        }
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

/// Relay connections for file transfers, one per relay, made when a step
/// needs them and made again after they fail.
#[derive(Clone)]
struct Connections {
    options: ConnectOptions,
    open: Arc<Mutex<HashMap<String, Arc<RelayConnection>>>>,
}

impl Connections {
    async fn get(&self, relay: &RelayAddress) -> Result<Arc<RelayConnection>, ClientError> {
        let key = relay.to_string();
        let mut open = self.open.lock().await;
        if let Some(connection) = open.get(&key)
            && !connection.is_closed()
        {
            return Ok(connection.clone());
        }
        let (connection, _pushes) = RelayConnection::connect(relay, &self.options).await?;
        let connection = Arc::new(connection);
        open.insert(key, connection.clone());
        Ok(connection)
    }

    /// A step failed on `connection`: the next one connects again.
    async fn failed(&self, relay: &RelayAddress, error: &ClientError) {
        if !matches!(error, ClientError::Refused(_)) {
            self.open.lock().await.remove(&relay.to_string());
        }
    }
}

/// Carries out a profile's file transfers. See the module documentation.
pub struct FileRunner {
    store: FileStore,
    connections: Connections,
    /// Where to save files in plain form as their check decrypts them.
    save: HashMap<(ChatId, MessageNumber), PathBuf>,
    /// The files saved so.
    saved: HashSet<(ChatId, MessageNumber)>,
}

impl FileRunner {
    /// A runner over the copies in `store`, connecting to relays with
    /// `options`.
    pub fn new(store: FileStore, options: ConnectOptions) -> FileRunner {
        FileRunner {
            store,
            connections: Connections {
                options,
                open: Arc::new(Mutex::new(HashMap::new())),
            },
            save: HashMap::new(),
            saved: HashSet::new(),
        }
    }

    /// Saves item `number`'s file in plain form as `destination` (a new
    /// file) while the check after its download decrypts it, so it is
    /// decrypted once. If that file cannot be made, the check goes on
    /// without it; [`FileRunner::was_saved`] tells.
    pub fn save_when_received(
        &mut self,
        chat: ChatId,
        number: MessageNumber,
        destination: PathBuf,
    ) {
        self.save.insert((chat, number), destination);
    }

    /// Whether item `number`'s file was saved as
    /// [`FileRunner::save_when_received`] asked.
    pub fn was_saved(&self, chat: ChatId, number: MessageNumber) -> bool {
        self.saved.contains(&(chat, number))
    }

    /// The profile's copies.
    pub fn store(&self) -> &FileStore {
        &self.store
    }

    /// Starts sending the file at `source` to `chat`, named `name`, of type
    /// `media_type`: asks the relay's limit for files (FLIM) and refuses a
    /// file over it ([`ClientError::FileTooLarge`]) before any work, then
    /// adds its item with an upload still to be encrypted, and keeps where
    /// the file is. [`FileRunner::run`] encrypts it into the profile's copy
    /// and uploads each chunk as soon as it is there, so the two overlap; a
    /// run stopped during the encryption encrypts it again from `source`.
    pub async fn start_upload<S: Store>(
        &self,
        core: &mut Core<S>,
        chat: ChatId,
        source: &Path,
        name: &str,
        media_type: &str,
        relay: &RelayAddress,
    ) -> Result<MessageNumber, ClientError> {
        let len = std::fs::metadata(source)
            .map_err(ClientError::LocalFile)?
            .len();
        let needed = relay_bytes(len).ok_or(ClientError::FileTooLarge {
            needed: len,
            limit: 0,
        })?;
        let limits = self.connections.get(relay).await?.file_limits().await?;
        if needed > limits.max_file_size {
            return Err(ClientError::FileTooLarge {
                needed,
                limit: limits.max_file_size,
            });
        }
        let mut key = zeroize::Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(key.as_mut_slice());
        let mut nonce = [0u8; sotto_files::FILE_NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let upload = Upload::encrypting(
            FileKey::from_bytes(*key),
            FileNonce::from_bytes(nonce),
            len,
            std::slice::from_ref(relay),
            1,
        )
        .map_err(|_| CoreError::InvalidValue("file too large"))?;
        let number = core.start_upload(now_millis(), chat, name, media_type, &upload)?;
        core.set_upload_source(chat, number, Some(source.as_os_str().as_encoded_bytes()))?;
        core.sync()?;
        Ok(number)
    }

    /// Carries on the stored transfers `which` names, and cleans up those
    /// whose item is gone, until each is finished or nothing moved for
    /// `stall` (then what is left waits for the next run). `progress` hears
    /// of every piece. Returns how each transfer stands.
    pub async fn run<S: Store>(
        &mut self,
        core: &mut Core<S>,
        which: Which,
        stall: Duration,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<(ChatId, MessageNumber, Outcome)>, ClientError> {
        let mut outcomes = Vec::new();
        let mut active = Vec::new();
        let stored = core.file_transfers()?;
        let kept: Vec<_> = stored.iter().map(|t| (t.chat, t.number)).collect();
        self.store
            .remove_unless(&kept)
            .map_err(ClientError::LocalFile)?;
        for stored in stored {
            if stored.item_gone {
                let outcome = self
                    .clean_up(core, stored.chat, stored.number, stored.transfer)
                    .await?;
                outcomes.push((stored.chat, stored.number, outcome));
                continue;
            }
            if which != Which::All && which != Which::One(stored.chat, stored.number) {
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
                // A run the user started tries at once what an earlier one
                // left waiting for a retry (a relay down for longer than
                // that run's patience would otherwise leave every chunk
                // waiting longer than this one's, and it would give up
                // without trying).
                let mut transfer = stored.transfer;
                match &mut transfer {
                    Transfer::Upload(upload) => upload.retry_now(),
                    Transfer::UploadRedirect { redirect, .. } => redirect.retry_now(),
                    Transfer::Download(download) | Transfer::DownloadRedirect(download) => {
                        download.retry_now();
                    }
                }
                active.push(Active {
                    chat: stored.chat,
                    number: stored.number,
                    name: stored.name,
                    media_type: stored.media_type,
                    transfer,
                    partial: HashMap::new(),
                    refusals: HashMap::new(),
                    checking: false,
                    encrypting: false,
                    outcome: None,
                });
            }
        }
        let (reports, mut inbox) = mpsc::unbounded_channel();
        let mut tasks = JoinSet::new();
        let mut last_move = Instant::now();
        let mut syncing: Option<
            tokio::task::JoinHandle<Result<sotto_core::WriteMark, sotto_core::StoreError>>,
        > = None;
        loop {
            while tasks.try_join_next().is_some() {}
            let now = now_millis().0;
            for (slot, transfer) in active.iter_mut().enumerate() {
                if transfer.outcome.is_none() {
                    self.advance(core, slot, transfer, now, &reports, &mut tasks)
                        .await?;
                }
            }
            if active.iter().all(|transfer| transfer.outcome.is_some()) {
                break;
            }
            // Wait for a report, the next retry (the machines tell the
            // earliest of their waits, or a moment when a chunk that is done
            // hides it), or the stall limit.
            let retry = active
                .iter()
                .filter(|transfer| transfer.outcome.is_none())
                .filter_map(Active::next_wake)
                .min()
                .map(|at| Duration::from_millis(at.saturating_sub(now).max(POLL_MS)));
            // The stall limit is for relays: a file being checked is not
            // waiting for one.
            if active
                .iter()
                .any(|transfer| transfer.checking || transfer.encrypting)
            {
                last_move = Instant::now();
            }
            let give_up = last_move + stall;
            if Instant::now() >= give_up {
                break;
            }
            let wake = retry.map_or(give_up, |wait| (Instant::now() + wait).min(give_up));
            let report = tokio::select! {
                report = inbox.recv() => report,
                () = tokio::time::sleep_until(wake) => None,
            };
            let Some(report) = report else {
                if Instant::now() >= give_up {
                    break;
                }
                continue;
            };
            let mut batch = vec![report];
            while let Ok(report) = inbox.try_recv() {
                batch.push(report);
            }
            if batch.iter().any(Report::moved) {
                last_move = Instant::now();
            }
            for report in batch {
                self.handle(core, &mut active, report, progress)?;
            }
            // Committed at once, made durable on a blocking thread without
            // waiting: a stopped process keeps what it committed, and after
            // a power cut at worst a chunk is created, sent or fetched again
            // (a fetched chunk's bytes are on disk before its record).
            if syncing.as_ref().is_none_or(|task| task.is_finished()) {
                if let Some(task) = syncing.take()
                    && let Ok(result) = task.await
                {
                    core.handle_synced(result.map_err(CoreError::from)?);
                }
                if let Some(ticket) = core.start_sync()? {
                    syncing = Some(tokio::task::spawn_blocking(move || ticket.finish()));
                }
            }
        }
        tasks.abort_all();
        if let Some(task) = syncing
            && let Ok(result) = task.await
        {
            core.handle_synced(result.map_err(CoreError::from)?);
        }
        for transfer in active {
            let outcome = transfer.outcome.unwrap_or(Outcome::Waiting);
            outcomes.push((transfer.chat, transfer.number, outcome));
        }
        core.sync()?;
        Ok(outcomes)
    }

    /// Starts the steps `transfer` asks for now, or moves it on when its
    /// machine is done.
    async fn advance<S: Store>(
        &self,
        core: &mut Core<S>,
        slot: usize,
        transfer: &mut Active,
        now: u64,
        reports: &mpsc::UnboundedSender<Report>,
        tasks: &mut JoinSet<()>,
    ) -> Result<(), ClientError> {
        let path = self
            .store
            .path(transfer.chat, transfer.number, transfer.redirect_phase());
        if let Some(upload) = transfer.upload() {
            if let Some(failure) = upload.failure() {
                return self.fail(core, transfer, failure);
            }
            if upload.is_complete() {
                return self.uploaded(core, transfer).await;
            }
            let encrypted = upload.is_encrypted();
            let (key, nonce, len) = (upload.key().clone(), upload.nonce(), upload.file_len());
            if !encrypted && !transfer.encrypting {
                // Its file goes into the copy while its chunks go up.
                let Some(source) = core.upload_source(transfer.chat, transfer.number)? else {
                    return self.fail(core, transfer, TransferFailure::Cancelled);
                };
                transfer.encrypting = true;
                let copy = path.clone();
                let reports = reports.clone();
                tasks.spawn(async move {
                    let encrypted = reports.clone();
                    let ended = tokio::task::spawn_blocking(move || {
                        encrypt_from(&source, &copy, &key, &nonce, len, &mut |chunk, digest| {
                            let _ = encrypted.send(Report::Encrypted(slot, chunk, digest));
                        })
                    })
                    .await
                    .unwrap_or(false);
                    let _ = reports.send(Report::EncryptionEnded(slot, ended));
                });
            } else if encrypted && !path.exists() {
                // Without its copy (a profile imported from an archive,
                // which holds no copies) an upload cannot go on: it ends
                // cancelled rather than retried.
                return self.fail(core, transfer, TransferFailure::Cancelled);
            }
            let Some(upload) = transfer.upload() else {
                return Ok(());
            };
            let offsets = chunk_offsets(upload);
            for step in upload.next_steps(now) {
                let connections = self.connections.clone();
                let reports = reports.clone();
                match step {
                    UploadStep::Create {
                        chunk,
                        relay,
                        size,
                        digest,
                        recipients,
                    } => {
                        tasks.spawn(async move {
                            let result = async {
                                let connection = connections.get(&relay).await?;
                                let created = connection
                                    .create_chunk(size, digest, recipients, None)
                                    .await?;
                                Ok(sotto_files::ChunkIds {
                                    upload_id: created.upload.upload_id(),
                                    upload_secret: created.upload.auth_key().clone(),
                                    downloads: created
                                        .downloads
                                        .iter()
                                        .map(|d| (d.download_id(), d.auth_key().clone()))
                                        .collect(),
                                })
                            }
                            .await;
                            if let Err(error) = &result {
                                connections.failed(&relay, error).await;
                            }
                            let _ = reports.send(Report::Created(slot, chunk, result));
                        });
                    }
                    UploadStep::Put {
                        chunk,
                        relay,
                        upload_id,
                        secret,
                        size,
                        digest,
                    } => {
                        let path = path.clone();
                        let offset = offsets.get(chunk).copied().unwrap_or(0);
                        tasks.spawn(async move {
                            let upload = ChunkUpload::new(upload_id, secret, size, digest);
                            let result =
                                put_chunk(&connections, &relay, &upload, &path, offset, |sent| {
                                    let _ = reports.send(Report::Sent(slot, chunk, sent));
                                })
                                .await;
                            if let Err(error) = &result {
                                connections.failed(&relay, error).await;
                            }
                            let _ = reports.send(Report::Stored(slot, chunk, result));
                        });
                    }
                }
            }
            return Ok(());
        }
        let redirect = matches!(transfer.transfer, Transfer::DownloadRedirect(_));
        let Some(download) = transfer.download() else {
            return Ok(());
        };
        if download.is_finished() {
            return self.downloaded(core, transfer).await;
        }
        let description = download.description().clone();
        let mut checking = false;
        for step in download.next_steps(now) {
            let connections = self.connections.clone();
            let reports = reports.clone();
            match step {
                DownloadStep::Get {
                    chunk,
                    relay,
                    download_id,
                    secret,
                    size,
                    digest,
                    ..
                } => {
                    let path = path.clone();
                    let offset = local::chunk_offset(&description, chunk);
                    tasks.spawn(async move {
                        let download = ChunkDownload::new(download_id, secret, size, digest);
                        let result = get_chunk(
                            &connections,
                            &relay,
                            &download,
                            size,
                            &path,
                            offset,
                            |got| {
                                let _ = reports.send(Report::Received(slot, chunk, got));
                            },
                        )
                        .await;
                        if let Err(error) = &result {
                            connections.failed(&relay, error).await;
                        }
                        let _ = reports.send(Report::Fetched(slot, chunk, result));
                    });
                }
                DownloadStep::Decrypt => {
                    checking = true;
                    let path = path.clone();
                    let description = description.clone();
                    let reports = reports.clone();
                    let save = self
                        .save
                        .get(&(transfer.chat, transfer.number))
                        .filter(|_| !redirect)
                        .cloned();
                    tasks.spawn(async move {
                        // Checked (and saved), then made durable: the
                        // acknowledgements that let the relay delete the
                        // chunks follow.
                        let result = tokio::task::spawn_blocking(move || {
                            let durable =
                                |(result, saved): (Result<(), local::DecryptError>, bool)| {
                                    let result = result.and_then(|()| {
                                        local::sync_copy(&path).map_err(local::DecryptError::Io)
                                    });
                                    (result, saved)
                                };
                            if let Some(destination) = save {
                                match local::save(&path, &description, &destination) {
                                    Ok(()) => return durable((Ok(()), true)),
                                    // Not saved: checked all the same.
                                    Err(local::DecryptError::Io(_)) => {}
                                    Err(error) => return (Err(error), false),
                                }
                            }
                            durable((local::decrypt(&path, &description, &mut |_| Ok(())), false))
                        })
                        .await
                        .unwrap_or((Err(local::DecryptError::Forged), false));
                        let _ = reports.send(Report::Decrypted(slot, result.0, result.1));
                    });
                }
                DownloadStep::Ack {
                    chunk,
                    relay,
                    download_id,
                    secret,
                } => {
                    tasks.spawn(async move {
                        let download = ChunkDownload::new(
                            download_id,
                            secret,
                            ChunkSize::Kib64,
                            digest_zero(),
                        );
                        let result =
                            async { connections.get(&relay).await?.ack_chunk(&download).await }
                                .await;
                        if let Err(error) = &result {
                            connections.failed(&relay, error).await;
                        }
                        let _ = reports.send(Report::Acked(slot, chunk, result));
                    });
                }
            }
        }
        if checking {
            transfer.checking = true;
        }
        Ok(())
    }

    /// Applies a report to its machine; whether something was stored.
    fn handle<S: Store>(
        &mut self,
        core: &mut Core<S>,
        active: &mut [Active],
        report: Report,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<bool, ClientError> {
        let now = now_millis().0;
        let slot = match &report {
            Report::Encrypted(slot, ..)
            | Report::EncryptionEnded(slot, ..)
            | Report::Created(slot, ..)
            | Report::Sent(slot, ..)
            | Report::Stored(slot, ..)
            | Report::Received(slot, ..)
            | Report::Fetched(slot, ..)
            | Report::Decrypted(slot, ..)
            | Report::Acked(slot, ..) => *slot,
        };
        let Some(transfer) = active.get_mut(slot) else {
            return Ok(false);
        };
        if transfer.outcome.is_some() {
            return Ok(false);
        }
        let bad = |_| CoreError::InvalidValue("chunk");
        // A relay out of storage takes no chunk until space is freed: this
        // run stops there rather than retrying for its whole stall time.
        let full = matches!(
            &report,
            Report::Created(_, _, Err(ClientError::Refused(ErrorCode::Full)))
                | Report::Stored(_, _, Err(ClientError::Refused(ErrorCode::Full)))
        );
        let stored = match report {
            Report::Encrypted(_, chunk, digest) => {
                let Some(upload) = transfer.upload() else {
                    return Ok(false);
                };
                if chunk < upload.encrypted_chunks() {
                    // Encrypted again after a restart: the same file gives
                    // the same chunk, else it changed meanwhile.
                    if upload.digest(chunk) == Some(digest) {
                        return Ok(false);
                    }
                    self.fail(core, transfer, TransferFailure::Cancelled)?;
                    return Ok(true);
                }
                upload.handle_encrypted(chunk, digest).map_err(bad)?;
                true
            }
            Report::EncryptionEnded(_, ended) => {
                transfer.encrypting = false;
                let encrypted = transfer
                    .upload()
                    .is_some_and(|upload| upload.is_encrypted());
                if !(ended && encrypted) {
                    // The file could not be read whole, or changed.
                    self.fail(core, transfer, TransferFailure::Cancelled)?;
                    return Ok(true);
                }
                core.set_upload_source(transfer.chat, transfer.number, None)?;
                return Ok(true);
            }
            Report::Sent(_, chunk, sent) | Report::Received(_, chunk, sent) => {
                transfer.partial.insert(chunk, u64::from(sent));
                progress(transfer.progress());
                return Ok(false);
            }
            Report::Created(_, chunk, result) => {
                let Some(upload) = transfer.upload() else {
                    return Ok(false);
                };
                match result {
                    Ok(ids) => upload.handle_created(chunk, ids).map_err(bad)?,
                    Err(error) => {
                        tracing::debug!(%error, "chunk not created");
                        upload
                            .handle_error(chunk, now, is_gone(&error))
                            .map_err(bad)?;
                    }
                }
                true
            }
            Report::Stored(_, chunk, result) => {
                transfer.partial.remove(&chunk);
                let Some(upload) = transfer.upload() else {
                    return Ok(false);
                };
                match result {
                    Ok(()) => upload.handle_stored(chunk).map_err(bad)?,
                    Err(error) => {
                        tracing::debug!(%error, "chunk not uploaded");
                        upload
                            .handle_error(chunk, now, is_gone(&error))
                            .map_err(bad)?;
                    }
                }
                true
            }
            Report::Fetched(_, chunk, result) => {
                transfer.partial.remove(&chunk);
                // A relay that keeps refusing to serve a complete chunk lost it.
                let refused = match &result {
                    Err(ClientError::Refused(_)) => {
                        let count = transfer.refusals.entry(chunk).or_default();
                        *count += 1;
                        *count >= MAX_REFUSALS
                    }
                    _ => false,
                };
                let Some(download) = transfer.download() else {
                    return Ok(false);
                };
                match result {
                    Ok(digest) => {
                        download.handle_fetched(chunk, digest).map_err(bad)?;
                    }
                    Err(error) => {
                        tracing::debug!(%error, "chunk not downloaded");
                        download
                            .handle_error(chunk, now, refused || is_gone(&error))
                            .map_err(bad)?;
                    }
                }
                true
            }
            Report::Decrypted(_, result, saved) => {
                transfer.checking = false;
                if saved {
                    self.saved.insert((transfer.chat, transfer.number));
                }
                let Some(download) = transfer.download() else {
                    return Ok(false);
                };
                match result {
                    Ok(()) => download.handle_decrypted(true),
                    Err(local::DecryptError::Forged) => download.handle_decrypted(false),
                    Err(local::DecryptError::Damaged(chunks)) => {
                        // Fetched again; the check runs again after them.
                        download.handle_copy_damaged(&chunks).map_err(bad)?;
                        core.save_transfer(transfer.chat, transfer.number, &transfer.transfer)?;
                        progress(transfer.progress());
                        return Ok(true);
                    }
                    Err(local::DecryptError::Io(error)) => {
                        return Err(ClientError::LocalFile(error));
                    }
                }
                let state = match download.failure() {
                    Some(failure) => FileState::Failed(failure),
                    None if matches!(transfer.transfer, Transfer::Download(_)) => {
                        FileState::Received
                    }
                    // A redirect's content is read once its chunks are acknowledged.
                    None => FileState::Downloading,
                };
                core.finish_transfer(
                    now_millis(),
                    transfer.chat,
                    transfer.number,
                    &transfer.transfer,
                    state,
                )?;
                progress(transfer.progress());
                return Ok(true);
            }
            Report::Acked(_, chunk, result) => {
                let Some(download) = transfer.download() else {
                    return Ok(false);
                };
                match result {
                    Ok(()) => download.handle_acked(chunk).map_err(bad)?,
                    Err(error) => download
                        .handle_error(chunk, now, is_gone(&error))
                        .map_err(bad)?,
                }
                true
            }
        };
        if stored {
            // A download that failed shows it at once (its FACKs follow).
            if let Some(download) = transfer.download()
                && let Some(failure) = download.failure()
                && !download.is_received()
            {
                let state = FileState::Failed(failure);
                core.finish_transfer(
                    now_millis(),
                    transfer.chat,
                    transfer.number,
                    &transfer.transfer,
                    state,
                )?;
            } else {
                core.save_transfer(transfer.chat, transfer.number, &transfer.transfer)?;
            }
            progress(transfer.progress());
        }
        if full {
            transfer.outcome = Some(Outcome::RelayFull);
        }
        Ok(stored)
    }

    fn fail<S: Store>(
        &self,
        core: &mut Core<S>,
        transfer: &mut Active,
        failure: TransferFailure,
    ) -> Result<(), ClientError> {
        core.finish_transfer(
            now_millis(),
            transfer.chat,
            transfer.number,
            &transfer.transfer,
            FileState::Failed(failure),
        )?;
        transfer.outcome = Some(Outcome::Failed(failure));
        Ok(())
    }

    /// Every chunk of the current upload is on its relay: send the message,
    /// or upload the description first.
    async fn uploaded<S: Store>(
        &self,
        core: &mut Core<S>,
        transfer: &mut Active,
    ) -> Result<(), ClientError> {
        let (chat, number) = (transfer.chat, transfer.number);
        let invalid = |_| CoreError::InvalidValue("file description");
        let message = match &transfer.transfer {
            Transfer::Upload(upload) => {
                let description = upload
                    .description(0, &transfer.name, &transfer.media_type)
                    .map_err(invalid)?;
                match FileMessage::inline(&description)? {
                    Some(message) => message,
                    None => {
                        // Too long for a message: upload it as a file of its own.
                        let content =
                            zeroize::Zeroizing::new(description.encode().map_err(invalid)?);
                        let store = self.store.clone();
                        let encrypted = tokio::task::spawn_blocking(move || {
                            store.encrypt(&mut content.as_slice(), content.len() as u64)
                        })
                        .await
                        .map_err(|_| ClientError::Closed)?
                        .map_err(invalid)?;
                        let relays: Vec<RelayAddress> = description
                            .chunks
                            .first()
                            .map(|c| c.relay.clone())
                            .into_iter()
                            .collect();
                        let redirect = Upload::new(
                            encrypted.key.clone(),
                            encrypted.nonce,
                            encrypted.len,
                            &encrypted.digests,
                            &relays,
                            1,
                        )
                        .map_err(invalid)?;
                        self.store
                            .adopt(&encrypted, chat, number, true)
                            .map_err(ClientError::LocalFile)?;
                        transfer.transfer = Transfer::UploadRedirect {
                            file: upload.clone(),
                            redirect,
                        };
                        core.save_transfer(chat, number, &transfer.transfer)?;
                        core.sync()?;
                        return Ok(());
                    }
                }
            }
            Transfer::UploadRedirect { redirect, .. } => {
                let description = redirect.description(0, "", "").map_err(invalid)?;
                FileMessage::redirect(
                    &transfer.name,
                    match &transfer.transfer {
                        Transfer::UploadRedirect { file, .. } => file.file_len(),
                        _ => 0,
                    },
                    &transfer.media_type,
                    &description,
                )?
            }
            _ => return Ok(()),
        };
        // A group's file message is an entry for its log, kept by the core
        // until the log has it: the caller's next read of the log appends
        // it (`Core::group_unsent`), in the group's epoch of that moment.
        // None in a group: this member is no longer in it, the file failed.
        let entry = core.send_file(now_millis(), &mut OsRng, chat, number, message)?;
        transfer.outcome = Some(if entry.is_none() && core.chat(chat)?.members.is_some() {
            Outcome::Failed(TransferFailure::Cancelled)
        } else {
            Outcome::Sent
        });
        Ok(())
    }

    /// A download's machine is done (received or failed, acknowledged).
    async fn downloaded<S: Store>(
        &self,
        core: &mut Core<S>,
        transfer: &mut Active,
    ) -> Result<(), ClientError> {
        let (chat, number) = (transfer.chat, transfer.number);
        let redirect = matches!(transfer.transfer, Transfer::DownloadRedirect(_));
        let Some(download) = transfer.download() else {
            return Ok(());
        };
        if let Some(failure) = download.failure() {
            transfer.outcome = Some(Outcome::Failed(failure));
            return Ok(());
        }
        if !redirect {
            transfer.outcome = Some(Outcome::Received);
            return Ok(());
        }
        // A redirect: its content is the file's description.
        let description = download.description().clone();
        let path = self.store.path(chat, number, true);
        let content =
            tokio::task::spawn_blocking(move || local::read_redirect(&path, &description))
                .await
                .map_err(|_| ClientError::Closed)?;
        let next = match content {
            Ok(content) => core.redirect_downloaded(chat, number, &content).ok(),
            Err(local::DecryptError::Io(error)) => return Err(ClientError::LocalFile(error)),
            Err(local::DecryptError::Forged | local::DecryptError::Damaged(_)) => None,
        };
        match next {
            Some(download) => {
                let _ = std::fs::remove_file(self.store.path(chat, number, true));
                transfer.transfer = Transfer::Download(download);
            }
            None => self.fail(core, transfer, TransferFailure::Forged)?,
        }
        core.sync()?;
        Ok(())
    }

    /// Removes a gone item's copies and tells the relays; forgets the
    /// record once they know (a relay that cannot be reached is tried at
    /// the next run).
    async fn clean_up<S: Store>(
        &self,
        core: &mut Core<S>,
        chat: ChatId,
        number: MessageNumber,
        transfer: Transfer,
    ) -> Result<Outcome, ClientError> {
        self.store
            .remove(chat, number)
            .map_err(ClientError::LocalFile)?;
        let mut reached = true;
        match transfer {
            Transfer::Upload(upload) => reached &= self.delete_chunks(&upload).await,
            Transfer::UploadRedirect { file, redirect } => {
                reached &= self.delete_chunks(&file).await;
                reached &= self.delete_chunks(&redirect).await;
            }
            Transfer::Download(mut download) | Transfer::DownloadRedirect(mut download) => {
                download.cancel();
                for step in download.next_steps(u64::MAX) {
                    if let DownloadStep::Ack {
                        relay,
                        download_id,
                        secret,
                        ..
                    } = step
                    {
                        let ack = ChunkDownload::new(
                            download_id,
                            secret,
                            ChunkSize::Kib64,
                            digest_zero(),
                        );
                        let result =
                            async { self.connections.get(&relay).await?.ack_chunk(&ack).await }
                                .await;
                        reached &= result.is_ok() || result.as_ref().is_err_and(is_refused);
                    }
                }
            }
        }
        if !reached {
            return Ok(Outcome::Waiting);
        }
        core.forget_transfer(chat, number)?;
        Ok(Outcome::Removed)
    }

    async fn delete_chunks(&self, upload: &Upload) -> bool {
        let mut reached = true;
        for step in upload.delete_steps() {
            let chunk =
                ChunkUpload::new(step.upload_id, step.secret, ChunkSize::Kib64, digest_zero());
            let result = async {
                self.connections
                    .get(&step.relay)
                    .await?
                    .delete_chunk(&chunk)
                    .await
            }
            .await;
            if let Err(error) = &result {
                self.connections.failed(&step.relay, error).await;
            }
            reached &= result.is_ok() || result.as_ref().is_err_and(is_refused);
        }
        reached
    }
}

/// Encrypts the file at `source` (as the platform spells its path) into
/// the copy at `copy`; whether it was read whole at its expected length.
fn encrypt_from(
    source: &[u8],
    copy: &Path,
    key: &FileKey,
    nonce: &FileNonce,
    len: u64,
    written: &mut dyn FnMut(usize, ChunkDigest),
) -> bool {
    // The bytes came from `as_encoded_bytes` on this platform (in
    // `start_upload`); a profile imported on another may hold others, which
    // then open nothing and the upload ends cancelled.
    let Ok(text) = std::str::from_utf8(source) else {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            return open_and_encrypt(
                Path::new(std::ffi::OsStr::from_bytes(source)),
                copy,
                key,
                nonce,
                len,
                written,
            );
        }
        #[cfg(not(unix))]
        return false;
    };
    open_and_encrypt(Path::new(text), copy, key, nonce, len, written)
}

fn open_and_encrypt(
    source: &Path,
    copy: &Path,
    key: &FileKey,
    nonce: &FileNonce,
    len: u64,
    written: &mut dyn FnMut(usize, ChunkDigest),
) -> bool {
    let Ok(file) = std::fs::File::open(source) else {
        return false;
    };
    if file.metadata().map(|meta| meta.len()).ok() != Some(len) {
        return false;
    }
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
    local::encrypt_known(copy, key, nonce, &mut reader, len, written).is_ok()
}

fn is_refused(error: &ClientError) -> bool {
    matches!(error, ClientError::Refused(_))
}

/// FDEL and FACK name the chunk by its id alone.
fn digest_zero() -> ChunkDigest {
    ChunkDigest::from_bytes([0; 32])
}

/// The bytes a file of `len` bytes takes on a relay (its chunks: the file
/// encrypted and padded), as FLIM's limit counts them; `None` past what a
/// file may be.
pub fn relay_bytes(len: u64) -> Option<u64> {
    let encrypted = sotto_files::encrypted_len(len).ok()?;
    Some(
        sotto_files::plan_chunks(encrypted)
            .iter()
            .map(|size| u64::from(size.bytes()))
            .sum(),
    )
}

/// Where each chunk of an upload starts in its copy.
fn chunk_offsets(upload: &Upload) -> Vec<u64> {
    let plan =
        sotto_files::plan_chunks(sotto_files::encrypted_len(upload.file_len()).unwrap_or_default());
    let mut offsets = Vec::with_capacity(plan.len());
    let mut at = 0u64;
    for size in plan {
        offsets.push(at);
        at += u64::from(size.bytes());
    }
    offsets
}

/// The pieces from `start` to `size`: (offset, end).
fn pieces(start: u32, size: u32) -> impl Iterator<Item = (u32, u32)> {
    let step = MAX_PIECE_LEN as u32;
    (start..size)
        .step_by(MAX_PIECE_LEN)
        .map(move |offset| (offset, offset.saturating_add(step).min(size)))
}

/// Uploads a chunk from the copy, from where the relay stands.
async fn put_chunk(
    connections: &Connections,
    relay: &RelayAddress,
    upload: &ChunkUpload,
    path: &std::path::Path,
    offset: u64,
    mut sent: impl FnMut(u32),
) -> Result<(), ClientError> {
    let size = upload.size().bytes();
    let path = path.to_owned();
    let bytes = tokio::task::spawn_blocking(move || local::read_chunk(&path, offset, size))
        .await
        .map_err(|_| ClientError::Closed)?
        .map_err(ClientError::LocalFile)?;
    let connection = connections.get(relay).await?;
    let status = connection.chunk_status(upload).await?;
    if status.complete {
        return Ok(());
    }
    // A chunk held whole but not complete is completed by its last piece.
    let start = status.received.min(size.saturating_sub(1));
    sent(start);
    send_pieces(&connection, upload, &bytes, start, sent).await
}

/// FPUTs the chunk's `bytes` from `start`, [`PIECE_WINDOW`] pieces in
/// flight; returns once the relay has the chunk complete.
async fn send_pieces(
    connection: &RelayConnection,
    upload: &ChunkUpload,
    bytes: &[u8],
    start: u32,
    mut sent: impl FnMut(u32),
) -> Result<(), ClientError> {
    let size = upload.size().bytes();
    if bytes.len() != size as usize {
        return Err(ClientError::ChunkSize);
    }
    let mut in_flight = std::collections::VecDeque::new();
    for (from, end) in pieces(start, size) {
        let piece = FilePiece::new(bytes[from as usize..end as usize].to_vec())?;
        in_flight.push_back((end, connection.submit_piece(upload, from, piece).await?));
        if in_flight.len() >= PIECE_WINDOW
            && let Some((end, oldest)) = in_flight.pop_front()
        {
            oldest.ok("FPUT").await?;
            sent(end);
        }
    }
    while let Some((end, pending)) = in_flight.pop_front() {
        pending.ok("FPUT").await?;
        sent(end);
    }
    Ok(())
}

/// Downloads a whole chunk into the copy; returns its digest.
async fn get_chunk(
    connections: &Connections,
    relay: &RelayAddress,
    download: &ChunkDownload,
    size: ChunkSize,
    path: &std::path::Path,
    offset: u64,
    mut received: impl FnMut(u32),
) -> Result<ChunkDigest, ClientError> {
    let size = size.bytes();
    let connection = connections.get(relay).await?;
    let mut chunk = Vec::with_capacity(size as usize);
    let mut in_flight = std::collections::VecDeque::new();
    for (from, end) in pieces(0, size) {
        in_flight.push_back(
            connection
                .submit_get_piece(download, from, end - from)
                .await?,
        );
        if in_flight.len() >= PIECE_WINDOW
            && let Some(oldest) = in_flight.pop_front()
        {
            chunk.extend_from_slice(oldest.piece().await?.as_bytes());
            received(chunk.len() as u32);
        }
    }
    while let Some(pending) = in_flight.pop_front() {
        chunk.extend_from_slice(pending.piece().await?.as_bytes());
        received(chunk.len() as u32);
    }
    let digest = ChunkDigest::of(&chunk);
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || local::write_chunk(&path, offset, &chunk))
        .await
        .map_err(|_| ClientError::Closed)?
        .map_err(ClientError::LocalFile)?;
    Ok(digest)
}
