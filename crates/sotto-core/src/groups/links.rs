//! Joining through a group link (`group_link`). The admin's client makes the
//! link: a fresh queue on its relay and a fresh HPKE key pair (X-Wing), for
//! this link only, so the link names neither the admin's contacts nor its
//! other groups. A joiner seals to the link's key a request (its key package
//! under a fresh pseudonym, and a reply queue it made); the admin's client
//! holds it for an admin to approve or decline, or approves it at once when
//! the link is automatic. An approved request's add is committed to the log;
//! once that commit is in effect, the welcome goes, in pieces, to the reply
//! queue, sealed with the reply key the request carried. A decline sends a
//! short refusal. Only the client that made the link holds its secret, so
//! only it sees and decides the requests.
//!
//! Nothing of a request is trusted: one that does not open or parse is
//! dropped (and its message acknowledged), so a hostile sender can neither
//! stop the link's queue nor make the admin keep more than
//! [`MAX_REQUESTS_PER_GROUP`] requests per group.

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use sotto_groups::{DisplayName, KeyPackage, LinkKeyPair, PendingJoin, seal_to_link};
use sotto_wire::{QueueAuthSecret, RelayAddress};
use zeroize::Zeroizing;

use crate::chat_record::ChatRecord;
use crate::codec::{Reader, Writer};
use crate::core::Core;
use crate::event::{Event, Pending};
use crate::group_invite::{GROUP_WELCOME_PIECES, GROUP_WELCOME_PROGRESS, GroupWelcome};
use crate::group_link::{
    GROUP_LINK_SEEN, GroupLink, GroupLinkRecord, JoinRequest, JoinRequestRecord, LinkJoinRecord,
    MAX_REPLY_PIECE_LEN, REQUEST_INFO, Reply, RequestState,
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

/// Requests of one group kept waiting for a decision (or for their welcome);
/// later ones are dropped until some are decided.
pub(crate) const MAX_REQUESTS_PER_GROUP: usize = 100;
/// Version byte of a request.
const REQUEST_VERSION: u8 = 1;

/// A group's link as a front end shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GroupLinkView {
    /// The group's chat.
    pub group: ChatId,
    /// The link text; `None` until the relay has made the link's queue.
    pub link: Option<String>,
    /// Requests join without an admin's approval.
    pub automatic: bool,
}

/// A request to join through a group's link, as the admin sees it: the
/// requester's pseudonym for this group, nothing of its profile.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GroupJoinRequestView {
    /// The request's id on this device.
    pub id: u64,
    /// The group's chat.
    pub group: ChatId,
    /// The requester's member id in the group (hex).
    pub member: String,
    /// The name the requester shows in this group.
    pub name: String,
    /// When it arrived (Unix ms).
    pub received_at: u64,
    /// Approved already (its add waits for the log).
    pub approved: bool,
}

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
    /// Makes (or replaces) a group's link on `relay`: a new queue and key,
    /// the old link's queue deleted, so requests through the old link are
    /// refused by its relay. `automatic`: requests join without an admin.
    /// The link is shown once its queue exists ([`Core::group_link`];
    /// [`Event::ChatChanged`] of the group).
    pub fn create_group_link(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        group: ChatId,
        relay: &RelayAddress,
        automatic: bool,
    ) -> Result<(), CoreError> {
        check_may_add(&GroupRecord::load(self.store(), group)?)?;
        let pair = LinkKeyPair::generate()?;
        let (mut cx, ..) = self.parts();
        let mut batch = StagedBatch::new();
        delete_link_into(&mut cx, now, group, &mut batch)?;
        GroupLinkRecord {
            group,
            created_at: now.0,
            automatic,
            secret_key: Zeroizing::new(pair.secret().to_vec()),
            public_key: pair.public().to_vec(),
            queue: None,
        }
        .put(&mut batch);
        new_queue(
            &mut cx,
            now,
            rng,
            relay,
            QueueOwner::GroupLink(group),
            &mut batch,
        );
        let result = cx.commit(batch);
        self.after_action(now, result)
    }

    /// Deletes a group's link: its queue on the relay, so later requests are
    /// refused; requests already received stay until decided.
    pub fn delete_group_link(&mut self, now: UnixMillis, group: ChatId) -> Result<(), CoreError> {
        if GroupLinkRecord::load(self.store(), group)?.is_none() {
            return Err(CoreError::InvalidValue("the group has no link"));
        }
        let (mut cx, ..) = self.parts();
        let mut batch = StagedBatch::new();
        delete_link_into(&mut cx, now, group, &mut batch)?;
        batch.notify(Pending::ChatChanged(group));
        let result = cx.commit(batch);
        self.after_action(now, result)
    }

    /// Whether requests through the group's link join without an admin.
    pub fn set_group_link_approval(
        &mut self,
        group: ChatId,
        automatic: bool,
    ) -> Result<(), CoreError> {
        let mut link = GroupLinkRecord::load(self.store(), group)?
            .ok_or(CoreError::InvalidValue("the group has no link"))?;
        link.automatic = automatic;
        let mut batch = StagedBatch::new();
        link.put(&mut batch);
        self.parts().0.commit(batch)
    }

    /// The group's link, if this device made one.
    pub fn group_link(&self, group: ChatId) -> Result<Option<GroupLinkView>, CoreError> {
        let Some(link) = GroupLinkRecord::load(self.store(), group)? else {
            return Ok(None);
        };
        let record = GroupRecord::load(self.store(), group)?;
        let text = link.queue.map(|queue| {
            GroupLink {
                queue,
                public_key: link.public_key.clone(),
                name: record.name.clone(),
            }
            .to_link()
        });
        Ok(Some(GroupLinkView {
            group,
            link: text,
            automatic: link.automatic,
        }))
    }

    /// The requests to join through the group's link, oldest first.
    pub fn group_join_requests(
        &self,
        group: ChatId,
    ) -> Result<Vec<GroupJoinRequestView>, CoreError> {
        Ok(JoinRequestRecord::load_all(self.store())?
            .into_iter()
            .filter(|request| request.group == group)
            .filter_map(|request| view_of(&request))
            .collect())
    }

    /// Approves a request: its add is committed (at once, or after a commit
    /// of ours that waits for the log), and the welcome goes once the commit
    /// is in effect.
    pub fn approve_group_join(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        request: u64,
    ) -> Result<(), CoreError> {
        let record = JoinRequestRecord::load(self.store(), request)?
            .ok_or(CoreError::InvalidValue("no such join request"))?;
        if record.state != RequestState::Waiting {
            return Ok(());
        }
        check_may_add(&GroupRecord::load(self.store(), record.group)?)?;
        let (mut cx, ..) = self.parts();
        let mut batch = StagedBatch::new();
        approve(&mut cx, now, rng, record, &mut batch)?;
        let result = cx.commit(batch);
        self.after_action(now, result)
    }

    /// Declines a request: the requester is told, and it is forgotten.
    pub fn decline_group_join(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        request: u64,
    ) -> Result<(), CoreError> {
        let record = JoinRequestRecord::load(self.store(), request)?
            .ok_or(CoreError::InvalidValue("no such join request"))?;
        if record.state != RequestState::Waiting {
            return Err(CoreError::InvalidValue("the request is approved already"));
        }
        let (mut cx, ..) = self.parts();
        let mut batch = StagedBatch::new();
        decline(&mut cx, now, rng, &record, &mut batch)?;
        let result = cx.commit(batch);
        self.after_action(now, result)
    }

    /// Asks to join a group through its link: a reply queue is made on
    /// `relay` (this profile's), then the request goes to the link's queue.
    /// The pseudonym shows `name` in the group (this profile's display name
    /// when `None`). Returns the join's id ([`Core::group_link_joins`]); the
    /// group comes with [`Event::GroupJoined`], a refusal with
    /// [`Event::GroupJoinRefused`].
    pub fn join_group_by_link(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        link: &str,
        relay: &RelayAddress,
        name: Option<&str>,
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
        if self.own_link_queue(&link)? {
            return Err(CoreError::InvalidValue("link: it is this profile's own"));
        }
        let (pending, key_package) = PendingJoin::new(&own, now.0 / 1000, LEAF_LIFETIME_SECS)?;
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

fn view_of(request: &JoinRequestRecord) -> Option<GroupJoinRequestView> {
    let key_package = KeyPackage::from_bytes(&request.request.key_package).ok()?;
    Some(GroupJoinRequestView {
        id: request.id,
        group: request.group,
        member: crate::chat_item::hex(key_package.member_id().ok()?.as_bytes()),
        name: key_package.display_name().ok()?.as_str().to_owned(),
        received_at: request.received_at,
        approved: request.state != RequestState::Waiting,
    })
}

fn check_may_add(record: &GroupRecord) -> Result<(), CoreError> {
    let role = record.group.role(&record.group.own_member_id())?;
    if !record.group.is_active() || !role.may_add() {
        return Err(CoreError::Group(sotto_groups::Error::Forbidden {
            role,
            action: sotto_groups::Action::Add,
        }));
    }
    Ok(())
}

/// Asks the relay for a queue for `owner`.
fn new_queue<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    rng: &mut impl CryptoRngCore,
    relay: &RelayAddress,
    owner: QueueOwner,
    batch: &mut StagedBatch,
) {
    let command = JobCommand::New {
        auth_secret: random_secret(rng),
        dh_secret: random_secret(rng),
    };
    cx.add_job(
        batch,
        now,
        relay.clone(),
        command,
        JobPurpose::NewQueue(owner),
    );
}

/// Deletes our queues of `owner` (on the relay too).
fn delete_queues<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    owner: QueueOwner,
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    for queue in QueueRecord::load_all(cx.store())? {
        if queue.owner == owner {
            crate::connector::Connector::delete_queue(cx, now, &queue, batch);
        }
    }
    Ok(())
}

fn delete_link_into<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    group: ChatId,
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    GroupLinkRecord::delete(group, batch);
    delete_queues(cx, now, QueueOwner::GroupLink(group), batch)
}

/// This profile is out of the group: its link goes (its queue deleted, so
/// later requests are refused by the relay), and every request kept is
/// declined.
pub(crate) fn group_left<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    rng: &mut impl CryptoRngCore,
    group: ChatId,
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    if GroupLinkRecord::load(cx.store(), group)?.is_some() {
        delete_link_into(cx, now, group, batch)?;
    }
    for record in JoinRequestRecord::load_all(cx.store())? {
        if record.group == group {
            decline(cx, now, rng, &record, batch)?;
        }
    }
    Ok(())
}

/// The relay made a queue for a group's link: the link can be shown. One
/// whose link was deleted or replaced meanwhile is deleted again.
pub(crate) fn link_queue_created<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    queue: &QueueRecord,
    group: ChatId,
    batch: &mut StagedBatch,
) -> Result<bool, CoreError> {
    let Some(mut link) = GroupLinkRecord::load(cx.store(), group)? else {
        crate::connector::Connector::delete_queue(cx, now, queue, batch);
        return Ok(false);
    };
    if link.queue.is_some() {
        crate::connector::Connector::delete_queue(cx, now, queue, batch);
        return Ok(false);
    }
    link.queue = Some(queue.address());
    link.put(batch);
    batch.notify(Pending::ChatChanged(group));
    Ok(true)
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

/// A request arrived on a group's link queue. One that does not open or
/// parse is the sender's fault (an error the inbox drops); one seen before,
/// or beyond [`MAX_REQUESTS_PER_GROUP`], changes nothing.
pub(crate) fn handle_request<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    rng: &mut impl CryptoRngCore,
    group: ChatId,
    body: &[u8],
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    const BAD: CoreError = CoreError::Malformed("group link request");
    let Some(link) = GroupLinkRecord::load(cx.store(), group)? else {
        return Ok(());
    };
    let (version, sealed) = body.split_first().ok_or(BAD)?;
    if *version != REQUEST_VERSION {
        return Err(CoreError::UnsupportedVersion {
            what: "group link request",
            version: *version,
        });
    }
    let kem_output = sealed.get(..sotto_groups::LINK_KEM_OUTPUT_LEN).ok_or(BAD)?;
    let seen = [&group.0.to_be_bytes()[..], &Sha256::digest(kem_output)[..]].concat();
    if cx.store().get(GROUP_LINK_SEEN, &seen)?.is_some() {
        return Err(CoreError::UnexpectedMessage("replayed group link request"));
    }
    let pair = LinkKeyPair::from_parts(&link.secret_key, &link.public_key)?;
    let plaintext = pair.open(REQUEST_INFO, sealed).map_err(|_| BAD)?;
    let request = JoinRequest::from_plaintext(&plaintext)?;
    let key_package = KeyPackage::from_bytes(&request.key_package).map_err(|_| BAD)?;
    key_package.member_id().map_err(|_| BAD)?;
    key_package.display_name().map_err(|_| BAD)?;
    let requests = JoinRequestRecord::load_all(cx.store())?;
    if requests
        .iter()
        .any(|r| r.group == group && r.request.join == request.join)
        || requests.iter().filter(|r| r.group == group).count() >= MAX_REQUESTS_PER_GROUP
    {
        return Ok(());
    }
    batch.put(GROUP_LINK_SEEN, seen, Vec::new());
    let record = JoinRequestRecord {
        id: cx.account.allocate_id(),
        group,
        received_at: now.0,
        request,
        state: RequestState::Waiting,
    };
    let may_add = GroupRecord::load(cx.store(), group)
        .and_then(|record| check_may_add(&record))
        .is_ok();
    if link.automatic && may_add {
        return approve(cx, now, rng, record, batch);
    }
    record.put(batch);
    if let Some(view) = view_of(&record) {
        batch.notify(Pending::ready(Event::GroupJoinRequested { request: view }));
    }
    Ok(())
}

/// Commits an approved request's add, or keeps it for after our pending
/// commit. A key package the group refuses declines the request.
fn approve<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    rng: &mut impl CryptoRngCore,
    mut record: JoinRequestRecord,
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    let mut group = GroupRecord::load(cx.store(), record.group)?;
    if group.group.has_pending_commit() {
        record.state = RequestState::Approved;
        record.put(batch);
        return Ok(());
    }
    if commit_add(&mut group, &mut record, batch)? {
        batch.notify(Pending::ready(Event::GroupCommitReady {
            group: record.group,
        }));
        return Ok(());
    }
    decline(cx, now, rng, &record, batch)
}

/// Commits the add of an approved request; `false` when the group refuses
/// its key package (nothing changed).
pub(crate) fn commit_add(
    group: &mut GroupRecord,
    record: &mut JoinRequestRecord,
    batch: &mut StagedBatch,
) -> Result<bool, CoreError> {
    let Ok(key_package) = KeyPackage::from_bytes(&record.request.key_package) else {
        return Ok(false);
    };
    if group.group.add_members(&[key_package]).is_err() {
        return Ok(false);
    }
    group.put(batch)?;
    record.state = RequestState::Committed;
    record.put(batch);
    Ok(true)
}

/// An approved request of this group whose add waits for a commit.
pub(crate) fn waiting_request(
    store: &impl Store,
    group: ChatId,
) -> Result<Option<JoinRequestRecord>, CoreError> {
    Ok(JoinRequestRecord::load_all(store)?
        .into_iter()
        .find(|r| r.group == group && r.state == RequestState::Approved))
}

/// Tells the requester no, and forgets the request.
pub(crate) fn decline<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    rng: &mut impl CryptoRngCore,
    record: &JoinRequestRecord,
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    record.delete(batch);
    send_replies(cx, now, rng, record, &[Reply::Declined], batch)
}

/// Sends replies to a request's reply queue, in order.
fn send_replies<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    rng: &mut impl CryptoRngCore,
    record: &JoinRequestRecord,
    replies: &[Reply],
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    let request = &record.request;
    for reply in replies {
        let mut nonce = [0; 24];
        rng.fill_bytes(&mut nonce);
        let body = reply.seal(&request.reply_key, &request.join, &nonce)?;
        let command = JobCommand::Send {
            sender_id: request.reply_queue.sender_id,
            auth_secret: Some(request.reply_sender.clone()),
            body,
        };
        cx.add_job(
            batch,
            now,
            request.reply_queue.relay.clone(),
            command,
            JobPurpose::None,
        );
    }
    Ok(())
}

/// The requests whose adds the confirmed commit made: each gets its welcome
/// now, and is forgotten.
pub(crate) fn send_welcomes<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    rng: &mut impl CryptoRngCore,
    group: &GroupRecord,
    added: &[sotto_groups::MemberId],
    welcome: &[u8],
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    for record in JoinRequestRecord::load_all(cx.store())? {
        if record.group != group.chat || record.state != RequestState::Committed {
            continue;
        }
        let member = KeyPackage::from_bytes(&record.request.key_package)
            .and_then(|key_package| key_package.member_id());
        if !member.is_ok_and(|member| added.contains(&member)) {
            continue;
        }
        let mut w = Writer::new();
        GroupWelcome {
            invite: record.request.join,
            next_seq: group.next_seq,
            log: group.log.clone(),
            welcome: welcome.to_vec(),
        }
        .encode(&mut w);
        let content = Zeroizing::new(w.finish());
        record.delete(batch);
        send_replies(cx, now, rng, &record, &Reply::pieces(&content)?, batch)?;
    }
    Ok(())
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
            let record = GroupRecord {
                chat: ChatId(cx.account.allocate_id()),
                name: join.link.name.clone(),
                log: welcome.log,
                next_seq: welcome.next_seq,
                previous: None,
                rotation_due: false,
                read_acks: None,
                group,
            };
            record.put(batch)?;
            ChatRecord::group(record.chat, super::messages::member_count(&record), now.0)
                .put(batch);
            batch.notify(Pending::ready(Event::GroupJoined {
                group: record.chat,
                name: record.name,
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
    join: &crate::group_invite::InviteId,
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

fn forget_pieces(batch: &mut StagedBatch, join: &crate::group_invite::InviteId) {
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
