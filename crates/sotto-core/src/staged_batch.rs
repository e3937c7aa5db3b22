//! A batch being assembled while the core handles an input: its writes, and
//! what the core does once they are in the store: the events that tell a
//! front end about them, the jobs they add to the outbox's schedule and the
//! jobs they remove from it.
//!
//! All of it takes effect together with the writes, in
//! [`crate::shared::Shared::commit`], or not at all: a batch refused or
//! dropped on an error path takes its events and schedule changes along.
//! An event noted for writes that never reached the store would name
//! numbers the next batch hands out again (a chat's item numbers live in its
//! record), so a front end would hear of one item twice or of the wrong one;
//! a job removed from the schedule by a batch that was not committed would
//! stay stored and never be sent.

use std::ops::{Deref, DerefMut};

use crate::event::Pending;
use crate::ids::JobId;
use crate::job::JobRecord;
use crate::outbox::JobSlot;
use crate::store::WriteBatch;

/// A write batch with the outputs staged beside it. It dereferences to its
/// [`WriteBatch`], so records write themselves into it as into any batch.
// No `Debug`: the writes hold secrets (queue keys, pickles).
#[derive(Default)]
pub(crate) struct StagedBatch {
    writes: WriteBatch,
    events: Vec<Pending>,
    scheduled: Vec<(JobId, JobSlot)>,
    unscheduled: Vec<JobId>,
}

/// What a committed batch lets out, in the order it was noted.
pub(crate) struct StagedOutputs {
    pub(crate) events: Vec<Pending>,
    pub(crate) scheduled: Vec<(JobId, JobSlot)>,
    pub(crate) unscheduled: Vec<JobId>,
}

impl StagedBatch {
    pub(crate) fn new() -> StagedBatch {
        StagedBatch::default()
    }

    /// Notes an event about these writes, let out once they are committed.
    pub(crate) fn notify(&mut self, pending: Pending) {
        self.events.push(pending);
    }

    /// Notes a job whose record is in these writes, scheduled once they are
    /// committed.
    pub(crate) fn schedule(&mut self, job: &JobRecord) {
        self.scheduled.push((job.id, JobSlot::new(job)));
    }

    /// Notes a job whose record these writes delete, dropped from the
    /// schedule once they are committed.
    pub(crate) fn unschedule(&mut self, job: JobId) {
        self.unscheduled.push(job);
    }

    /// The writes, and the outputs to let out once they are committed.
    pub(crate) fn into_parts(self) -> (WriteBatch, StagedOutputs) {
        let outputs = StagedOutputs {
            events: self.events,
            scheduled: self.scheduled,
            unscheduled: self.unscheduled,
        };
        (self.writes, outputs)
    }
}

impl Deref for StagedBatch {
    type Target = WriteBatch;

    fn deref(&self) -> &WriteBatch {
        &self.writes
    }
}

impl DerefMut for StagedBatch {
    fn deref_mut(&mut self) -> &mut WriteBatch {
        &mut self.writes
    }
}
