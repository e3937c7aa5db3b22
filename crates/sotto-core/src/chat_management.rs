//! Managing chats on this device: pin, archive, a local name for the peer,
//! clearing the history, blocking. None of it is sent to the peer.

use crate::chat_item::{ChatItem, MessageDirection, MessageStatus};
use crate::chat_record::ChatRecord;
use crate::core::Core;
use crate::event::{Event, Pending};
use crate::ids::{ChatId, MessageNumber};
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{CoreError, MAX_DISPLAY_NAME_LEN, Store};

impl<S: Store> Core<S> {
    /// Pins a chat (shown before the others) or unpins it.
    pub fn set_pinned(&mut self, chat: ChatId, pinned: bool) -> Result<(), CoreError> {
        self.change_chat(chat, |record| record.pinned = pinned)
    }

    /// Archives a chat (kept out of the main list; new messages leave it
    /// there) or brings it back.
    pub fn set_archived(&mut self, chat: ChatId, archived: bool) -> Result<(), CoreError> {
        self.change_chat(chat, |record| record.archived = archived)
    }

    /// Names the chat's peer on this device (`None` shows their own name
    /// again). The alias is 1 to [`MAX_DISPLAY_NAME_LEN`] bytes once trimmed,
    /// on one line.
    pub fn set_alias(&mut self, chat: ChatId, alias: Option<&str>) -> Result<(), CoreError> {
        let alias = match alias.map(str::trim) {
            None => None,
            Some(alias)
                if alias.is_empty()
                    || alias.len() > MAX_DISPLAY_NAME_LEN
                    || alias.chars().any(char::is_control) =>
            {
                return Err(CoreError::InvalidValue("alias: 1 to 64 bytes on one line"));
            }
            Some(alias) => Some(alias.to_owned()),
        };
        self.change_chat(chat, |record| record.alias = alias)
    }

    /// Mutes a chat's notifications until `until` ([`UnixMillis::FOREVER`]:
    /// always), or unmutes it with `None`. Front ends read it from
    /// [`crate::ChatView::muted_until`]; messages arrive as ever.
    pub fn set_muted(&mut self, chat: ChatId, until: Option<UnixMillis>) -> Result<(), CoreError> {
        self.change_chat(chat, |record| {
            record.muted_until = until.map(|until| until.0)
        })
    }

    /// Deletes one item of a chat on this device only (a message either way,
    /// or a notice); the peer keeps its copy.
    pub fn delete_for_me(&mut self, chat: ChatId, number: MessageNumber) -> Result<(), CoreError> {
        let item = ChatItem::load(&self.store, chat, number)?.ok_or(CoreError::UnknownMessage)?;
        let mut batch = StagedBatch::new();
        if item.direction == MessageDirection::Incoming && item.status == MessageStatus::Delivered {
            // An unread message deleted unread no longer counts as unread.
            let mut record = ChatRecord::load(&self.store, chat)?;
            record.unread = record.unread.saturating_sub(1);
            record.put(&mut batch);
        }
        item.delete(&self.store, &mut batch)?;
        crate::file_transfer::keep_sent_chunks(&item, &mut batch);
        batch.notify(Pending::ready(Event::ItemsRemoved {
            chat,
            numbers: vec![number],
        }));
        batch.notify(Pending::ChatChanged(chat));
        self.commit(batch)?;
        self.chats.refresh_expiry(&self.store)?;
        Ok(())
    }

    /// Deletes every item of a chat on this device; the chat and its
    /// connection stay. Messages still waiting to be sent go out.
    pub fn clear_history(&mut self, chat: ChatId) -> Result<(), CoreError> {
        let mut record = ChatRecord::load(&self.store, chat)?;
        let mut batch = StagedBatch::new();
        let mut before = None;
        loop {
            let page = crate::queries::load_items(&self.store, chat, before, 256)?;
            let Some(first) = page.first() else { break };
            before = Some(first.number);
            for item in &page {
                item.delete(&self.store, &mut batch)?;
                crate::file_transfer::keep_sent_chunks(item, &mut batch);
            }
        }
        if record.is_group() {
            crate::groups::messages::forget_receipts(&mut batch, chat);
        }
        record.unread = 0;
        record.put(&mut batch);
        batch.notify(Pending::ready(Event::HistoryCleared { chat }));
        batch.notify(Pending::ChatChanged(chat));
        self.commit(batch)?;
        self.chats.refresh_expiry(&self.store)?;
        Ok(())
    }

    /// Blocks the chat's peer: its connection ends, nothing more arrives
    /// from it (contact requests included) and it is told nothing. The
    /// history stays. [`Core::unblock`] lifts the block; talking again then
    /// takes a new link ([`Core::reconnect`]).
    pub fn block(&mut self, now: UnixMillis, chat: ChatId) -> Result<(), CoreError> {
        let (mut cx, _, connector, chats) = self.parts();
        let result = connector.block(&mut cx, chats, now, chat);
        self.after_action(now, result)
    }

    /// Lifts a block: the peer's contact requests are received again.
    pub fn unblock(&mut self, chat: ChatId) -> Result<(), CoreError> {
        self.change_chat(chat, |record| record.blocked = false)
    }

    fn change_chat(
        &mut self,
        chat: ChatId,
        change: impl FnOnce(&mut ChatRecord),
    ) -> Result<(), CoreError> {
        let mut record = ChatRecord::load(&self.store, chat)?;
        change(&mut record);
        let mut batch = StagedBatch::new();
        record.put(&mut batch);
        batch.notify(Pending::ChatChanged(chat));
        self.commit(batch)
    }
}
