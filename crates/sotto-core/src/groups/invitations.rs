//! Invitations over the pairwise chat (`group_invite`): the inviter sends
//! GroupInvite; the contact's core accepts it at once when "who can add me
//! to groups" is "my contacts" (the default), or holds it for the user to
//! accept or decline when it is "nobody"; accepting answers with a key
//! package made for this group only; the inviter
//! commits the add, and once the commit is first in the log it sends the
//! welcome with the log's read and write credentials.
//!
//! A contact's invitation message that is damaged or does not match a
//! pending invitation changes nothing: it is the contact's fault, and the
//! chat goes on.

use sotto_groups::{DisplayName, KeyPackage, MemberId, PendingJoin};
use zeroize::Zeroizing;

use rand_core::CryptoRngCore;

use crate::account::GroupAdds;
use crate::chat_message::Content;
use crate::chat_record::ChatRecord;
use crate::codec::{Reader, Writer};
use crate::core::Core;
use crate::event::{Event, Pending};
use crate::group_invite::{
    GROUP_WELCOME_PIECES, GROUP_WELCOME_PROGRESS, GroupWelcome, HeldInvite, InviteId, InviteRecord,
    JoinRecord, MAX_WELCOME_PIECE_LEN, WelcomePiece,
};
use crate::group_record::GroupRecord;
use crate::ids::ChatId;
use crate::shared::Shared;
use crate::staged_batch::StagedBatch;
use crate::store::KeyRange;
use crate::time::UnixMillis;
use crate::{CoreError, Store};

use super::LEAF_LIFETIME_SECS;

/// Accepted invitations of one contact that may wait for their welcome, and
/// invitations of one contact that may wait for the user's decision.
const MAX_PENDING_JOINS_PER_CONTACT: usize = 16;
/// Invitations that may wait for the user's decision, from all contacts.
pub(crate) const MAX_HELD_INVITATIONS: usize = 100;

/// An invitation held for the user to accept or decline, as a front end
/// lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GroupInvitationView {
    /// The invitation's id on this device.
    pub id: u64,
    /// The chat of the contact who invites.
    pub contact: ChatId,
    /// The group's name as the contact gave it.
    pub name: String,
    /// When it arrived (Unix ms).
    pub received_at: u64,
}

/// A contact's invitation: accepted at once (a fresh pseudonym for the
/// group and the answer carrying its key package) when "who can add me to
/// groups" lets this contact add this profile, else held for the user.
pub(crate) fn accept_invite<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    contact: ChatId,
    invite: InviteId,
    name: String,
    batch: &mut StagedBatch,
) -> Result<Option<Content>, CoreError> {
    // Every inviter is a contact today (invitations travel only over a
    // contact's pairwise chat), so only the setting decides.
    if cx.account.settings.group_adds == GroupAdds::Nobody {
        hold_invite(cx, now, contact, invite, name, batch)?;
        return Ok(None);
    }
    answer_invite(cx, now, contact, invite, name, batch)
}

/// Makes the pseudonym and the answer of an accepted invitation.
fn answer_invite<S: Store>(
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

/// Keeps an invitation for the user to decide on. One already held or
/// accepted is ignored, and so is one beyond the limits (per contact and
/// in all): a contact cannot fill the profile with invitations.
fn hold_invite<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    contact: ChatId,
    invite: InviteId,
    name: String,
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    let held = HeldInvite::load_all(cx.store())?;
    let of_contact = held.iter().filter(|h| h.contact == contact).count();
    if JoinRecord::load(cx.store(), &invite)?.is_some()
        || held.iter().any(|h| h.invite == invite)
        || of_contact >= MAX_PENDING_JOINS_PER_CONTACT
        || held.len() >= MAX_HELD_INVITATIONS
    {
        return Ok(());
    }
    let record = HeldInvite {
        id: cx.account.allocate_id(),
        invite,
        contact,
        received_at: now.0,
        name,
    };
    record.put(batch);
    batch.notify(Pending::ready(Event::GroupInvitation {
        invitation: record.id,
        contact,
        name: record.name,
    }));
    Ok(())
}

impl<S: Store> Core<S> {
    /// The invitations held for the user ("who can add me to groups" is
    /// "nobody"), oldest first.
    pub fn group_invitations(&self) -> Result<Vec<GroupInvitationView>, CoreError> {
        Ok(HeldInvite::load_all(self.store())?
            .into_iter()
            .map(|held| GroupInvitationView {
                id: held.id,
                contact: held.contact,
                name: held.name,
                received_at: held.received_at,
            })
            .collect())
    }

    /// Accepts a held invitation: the answer with a key package for a fresh
    /// pseudonym goes to the inviting contact, who adds this profile (the
    /// welcome arrives over the same chat).
    pub fn accept_group_invitation(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        invitation: u64,
    ) -> Result<(), CoreError> {
        let held =
            HeldInvite::load(self.store(), invitation)?.ok_or(CoreError::UnknownInvitation)?;
        let (mut cx, _, _, chats) = self.parts();
        let result = chats.with_session(
            &mut cx,
            rng,
            held.contact,
            |chats, cx, rng, chat, link, batch| {
                held.delete(batch);
                let answer =
                    answer_invite(cx, now, held.contact, held.invite, held.name.clone(), batch)?;
                if let Some(answer) = answer {
                    chats.send(cx, now, rng, chat.id, link, answer, None, batch)?;
                }
                Ok(())
            },
        );
        self.after_action(now, result)
    }

    /// Declines a held invitation: it is forgotten and nothing is sent.
    pub fn decline_group_invitation(&mut self, invitation: u64) -> Result<(), CoreError> {
        let held =
            HeldInvite::load(self.store(), invitation)?.ok_or(CoreError::UnknownInvitation)?;
        let mut batch = StagedBatch::new();
        held.delete(&mut batch);
        self.parts().0.commit(batch)
    }
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
    let mut record = GroupRecord {
        chat: ChatId(cx.account.allocate_id()),
        name: join.name,
        log: welcome.log,
        next_seq: welcome.next_seq,
        previous: None,
        rotation_due: false,
        read_acks: None,
        deleted: false,
        stored: None,
        group,
    };
    record.put(batch)?;
    ChatRecord::group(record.chat, super::messages::member_count(&record), now.0).put(batch);
    // The chat list learns of the group's chat as of any other.
    batch.notify(Pending::ChatChanged(record.chat));
    batch.notify(Pending::ready(Event::GroupJoined {
        group: record.chat,
        name: record.display_name(),
    }));
    Ok(())
}

/// A piece of a welcome too long for one chat message: kept until every
/// piece is there, then the welcome joins the group. Pieces of an
/// invitation this profile did not accept from that contact, or that
/// disagree on their count, change nothing (and drop what was kept).
pub(crate) fn welcome_piece<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    contact: ChatId,
    piece: WelcomePiece,
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    let Some(join) = JoinRecord::load(cx.store(), &piece.invite)? else {
        return Ok(());
    };
    if join.contact != contact {
        return Ok(());
    }
    let key = |index: u16| [&piece.invite[..], &index.to_be_bytes()[..]].concat();
    let (count, mut received) = match cx.store().get(GROUP_WELCOME_PROGRESS, &piece.invite)? {
        Some(bytes) => {
            let mut r = Reader::new(&bytes, "group welcome progress");
            (r.u16()?, r.u16()?)
        }
        None => (piece.count, 0),
    };
    if count != piece.count {
        forget_pieces(batch, &piece.invite);
        return Ok(());
    }
    if cx
        .store()
        .get(GROUP_WELCOME_PIECES, &key(piece.index))?
        .is_none()
    {
        received = received.saturating_add(1);
    }
    if received < count {
        let mut w = Writer::new();
        w.u16(count).bytes16(&piece.bytes);
        batch.put(GROUP_WELCOME_PIECES, key(piece.index), w.finish());
        let mut w = Writer::new();
        w.u16(count).u16(received);
        batch.put(GROUP_WELCOME_PROGRESS, piece.invite.to_vec(), w.finish());
        return Ok(());
    }
    // The last piece: the welcome, whole, in index order.
    let mut whole = Zeroizing::new(Vec::new());
    for index in 0..count {
        if index == piece.index {
            whole.extend_from_slice(&piece.bytes);
            continue;
        }
        let Some(stored) = cx.store().get(GROUP_WELCOME_PIECES, &key(index))? else {
            forget_pieces(batch, &piece.invite);
            return Ok(());
        };
        let mut r = Reader::new(&stored, "group welcome piece");
        r.u16()?;
        whole.extend_from_slice(r.bytes16(MAX_WELCOME_PIECE_LEN)?);
    }
    forget_pieces(batch, &piece.invite);
    let mut r = Reader::new(&whole, "group welcome");
    let welcome = match GroupWelcome::decode(&mut r).and_then(|welcome| {
        r.finish()?;
        Ok(welcome)
    }) {
        Ok(welcome) if welcome.invite == piece.invite => welcome,
        // A contact's bad welcome is the contact's fault: nothing joins.
        _ => return Ok(()),
    };
    join_welcomed(cx, now, contact, welcome, batch)
}

fn forget_pieces(batch: &mut StagedBatch, invite: &InviteId) {
    batch.delete_range(GROUP_WELCOME_PIECES, KeyRange::prefix(invite));
    batch.delete(GROUP_WELCOME_PROGRESS, invite.to_vec());
}

/// The chat message(s) that carry a welcome to its contact: one
/// GroupWelcome, or its pieces when it does not fit one message.
pub(crate) fn welcome_messages(welcome: GroupWelcome) -> Result<Vec<Content>, CoreError> {
    let mut w = Writer::new();
    welcome.encode(&mut w);
    // The envelope's header and kind byte come on top of the content.
    if w.finish().len() + 64 <= sotto_crypto::MAX_PLAINTEXT_LEN {
        return Ok(vec![Content::GroupWelcome(welcome)]);
    }
    Ok(WelcomePiece::split(&welcome)?
        .into_iter()
        .map(Content::GroupWelcomePiece)
        .collect())
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
