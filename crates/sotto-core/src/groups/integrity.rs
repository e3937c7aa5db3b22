//! What a group's relay may do to its log — drop, reorder, repeat or inject
//! entries — shown to the members, as `integrity` does for a direct chat.
//!
//! Each member numbers its own messages to the group 1, 2, … (the `number`
//! of a group chat message, inside MLS): every other member keeps, per
//! member, the next number it expects and the numbers it has not seen, so a
//! dropped message shows as *skipped*, a late one as *out of order*, a copy
//! as *duplicate* (not shown twice). The first message a reader sees from a
//! member starts that member's count: a member who joined later cannot tell
//! what came before. An entry MLS refuses to decrypt a second time is
//! *replayed*; one that is no message of the group is *unreadable*.
//!
//! A message of an epoch the member has not reached follows a commit that
//! is not in the log before it (the relay dropped or moved it): it is held,
//! and read again after each commit, in log order. At most [`MAX_HELD`]
//! entries wait; the oldest gives way to a newer one, with a
//! *missing change* notice the first time (until a commit comes).
//!
//! ```text
//! table "group_chains", key chat id u64:
//!   next own number u64
//! table "group_chains", key chat id u64 || member id (16):
//!   incoming chain (as a direct chat's: next u64 || hash (32), zero
//!   || count u16 || missing u64 × count)
//! table "group_chains", key chat id u64 || 0xFF: empty
//!   held entries gave way and the notice was shown
//! table "group_held", key chat id u64 || log seq u64: entry (16000 bytes)
//! ```

use sotto_groups::MemberId;
use sotto_wire::GroupEntry;

use crate::codec::{Reader, Writer, corrupt};
use crate::ids::ChatId;
use crate::integrity::{IncomingChain, IntegrityNotice};
use crate::store::{Direction, KeyRange, Table, WriteBatch};
use crate::{CoreError, Store};

pub(crate) const GROUP_CHAINS: Table = Table::new("group_chains");
pub(crate) const GROUP_HELD: Table = Table::new("group_held");

/// Most entries one group holds for a commit that has not come (each is
/// 16000 bytes: 1 MB in all).
pub(crate) const MAX_HELD: usize = 64;

/// The numbers this member gives its own messages to one group.
pub(crate) struct Numbering {
    chat: ChatId,
    next: u64,
}

impl Numbering {
    pub(crate) fn load(store: &impl Store, chat: ChatId) -> Result<Numbering, CoreError> {
        let next = match store.get(GROUP_CHAINS, &chat.0.to_be_bytes())? {
            Some(bytes) => {
                let mut r = Reader::new(&bytes, "group numbering");
                let next = r.u64()?;
                r.finish()?;
                next
            }
            None => 1,
        };
        Ok(Numbering { chat, next })
    }

    /// The number of the next message; stored with [`Numbering::put`].
    pub(crate) fn take(&mut self) -> u64 {
        let number = self.next;
        self.next = self.next.saturating_add(1);
        number
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        let mut w = Writer::new();
        w.u64(self.next);
        batch.put(GROUP_CHAINS, self.chat.0.to_be_bytes().to_vec(), w.finish());
    }
}

fn chain_key(chat: ChatId, member: &MemberId) -> Vec<u8> {
    [&chat.0.to_be_bytes()[..], member.as_bytes()].concat()
}

/// Checks message `number` from `member` against what was seen from that
/// member before: whether to show it, and the notices to show first. A
/// message without a number (an older version) passes unchecked.
pub(crate) fn check(
    store: &impl Store,
    batch: &mut WriteBatch,
    chat: ChatId,
    member: &MemberId,
    number: u64,
) -> Result<(bool, Vec<IntegrityNotice>), CoreError> {
    if number == 0 {
        return Ok((true, Vec::new()));
    }
    let key = chain_key(chat, member);
    let mut chain = match store.get(GROUP_CHAINS, &key)? {
        Some(bytes) => {
            let mut r = Reader::new(&bytes, "group chain");
            let chain = IncomingChain::decode(&mut r).map_err(corrupt("group chain"))?;
            r.finish()?;
            chain
        }
        None => IncomingChain::starting_at(number),
    };
    // Group messages are authenticated by MLS one by one: no hash chain.
    let verdict = chain.receive(number, &[0; 32], [0; 32]);
    let mut w = Writer::new();
    chain.encode(&mut w);
    batch.put(GROUP_CHAINS, key, w.finish());
    Ok((verdict.accept, verdict.notices))
}

fn held_key(chat: ChatId, seq: u64) -> Vec<u8> {
    [chat.0.to_be_bytes(), seq.to_be_bytes()].concat()
}

fn gave_way_key(chat: ChatId) -> Vec<u8> {
    [&chat.0.to_be_bytes()[..], &[0xFF]].concat()
}

/// Holds entry `seq` until its epoch comes. Returns whether a *missing
/// change* notice is due: an older held entry gave way (that message
/// cannot be read), the first time since the last commit.
pub(crate) fn hold(
    store: &impl Store,
    batch: &mut WriteBatch,
    chat: ChatId,
    seq: u64,
    entry: &GroupEntry,
) -> Result<bool, CoreError> {
    let held = store.range(
        GROUP_HELD,
        &KeyRange::prefix(&chat.0.to_be_bytes()),
        Direction::Forward,
        MAX_HELD,
    )?;
    let mut notice = false;
    if held.len() >= MAX_HELD
        && let Some(oldest) = held.into_iter().next()
    {
        batch.delete(GROUP_HELD, oldest.key);
        notice = store.get(GROUP_CHAINS, &gave_way_key(chat))?.is_none();
        batch.put(GROUP_CHAINS, gave_way_key(chat), Vec::new());
    }
    batch.put(GROUP_HELD, held_key(chat, seq), entry.as_bytes().to_vec());
    Ok(notice)
}

/// The group moved to a new epoch: entries that give way from now on
/// show a notice again.
pub(crate) fn commit_arrived(batch: &mut WriteBatch, chat: ChatId) {
    batch.delete(GROUP_CHAINS, gave_way_key(chat));
}

/// The entries held for a group, in log order. Each is read again; its
/// processing forgets it ([`forget_held`]) or holds it again
/// ([`hold_again`]) in the same batch.
pub(crate) fn held(store: &impl Store, chat: ChatId) -> Result<Vec<(u64, GroupEntry)>, CoreError> {
    let held = store.range(
        GROUP_HELD,
        &KeyRange::prefix(&chat.0.to_be_bytes()),
        Direction::Forward,
        MAX_HELD,
    )?;
    held.into_iter()
        .map(|record| {
            let seq = record
                .key
                .get(8..16)
                .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
                .map(u64::from_be_bytes)
                .ok_or(CoreError::CorruptRecord("held group entry"))?;
            let entry = GroupEntry::new(record.value)
                .map_err(|_| CoreError::CorruptRecord("held group entry"))?;
            Ok((seq, entry))
        })
        .collect()
}

/// A held entry was processed.
pub(crate) fn forget_held(batch: &mut WriteBatch, chat: ChatId, seq: u64) {
    batch.delete(GROUP_HELD, held_key(chat, seq));
}

/// A held entry still waits for its epoch (after [`forget_held`]).
pub(crate) fn hold_again(batch: &mut WriteBatch, chat: ChatId, seq: u64, entry: &GroupEntry) {
    batch.put(GROUP_HELD, held_key(chat, seq), entry.as_bytes().to_vec());
}

/// What to show for an entry the group refused: nothing when the log is
/// as it should be (a commit that lost its epoch's race, a message of an
/// epoch left behind, our own message coming back, one the sender's role
/// does not allow), else what the relay did.
pub(crate) fn notice_of(error: &CoreError) -> Option<IntegrityNotice> {
    use sotto_groups::Error;
    match error {
        CoreError::Group(Error::Duplicate) => Some(IntegrityNotice::Replayed),
        CoreError::Group(
            Error::PastEpoch
            | Error::OwnMessage
            | Error::NotAMember
            | Error::Forbidden { .. }
            | Error::FutureEpoch
            | Error::Local(_),
        ) => None,
        _ => Some(IntegrityNotice::Unreadable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;
    use sotto_groups::MEMBER_ID_LEN;
    use sotto_wire::GROUP_ENTRY_LEN;

    fn apply(store: &mut MemoryStore, batch: WriteBatch) {
        store.apply(batch).unwrap();
    }

    #[test]
    fn a_member_s_numbers_show_gaps_late_messages_and_copies() {
        let mut store = MemoryStore::new();
        let chat = ChatId(4);
        let bob = MemberId::from_bytes([2; MEMBER_ID_LEN]);
        let mut see = |number| {
            let mut batch = WriteBatch::new();
            let verdict = check(&store, &mut batch, chat, &bob, number).unwrap();
            apply(&mut store, batch);
            verdict
        };
        // The first message seen starts the count.
        assert_eq!(see(7), (true, vec![]));
        assert_eq!(see(8), (true, vec![]));
        assert_eq!(
            see(11),
            (true, vec![IntegrityNotice::Skipped { first: 9, last: 10 }])
        );
        assert_eq!(see(9), (true, vec![IntegrityNotice::OutOfOrder { seq: 9 }]));
        assert_eq!(see(9), (false, vec![IntegrityNotice::Duplicate { seq: 9 }]));
        assert_eq!(see(0), (true, vec![]), "an unnumbered message passes");
    }

    #[test]
    fn own_numbers_count_up_across_loads() {
        let mut store = MemoryStore::new();
        let mut numbering = Numbering::load(&store, ChatId(1)).unwrap();
        assert_eq!((numbering.take(), numbering.take()), (1, 2));
        let mut batch = WriteBatch::new();
        numbering.put(&mut batch);
        apply(&mut store, batch);
        assert_eq!(Numbering::load(&store, ChatId(1)).unwrap().take(), 3);
        assert_eq!(Numbering::load(&store, ChatId(2)).unwrap().take(), 1);
    }

    #[test]
    fn held_entries_are_bounded_and_come_back_in_log_order() {
        let mut store = MemoryStore::new();
        let chat = ChatId(3);
        let entry = |byte| GroupEntry::new(vec![byte; GROUP_ENTRY_LEN]).unwrap();
        let hold_one = |store: &mut MemoryStore, seq| {
            let mut batch = WriteBatch::new();
            let notice = hold(store, &mut batch, chat, seq, &entry(1)).unwrap();
            apply(store, batch);
            notice
        };
        for seq in (10..10 + MAX_HELD as u64).rev() {
            assert!(!hold_one(&mut store, seq));
        }
        // The oldest gives way, with a notice the first time only.
        assert!(hold_one(&mut store, 500));
        assert!(!hold_one(&mut store, 501));
        let released = held(&store, chat).unwrap();
        assert_eq!(released.len(), MAX_HELD);
        assert_eq!(released[0].0, 12);
        assert_eq!(released.last().unwrap().0, 501);
        assert!(released.windows(2).all(|pair| pair[0].0 < pair[1].0));
        // After a commit the notice is due again.
        let mut batch = WriteBatch::new();
        commit_arrived(&mut batch, chat);
        apply(&mut store, batch);
        assert!(hold_one(&mut store, 502));
        let mut batch = WriteBatch::new();
        for (seq, _) in held(&store, chat).unwrap() {
            forget_held(&mut batch, chat, seq);
        }
        apply(&mut store, batch);
        assert!(held(&store, chat).unwrap().is_empty());
    }
}
