//! Inviting a contact into a group over the pairwise chat: the three chat
//! messages of an invitation and the records each side keeps meanwhile.
//!
//! ```text
//! inviter → contact  GroupInvite      invite id (16) || name (len u16 || UTF-8, 1..=64)
//! contact → inviter  GroupKeyPackage  invite id (16) || key package (len u32 || MLS KeyPackage)
//! inviter → contact  GroupWelcome     invite id (16) || next seq u64 || log || welcome
//!                                     (len u32 || MLS Welcome)
//!   or, when that does not fit one chat message, in pieces:
//! inviter → contact  GroupWelcomePiece invite id (16) || index u16 || count u16 (2..=1600)
//!                                     || piece (len u16 || 1..=10000 bytes)
//!   the pieces, in index order, are the GroupWelcome's content
//! table "group_invites" (inviter), key invite id (16):
//!   version (1) = 0x01 || group chat id u64 || contact chat id u64
//!   || option(member id (16): the key package's, once added)
//!   || option(key package (len u32 || bytes): arrived while another commit of
//!      ours awaited the log; added after it)
//! table "group_joins" (invitee), key invite id (16):
//!   version (1) = 0x01 || contact chat id u64 || name (len u16 || UTF-8)
//!   || pending join pickle (len u32 || pickle)
//! table "group_invitations" (invitee: invitations "who can add me" holds
//! for the user to accept or decline), key local id u64:
//!   version (1) = 0x01 || invite id (16) || contact chat id u64
//!   || received at u64 (Unix ms) || name (len u16 || UTF-8)
//! table "group_welcome_pieces" (invitee), key invite id (16) || index u16:
//!   count u16 || piece bytes
//! table "group_welcome_progress" (invitee), key invite id (16):
//!   count u16 || pieces received u16
//! ```
//!
//! `log` is the group log's layout in `group_record`, without admin
//! credentials. `next seq` is the sequence number after the commit that
//! added the contact: the new member reads the log from there.

use sotto_groups::{MAX_KEY_PACKAGE_LEN, MAX_WELCOME_LEN, MemberId, PendingJoin};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer, corrupt};
use crate::group_record::GroupLog;
use crate::ids::ChatId;
use crate::profile::MAX_DISPLAY_NAME_LEN;
use crate::store::{Direction, KeyRange, Table, WriteBatch};
use crate::{CoreError, Store};

pub(crate) const GROUP_INVITES: Table = Table::new("group_invites");
pub(crate) const GROUP_JOINS: Table = Table::new("group_joins");
pub(crate) const GROUP_INVITATIONS: Table = Table::new("group_invitations");
pub(crate) const GROUP_WELCOME_PIECES: Table = Table::new("group_welcome_pieces");
pub(crate) const GROUP_WELCOME_PROGRESS: Table = Table::new("group_welcome_progress");
/// The longest piece of a welcome sent in pieces.
pub(crate) const MAX_WELCOME_PIECE_LEN: usize = 10_000;
/// Most pieces of one welcome (16 MB in all: a contact's 16 accepted
/// invitations cannot make this profile keep more than 256 MB of pieces).
pub(crate) const MAX_WELCOME_PIECES: usize = 1600;
const VERSION: u8 = 1;
/// Length of an invite id.
pub(crate) const INVITE_ID_LEN: usize = 16;

/// Names one invitation on both sides.
pub(crate) type InviteId = [u8; INVITE_ID_LEN];

/// The welcome and what a new member needs beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GroupWelcome {
    pub(crate) invite: InviteId,
    pub(crate) next_seq: u64,
    pub(crate) log: GroupLog,
    pub(crate) welcome: Vec<u8>,
}

impl GroupWelcome {
    pub(crate) fn encode(&self, w: &mut Writer) {
        w.array(&self.invite).u64(self.next_seq);
        let member_log = GroupLog {
            admin: None,
            ..self.log.clone()
        };
        member_log.encode(w);
        w.bytes32(&self.welcome);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<GroupWelcome, CoreError> {
        let invite = r.array()?;
        let next_seq = r.u64()?;
        let log = GroupLog::decode(r)?;
        if log.admin.is_some() {
            return Err(CoreError::Malformed("group welcome"));
        }
        let welcome = r.bytes32(MAX_WELCOME_LEN)?.to_vec();
        Ok(GroupWelcome {
            invite,
            next_seq,
            log,
            welcome,
        })
    }
}

/// One piece of a welcome too long for one chat message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WelcomePiece {
    pub(crate) invite: InviteId,
    pub(crate) index: u16,
    pub(crate) count: u16,
    pub(crate) bytes: Vec<u8>,
}

impl WelcomePiece {
    pub(crate) fn encode(&self, w: &mut Writer) {
        w.array(&self.invite)
            .u16(self.index)
            .u16(self.count)
            .bytes16(&self.bytes);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<WelcomePiece, CoreError> {
        const BAD: CoreError = CoreError::Malformed("group welcome piece");
        let piece = WelcomePiece {
            invite: r.array()?,
            index: r.u16()?,
            count: r.u16()?,
            bytes: r.bytes16(MAX_WELCOME_PIECE_LEN)?.to_vec(),
        };
        let count = usize::from(piece.count);
        if !(2..=MAX_WELCOME_PIECES).contains(&count)
            || piece.index >= piece.count
            || piece.bytes.is_empty()
        {
            return Err(BAD);
        }
        Ok(piece)
    }

    /// The pieces of a welcome's content (`GroupWelcome::encode`).
    pub(crate) fn split(welcome: &GroupWelcome) -> Result<Vec<WelcomePiece>, CoreError> {
        let mut w = Writer::new();
        welcome.encode(&mut w);
        let bytes = Zeroizing::new(w.finish());
        let count = bytes.len().div_ceil(MAX_WELCOME_PIECE_LEN);
        let too_long = CoreError::TooLong {
            what: "group welcome",
            max: MAX_WELCOME_PIECES * MAX_WELCOME_PIECE_LEN,
        };
        if count > MAX_WELCOME_PIECES {
            return Err(too_long);
        }
        // At least two pieces: a welcome short enough for one goes whole.
        let len = bytes.len().div_ceil(count.max(2)).max(1);
        let pieces: Vec<&[u8]> = bytes.chunks(len).collect();
        let count = u16::try_from(pieces.len()).map_err(|_| too_long)?;
        pieces
            .into_iter()
            .zip(0..count)
            .map(|(piece, index)| {
                Ok(WelcomePiece {
                    invite: welcome.invite,
                    index,
                    count,
                    bytes: piece.to_vec(),
                })
            })
            .collect()
    }
}

pub(crate) fn decode_key_package(r: &mut Reader<'_>) -> Result<Vec<u8>, CoreError> {
    Ok(r.bytes32(MAX_KEY_PACKAGE_LEN)?.to_vec())
}

pub(crate) fn decode_group_name(r: &mut Reader<'_>) -> Result<String, CoreError> {
    let name = r.text(MAX_DISPLAY_NAME_LEN)?;
    if name.trim().is_empty() {
        return Err(CoreError::Malformed("group name"));
    }
    Ok(name)
}

/// An invitation this profile sent.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InviteRecord {
    pub(crate) id: InviteId,
    pub(crate) group: ChatId,
    pub(crate) contact: ChatId,
    /// The member the contact's key package adds, once committed.
    pub(crate) member: Option<MemberId>,
    /// The contact's key package, waiting for our previous commit.
    pub(crate) key_package: Option<Vec<u8>>,
}

impl InviteRecord {
    pub(crate) fn load(store: &impl Store, id: &InviteId) -> Result<Option<Self>, CoreError> {
        store
            .get(GROUP_INVITES, id)?
            .map(|bytes| InviteRecord::decode(*id, &bytes).map_err(corrupt("group invite")))
            .transpose()
    }

    pub(crate) fn load_all(store: &impl Store) -> Result<Vec<Self>, CoreError> {
        store
            .range(
                GROUP_INVITES,
                &KeyRange::all(),
                Direction::Forward,
                usize::MAX,
            )?
            .into_iter()
            .map(|record| {
                let id = record
                    .key
                    .as_slice()
                    .try_into()
                    .map_err(|_| CoreError::CorruptRecord("group invite"))?;
                InviteRecord::decode(id, &record.value).map_err(corrupt("group invite"))
            })
            .collect()
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        let mut w = Writer::new();
        w.u8(VERSION).u64(self.group.0).u64(self.contact.0);
        w.option(self.member.as_ref(), |w, member| {
            w.array(member.as_bytes());
        });
        w.option(self.key_package.as_ref(), |w, key_package| {
            w.bytes32(key_package);
        });
        batch.put(GROUP_INVITES, self.id.to_vec(), w.finish());
    }

    pub(crate) fn delete(&self, batch: &mut WriteBatch) {
        batch.delete(GROUP_INVITES, self.id.to_vec());
    }

    fn decode(id: InviteId, bytes: &[u8]) -> Result<Self, CoreError> {
        let mut r = Reader::new(bytes, "group invite");
        if r.u8()? != VERSION {
            return Err(CoreError::Malformed("group invite"));
        }
        let record = InviteRecord {
            id,
            group: ChatId(r.u64()?),
            contact: ChatId(r.u64()?),
            member: r.option(|r| Ok(MemberId::from_bytes(r.array()?)))?,
            key_package: r.option(decode_key_package)?,
        };
        r.finish()?;
        Ok(record)
    }
}

/// An invitation held for the user to accept or decline ("who can add me
/// to groups" did not let it join at once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HeldInvite {
    /// Its local id, which the user names.
    pub(crate) id: u64,
    pub(crate) invite: InviteId,
    pub(crate) contact: ChatId,
    pub(crate) received_at: u64,
    pub(crate) name: String,
}

impl HeldInvite {
    pub(crate) fn load(store: &impl Store, id: u64) -> Result<Option<Self>, CoreError> {
        store
            .get(GROUP_INVITATIONS, &id.to_be_bytes())?
            .map(|bytes| HeldInvite::decode(id, &bytes).map_err(corrupt("group invitation")))
            .transpose()
    }

    /// Every held invitation, oldest first (at most
    /// [`crate::groups::invitations::MAX_HELD_INVITATIONS`] are ever kept).
    pub(crate) fn load_all(store: &impl Store) -> Result<Vec<Self>, CoreError> {
        store
            .range(
                GROUP_INVITATIONS,
                &KeyRange::all(),
                Direction::Forward,
                usize::MAX,
            )?
            .into_iter()
            .map(|record| {
                let id = record
                    .key
                    .as_slice()
                    .try_into()
                    .map(u64::from_be_bytes)
                    .map_err(|_| CoreError::CorruptRecord("group invitation"))?;
                HeldInvite::decode(id, &record.value).map_err(corrupt("group invitation"))
            })
            .collect()
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        let mut w = Writer::new();
        w.u8(VERSION)
            .array(&self.invite)
            .u64(self.contact.0)
            .u64(self.received_at)
            .bytes16(self.name.as_bytes());
        batch.put(
            GROUP_INVITATIONS,
            self.id.to_be_bytes().to_vec(),
            w.finish(),
        );
    }

    pub(crate) fn delete(&self, batch: &mut WriteBatch) {
        batch.delete(GROUP_INVITATIONS, self.id.to_be_bytes().to_vec());
    }

    fn decode(id: u64, bytes: &[u8]) -> Result<Self, CoreError> {
        let mut r = Reader::new(bytes, "group invitation");
        if r.u8()? != VERSION {
            return Err(CoreError::Malformed("group invitation"));
        }
        let record = HeldInvite {
            id,
            invite: r.array()?,
            contact: ChatId(r.u64()?),
            received_at: r.u64()?,
            name: decode_group_name(&mut r)?,
        };
        r.finish()?;
        Ok(record)
    }
}

/// An invitation this profile accepted, waiting for its welcome.
pub(crate) struct JoinRecord {
    pub(crate) id: InviteId,
    pub(crate) contact: ChatId,
    pub(crate) name: String,
    pub(crate) pending: PendingJoin,
}

impl JoinRecord {
    pub(crate) fn load(store: &impl Store, id: &InviteId) -> Result<Option<Self>, CoreError> {
        store
            .get(GROUP_JOINS, id)?
            .map(|bytes| {
                JoinRecord::decode(*id, &Zeroizing::new(bytes)).map_err(corrupt("group join"))
            })
            .transpose()
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) -> Result<(), CoreError> {
        let pickle = self.pending.pickle()?;
        let mut w = Writer::new();
        w.u8(VERSION)
            .u64(self.contact.0)
            .bytes16(self.name.as_bytes())
            .bytes32(&pickle);
        batch.put(
            GROUP_JOINS,
            self.id.to_vec(),
            Zeroizing::new(w.finish()).to_vec(),
        );
        Ok(())
    }

    pub(crate) fn delete(id: &InviteId, batch: &mut WriteBatch) {
        batch.delete(GROUP_JOINS, id.to_vec());
    }

    /// How many accepted invitations of `contact` wait for their welcome
    /// (reading only each record's contact id, not its pickle).
    pub(crate) fn count_of(store: &impl Store, contact: ChatId) -> Result<usize, CoreError> {
        let records = store.range(
            GROUP_JOINS,
            &KeyRange::all(),
            Direction::Forward,
            usize::MAX,
        )?;
        Ok(records
            .iter()
            .filter(|record| {
                record.value.get(1..9).map(|id| id.to_vec())
                    == Some(contact.0.to_be_bytes().to_vec())
            })
            .count())
    }

    fn decode(id: InviteId, bytes: &[u8]) -> Result<Self, CoreError> {
        let mut r = Reader::new(bytes, "group join");
        if r.u8()? != VERSION {
            return Err(CoreError::Malformed("group join"));
        }
        let contact = ChatId(r.u64()?);
        let name = decode_group_name(&mut r)?;
        let pending = PendingJoin::from_pickle(r.bytes32(sotto_groups::MAX_PICKLE_LEN)?)?;
        r.finish()?;
        Ok(JoinRecord {
            id,
            contact,
            name,
            pending,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;
    use crate::group_record::tests::log;

    #[test]
    fn invite_records_round_trip() {
        let mut store = MemoryStore::new();
        let record = InviteRecord {
            id: [4; INVITE_ID_LEN],
            group: ChatId(2),
            contact: ChatId(3),
            member: Some(MemberId::from_bytes([5; 16])),
            key_package: Some(vec![1, 2]),
        };
        let mut batch = WriteBatch::new();
        record.put(&mut batch);
        store.apply(batch).unwrap();
        assert_eq!(
            InviteRecord::load(&store, &[4; INVITE_ID_LEN]).unwrap(),
            Some(record)
        );
        assert_eq!(InviteRecord::load_all(&store).unwrap().len(), 1);
    }

    #[test]
    fn held_invitations_round_trip() {
        let mut store = MemoryStore::new();
        let record = HeldInvite {
            id: 7,
            invite: [4; INVITE_ID_LEN],
            contact: ChatId(3),
            received_at: 1_700_000_000_000,
            name: "Book club".to_owned(),
        };
        let mut batch = WriteBatch::new();
        record.put(&mut batch);
        store.apply(batch).unwrap();
        assert_eq!(HeldInvite::load(&store, 7).unwrap(), Some(record.clone()));
        assert_eq!(HeldInvite::load_all(&store).unwrap(), vec![record.clone()]);
        let mut batch = WriteBatch::new();
        record.delete(&mut batch);
        store.apply(batch).unwrap();
        assert_eq!(HeldInvite::load(&store, 7).unwrap(), None);
    }

    #[test]
    fn a_welcome_carries_no_admin_credentials() {
        let welcome = GroupWelcome {
            invite: [1; INVITE_ID_LEN],
            next_seq: 9,
            log: log(),
            welcome: vec![7; 100],
        };
        let mut w = Writer::new();
        welcome.encode(&mut w);
        let bytes = w.finish();
        let mut r = Reader::new(&bytes, "test");
        let read = GroupWelcome::decode(&mut r).unwrap();
        r.finish().unwrap();
        assert!(read.log.admin.is_none());
        assert_eq!(read.welcome, welcome.welcome);
        assert_eq!(read.next_seq, 9);
    }
}
