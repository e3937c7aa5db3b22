//! `SottoClient`, the class the web UI calls: one profile in IndexedDB, its
//! [`Core`] when unlocked, and the relay links the core needs.
//!
//! After every call into the core, [`pump`] takes the core's store changes and
//! relay requests together, seals the changes, and sends the requests only once
//! IndexedDB has committed the changes: what the relay is told never runs ahead
//! of what is on disk. Events go to the UI's listener at once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use js_sys::{Array, Object, Promise, Reflect};
use rand_core::RngCore;
use sotto_core::{
    ChatItem, ContactId, Core, CoreError, Event, ItemContent, KeyDerivation, MessageDirection,
    MessageNumber, MessageStatus, Passphrase, Profile, Record, UnixMillis,
};
use sotto_wire::RelayAddress;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::idb::{Database, SealedWrite};
use crate::mirror::{MirrorChange, MirrorStore};
use crate::relay_link::{Incoming, RelayLink, Signal};
use crate::rng::BrowserRng;
use crate::sealed_record::{RecordIndex, RecordSealer, SealError};

/// `meta` entry: the encoded [`KeyDerivation`].
const META_KDF: &str = "kdf";
/// `meta` entry: a sealed record that opens only with the right passphrase.
const META_CHECK: &str = "check";
/// The table name the passphrase check is sealed under (never a core table).
const CHECK_TABLE: &str = "passphrase_check";
/// Wait before connecting again to a relay that was lost.
const RECONNECT_MS: i32 = 2000;

/// The profile in this browser. See the module documentation.
#[wasm_bindgen]
pub struct SottoClient {
    shared: Rc<RefCell<Shared>>,
}

struct Shared {
    database: Rc<Database>,
    home_relay: RelayAddress,
    has_profile: bool,
    unlocked: Option<Unlocked>,
    listener: Option<js_sys::Function>,
    links: HashMap<String, RelayLink>,
    timer: Option<(i32, Closure<dyn FnMut()>)>,
}

struct Unlocked {
    core: Core<MirrorStore>,
    sealer: RecordSealer,
}

#[wasm_bindgen]
impl SottoClient {
    /// Opens this browser's database; `home_relay` (a `sotto+ws://` or
    /// `sotto://` address) is where new queues are made.
    pub async fn open(home_relay: String) -> Result<SottoClient, JsValue> {
        let home_relay: RelayAddress = home_relay
            .parse()
            .map_err(|_| error("invalid-invitation", "the relay address is not valid"))?;
        let database = Database::open().await.map_err(internal)?;
        let has_profile = database.meta(META_KDF).await.map_err(internal)?.is_some();
        Ok(SottoClient {
            shared: Rc::new(RefCell::new(Shared {
                database: Rc::new(database),
                home_relay,
                has_profile,
                unlocked: None,
                listener: None,
                links: HashMap::new(),
                timer: None,
            })),
        })
    }

    /// `"none"`, `"locked"` or `"unlocked"`.
    #[wasm_bindgen(js_name = profileState)]
    pub fn profile_state(&self) -> String {
        let shared = self.shared.borrow();
        match (shared.has_profile, shared.unlocked.is_some()) {
            (_, true) => "unlocked",
            (true, false) => "locked",
            (false, false) => "none",
        }
        .to_owned()
    }

    /// Where events go: `listener(event)` with plain objects.
    #[wasm_bindgen(js_name = setListener)]
    pub fn set_listener(&self, listener: Option<js_sys::Function>) {
        self.shared.borrow_mut().listener = listener;
    }

    /// Creates the profile and unlocks it.
    #[wasm_bindgen(js_name = createProfile)]
    pub fn create_profile(&self, display_name: String, passphrase: String) -> Promise {
        let shared = Rc::clone(&self.shared);
        future_to_promise(async move {
            if shared.borrow().has_profile {
                return Err(error("profile-exists", "a profile exists in this browser"));
            }
            let profile = Profile::new(&display_name, None).map_err(core_error)?;
            let mut rng = BrowserRng;
            let mut salt = [0u8; sotto_core::PASSPHRASE_SALT_LEN];
            rng.fill_bytes(&mut salt);
            let derivation = KeyDerivation::new(salt);
            let key = derivation
                .derive(&Passphrase::new(passphrase))
                .map_err(|e| error("internal", &e.to_string()))?;
            let sealer = RecordSealer::new(&key);
            let (check_index, check) = sealer
                .seal(&mut rng, CHECK_TABLE, &[], &[])
                .map_err(seal_error)?;
            let core = Core::create(MirrorStore::new(), &mut rng, profile).map_err(core_error)?;
            let mut unlocked = Unlocked { core, sealer };
            let writes = seal_changes(&mut unlocked)?;
            let database = Rc::clone(&shared.borrow().database);
            let kdf = derivation.encode();
            database
                .write(&[(META_KDF, &kdf), (META_CHECK, &check)], writes, true)
                .await
                .map_err(internal)?;
            let _ = check_index;
            {
                let mut state = shared.borrow_mut();
                state.has_profile = true;
                state.unlocked = Some(unlocked);
            }
            start(&shared)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Derives the key, opens every record and starts the relay links;
    /// rejects with `wrong-passphrase`.
    pub fn unlock(&self, passphrase: String) -> Promise {
        let shared = Rc::clone(&self.shared);
        future_to_promise(async move {
            if shared.borrow().unlocked.is_some() {
                return Ok(JsValue::UNDEFINED);
            }
            let database = Rc::clone(&shared.borrow().database);
            let kdf = database
                .meta(META_KDF)
                .await
                .map_err(internal)?
                .ok_or_else(|| error("no-profile", "there is no profile in this browser"))?;
            let kdf: [u8; KeyDerivation::ENCODED_LEN] = kdf
                .as_slice()
                .try_into()
                .map_err(|_| error("internal", "the stored key derivation is damaged"))?;
            let derivation =
                KeyDerivation::decode(&kdf).map_err(|e| error("internal", &e.to_string()))?;
            let key = derivation
                .derive(&Passphrase::new(passphrase))
                .map_err(|e| error("internal", &e.to_string()))?;
            let sealer = RecordSealer::new(&key);
            let check = database
                .meta(META_CHECK)
                .await
                .map_err(internal)?
                .unwrap_or_default();
            let check_index = sealer.index(CHECK_TABLE, &[]).map_err(seal_error)?;
            if sealer.open(&check_index, &check).is_err() {
                return Err(error("wrong-passphrase", "wrong passphrase"));
            }
            let mut records = Vec::new();
            for (index, sealed) in database.records().await.map_err(internal)? {
                let index: [u8; crate::sealed_record::INDEX_LEN] = index
                    .as_slice()
                    .try_into()
                    .map_err(|_| error("internal", "a stored record is damaged"))?;
                let opened = sealer
                    .open(&RecordIndex(index), &sealed)
                    .map_err(seal_error)?;
                records.push((
                    opened.table,
                    Record {
                        key: opened.key,
                        value: opened.value,
                    },
                ));
            }
            let store =
                MirrorStore::loaded(records).map_err(|e| error("internal", &e.to_string()))?;
            let core = Core::open(store).map_err(core_error)?;
            shared.borrow_mut().unlocked = Some(Unlocked { core, sealer });
            start(&shared)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Drops the core and its keys, and closes every relay link.
    pub fn lock(&self) {
        let mut shared = self.shared.borrow_mut();
        shared.unlocked = None;
        shared.timer = None;
        for (_, link) in shared.links.drain() {
            link.close();
        }
    }

    /// The display name.
    #[wasm_bindgen(js_name = displayName)]
    pub fn display_name(&self) -> Result<String, JsValue> {
        self.with_core(|core| Ok(core.profile().display_name().to_owned()))
    }

    /// Asks the home relay for a queue; the link comes as an
    /// `invitation-ready` event with this id.
    #[wasm_bindgen(js_name = createInvitation)]
    pub fn create_invitation(&self) -> Result<String, JsValue> {
        let relay = self.shared.borrow().home_relay.clone();
        let id = self.with_core(|core| {
            core.create_invitation(now(), &mut BrowserRng, &relay)
                .map_err(core_error)
        })?;
        pump(&self.shared);
        Ok(id.0.to_string())
    }

    /// Connects with an invitation link; returns the new chat's id.
    pub fn connect(&self, link: String) -> Result<String, JsValue> {
        let relay = self.shared.borrow().home_relay.clone();
        let contact = self.with_core(|core| {
            core.connect(now(), &mut BrowserRng, &link, &relay)
                .map_err(core_error)
        })?;
        pump(&self.shared);
        Ok(contact.0.to_string())
    }

    /// Sends a text; returns the new item.
    #[wasm_bindgen(js_name = sendText)]
    pub fn send_text(&self, chat: String, text: String) -> Result<JsValue, JsValue> {
        let contact = contact_id(&chat)?;
        let item = self.with_core(|core| {
            let number = core
                .send_text(now(), &mut BrowserRng, contact, &text, None)
                .map_err(core_error)?;
            core.message(contact, number).map_err(core_error)
        })?;
        pump(&self.shared);
        Ok(item_object(&item))
    }

    /// Every chat: `{id, displayName, unread, connected, verified, timerSeconds, lastItem}`.
    pub fn chats(&self) -> Result<JsValue, JsValue> {
        self.with_core(|core| {
            let chats = Array::new();
            for contact in core.contacts().map_err(core_error)? {
                let name = contact
                    .profile
                    .as_ref()
                    .map(|profile| profile.display_name().to_owned())
                    .unwrap_or_else(|| "(connecting)".to_owned());
                chats.push(&object(&[
                    ("id", contact.id.0.to_string().into()),
                    ("displayName", name.into()),
                    ("unread", contact.unread.into()),
                    ("verified", contact.verified.into()),
                    (
                        "timerSeconds",
                        contact.timer_secs.map_or(JsValue::NULL, JsValue::from),
                    ),
                    (
                        "lastItem",
                        contact
                            .last_message
                            .as_ref()
                            .map_or(JsValue::NULL, item_object),
                    ),
                ]));
            }
            Ok(chats.into())
        })
    }

    /// Items of a chat, newest `limit` before `before` (an item id), oldest first.
    pub fn history(
        &self,
        chat: String,
        before: Option<String>,
        limit: u32,
    ) -> Result<JsValue, JsValue> {
        let contact = contact_id(&chat)?;
        let before = match before {
            Some(before) => Some(MessageNumber(
                before
                    .parse()
                    .map_err(|_| error("not-found", "no such message"))?,
            )),
            None => None,
        };
        self.with_core(|core| {
            let items = Array::new();
            for item in core
                .history(contact, before, limit as usize)
                .map_err(core_error)?
            {
                items.push(&item_object(&item));
            }
            Ok(items.into())
        })
    }
}

impl SottoClient {
    fn with_core<T>(
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
}

/// Connects every relay the core needs, then pumps.
fn start(shared: &Rc<RefCell<Shared>>) -> Result<(), JsValue> {
    let relays = {
        let state = shared.borrow();
        let Some(unlocked) = &state.unlocked else {
            return Ok(());
        };
        let mut relays = unlocked.core.relays().map_err(core_error)?;
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

/// The link to `relay`, opened if there is none.
fn ensure_link(shared: &Rc<RefCell<Shared>>, relay: &RelayAddress) {
    let key = relay.to_string();
    if shared.borrow().links.contains_key(&key) {
        return;
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
                on_signal(&shared, &name, signal);
            }
        });
    });
    let mut secret = [0u8; 32];
    BrowserRng.fill_bytes(&mut secret);
    match RelayLink::connect(relay.clone(), secret, notify) {
        Ok(link) => {
            shared.borrow_mut().links.insert(key, link);
        }
        Err(_) => schedule_reconnect(shared),
    }
}

fn on_signal(shared: &Rc<RefCell<Shared>>, name: &str, signal: Signal) {
    match signal {
        Signal::Open => {
            let mut state = shared.borrow_mut();
            let failed = match state.links.get_mut(name) {
                Some(link) => link.opened().is_err(),
                None => false,
            };
            drop(state);
            if failed {
                link_lost(shared, name);
            }
        }
        Signal::Frame(bytes) => {
            let result = {
                let mut state = shared.borrow_mut();
                match state.links.get_mut(name) {
                    Some(link) => link
                        .frame(&bytes)
                        .map(|incoming| (link.address.clone(), incoming)),
                    None => return,
                }
            };
            match result {
                Ok((relay, incoming)) => {
                    handle_incoming(shared, &relay, incoming);
                    pump(shared);
                }
                Err(reason) => {
                    emit(
                        shared,
                        &object(&[("type", "relay-fault".into()), ("reason", reason.into())]),
                    );
                    link_lost(shared, name);
                }
            }
        }
        Signal::Closed => link_lost(shared, name),
    }
}

fn handle_incoming(shared: &Rc<RefCell<Shared>>, relay: &RelayAddress, incoming: Vec<Incoming>) {
    let mut state = shared.borrow_mut();
    let Some(unlocked) = state.unlocked.as_mut() else {
        return;
    };
    let core = &mut unlocked.core;
    let mut connected = false;
    for item in incoming {
        // An error leaves the core usable (see `Core::handle_delivery`): the
        // relay delivers again or the job is retried.
        let _ = match item {
            Incoming::Connected => {
                connected = true;
                core.handle_relay_connected(now(), relay)
            }
            Incoming::Answer(token, response) => {
                core.handle_relay_response(now(), &mut BrowserRng, token, response)
            }
            Incoming::Delivery {
                recipient_id,
                message_id,
                sealed,
            } => core.handle_delivery(
                now(),
                &mut BrowserRng,
                relay,
                recipient_id,
                message_id,
                &sealed,
            ),
        };
    }
    drop(state);
    if connected {
        emit(
            shared,
            &object(&[("type", "connection".into()), ("state", "online".into())]),
        );
    }
}

fn link_lost(shared: &Rc<RefCell<Shared>>, name: &str) {
    let link = shared.borrow_mut().links.remove(name);
    let Some(link) = link else {
        return;
    };
    let tokens = link.close();
    {
        let mut state = shared.borrow_mut();
        if let Some(unlocked) = state.unlocked.as_mut() {
            for token in tokens {
                let _ = unlocked.core.handle_relay_failure(now(), token);
            }
        }
    }
    emit(
        shared,
        &object(&[("type", "connection".into()), ("state", "offline".into())]),
    );
    schedule_reconnect(shared);
    pump(shared);
}

fn schedule_reconnect(shared: &Rc<RefCell<Shared>>) {
    let weak = Rc::downgrade(shared);
    let again = Closure::once_into_js(move || {
        if let Some(shared) = weak.upgrade() {
            let _ = start(&shared);
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            again.unchecked_ref(),
            RECONNECT_MS,
        );
    }
}

/// Writes the core's changes, then sends the requests made with them; hands
/// events to the listener; arms the timer. See the module documentation.
fn pump(shared: &Rc<RefCell<Shared>>) {
    let (writes, requests, events, timeout, database) = {
        let mut state = shared.borrow_mut();
        let database = Rc::clone(&state.database);
        let Some(unlocked) = state.unlocked.as_mut() else {
            return;
        };
        let writes = match seal_changes(unlocked) {
            Ok(writes) => writes,
            Err(_) => return,
        };
        let mut requests = Vec::new();
        while let Some(request) = unlocked.core.poll_relay_request() {
            requests.push(request);
        }
        let mut events = Vec::new();
        while let Some(event) = unlocked.core.poll_event() {
            events.push(event);
        }
        let timeout = unlocked.core.poll_timeout();
        (writes, requests, events, timeout, database)
    };
    for event in &events {
        emit(shared, &event_object(event));
    }
    arm_timer(shared, timeout);
    let shared = Rc::clone(shared);
    wasm_bindgen_futures::spawn_local(async move {
        if !writes.is_empty() && database.write(&[], writes, false).await.is_err() {
            emit(&shared, &object(&[("type", "storage-failed".into())]));
            return;
        }
        let mut failed = Vec::new();
        for request in requests {
            ensure_link(&shared, &request.relay);
            let key = request.relay.to_string();
            let token = request.token;
            let sent = match shared.borrow_mut().links.get_mut(&key) {
                Some(link) => link.send(request).is_ok(),
                None => false,
            };
            if !sent {
                failed.push(token);
            }
        }
        if !failed.is_empty() {
            if let Some(unlocked) = shared.borrow_mut().unlocked.as_mut() {
                for token in failed {
                    let _ = unlocked.core.handle_relay_failure(now(), token);
                }
            }
            pump(&shared);
        }
    });
}

fn arm_timer(shared: &Rc<RefCell<Shared>>, at: Option<UnixMillis>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let mut state = shared.borrow_mut();
    if let Some((id, _)) = state.timer.take() {
        window.clear_timeout_with_handle(id);
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
            if let Some(unlocked) = shared.borrow_mut().unlocked.as_mut() {
                let _ = unlocked.core.handle_timeout(now(), &mut BrowserRng);
            }
            pump(&shared);
        });
    });
    if let Ok(id) = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(fire.as_ref().unchecked_ref(), delay)
    {
        state.timer = Some((id, fire));
    }
}

/// The store's changes since the last call, sealed for IndexedDB.
fn seal_changes(unlocked: &mut Unlocked) -> Result<Vec<SealedWrite>, JsValue> {
    let changes = unlocked.core.store().take_changes();
    let mut rng = BrowserRng;
    let mut writes = Vec::with_capacity(changes.len());
    for change in changes {
        writes.push(match change {
            MirrorChange::Put { table, record } => {
                let (index, sealed) = unlocked
                    .sealer
                    .seal(&mut rng, &table, &record.key, &record.value)
                    .map_err(seal_error)?;
                SealedWrite {
                    index: index.0.to_vec(),
                    sealed: Some(sealed),
                }
            }
            MirrorChange::Delete { table, key } => SealedWrite {
                index: unlocked
                    .sealer
                    .index(&table, &key)
                    .map_err(seal_error)?
                    .0
                    .to_vec(),
                sealed: None,
            },
        });
    }
    Ok(writes)
}

fn emit(shared: &Rc<RefCell<Shared>>, event: &JsValue) {
    let listener = shared.borrow().listener.clone();
    if let Some(listener) = listener {
        let _ = listener.call1(&JsValue::NULL, event);
    }
}

fn now() -> UnixMillis {
    UnixMillis(js_sys::Date::now() as u64)
}

fn contact_id(chat: &str) -> Result<ContactId, JsValue> {
    chat.parse()
        .map(ContactId)
        .map_err(|_| error("not-found", "no such chat"))
}

fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (name, value) in fields {
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object.into()
}

fn event_object(event: &Event) -> JsValue {
    let chat = |contact: &ContactId| JsValue::from(contact.0.to_string());
    match event {
        Event::InvitationReady { invitation, link } => object(&[
            ("type", "invitation-ready".into()),
            ("invitation", invitation.0.to_string().into()),
            ("link", link.clone().into()),
        ]),
        Event::ContactConnected { contact } => {
            object(&[("type", "chat-changed".into()), ("chat", chat(contact))])
        }
        Event::ProfileUpdated { contact } | Event::ConnectionFailed { contact } => {
            object(&[("type", "chat-changed".into()), ("chat", chat(contact))])
        }
        Event::MessageReceived { contact, message }
        | Event::Notice {
            contact, message, ..
        } => object(&[
            ("type", "item-added".into()),
            ("chat", chat(contact)),
            ("item", message.0.to_string().into()),
        ]),
        Event::MessageStatus {
            contact, message, ..
        }
        | Event::MessageChanged { contact, message } => object(&[
            ("type", "item-updated".into()),
            ("chat", chat(contact)),
            ("item", message.0.to_string().into()),
        ]),
        Event::MessagesExpired { contact, messages } => object(&[
            ("type", "items-removed".into()),
            ("chat", chat(contact)),
            (
                "items",
                messages
                    .iter()
                    .map(|number| JsValue::from(number.0.to_string()))
                    .collect::<Array>()
                    .into(),
            ),
        ]),
        Event::RelayFault { reason, .. } => object(&[
            ("type", "relay-fault".into()),
            ("reason", reason.clone().into()),
        ]),
        Event::Typing { contact, typing } => object(&[
            ("type", "typing".into()),
            ("chat", chat(contact)),
            ("typing", (*typing).into()),
        ]),
        Event::AddressReady { .. } | Event::ContactRequest { .. } => {
            object(&[("type", "other".into())])
        }
    }
}

/// A chat item as the UI's `TimelineItem` (replies, reactions and notices in
/// outline; the TypeScript side fills in the rest).
fn item_object(item: &ChatItem) -> JsValue {
    let direction = match item.direction {
        MessageDirection::Incoming => "in",
        MessageDirection::Outgoing | MessageDirection::Notice => "out",
    };
    let status = match (item.direction, item.status) {
        (MessageDirection::Outgoing, MessageStatus::Pending) => "pending".into(),
        (MessageDirection::Outgoing, MessageStatus::Sent) => "sent".into(),
        (MessageDirection::Outgoing, MessageStatus::Delivered) => "delivered".into(),
        (MessageDirection::Outgoing, MessageStatus::Read) => "read".into(),
        (MessageDirection::Outgoing, MessageStatus::Failed) => "failed".into(),
        _ => JsValue::NULL,
    };
    let (kind, text) = match &item.content {
        ItemContent::Text { text, .. } => ("message", text.clone()),
        ItemContent::Notice(_) => ("notice", String::new()),
    };
    object(&[
        ("kind", kind.into()),
        ("id", item.number.0.to_string().into()),
        ("chat", item.contact.0.to_string().into()),
        ("direction", direction.into()),
        ("text", text.into()),
        ("deleted", item.deleted.into()),
        ("edited", item.edited.into()),
        ("sentAt", (item.sent_at.0 as f64).into()),
        ("at", (item.at.0 as f64).into()),
        ("status", status),
        (
            "expiresAt",
            item.expires_at
                .map_or(JsValue::NULL, |at| JsValue::from(at.0 as f64)),
        ),
    ])
}

/// A `{ kind, message }` error for the UI.
fn error(kind: &str, message: &str) -> JsValue {
    object(&[("kind", kind.into()), ("message", message.into())])
}

fn internal(value: JsValue) -> JsValue {
    let message = value
        .as_string()
        .unwrap_or_else(|| "the browser's storage failed".to_owned());
    error("internal", &message)
}

fn seal_error(seal: SealError) -> JsValue {
    error("internal", &seal.to_string())
}

fn core_error(core: CoreError) -> JsValue {
    let kind = match &core {
        CoreError::InvalidLink(_) => "invalid-invitation",
        CoreError::NoProfile => "no-profile",
        CoreError::ProfileExists => "profile-exists",
        CoreError::UnknownContact | CoreError::UnknownMessage => "not-found",
        _ => "internal",
    };
    error(kind, &core.to_string())
}
