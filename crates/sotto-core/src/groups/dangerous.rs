//! Shortcuts that build large groups for benchmarks: members added in one
//! commit that never goes through the log, and joins by a welcome handed
//! over directly. Behind the `dangerous-testing` feature; never for
//! production use.

use sotto_groups::{GroupEvent, KeyPackage, PendingJoin};

use crate::chat_record::{ChatKind, ChatRecord};
use crate::core::Core;
use crate::group_record::{GroupLog, GroupRecord};
use crate::ids::ChatId;
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{CoreError, Store};

use super::messages::{group_chat, member_count};

impl<S: Store> Core<S> {
    /// Adds every member of `key_packages` to a group in one commit that
    /// takes effect at once, without the log (a commit adding thousands is
    /// far longer than an entry), and with a welcome that lacks the ratchet
    /// tree: the welcome and the tree, for
    /// [`Core::dangerous_join_group`]. Never for production use.
    pub fn dangerous_add_group_members_at_once(
        &mut self,
        now: UnixMillis,
        chat: ChatId,
        key_packages: &[KeyPackage],
    ) -> Result<(Vec<u8>, Vec<u8>), CoreError> {
        let mut record = GroupRecord::load(self.store(), chat)?;
        let commit = record
            .group
            .dangerous_add_members_without_tree(key_packages)?;
        let GroupEvent::OwnCommitConfirmed {
            welcome: Some(welcome),
            ..
        } = record.group.process(commit.as_bytes())?
        else {
            return Err(CoreError::InvalidValue("the commit added no one"));
        };
        let tree = record.group.dangerous_ratchet_tree()?;
        let mut batch = StagedBatch::new();
        let mut chat_record = group_chat(self.store(), &record, now)?;
        chat_record.kind = ChatKind::Group {
            members: member_count(&record),
        };
        chat_record.put(&mut batch);
        record.put(&mut batch)?;
        self.parts().0.commit(batch)?;
        Ok((welcome.into_bytes(), tree))
    }

    /// Joins a group with the pseudonym `pending` by `welcome` (and the
    /// ratchet tree apart when the welcome lacks it), reading the log `log`
    /// from `next_seq`, as an accepted invitation's welcome would. Never for
    /// production use.
    #[allow(clippy::too_many_arguments)]
    pub fn dangerous_join_group(
        &mut self,
        now: UnixMillis,
        pending: &PendingJoin,
        name: &str,
        log: GroupLog,
        next_seq: u64,
        welcome: &[u8],
        tree: Option<&[u8]>,
    ) -> Result<ChatId, CoreError> {
        let group = match tree {
            Some(tree) => pending.dangerous_join_with_tree(welcome, tree)?,
            None => pending.join(welcome)?,
        };
        let (mut cx, ..) = self.parts();
        let mut record = GroupRecord {
            chat: ChatId(cx.account.allocate_id()),
            name: name.to_owned(),
            log,
            next_seq,
            previous: None,
            rotation_due: false,
            read_acks: None,
            deleted: false,
            stored: None,
            group,
        };
        let mut batch = StagedBatch::new();
        record.put(&mut batch)?;
        ChatRecord::group(record.chat, member_count(&record), now.0).put(&mut batch);
        cx.commit(batch)?;
        Ok(record.chat)
    }
}
