//! MLS messages longer than one log entry (a commit's path grows with the
//! group) travel as pieces (`group_entry`), appended in order by their
//! writer; other entries may come between them. A reader keeps each piece
//! until it has them all, and reads the message at the entry of its last
//! piece: that is the message's place in the log (a commit spanning pieces
//! wins its epoch if it completes first).
//!
//! ```text
//! table "group_pieces", key chat id u64 || message id (16) || index u16: piece
//! table "group_assembling", key chat id u64 || message id (16):
//!   count u16 || received u16 || first seq u64
//! ```
//!
//! At most [`MAX_ASSEMBLING`] messages of a group are in progress: a piece
//! of a new one beyond makes the one begun first give way. A piece that
//! disagrees with its message's count, or a message whose bytes do not
//! match its id, is unreadable; a piece seen already is ignored (its writer
//! may append a commit again).

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::group_entry::{MAX_PIECE_LEN, MESSAGE_ID_LEN, Piece};
use crate::ids::ChatId;
use crate::store::{Direction, KeyRange, Table, WriteBatch};
use crate::{CoreError, Store};

pub(crate) const GROUP_PIECES: Table = Table::new("group_pieces");
pub(crate) const GROUP_ASSEMBLING: Table = Table::new("group_assembling");

/// Most messages of one group whose pieces are being gathered.
pub(crate) const MAX_ASSEMBLING: usize = 4;

/// What one piece did.
pub(crate) enum Assembly {
    /// More pieces to come. `gave_way`: a message begun earlier was
    /// dropped to make room (it cannot be read).
    Waiting { gave_way: bool },
    /// The last piece: the whole message, to read at this entry.
    Complete(Zeroizing<Vec<u8>>),
    /// The pieces of this message do not agree: it cannot be read.
    Unreadable,
}

struct Progress {
    count: u16,
    received: u16,
    first_seq: u64,
}

impl Progress {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u16(self.count).u16(self.received).u64(self.first_seq);
        w.finish()
    }

    fn decode(bytes: &[u8]) -> Result<Progress, CoreError> {
        let mut r = Reader::new(bytes, "group assembling");
        let progress = Progress {
            count: r.u16()?,
            received: r.u16()?,
            first_seq: r.u64()?,
        };
        r.finish()?;
        Ok(progress)
    }
}

fn message_key(chat: ChatId, message: &[u8; MESSAGE_ID_LEN]) -> Vec<u8> {
    [&chat.0.to_be_bytes()[..], message].concat()
}

fn piece_key(chat: ChatId, message: &[u8; MESSAGE_ID_LEN], index: u16) -> Vec<u8> {
    [&message_key(chat, message)[..], &index.to_be_bytes()].concat()
}

fn forget(batch: &mut WriteBatch, key: &[u8]) {
    batch.delete(GROUP_ASSEMBLING, key.to_vec());
    batch.delete_range(GROUP_PIECES, KeyRange::prefix(key));
}

/// Takes the piece read from the log at `seq`.
pub(crate) fn receive(
    store: &impl Store,
    batch: &mut WriteBatch,
    chat: ChatId,
    seq: u64,
    piece: &Piece<'_>,
) -> Result<Assembly, CoreError> {
    let key = message_key(chat, &piece.message);
    let mut gave_way = false;
    let mut progress = match store.get(GROUP_ASSEMBLING, &key)? {
        Some(bytes) => {
            let progress = Progress::decode(&bytes)?;
            if progress.count != piece.count {
                forget(batch, &key);
                return Ok(Assembly::Unreadable);
            }
            progress
        }
        None => {
            let begun = store.range(
                GROUP_ASSEMBLING,
                &KeyRange::prefix(&chat.0.to_be_bytes()),
                Direction::Forward,
                MAX_ASSEMBLING,
            )?;
            if begun.len() >= MAX_ASSEMBLING {
                let mut oldest: Option<(u64, Vec<u8>)> = None;
                for record in begun {
                    let first = Progress::decode(&record.value)?.first_seq;
                    if oldest.as_ref().is_none_or(|(seq, _)| first < *seq) {
                        oldest = Some((first, record.key));
                    }
                }
                if let Some((_, oldest)) = oldest {
                    forget(batch, &oldest);
                    gave_way = true;
                }
            }
            Progress {
                count: piece.count,
                received: 0,
                first_seq: seq,
            }
        }
    };
    let this = piece_key(chat, &piece.message, piece.index);
    if store.get(GROUP_PIECES, &this)?.is_some() {
        return Ok(Assembly::Waiting { gave_way });
    }
    progress.received = progress.received.saturating_add(1);
    if progress.received < progress.count {
        batch.put(GROUP_PIECES, this, piece.bytes.to_vec());
        batch.put(GROUP_ASSEMBLING, key, progress.encode());
        return Ok(Assembly::Waiting { gave_way });
    }
    let mut message = Zeroizing::new(Vec::with_capacity(
        usize::from(progress.count) * MAX_PIECE_LEN,
    ));
    for index in 0..progress.count {
        if index == piece.index {
            message.extend_from_slice(piece.bytes);
            continue;
        }
        let stored = store
            .get(GROUP_PIECES, &piece_key(chat, &piece.message, index))?
            .ok_or(CoreError::CorruptRecord("group pieces"))?;
        message.extend_from_slice(&stored);
    }
    forget(batch, &key);
    let digest: [u8; 32] = Sha256::digest(&message[..]).into();
    if digest[..MESSAGE_ID_LEN] != piece.message {
        return Ok(Assembly::Unreadable);
    }
    Ok(Assembly::Complete(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;
    use crate::group_entry::{EntryContent, content_of, entries_of};
    use sotto_wire::GroupEntry;

    fn take(store: &mut MemoryStore, seq: u64, entry: &GroupEntry) -> Assembly {
        let EntryContent::Piece(piece) = content_of(entry).unwrap() else {
            panic!("a piece");
        };
        let mut batch = WriteBatch::new();
        let assembly = receive(store, &mut batch, ChatId(1), seq, &piece).unwrap();
        store.apply(batch).unwrap();
        assembly
    }

    fn long(seed: u8) -> Vec<u8> {
        (0..40_000u32)
            .map(|i| (i as u8).wrapping_mul(seed))
            .collect()
    }

    #[test]
    fn pieces_in_any_order_with_copies_make_the_message_once() {
        let mut store = MemoryStore::new();
        let message = long(3);
        let entries = entries_of(&message).unwrap();
        assert!(matches!(
            take(&mut store, 5, &entries[2]),
            Assembly::Waiting { gave_way: false }
        ));
        assert!(matches!(
            take(&mut store, 6, &entries[2]),
            Assembly::Waiting { .. }
        ));
        assert!(matches!(
            take(&mut store, 7, &entries[0]),
            Assembly::Waiting { .. }
        ));
        let Assembly::Complete(whole) = take(&mut store, 9, &entries[1]) else {
            panic!("complete");
        };
        assert_eq!(&whole[..], &message[..]);
        // Nothing is left behind.
        assert!(matches!(
            take(&mut store, 10, &entries[1]),
            Assembly::Waiting { .. }
        ));
        let mut batch = WriteBatch::new();
        forget(&mut batch, &message_key(ChatId(1), &piece_id(&entries[1])));
        store.apply(batch).unwrap();
    }

    fn piece_id(entry: &GroupEntry) -> [u8; MESSAGE_ID_LEN] {
        match content_of(entry).unwrap() {
            EntryContent::Piece(piece) => piece.message,
            EntryContent::Whole(_) => panic!("a piece"),
        }
    }

    #[test]
    fn pieces_that_disagree_are_unreadable_and_the_oldest_message_gives_way() {
        let mut store = MemoryStore::new();
        // A piece of another message under the same id: the bytes do not
        // match the id.
        let (a, b) = (entries_of(&long(3)).unwrap(), entries_of(&long(5)).unwrap());
        let mut forged = b[1].as_bytes().to_vec();
        forged[1..17].copy_from_slice(&piece_id(&a[0]));
        let forged = GroupEntry::new(forged).unwrap();
        take(&mut store, 1, &a[0]);
        take(&mut store, 2, &forged);
        assert!(matches!(take(&mut store, 3, &a[2]), Assembly::Unreadable));

        // Four messages begun; a fifth makes the first give way.
        let begun: Vec<Vec<GroupEntry>> = (10..15)
            .map(|seed| entries_of(&long(seed)).unwrap())
            .collect();
        for (seq, entries) in (20..).zip(&begun[..4]) {
            assert!(matches!(
                take(&mut store, seq, &entries[0]),
                Assembly::Waiting { gave_way: false }
            ));
        }
        assert!(matches!(
            take(&mut store, 30, &begun[4][0]),
            Assembly::Waiting { gave_way: true }
        ));
        // The first's later pieces start it again, and it gives way again
        // rather than completing from pieces it no longer has.
        take(&mut store, 31, &begun[0][1]);
        assert!(matches!(
            take(&mut store, 32, &begun[0][2]),
            Assembly::Waiting { .. }
        ));
        assert!(matches!(
            take(&mut store, 33, &begun[4][1]),
            Assembly::Waiting { .. }
        ));
        assert!(matches!(
            take(&mut store, 34, &begun[4][2]),
            Assembly::Complete(_)
        ));
    }
}
