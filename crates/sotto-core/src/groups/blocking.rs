//! Blocking a member for me: a blocked member's messages (texts, replies,
//! reactions, edits, deletes, timers, receipts) are dropped as they are
//! read from the log, so nothing of theirs shows on this device until they
//! are unblocked; what they sent while blocked is not shown later. The
//! group and the member are told nothing, and the member stays in the group
//! (their commits, and their acknowledgements of a removal, still count).
//!
//! ```text
//! table "group_blocked", key group chat id u64 || member id (16): empty
//! ```

use sotto_groups::MemberId;

use crate::core::Core;
use crate::group_record::GroupRecord;
use crate::ids::ChatId;
use crate::staged_batch::StagedBatch;
use crate::store::Table;
use crate::{CoreError, Store};

pub(crate) const GROUP_BLOCKED: Table = Table::new("group_blocked");

fn key(group: ChatId, member: &MemberId) -> Vec<u8> {
    [&group.0.to_be_bytes()[..], &member.as_bytes()[..]].concat()
}

/// Whether this profile blocked `member` in `group`.
pub(crate) fn is_blocked(
    store: &impl Store,
    group: ChatId,
    member: &MemberId,
) -> Result<bool, CoreError> {
    Ok(store.get(GROUP_BLOCKED, &key(group, member))?.is_some())
}

impl<S: Store> Core<S> {
    /// Blocks (or, with `blocked` false, unblocks) a member of a group for
    /// this profile (by the hex id [`Core::group_members`] shows): their
    /// messages are dropped as they arrive, and no one is told.
    pub fn block_group_member(
        &mut self,
        group: ChatId,
        member: &str,
        blocked: bool,
    ) -> Result<(), CoreError> {
        let member = super::parse_member_id(member)?;
        let record = GroupRecord::load(self.store(), group)?;
        if member == record.group.own_member_id() {
            return Err(CoreError::InvalidValue("member: this profile itself"));
        }
        if !record.group.members()?.iter().any(|m| m.id == member) {
            return Err(CoreError::InvalidValue("member id"));
        }
        let mut batch = StagedBatch::new();
        if blocked {
            batch.put(GROUP_BLOCKED, key(group, &member), Vec::new());
        } else {
            batch.delete(GROUP_BLOCKED, key(group, &member));
        }
        self.parts().0.commit(batch)
    }
}
