//! The group log commands of a connection: GNEW, GAPP, GREAD, GSUB, GUNSUB,
//! GKEY and GDEL, and the pushes of new entries to its subscriptions.
//!
//! Like queues, a log that does not exist and a key that is not the log's give
//! the same ERR AUTH after the same work, and both count as failed
//! authorizations. A GAPP is answered (GSEQ) once its entry is durable, and
//! only then is it visible to GREAD and pushed. A subscription keeps a cursor:
//! new entries are read from the store at it and pushed as the connection's
//! replies make room, so a member that reads slowly holds no entry in memory
//! and one append reaches every member. A GAPP, GREAD or GSUB waits for the
//! connection's pending writes on the same log (a rotation first of all), and
//! the store refuses an entry whose write key was replaced since its check.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sotto_wire::{
    Command, CorrId, EntityId, ErrorCode, GroupAdminId, GroupReadId, GroupWriteId, Response,
    Transmission,
};

use super::{AfterWrite, BlockInFlight, Session, Slot, id_as_pending, random_id};
use crate::clock::unix_now;
use crate::metrics::Event;
use crate::store::{AuthKey, GroupIds, GroupKeys, GroupRecord, WriteOp, WriteOutcome};

/// A group log subscribed on this connection.
#[derive(Clone, Copy, Debug)]
pub(super) struct GroupSubscription {
    /// The sequence number of the next entry to push.
    cursor: u64,
    /// The read key that authorized the GSUB: pushes stop once it is replaced.
    read_key: AuthKey,
}

/// This connection's group log subscriptions.
#[derive(Default)]
pub(super) struct GroupSubscriptions {
    /// By log.
    pub(super) logs: HashMap<GroupReadId, GroupSubscription>,
    /// Logs that may hold entries past their cursor.
    behind: HashSet<GroupReadId>,
}

impl Session {
    /// Runs one group log command.
    pub(super) async fn execute_group(
        &mut self,
        command: Command,
        transmission: &Transmission,
        current: &mut BlockInFlight,
    ) -> Result<Slot, crate::Error> {
        let corr_id = transmission.corr_id;
        let entity = transmission.entity;
        let relay = Arc::clone(&self.relay);
        let refuse = |session: &Self, code| Ok(session.ready_error(corr_id, entity, code));
        match command {
            Command::GroupNew {
                admin_auth_key,
                write_auth_key,
                read_auth_key,
                password,
            } => {
                let authorised = self.verify(transmission, Some(admin_auth_key.into()));
                if !(authorised && self.password_allowed(password.as_ref())) {
                    return refuse(self, ErrorCode::Auth);
                }
                self.authorized = true;
                if !(self.is_usable_key(&write_auth_key) && self.is_usable_key(&read_auth_key)) {
                    return refuse(self, ErrorCode::Cmd);
                }
                let ids = GroupIds {
                    admin_id: GroupAdminId::from_bytes(random_id()),
                    write_id: GroupWriteId::from_bytes(random_id()),
                    read_id: GroupReadId::from_bytes(random_id()),
                };
                let keys = GroupKeys {
                    admin_key: admin_auth_key.into(),
                    write_key: write_auth_key.into(),
                    read_key: read_auth_key.into(),
                };
                let op = WriteOp::CreateGroup { ids, keys };
                self.write(corr_id, None, op, AfterWrite::GroupIds(ids))
                    .await
            }
            Command::GroupAppend { write_id, entry } => {
                let storage = Arc::clone(&relay.storage);
                let mut log = storage.group_by_write(&write_id, unix_now())?;
                if let Some(found) = log
                    && self.must_wait(current, &log_as_pending(&found), true)
                {
                    self.settle_all(current).await;
                    log = storage.group_by_write(&write_id, unix_now())?;
                }
                let Some(log) = self.authorise_group(transmission, log, |keys| keys.write_key)
                else {
                    return refuse(self, ErrorCode::Auth);
                };
                current.pending.add(log_as_pending(&log), true);
                let op = WriteOp::AppendGroup {
                    write_id,
                    write_key: log.keys.write_key,
                    entry,
                };
                self.write(corr_id, entity, op, AfterWrite::GroupSeq(write_id))
                    .await
            }
            Command::GroupRead { read_id, from } => {
                let log = relay.storage.group_by_read(&read_id, unix_now())?;
                let Some(log) = self.authorise_group(transmission, log, |keys| keys.read_key)
                else {
                    return refuse(self, ErrorCode::Auth);
                };
                let reply = match relay.storage.group_entry(&read_id, from, unix_now())? {
                    Some(entry) => {
                        relay.metrics.count(Event::GroupEntryRead);
                        Response::GroupEntry {
                            read_id,
                            seq: from,
                            entry,
                        }
                    }
                    None => position(read_id, &log),
                };
                Ok(Slot::Ready(vec![reply.to_transmission(corr_id)]))
            }
            Command::GroupSub { read_id } => {
                let log = relay.storage.group_by_read(&read_id, unix_now())?;
                let Some(log) = self.authorise_group(transmission, log, |keys| keys.read_key)
                else {
                    return refuse(self, ErrorCode::Auth);
                };
                let subscriptions = self.subscribed.len() + self.groups.logs.len();
                if !self.groups.logs.contains_key(&read_id)
                    && subscriptions >= relay.limits.max_subscriptions
                {
                    return refuse(self, ErrorCode::Limit);
                }
                // Registered before the position is read: an entry appended
                // after the read is pushed, one before it is below `next`.
                relay
                    .group_subscriptions
                    .subscribe(read_id, &self.subscriber);
                let Some(log) = relay
                    .storage
                    .group_by_read(&read_id, unix_now())?
                    .filter(|now| now.keys.read_key == log.keys.read_key)
                else {
                    // Rekeyed or deleted since the check.
                    self.drop_group_subscription(&read_id);
                    return refuse(self, ErrorCode::Auth);
                };
                self.groups.logs.insert(
                    read_id,
                    GroupSubscription {
                        cursor: log.next,
                        read_key: log.keys.read_key,
                    },
                );
                Ok(Slot::Ready(vec![
                    position(read_id, &log).to_transmission(corr_id),
                ]))
            }
            Command::GroupUnsub { read_id } => {
                let log = relay.storage.group_by_read(&read_id, unix_now())?;
                if self
                    .authorise_group(transmission, log, |keys| keys.read_key)
                    .is_none()
                {
                    return refuse(self, ErrorCode::Auth);
                }
                self.drop_group_subscription(&read_id);
                let ok = Response::Ok { entity }.to_transmission(corr_id);
                Ok(Slot::Ready(vec![ok]))
            }
            Command::GroupKey {
                admin_id,
                write_auth_key,
                read_auth_key,
            } => {
                let Some(log) = self
                    .authorise_admin(transmission, &admin_id, current)
                    .await?
                else {
                    return refuse(self, ErrorCode::Auth);
                };
                if !(self.is_usable_key(&write_auth_key) && self.is_usable_key(&read_auth_key)) {
                    return refuse(self, ErrorCode::Cmd);
                }
                current.pending.add(log_as_pending(&log), false);
                let op = WriteOp::RekeyGroup {
                    admin_id,
                    write_key: write_auth_key.into(),
                    read_key: read_auth_key.into(),
                };
                self.write(corr_id, entity, op, AfterWrite::GroupRekeyed)
                    .await
            }
            Command::GroupDel { admin_id } => {
                let Some(log) = self
                    .authorise_admin(transmission, &admin_id, current)
                    .await?
                else {
                    return refuse(self, ErrorCode::Auth);
                };
                current.pending.add(log_as_pending(&log), false);
                let op = WriteOp::DeleteGroup { admin_id };
                self.write(corr_id, entity, op, AfterWrite::GroupDeleted)
                    .await
            }
            _ => refuse(self, ErrorCode::Cmd),
        }
    }

    /// The log if it exists and the transmission is authorized by the key
    /// `key` picks from it; a missing log is checked against the dummy key.
    fn authorise_group(
        &mut self,
        transmission: &Transmission,
        log: Option<GroupRecord>,
        key: impl Fn(&GroupKeys) -> AuthKey,
    ) -> Option<GroupRecord> {
        let valid = self.verify(transmission, log.as_ref().map(|log| key(&log.keys)));
        self.authorized |= valid;
        log.filter(|_| valid)
    }

    /// The log if it exists and the transmission is authorized by its admin
    /// key, after the connection's pending writes on it.
    async fn authorise_admin(
        &mut self,
        transmission: &Transmission,
        admin_id: &GroupAdminId,
        current: &mut BlockInFlight,
    ) -> Result<Option<GroupRecord>, crate::Error> {
        let storage = Arc::clone(&self.relay.storage);
        let mut log = storage.group_by_admin(admin_id, unix_now())?;
        if let Some(found) = log
            && self.must_wait(current, &log_as_pending(&found), false)
        {
            self.settle_all(current).await;
            log = storage.group_by_admin(admin_id, unix_now())?;
        }
        Ok(self.authorise_group(transmission, log, |keys| keys.admin_key))
    }

    /// The replies to a group log command once its write is done.
    pub(super) fn after_group_write(
        &mut self,
        corr_id: CorrId,
        entity: Option<EntityId>,
        outcome: WriteOutcome,
        then: AfterWrite,
    ) -> Vec<Transmission> {
        let relay = Arc::clone(&self.relay);
        let ok = || vec![Response::Ok { entity }.to_transmission(corr_id)];
        match (outcome, then) {
            (WriteOutcome::Done, AfterWrite::GroupIds(ids)) => {
                relay.metrics.count(Event::GroupCreated);
                let ids = Response::GroupIds {
                    admin_id: ids.admin_id,
                    write_id: ids.write_id,
                    read_id: ids.read_id,
                };
                vec![ids.to_transmission(corr_id)]
            }
            (WriteOutcome::Appended { read_id, seq }, AfterWrite::GroupSeq(write_id)) => {
                relay.metrics.count(Event::GroupEntryAppended);
                relay.group_subscriptions.appended(&read_id);
                vec![Response::GroupSeq { write_id, seq }.to_transmission(corr_id)]
            }
            (WriteOutcome::GroupEnded(read_id), AfterWrite::GroupRekeyed) => {
                relay.metrics.count(Event::GroupRekeyed);
                relay.group_subscriptions.end(&read_id);
                ok()
            }
            (WriteOutcome::GroupEnded(read_id), AfterWrite::GroupDeleted) => {
                relay.metrics.count(Event::GroupDeleted);
                relay.group_subscriptions.end(&read_id);
                ok()
            }
            // Rekeyed, deleted or expired meanwhile.
            (WriteOutcome::Refused, _) => vec![self.error(corr_id, entity, ErrorCode::Auth)],
            // The storage budget is used up: no new log or entry until space is
            // freed (rotations and deletions still go through).
            (WriteOutcome::StorageFull, _) => vec![self.error(corr_id, entity, ErrorCode::Full)],
            (outcome, _) => {
                tracing::warn!(?outcome, "unexpected write outcome for a group log");
                vec![self.error(corr_id, entity, ErrorCode::Internal)]
            }
        }
    }

    /// Notes group logs with new entries, and sends GEND for those whose
    /// subscriptions ended.
    pub(super) fn handle_group_events(
        &mut self,
        arrived: HashSet<GroupReadId>,
        ended: HashSet<GroupReadId>,
    ) -> Vec<Transmission> {
        let mut replies = Vec::new();
        for read_id in ended {
            let Some(subscription) = self.groups.logs.get(&read_id).copied() else {
                continue;
            };
            // A GSUB with the new read key that came before the rotation was
            // durable (and so before this end) keeps its subscription.
            let current = self.relay.storage.group_by_read(&read_id, unix_now());
            if let Ok(Some(log)) = current
                && log.keys.read_key == subscription.read_key
            {
                self.relay
                    .group_subscriptions
                    .subscribe(read_id, &self.subscriber);
                self.groups.behind.insert(read_id);
                continue;
            }
            self.groups.logs.remove(&read_id);
            self.groups.behind.remove(&read_id);
            replies.push(Response::GroupEnd { read_id }.to_transmission(CorrId::PUSH));
        }
        for read_id in arrived {
            if self.groups.logs.contains_key(&read_id) {
                self.groups.behind.insert(read_id);
            }
        }
        replies
    }

    /// Whether a subscribed log may hold entries not pushed yet.
    pub fn group_pushes_waiting(&self) -> bool {
        !self.groups.behind.is_empty()
    }

    /// New entries of the subscribed logs, from their cursors, one log after
    /// another, until they take `room` bytes (at least one entry).
    pub fn group_pushes(&mut self, room: usize) -> Vec<Transmission> {
        let mut pushes = Vec::new();
        let mut bytes = 0;
        while bytes < room && !self.groups.behind.is_empty() {
            let logs: Vec<GroupReadId> = self.groups.behind.iter().copied().collect();
            for read_id in logs {
                if bytes >= room {
                    break;
                }
                match self.next_group_push(&read_id) {
                    Ok(Some(push)) => {
                        bytes += push.encoded_len();
                        pushes.push(push);
                    }
                    Ok(None) => {
                        self.groups.behind.remove(&read_id);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "group push failed");
                        self.groups.behind.remove(&read_id);
                    }
                }
            }
        }
        pushes
    }

    /// The push of the log's entry at its cursor, or GEND if its read key was
    /// replaced; `None` when there is nothing to push.
    fn next_group_push(
        &mut self,
        read_id: &GroupReadId,
    ) -> Result<Option<Transmission>, crate::Error> {
        let Some(subscription) = self.groups.logs.get(read_id).copied() else {
            return Ok(None);
        };
        let now = unix_now();
        let storage = Arc::clone(&self.relay.storage);
        let log = storage.group_by_read(read_id, now)?;
        let Some(log) = log.filter(|log| log.keys.read_key == subscription.read_key) else {
            // Rekeyed or deleted, its GEND not yet here: end it now.
            self.drop_group_subscription(read_id);
            let end = Response::GroupEnd { read_id: *read_id };
            return Ok(Some(end.to_transmission(CorrId::PUSH)));
        };
        // Entries that expired before their push are skipped.
        let mut cursor = subscription.cursor.max(log.first);
        while cursor < log.next {
            let entry = storage.group_entry(read_id, cursor, now)?;
            cursor += 1;
            if let Some(entry) = entry {
                self.set_cursor(read_id, cursor);
                self.relay.metrics.count(Event::GroupEntryPushed);
                let push = Response::GroupEntry {
                    read_id: *read_id,
                    seq: cursor - 1,
                    entry,
                };
                return Ok(Some(push.to_transmission(CorrId::PUSH)));
            }
        }
        self.set_cursor(read_id, cursor);
        Ok(None)
    }

    fn set_cursor(&mut self, read_id: &GroupReadId, cursor: u64) {
        if let Some(subscription) = self.groups.logs.get_mut(read_id) {
            subscription.cursor = cursor;
        }
    }

    /// Forgets this connection's subscription of the log.
    fn drop_group_subscription(&mut self, read_id: &GroupReadId) {
        self.groups.logs.remove(read_id);
        self.groups.behind.remove(read_id);
        self.relay
            .group_subscriptions
            .unsubscribe(read_id, &self.subscriber);
    }

    /// Drops every group subscription from the registry (the connection is
    /// closing).
    pub(super) fn unsubscribe_groups(&mut self) {
        for read_id in self.groups.logs.keys() {
            self.relay
                .group_subscriptions
                .unsubscribe(read_id, &self.subscriber);
        }
        self.groups = GroupSubscriptions::default();
    }
}

/// GPOS for the log.
fn position(read_id: GroupReadId, log: &GroupRecord) -> Response {
    Response::GroupPos {
        read_id,
        first: log.first,
        next: log.next,
    }
}

/// A log's pending writes are tracked under its read id, as if it were a
/// queue's (ids are drawn apart, so it is no queue's).
fn log_as_pending(log: &GroupRecord) -> sotto_wire::RecipientId {
    id_as_pending(log.ids.read_id.as_bytes())
}
