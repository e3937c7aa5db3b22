//! Requests on the file transfers' own relay links, a [`LinkPool`] of
//! their own (see `link_pool`): their links report nothing but answers.

use std::cell::RefCell;
use std::rc::Rc;

use sotto_wire::{Command, QueueAuthSecret, RelayAddress, Response};

use crate::client::Shared;
use crate::link_pool::{self, PoolOwner, Reply};
use crate::relay_link::MAX_FILE_QUEUED_BYTES;

pub(super) use crate::link_pool::Fault;

/// The file transfers' pool.
static FILES: PoolOwner = PoolOwner {
    pool: |shared| &mut shared.files.links,
    max_queued_bytes: MAX_FILE_QUEUED_BYTES,
    open: |_| true,
    reported: |_, _, _| {},
};

/// Submits `command` on the file link to `relay` (opened if need be) and
/// writes it out; the answer, as the relay gave it, comes with the
/// returned [`Reply`].
pub(super) fn submit(
    shared: &Rc<RefCell<Shared>>,
    relay: &RelayAddress,
    command: Command,
    auth: Option<QueueAuthSecret>,
) -> Reply {
    link_pool::submit(shared, &FILES, relay, command, auth)
}

/// Submits and waits for the answer; a refusal comes as
/// [`Fault::Refused`].
pub(super) async fn request(
    shared: &Rc<RefCell<Shared>>,
    relay: &RelayAddress,
    command: Command,
    auth: Option<QueueAuthSecret>,
) -> Result<Response, Fault> {
    link_pool::request(shared, &FILES, relay, command, auth).await
}
