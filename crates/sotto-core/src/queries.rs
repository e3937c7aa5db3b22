//! What the user interface and the command line read: contacts, chats,
//! requests, links, settings and security codes.

use sotto_crypto::{IdentityPublicKey, SecurityCode};

use crate::chat_item::{ChatItem, MESSAGES};
use crate::connection_records::{INVITATIONS, InvitationRecord, REQUESTS, RequestRecord};
use crate::contact::{ContactRecord, ContactState, ReceiptSetting};
use crate::core::Core;
use crate::ids::{ContactId, InvitationId, MessageNumber, RequestId};
use crate::profile::Profile;
use crate::time::UnixMillis;
use crate::{CoreError, Direction, KeyRange, Settings, Store, WriteBatch};

/// One contact as the contact list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactSummary {
    /// The contact.
    pub id: ContactId,
    /// Where the connection stands.
    pub state: ContactState,
    /// The contact's profile, once received.
    pub profile: Option<Profile>,
    /// Whether the user marked the security code as verified.
    pub verified: bool,
    /// Incoming messages not read yet.
    pub unread: u32,
    /// The last item of the chat.
    pub last_message: Option<ChatItem>,
    /// The disappearing-message timer, in seconds.
    pub timer_secs: Option<u32>,
    /// Read receipts in this chat.
    pub read_receipts: ReceiptSetting,
    /// When something last happened in the chat.
    pub last_activity: UnixMillis,
}

/// A contact request waiting for a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRequestSummary {
    /// The request.
    pub id: RequestId,
    /// The requester's profile.
    pub profile: Profile,
    /// When it arrived.
    pub received_at: UnixMillis,
}

impl<S: Store> Core<S> {
    /// Every contact, most recently active first.
    pub fn contacts(&self) -> Result<Vec<ContactSummary>, CoreError> {
        let mut contacts = ContactRecord::load_all(&self.store)?
            .into_iter()
            .map(|record| self.summary(record))
            .collect::<Result<Vec<_>, _>>()?;
        contacts.sort_by(|a, b| b.last_activity.cmp(&a.last_activity).then(a.id.cmp(&b.id)));
        Ok(contacts)
    }

    /// One contact.
    pub fn contact(&self, id: ContactId) -> Result<ContactSummary, CoreError> {
        self.summary(ContactRecord::load(&self.store, id)?)
    }

    fn summary(&self, record: ContactRecord) -> Result<ContactSummary, CoreError> {
        let last_message = self.history(record.id, None, 1)?.pop();
        Ok(ContactSummary {
            id: record.id,
            state: record.state,
            profile: record.profile,
            verified: record.verified,
            unread: record.unread,
            last_message,
            timer_secs: record.timer_secs,
            read_receipts: record.read_receipts,
            last_activity: UnixMillis(record.last_activity),
        })
    }

    /// Up to `limit` items of a chat before `before` (the newest when `None`),
    /// oldest first: page backwards by passing the first item's number.
    pub fn history(
        &self,
        contact: ContactId,
        before: Option<MessageNumber>,
        limit: usize,
    ) -> Result<Vec<ChatItem>, CoreError> {
        let prefix = contact.0.to_be_bytes();
        let mut range = KeyRange::prefix(&prefix);
        if let Some(before) = before {
            range.end = Some(ChatItem::key(contact, before));
        }
        let records = self
            .store
            .range(MESSAGES, &range, Direction::Backward, limit)?;
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

    /// One item of a chat.
    pub fn message(
        &self,
        contact: ContactId,
        number: MessageNumber,
    ) -> Result<ChatItem, CoreError> {
        self.item(contact, number)
    }

    /// Contact requests waiting for a decision, oldest first.
    pub fn requests(&self) -> Result<Vec<ContactRequestSummary>, CoreError> {
        crate::codec::load_table(&self.store, REQUESTS, "request", |id, bytes| {
            let request = RequestRecord::decode(bytes)?;
            Ok(ContactRequestSummary {
                id: RequestId(id),
                profile: request.profile,
                received_at: UnixMillis(request.received_at),
            })
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

    /// The settings.
    pub fn settings(&self) -> Settings {
        self.account.settings
    }

    /// Changes the settings.
    pub fn set_settings(&mut self, settings: Settings) -> Result<(), CoreError> {
        self.account.settings = settings;
        self.commit(WriteBatch::new())
    }

    /// Read receipts in one chat.
    pub fn set_read_receipts(
        &mut self,
        contact: ContactId,
        setting: ReceiptSetting,
    ) -> Result<(), CoreError> {
        let mut record = ContactRecord::load(&self.store, contact)?;
        record.read_receipts = setting;
        let mut batch = WriteBatch::new();
        record.put(&mut batch);
        self.commit(batch)
    }

    /// The security code to compare with the contact (in person, or by
    /// scanning its QR payload).
    pub fn security_code(&self, contact: ContactId) -> Result<SecurityCode, CoreError> {
        let record = ContactRecord::load(&self.store, contact)?;
        Ok(SecurityCode::new(
            &self.account.identity.public_key(),
            &IdentityPublicKey::from_bytes(&record.peer_identity),
        ))
    }

    /// Marks the contact's security code as verified (or not).
    pub fn set_verified(&mut self, contact: ContactId, verified: bool) -> Result<(), CoreError> {
        let mut record = ContactRecord::load(&self.store, contact)?;
        record.verified = verified;
        let mut batch = WriteBatch::new();
        record.put(&mut batch);
        self.commit(batch)
    }
}
