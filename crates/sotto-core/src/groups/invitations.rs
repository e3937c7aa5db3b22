//! Invitations over the pairwise chat (`group_invite`): the inviter sends
//! GroupInvite; the contact's core accepts it at once (an invitation from a
//! contact joins directly: "who can add me" is "my contacts", the default)
//! and answers with a key package made for this group only; the inviter
//! commits the add, and once the commit is first in the log it sends the
//! welcome with the log's read and write credentials.
//!
//! A contact's invitation message that is damaged or does not match a
//! pending invitation changes nothing: it is the contact's fault, and the
//! chat goes on.

use sotto_groups::{DisplayName, KeyPackage, MemberId, PendingJoin};

use crate::chat_message::Content;
use crate::chat_record::ChatRecord;
use crate::event::{Event, Pending};
use crate::group_invite::{GroupWelcome, InviteId, InviteRecord, JoinRecord};
use crate::group_record::GroupRecord;
use crate::ids::ChatId;
use crate::shared::Shared;
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{CoreError, Store};

use super::LEAF_LIFETIME_SECS;

/// Accepted invitations of one contact that may wait for their welcome.
const MAX_PENDING_JOINS_PER_CONTACT: usize = 16;

/// Accepts a contact's invitation: a fresh pseudonym for the group and the
/// answer carrying its key package.
pub(crate) fn accept_invite<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    contact: ChatId,
    invite: InviteId,
    name: String,
    batch: &mut StagedBatch,
) -> Result<Option<Content>, CoreError> {
    // A contact cannot make this profile keep pseudonyms without bound:
    // invitations beyond these wait for none of their welcomes and are ignored.
    if JoinRecord::load(cx.store(), &invite)?.is_some()
        || JoinRecord::count_of(cx.store(), contact)? >= MAX_PENDING_JOINS_PER_CONTACT
    {
        return Ok(None);
    }
    let own_name = DisplayName::new(cx.account.profile.display_name())?;
    let (pending, key_package) = PendingJoin::new(&own_name, now.0 / 1000, LEAF_LIFETIME_SECS)?;
    JoinRecord {
        id: invite,
        contact,
        name,
        pending,
    }
    .put(batch)?;
    Ok(Some(Content::GroupKeyPackage {
        invite,
        key_package: key_package.into_bytes(),
    }))
}

/// The invited contact's key package: the add is committed, to append.
pub(crate) fn add_invited<S: Store>(
    cx: &mut Shared<'_, S>,
    contact: ChatId,
    invite: InviteId,
    key_package: &[u8],
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    let Some(mut record) = InviteRecord::load(cx.store(), &invite)? else {
        return Ok(());
    };
    if record.contact != contact || record.member.is_some() {
        return Ok(());
    }
    let mut group = GroupRecord::load(cx.store(), record.group)?;
    if group.group.has_pending_commit() {
        // One commit of ours at a time: this add follows once the log has
        // the one before.
        record.key_package = Some(key_package.to_vec());
        record.put(batch);
        return Ok(());
    }
    if commit_add(&mut group, &mut record, key_package, batch)? {
        batch.notify(Pending::ready(Event::GroupCommitReady {
            group: record.group,
        }));
    }
    Ok(())
}

/// Commits the add of an invitation's key package; `false` (and the
/// invitation dropped) when the key package is bad.
pub(crate) fn commit_add(
    group: &mut GroupRecord,
    record: &mut InviteRecord,
    key_package: &[u8],
    batch: &mut StagedBatch,
) -> Result<bool, CoreError> {
    let added = KeyPackage::from_bytes(key_package).and_then(|key_package| {
        let member = key_package.member_id()?;
        group.group.add_members(&[key_package])?;
        Ok(member)
    });
    let Ok(member) = added else {
        record.delete(batch);
        return Ok(false);
    };
    group.put(batch)?;
    record.member = Some(member);
    record.key_package = None;
    record.put(batch);
    Ok(true)
}

/// An invitation of this group whose key package waits for a commit.
pub(crate) fn waiting_invite(
    store: &impl Store,
    group: ChatId,
) -> Result<Option<InviteRecord>, CoreError> {
    Ok(InviteRecord::load_all(store)?
        .into_iter()
        .find(|invite| invite.group == group && invite.key_package.is_some()))
}

/// The welcome of an invitation this profile accepted: it joins the group.
pub(crate) fn join_welcomed<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    contact: ChatId,
    welcome: GroupWelcome,
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    let Some(join) = JoinRecord::load(cx.store(), &welcome.invite)? else {
        return Ok(());
    };
    if join.contact != contact {
        return Ok(());
    }
    JoinRecord::delete(&join.id, batch);
    let Ok(group) = join.pending.join(&welcome.welcome) else {
        return Ok(());
    };
    let record = GroupRecord {
        chat: ChatId(cx.account.allocate_id()),
        name: join.name,
        log: welcome.log,
        next_seq: welcome.next_seq,
        previous: None,
        rotation_due: false,
        read_acks: None,
        group,
    };
    record.put(batch)?;
    ChatRecord::group(record.chat, super::messages::member_count(&record), now.0).put(batch);
    batch.notify(Pending::ready(Event::GroupJoined {
        group: record.chat,
        name: record.name,
    }));
    Ok(())
}

/// The invitations whose contacts the confirmed commit added: each gets its
/// welcome.
pub(crate) fn welcomed_invites(
    store: &impl Store,
    group: ChatId,
    added: &[MemberId],
) -> Result<Vec<InviteRecord>, CoreError> {
    Ok(InviteRecord::load_all(store)?
        .into_iter()
        .filter(|invite| {
            invite.group == group && invite.member.is_some_and(|member| added.contains(&member))
        })
        .collect())
}
