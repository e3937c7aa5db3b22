//! What the user interface and the command line read: contacts, chats,
//! requests, links, settings and security codes.

use sotto_crypto::{IdentityPublicKey, SecurityCode};
use sotto_wire::RelayAddress;

use crate::chat_item::{ChatItem, ItemContent, MESSAGES, MessageDirection};
use crate::chat_record::{AutoDownload, ChatKind, ChatRecord, MediaSettings, ReceiptSetting};
use crate::connection::{ConnectionRecord, ConnectionState};
use crate::connection_records::{INVITATIONS, InvitationRecord, REQUESTS, RequestRecord};
use crate::core::Core;
use crate::event::{Event, Pending};
use crate::group_record::GroupRecord;
use crate::ids::{ChatId, InvitationId, MessageNumber, RequestId};
use crate::peer::PeerRecord;
use crate::profile::Profile;
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::view::{ChatView, ItemView, RequestView};
use crate::{CoreError, Direction, KeyRange, Settings, Store};

impl<S: Store> Core<S> {
    /// Every chat (archived ones too, marked so), pinned ones first, then
    /// most recently active first.
    pub fn chats(&self) -> Result<Vec<ChatView>, CoreError> {
        let mut records = ChatRecord::load_all(&self.store)?;
        records.sort_by(|a, b| {
            b.pinned
                .cmp(&a.pinned)
                .then(b.last_activity.cmp(&a.last_activity))
                .then(a.id.cmp(&b.id))
        });
        records
            .iter()
            .map(|record| self.chat_view(record))
            .collect()
    }

    /// One chat.
    pub fn chat(&self, id: ChatId) -> Result<ChatView, CoreError> {
        self.chat_view(&ChatRecord::load(&self.store, id)?)
    }

    /// Up to `limit` items of a chat before `before` (the newest when `None`),
    /// oldest first: page backwards by passing the first item's number.
    pub fn history(
        &self,
        chat: ChatId,
        before: Option<MessageNumber>,
        limit: usize,
    ) -> Result<Vec<ItemView>, CoreError> {
        self.items(chat, before, limit)?
            .iter()
            .map(|item| self.item_view(item))
            .collect()
    }

    /// One item of a chat.
    pub fn message(&self, chat: ChatId, number: MessageNumber) -> Result<ItemView, CoreError> {
        let item = ChatItem::load(&self.store, chat, number)?.ok_or(CoreError::UnknownMessage)?;
        self.item_view(&item)
    }

    /// Contact requests waiting for a decision, oldest first.
    pub fn requests(&self) -> Result<Vec<RequestView>, CoreError> {
        crate::codec::load_table(&self.store, REQUESTS, "request", |id, bytes| {
            let request = RequestRecord::decode(bytes)?;
            Ok(RequestView::new(
                RequestId(id),
                &request.profile,
                UnixMillis(request.received_at),
            ))
        })
    }

    /// The link of a one-time invitation, once its queue exists.
    pub fn invitation_link(&self, id: InvitationId) -> Result<Option<String>, CoreError> {
        Ok(InvitationRecord::load(&self.store, id)?.and_then(|record| record.link))
    }

    /// One-time invitations not answered yet.
    pub fn invitations(&self) -> Result<Vec<InvitationId>, CoreError> {
        let records = self.store.range(
            INVITATIONS,
            &KeyRange::all(),
            Direction::Forward,
            usize::MAX,
        )?;
        Ok(records
            .iter()
            .filter_map(|record| <[u8; 8]>::try_from(record.key.as_slice()).ok())
            .map(|id| InvitationId(u64::from_be_bytes(id)))
            .collect())
    }

    /// The contact address link, once its queue exists.
    pub fn address_link(&self) -> Result<Option<String>, CoreError> {
        Ok(InvitationRecord::load_address(&self.store)?.and_then(|record| record.link))
    }

    /// This user's profile.
    pub fn profile(&self) -> &Profile {
        &self.account.profile
    }

    /// This user's identity key.
    pub fn identity(&self) -> IdentityPublicKey {
        self.account.identity.public_key()
    }

    /// The relays this profile makes its queues on (the first is the
    /// default), kept in the profile itself.
    pub fn home_relays(&self) -> &[RelayAddress] {
        &self.account.home_relays
    }

    /// Sets the home relays (at most [`crate::MAX_HOME_RELAYS`]; the first
    /// is the default for new queues).
    pub fn set_home_relays(&mut self, relays: Vec<RelayAddress>) -> Result<(), CoreError> {
        if relays.len() > crate::MAX_HOME_RELAYS {
            return Err(CoreError::TooLong {
                what: "home relays",
                max: crate::MAX_HOME_RELAYS,
            });
        }
        self.account.home_relays = relays;
        self.commit(StagedBatch::new())
    }

    /// The settings.
    pub fn settings(&self) -> Settings {
        self.account.settings
    }

    /// Changes the settings.
    pub fn set_settings(&mut self, settings: Settings) -> Result<(), CoreError> {
        self.account.settings = settings;
        self.commit(StagedBatch::new())
    }

    /// Read receipts in one chat.
    pub fn set_read_receipts(
        &mut self,
        contact: ChatId,
        setting: ReceiptSetting,
    ) -> Result<(), CoreError> {
        let mut record = ChatRecord::load(&self.store, contact)?;
        record.read_receipts = setting;
        let mut batch = StagedBatch::new();
        record.put(&mut batch);
        batch.notify(Pending::ChatChanged(contact));
        self.commit(batch)?;
        Ok(())
    }

    /// Automatic downloads in one chat (this device only).
    pub fn set_chat_auto_download(
        &mut self,
        contact: ChatId,
        setting: AutoDownload,
    ) -> Result<(), CoreError> {
        let mut record = ChatRecord::load(&self.store, contact)?;
        record.auto_download = setting;
        let mut batch = StagedBatch::new();
        record.put(&mut batch);
        batch.notify(Pending::ChatChanged(contact));
        self.commit(batch)?;
        Ok(())
    }

    /// A chat's media settings: its automatic downloads (this device) and
    /// whether saving and exporting its media is blocked (both sides).
    pub fn media_settings(&self, contact: ChatId) -> Result<MediaSettings, CoreError> {
        let record = ChatRecord::load(&self.store, contact)?;
        Ok(MediaSettings {
            auto_download: record.auto_download,
            block_saving: record.block_saving,
        })
    }

    /// The security code to compare with the contact (in person, or by
    /// scanning its QR payload).
    pub fn security_code(&self, contact: ChatId) -> Result<SecurityCode, CoreError> {
        let chat = ChatRecord::load(&self.store, contact)?;
        let peer = PeerRecord::load(&self.store, chat.peer()?)?;
        Ok(SecurityCode::new(
            &self.account.identity.public_key(),
            &IdentityPublicKey::from_bytes(&peer.identity),
        ))
    }

    /// Marks the contact's security code as verified (or not).
    pub fn set_verified(&mut self, contact: ChatId, verified: bool) -> Result<(), CoreError> {
        let chat = ChatRecord::load(&self.store, contact)?;
        let mut record = PeerRecord::load(&self.store, chat.peer()?)?;
        record.verified = verified;
        let mut batch = StagedBatch::new();
        record.put(&mut batch);
        batch.notify(Pending::ChatChanged(contact));
        self.commit(batch)?;
        Ok(())
    }

    // --- Views -----------------------------------------------------------------

    /// The records behind [`Core::history`].
    pub(crate) fn items(
        &self,
        chat: ChatId,
        before: Option<MessageNumber>,
        limit: usize,
    ) -> Result<Vec<ChatItem>, CoreError> {
        load_items(&self.store, chat, before, limit)
    }

    pub(crate) fn chat_view(&self, record: &ChatRecord) -> Result<ChatView, CoreError> {
        let last_item = match self.items(record.id, None, 1)?.pop() {
            Some(item) => Some(Box::new(self.item_view(&item)?)),
            None => None,
        };
        if let ChatKind::Group { members } = record.kind {
            // The record alone: decoding the group's MLS state costs tens of
            // milliseconds in a large group, at each change of its chat.
            let fields = GroupRecord::fields(&self.store, record.id)?;
            let (name, active) = match fields.active {
                Some(active) => (fields.name, active),
                None => {
                    let group = GroupRecord::load(&self.store, record.id)?;
                    (group.display_name(), group.is_active())
                }
            };
            let state = if active {
                ConnectionState::Connected
            } else {
                ConnectionState::Disconnected
            };
            return Ok(ChatView {
                name: Some(name),
                state,
                members: Some(members),
                ..ChatView::of_record(record, last_item)
            });
        }
        let peer = PeerRecord::load(&self.store, record.peer()?)?;
        let state = match record.connection() {
            Some(id) => match ConnectionRecord::load(&self.store, id) {
                Ok(connection) => connection.stage.state(),
                Err(CoreError::NotConnected) => ConnectionState::Disconnected,
                Err(error) => return Err(error),
            },
            None => ConnectionState::Disconnected,
        };
        Ok(ChatView {
            name: peer.profile.as_ref().map(|p| p.display_name().to_owned()),
            bio: peer
                .profile
                .as_ref()
                .and_then(|p| p.bio())
                .map(str::to_owned),
            state,
            verified: peer.verified,
            ..ChatView::of_record(record, last_item)
        })
    }

    pub(crate) fn item_view(&self, item: &ChatItem) -> Result<ItemView, CoreError> {
        let quoted = match &item.content {
            ItemContent::Text {
                reply_to: Some(number),
                ..
            } => ChatItem::load(&self.store, item.chat, *number)?,
            _ => None,
        };
        let mut view = ItemView::new(item, quoted.as_ref());
        if item.direction == MessageDirection::Outgoing
            && let Ok(chat) = ChatRecord::load(&self.store, item.chat)
            && chat.is_group()
        {
            view.receipts = Some(Box::new(crate::groups::messages::receipts_view(
                &self.store,
                &chat,
                item.number,
            )?));
        }
        Ok(view)
    }

    /// Builds a queued event's views from the store; `None` when what it is
    /// about is gone.
    pub(crate) fn complete(&self, pending: Pending) -> Result<Option<Event>, CoreError> {
        let chat = |id| -> Result<Option<ChatView>, CoreError> {
            match ChatRecord::load(&self.store, id) {
                Ok(record) => self.chat_view(&record).map(Some),
                Err(CoreError::UnknownContact) => Ok(None),
                Err(error) => Err(error),
            }
        };
        Ok(match pending {
            Pending::Ready(event) => Some(*event),
            Pending::ItemAdded(id, number) => {
                let Some(item) = ChatItem::load(&self.store, id, number)? else {
                    return Ok(None);
                };
                let unread = match ChatRecord::load(&self.store, id) {
                    Ok(record) => record.unread,
                    Err(CoreError::UnknownContact) => return Ok(None),
                    Err(error) => return Err(error),
                };
                Some(Event::ItemAdded {
                    item: self.item_view(&item)?,
                    unread,
                })
            }
            Pending::ItemChanged(id, number) => ChatItem::load(&self.store, id, number)?
                .map(|item| self.item_view(&item))
                .transpose()?
                .map(|item| Event::ItemChanged { item }),
            Pending::ChatChanged(id) => chat(id)?.map(|chat| Event::ChatChanged { chat }),
            Pending::Connected(id) => chat(id)?.map(|chat| Event::ContactConnected { chat }),
            Pending::ConnectionFailed(id) => chat(id)?.map(|chat| Event::ConnectionFailed { chat }),
            Pending::AddressFlooded => Some(Event::AddressFlooded {
                waiting: u32::try_from(RequestRecord::load_all(&self.store)?.len())
                    .unwrap_or(u32::MAX),
            }),
            Pending::Request(id) => match RequestRecord::load(&self.store, id) {
                Ok(request) => Some(Event::RequestReceived {
                    request: RequestView::new(
                        id,
                        &request.profile,
                        UnixMillis(request.received_at),
                    ),
                }),
                Err(CoreError::UnknownRequest) => None,
                Err(error) => return Err(error),
            },
        })
    }
}

/// A page of a chat's items before `before` (or the last ones), oldest
/// first: the records behind [`Core::history`].
pub(crate) fn load_items(
    store: &impl Store,
    contact: ChatId,
    before: Option<MessageNumber>,
    limit: usize,
) -> Result<Vec<ChatItem>, CoreError> {
    let prefix = contact.0.to_be_bytes();
    let mut range = KeyRange::prefix(&prefix);
    if let Some(before) = before {
        range.end = Some(ChatItem::key(contact, before));
    }
    let records = store.range(MESSAGES, &range, Direction::Backward, limit)?;
    let mut items = records
        .iter()
        .map(|record| {
            let number = record
                .key
                .get(8..16)
                .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
                .ok_or(CoreError::CorruptRecord("message key"))?;
            ChatItem::decode(
                contact,
                MessageNumber(u64::from_be_bytes(number)),
                &record.value,
            )
            .map_err(|_| CoreError::CorruptRecord("message"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    items.reverse();
    Ok(items)
}
