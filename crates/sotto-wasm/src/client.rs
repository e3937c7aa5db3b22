//! `SottoClient`, the class the web UI calls: one profile in IndexedDB, its
//! [`Core`] when unlocked, and the relay links the core needs. The calls on
//! chats live in `crate::chat_calls`, those on the profile as a whole
//! (passphrase, archive, settings) in `crate::profile_calls`.
//!
//! After every call into the core, [`pump`] takes the core's store changes
//! with their write mark, seals them, and once IndexedDB has committed them
//! (flushed, durability `"strict"`, as the native store's fsync) reports the
//! mark to the core ([`Core::handle_synced`]), which then lets out the relay
//! requests and events that waited for those writes: what the relay is told
//! never runs ahead of what is on disk. One write is in flight at a time:
//! what the core does meanwhile goes into the next write, as one group, once
//! the first has committed (the native runtime's group commit). Events go to
//! the UI's listener complete: each carries the views it needs, as JSON text
//! (see [`json`]).
//!
//! What the relay links report is queued and handled in one go a task later
//! ([`drain_signals`]): every WebSocket block that has arrived by then goes
//! to the core before a single pump, so that a burst of deliveries (a profile
//! catching up) costs one write and one batch of events, not one per block.
//!
//! A write IndexedDB refuses is reported to the listener (`storage_failed`)
//! and loses nothing: the requests that waited on it are handed back to the
//! core as failed ([`Core::handle_sync_failed`]: it retries them later), and
//! the next write is a snapshot
//! of every record instead of the changes, which also repairs what the failed
//! write left out.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use js_sys::Promise;
use rand_core::RngCore;
use serde::Serialize;
use sotto_core::{
    Core, CoreError, Event, KeyDerivation, Passphrase, Profile, RelayRequest, UnixMillis, WriteMark,
};
use sotto_sealed_store::held_delivery::LockKey;
use sotto_sealed_store::mirror::MirrorStore;
use sotto_sealed_store::sealed_profile::{
    self, LoadedProfile, META_CHECK, META_KDF, META_MOVED, META_PREFS, ProfileError, SealedWrite,
    Snapshot,
};
use sotto_sealed_store::sealed_record::{RecordFormat, RecordSealer, SealError};
use sotto_wire::{ConnectionEnd, ReconnectBackoff, RelayAddress};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use zeroize::Zeroizing;

use crate::bridge_event::{BridgeEvent, LinkState};
use crate::idb::{Database, Durability, HeldChange, LogChange};
use crate::key_deriver::KeyDeriver;
use crate::locked_watch::Watch;
use crate::relay_link::{Incoming, RelayLink, Signal};
use crate::rng::BrowserRng;
use crate::write_log::{self, WriteLog};

/// The profile in this browser. See the module documentation.
#[wasm_bindgen]
pub struct SottoClient {
    pub(crate) shared: Rc<RefCell<Shared>>,
}

pub(crate) struct Shared {
    pub(crate) database: Rc<Database>,
    /// Runs Argon2id in a worker (see `crate::key_deriver`).
    pub(crate) deriver: Rc<KeyDeriver>,
    pub(crate) home_relay: RelayAddress,
    pub(crate) has_profile: bool,
    /// The profile was exported: it opens only to be exported again.
    pub(crate) moved: bool,
    pub(crate) unlocked: Option<Unlocked>,
    /// While locked after an unlock here: receiving goes on, unopened
    /// (`crate::locked_watch`).
    pub(crate) watch: Option<Watch>,
    /// An unlock is reading and applying the profile: another waits for it.
    unlocking: bool,
    listener: Option<js_sys::Function>,
    pub(crate) links: HashMap<String, RelayLink>,
    /// The file transfers, on links of their own (`crate::file_runner`).
    pub(crate) files: crate::file_runner::Files,
    /// Relays that failed lately, by address: when to try again.
    pub(crate) backoff: HashMap<String, Backoff>,
    timer: Option<CoreTimer>,
    /// A write failed: the next one rewrites every record.
    pub(crate) resync: bool,
    /// What the links reported and the core has not been told yet, by link
    /// name, in arrival order; handled by the next [`drain_signals`].
    inbox: Vec<(String, Signal)>,
    /// Bytes of frames in `inbox`.
    inbox_bytes: usize,
    /// A [`drain_signals`] is scheduled.
    draining: bool,
    /// An IndexedDB write of [`pump`]'s is in flight; the next one waits for it.
    writing: bool,
    /// The core changed while `writing`: write again once that write is in.
    write_wanted: bool,
    /// Counts the profiles made the one in use ([`adopt`]) and the watches
    /// started, so that a write that finishes after a lock does not hand its
    /// requests to another core (or a kept delivery its ACK to another watch).
    pub(crate) generation: u64,
    /// What IndexedDB's write log holds, as of the last write made (whether
    /// committed yet or not: a write that fails makes the next one a
    /// snapshot, which empties the log).
    pub(crate) log: WriteLog,
    /// The core's writes IndexedDB has committed, up to this mark (of the
    /// core of this `generation`).
    durable: WriteMark,
    /// Tasks waiting for a mark to be durable ([`durable`]).
    durable_waiters: Vec<std::task::Waker>,
    /// The group logs, on links of their own (`crate::group_runner`).
    pub(crate) groups: crate::group_runner::Groups,
}

/// Bytes of frames the inbox holds before it is handled without waiting for
/// the next task: the wait groups blocks that arrive together, the bound
/// keeps a flood from piling up in memory.
const MAX_INBOX_BYTES: usize = 1 << 20;

/// The armed timer of the core.
struct CoreTimer {
    id: i32,
    _handler: Closure<dyn FnMut()>,
    /// When it was armed for; `u64::MAX` once it has fired.
    at: UnixMillis,
}

/// Failures in a row to reach one relay.
#[derive(Default)]
pub(crate) struct Backoff {
    failures: ReconnectBackoff,
    /// `Date.now()` before which no new connection is opened.
    retry_at: f64,
}

pub(crate) struct Unlocked {
    pub(crate) core: Core<MirrorStore>,
    pub(crate) sealer: RecordSealer,
    pub(crate) derivation: KeyDerivation,
    /// The UI's preferences (its own JSON), sealed in `meta`.
    pub(crate) prefs: Zeroizing<Vec<u8>>,
    /// Opens what is kept while locked; sealed in `meta`.
    pub(crate) lock_key: LockKey,
}

/// Seals every record of `store`, the passphrase check, `prefs` and the
/// lock key.
pub(crate) fn seal_snapshot(
    store: &MirrorStore,
    sealer: &RecordSealer,
    derivation: &KeyDerivation,
    prefs: &[u8],
    lock_key: &LockKey,
) -> Result<Snapshot, JsValue> {
    Snapshot::seal(
        &mut BrowserRng,
        store,
        sealer,
        derivation,
        prefs,
        Some(lock_key),
    )
    .map_err(profile_error)
}

pub(crate) fn seal_prefs(sealer: &RecordSealer, prefs: &[u8]) -> Result<Vec<u8>, JsValue> {
    sealed_profile::seal_prefs(&mut BrowserRng, sealer, prefs).map_err(seal_error)
}

/// The stored derivation and the sealer of the key it gives for
/// `passphrase`; rejects with `wrong-passphrase` unless it opens the
/// passphrase check. Also returns the check's format.
pub(crate) async fn open_key(
    shared: &Rc<RefCell<Shared>>,
    passphrase: &str,
) -> Result<(KeyDerivation, RecordSealer, RecordFormat), JsValue> {
    let (database, deriver) = {
        let state = shared.borrow();
        (Rc::clone(&state.database), Rc::clone(&state.deriver))
    };
    let kdf = database
        .meta(META_KDF)
        .await
        .map_err(internal)?
        .ok_or_else(|| error("no-profile", "there is no profile in this browser"))?;
    let derivation = sealed_profile::stored_derivation(&kdf).map_err(profile_error)?;
    let key = deriver.derive(&derivation, passphrase).await?;
    let sealer = RecordSealer::new(&key);
    let check = database.meta(META_CHECK).await.map_err(internal)?;
    let format =
        sealed_profile::check_passphrase(&sealer, check.as_deref()).map_err(profile_error)?;
    Ok((derivation, sealer, format))
}

/// A new key derivation (fresh salt, default parameters) for `passphrase`,
/// and its sealer.
pub(crate) async fn new_key(
    shared: &Rc<RefCell<Shared>>,
    passphrase: &str,
) -> Result<(KeyDerivation, RecordSealer), JsValue> {
    let derivation = new_derivation();
    let deriver = Rc::clone(&shared.borrow().deriver);
    let key = deriver.derive(&derivation, passphrase).await?;
    Ok((derivation, RecordSealer::new(&key)))
}

/// Rejects an empty passphrase for new data with `empty-passphrase` (an
/// archive made under an empty one by an earlier version still imports).
pub(crate) fn check_chosen(passphrase: &str) -> Result<(), JsValue> {
    Passphrase::new(passphrase.as_bytes())
        .check_chosen()
        .map_err(|e| error("empty-passphrase", &e.to_string()))
}

/// The default parameters with a fresh salt.
pub(crate) fn new_derivation() -> KeyDerivation {
    let mut salt = [0u8; sotto_core::PASSPHRASE_SALT_LEN];
    BrowserRng.fill_bytes(&mut salt);
    KeyDerivation::new(salt)
}

/// Opens every stored record (the log applied) and the preferences with
/// `sealer`; also returns what the log holds.
pub(crate) async fn load_records(
    database: &Database,
    sealer: &RecordSealer,
    derivation: &KeyDerivation,
    check_format: RecordFormat,
) -> Result<(LoadedProfile, WriteLog), JsValue> {
    let (records, log) = database.records().await.map_err(internal)?;
    let prefs = database.meta(META_PREFS).await.map_err(internal)?;
    let loaded = sealed_profile::load(sealer, derivation, check_format, records, prefs.as_deref())
        .map_err(profile_error)?;
    Ok((loaded, log))
}

/// Writes an outdated profile (unlocked with `passphrase` from `stored`)
/// again in today's format: under a key with today's parameters when
/// `weak_key_derivation` (one more Argon2id run, once), else under the same
/// key on the next write. When anything fails the profile stays as it was,
/// readable, and the next unlock tries again.
async fn upgrade(
    shared: &Rc<RefCell<Shared>>,
    passphrase: &str,
    stored: KeyDerivation,
    weak_key_derivation: bool,
) {
    if weak_key_derivation && rekey_with(shared, passphrase, &stored).await.is_ok() {
        return;
    }
    let mut state = shared.borrow_mut();
    if state.unlocked.is_some() {
        state.resync = true;
    }
    drop(state);
    pump(shared);
}

/// A new key for `passphrase` with today's parameters, in place of the one
/// from `stored`.
async fn rekey_with(
    shared: &Rc<RefCell<Shared>>,
    passphrase: &str,
    stored: &KeyDerivation,
) -> Result<(), JsValue> {
    let (derivation, sealer) = new_key(shared, passphrase).await?;
    rekey(shared, Some(stored), derivation, sealer).await
}

/// Seals everything under `sealer` (from `derivation`) in one transaction
/// that replaces the old records, and keeps using it. With `expected`, only
/// if the profile in use is still under that derivation. Back to the old key
/// if IndexedDB refuses the write.
pub(crate) async fn rekey(
    shared: &Rc<RefCell<Shared>>,
    expected: Option<&KeyDerivation>,
    derivation: KeyDerivation,
    sealer: RecordSealer,
) -> Result<(), JsValue> {
    let database = Rc::clone(&shared.borrow().database);
    // From here on every write (this snapshot and the changes after it, in
    // IndexedDB's transaction order) is sealed with the new key.
    let (snapshot, old) = {
        let mut state = shared.borrow_mut();
        let Some(unlocked) = state.unlocked.as_mut() else {
            return Err(error("locked", "the profile is locked"));
        };
        if expected.is_some_and(|expected| *expected != unlocked.derivation) {
            return Err(error("locked", "the profile was locked meanwhile"));
        }
        let snapshot = seal_snapshot(
            unlocked.core.store(),
            &sealer,
            &derivation,
            &unlocked.prefs,
            &unlocked.lock_key,
        )?;
        let old = (
            std::mem::replace(&mut unlocked.sealer, sealer),
            std::mem::replace(&mut unlocked.derivation, derivation),
        );
        state.resync = false;
        // The snapshot empties the log: a fold must not write what the log
        // held, sealed under the old key, after it.
        state.log.cleared();
        (snapshot, old)
    };
    if let Err(cause) = database.write_snapshot(snapshot, HeldChange::Keep).await {
        // Back to the old key, which the database still holds; the next
        // write rewrites everything under it.
        if let Some(unlocked) = shared.borrow_mut().unlocked.as_mut() {
            unlocked.sealer = old.0;
            unlocked.derivation = old.1;
        }
        storage_failed(shared, &cause);
        return Err(error(
            "internal",
            "the browser's storage refused the change; the passphrase is unchanged",
        ));
    }
    Ok(())
}

#[wasm_bindgen]
impl SottoClient {
    /// Opens this browser's database; `home_relay` (a `sotto://` address, or
    /// `sotto+ws://` on loopback only; else rejects with `insecure-relay`) is
    /// where new queues are made; `derive(derivation,
    /// passphrase)` runs [`crate::key_deriver::derive_storage_key`] off the
    /// page's thread and resolves with the key's bytes.
    pub async fn open(
        home_relay: String,
        derive: js_sys::Function,
    ) -> Result<SottoClient, JsValue> {
        let home_relay: RelayAddress = home_relay
            .parse()
            .map_err(|_| error("invalid-invitation", "the relay address is not valid"))?;
        crate::relay_link::ensure_transport(&home_relay)?;
        let database = Database::open().await.map_err(internal)?;
        let has_profile = database.meta(META_KDF).await.map_err(internal)?.is_some();
        let moved = database.meta(META_MOVED).await.map_err(internal)?.is_some();
        Ok(SottoClient {
            shared: Rc::new(RefCell::new(Shared {
                database: Rc::new(database),
                deriver: Rc::new(KeyDeriver::new(derive)),
                home_relay,
                has_profile,
                moved,
                unlocked: None,
                watch: None,
                unlocking: false,
                listener: None,
                links: HashMap::new(),
                files: Default::default(),
                backoff: HashMap::new(),
                timer: None,
                resync: false,
                inbox: Vec::new(),
                inbox_bytes: 0,
                draining: false,
                writing: false,
                write_wanted: false,
                generation: 0,
                log: WriteLog::default(),
                durable: WriteMark::default(),
                durable_waiters: Vec::new(),
                groups: Default::default(),
            })),
        })
    }

    /// `"none"`, `"locked"`, `"unlocked"` or `"moved"` (exported to another
    /// device: it may only be exported again or replaced).
    #[wasm_bindgen(js_name = profileState)]
    pub fn profile_state(&self) -> String {
        let shared = self.shared.borrow();
        match (shared.has_profile, shared.moved, shared.unlocked.is_some()) {
            (_, _, true) => "unlocked",
            (true, true, false) => "moved",
            (true, false, false) => "locked",
            (false, _, false) => "none",
        }
        .to_owned()
    }

    /// Where events go: `listener(event)`, `event` the JSON text of a core
    /// [`Event`] or a [`BridgeEvent`].
    #[wasm_bindgen(js_name = setListener)]
    pub fn set_listener(&self, listener: Option<js_sys::Function>) {
        self.shared.borrow_mut().listener = listener;
    }

    /// Creates the profile and unlocks it (replacing a moved one).
    #[wasm_bindgen(js_name = createProfile)]
    pub fn create_profile(&self, display_name: String, passphrase: String) -> Promise {
        let shared = Rc::clone(&self.shared);
        let passphrase = Zeroizing::new(passphrase);
        future_to_promise(async move {
            ensure_replaceable(&shared)?;
            check_chosen(&passphrase)?;
            let profile = Profile::new(&display_name, None).map_err(core_error)?;
            let (derivation, sealer) = new_key(&shared, &passphrase).await?;
            ensure_replaceable(&shared)?;
            let core =
                Core::create(MirrorStore::new(), &mut BrowserRng, profile).map_err(core_error)?;
            adopt_new(&shared, core, derivation, sealer).await
        })
    }

    /// Derives the key, opens every record and starts the relay links;
    /// rejects with `wrong-passphrase`.
    pub fn unlock(&self, passphrase: String) -> Promise {
        let shared = Rc::clone(&self.shared);
        let passphrase = Zeroizing::new(passphrase);
        future_to_promise(async move {
            if shared.borrow().unlocked.is_some() {
                return Ok(JsValue::UNDEFINED);
            }
            let database = Rc::clone(&shared.borrow().database);
            let (derivation, sealer, format) = open_key(&shared, &passphrase).await?;
            if shared.borrow().moved {
                return Err(error(
                    "moved",
                    "this profile was exported and moved to another device",
                ));
            }
            if shared.borrow().unlocked.is_some() || shared.borrow().unlocking {
                // Another unlock finished, or goes on, while this one derived
                // its key: two would write the same records.
                return Ok(JsValue::UNDEFINED);
            }
            let _unlocking = Unlocking::start(&shared);
            // The core takes over from the watch: what it kept is read after
            // it stopped, and the core subscribes again.
            stop(&shared);
            let (loaded, mut log) = load_records(&database, &sealer, &derivation, format).await?;
            let mut lock_key = crate::locked_watch::lock_key(&database, &sealer).await?;
            let (outdated, weak) = (loaded.outdated(), loaded.weak_key_derivation);
            let mut core = Core::open(loaded.store).map_err(core_error)?;
            crate::locked_watch::apply_held(&database, &mut core, &sealer, &mut log, &mut lock_key)
                .await?;
            adopt(
                &shared,
                Unlocked {
                    core,
                    sealer,
                    derivation,
                    prefs: loaded.prefs,
                    lock_key: lock_key.key,
                },
                log,
            )?;
            if outdated {
                upgrade(&shared, &passphrase, derivation, weak).await;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Drops the core and its keys, and closes every relay link; then, with
    /// only what subscribing and acknowledging need, goes on receiving:
    /// each delivery is kept sealed to the lock key (`crate::locked_watch`)
    /// and applied on the next unlock.
    pub fn lock(&self) {
        write_before_lock(&self.shared);
        if let Some(unlocked) = stop(&self.shared) {
            crate::locked_watch::start_watch(&self.shared, &unlocked);
        }
    }

    /// How many deliveries are kept for the next unlock (they may come from
    /// a tab closed while locked).
    #[wasm_bindgen(js_name = heldCount)]
    pub fn held_count(&self) -> Promise {
        let database = Rc::clone(&self.shared.borrow().database);
        future_to_promise(async move {
            let count = database.held_count().await.map_err(internal)?;
            Ok(JsValue::from(count))
        })
    }
}

impl SottoClient {
    pub(crate) fn with_core<T>(
        &self,
        call: impl FnOnce(&mut Core<MirrorStore>) -> Result<T, JsValue>,
    ) -> Result<T, JsValue> {
        let mut shared = self.shared.borrow_mut();
        let unlocked = shared
            .unlocked
            .as_mut()
            .ok_or_else(|| error("locked", "the profile is locked"))?;
        call(&mut unlocked.core)
    }

    /// Calls the core, then writes and sends what the call produced.
    pub(crate) fn change<T>(
        &self,
        call: impl FnOnce(&mut Core<MirrorStore>) -> Result<T, JsValue>,
    ) -> Result<T, JsValue> {
        let result = self.with_core(call);
        pump(&self.shared);
        result
    }
}

/// Marks an unlock in progress (past the passphrase check) until dropped.
struct Unlocking(Rc<RefCell<Shared>>);

impl Unlocking {
    fn start(shared: &Rc<RefCell<Shared>>) -> Unlocking {
        shared.borrow_mut().unlocking = true;
        Unlocking(Rc::clone(shared))
    }
}

impl Drop for Unlocking {
    fn drop(&mut self) {
        self.0.borrow_mut().unlocking = false;
    }
}

/// Refuses to replace a live profile; a moved one (or none) may be replaced.
pub(crate) fn ensure_replaceable(shared: &Rc<RefCell<Shared>>) -> Result<(), JsValue> {
    let state = shared.borrow();
    if state.unlocked.is_some() || (state.has_profile && !state.moved) {
        return Err(error("profile-exists", "a profile exists in this browser"));
    }
    Ok(())
}

/// Makes `unlocked` the profile in use (its records are on disk) and starts it.
///
/// The profile's home relay lives in its account: a profile that has none
/// yet (made before it was kept there, or just now) takes the page's.
pub(crate) fn adopt(
    shared: &Rc<RefCell<Shared>>,
    mut unlocked: Unlocked,
    log: WriteLog,
) -> Result<JsValue, JsValue> {
    {
        let mut state = shared.borrow_mut();
        match unlocked.core.home_relays().first() {
            Some(relay) => state.home_relay = relay.clone(),
            None => unlocked
                .core
                .set_home_relays(vec![state.home_relay.clone()])
                .map_err(core_error)?,
        }
        state.has_profile = true;
        state.moved = false;
        state.resync = false;
        state.generation += 1;
        state.log = log;
        state.unlocked = Some(unlocked);
        state.durable = WriteMark::default();
    }
    start(shared)?;
    // Transfers stopped by a reload or a lock resume.
    crate::file_runner::refresh(shared);
    // Every group's log is read from the member's cursor and subscribed.
    crate::group_runner::refresh(shared);
    Ok(JsValue::UNDEFINED)
}

/// Writes a new profile's records (under a fresh key, no preferences yet) in
/// place of everything the database held, then adopts it.
pub(crate) async fn adopt_new(
    shared: &Rc<RefCell<Shared>>,
    core: Core<MirrorStore>,
    derivation: KeyDerivation,
    sealer: RecordSealer,
) -> Result<JsValue, JsValue> {
    // The profile this one replaces may be watched while locked: that stops
    // (with its links) before what it kept is cleared.
    stop(shared);
    let lock_key = LockKey::generate(&mut BrowserRng);
    let snapshot = seal_snapshot(core.store(), &sealer, &derivation, &[], &lock_key)?;
    let database = Rc::clone(&shared.borrow().database);
    // What was kept for the profile this one replaces opens no more.
    database
        .write_snapshot(snapshot, HeldChange::Clear)
        .await
        .map_err(internal)?;
    adopt(
        shared,
        Unlocked {
            core,
            sealer,
            derivation,
            prefs: Zeroizing::new(Vec::new()),
            lock_key,
        },
        // The snapshot just written emptied the log.
        WriteLog::default(),
    )
}

/// Drops the core, its keys and timer (or the watch of a locked profile),
/// and closes every relay link; returns what was unlocked.
pub(crate) fn stop(shared: &Rc<RefCell<Shared>>) -> Option<Unlocked> {
    let mut state = shared.borrow_mut();
    let unlocked = state.unlocked.take();
    state.watch = None;
    if let (Some(timer), Some(window)) = (state.timer.take(), web_sys::window()) {
        window.clear_timeout_with_handle(timer.id);
    }
    for (_, link) in state.links.drain() {
        link.close();
    }
    state.files.stop();
    state.groups.stop();
    for waiter in state.durable_waiters.drain(..) {
        waiter.wake();
    }
    state.backoff.clear();
    state.inbox.clear();
    state.inbox_bytes = 0;
    unlocked
}

/// Connects the relays that hold this profile's queues (and the home
/// relay), then pumps. A relay this profile only sends to is connected when a
/// request goes there (see [`sotto_core::Core::subscribed_relays`]).
pub(crate) fn start(shared: &Rc<RefCell<Shared>>) -> Result<(), JsValue> {
    let relays = {
        let state = shared.borrow();
        let Some(unlocked) = &state.unlocked else {
            // Locked: the relays of the queues still watched, if any.
            let relays = state
                .watch
                .as_ref()
                .map(|watch| watch.inbox.relays())
                .unwrap_or_default();
            drop(state);
            for relay in relays {
                ensure_link(shared, &relay);
            }
            pump(shared);
            return Ok(());
        };
        let mut relays = unlocked.core.subscribed_relays().map_err(core_error)?;
        if !relays.contains(&state.home_relay) {
            relays.push(state.home_relay.clone());
        }
        relays
    };
    for relay in relays {
        ensure_link(shared, &relay);
    }
    pump(shared);
    Ok(())
}

/// The link to `relay`, opened if there is none and the relay is not in its
/// backoff; whether there is one now.
pub(crate) fn ensure_link(shared: &Rc<RefCell<Shared>>, relay: &RelayAddress) -> bool {
    let key = relay.to_string();
    {
        let state = shared.borrow();
        if state.links.contains_key(&key) {
            return true;
        }
        if state
            .backoff
            .get(&key)
            .is_some_and(|backoff| js_sys::Date::now() < backoff.retry_at)
        {
            return false;
        }
    }
    let weak = Rc::downgrade(shared);
    let name = key.clone();
    // Signals are handled after the socket's handler returns, never inside it:
    // handling may drop the link and with it the handler.
    let notify: Rc<dyn Fn(Signal)> = Rc::new(move |signal| {
        let weak = Weak::clone(&weak);
        let name = name.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(shared) = weak.upgrade() {
                queue_signal(&shared, name, signal);
            }
        });
    });
    match RelayLink::connect(relay.clone(), notify) {
        Ok(link) => {
            shared.borrow_mut().links.insert(key, link);
            true
        }
        Err(_) => {
            back_off(shared, &key);
            false
        }
    }
}

/// Queues what a link reported for the next [`drain_signals`], which runs a
/// task later, once the blocks that arrived with this one are queued too; at
/// once when the queue holds [`MAX_INBOX_BYTES`].
fn queue_signal(shared: &Rc<RefCell<Shared>>, name: String, signal: Signal) {
    let (schedule, full) = {
        let mut state = shared.borrow_mut();
        if let Signal::Frame(bytes) = &signal {
            state.inbox_bytes += bytes.len();
        }
        state.inbox.push((name, signal));
        let schedule = !state.draining;
        state.draining = true;
        (schedule, state.inbox_bytes >= MAX_INBOX_BYTES)
    };
    if full {
        drain_signals(shared);
        return;
    }
    if !schedule {
        return;
    }
    let weak = Rc::downgrade(shared);
    let drain = Closure::once_into_js(move || {
        if let Some(shared) = weak.upgrade() {
            drain_signals(&shared);
        }
    });
    let scheduled = web_sys::window().is_some_and(|window| {
        window
            .set_timeout_with_callback_and_timeout_and_arguments_0(drain.unchecked_ref(), 0)
            .is_ok()
    });
    if !scheduled {
        drain_signals(shared);
    }
}

/// Tells the core everything the links reported since the last drain, then
/// pumps once.
fn drain_signals(shared: &Rc<RefCell<Shared>>) {
    let signals = {
        let mut state = shared.borrow_mut();
        state.draining = false;
        state.inbox_bytes = 0;
        std::mem::take(&mut state.inbox)
    };
    if signals.is_empty() {
        return;
    }
    for (name, signal) in signals {
        let handled = {
            let mut state = shared.borrow_mut();
            state
                .links
                .get_mut(&name)
                .map(|link| (link.address.clone(), link.handle(signal)))
        };
        if let Some((relay, incoming)) = handled {
            handle_incoming(shared, &name, &relay, incoming);
        }
    }
    pump(shared);
}

/// Tells the core what a link reported; drops the link if it ended.
fn handle_incoming(
    shared: &Rc<RefCell<Shared>>,
    name: &str,
    relay: &RelayAddress,
    incoming: Vec<Incoming>,
) {
    if shared.borrow().unlocked.is_none() {
        crate::locked_watch::handle_incoming(shared, name, relay, incoming);
        return;
    }
    let mut connected = false;
    let mut ended = None;
    {
        let mut state = shared.borrow_mut();
        let mut unlocked = state.unlocked.as_mut();
        for item in incoming {
            if let Incoming::Ended(end) = item {
                ended = Some(end);
                continue;
            }
            if let Incoming::Connected = item {
                connected = true;
            }
            // The core learns of a lost subscription when it next subscribes.
            if let Incoming::End(_) = item {
                continue;
            }
            let Some(unlocked) = unlocked.as_deref_mut() else {
                continue;
            };
            let core = &mut unlocked.core;
            // An error leaves the core usable (see `Core::handle_delivery`): the
            // relay delivers again or the job is retried.
            let _ = match item {
                Incoming::Connected => core.handle_relay_connected(now(), relay),
                Incoming::Answer {
                    token,
                    response,
                    suite,
                } => core.handle_relay_response(now(), &mut BrowserRng, token, response, suite),
                Incoming::Delivery {
                    recipient_id,
                    message_id,
                    sealed,
                    suite,
                } => core.handle_delivery(
                    now(),
                    &mut BrowserRng,
                    relay,
                    recipient_id,
                    message_id,
                    &sealed,
                    suite,
                ),
                Incoming::Failed(token) => core.handle_relay_failure(now(), token),
                Incoming::End(_)
                | Incoming::Ended(_)
                | Incoming::GroupNews(_)
                | Incoming::GroupEnd(_) => Ok(()),
            };
        }
        if connected {
            state.backoff.remove(name);
        }
    }
    if connected {
        emit(
            shared,
            &BridgeEvent::Connection {
                state: LinkState::Online,
            },
        );
    }
    if let Some(end) = ended {
        link_lost(shared, name, end);
    }
}

/// The link ended: drop it, tell the UI, and connect again after a backoff.
pub(crate) fn link_lost(shared: &Rc<RefCell<Shared>>, name: &str, end: ConnectionEnd) {
    let link = shared.borrow_mut().links.remove(name);
    let Some(link) = link else {
        return;
    };
    let relay = link.address.clone();
    // The connection failed its requests already (reported with `Ended`).
    let tokens = link.close();
    if shared.borrow().unlocked.is_none() {
        // Locked: the watch renews the link while it watches queues there.
        let keep = {
            let mut state = shared.borrow_mut();
            state.watch.as_mut().is_some_and(|watch| {
                for token in tokens {
                    watch.inbox.handle_relay_failure(token);
                }
                watch.inbox.relays().contains(&relay)
            })
        };
        if keep {
            back_off(shared, name);
        }
        return;
    }
    if let Some(unlocked) = shared.borrow_mut().unlocked.as_mut() {
        for token in tokens {
            let _ = unlocked.core.handle_relay_failure(now(), token);
        }
    }
    let fault = match end {
        ConnectionEnd::Handshake(error) | ConnectionEnd::Protocol(error) => Some(error.to_string()),
        ConnectionEnd::TimedOut | ConnectionEnd::Closed => None,
    };
    if let Some(reason) = fault {
        emit(
            shared,
            &Event::RelayFault {
                relay: relay.clone(),
                reason,
            },
        );
    }
    // A relay this profile only sends to is not renewed: the next request
    // for it connects again (renewing an idle one would loop, as the relay
    // closes a connection that authorizes nothing).
    let keep = {
        let state = shared.borrow();
        state.home_relay == relay
            || state.unlocked.as_ref().is_some_and(|unlocked| {
                unlocked
                    .core
                    .subscribed_relays()
                    .is_ok_and(|relays| relays.contains(&relay))
            })
    };
    if !keep {
        return;
    }
    emit(
        shared,
        &BridgeEvent::Connection {
            state: LinkState::Offline,
        },
    );
    back_off(shared, name);
}

/// Counts a failure to reach relay `name` and schedules the next attempt
/// ([`ReconnectBackoff`], as the native client does).
pub(crate) fn back_off(shared: &Rc<RefCell<Shared>>, name: &str) {
    let delay = {
        let mut state = shared.borrow_mut();
        let backoff = state.backoff.entry(name.to_owned()).or_default();
        let wait = backoff.failures.failed(BrowserRng.next_u32());
        let delay = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX);
        backoff.retry_at = js_sys::Date::now() + f64::from(delay);
        delay
    };
    schedule_reconnect(shared, delay);
}

fn schedule_reconnect(shared: &Rc<RefCell<Shared>>, delay_ms: u32) {
    let weak = Rc::downgrade(shared);
    let again = Closure::once_into_js(move || {
        if let Some(shared) = weak.upgrade() {
            let _ = start(&shared);
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            again.unchecked_ref(),
            i32::try_from(delay_ms).unwrap_or(i32::MAX),
        );
    }
}

/// What one pump writes: the changes (as one entry of the write log, or
/// folding the log into the records), or every record after a failed write.
enum PendingWrite {
    Changes(Vec<SealedWrite>, LogChange),
    Snapshot(Snapshot),
}

/// Hands the core's events to the listener, arms the timer, and writes the
/// core's changes, then sends the requests made with them. See the module
/// documentation.
pub(crate) fn pump(shared: &Rc<RefCell<Shared>>) {
    let (events, timeout) = {
        let mut state = shared.borrow_mut();
        let Some(unlocked) = state.unlocked.as_mut() else {
            drop(state);
            crate::locked_watch::pump(shared);
            return;
        };
        let mut events = Vec::new();
        loop {
            match unlocked.core.poll_event() {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                // The memory store does not fail to read; were it to, only
                // this event is lost (the next view of its chat repairs it).
                Err(_) => continue,
            }
        }
        (events, unlocked.core.poll_timeout())
    };
    for event in &events {
        emit(shared, event);
    }
    if events.iter().any(concerns_files) {
        crate::file_runner::refresh(shared);
    }
    crate::group_runner::on_events(shared, &events);
    arm_timer(shared, timeout);
    write_changes(shared);
}

/// Whether `event` may start or end a transfer: a file arriving (an
/// automatic download), a file item deleted or removed.
fn concerns_files(event: &Event) -> bool {
    match event {
        Event::ItemAdded { item, .. } => item.file.is_some(),
        Event::ItemChanged { item } => item.deleted,
        Event::ItemsRemoved { .. } | Event::HistoryCleared { .. } | Event::ChatRemoved { .. } => {
            true
        }
        _ => false,
    }
}

/// The core's changes not yet sealed, or, after a failed write (`resync`),
/// every record.
fn seal_pending(unlocked: &Unlocked, resync: bool) -> Result<PendingWrite, JsValue> {
    if resync {
        seal_snapshot(
            unlocked.core.store(),
            &unlocked.sealer,
            &unlocked.derivation,
            &unlocked.prefs,
            &unlocked.lock_key,
        )
        .map(PendingWrite::Snapshot)
    } else {
        sealed_profile::seal_changes(&mut BrowserRng, &unlocked.sealer, unlocked.core.store())
            .map(|writes| PendingWrite::Changes(writes, LogChange::Keep))
            .map_err(seal_error)
    }
}

/// `write` as the write log takes it: changes become one entry of the log (or
/// fold it into the records when it is full); a snapshot empties it.
fn into_log(log: &mut WriteLog, write: PendingWrite) -> PendingWrite {
    match write {
        PendingWrite::Changes(writes, _) => {
            let (writes, change) = logged(log, writes);
            PendingWrite::Changes(writes, change)
        }
        PendingWrite::Snapshot(snapshot) => {
            log.cleared();
            PendingWrite::Snapshot(snapshot)
        }
    }
}

/// Writes `write` in one IndexedDB transaction, made as this is first polled:
/// writes run in the order they were spawned.
async fn write_pending(database: &Database, write: PendingWrite) -> Result<(), JsValue> {
    match write {
        PendingWrite::Changes(writes, LogChange::Keep) if writes.is_empty() => Ok(()),
        PendingWrite::Changes(writes, log) => {
            database
                .write(
                    &[],
                    writes,
                    false,
                    log,
                    HeldChange::Keep,
                    Durability::Flushed,
                )
                .await
        }
        PendingWrite::Snapshot(snapshot) => {
            database.write_snapshot(snapshot, HeldChange::Keep).await
        }
    }
}

/// Before the core is dropped by a lock: seals what it changed since the last
/// write and writes it after the write in flight, if any (a change made while
/// that write ran would otherwise be lost with the core). The requests made
/// with those changes are dropped with the links; the core makes them again
/// after the next unlock.
fn write_before_lock(shared: &Rc<RefCell<Shared>>) {
    let (write, database) = {
        let mut state = shared.borrow_mut();
        let resync = state.resync;
        let Some(unlocked) = state.unlocked.as_ref() else {
            return;
        };
        let write = match seal_pending(unlocked, resync) {
            Ok(PendingWrite::Changes(writes, _)) if writes.is_empty() => return,
            Ok(write) => write,
            Err(error) => {
                drop(state);
                storage_failed(shared, &error);
                return;
            }
        };
        let write = into_log(&mut state.log, write);
        state.resync = false;
        state.write_wanted = false;
        (write, Rc::clone(&state.database))
    };
    let shared = Rc::clone(shared);
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(error) = write_pending(&database, write).await {
            storage_failed(&shared, &error);
        }
    });
}

/// Seals the core's changes and takes the requests made with them, writes the
/// changes in one IndexedDB transaction, and sends the requests once it has
/// committed; then writes again if the core changed meanwhile. While a write
/// is in flight this only notes that another is wanted.
fn write_changes(shared: &Rc<RefCell<Shared>>) {
    let (write, mark, requests, database, generation) = {
        let mut state = shared.borrow_mut();
        if state.writing {
            state.write_wanted = true;
            return;
        }
        state.write_wanted = false;
        let database = Rc::clone(&state.database);
        let (resync, generation) = (state.resync, state.generation);
        let Some(unlocked) = state.unlocked.as_mut() else {
            return;
        };
        // Every batch applied so far is in the changes taken now.
        let mark = unlocked.core.write_mark();
        let write = seal_pending(unlocked, resync);
        let mut requests = Vec::new();
        while let Some(request) = unlocked.core.poll_relay_request() {
            requests.push(request);
        }
        if matches!(&write, Ok(PendingWrite::Changes(writes, _)) if writes.is_empty()) {
            // Nothing to write: every batch is on disk already (no write is in
            // flight), so what waited for them goes now.
            drop(state);
            let released = release(shared, Some(mark));
            send_requests(
                shared,
                requests.into_iter().chain(released).collect(),
                false,
            );
            return;
        }
        let write = write.map(|write| into_log(&mut state.log, write));
        state.resync = false;
        state.writing = true;
        (write, mark, requests, database, generation)
    };
    let shared = Rc::clone(shared);
    wasm_bindgen_futures::spawn_local(async move {
        let written = match write {
            // On disk before the requests that wait for it leave.
            Ok(write) => write_pending(&database, write).await,
            Err(error) => Err(error),
        };
        let (current, again) = {
            let mut state = shared.borrow_mut();
            state.writing = false;
            (
                state.generation == generation && state.unlocked.is_some(),
                state.write_wanted,
            )
        };
        if !current {
            // Locked meanwhile: the core that made these requests is gone.
            // What the next profile wrote waits for nothing now.
            if again {
                write_changes(&shared);
            }
            return;
        }
        if let Err(error) = written {
            storage_failed(&shared, &error);
            let released = release(&shared, None);
            let tokens = requests
                .into_iter()
                .chain(released)
                .map(|request| request.token);
            fail_requests(&shared, tokens);
            // The changes made meanwhile go with the snapshot that repairs
            // this write; without any, the timer brings the next attempt.
            if again {
                write_changes(&shared);
            }
            return;
        }
        let released = release(&shared, Some(mark));
        let requests = requests.into_iter().chain(released).collect();
        send_requests(&shared, requests, again);
    });
}

/// How `writes` go into IndexedDB: as one value of the write log (`log`
/// notes it), or, when the log is full, with everything it holds into the
/// records.
pub(crate) fn logged(
    log: &mut WriteLog,
    writes: Vec<SealedWrite>,
) -> (Vec<SealedWrite>, LogChange) {
    if writes.is_empty() {
        return (writes, LogChange::Keep);
    }
    if log.full() {
        return (log.fold(writes), LogChange::Clear);
    }
    let entry = LogChange::Append(log.next, write_log::encode(&writes));
    log.appended(&writes);
    (Vec::new(), entry)
}

/// Sends relay requests whose writes are on disk. Every request is queued
/// first and the links write after, so that requests to one relay share
/// blocks; then pumps if a link reported something or a request could not be
/// queued, else writes what waits (`again`).
pub(crate) fn send_requests(
    shared: &Rc<RefCell<Shared>>,
    requests: Vec<RelayRequest>,
    again: bool,
) {
    let mut failed = Vec::new();
    let mut touched = Vec::new();
    for request in requests {
        let key = request.relay.to_string();
        let token = request.token;
        let queued = ensure_link(shared, &request.relay)
            && match shared.borrow_mut().links.get_mut(&key) {
                Some(link) => link.submit(request).is_ok(),
                None => false,
            };
        if !queued {
            failed.push(token);
        }
        if queued && !touched.contains(&key) {
            touched.push(key);
        }
    }
    let mut reported = false;
    for key in touched {
        let flushed = {
            let mut state = shared.borrow_mut();
            state
                .links
                .get_mut(&key)
                .map(|link| (link.address.clone(), link.flush()))
        };
        if let Some((relay, incoming)) = flushed
            && !incoming.is_empty()
        {
            handle_incoming(shared, &key, &relay, incoming);
            reported = true;
        }
    }
    if !failed.is_empty() || reported {
        {
            let mut state = shared.borrow_mut();
            let state = &mut *state;
            if let Some(unlocked) = state.unlocked.as_mut() {
                for token in failed {
                    let _ = unlocked.core.handle_relay_failure(now(), token);
                }
            } else if let Some(watch) = state.watch.as_mut() {
                for token in failed {
                    watch.inbox.handle_relay_failure(token);
                }
            }
        }
        pump(shared);
    } else if again {
        write_changes(shared);
    }
}

/// Tells the core that IndexedDB committed every batch up to `mark` (or, with
/// `None`, that a write failed), hands the events it then lets out to the
/// listener, and returns the relay requests it lets out.
fn release(shared: &Rc<RefCell<Shared>>, mark: Option<WriteMark>) -> Vec<RelayRequest> {
    let mut requests = Vec::new();
    let mut events = Vec::new();
    let mut state = shared.borrow_mut();
    if let Some(mark) = mark
        && state.unlocked.is_some()
    {
        state.durable = state.durable.max(mark);
        for waiter in state.durable_waiters.drain(..) {
            waiter.wake();
        }
    }
    if let Some(unlocked) = state.unlocked.as_mut() {
        match mark {
            Some(mark) => unlocked.core.handle_synced(mark),
            None => {
                let _ = unlocked.core.handle_sync_failed(now());
            }
        }
        while let Some(request) = unlocked.core.poll_relay_request() {
            requests.push(request);
        }
        // As in `pump`: a failed read loses only its event.
        loop {
            match unlocked.core.poll_event() {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(_) => continue,
            }
        }
    }
    drop(state);
    for event in &events {
        emit(shared, event);
    }
    if events.iter().any(concerns_files) {
        crate::file_runner::refresh(shared);
    }
    crate::group_runner::on_events(shared, &events);
    requests
}

/// Waits until IndexedDB committed the core's writes up to `mark`; false
/// when the profile was locked (or replaced) meanwhile.
pub(crate) async fn durable(shared: &Rc<RefCell<Shared>>, mark: WriteMark) -> bool {
    let generation = shared.borrow().generation;
    std::future::poll_fn(|cx| {
        let mut state = shared.borrow_mut();
        if state.generation != generation || state.unlocked.is_none() {
            return std::task::Poll::Ready(false);
        }
        if state.durable >= mark {
            return std::task::Poll::Ready(true);
        }
        state.durable_waiters.push(cx.waker().clone());
        std::task::Poll::Pending
    })
    .await
}

/// IndexedDB refused a write: the UI hears of it and the next write is a
/// snapshot.
pub(crate) fn storage_failed(shared: &Rc<RefCell<Shared>>, cause: &JsValue) {
    shared.borrow_mut().resync = true;
    let message = storage_message(cause);
    emit(shared, &BridgeEvent::StorageFailed { message });
}

/// Hands requests that were never sent back to the core, which retries them
/// on its own schedule; only the timer is armed, so that a storage that keeps
/// failing is not retried in a loop.
fn fail_requests(
    shared: &Rc<RefCell<Shared>>,
    tokens: impl IntoIterator<Item = sotto_core::RequestToken>,
) {
    let timeout = {
        let mut state = shared.borrow_mut();
        let Some(unlocked) = state.unlocked.as_mut() else {
            return;
        };
        for token in tokens {
            let _ = unlocked.core.handle_relay_failure(now(), token);
        }
        unlocked.core.poll_timeout()
    };
    arm_timer(shared, timeout);
}

/// Arms the core's timer for `at`, unless it is armed for that time already
/// (the core's next deadline seldom moves from one pump to the next).
fn arm_timer(shared: &Rc<RefCell<Shared>>, at: Option<UnixMillis>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let mut state = shared.borrow_mut();
    if let (Some(timer), Some(at)) = (&state.timer, at)
        && timer.at == at
    {
        return;
    }
    if let Some(timer) = state.timer.take() {
        window.clear_timeout_with_handle(timer.id);
    }
    let Some(at) = at else {
        return;
    };
    let delay = at.0.saturating_sub(now().0).min(60_000) as i32;
    let weak = Rc::downgrade(shared);
    let fire = Closure::<dyn FnMut()>::new(move || {
        let weak = Weak::clone(&weak);
        wasm_bindgen_futures::spawn_local(async move {
            let Some(shared) = weak.upgrade() else {
                return;
            };
            {
                let mut state = shared.borrow_mut();
                // Fired: the next pump arms it again, even for the same time.
                if let Some(timer) = state.timer.as_mut() {
                    timer.at = UnixMillis(u64::MAX);
                }
                if let Some(unlocked) = state.unlocked.as_mut() {
                    let _ = unlocked.core.handle_timeout(now(), &mut BrowserRng);
                }
            }
            pump(&shared);
        });
    });
    if let Ok(id) = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(fire.as_ref().unchecked_ref(), delay)
    {
        state.timer = Some(CoreTimer {
            id,
            _handler: fire,
            at,
        });
    }
}

/// Hands `event` (a core [`Event`] or a [`BridgeEvent`]) to the UI's
/// listener, as JSON text.
pub(crate) fn emit(shared: &Rc<RefCell<Shared>>, event: &impl Serialize) {
    let listener = shared.borrow().listener.clone();
    if let (Some(listener), Ok(text)) = (listener, json(event)) {
        let _ = listener.call1(&JsValue::NULL, &text);
    }
}

/// A view, a list of views or an event as JSON text, which the UI reads with
/// `JSON.parse` (`web/src/bridge.ts`). JSON because serde_json already speaks
/// the core's vocabulary exactly (`sotto --json` prints the same text), and
/// it is enough here: ids and times are integers far below 2^53, which
/// JavaScript numbers hold exactly.
pub(crate) fn json(value: &impl Serialize) -> Result<JsValue, JsValue> {
    serde_json::to_string(value)
        .map(JsValue::from)
        .map_err(|e| error("internal", &e.to_string()))
}

/// A plain object with these fields (errors, and the few answers that are
/// not views).
pub(crate) fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (name, value) in fields {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object.into()
}

pub(crate) fn now() -> UnixMillis {
    UnixMillis(js_sys::Date::now() as u64)
}

/// A local id (chat, item, request, invitation) as the UI passes it: the
/// number it read in a view.
pub(crate) fn local_id(value: f64, unknown: &str) -> Result<u64, JsValue> {
    // 2^53: above it, JavaScript numbers are no longer exact integers.
    const MAX_EXACT: f64 = 9_007_199_254_740_992.0;
    if value.fract() != 0.0 || !(0.0..MAX_EXACT).contains(&value) {
        return Err(error("not-found", unknown));
    }
    Ok(value as u64)
}

/// A `{ kind, message }` error for the UI.
pub(crate) fn error(kind: &str, message: &str) -> JsValue {
    object(&[("kind", kind.into()), ("message", message.into())])
}

/// What a browser error says, for the UI (a `DOMException`'s message).
fn storage_message(value: &JsValue) -> String {
    let detail = value.as_string().or_else(|| {
        js_sys::Reflect::get(value, &JsValue::from_str("message"))
            .ok()
            .and_then(|message| message.as_string())
    });
    match detail {
        Some(detail) if !detail.is_empty() => {
            format!("the browser's storage refused a write ({detail})")
        }
        _ => "the browser's storage refused a write".to_owned(),
    }
}

pub(crate) fn internal(value: JsValue) -> JsValue {
    error("internal", &storage_message(&value))
}

pub(crate) fn seal_error(seal: SealError) -> JsValue {
    error("internal", &seal.to_string())
}

pub(crate) fn profile_error(profile: ProfileError) -> JsValue {
    match profile {
        ProfileError::WrongPassphrase => error("wrong-passphrase", "wrong passphrase"),
        other => error("internal", &other.to_string()),
    }
}

pub(crate) fn core_error(core: CoreError) -> JsValue {
    let kind = match &core {
        CoreError::InvalidLink(_) => "invalid-invitation",
        CoreError::NoProfile => "no-profile",
        CoreError::ProfileExists => "profile-exists",
        CoreError::ProfileMoved => "moved",
        CoreError::UnknownContact
        | CoreError::UnknownMessage
        | CoreError::UnknownRequest
        | CoreError::NoAddress => "not-found",
        CoreError::NotConnected => "not-connected",
        CoreError::TooLong { .. } | CoreError::InvalidValue(_) => "invalid-input",
        _ => "internal",
    };
    error(kind, &core.to_string())
}
