//! File transfers: the durable record of each upload and download, kept
//! next to the chat item it is for, and the actions a runtime calls as it
//! carries the transfer out (the transfer machine itself is `sotto-files`'s
//! [`Upload`] and [`Download`]: the runtime asks them for steps and stores
//! them back here after each change). The runtime keeps the file's bytes
//! (its encrypted chunks) in files of its own, under the file key this
//! record holds, so a file kept in a profile is encrypted at rest.
//!
//! ```text
//! table "transfers", key chat id u64 || message number u64:
//!   version (1) = 0x01 || kind u8 || bytes32 machine record [|| bytes32 machine record]
//!   kind 0x01 upload (the file's Upload)
//!        0x02 download (the file's Download)
//!        0x03 redirect upload (the file's Upload, complete || the description's Upload)
//!        0x04 redirect download (the description's Download)
//! table "file_settings", key "auto_download": 0x01 || limit u64 (bytes; absent: off)
//! table "upload_sources", key chat id u64 || message number u64:
//!   0x01 || bytes16 path (1..=4096 bytes, as the platform gives it)
//! ```
//!
//! An upload whose file is still being encrypted keeps where the file is
//! (`upload_sources`), so that a runtime stopped during the encryption
//! encrypts it again from there (under the record's key, which gives the
//! same chunks) and the chunks already on the relay are kept.
//!
//! A record outlives its transfer: it holds what deleting the file needs
//! (the upload's FDEL keys, the download's FACK keys) and the key of the
//! local copy. A file sent and then deleted on this device only loses its
//! record at once (its chunks stay for the peer until they expire). When
//! its item is deleted for everyone or disappears, the
//! runtime sees the record as orphaned ([`FileTransfer::item_gone`]): it
//! deletes the file's local copy, sends FDEL (the sender) or the remaining
//! FACKs (a recipient), then [`Core::forget_transfer`].

use std::fmt;

use rand_core::CryptoRngCore;
use sotto_files::{Download, FileDescription, Upload};
use sotto_wire::GroupEntry;

use crate::chat_item::{ChatItem, ItemContent, MessageDirection};
use crate::chat_record::{AutoDownload, ChatRecord};
use crate::codec::{Reader, Writer, corrupt};
use crate::core::Core;
use crate::event::{Event, Pending};
use crate::file_message::{DescriptionKind, FileMedia, FileMessage, FileState};
use crate::ids::{ChatId, MessageNumber};
use crate::staged_batch::StagedBatch;
use crate::store::{Direction, KeyRange, Table, WriteBatch};
use crate::time::UnixMillis;
use crate::{CoreError, Store};

pub(crate) const TRANSFERS: Table = Table::new("transfers");
pub(crate) const FILE_SETTINGS: Table = Table::new("file_settings");
const UPLOAD_SOURCES: Table = Table::new("upload_sources");
/// The longest path kept for an upload's source.
pub(crate) const MAX_SOURCE_PATH_LEN: usize = 4096;
const AUTO_DOWNLOAD: &[u8] = b"auto_download";
const VERSION: u8 = 1;
/// The longest machine record (a download's holds its description).
const MAX_RECORD_LEN: usize = 8 * 1024 * 1024;

/// An upload or a download, and which part of it.
#[derive(Clone, Debug)]
pub enum Transfer {
    /// This profile sends the file.
    Upload(Upload),
    /// This profile sent the file's chunks; its description, too long for a
    /// chat message, is being uploaded as a small file of its own.
    UploadRedirect {
        /// The file's upload, complete.
        file: Upload,
        /// The description's upload.
        redirect: Upload,
    },
    /// This profile receives the file.
    Download(Download),
    /// This profile fetches the small file that holds the file's
    /// description ([`Core::redirect_downloaded`] then starts the file's
    /// own download).
    DownloadRedirect(Download),
}

impl Transfer {
    /// The upload that moves now: the file's, or once the file is up, its
    /// description's (a redirect).
    pub fn upload_mut(&mut self) -> Option<&mut Upload> {
        match self {
            Transfer::Upload(upload) => Some(upload),
            Transfer::UploadRedirect { redirect, .. } => Some(redirect),
            _ => None,
        }
    }

    /// The download that moves now: the file's, or the small file that
    /// holds its description.
    pub fn download_mut(&mut self) -> Option<&mut Download> {
        match self {
            Transfer::Download(download) | Transfer::DownloadRedirect(download) => Some(download),
            _ => None,
        }
    }

    fn encode(&self) -> Result<Vec<u8>, CoreError> {
        let download = |download: &Download| {
            download
                .encode()
                .map_err(|_| CoreError::InvalidValue("download"))
        };
        let mut w = Writer::new();
        w.u8(VERSION);
        match self {
            Transfer::Upload(upload) => w.u8(1).bytes32(&upload.encode()),
            Transfer::Download(record) => w.u8(2).bytes32(&download(record)?),
            Transfer::UploadRedirect { file, redirect } => {
                w.u8(3).bytes32(&file.encode()).bytes32(&redirect.encode())
            }
            Transfer::DownloadRedirect(record) => w.u8(4).bytes32(&download(record)?),
        };
        Ok(w.finish())
    }

    fn decode(bytes: &[u8]) -> Result<Transfer, CoreError> {
        const BAD: CoreError = CoreError::CorruptRecord("transfer");
        let mut r = Reader::new(bytes, "transfer");
        if r.u8()? != VERSION {
            return Err(BAD);
        }
        let kind = r.u8()?;
        let record = r.bytes32(MAX_RECORD_LEN)?;
        let upload = |record: &[u8]| Upload::decode(record).map_err(|_| BAD);
        let download = |record: &[u8]| Download::decode(record).map_err(|_| BAD);
        let transfer = match kind {
            1 => Transfer::Upload(upload(record)?),
            2 => Transfer::Download(download(record)?),
            3 => Transfer::UploadRedirect {
                file: upload(record)?,
                redirect: upload(r.bytes32(MAX_RECORD_LEN)?)?,
            },
            4 => Transfer::DownloadRedirect(download(record)?),
            _ => return Err(BAD),
        };
        r.finish()?;
        Ok(transfer)
    }

    /// Bytes moved so far and in all, for progress (a redirect counts as
    /// the file's own transfer not yet started, or done).
    pub fn progress(&self) -> (u64, u64) {
        match self {
            Transfer::Upload(upload) => upload.progress(),
            Transfer::UploadRedirect { file, .. } => file.progress(),
            Transfer::Download(download) => download.progress(),
            Transfer::DownloadRedirect(_) => (0, 0),
        }
    }
}

/// A stored transfer and the item it is for.
pub struct FileTransfer {
    /// The chat.
    pub chat: ChatId,
    /// The file's item.
    pub number: MessageNumber,
    /// The machine, as last stored.
    pub transfer: Transfer,
    /// The file's name, as the item has it.
    pub name: String,
    /// The file's media type.
    pub media_type: String,
    /// The file's state in its item (`None` once the item is gone).
    pub state: Option<FileState>,
    /// Whether the item was deleted or disappeared: the transfer is to be
    /// cleaned up (local copy, FDEL or FACK) and forgotten.
    pub item_gone: bool,
}

impl fmt::Debug for FileTransfer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileTransfer")
            .field("chat", &self.chat)
            .field("number", &self.number)
            .field("state", &self.state)
            .field("item_gone", &self.item_gone)
            .finish_non_exhaustive()
    }
}

fn key(chat: ChatId, number: MessageNumber) -> Vec<u8> {
    ChatItem::key(chat, number)
}

fn put(
    batch: &mut WriteBatch,
    chat: ChatId,
    number: MessageNumber,
    transfer: &Transfer,
) -> Result<(), CoreError> {
    batch.put(TRANSFERS, key(chat, number), transfer.encode()?);
    Ok(())
}

/// The transfer that downloads `file` from the start: the file's own
/// download, or its redirect's; `shared` (a group's file, whose chunks
/// every member fetches with the same ids) acknowledges no chunk.
pub(crate) fn new_download(file: &FileMessage, shared: bool) -> Result<Transfer, CoreError> {
    let description = file.description()?;
    let download = if shared {
        Download::shared(description)
    } else {
        Download::new(description)
    };
    Ok(match file.kind {
        DescriptionKind::Inline => Transfer::Download(download),
        DescriptionKind::Redirect => Transfer::DownloadRedirect(download),
    })
}

/// An item deleted on this device only: a file it sent stays on the relay
/// for the peer (until the chunks expire), so its record goes without a
/// clean-up (the runtime removes a copy that has no record). Any other
/// file's record is left for the clean-up (a download's FACKs, an
/// unfinished upload's FDELs).
pub(crate) fn keep_sent_chunks(item: &ChatItem, batch: &mut WriteBatch) {
    if let ItemContent::File {
        state: FileState::Sent,
        ..
    } = item.content
    {
        batch.delete(TRANSFERS, key(item.chat, item.number));
    }
}

/// Starts the download of an incoming file as it arrives, when automatic
/// downloads are on and it is small enough (the chat's own setting
/// overrides the profile's limit): its state, and its record written into
/// `batch`. A group's file (`shared`) is downloaded without acknowledging.
pub(crate) fn auto_download(
    store: &impl Store,
    setting: AutoDownload,
    chat: ChatId,
    number: MessageNumber,
    file: &FileMessage,
    shared: bool,
    batch: &mut WriteBatch,
) -> Result<FileState, CoreError> {
    let limit = match setting {
        AutoDownload::Default => auto_download_limit(store)?,
        AutoDownload::On => Some(u64::MAX),
        AutoDownload::Off => None,
    };
    match limit {
        Some(limit) if file.size <= limit => {
            put(batch, chat, number, &new_download(file, shared)?)?;
            Ok(FileState::Downloading)
        }
        _ => Ok(FileState::Available),
    }
}

fn auto_download_limit(store: &impl Store) -> Result<Option<u64>, CoreError> {
    let Some(value) = store.get(FILE_SETTINGS, AUTO_DOWNLOAD)? else {
        return Ok(None);
    };
    let mut r = Reader::new(&value, "file settings");
    if r.u8()? != VERSION {
        return Err(CoreError::CorruptRecord("file settings"));
    }
    let limit = r.u64()?;
    r.finish()?;
    Ok(Some(limit))
}

impl<S: Store> Core<S> {
    /// Starts sending a file: adds its outgoing item (state `uploading`, no
    /// message sent yet) and stores `upload`. Returns the item's number.
    pub fn start_upload(
        &mut self,
        now: UnixMillis,
        chat: ChatId,
        name: &str,
        media_type: &str,
        upload: &Upload,
    ) -> Result<MessageNumber, CoreError> {
        self.start_upload_with_media(now, chat, name, media_type, None, upload)
    }

    /// [`Core::start_upload`], the message to carry `media` (an image's
    /// preview, a voice message's duration and waveform).
    pub fn start_upload_with_media(
        &mut self,
        now: UnixMillis,
        chat: ChatId,
        name: &str,
        media_type: &str,
        media: Option<FileMedia>,
        upload: &Upload,
    ) -> Result<MessageNumber, CoreError> {
        // The name and type must fit a description.
        let check = FileMessage {
            name: name.to_owned(),
            size: upload.file_len(),
            media_type: media_type.to_owned(),
            kind: DescriptionKind::Inline,
            description: Default::default(),
            media: None,
        };
        check.check_names()?;
        if ChatRecord::load(self.store(), chat)?.is_group() {
            let (group, _) = self.group_cache.load(self.store.inner(), chat)?;
            if !group.is_active() {
                return Err(CoreError::NotConnected);
            }
        }
        let record = Transfer::Upload(upload.clone()).encode()?;
        let (mut cx, _, _, chats) = self.parts();
        let result = chats.start_upload(
            &mut cx,
            now,
            chat,
            name,
            upload.file_len(),
            media_type,
            media,
            |number, batch| batch.put(TRANSFERS, key(chat, number), record),
        );
        self.after_action(now, result)
    }

    /// The upload of item `number` ended: sends `file` (an inline or a
    /// redirect description, [`FileMessage`]) in a chat message. In a
    /// group, the message is an entry for the group's log, returned to
    /// append (none when this member left the group: the file fails as
    /// cancelled); it is kept until the log has it, so a runtime that does
    /// not append it at once sends it with [`Core::group_unsent`] at its
    /// next read of the log.
    pub fn send_file(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        number: MessageNumber,
        file: FileMessage,
    ) -> Result<Option<GroupEntry>, CoreError> {
        if ChatRecord::load(self.store(), chat)?.is_group() {
            return self.group_file(now, chat, number, file);
        }
        let (mut cx, _, _, chats) = self.parts();
        let result = chats.send_file(&mut cx, now, rng, chat, number, file);
        self.after_action(now, result).map(|()| None)
    }

    /// The file offered by incoming item `number`.
    pub fn offered_file(
        &self,
        chat: ChatId,
        number: MessageNumber,
    ) -> Result<(FileMessage, FileState), CoreError> {
        let item = ChatItem::load(self.store(), chat, number)?.ok_or(CoreError::UnknownMessage)?;
        match item.content {
            ItemContent::File { file, state }
                if item.direction == MessageDirection::Incoming && !item.deleted =>
            {
                Ok((file, state))
            }
            _ => Err(CoreError::UnknownMessage),
        }
    }

    /// Downloads incoming file `number`: an offered or failed file starts
    /// from the beginning (the item becomes `downloading`); one being
    /// downloaded or received gives its stored transfer back, to resume or
    /// to save.
    pub fn start_download(
        &mut self,
        now: UnixMillis,
        chat: ChatId,
        number: MessageNumber,
    ) -> Result<Transfer, CoreError> {
        let (file, state) = self.offered_file(chat, number)?;
        if matches!(state, FileState::Downloading | FileState::Received)
            && let Some(transfer) = self.transfer(chat, number)?
        {
            return Ok(transfer);
        }
        let shared = ChatRecord::load(self.store(), chat)?.is_group();
        let transfer = new_download(&file, shared)?;
        let (mut cx, _, _, chats) = self.parts();
        let mut stored = Ok(());
        let result = chats.set_file_state(&mut cx, chat, number, FileState::Downloading, |batch| {
            stored = put(batch, chat, number, &transfer);
        });
        self.after_action(now, result.and(stored))?;
        Ok(transfer)
    }

    /// The small file a redirect led to was downloaded and decrypted:
    /// `content` is the file's description. It must describe the file the
    /// message offered (name, type, size); the file's own download starts.
    pub fn redirect_downloaded(
        &mut self,
        chat: ChatId,
        number: MessageNumber,
        content: &[u8],
    ) -> Result<Download, CoreError> {
        let (file, _) = self.offered_file(chat, number)?;
        let description =
            FileDescription::decode(content).map_err(|_| CoreError::Malformed("file message"))?;
        file.check_redirected(&description)?;
        // A group's redirect leads to a group's file.
        let shared = matches!(
            self.transfer(chat, number)?,
            Some(Transfer::DownloadRedirect(redirect)) if redirect.is_shared()
        );
        let download = if shared {
            Download::shared(description)
        } else {
            Download::new(description)
        };
        self.save_transfer(chat, number, &Transfer::Download(download.clone()))?;
        Ok(download)
    }

    /// The stored transfer of item `number`, if it has one.
    pub fn transfer(
        &self,
        chat: ChatId,
        number: MessageNumber,
    ) -> Result<Option<Transfer>, CoreError> {
        self.store()
            .get(TRANSFERS, &key(chat, number))?
            .map(|value| Transfer::decode(&value).map_err(corrupt("transfer")))
            .transpose()
    }

    /// Stores a transfer's machine after a change (progress, a chunk done);
    /// front ends hear of it ([`Event::FileProgress`]).
    pub fn save_transfer(
        &mut self,
        chat: ChatId,
        number: MessageNumber,
        transfer: &Transfer,
    ) -> Result<(), CoreError> {
        let mut batch = StagedBatch::new();
        put(&mut batch, chat, number, transfer)?;
        let (done, total) = transfer.progress();
        batch.notify(Pending::ready(Event::FileProgress {
            chat,
            number,
            done,
            total,
        }));
        self.parts().0.commit(batch)
    }

    /// A transfer reached `state` (`received`, `failed`, …): its item says
    /// so, and the machine is stored with it.
    pub fn finish_transfer(
        &mut self,
        now: UnixMillis,
        chat: ChatId,
        number: MessageNumber,
        transfer: &Transfer,
        state: FileState,
    ) -> Result<(), CoreError> {
        let (mut cx, _, _, chats) = self.parts();
        let mut stored = Ok(());
        let result = chats.set_file_state(&mut cx, chat, number, state, |batch| {
            stored = put(batch, chat, number, transfer);
        });
        self.after_action(now, result.and(stored))
    }

    /// Forgets a transfer whose item is gone, once it is cleaned up.
    pub fn forget_transfer(
        &mut self,
        chat: ChatId,
        number: MessageNumber,
    ) -> Result<(), CoreError> {
        let mut batch = StagedBatch::new();
        batch.delete(TRANSFERS, key(chat, number));
        batch.delete(UPLOAD_SOURCES, key(chat, number));
        self.parts().0.commit(batch)
    }

    /// Keeps where the file of upload `number` is while it is being
    /// encrypted (`None` once it is: forgets it).
    pub fn set_upload_source(
        &mut self,
        chat: ChatId,
        number: MessageNumber,
        path: Option<&[u8]>,
    ) -> Result<(), CoreError> {
        let mut batch = StagedBatch::new();
        match path {
            Some(path) => {
                if path.is_empty() || path.len() > MAX_SOURCE_PATH_LEN {
                    return Err(CoreError::InvalidValue("file path"));
                }
                let mut w = Writer::new();
                w.u8(VERSION).bytes16(path);
                batch.put(UPLOAD_SOURCES, key(chat, number), w.finish());
            }
            None => batch.delete(UPLOAD_SOURCES, key(chat, number)),
        }
        self.parts().0.commit(batch)
    }

    /// Where the file of upload `number` is, while it is being encrypted.
    pub fn upload_source(
        &self,
        chat: ChatId,
        number: MessageNumber,
    ) -> Result<Option<Vec<u8>>, CoreError> {
        let Some(value) = self.store().get(UPLOAD_SOURCES, &key(chat, number))? else {
            return Ok(None);
        };
        let mut r = Reader::new(&value, "upload source");
        if r.u8()? != VERSION {
            return Err(CoreError::CorruptRecord("upload source"));
        }
        let path = r.bytes16(MAX_SOURCE_PATH_LEN)?.to_vec();
        r.finish()?;
        if path.is_empty() || path.len() > MAX_SOURCE_PATH_LEN {
            return Err(CoreError::CorruptRecord("upload source"));
        }
        Ok(Some(path))
    }

    /// Every stored transfer, with its item's state.
    pub fn file_transfers(&self) -> Result<Vec<FileTransfer>, CoreError> {
        let mut transfers = Vec::new();
        for record in
            self.store()
                .range(TRANSFERS, &KeyRange::all(), Direction::Forward, usize::MAX)?
        {
            let (chat, number) = ChatItem::parse_key(&record.key)?;
            let transfer = Transfer::decode(&record.value).map_err(corrupt("transfer"))?;
            let item = ChatItem::load(self.store(), chat, number)?;
            let (name, media_type, state, item_gone) = match item {
                Some(ChatItem {
                    content: ItemContent::File { file, state },
                    deleted,
                    ..
                }) => (file.name, file.media_type, Some(state), deleted),
                _ => (String::new(), String::new(), None, true),
            };
            transfers.push(FileTransfer {
                chat,
                number,
                transfer,
                name,
                media_type,
                state,
                item_gone,
            });
        }
        Ok(transfers)
    }

    /// Files up to `limit` bytes download as they arrive; `None` turns
    /// automatic downloads off (the default).
    pub fn set_auto_download(&mut self, limit: Option<u64>) -> Result<(), CoreError> {
        let mut batch = StagedBatch::new();
        match limit {
            Some(limit) => {
                let mut w = Writer::new();
                w.u8(VERSION).u64(limit);
                batch.put(FILE_SETTINGS, AUTO_DOWNLOAD.to_vec(), w.finish());
            }
            None => batch.delete(FILE_SETTINGS, AUTO_DOWNLOAD.to_vec()),
        }
        self.parts().0.commit(batch)
    }

    /// The largest file that downloads as it arrives, if automatic downloads
    /// are on.
    pub fn auto_download(&self) -> Result<Option<u64>, CoreError> {
        auto_download_limit(self.store())
    }
}
