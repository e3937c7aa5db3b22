//! Joining a group through its link, on the joiner's side (`links` is the
//! admin's): a fresh pseudonym for the group and a reply queue on this
//! profile's relay, secured for the admin's key; the request, sealed to the
//! link's key, goes to the link's queue; the admin's replies (the welcome in
//! pieces, or a refusal) come back on the reply queue, which is deleted once
//! the join ends.

use rand_core::CryptoRngCore;
use sotto_groups::{DisplayName, MemberProfile, PendingJoin, seal_to_link};
use sotto_wire::{QueueAuthSecret, RelayAddress};
use zeroize::Zeroizing;

use crate::chat_record::ChatRecord;
use crate::codec::{Reader, Writer};
use crate::core::Core;
use crate::event::{Event, Pending};
use crate::group_invite::{GROUP_WELCOME_PIECES, GROUP_WELCOME_PROGRESS, GroupWelcome, InviteId};
use crate::group_link::{
    GroupLink, GroupLinkRecord, JoinRequest, LinkJoinRecord, MAX_REPLY_PIECE_LEN, REQUEST_INFO,
    Reply,
};
use crate::group_record::GroupRecord;
use crate::ids::ChatId;
use crate::job::{JobCommand, JobPurpose};
use crate::queue_record::{QueueOwner, QueueRecord};
use crate::shared::{Shared, random_secret};
use crate::staged_batch::StagedBatch;
use crate::store::KeyRange;
use crate::time::UnixMillis;
use crate::{CoreError, Store};

use super::LEAF_LIFETIME_SECS;
use super::links::{REQUEST_VERSION, delete_queues, new_queue};

/// A join through a link waiting for the admin's answer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GroupLinkJoinView {
    /// The join's id on this device.
    pub id: u64,
    /// The group's name, as its link gives it.
    pub name: String,
    /// The request went to the admin (else the reply queue is being made).
    pub requested: bool,
    /// When the join started (Unix ms).
    pub created_at: u64,
}

impl<S: Store> Core<S> {
    /// Asks to join a group through its link: a reply queue is made on
    /// `relay` (this profile's), then the request goes to the link's queue.
    /// The pseudonym shows `name` in the group (this profile's display name
    /// when `None`) and `picture` (a small image of at most
    /// [`sotto_groups::MAX_MEMBER_PICTURE_LEN`] bytes; empty for none).
    /// Returns the join's id ([`Core::group_link_joins`]); the
    /// group comes with [`Event::GroupJoined`], a refusal with
    /// [`Event::GroupJoinRefused`].
    pub fn join_group_by_link(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        link: &str,
        relay: &RelayAddress,
        name: Option<&str>,
        picture: Vec<u8>,
    ) -> Result<u64, CoreError> {
        let link = GroupLink::parse(link)?;
        // A key that takes no seal makes no request: refused before anything
        // is made.
        seal_to_link(&link.public_key, REQUEST_INFO, &[])
            .map_err(|_| CoreError::InvalidLink("invalid key"))?;
        let own = match name {
            Some(name) if !name.trim().is_empty() => DisplayName::new(name)?,
            Some(_) => return Err(CoreError::InvalidValue("name")),
            None => DisplayName::new(self.profile().display_name())?,
        };
        let own = MemberProfile::new(own, picture)?;
        if self.own_link_queue(&link)? {
            return Err(CoreError::InvalidValue("link: it is this profile's own"));
        }
        let (pending, key_package) =
            PendingJoin::with_profile(&own, now.0 / 1000, LEAF_LIFETIME_SECS)?;
        let (mut cx, ..) = self.parts();
        let id = cx.account.allocate_id();
        let mut join = [0; crate::group_invite::INVITE_ID_LEN];
        rng.fill_bytes(&mut join);
        let mut batch = StagedBatch::new();
        LinkJoinRecord {
            id,
            created_at: now.0,
            join,
            link,
            reply_sender: random_secret(rng),
            reply_key: random_secret(rng),
            requested: false,
            key_package: key_package.into_bytes(),
            pending,
        }
        .put(&mut batch)?;
        new_queue(
            &mut cx,
            now,
            rng,
            relay,
            QueueOwner::GroupJoin(id),
            &mut batch,
        );
        let result = cx.commit(batch).map(|()| id);
        self.after_action(now, result)
    }

    /// Joins through links waiting for their admin's answer.
    pub fn group_link_joins(&self) -> Result<Vec<GroupLinkJoinView>, CoreError> {
        Ok(LinkJoinRecord::load_all(self.store())?
            .into_iter()
            .map(|join| GroupLinkJoinView {
                id: join.id,
                name: join.link.name,
                requested: join.requested,
                created_at: join.created_at,
            })
            .collect())
    }

    /// Gives up a join through a link that waits for an answer: the join is
    /// forgotten and its reply queue deleted, so a later welcome is never
    /// read.
    pub fn cancel_group_link_join(&mut self, now: UnixMillis, join: u64) -> Result<(), CoreError> {
        let record = LinkJoinRecord::load(self.store(), join)?
            .ok_or(CoreError::InvalidValue("no such join"))?;
        let (mut cx, ..) = self.parts();
        let mut batch = StagedBatch::new();
        end_join(&mut cx, now, &record, &mut batch)?;
        let result = cx.commit(batch);
        self.after_action(now, result)
    }

    /// Whether `link` is one of this profile's own group links.
    fn own_link_queue(&self, link: &GroupLink) -> Result<bool, CoreError> {
        for group in GroupRecord::ids(self.store())? {
            if let Some(own) = GroupLinkRecord::load(self.store(), group)?
                && own.queue.as_ref() == Some(&link.queue)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The relay made a join's reply queue: it is secured for the admin's key
/// and the sealed request goes to the link's queue.
pub(crate) fn join_queue_created<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    queue: &QueueRecord,
    id: u64,
    batch: &mut StagedBatch,
) -> Result<bool, CoreError> {
    let Some(mut join) = LinkJoinRecord::load(cx.store(), id)? else {
        crate::connector::Connector::delete_queue(cx, now, queue, batch);
        return Ok(false);
    };
    if join.requested {
        crate::connector::Connector::delete_queue(cx, now, queue, batch);
        return Ok(false);
    }
    let request = JoinRequest {
        join: join.join,
        reply_queue: queue.address(),
        reply_sender: join.reply_sender.clone(),
        reply_key: join.reply_key.clone(),
        key_package: join.key_package.clone(),
    };
    let sealed = request.plaintext().and_then(|plaintext| {
        Ok(seal_to_link(
            &join.link.public_key,
            REQUEST_INFO,
            &plaintext,
        )?)
    });
    let Ok(sealed) = sealed else {
        // A link whose key takes no seal: the join ends here.
        crate::connector::Connector::delete_queue(cx, now, queue, batch);
        LinkJoinRecord::delete(id, batch);
        batch.notify(Pending::ready(Event::GroupJoinRefused {
            join: id,
            name: join.link.name.clone(),
            reason: "the link's key is not valid".to_owned(),
        }));
        return Ok(false);
    };
    let sender_key = QueueAuthSecret::from_bytes(*join.reply_sender).public_key();
    let command = JobCommand::Key {
        recipient_id: queue.recipient_id,
        auth_secret: queue.auth_secret.clone(),
        sender_key: *sender_key.as_bytes(),
    };
    cx.add_job(batch, now, queue.relay.clone(), command, JobPurpose::None);
    let mut body = Vec::with_capacity(1 + sealed.len());
    body.push(REQUEST_VERSION);
    body.extend_from_slice(&sealed);
    let command = JobCommand::Send {
        sender_id: join.link.queue.sender_id,
        auth_secret: None,
        body,
    };
    cx.add_job(
        batch,
        now,
        join.link.queue.relay.clone(),
        command,
        JobPurpose::GroupJoinRequest { join: id },
    );
    join.requested = true;
    join.put(batch)?;
    Ok(true)
}

/// A reply arrived on a join's reply queue: a piece of the welcome (the
/// group is joined once all are there) or a refusal. Returns whether the
/// join ended (its reply queue is deleted in `batch`).
pub(crate) fn handle_reply<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    id: u64,
    body: &[u8],
    batch: &mut StagedBatch,
) -> Result<bool, CoreError> {
    let Some(join) = LinkJoinRecord::load(cx.store(), id)? else {
        return Ok(false);
    };
    match Reply::open(&join.reply_key, &join.join, body)? {
        Reply::Declined => {
            end_join(cx, now, &join, batch)?;
            batch.notify(Pending::ready(Event::GroupJoinRefused {
                join: id,
                name: join.link.name.clone(),
                reason: "declined".to_owned(),
            }));
            Ok(true)
        }
        Reply::Piece {
            index,
            count,
            bytes,
        } => {
            let Some(whole) = keep_piece(cx, &join.join, index, count, &bytes, batch)? else {
                return Ok(false);
            };
            let mut r = Reader::new(&whole, "group welcome");
            let welcome = GroupWelcome::decode(&mut r).and_then(|welcome| {
                r.finish()?;
                Ok(welcome)
            });
            let joined = match welcome {
                Ok(welcome) if welcome.invite == join.join => join
                    .pending
                    .join(&welcome.welcome)
                    .ok()
                    .map(|group| (welcome, group)),
                _ => None,
            };
            end_join(cx, now, &join, batch)?;
            let Some((welcome, group)) = joined else {
                // A bad welcome is the admin's fault: nothing joins.
                batch.notify(Pending::ready(Event::GroupJoinRefused {
                    join: id,
                    name: join.link.name.clone(),
                    reason: "the welcome did not open".to_owned(),
                }));
                return Ok(true);
            };
            let mut record = GroupRecord {
                chat: ChatId(cx.account.allocate_id()),
                name: join.link.name.clone(),
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
            ChatRecord::group(record.chat, super::messages::member_count(&record), now.0)
                .put(batch);
            // The chat list learns of the group's chat as of any other.
            batch.notify(Pending::ChatChanged(record.chat));
            batch.notify(Pending::ready(Event::GroupJoined {
                group: record.chat,
                name: record.display_name(),
            }));
            Ok(true)
        }
    }
}

/// Keeps a piece of a welcome; returns the welcome's content once every
/// piece is there. A piece whose count differs from the first one's drops
/// what was kept.
fn keep_piece<S: Store>(
    cx: &Shared<'_, S>,
    join: &InviteId,
    index: u16,
    count: u16,
    bytes: &[u8],
    batch: &mut StagedBatch,
) -> Result<Option<Zeroizing<Vec<u8>>>, CoreError> {
    if count == 1 {
        return Ok(Some(Zeroizing::new(bytes.to_vec())));
    }
    let key = |index: u16| [&join[..], &index.to_be_bytes()[..]].concat();
    let (kept_count, mut received) = match cx.store().get(GROUP_WELCOME_PROGRESS, join)? {
        Some(stored) => {
            let mut r = Reader::new(&stored, "group welcome progress");
            (r.u16()?, r.u16()?)
        }
        None => (count, 0),
    };
    if kept_count != count {
        forget_pieces(batch, join);
        return Ok(None);
    }
    if cx.store().get(GROUP_WELCOME_PIECES, &key(index))?.is_none() {
        received = received.saturating_add(1);
    }
    if received < count {
        let mut w = Writer::new();
        w.u16(count).bytes16(bytes);
        batch.put(GROUP_WELCOME_PIECES, key(index), w.finish());
        let mut w = Writer::new();
        w.u16(count).u16(received);
        batch.put(GROUP_WELCOME_PROGRESS, join.to_vec(), w.finish());
        return Ok(None);
    }
    let mut whole = Zeroizing::new(Vec::new());
    for i in 0..count {
        if i == index {
            whole.extend_from_slice(bytes);
            continue;
        }
        let Some(stored) = cx.store().get(GROUP_WELCOME_PIECES, &key(i))? else {
            forget_pieces(batch, join);
            return Ok(None);
        };
        let mut r = Reader::new(&stored, "group welcome piece");
        r.u16()?;
        whole.extend_from_slice(r.bytes16(MAX_REPLY_PIECE_LEN)?);
    }
    forget_pieces(batch, join);
    Ok(Some(whole))
}

fn forget_pieces(batch: &mut StagedBatch, join: &InviteId) {
    batch.delete_range(GROUP_WELCOME_PIECES, KeyRange::prefix(join));
    batch.delete(GROUP_WELCOME_PROGRESS, join.to_vec());
}

/// Forgets a join through a link and deletes its reply queue.
fn end_join<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    join: &LinkJoinRecord,
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    LinkJoinRecord::delete(join.id, batch);
    forget_pieces(batch, &join.join);
    delete_queues(cx, now, QueueOwner::GroupJoin(join.id), batch)
}

/// The link's relay refused the request (the link was deleted or replaced):
/// the join ends.
pub(crate) fn request_refused<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    id: u64,
) -> Result<(), CoreError> {
    let Some(join) = LinkJoinRecord::load(cx.store(), id)? else {
        return Ok(());
    };
    let mut batch = StagedBatch::new();
    end_join(cx, now, &join, &mut batch)?;
    batch.notify(Pending::ready(Event::GroupJoinRefused {
        join: id,
        name: join.link.name.clone(),
        reason: "the link was deleted or replaced".to_owned(),
    }));
    cx.commit(batch)
}
