//! Files in a chat: the outgoing item made when an upload starts, the chat
//! message sent once it ends, and the state changes of a file's item.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::Chats;
use crate::chat_item::{ChatItem, ItemContent, MessageDirection, MessageStatus};
use crate::chat_message::Content;
use crate::chat_record::ChatRecord;
use crate::file_message::{DescriptionKind, FileMedia, FileMessage, FileState};
use crate::ids::{ChatId, MessageNumber};
use crate::shared::Shared;
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{CoreError, Store};

impl Chats {
    /// Adds an outgoing file item being uploaded (no message is sent yet),
    /// with the `media` its message will carry, writing `extra` with it;
    /// returns its number.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start_upload<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        chat: ChatId,
        name: &str,
        size: u64,
        media_type: &str,
        media: Option<FileMedia>,
        extra: impl FnOnce(MessageNumber, &mut StagedBatch),
    ) -> Result<MessageNumber, CoreError> {
        let mut record = ChatRecord::load(cx.store(), chat)?;
        // A group's file goes to its log (the caller checked the group is
        // active).
        if record.connection().is_none() && !record.is_group() {
            return Err(CoreError::NotConnected);
        }
        let number = MessageNumber(record.allocate_number());
        let item = ChatItem {
            chat,
            number,
            direction: MessageDirection::Outgoing,
            seq: 0,
            sent_at: now,
            at: now,
            status: MessageStatus::Pending,
            content: ItemContent::File {
                file: FileMessage {
                    name: name.to_owned(),
                    size,
                    media_type: media_type.to_owned(),
                    kind: DescriptionKind::Inline,
                    description: Zeroizing::new(Vec::new()),
                    media,
                },
                state: FileState::Uploading,
            },
            edited: false,
            deleted: false,
            reactions: Vec::new(),
            expires_at: None,
            sender: None,
            mentions_me: false,
        };
        let mut batch = StagedBatch::new();
        self.add_item(&item, &mut batch);
        record.last_activity = now.0;
        record.put(&mut batch);
        extra(number, &mut batch);
        cx.commit(batch)?;
        Ok(number)
    }

    /// The upload of item `number` ended: sends `file` in a chat message.
    pub(crate) fn send_file<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        number: MessageNumber,
        file: FileMessage,
    ) -> Result<(), CoreError> {
        let mut item = cx.item(chat, number)?;
        let ItemContent::File {
            state: FileState::Uploading,
            ..
        } = item.content
        else {
            return Err(CoreError::UnknownMessage);
        };
        if item.deleted {
            return Err(CoreError::UnknownMessage);
        }
        // The media chosen when the upload started go with the message.
        let mut file = file;
        if file.media.is_none()
            && let ItemContent::File { file: started, .. } = &item.content
        {
            file.media = started.media.clone();
        }
        file.fit_media();
        self.with_session(cx, rng, chat, |chats, cx, rng, chat, link, batch| {
            let content = Content::File { file: file.clone() };
            item.seq = chats.send(cx, now, rng, chat.id, link, content, Some(number), batch)?;
            item.sent_at = now;
            item.expires_at = Chats::expiry(chat, now);
            item.content = ItemContent::File {
                file,
                state: FileState::Sent,
            };
            chats.put_item(&item, batch);
            chat.last_activity = now.0;
            Ok(())
        })
    }

    /// Item `number`, a file, is now in `state`; `extra` is written with it.
    pub(crate) fn set_file_state<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chat: ChatId,
        number: MessageNumber,
        new_state: FileState,
        extra: impl FnOnce(&mut StagedBatch),
    ) -> Result<(), CoreError> {
        let mut item = cx.item(chat, number)?;
        let ItemContent::File { state, .. } = &mut item.content else {
            return Err(CoreError::UnknownMessage);
        };
        *state = new_state;
        let mut batch = StagedBatch::new();
        self.put_item(&item, &mut batch);
        extra(&mut batch);
        cx.commit(batch)
    }
}
