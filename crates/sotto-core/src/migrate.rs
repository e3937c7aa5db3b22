//! Storage migrations, run when a profile opens, each in one atomic batch.
//!
//! Version 1 kept one flat "contacts" record per contact: the chat, the peer
//! and the pairwise connection together. Each becomes a chat, a peer and a
//! connection numbered with the contact's id, so the keys of items, queues
//! and jobs (which name that id) stay valid:
//!
//! ```text
//! table "contacts" (version 1), key contact id u64:
//! version (1) = 0x01 || state u8 (1 joining, 2 awaiting confirmation, 3 accepting,
//!   4 connected) || created_at u64 || peer identity (32) || verified u8
//! || option(profile) || option(session pickle: len u32 || bytes)
//! || option(link payload: len u16 || bytes)          joiner, until confirmed
//! || option(send queue: queue address || signing key (32))
//! || option(receive queue: recipient id (24))
//! || option(peer sender key (32))                    inviter, before KEY
//! || outgoing chain || incoming chain
//! || next message number u64 || unread u32 || timer secs u32 (0 = off)
//! || read receipts u8 (0 global, 1 on, 2 off) || last activity u64
//! || count u8 (..=64) || seq u64 × count     delivery receipts not sent yet
//! ```
//!
//! A version 1 contact whose connection is incomplete (a state without the
//! fields it needs, which the old code refused at run time) keeps its chat and
//! peer and loses only the connection.
//!
//! Groups kept before they were chats have no chat record, and their texts
//! are in tables of their own; each gets its chat, and its texts become the
//! chat's items, in log order (read, or sent):
//!
//! ```text
//! table "group_items", key group chat id u64 || log seq u64:
//!   version (1) = 0x01 || direction u8 (0 in, 1 out) || sent_at u64 || at u64
//!   || text16(sender id, hex) || text16(sender name) || text16(text)
//! table "group_outgoing": our texts not back from the log (dropped: they
//!   were never shown)
//! ```

use sotto_wire::RecipientId;
use zeroize::Zeroizing;

use crate::chat_item::{ChatItem, GroupSender, ItemContent, MessageDirection, MessageStatus};
use crate::chat_message::MAX_RECEIPT_SEQS;
use crate::chat_record::{ChatKind, ChatRecord, ReceiptSetting};
use crate::codec::{Reader, corrupt};
use crate::connection::{
    Accepting, AwaitingConfirmation, Channel, ConnectionRecord, Established, Joining,
    MAX_PICKLE_LEN, SendQueue, Stage,
};
use crate::group_record::GroupRecord;
use crate::ids::MessageNumber;
use crate::ids::{ChatId, ConnectionId, PeerId};
use crate::integrity::{IncomingChain, OutgoingChain};
use crate::link::{InvitationLink, LinkKind};
use crate::peer::PeerRecord;
use crate::profile::Profile;
use crate::queue_address::QueueAddress;
use crate::store::Direction;
use crate::store::Table;
use crate::time::UnixMillis;
use crate::{CoreError, KeyRange, Store, WriteBatch};

/// Version 1's contacts.
const CONTACTS: Table = Table::new("contacts");

/// Brings the store's records to the current version, in one batch.
pub(crate) fn migrate(store: &mut impl Store) -> Result<(), CoreError> {
    groups_as_chats(store)?;
    group_state_apart(store)?;
    let contacts = crate::codec::load_table(store, CONTACTS, "contact", V1Contact::decode)?;
    if contacts.is_empty() {
        return Ok(());
    }
    let mut batch = WriteBatch::new();
    for contact in contacts {
        contact.split(&mut batch);
    }
    batch.delete_range(CONTACTS, KeyRange::all());
    store.apply(batch)?;
    Ok(())
}

/// Groups' texts of the first group version.
const GROUP_ITEMS: Table = Table::new("group_items");
const GROUP_OUTGOING: Table = Table::new("group_outgoing");

/// Gives each group kept without a chat record its chat, its texts as items.
fn groups_as_chats(store: &mut impl Store) -> Result<(), CoreError> {
    let mut batch = WriteBatch::new();
    let mut changed = false;
    for id in GroupRecord::ids(store)? {
        if ChatRecord::load(store, id).is_ok() {
            continue;
        }
        changed = true;
        let group = GroupRecord::load(store, id)?;
        let mut chat = ChatRecord::group(id, crate::groups::messages::member_count(&group), 0);
        let texts = store.range(
            GROUP_ITEMS,
            &KeyRange::prefix(&id.0.to_be_bytes()),
            Direction::Forward,
            usize::MAX,
        )?;
        for text in texts {
            let seq = text
                .key
                .get(8..16)
                .and_then(|seq| <[u8; 8]>::try_from(seq).ok())
                .map(u64::from_be_bytes)
                .ok_or(CoreError::CorruptRecord("group item"))?;
            let mut item = old_group_item(id, seq, &text.value).map_err(corrupt("group item"))?;
            item.number = MessageNumber(chat.allocate_number());
            chat.last_activity = chat.last_activity.max(item.at.0);
            item.put(&mut batch);
        }
        chat.put(&mut batch);
    }
    if changed {
        batch.delete_range(GROUP_ITEMS, KeyRange::all());
        batch.delete_range(GROUP_OUTGOING, KeyRange::all());
        store.apply(batch)?;
    }
    Ok(())
}

/// Stores the MLS state of each group kept whole in its record (versions
/// 1 and 2 of "groups") in rows of its own (version 3), one group a batch
/// (a group's state is several MiB in a group of thousands).
fn group_state_apart(store: &mut impl Store) -> Result<(), CoreError> {
    for id in GroupRecord::ids(store)? {
        if !GroupRecord::is_whole(store, id)? {
            continue;
        }
        let mut group = GroupRecord::load(store, id)?;
        let mut batch = WriteBatch::new();
        group.put(&mut batch)?;
        store.apply(batch)?;
    }
    Ok(())
}

fn old_group_item(chat: ChatId, seq: u64, bytes: &[u8]) -> Result<ChatItem, CoreError> {
    let mut r = Reader::new(bytes, "group item");
    if r.u8()? != 1 {
        return Err(CoreError::Malformed("group item"));
    }
    let outgoing = r.bool()?;
    let sent_at = UnixMillis(r.u64()?);
    let at = UnixMillis(r.u64()?);
    let sender = r.text(2 * sotto_groups::MEMBER_ID_LEN)?;
    let name = r.text(sotto_groups::MAX_DISPLAY_NAME_LEN)?;
    let text = r.text(crate::chat_message::MAX_TEXT_LEN)?;
    r.finish()?;
    let sender = crate::chat_item::parse_member_id(&sender).map(|id| GroupSender { id, name });
    Ok(ChatItem {
        chat,
        number: MessageNumber(0),
        direction: if outgoing {
            MessageDirection::Outgoing
        } else {
            MessageDirection::Incoming
        },
        seq,
        sent_at,
        at,
        status: if outgoing {
            MessageStatus::Sent
        } else {
            MessageStatus::Read
        },
        content: ItemContent::Text {
            text,
            reply_to: None,
        },
        edited: false,
        deleted: false,
        reactions: Vec::new(),
        expires_at: None,
        sender: if outgoing { None } else { sender },
        mentions_me: false,
    })
}

/// Whether `bytes` decode as a version 1 contact (for the fuzz targets).
#[cfg(feature = "fuzzing")]
pub(crate) fn decode_v1_contact(bytes: &[u8]) -> bool {
    V1Contact::decode(1, bytes).is_ok()
}

struct V1Contact {
    id: u64,
    state: u8,
    created_at: u64,
    peer_identity: [u8; 32],
    verified: bool,
    profile: Option<Profile>,
    session: Option<Vec<u8>>,
    link_payload: Option<Vec<u8>>,
    send_queue: Option<SendQueue>,
    receive_queue: Option<RecipientId>,
    peer_sender_key: Option<[u8; 32]>,
    outgoing: OutgoingChain,
    incoming: IncomingChain,
    next_number: u64,
    unread: u32,
    timer_secs: Option<u32>,
    read_receipts: ReceiptSetting,
    last_activity: u64,
    pending_receipts: Vec<u64>,
}

impl V1Contact {
    /// Writes the chat, the peer and (when complete) the connection.
    fn split(self, batch: &mut WriteBatch) {
        let (chat_id, peer_id, connection_id) =
            (ChatId(self.id), PeerId(self.id), ConnectionId(self.id));
        let stage = self.stage();
        ChatRecord {
            id: chat_id,
            kind: ChatKind::Direct {
                peer: peer_id,
                connection: stage.as_ref().map(|_| connection_id),
            },
            created_at: self.created_at,
            next_number: self.next_number,
            unread: self.unread,
            timer_secs: self.timer_secs,
            read_receipts: self.read_receipts,
            last_activity: self.last_activity,
            pinned: false,
            archived: false,
            blocked: false,
            alias: None,
            muted_until: None,
            block_saving: false,
            auto_download: crate::chat_record::AutoDownload::Default,
        }
        .put(batch);
        PeerRecord {
            id: peer_id,
            identity: self.peer_identity,
            verified: self.verified,
            profile: self.profile.clone(),
            chat: chat_id,
        }
        .put(batch);
        if let Some(stage) = stage {
            ConnectionRecord {
                id: connection_id,
                peer: peer_id,
                chat: chat_id,
                created_at: self.created_at,
                stage,
            }
            .put(batch);
        }
    }

    fn stage(&self) -> Option<Stage> {
        let channel = || {
            Some(Channel {
                session: self.session.clone()?,
                send_queue: self.send_queue.clone()?,
                outgoing: self.outgoing.clone(),
                incoming: self.incoming.clone(),
            })
        };
        Some(match self.state {
            1 => Stage::Joining(Joining {
                link: self.link_payload.clone()?,
            }),
            2 => Stage::AwaitingConfirmation(AwaitingConfirmation {
                // Without its link the joiner cannot tell; refusing a new
                // queue is the safe reading.
                link_kind: self
                    .link_payload
                    .as_deref()
                    .and_then(|payload| InvitationLink::from_payload(payload).ok())
                    .map_or(LinkKind::OneTime, |link| link.kind),
                channel: channel()?,
                receive_queue: self.receive_queue?,
            }),
            3 => Stage::Accepting(Accepting {
                channel: channel()?,
                peer_sender_key: self.peer_sender_key?,
            }),
            4 => Stage::Established(Established {
                channel: channel()?,
                receive_queue: self.receive_queue?,
                pending_receipts: self.pending_receipts.clone(),
            }),
            _ => return None,
        })
    }

    fn decode(id: u64, bytes: &[u8]) -> Result<V1Contact, CoreError> {
        const BAD: CoreError = CoreError::Malformed("contact");
        let mut r = Reader::new(bytes, "contact");
        if r.u8()? != 1 {
            return Err(BAD);
        }
        let state = r.u8()?;
        let created_at = r.u64()?;
        let peer_identity = r.array()?;
        let verified = r.bool()?;
        let profile = r.option(Profile::decode)?;
        let session = r.option(|r| Ok(r.bytes32(MAX_PICKLE_LEN)?.to_vec()))?;
        let link_payload = r.option(|r| Ok(r.bytes16(usize::from(u16::MAX))?.to_vec()))?;
        let send_queue = r.option(|r| {
            Ok(SendQueue {
                address: QueueAddress::decode(r)?,
                signing_key: Zeroizing::new(r.array()?),
            })
        })?;
        let receive_queue = r.option(|r| Ok(RecipientId::from_bytes(r.array()?)))?;
        let peer_sender_key = r.option(|r| r.array())?;
        let outgoing = OutgoingChain::decode(&mut r)?;
        let incoming = IncomingChain::decode(&mut r)?;
        let next_number = r.u64()?;
        let unread = r.u32()?;
        let timer_secs = Some(r.u32()?).filter(|&secs| secs != 0);
        let read_receipts = ReceiptSetting::from_byte(r.u8()?).ok_or(BAD)?;
        let last_activity = r.u64()?;
        let count = usize::from(r.u8()?);
        if count > MAX_RECEIPT_SEQS {
            return Err(BAD);
        }
        let mut pending_receipts = Vec::with_capacity(count);
        for _ in 0..count {
            pending_receipts.push(r.u64()?);
        }
        r.finish()?;
        Ok(V1Contact {
            id,
            state,
            created_at,
            peer_identity,
            verified,
            profile,
            session,
            link_payload,
            send_queue,
            receive_queue,
            peer_sender_key,
            outgoing,
            incoming,
            next_number,
            unread,
            timer_secs,
            read_receipts,
            last_activity,
            pending_receipts,
        })
    }
}

#[cfg(test)]
mod tests {
    use sotto_wire::SenderId;

    use super::*;
    use crate::MemoryStore;
    use crate::codec::Writer;
    use crate::connection::ConnectionState;

    fn address() -> QueueAddress {
        QueueAddress {
            relay: "sotto://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@relay.example"
                .parse()
                .unwrap(),
            sender_id: SenderId::from_bytes([4; 24]),
        }
    }

    /// A version 1 contact record in `state`, with or without a session.
    fn v1(state: u8, session: bool, link: Option<&[u8]>) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1).u8(state).u64(5).array(&[1; 32]).bool(true);
        w.option(Some(&Profile::new("Bob", None).unwrap()), |w, p| {
            p.encode(w)
        });
        let session = session.then(|| vec![2u8; 40]);
        w.option(session.as_ref(), |w, s| {
            w.bytes32(s);
        });
        let link = link.map(<[u8]>::to_vec);
        w.option(link.as_ref(), |w, l| {
            w.bytes16(l);
        });
        w.option(Some(&address()), |w, a| {
            a.encode(w);
            w.array(&[5; 32]);
        });
        w.option(Some(&RecipientId::from_bytes([6; 24])), |w, q| {
            w.array(q.as_bytes());
        });
        w.option(Some(&[7u8; 32]), |w, k| {
            w.array(k);
        });
        OutgoingChain::default().encode(&mut w);
        IncomingChain::default().encode(&mut w);
        w.u64(9).u32(2).u32(30).u8(2).u64(11);
        w.u8(1).u64(3);
        w.finish()
    }

    #[test]
    fn each_contact_becomes_a_chat_a_peer_and_a_connection_at_its_stage() {
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        let cases: [(u64, Vec<u8>, Option<ConnectionState>); 5] = [
            (
                1,
                v1(1, false, Some(b"link")),
                Some(ConnectionState::Joining),
            ),
            (
                2,
                v1(2, true, None),
                Some(ConnectionState::AwaitingConfirmation),
            ),
            (3, v1(3, true, None), Some(ConnectionState::Accepting)),
            (4, v1(4, true, None), Some(ConnectionState::Connected)),
            // Connected without a session: the old code refused it at run time.
            (5, v1(4, false, None), None),
        ];
        for (id, bytes, _) in &cases {
            batch.put(CONTACTS, id.to_be_bytes().to_vec(), bytes.clone());
        }
        store.apply(batch).unwrap();
        migrate(&mut store).unwrap();
        assert!(
            crate::codec::load_table(&store, CONTACTS, "contact", |_, _| Ok(()))
                .unwrap()
                .is_empty()
        );
        for (id, _, state) in cases {
            let chat = ChatRecord::load(&store, ChatId(id)).unwrap();
            assert_eq!(chat.peer().unwrap(), PeerId(id));
            assert_eq!(
                (chat.next_number, chat.unread, chat.timer_secs),
                (9, 2, Some(30))
            );
            assert_eq!(chat.read_receipts, ReceiptSetting::Off);
            let peer = PeerRecord::load(&store, PeerId(id)).unwrap();
            assert_eq!(
                (peer.identity, peer.verified, peer.chat),
                ([1; 32], true, ChatId(id))
            );
            assert_eq!(peer.profile.unwrap().display_name(), "Bob");
            let connection = ConnectionRecord::load(&store, ConnectionId(id));
            match state {
                Some(state) => {
                    assert_eq!(chat.connection(), Some(ConnectionId(id)));
                    let connection = connection.unwrap();
                    assert_eq!(connection.stage.state(), state);
                    if let Stage::Established(established) = &connection.stage {
                        assert_eq!(established.pending_receipts, [3]);
                    }
                    if let Stage::AwaitingConfirmation(awaiting) = &connection.stage {
                        // No link left to tell its kind: the strict reading.
                        assert_eq!(awaiting.link_kind, LinkKind::OneTime);
                    }
                }
                None => {
                    assert_eq!(chat.connection(), None);
                    assert!(matches!(connection, Err(CoreError::NotConnected)));
                }
            }
        }
        // Migrating again finds nothing to do.
        migrate(&mut store).unwrap();
        assert_eq!(ChatRecord::load_all(&store).unwrap().len(), 5);
    }

    #[test]
    fn a_group_kept_before_groups_were_chats_becomes_a_chat_with_its_texts() {
        let group = sotto_groups::Group::create(
            &sotto_groups::DisplayName::new("Ann").unwrap(),
            1_700_000_000,
            3600,
        )
        .unwrap();
        let mut record = GroupRecord {
            chat: ChatId(7),
            name: "Climbing".to_owned(),
            log: crate::group_record::tests::log(),
            next_seq: 4,
            previous: None,
            rotation_due: false,
            group,
            read_acks: None,
            deleted: false,
            stored: None,
        };
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        record.put(&mut batch).unwrap();
        let old_item = |outgoing: bool, sender: &str, text: &str| {
            let mut w = Writer::new();
            w.u8(1)
                .bool(outgoing)
                .u64(10)
                .u64(11)
                .bytes16(sender.as_bytes())
                .bytes16(if outgoing { b"" } else { b"Bob" })
                .bytes16(text.as_bytes());
            w.finish()
        };
        let key = |seq: u64| [7u64.to_be_bytes(), seq.to_be_bytes()].concat();
        batch.put(GROUP_ITEMS, key(2), old_item(true, "", "hello"));
        batch.put(GROUP_ITEMS, key(3), old_item(false, &"0a".repeat(16), "hi"));
        batch.put(GROUP_OUTGOING, vec![1; 40], vec![1]);
        store.apply(batch).unwrap();

        migrate(&mut store).unwrap();
        let chat = ChatRecord::load(&store, ChatId(7)).unwrap();
        assert!(chat.is_group());
        let items = crate::queries::load_items(&store, ChatId(7), None, 10).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].direction, MessageDirection::Outgoing);
        assert_eq!(items[0].seq, 2);
        assert_eq!(items[1].sender.as_ref().unwrap().name, "Bob");
        assert_eq!(
            ChatItem::find_by_seq(&store, ChatId(7), false, 3).unwrap(),
            Some(items[1].number)
        );
        assert!(
            store
                .tables()
                .unwrap()
                .iter()
                .all(|t| t != "group_items" && t != "group_outgoing")
        );
        // Migrating again finds nothing to do.
        migrate(&mut store).unwrap();
        assert_eq!(
            crate::queries::load_items(&store, ChatId(7), None, 10)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn a_group_kept_whole_in_its_record_is_stored_apart() {
        let group = sotto_groups::Group::create(
            &sotto_groups::DisplayName::new("Ann").unwrap(),
            1_700_000_000,
            3600,
        )
        .unwrap();
        let pickle = group.pickle().unwrap();
        let record = GroupRecord {
            chat: ChatId(7),
            name: "Climbing".to_owned(),
            log: crate::group_record::tests::log(),
            next_seq: 4,
            previous: None,
            rotation_due: false,
            group,
            read_acks: None,
            deleted: false,
            stored: None,
        };
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        batch.put(
            crate::group_record::GROUPS,
            7u64.to_be_bytes().to_vec(),
            crate::group_record::tests::version_2(&record),
        );
        ChatRecord::group(ChatId(7), 1, 0).put(&mut batch);
        store.apply(batch).unwrap();

        migrate(&mut store).unwrap();
        assert!(!GroupRecord::is_whole(&store, ChatId(7)).unwrap());
        assert!(store.tables().unwrap().iter().any(|t| t == "group_state"));
        let mut loaded = GroupRecord::load(&store, ChatId(7)).unwrap();
        assert_eq!(loaded.next_seq, 4);
        assert_eq!(loaded.group.pickle().unwrap(), pickle);
        // The group goes on, and migrating again changes nothing.
        loaded.group.encrypt(b"hello").unwrap();
        let mut batch = WriteBatch::new();
        loaded.put(&mut batch).unwrap();
        store.apply(batch).unwrap();
        let pickle = loaded.group.pickle().unwrap();
        migrate(&mut store).unwrap();
        assert_eq!(
            GroupRecord::load(&store, ChatId(7))
                .unwrap()
                .group
                .pickle()
                .unwrap(),
            pickle
        );
    }
}
