//! What each [`WriteOp`] does, as records: the same answers as every backend
//! gives, decided against the index, each record applied to the index as soon
//! as it is encoded so that later ops of the batch see it.

use sotto_wire::{
    DownloadId, LinkBlob, LinkId, MAX_MESSAGE_BODY, MessageId, RecipientId, SenderId, UploadId,
};

use super::index::{Index, Location, day_of};
use super::record::{MessageRecord, QueueState, Record};
use crate::Error;
use crate::store::{
    AuthKey, ChunkRecord, FLAG_QUOTA_REACHED, Policy, QueueRecord, QueueStatus, StoredMessage,
    WriteOp, WriteOutcome,
};

/// Where the records of a batch go.
pub(super) trait RecordSink {
    /// Appends `record` to the log; where it sits.
    fn append(&mut self, record: &Record<'_>) -> Result<Location, Error>;
}

/// The limits a batch is decided under.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    /// Per-queue quota and message TTL.
    pub(super) policy: Policy,
    /// Bytes of log beyond which new queues and messages are refused.
    pub(super) max_bytes: Option<u64>,
}

/// Applies one op: its records go to `sink` and into `index`.
pub(super) fn apply(
    op: &WriteOp,
    index: &mut Index,
    limits: &Limits,
    now: u64,
    sink: &mut impl RecordSink,
) -> Result<WriteOutcome, Error> {
    let mut batch = Ops {
        index,
        limits,
        now,
        sink,
    };
    let outcome = match op {
        WriteOp::CreateQueue {
            recipient_id,
            record,
        } => batch.create(recipient_id, record)?,
        WriteOp::SecureQueue {
            recipient_id,
            sender_key,
        } => batch.secure(recipient_id, sender_key)?,
        WriteOp::Send {
            sender_id,
            message,
            marker_id,
        } => batch.send(sender_id, message, marker_id)?,
        WriteOp::Ack {
            recipient_id,
            message_id,
        } => batch.ack(recipient_id, message_id)?,
        WriteOp::Suspend { recipient_id } => batch.suspend(recipient_id)?,
        WriteOp::Delete { recipient_id } => batch.delete(recipient_id)?,
        WriteOp::CreateLink {
            link_id,
            auth_key,
            blob,
        } => batch.create_link(link_id, *auth_key, blob)?,
        WriteOp::SetLink { link_id, blob } => batch.set_link(link_id, blob)?,
        WriteOp::DeleteLink { link_id } => batch.delete_link(link_id)?,
        WriteOp::CreateChunk { upload_id, record } => batch.create_chunk(upload_id, record)?,
        WriteOp::CompleteChunk { upload_id } => batch.complete_chunk(upload_id)?,
        WriteOp::DeleteChunk { upload_id } => batch.delete_chunk(upload_id)?,
        WriteOp::AckChunk { download_id } => batch.ack_chunk(download_id)?,
    };
    Ok(outcome)
}

struct Ops<'a, S> {
    index: &'a mut Index,
    limits: &'a Limits,
    now: u64,
    sink: &'a mut S,
}

impl<S: RecordSink> Ops<'_, S> {
    fn write(&mut self, record: &Record<'_>) -> Result<(), Error> {
        let at = self.sink.append(record)?;
        self.index.apply(record, at);
        Ok(())
    }

    /// Whether `record` fits under the storage budget, which the files of
    /// chunks share with the log.
    fn fits(&self, record: &Record<'_>) -> bool {
        self.fits_with(record, 0)
    }

    /// Whether `record` and `more` bytes elsewhere (a new chunk's file) fit
    /// under the storage budget.
    fn fits_with(&self, record: &Record<'_>, more: u64) -> bool {
        self.limits.max_bytes.is_none_or(|max| {
            self.index
                .total_bytes()
                .saturating_add(self.index.chunks.bytes)
                .saturating_add(record.framed_len() as u64)
                .saturating_add(more)
                <= max
        })
    }

    /// Writes the queue's state as it is now, with `change` applied.
    fn rewrite_queue(
        &mut self,
        recipient_id: &RecipientId,
        change: impl FnOnce(&mut QueueState),
    ) -> Result<bool, Error> {
        let Some(entry) = self.index.queues.get(recipient_id) else {
            return Ok(false);
        };
        let Some(mut state) = entry.state.clone() else {
            return Ok(false);
        };
        change(&mut state);
        let record = Record::Queue {
            recipient_id: *recipient_id,
            state,
            next_seq: entry.next_seq,
            last_used_day: entry.last_used_day().max(day_of(self.now)),
        };
        self.write(&record)?;
        Ok(true)
    }

    /// Records a use of the queue today if the log does not hold one yet.
    fn touch(&mut self, recipient_id: &RecipientId) -> Result<(), Error> {
        let today = day_of(self.now);
        let Some(entry) = self.index.queues.get(recipient_id) else {
            return Ok(());
        };
        entry.touch(today);
        if entry.persisted_day < today {
            self.write(&Record::Touch {
                recipient_id: *recipient_id,
                day: today,
            })?;
        }
        Ok(())
    }

    fn create(
        &mut self,
        recipient_id: &RecipientId,
        record: &QueueRecord,
    ) -> Result<WriteOutcome, Error> {
        if self.index.queues.contains_key(recipient_id)
            || self.index.senders.contains_key(&record.sender_id)
            || self.index.chunks.holds_id(recipient_id.as_bytes())
            || self.index.chunks.holds_id(record.sender_id.as_bytes())
        {
            return Ok(WriteOutcome::IdTaken);
        }
        let record = Record::Queue {
            recipient_id: *recipient_id,
            state: QueueState {
                recipient_key: record.recipient_key,
                sender_id: record.sender_id,
                sender_key: record.sender_key,
                status: record.status,
                queue_key: record.queue_key.clone(),
            },
            next_seq: record.next_seq,
            last_used_day: day_of(self.now),
        };
        if !self.fits(&record) {
            return Ok(WriteOutcome::StorageFull);
        }
        self.write(&record)?;
        Ok(WriteOutcome::Done)
    }

    fn secure(
        &mut self,
        recipient_id: &RecipientId,
        sender_key: &AuthKey,
    ) -> Result<WriteOutcome, Error> {
        let existing = match self
            .index
            .queues
            .get(recipient_id)
            .and_then(|q| q.state.as_ref())
        {
            None => return Ok(WriteOutcome::Refused),
            Some(state) => state.sender_key,
        };
        match existing {
            Some(existing) if existing == *sender_key => {
                self.touch(recipient_id)?;
                Ok(WriteOutcome::Done)
            }
            Some(_) => Ok(WriteOutcome::Refused),
            None => {
                self.rewrite_queue(recipient_id, |state| state.sender_key = Some(*sender_key))?;
                Ok(WriteOutcome::Done)
            }
        }
    }

    fn send(
        &mut self,
        sender_id: &SenderId,
        message: &StoredMessage,
        marker_id: &MessageId,
    ) -> Result<WriteOutcome, Error> {
        let Some(recipient_id) = self.index.senders.get(sender_id).copied() else {
            return Ok(WriteOutcome::Refused);
        };
        if message.body.len() > MAX_MESSAGE_BODY {
            // The wire's decoder never lets one through; written, it would be
            // taken for damage at replay, so it is refused instead.
            return Ok(WriteOutcome::Refused);
        }
        let Some(entry) = self.index.queues.get(&recipient_id) else {
            return Ok(WriteOutcome::Refused);
        };
        if entry.state.as_ref().map(|state| state.status) != Some(QueueStatus::Active) {
            return Ok(WriteOutcome::Refused);
        }
        let seq = entry.next_seq;
        if entry.pending >= self.limits.policy.queue_quota {
            let marker_added = !entry.quota_marker();
            if marker_added {
                let marker = Record::Message {
                    recipient_id,
                    message: MessageRecord {
                        seq,
                        id: *marker_id,
                        accepted_at: message.accepted_at,
                        flags: FLAG_QUOTA_REACHED,
                        body: &[],
                    },
                };
                if !self.fits(&marker) {
                    return Ok(WriteOutcome::StorageFull);
                }
                self.write(&marker)?;
            }
            return Ok(WriteOutcome::QuotaExceeded {
                recipient_id,
                marker_added,
            });
        }
        let record = Record::Message {
            recipient_id,
            message: MessageRecord {
                seq,
                id: message.id,
                accepted_at: message.accepted_at,
                flags: message.flags,
                body: &message.body,
            },
        };
        if !self.fits(&record) {
            return Ok(WriteOutcome::StorageFull);
        }
        self.write(&record)?;
        Ok(WriteOutcome::Sent(recipient_id))
    }

    fn ack(
        &mut self,
        recipient_id: &RecipientId,
        message_id: &MessageId,
    ) -> Result<WriteOutcome, Error> {
        let Some(entry) = self.index.queues.get(recipient_id) else {
            return Ok(WriteOutcome::Refused);
        };
        // Every message counts here, durable or not: an ACK in the same batch as
        // its SEND sees it, as in one transaction.
        let policy = self.limits.policy;
        let first = entry.first_message(&policy, self.now, u64::MAX);
        let Some(seq) = first.filter(|m| m.id == *message_id).map(|m| m.seq) else {
            return Ok(WriteOutcome::NoMessage);
        };
        self.write(&Record::Remove {
            recipient_id: *recipient_id,
            seq,
        })?;
        self.touch(recipient_id)?;
        Ok(WriteOutcome::Done)
    }

    fn suspend(&mut self, recipient_id: &RecipientId) -> Result<WriteOutcome, Error> {
        let suspended =
            self.rewrite_queue(recipient_id, |state| state.status = QueueStatus::Suspended)?;
        Ok(if suspended {
            WriteOutcome::Done
        } else {
            WriteOutcome::Refused
        })
    }

    fn delete(&mut self, recipient_id: &RecipientId) -> Result<WriteOutcome, Error> {
        if !self.index.queues.contains_key(recipient_id) {
            return Ok(WriteOutcome::Refused);
        }
        self.write(&Record::Delete {
            recipient_id: *recipient_id,
        })?;
        Ok(WriteOutcome::Done)
    }
}

impl<S: RecordSink> Ops<'_, S> {
    fn create_link(
        &mut self,
        link_id: &LinkId,
        auth_key: AuthKey,
        blob: &LinkBlob,
    ) -> Result<WriteOutcome, Error> {
        // A link id is also different from every queue id the relay holds.
        let as_queue = RecipientId::from_bytes(*link_id.as_bytes());
        if self.index.links.contains_key(link_id)
            || self.index.chunks.holds_id(link_id.as_bytes())
            || self.index.queues.contains_key(&as_queue)
            || self
                .index
                .senders
                .contains_key(&SenderId::from_bytes(*link_id.as_bytes()))
        {
            return Ok(WriteOutcome::IdTaken);
        }
        self.write_link(link_id, auth_key, blob)
    }

    fn set_link(&mut self, link_id: &LinkId, blob: &LinkBlob) -> Result<WriteOutcome, Error> {
        let policy = self.limits.policy;
        let Some(entry) = self.index.link(link_id, &policy, self.now) else {
            return Ok(WriteOutcome::Refused);
        };
        let auth_key = entry.auth_key;
        self.write_link(link_id, auth_key, blob)
    }

    fn write_link(
        &mut self,
        link_id: &LinkId,
        auth_key: AuthKey,
        blob: &LinkBlob,
    ) -> Result<WriteOutcome, Error> {
        let record = Record::Link {
            link_id: *link_id,
            auth_key,
            stored_at: self.now,
            blob: blob.as_bytes(),
        };
        if !self.fits(&record) {
            return Ok(WriteOutcome::StorageFull);
        }
        self.write(&record)?;
        Ok(WriteOutcome::Done)
    }

    fn delete_link(&mut self, link_id: &LinkId) -> Result<WriteOutcome, Error> {
        let policy = self.limits.policy;
        if self.index.link(link_id, &policy, self.now).is_none() {
            return Ok(WriteOutcome::Refused);
        }
        self.write(&Record::LinkDelete { link_id: *link_id })?;
        Ok(WriteOutcome::Done)
    }
}

impl<S: RecordSink> Ops<'_, S> {
    /// Whether a new chunk's id is used by anything the relay holds.
    fn id_in_use(&self, id: &[u8; 24]) -> bool {
        self.index
            .queues
            .contains_key(&RecipientId::from_bytes(*id))
            || self.index.senders.contains_key(&SenderId::from_bytes(*id))
            || self.index.links.contains_key(&LinkId::from_bytes(*id))
            || self.index.chunks.holds_id(id)
    }

    fn create_chunk(
        &mut self,
        upload_id: &UploadId,
        chunk: &ChunkRecord,
    ) -> Result<WriteOutcome, Error> {
        if chunk.repeats_an_id(upload_id)
            || chunk.ids(upload_id).iter().any(|id| self.id_in_use(id))
        {
            return Ok(WriteOutcome::IdTaken);
        }
        let record = Record::Chunk {
            upload_id: *upload_id,
            chunk: Box::new(chunk.clone()),
        };
        if !self.fits_with(&record, u64::from(chunk.size.bytes())) {
            return Ok(WriteOutcome::StorageFull);
        }
        self.write(&record)?;
        Ok(WriteOutcome::Done)
    }

    fn complete_chunk(&mut self, upload_id: &UploadId) -> Result<WriteOutcome, Error> {
        let policy = self.limits.policy;
        let Some(entry) = self.index.chunks.get(upload_id, &policy, self.now) else {
            return Ok(WriteOutcome::Refused);
        };
        if entry.chunk.complete {
            return Ok(WriteOutcome::Done);
        }
        let mut chunk = entry.chunk.clone();
        chunk.complete = true;
        chunk.since = self.now;
        self.write(&Record::Chunk {
            upload_id: *upload_id,
            chunk: Box::new(chunk),
        })?;
        Ok(WriteOutcome::Done)
    }

    fn delete_chunk(&mut self, upload_id: &UploadId) -> Result<WriteOutcome, Error> {
        let policy = self.limits.policy;
        let Some(entry) = self.index.chunks.get(upload_id, &policy, self.now) else {
            return Ok(WriteOutcome::Refused);
        };
        let file = entry.chunk.file;
        self.write(&Record::ChunkDelete {
            upload_id: *upload_id,
        })?;
        Ok(WriteOutcome::ChunkRemoved(file))
    }

    fn ack_chunk(&mut self, download_id: &DownloadId) -> Result<WriteOutcome, Error> {
        let policy = self.limits.policy;
        let Some((upload_id, entry)) =
            self.index
                .chunks
                .by_download(download_id, &policy, self.now)
        else {
            return Ok(WriteOutcome::Refused);
        };
        let mut chunk = entry.chunk.clone();
        chunk.downloads.retain(|(id, _)| id != download_id);
        if chunk.downloads.is_empty() && chunk.complete {
            // Nobody is left to download it.
            self.write(&Record::ChunkDelete { upload_id })?;
            return Ok(WriteOutcome::ChunkRemoved(chunk.file));
        }
        self.write(&Record::Chunk {
            upload_id,
            chunk: Box::new(chunk),
        })?;
        Ok(WriteOutcome::Done)
    }
}
