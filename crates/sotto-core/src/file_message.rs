//! The file a chat message offers, and where it stands on this device.
//!
//! ```text
//! file message = text16 name (0..=255 bytes) || size u64
//!             || text16 media type (0..=127 bytes, printable ASCII)
//!             || kind u8 (0x01 inline, 0x02 redirect; plus 0x80 when media follows)
//!             || bytes16 description (1..=11000 bytes)
//!             [|| media]
//! media       = bytes16 preview (0..=8192 bytes: a small image, JPEG, PNG or WebP)
//!             || duration u32 (milliseconds of a voice message; 0 for none)
//!             || count u8 || waveform (count 0..=64 bytes: a voice message's loudness, 0..=255
//!                each, in equal slices of its duration)
//! ```
//!
//! The media travel inside the end-to-end message, so a recipient sees an
//! image's preview, or a voice message's length and shape, before it
//! downloads anything. A reader checks only their bounds: a preview that
//! does not decode as an image is not shown. The whole file message is at
//! most [`MAX_FILE_MESSAGE_LEN`] bytes, so that it fits one chat message: a
//! sender whose message would be longer (a long description and a large
//! preview) leaves the preview out, then the waveform.
//!
//! Inline: the description (`sotto-files`) of the file itself, for this
//! recipient. Redirect: the file's own description was too long for a chat
//! message (about 170 bytes a chunk with a short relay address: more than
//! about 64 chunks, 256 MiB), so
//! the sender uploaded that description as a small file of its own, encrypted
//! and chunked like any file, and this is the description of that small
//! file; its content, once downloaded and decrypted, is the file's
//! description. A description of a description always fits: 4096 chunks
//! describe at most about 2.5 MB, 1 chunk of 4 MiB.
//!
//! In an item (`messages` table, body `0x03`) the message is followed by the
//! file's state u8 and its failure u8 (0 none, else the transfer failure
//! code); an outgoing file being uploaded has no description yet (length 0).

use std::fmt;

use serde::Serialize;
use sotto_files::{FileDescription, MAX_MEDIA_TYPE_LEN, MAX_NAME_LEN, TransferFailure};
use zeroize::Zeroizing;

use crate::CoreError;
use crate::codec::{Reader, Writer};

/// The longest description a chat message carries; a longer one is
/// redirected.
pub const MAX_INLINE_DESCRIPTION_LEN: usize = 11_000;

/// The longest preview a file message carries (with a short description:
/// the whole message must fit [`MAX_FILE_MESSAGE_LEN`]).
pub const MAX_PREVIEW_LEN: usize = 8192;

/// The longest file message, media included: with the chat message's
/// envelope it fits one message.
pub const MAX_FILE_MESSAGE_LEN: usize = 12_100;

/// The most waveform samples a voice message carries.
pub const MAX_WAVEFORM_LEN: usize = 64;

/// What a file message shows before the file is downloaded: an image's
/// small preview, a voice message's duration and waveform.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileMedia {
    /// A small image (JPEG, PNG or WebP), at most [`MAX_PREVIEW_LEN`] bytes;
    /// empty for none.
    pub preview: Vec<u8>,
    /// A voice message's length in milliseconds; 0 for none.
    pub duration_ms: u32,
    /// A voice message's loudness, 0..=255 per equal slice of its duration,
    /// at most [`MAX_WAVEFORM_LEN`] samples.
    pub waveform: Vec<u8>,
}

impl FileMedia {
    /// Media within their bounds.
    pub fn new(
        preview: Vec<u8>,
        duration_ms: u32,
        waveform: Vec<u8>,
    ) -> Result<FileMedia, CoreError> {
        if preview.len() > MAX_PREVIEW_LEN || waveform.len() > MAX_WAVEFORM_LEN {
            return Err(CoreError::InvalidValue("file preview or waveform"));
        }
        Ok(FileMedia {
            preview,
            duration_ms,
            waveform,
        })
    }

    fn is_empty(&self) -> bool {
        self.preview.is_empty() && self.duration_ms == 0 && self.waveform.is_empty()
    }

    fn encode(&self, w: &mut Writer) {
        // Lossless: at most MAX_WAVEFORM_LEN (64) samples.
        w.bytes16(&self.preview)
            .u32(self.duration_ms)
            .u8(self.waveform.len() as u8)
            .array(&self.waveform);
    }

    fn decode(r: &mut Reader<'_>) -> Result<FileMedia, CoreError> {
        let preview = r.bytes16(MAX_PREVIEW_LEN)?.to_vec();
        let duration_ms = r.u32()?;
        let count = usize::from(r.u8()?);
        if count > MAX_WAVEFORM_LEN {
            return Err(bad_file());
        }
        let waveform = r.take(count)?.to_vec();
        Ok(FileMedia {
            preview,
            duration_ms,
            waveform,
        })
    }
}

/// The kind byte's flag that says media follow the description.
const MEDIA_FLAG: u8 = 0x80;

/// How a chat message carries the file's description.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DescriptionKind {
    /// The description of the file itself.
    Inline,
    /// The description of a small file that holds the file's description.
    Redirect,
}

/// A file offered in a chat. `Debug` prints neither the name nor the
/// description (it holds the file's key).
#[derive(Clone, PartialEq, Eq)]
pub struct FileMessage {
    /// The file's name, as its sender named it.
    pub name: String,
    /// Its length in bytes.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
    /// How the description travels.
    pub kind: DescriptionKind,
    /// The description's encoding (empty while the sender uploads).
    pub description: Zeroizing<Vec<u8>>,
    /// An image's preview, a voice message's duration and waveform.
    pub media: Option<FileMedia>,
}

impl fmt::Debug for FileMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileMessage")
            .field("size", &self.size)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl FileMessage {
    /// A file message for `description`: inline when it fits, else `None`
    /// (upload the description as a file, then use [`FileMessage::redirect`]).
    pub fn inline(description: &FileDescription) -> Result<Option<FileMessage>, CoreError> {
        let encoded = Zeroizing::new(description.encode().map_err(|_| bad_file())?);
        if encoded.len() > MAX_INLINE_DESCRIPTION_LEN {
            return Ok(None);
        }
        Ok(Some(FileMessage {
            name: description.name.clone(),
            size: description.size,
            media_type: description.media_type.clone(),
            kind: DescriptionKind::Inline,
            description: encoded,
            media: None,
        }))
    }

    /// A file message whose description is in the small file `redirect`
    /// describes.
    pub fn redirect(
        name: &str,
        size: u64,
        media_type: &str,
        redirect: &FileDescription,
    ) -> Result<FileMessage, CoreError> {
        let encoded = Zeroizing::new(redirect.encode().map_err(|_| bad_file())?);
        if encoded.len() > MAX_INLINE_DESCRIPTION_LEN {
            return Err(bad_file());
        }
        let message = FileMessage {
            name: name.to_owned(),
            size,
            media_type: media_type.to_owned(),
            kind: DescriptionKind::Redirect,
            description: encoded,
            media: None,
        };
        message.check(false)?;
        Ok(message)
    }

    /// Leaves out what of the media does not fit [`MAX_FILE_MESSAGE_LEN`]:
    /// the preview first, then the waveform.
    pub(crate) fn fit_media(&mut self) {
        let fits = |file: &FileMessage| {
            let mut w = Writer::new();
            file.encode(&mut w);
            w.finish().len() <= MAX_FILE_MESSAGE_LEN
        };
        if fits(self) {
            return;
        }
        if let Some(media) = self.media.as_mut() {
            media.preview.clear();
        }
        if fits(self) {
            return;
        }
        if let Some(media) = self.media.as_mut() {
            media.waveform.clear();
        }
    }

    /// The description in the message (of the file, or of the redirect).
    pub fn description(&self) -> Result<FileDescription, CoreError> {
        FileDescription::decode(&self.description).map_err(|_| bad_file())
    }

    /// Checks a description reached through a redirect against this message:
    /// the same name, type and size.
    pub fn check_redirected(&self, description: &FileDescription) -> Result<(), CoreError> {
        if description.size != self.size
            || description.name != self.name
            || description.media_type != self.media_type
        {
            return Err(bad_file());
        }
        Ok(())
    }

    /// Checks the name and the media type fit a description.
    pub(crate) fn check_names(&self) -> Result<(), CoreError> {
        if self.name.len() > MAX_NAME_LEN
            || self.media_type.len() > MAX_MEDIA_TYPE_LEN
            || !self.media_type.bytes().all(|byte| byte.is_ascii_graphic())
        {
            return Err(CoreError::InvalidValue("file name or media type"));
        }
        Ok(())
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let media = self.media.as_ref().filter(|media| !media.is_empty());
        let kind = match self.kind {
            DescriptionKind::Inline => 1,
            DescriptionKind::Redirect => 2,
        };
        w.bytes16(self.name.as_bytes())
            .u64(self.size)
            .bytes16(self.media_type.as_bytes())
            .u8(kind | if media.is_some() { MEDIA_FLAG } else { 0 })
            .bytes16(&self.description);
        if let Some(media) = media {
            media.encode(w);
        }
    }

    /// Reads a file message; `sent` when it came in a chat message (then the
    /// description must be there and agree with the rest).
    pub(crate) fn decode(r: &mut Reader<'_>, sent: bool) -> Result<FileMessage, CoreError> {
        let name = r.text(MAX_NAME_LEN)?;
        let size = r.u64()?;
        let media_type = r.text(MAX_MEDIA_TYPE_LEN)?;
        let kind_byte = r.u8()?;
        let kind = match kind_byte & !MEDIA_FLAG {
            1 => DescriptionKind::Inline,
            2 => DescriptionKind::Redirect,
            _ => return Err(bad_file()),
        };
        let description = Zeroizing::new(r.bytes16(MAX_INLINE_DESCRIPTION_LEN)?.to_vec());
        let media = match kind_byte & MEDIA_FLAG {
            0 => None,
            _ => {
                let media = FileMedia::decode(r)?;
                // Empty media are written without the flag: one encoding only.
                if media.is_empty() {
                    return Err(bad_file());
                }
                Some(media)
            }
        };
        let message = FileMessage {
            name,
            size,
            media_type,
            kind,
            description,
            media,
        };
        message.check(sent)?;
        Ok(message)
    }

    fn check(&self, sent: bool) -> Result<(), CoreError> {
        if !self.media_type.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(bad_file());
        }
        if !sent && self.description.is_empty() {
            return Ok(());
        }
        let description = self.description()?;
        if self.kind == DescriptionKind::Inline
            && (description.size != self.size
                || description.name != self.name
                || description.media_type != self.media_type)
        {
            return Err(bad_file());
        }
        Ok(())
    }
}

/// Where a file stands on this device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileState {
    /// Outgoing: its chunks are being uploaded; the message is not sent yet.
    Uploading,
    /// Outgoing: uploaded and offered.
    Sent,
    /// Incoming: offered, not downloaded.
    Available,
    /// Incoming: being downloaded.
    Downloading,
    /// Incoming: downloaded, every chunk's digest checked and the file
    /// decrypted.
    Received,
    /// The transfer failed, for this reason.
    Failed(TransferFailure),
}

impl FileState {
    pub(crate) fn encode(self, w: &mut Writer) {
        let (state, failure) = match self {
            FileState::Uploading => (1, 0),
            FileState::Sent => (2, 0),
            FileState::Available => (3, 0),
            FileState::Downloading => (4, 0),
            FileState::Received => (5, 0),
            FileState::Failed(failure) => (6, failure.code()),
        };
        w.u8(state).u8(failure);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<FileState, CoreError> {
        let state = r.u8()?;
        let failure = r.u8()?;
        Ok(match (state, failure) {
            (1, 0) => FileState::Uploading,
            (2, 0) => FileState::Sent,
            (3, 0) => FileState::Available,
            (4, 0) => FileState::Downloading,
            (5, 0) => FileState::Received,
            (6, code) => {
                FileState::Failed(TransferFailure::from_code(code).map_err(|_| bad_file())?)
            }
            _ => return Err(bad_file()),
        })
    }

    /// The state's name in views: `uploading`, `sent`, `available`,
    /// `downloading`, `received`, `failed`.
    pub fn name(self) -> &'static str {
        match self {
            FileState::Uploading => "uploading",
            FileState::Sent => "sent",
            FileState::Available => "available",
            FileState::Downloading => "downloading",
            FileState::Received => "received",
            FileState::Failed(_) => "failed",
        }
    }
}

fn bad_file() -> CoreError {
    CoreError::Malformed("file message")
}

#[cfg(test)]
pub(crate) mod tests {
    use sotto_files::{ChunkDescription, FileKey, FileNonce, encrypted_len, plan_chunks};
    use sotto_wire::{ChunkDigest, DownloadId, QueueAuthSecret};

    use super::*;

    pub(crate) fn description(size: u64) -> FileDescription {
        let relay: sotto_wire::RelayAddress =
            "sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@relay.example.org:7000"
                .parse()
                .unwrap();
        FileDescription {
            name: "photo.jpg".into(),
            media_type: "image/jpeg".into(),
            size,
            key: FileKey::from_bytes([1; 32]),
            nonce: FileNonce::from_bytes([2; 19]),
            chunks: plan_chunks(encrypted_len(size).unwrap())
                .into_iter()
                .map(|size| ChunkDescription {
                    relay: relay.clone(),
                    download_id: DownloadId::from_bytes([3; 24]),
                    download_secret: QueueAuthSecret::from_bytes([4; 32]),
                    size,
                    digest: ChunkDigest::from_bytes([5; 32]),
                })
                .collect(),
        }
    }

    pub(crate) fn inline(size: u64) -> FileMessage {
        FileMessage::inline(&description(size)).unwrap().unwrap()
    }

    /// A file message with the largest preview (its description is short).
    pub(crate) fn with_largest_preview() -> FileMessage {
        let mut file = inline(3 * 1024 * 1024);
        file.media = Some(
            FileMedia::new(vec![1; MAX_PREVIEW_LEN], 61_000, vec![2; MAX_WAVEFORM_LEN]).unwrap(),
        );
        let before = file.clone();
        file.fit_media();
        assert_eq!(file, before);
        file
    }

    /// The longest file message: the longest name, type and inline
    /// description, the largest media.
    pub(crate) fn longest_inline() -> FileMessage {
        let mut size = 300 * 1024 * 1024;
        loop {
            let mut described = description(size);
            described.name = "n".repeat(MAX_NAME_LEN);
            described.media_type = "t".repeat(MAX_MEDIA_TYPE_LEN);
            if let Some(mut file) = FileMessage::inline(&described).unwrap() {
                assert!(file.description.len() > MAX_INLINE_DESCRIPTION_LEN - 200);
                file.media = Some(
                    FileMedia::new(
                        vec![1; MAX_PREVIEW_LEN],
                        u32::MAX,
                        vec![2; MAX_WAVEFORM_LEN],
                    )
                    .unwrap(),
                );
                file.fit_media();
                let media = file.media.clone().unwrap();
                assert!(media.preview.is_empty());
                assert_eq!(media.waveform.len(), MAX_WAVEFORM_LEN);
                return file;
            }
            size -= 1024 * 1024;
        }
    }

    fn round_trip(file: &FileMessage, sent: bool) -> Result<FileMessage, CoreError> {
        let mut w = Writer::new();
        file.encode(&mut w);
        let bytes = w.finish();
        let mut r = Reader::new(&bytes, "test");
        let decoded = FileMessage::decode(&mut r, sent)?;
        r.finish()?;
        Ok(decoded)
    }

    #[test]
    fn large_descriptions_are_redirected() {
        // About 256 MiB is the most a message describes inline.
        assert!(
            FileMessage::inline(&description(180 * 1024 * 1024))
                .unwrap()
                .is_some()
        );
        assert!(
            FileMessage::inline(&description(300 * 1024 * 1024))
                .unwrap()
                .is_none()
        );
        let whole = description(1 << 30);
        let encoded = whole.encode().unwrap();
        assert!(encoded.len() > 40_000);
        // The description, as a file of its own, is described in one chunk.
        let mut redirect = description(encoded.len() as u64);
        redirect.name = String::new();
        redirect.media_type = String::new();
        let file =
            FileMessage::redirect("movie.mkv", 1 << 30, "video/x-matroska", &redirect).unwrap();
        assert_eq!(round_trip(&file, true).unwrap(), file);
        let mut whole = whole;
        whole.name = "movie.mkv".into();
        whole.media_type = "video/x-matroska".into();
        assert!(file.check_redirected(&whole).is_ok());
        whole.name = "other.mkv".into();
        assert!(file.check_redirected(&whole).is_err());
        assert!(file.check_redirected(&description(5)).is_err());
        assert!(!format!("{file:?}").contains("movie"));
    }

    #[test]
    fn a_message_must_agree_with_its_description() {
        let mut lying = inline(1000);
        lying.size = 999;
        assert!(round_trip(&lying, true).is_err());
        let mut renamed = inline(1000);
        renamed.name = "other.exe".into();
        assert!(round_trip(&renamed, true).is_err());
        // An item being uploaded has no description yet; a message must.
        let mut uploading = inline(1000);
        uploading.description = Zeroizing::new(Vec::new());
        assert!(round_trip(&uploading, false).is_ok());
        assert!(round_trip(&uploading, true).is_err());
    }

    #[test]
    fn media_round_trip_within_their_bounds() {
        let mut file = inline(1000);
        assert_eq!(round_trip(&file, true).unwrap(), file);
        file.media = Some(
            FileMedia::new(vec![7; MAX_PREVIEW_LEN], 12_345, vec![9; MAX_WAVEFORM_LEN]).unwrap(),
        );
        assert_eq!(round_trip(&file, true).unwrap(), file);
        assert!(FileMedia::new(vec![0; MAX_PREVIEW_LEN + 1], 0, Vec::new()).is_err());
        assert!(FileMedia::new(Vec::new(), 0, vec![0; MAX_WAVEFORM_LEN + 1]).is_err());
        // Empty media are not written.
        file.media = Some(FileMedia::default());
        assert_eq!(round_trip(&file, true).unwrap().media, None);
        // and the flag with empty media is refused.
        let mut w = Writer::new();
        file.media = None;
        file.encode(&mut w);
        let mut bytes = w.finish();
        let flag_at = bytes.len() - file.description.len() - 3;
        bytes[flag_at] |= MEDIA_FLAG;
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]);
        assert!(FileMessage::decode(&mut Reader::new(&bytes, "t"), true).is_err());
        bytes[flag_at] &= !MEDIA_FLAG;
        bytes.truncate(bytes.len() - 7);
        assert!(FileMessage::decode(&mut Reader::new(&bytes, "t"), true).is_ok());
        // A preview over the bound is refused.
        let mut w = Writer::new();
        file.media = Some(FileMedia {
            preview: vec![0; MAX_PREVIEW_LEN + 1],
            duration_ms: 0,
            waveform: Vec::new(),
        });
        file.encode(&mut w);
        let bytes = w.finish();
        assert!(FileMessage::decode(&mut Reader::new(&bytes, "t"), true).is_err());
    }

    #[test]
    fn states_round_trip() {
        for state in [
            FileState::Uploading,
            FileState::Sent,
            FileState::Available,
            FileState::Downloading,
            FileState::Received,
            FileState::Failed(TransferFailure::Tampered),
        ] {
            let mut w = Writer::new();
            state.encode(&mut w);
            let bytes = w.finish();
            assert_eq!(
                FileState::decode(&mut Reader::new(&bytes, "t")).unwrap(),
                state
            );
        }
        let bytes = [2u8, 1];
        assert!(FileState::decode(&mut Reader::new(&bytes, "t")).is_err());
    }
}
