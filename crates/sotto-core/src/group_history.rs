//! A group's history on this device: the texts read from its log, in log
//! order, and our own once the log has them (a text we send is kept by the
//! digest of its entry until that entry comes back, so it takes its place in
//! the log's order).
//!
//! ```text
//! table "group_items", key group chat id u64 || log seq u64:
//!   version (1) = 0x01 || direction u8 (0 in, 1 out) || sent_at u64 || at u64
//!   || text16(sender id, hex) || text16(sender name) || text16(text)
//! table "group_outgoing", key group chat id u64 || SHA-256(entry) (32):
//!   version (1) = 0x01 || sent_at u64 || text16(text)
//! ```

use sha2::{Digest, Sha256};
use sotto_wire::GroupEntry;

use crate::chat_message::MAX_TEXT_LEN;
use crate::codec::{Reader, Writer, corrupt};
use crate::ids::ChatId;
use crate::profile::MAX_DISPLAY_NAME_LEN;
use crate::store::{Direction, KeyRange, Table, WriteBatch};
use crate::time::UnixMillis;
use crate::{CoreError, Store};

pub(crate) const GROUP_ITEMS: Table = Table::new("group_items");
pub(crate) const GROUP_OUTGOING: Table = Table::new("group_outgoing");
const VERSION: u8 = 1;
/// A member id in hex.
const MAX_SENDER_ID_LEN: usize = 2 * sotto_groups::MEMBER_ID_LEN;

/// One text of a group's history.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GroupItemView {
    /// The group's chat.
    pub group: ChatId,
    /// The entry's sequence number in the group's log (the history's order).
    pub seq: u64,
    /// Whether this profile wrote it.
    pub outgoing: bool,
    /// The sender's member id in the group (hex; empty for our own).
    pub sender: String,
    /// The sender's name in the group (empty for our own).
    pub sender_name: String,
    /// When the sender says it was sent.
    pub sent_at: UnixMillis,
    /// When this device read it from the log.
    pub at: UnixMillis,
    /// The text.
    pub text: String,
}

fn item_key(group: ChatId, seq: u64) -> Vec<u8> {
    [group.0.to_be_bytes(), seq.to_be_bytes()].concat()
}

fn outgoing_key(group: ChatId, entry: &GroupEntry) -> Vec<u8> {
    let digest: [u8; 32] = Sha256::digest(entry.as_bytes()).into();
    [&group.0.to_be_bytes()[..], &digest[..]].concat()
}

impl GroupItemView {
    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        let mut w = Writer::new();
        w.u8(VERSION)
            .u8(u8::from(self.outgoing))
            .u64(self.sent_at.0)
            .u64(self.at.0)
            .bytes16(self.sender.as_bytes())
            .bytes16(self.sender_name.as_bytes())
            .bytes16(self.text.as_bytes());
        batch.put(GROUP_ITEMS, item_key(self.group, self.seq), w.finish());
    }

    fn decode(group: ChatId, key: &[u8], bytes: &[u8]) -> Result<GroupItemView, CoreError> {
        const BAD: CoreError = CoreError::Malformed("group item");
        let seq = key
            .get(8..16)
            .and_then(|seq| <[u8; 8]>::try_from(seq).ok())
            .map(u64::from_be_bytes)
            .ok_or(BAD)?;
        let mut r = Reader::new(bytes, "group item");
        if r.u8()? != VERSION {
            return Err(BAD);
        }
        let outgoing = r.bool()?;
        let item = GroupItemView {
            group,
            seq,
            outgoing,
            sent_at: UnixMillis(r.u64()?),
            at: UnixMillis(r.u64()?),
            sender: r.text(MAX_SENDER_ID_LEN)?,
            sender_name: r.text(MAX_DISPLAY_NAME_LEN)?,
            text: r.text(MAX_TEXT_LEN)?,
        };
        r.finish()?;
        Ok(item)
    }
}

/// Keeps a text we send until its entry comes back from the log.
pub(crate) fn put_outgoing(
    batch: &mut WriteBatch,
    group: ChatId,
    entry: &GroupEntry,
    sent_at: UnixMillis,
    text: &str,
) {
    let mut w = Writer::new();
    w.u8(VERSION).u64(sent_at.0).bytes16(text.as_bytes());
    batch.put(GROUP_OUTGOING, outgoing_key(group, entry), w.finish());
}

/// Our own text, if `entry` is one we sent: it becomes a history item at
/// `seq`.
pub(crate) fn take_outgoing(
    store: &impl Store,
    batch: &mut WriteBatch,
    group: ChatId,
    seq: u64,
    at: UnixMillis,
    entry: &GroupEntry,
) -> Result<bool, CoreError> {
    let key = outgoing_key(group, entry);
    let Some(bytes) = store.get(GROUP_OUTGOING, &key)? else {
        return Ok(false);
    };
    let mut r = Reader::new(&bytes, "group outgoing");
    if r.u8()? != VERSION {
        return Err(CoreError::CorruptRecord("group outgoing"));
    }
    let sent_at = UnixMillis(r.u64()?);
    let text = r.text(MAX_TEXT_LEN).map_err(corrupt("group outgoing"))?;
    batch.delete(GROUP_OUTGOING, key);
    GroupItemView {
        group,
        seq,
        outgoing: true,
        sender: String::new(),
        sender_name: String::new(),
        sent_at,
        at,
        text,
    }
    .put(batch);
    Ok(true)
}

/// The newest `limit` texts of a group, oldest first.
pub(crate) fn load(
    store: &impl Store,
    group: ChatId,
    limit: usize,
) -> Result<Vec<GroupItemView>, CoreError> {
    let mut items = store
        .range(
            GROUP_ITEMS,
            &KeyRange::prefix(&group.0.to_be_bytes()),
            Direction::Backward,
            limit,
        )?
        .into_iter()
        .map(|record| {
            GroupItemView::decode(group, &record.key, &record.value).map_err(corrupt("group item"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    items.reverse();
    Ok(items)
}
