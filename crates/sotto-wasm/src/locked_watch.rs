//! Receiving while the profile is locked. Locking drops the core, the
//! storage key and every ratchet state; the watch keeps only a
//! [`LockedInbox`] (each queue's relay, recipient id and recipient auth
//! secret) and the public half of the profile's lock key. Each delivery is
//! sealed to that key and kept in IndexedDB's `held` store, on disk
//! (`"strict"`) before the relay is acknowledged; the UI hears a count
//! (`BridgeEvent::Held`), nothing more. On unlock, [`apply_held`] gives
//! every kept delivery to the core in arrival order and deletes them in the
//! same transaction that writes what they changed. A tab closed while
//! locked loses nothing: what was kept stays until the next unlock, and
//! what was not is still on the relay.

use std::cell::RefCell;
use std::rc::Rc;

use sotto_core::{Core, HeldDelivery, LockedInbox};
use sotto_sealed_store::held_delivery::{LockKey, LockPublicKey, META_LOCK_KEY};
use sotto_sealed_store::mirror::MirrorStore;
use sotto_sealed_store::sealed_profile;
use sotto_sealed_store::sealed_record::RecordSealer;
use sotto_wire::RelayAddress;
use wasm_bindgen::prelude::*;

use crate::bridge_event::BridgeEvent;
use crate::client::{
    Shared, Unlocked, emit, internal, link_lost, logged, now, seal_error, send_requests, start,
    storage_failed,
};
use crate::idb::{Database, Durability, HeldChange, HeldKey};
use crate::relay_link::Incoming;
use crate::rng::BrowserRng;
use crate::write_log::WriteLog;

/// What a locked profile keeps in memory to go on receiving.
pub(crate) struct Watch {
    pub(crate) inbox: LockedInbox,
    public_key: LockPublicKey,
}

/// Starts watching the queues of the profile just locked (`unlocked`, which
/// the caller then drops with its keys).
pub(crate) fn start_watch(shared: &Rc<RefCell<Shared>>, unlocked: &Unlocked) {
    let Ok(inbox) = unlocked.core.locked_inbox() else {
        return;
    };
    if !inbox.is_watching() {
        return;
    }
    {
        let mut state = shared.borrow_mut();
        state.generation += 1;
        state.watch = Some(Watch {
            inbox,
            public_key: unlocked.lock_key.public_key(),
        });
    }
    let _ = start(shared);
}

/// Sends what the watch asks for.
pub(crate) fn pump(shared: &Rc<RefCell<Shared>>) {
    let requests = {
        let mut state = shared.borrow_mut();
        let Some(watch) = state.watch.as_mut() else {
            return;
        };
        let mut requests = Vec::new();
        while let Some(request) = watch.inbox.poll_relay_request() {
            requests.push(request);
        }
        requests
    };
    if !requests.is_empty() {
        send_requests(shared, requests, false);
    }
}

/// What a link reported while locked.
pub(crate) fn handle_incoming(
    shared: &Rc<RefCell<Shared>>,
    name: &str,
    relay: &RelayAddress,
    incoming: Vec<Incoming>,
) {
    let mut to_keep = Vec::new();
    let mut ended = None;
    {
        let mut state = shared.borrow_mut();
        let state = &mut *state;
        let Some(watch) = state.watch.as_mut() else {
            return;
        };
        let inbox = &mut watch.inbox;
        for item in incoming {
            match item {
                Incoming::Connected => {
                    state.backoff.remove(name);
                    inbox.handle_relay_connected(relay);
                }
                Incoming::Answer {
                    token, response, ..
                } => inbox.handle_relay_response(relay, token, &response),
                Incoming::Delivery {
                    recipient_id,
                    message_id,
                    sealed,
                    suite,
                } => to_keep.extend(inbox.handle_delivery(
                    relay,
                    recipient_id,
                    message_id,
                    sealed,
                    suite,
                )),
                Incoming::Failed(token) => inbox.handle_relay_failure(token),
                Incoming::End(recipient_id) => inbox.handle_end(relay, &recipient_id),
                Incoming::Ended(end) => ended = Some(end),
                // Group logs are read by the unlocked profile only.
                Incoming::GroupNews(_) | Incoming::GroupEnd(_) => {}
            }
        }
    }
    for delivery in to_keep {
        keep(shared, delivery);
    }
    if let Some(end) = ended {
        link_lost(shared, name, end);
    }
}

/// Seals `delivery` to the lock key and writes it to `held`; once it is on
/// disk the watch acknowledges it and the UI hears the new count.
fn keep(shared: &Rc<RefCell<Shared>>, delivery: HeldDelivery) {
    let (sealed, database, generation) = {
        let mut state = shared.borrow_mut();
        let database = Rc::clone(&state.database);
        let generation = state.generation;
        let Some(watch) = state.watch.as_mut() else {
            return;
        };
        match watch.public_key.seal(&mut BrowserRng, &delivery) {
            Ok(sealed) => (sealed, database, generation),
            Err(_) => {
                watch.inbox.handle_hold_failed(&delivery);
                return;
            }
        }
    };
    let shared = Rc::clone(shared);
    wasm_bindgen_futures::spawn_local(async move {
        let kept = database.hold(&sealed).await;
        let current = {
            let state = shared.borrow();
            state.generation == generation && state.watch.is_some()
        };
        // Unlocked (or locked again) meanwhile: this delivery is not
        // acknowledged here; the core subscribed again, and the relay
        // delivers it to it (or it was kept in time, and the core has it).
        if !current {
            return;
        }
        match kept {
            Ok(count) => {
                if let Some(watch) = shared.borrow_mut().watch.as_mut() {
                    watch.inbox.handle_held(&delivery);
                }
                emit(&shared, &BridgeEvent::Held { count });
                pump(&shared);
            }
            Err(cause) => {
                if let Some(watch) = shared.borrow_mut().watch.as_mut() {
                    watch.inbox.handle_hold_failed(&delivery);
                }
                storage_failed(&shared, &cause);
            }
        }
    });
}

/// Kept deliveries read and applied at a time on unlock: at most this many
/// records of at most `MAX_HELD_LEN` bytes each are in memory at once.
const HELD_BATCH: u32 = 256;

/// The profile's lock key, opened with `sealer`; a new one (`fresh`, to be
/// written) when there is none yet or it no longer opens.
pub(crate) struct OpenedLockKey {
    pub(crate) key: LockKey,
    fresh: bool,
}

/// Reads the lock key from `meta`.
pub(crate) async fn lock_key(
    database: &Database,
    sealer: &RecordSealer,
) -> Result<OpenedLockKey, JsValue> {
    let sealed = database.meta(META_LOCK_KEY).await.map_err(internal)?;
    Ok(
        match sealed.and_then(|sealed| LockKey::open(sealer, &sealed).ok()) {
            Some(key) => OpenedLockKey { key, fresh: false },
            None => OpenedLockKey {
                key: LockKey::generate(&mut BrowserRng),
                fresh: true,
            },
        },
    )
}

/// Gives every kept delivery to `core`, oldest first, a batch at a time; each
/// batch writes what its deliveries changed (through the write log), a fresh
/// lock key the first time, and the deletion of those kept deliveries in one
/// transaction, on disk before the core goes on. A kept delivery that does
/// not open is deleted too: it never will.
pub(crate) async fn apply_held(
    database: &Database,
    core: &mut Core<MirrorStore>,
    sealer: &RecordSealer,
    log: &mut WriteLog,
    lock_key: &mut OpenedLockKey,
) -> Result<(), JsValue> {
    loop {
        let held = database.held(HELD_BATCH).await.map_err(internal)?;
        let last = held.len() < HELD_BATCH as usize;
        apply_batch(database, core, sealer, log, lock_key, held).await?;
        if last {
            return Ok(());
        }
    }
}

async fn apply_batch(
    database: &Database,
    core: &mut Core<MirrorStore>,
    sealer: &RecordSealer,
    log: &mut WriteLog,
    lock_key: &mut OpenedLockKey,
    held: Vec<(HeldKey, Vec<u8>)>,
) -> Result<(), JsValue> {
    if held.is_empty() && !lock_key.fresh {
        return Ok(());
    }
    let mut keys = Vec::with_capacity(held.len());
    for (key, record) in held {
        keys.push(key);
        if let Ok(delivery) = lock_key.key.open_held(&record) {
            // As from a relay: an error leaves the core usable (see
            // `Core::handle_delivery`).
            let _ = core.handle_delivery(
                now(),
                &mut BrowserRng,
                &delivery.relay,
                delivery.recipient_id,
                delivery.message_id,
                &delivery.sealed,
                delivery.suite,
            );
        }
    }
    let mark = core.write_mark();
    let writes =
        sealed_profile::seal_changes(&mut BrowserRng, sealer, core.store()).map_err(seal_error)?;
    let (writes, log_change) = logged(log, writes);
    let sealed_key = if lock_key.fresh {
        Some(
            lock_key
                .key
                .seal(&mut BrowserRng, sealer)
                .map_err(seal_error)?,
        )
    } else {
        None
    };
    let meta: Vec<(&str, &[u8])> = sealed_key
        .as_deref()
        .map(|sealed| (META_LOCK_KEY, sealed))
        .into_iter()
        .collect();
    database
        .write(
            &meta,
            writes,
            false,
            log_change,
            HeldChange::Delete(keys),
            Durability::Flushed,
        )
        .await
        .map_err(internal)?;
    lock_key.fresh = false;
    core.handle_synced(mark);
    Ok(())
}
