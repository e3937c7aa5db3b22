//! The send ids of the messages each queue accepted lately, as keyed digests,
//! so that a SEND is idempotent: a sender whose OK was lost (its connection
//! dropped) sends the same message again with the same send id, and the relay
//! answers OK without storing a second copy, which the recipient would
//! otherwise see as a replay.
//!
//! Kept in memory only: a retry that crosses a relay restart is stored again
//! (and shows as a replay). Bounded in bytes: at most [`DIGESTS_PER_QUEUE`]
//! digests for each of at most [`MAX_QUEUES`] queues (about 200 bytes a
//! queue, 13 MiB in all); past that, the queues remembered longest are
//! forgotten a shard at a time. The digest is keyed with a secret drawn at
//! start, so what memory holds says nothing about the messages (a client may
//! derive its send ids from them).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use rand::RngCore;
use sotto_wire::{RecipientId, SendId};
use zeroize::Zeroizing;

/// Digests remembered per queue: a sender retries the SENDs in flight when
/// its connection dropped, up to its window.
pub const DIGESTS_PER_QUEUE: usize = 16;
/// Queues remembered at once.
pub const MAX_QUEUES: usize = 65_536;
const SHARDS: usize = 16;

/// A send id's keyed digest (16 bytes: collisions between one queue's recent
/// send ids are out of reach).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendDigest([u8; 16]);

/// See the module documentation.
pub struct RecentSends {
    key: Zeroizing<[u8; 32]>,
    shards: Vec<Mutex<HashMap<RecipientId, VecDeque<SendDigest>>>>,
}

impl Default for RecentSends {
    fn default() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        RecentSends {
            key,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl RecentSends {
    /// The digest of a SEND's send id.
    pub fn digest(&self, send_id: &SendId) -> SendDigest {
        let hash = blake3::keyed_hash(&self.key, send_id.as_bytes());
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&hash.as_bytes()[..16]);
        SendDigest(digest)
    }

    /// Whether `queue` accepted a body with this digest lately.
    pub fn contains(&self, queue: &RecipientId, digest: &SendDigest) -> bool {
        self.shard(queue)
            .lock()
            .map(|shard| {
                shard
                    .get(queue)
                    .is_some_and(|recent| recent.contains(digest))
            })
            .unwrap_or(false)
    }

    /// Notes that `queue` stored a body with this digest (once durable).
    pub fn remember(&self, queue: RecipientId, digest: SendDigest) {
        let Ok(mut shard) = self.shard(&queue).lock() else {
            return;
        };
        if shard.len() >= MAX_QUEUES / SHARDS && !shard.contains_key(&queue) {
            // Forgetting only means a late retry is stored twice.
            shard.clear();
        }
        let recent = shard.entry(queue).or_default();
        if recent.len() >= DIGESTS_PER_QUEUE {
            recent.pop_front();
        }
        recent.push_back(digest);
    }

    /// Forgets a deleted queue.
    pub fn forget(&self, queue: &RecipientId) {
        if let Ok(mut shard) = self.shard(queue).lock() {
            shard.remove(queue);
        }
    }

    fn shard(&self, queue: &RecipientId) -> &Mutex<HashMap<RecipientId, VecDeque<SendDigest>>> {
        let index = usize::from(queue.as_bytes()[0]) % SHARDS;
        &self.shards[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> SendId {
        SendId::from_bytes([n; 16])
    }

    #[test]
    fn a_queue_remembers_its_recent_send_ids_and_forgets_old_ones() {
        let recent = RecentSends::default();
        let queue = RecipientId::from_bytes([1; 24]);
        let other = RecipientId::from_bytes([2; 24]);
        let first = recent.digest(&id(200));
        assert!(!recent.contains(&queue, &first));
        recent.remember(queue, first);
        assert!(recent.contains(&queue, &first));
        assert!(!recent.contains(&other, &first));
        for n in 0..DIGESTS_PER_QUEUE {
            recent.remember(queue, recent.digest(&id(n as u8)));
        }
        assert!(!recent.contains(&queue, &first));
        recent.forget(&queue);
        assert!(!recent.contains(&queue, &recent.digest(&id(0))));
        // Keyed: another relay's digests differ.
        assert_ne!(RecentSends::default().digest(&id(200)), first);
    }
}
