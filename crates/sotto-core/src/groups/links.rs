//! Group links on the admin's side (`group_link`; `link_joins` is the
//! joiner's). The admin's client makes the
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
use sotto_groups::{KeyPackage, LinkKeyPair};
use sotto_wire::RelayAddress;
use zeroize::Zeroizing;

use crate::codec::Writer;
use crate::core::Core;
use crate::event::{Event, Pending};
use crate::group_invite::GroupWelcome;
use crate::group_link::{
    GROUP_LINK_SEEN, GroupLink, GroupLinkRecord, JoinRequest, JoinRequestRecord, REQUEST_INFO,
    Reply, RequestState,
};
use crate::group_record::GroupRecord;
use crate::ids::ChatId;
use crate::job::{JobCommand, JobPurpose};
use crate::queue_record::{QueueOwner, QueueRecord};
use crate::shared::{Shared, random_secret};
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{CoreError, Store};

/// Requests of one group kept waiting for a decision (or for their welcome);
/// later ones are dropped until some are decided.
pub(crate) const MAX_REQUESTS_PER_GROUP: usize = 100;
/// Version byte of a request.
pub(super) const REQUEST_VERSION: u8 = 1;

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
                name: record.display_name(),
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
    if !record.is_active() || !role.may_add() {
        return Err(CoreError::Group(sotto_groups::Error::Forbidden {
            role,
            action: sotto_groups::Action::Add,
        }));
    }
    Ok(())
}

/// Asks the relay for a queue for `owner`.
pub(super) fn new_queue<S: Store>(
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
pub(super) fn delete_queues<S: Store>(
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
