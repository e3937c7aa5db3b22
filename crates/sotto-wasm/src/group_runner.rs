//! Group logs in the browser, as the native live loop carries them out
//! (`sotto chat` and `sotto listen`): each active group's log subscribed
//! (GSUB) on a link of its own to the group's relay, never one of the
//! profile's queue links; each push (GENT: a new entry; GEND: the log was
//! rekeyed or deleted), each (re)subscription and each message written
//! starts a read of the log from the member's cursor (GREAD), whose entries
//! the core processes once and in order. The reads append what the core
//! makes: our messages, our pending commit, a lost commit made again, a
//! member's leaving committed, the receipts owed; the log's admin installs
//! a removal's new secrets (GKEY). A link that ends is opened again and
//! every log on it subscribed again, which reads what came meanwhile.
//!
//! Entries go out only once the core's writes that made them are on disk
//! (`crate::client::durable`). Nothing here holds group state: the core
//! keeps the cursor, the credentials and the MLS state.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::rc::Rc;

use sotto_core::{ChatId, CoreError, Event, GroupChange, GroupLog};
use sotto_wire::{
    Command, ErrorCode, GroupEntry, GroupReadId, QueueAuthSecret, RelayAddress, Response,
};
use subtle::ConstantTimeEq;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use crate::bridge_event::BridgeEvent;
use crate::client::{Shared, durable, emit, now, pump};
use crate::link_pool::{self, Fault, LinkPool, PoolOwner};
use crate::relay_link::Incoming;
use crate::rng::BrowserRng;

/// The most entries one read of a log processes before it lets the page
/// breathe (it reads on at once after).
const MAX_ENTRIES_PER_READ: usize = 500;

/// Bytes of commands a group link holds before it refuses more.
const MAX_QUEUED_BYTES: usize = 1 << 20;

/// The first and the longest wait before subscribing again after a failure.
const FIRST_RETRY_MS: u32 = 1_000;
const MAX_RETRY_MS: u32 = 60_000;

/// The group logs of the unlocked profile. See the module documentation.
#[derive(Default)]
pub(crate) struct Groups {
    links: LinkPool,
    /// Each watched group: its subscription.
    watched: HashMap<ChatId, Watched>,
    /// Groups whose log is being read; those to read again once it ends.
    reading: HashSet<ChatId>,
    again: HashSet<ChatId>,
    /// Entries to append, by group, in order (our messages).
    outbox: HashMap<ChatId, Vec<GroupEntry>>,
    /// The wait before the next attempt after a failure.
    retry_ms: u32,
    retry_armed: bool,
}

/// A group's subscription.
struct Watched {
    relay: String,
    /// The read credentials it subscribes with, as bytes to compare (a
    /// rekey subscribes again).
    credentials: Zeroizing<Vec<u8>>,
    /// The read id the relay took, once subscribed.
    subscribed: Option<GroupReadId>,
}

impl Groups {
    /// Closes every link and forgets every subscription (the profile was
    /// locked): the reads under way find their replies lost.
    pub(crate) fn stop(&mut self) {
        self.links.stop();
        self.watched.clear();
        self.reading.clear();
        self.again.clear();
        self.outbox.clear();
    }
}

/// Appends `entry` (a message the core made for the group) after the
/// writes that made it, then reads the log.
pub(crate) fn send(shared: &Rc<RefCell<Shared>>, chat: ChatId, entry: GroupEntry) {
    shared
        .borrow_mut()
        .groups
        .outbox
        .entry(chat)
        .or_default()
        .push(entry);
    read(shared, chat);
}

/// What the core's events mean for the logs: a commit of ours to append, a
/// group joined to subscribe.
pub(crate) fn on_events(shared: &Rc<RefCell<Shared>>, events: &[Event]) {
    let mut joined = false;
    for event in events {
        match event {
            Event::GroupCommitReady { group } => read(shared, *group),
            Event::GroupJoined { .. } => joined = true,
            _ => {}
        }
    }
    if joined {
        refresh(shared);
    }
}

/// Watches every active group of the profile with its current
/// credentials, and no other.
pub(crate) fn refresh(shared: &Rc<RefCell<Shared>>) {
    let wanted = {
        let state = shared.borrow();
        let Some(unlocked) = &state.unlocked else {
            return;
        };
        let core = &unlocked.core;
        let Ok(groups) = core.active_groups() else {
            return;
        };
        groups
            .into_iter()
            .filter_map(|group| {
                let log = core.group_log(group).ok()?;
                let previous = core.group_previous_log(group).ok()?;
                Some((group, log, previous))
            })
            .collect::<Vec<_>>()
    };
    let mut to_subscribe = Vec::new();
    {
        let mut state = shared.borrow_mut();
        let groups = &mut state.groups;
        let mut keep = HashSet::new();
        for (chat, log, previous) in wanted {
            let credentials = credentials(&log, previous.as_ref());
            keep.insert(chat);
            let same = groups
                .watched
                .get(&chat)
                .is_some_and(|watched| bool::from(watched.credentials.ct_eq(&credentials)));
            if same {
                continue;
            }
            groups.watched.insert(
                chat,
                Watched {
                    relay: log.relay.to_string(),
                    credentials,
                    subscribed: None,
                },
            );
            to_subscribe.push((chat, log, previous));
        }
        groups.watched.retain(|chat, _| keep.contains(chat));
    }
    for (chat, log, previous) in to_subscribe {
        let shared = Rc::clone(shared);
        wasm_bindgen_futures::spawn_local(async move {
            subscribe(&shared, chat, log, previous).await;
        });
    }
}

fn credentials(log: &GroupLog, previous: Option<&GroupLog>) -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(log.relay.to_string().into_bytes());
    bytes.extend_from_slice(log.read.0.as_bytes());
    bytes.extend_from_slice(log.read.1.as_bytes());
    if let Some(previous) = previous {
        bytes.extend_from_slice(previous.read.1.as_bytes());
    }
    bytes
}

/// GSUB with the read secrets in the order [`GroupLog::attempts`] gives
/// (the current one, or the old one while the relay still uses it); then the
/// log is read (whatever came while it was not subscribed). A refusal of
/// every attempt is learnt by the read; a link lost is tried again later.
async fn subscribe(
    shared: &Rc<RefCell<Shared>>,
    chat: ChatId,
    log: GroupLog,
    previous: Option<GroupLog>,
) {
    let generation = shared.borrow().generation;
    let mut lost = false;
    let mut subscribed = None;
    for attempt in log.attempts(previous.as_ref()) {
        let reader = &attempt.log.read;
        let command = Command::GroupSub { read_id: reader.0 };
        match request(shared, &log.relay, command, Some(reader.1.clone())).await {
            Ok(Response::GroupPos { .. }) => {
                subscribed = Some(reader.0);
                break;
            }
            Err(Fault::Refused(ErrorCode::Auth)) => {}
            _ => lost = true,
        }
    }
    let expected = credentials(&log, previous.as_ref());
    {
        let mut state = shared.borrow_mut();
        if state.generation != generation {
            // Locked meanwhile: what is watched now is another unlock's.
            return;
        }
        let groups = &mut state.groups;
        let Some(watched) = groups.watched.get_mut(&chat) else {
            return;
        };
        if !bool::from(watched.credentials.ct_eq(&expected)) {
            // Rekeyed meanwhile: another subscription is under way.
            return;
        }
        if subscribed.is_none() && lost {
            groups.watched.remove(&chat);
        } else {
            watched.subscribed = subscribed;
        }
    }
    if subscribed.is_none() && lost {
        retry_later(shared);
        return;
    }
    shared.borrow_mut().groups.retry_ms = 0;
    read(shared, chat);
}

/// Reads a group's log from the member's cursor to its end, unless a read
/// runs already (then that one reads again once it ends).
pub(crate) fn read(shared: &Rc<RefCell<Shared>>, chat: ChatId) {
    {
        let mut state = shared.borrow_mut();
        if state.unlocked.is_none() {
            return;
        }
        let groups = &mut state.groups;
        if !groups.reading.insert(chat) {
            groups.again.insert(chat);
            return;
        }
    }
    let shared = Rc::clone(shared);
    let generation = shared.borrow().generation;
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            let outcome = read_log(&shared, chat).await;
            let again = {
                let mut state = shared.borrow_mut();
                if state.generation != generation {
                    // Locked meanwhile: the flags are another profile's now.
                    return;
                }
                let groups = &mut state.groups;
                let again = groups.again.remove(&chat) || outcome == Ok(Read::More);
                if !again {
                    groups.reading.remove(&chat);
                }
                again
            };
            if outcome == Err(Fault::Lost) {
                shared.borrow_mut().groups.reading.remove(&chat);
                retry_later(&shared);
                return;
            }
            if !again {
                break;
            }
        }
        // A removal or a rekey changes what is watched.
        refresh(&shared);
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// At the log's end (or out of the group).
    Done,
    /// Stopped after [`MAX_ENTRIES_PER_READ`]: read on.
    More,
}

/// Runs `call` on the unlocked core, then pumps; `None` when locked.
fn with_core<T>(
    shared: &Rc<RefCell<Shared>>,
    call: impl FnOnce(&mut sotto_core::Core<sotto_sealed_store::mirror::MirrorStore>) -> T,
) -> Option<T> {
    let result = {
        let mut state = shared.borrow_mut();
        let unlocked = state.unlocked.as_mut()?;
        call(&mut unlocked.core)
    };
    pump(shared);
    Some(result)
}

/// The core's writes so far are on disk (what goes to the log now was made
/// by them); false when the profile was locked.
async fn written(shared: &Rc<RefCell<Shared>>) -> bool {
    let Some(mark) = shared
        .borrow()
        .unlocked
        .as_ref()
        .map(|unlocked| unlocked.core.write_mark())
    else {
        return false;
    };
    durable(shared, mark).await
}

/// One read of the log. See [`read`]; as `sotto receive` does
/// (`commands::groups::sync_group` in the CLI).
async fn read_log(shared: &Rc<RefCell<Shared>>, chat: ChatId) -> Result<Read, Fault> {
    let locked = Err(Fault::Lost);
    let Some(Ok(log)) = with_core(shared, |core| core.group_log(chat)) else {
        return locked;
    };
    rotate_if_due(shared, chat, &log).await?;
    let outbox = shared
        .borrow_mut()
        .groups
        .outbox
        .remove(&chat)
        .unwrap_or_default();
    if !outbox.is_empty() {
        if !written(shared).await {
            return locked;
        }
        for (index, entry) in outbox.iter().enumerate() {
            if let Err(fault) = append(shared, chat, entry.clone()).await {
                // What did not go waits for the next read; a text that was
                // lost for good the core sends again (`group_unsent`).
                let mut state = shared.borrow_mut();
                let waiting = state.groups.outbox.entry(chat).or_default();
                let rest = outbox[index..].iter().cloned();
                waiting.splice(0..0, rest);
                return Err(fault);
            }
        }
    }
    let mut appended_pending = false;
    let mut at_end = false;
    let mut read = Read::More;
    for _ in 0..MAX_ENTRIES_PER_READ {
        let Some(Ok(seq)) = with_core(shared, |core| core.group_cursor(chat)) else {
            return locked;
        };
        let Some(entry) = read_entry(shared, chat, seq).await? else {
            // The relay refuses this member: removed, or the log deleted.
            // The group ends here (its subscription goes at the next refresh).
            if with_core(shared, |core| core.group_log_gone(now(), chat)).is_none() {
                return locked;
            }
            return Ok(Read::Done);
        };
        let entry = match entry {
            Response::GroupEntry { entry, .. } => entry,
            Response::GroupPos { first, .. } if first > seq => {
                // Entries expired before this member read them.
                if with_core(shared, |core| core.skip_group_entries(chat, first)).is_none() {
                    return locked;
                }
                continue;
            }
            _ => {
                // At the end: a commit of ours still pending goes in now
                // (once: it comes back on the next read).
                let pending = with_core(shared, |core| core.pending_group_commit(chat));
                match pending {
                    Some(Ok(commit)) if !commit.is_empty() && !appended_pending => {
                        if !written(shared).await {
                            return locked;
                        }
                        // A long commit spans several entries, in order.
                        for entry in commit {
                            append(shared, chat, entry).await?;
                        }
                        appended_pending = true;
                        continue;
                    }
                    _ => {
                        at_end = true;
                        read = Read::Done;
                        break;
                    }
                }
            }
        };
        let update = with_core(shared, |core| {
            core.handle_group_entry(now(), &mut BrowserRng, chat, seq, &entry)
        });
        let update = match update {
            None => return locked,
            // The store refused: the entry is read again next time.
            Some(Err(_)) => return Ok(Read::Done),
            Some(Ok(update)) => update,
        };
        match update.change {
            Some(GroupChange::Removed | GroupChange::Deleted { by_me: false }) => {
                return Ok(Read::Done);
            }
            Some(GroupChange::Profile { .. }) => {
                emit(shared, &BridgeEvent::GroupProfileChanged { group: chat });
            }
            // Our deletion came back: the log goes now.
            Some(GroupChange::Deleted { by_me: true }) => {
                delete_log(shared, chat).await;
                return Ok(Read::Done);
            }
            _ => {}
        }
        if !update.append.is_empty() {
            if !written(shared).await {
                return locked;
            }
            for entry in update.append {
                append(shared, chat, entry).await?;
            }
        }
    }
    // At the log's end, our messages that never came back go again; the
    // receipts owed go out (both come back on the next read). Not while
    // messages wait in the outbox: written meanwhile, they are not in the
    // log yet, and made again they would reach the members twice.
    let waiting = shared
        .borrow()
        .groups
        .outbox
        .get(&chat)
        .is_some_and(|outbox| !outbox.is_empty());
    let owed = with_core(shared, |core| {
        let unsent = if at_end && !waiting {
            core.group_unsent(chat)?
        } else {
            Vec::new()
        };
        let receipts = core.group_receipts(now(), chat)?;
        Ok::<_, CoreError>(unsent.into_iter().chain(receipts).collect::<Vec<_>>())
    });
    let owed = match owed {
        None => return locked,
        Some(Err(_)) => Vec::new(),
        Some(Ok(owed)) => owed,
    };
    if !owed.is_empty() {
        if !written(shared).await {
            return locked;
        }
        for entry in owed {
            append(shared, chat, entry).await?;
        }
    }
    Ok(read)
}

/// The admin's GKEY to the secrets a removal derived, if due.
async fn rotate_if_due(
    shared: &Rc<RefCell<Shared>>,
    chat: ChatId,
    log: &GroupLog,
) -> Result<(), Fault> {
    let Some(Ok(Some((write, read)))) = with_core(shared, |core| core.group_rotation(chat)) else {
        return Ok(());
    };
    if let Some((admin_id, admin_key)) = &log.admin {
        let command = Command::GroupKey {
            admin_id: *admin_id,
            write_auth_key: write.public_key(),
            read_auth_key: read.public_key(),
        };
        match request(shared, &log.relay, command, Some(admin_key.clone())).await? {
            Response::Ok { .. } => {}
            _ => return Err(Fault::Unexpected),
        }
    }
    with_core(shared, |core| core.group_rotation_installed(chat));
    Ok(())
}

/// GREAD with the current secrets, or the old ones while the relay still
/// uses them ([`GroupLog::attempts`]): the entry (GENT) or where the log
/// stands (GPOS); `None` when the relay refuses every attempt.
async fn read_entry(
    shared: &Rc<RefCell<Shared>>,
    chat: ChatId,
    seq: u64,
) -> Result<Option<Response>, Fault> {
    let logs = with_core(shared, |core| {
        Ok::<_, CoreError>((core.group_log(chat)?, core.group_previous_log(chat)?))
    });
    let Some(Ok((log, previous))) = logs else {
        return Err(Fault::Lost);
    };
    let gread = |log: &GroupLog| {
        let command = Command::GroupRead {
            read_id: log.read.0,
            from: seq,
        };
        request(shared, &log.relay, command, Some(log.read.1.clone()))
    };
    let mut answer = None;
    for attempt in log.attempts(previous.as_ref()) {
        match gread(attempt.log).await {
            Ok(read) => {
                if attempt.current && previous.is_some() {
                    with_core(shared, |core| core.group_rotated(chat));
                }
                answer = Some(read);
                break;
            }
            Err(Fault::Refused(ErrorCode::Auth)) => {}
            Err(fault) => return Err(fault),
        }
    }
    let Some(answer) = answer else {
        return Ok(None);
    };
    match answer {
        Response::GroupEntry { seq: got, .. } if got == seq => Ok(Some(answer)),
        Response::GroupPos { .. } => Ok(Some(answer)),
        _ => Err(Fault::Unexpected),
    }
}

/// GAPP with the current secrets, or the old ones while the relay still
/// uses them ([`GroupLog::attempts`]).
async fn append(
    shared: &Rc<RefCell<Shared>>,
    chat: ChatId,
    entry: GroupEntry,
) -> Result<(), Fault> {
    let logs = with_core(shared, |core| {
        Ok::<_, CoreError>((core.group_log(chat)?, core.group_previous_log(chat)?))
    });
    let Some(Ok((log, previous))) = logs else {
        return Err(Fault::Lost);
    };
    let gapp = |log: &GroupLog, entry: GroupEntry| {
        let command = Command::GroupAppend {
            write_id: log.write.0,
            entry,
        };
        request(shared, &log.relay, command, Some(log.write.1.clone()))
    };
    let mut answer = Err(Fault::Refused(ErrorCode::Auth));
    for attempt in log.attempts(previous.as_ref()) {
        answer = gapp(attempt.log, entry.clone()).await;
        if !matches!(answer, Err(Fault::Refused(ErrorCode::Auth))) {
            break;
        }
    }
    match answer? {
        Response::GroupSeq { .. } => Ok(()),
        _ => Err(Fault::Unexpected),
    }
}

/// GDEL of a deleted group's log, as its admin (the member who made the
/// group; for anyone else the log goes with its TTL). A log gone already
/// counts as deleted; a failure leaves it for the next call.
pub(crate) async fn delete_log(shared: &Rc<RefCell<Shared>>, chat: ChatId) {
    let Some(Ok(log)) = with_core(shared, |core| core.group_log(chat)) else {
        return;
    };
    let Some((admin_id, admin_key)) = log.admin else {
        return;
    };
    let command = Command::GroupDel { admin_id };
    let _ = request(shared, &log.relay, command, Some(admin_key)).await;
}

/// GNEW on `relay`: a new log, with fresh keys (the admin's, the writers',
/// the readers').
pub(crate) async fn create_log(
    shared: &Rc<RefCell<Shared>>,
    relay: &RelayAddress,
) -> Result<GroupLog, Fault> {
    let (admin, write, read) = (secret(), secret(), secret());
    let command = Command::GroupNew {
        admin_auth_key: admin.public_key(),
        write_auth_key: write.public_key(),
        read_auth_key: read.public_key(),
        password: None,
    };
    match request(shared, relay, command, Some(admin.clone())).await? {
        Response::GroupIds {
            admin_id,
            write_id,
            read_id,
        } => Ok(GroupLog {
            relay: relay.clone(),
            admin: Some((admin_id, admin)),
            write: (write_id, write),
            read: (read_id, read),
        }),
        _ => Err(Fault::Unexpected),
    }
}

fn secret() -> QueueAuthSecret {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand_core::RngCore::fill_bytes(&mut BrowserRng, bytes.as_mut());
    QueueAuthSecret::from_bytes(*bytes)
}

/// Schedules [`refresh`] after the current wait, doubling it (a relay
/// that cannot be reached now).
fn retry_later(shared: &Rc<RefCell<Shared>>) {
    let delay = {
        let mut state = shared.borrow_mut();
        let groups = &mut state.groups;
        if groups.retry_armed {
            return;
        }
        groups.retry_armed = true;
        groups.retry_ms = (groups.retry_ms.saturating_mul(2)).clamp(FIRST_RETRY_MS, MAX_RETRY_MS);
        groups.retry_ms
    };
    let weak = Rc::downgrade(shared);
    let again = Closure::once_into_js(move || {
        if let Some(shared) = weak.upgrade() {
            shared.borrow_mut().groups.retry_armed = false;
            refresh(&shared);
            // Reads that failed go again (the subscriptions read too).
            let chats: Vec<ChatId> = shared.borrow().groups.watched.keys().copied().collect();
            for chat in chats {
                read(&shared, chat);
            }
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            again.unchecked_ref(),
            i32::try_from(delay).unwrap_or(i32::MAX),
        );
    }
}

/// The group logs' pool: their links also push news of the logs.
static GROUPS: PoolOwner = PoolOwner {
    pool: |shared| &mut shared.groups.links,
    max_queued_bytes: MAX_QUEUED_BYTES,
    open: |shared| shared.unlocked.is_some(),
    reported,
};

/// Submits `command` on the group link to `relay` (opened if need be) and
/// waits for its answer; a refusal comes as [`Fault::Refused`].
fn request(
    shared: &Rc<RefCell<Shared>>,
    relay: &RelayAddress,
    command: Command,
    auth: Option<QueueAuthSecret>,
) -> impl Future<Output = Result<Response, Fault>> + use<> {
    link_pool::request(shared, &GROUPS, relay, command, auth)
}

/// Takes a group link's pushes (each starts a read of its log); when the
/// link ended, its logs are subscribed again later.
fn reported(shared: &Rc<RefCell<Shared>>, name: &str, incoming: Vec<Incoming<u64>>) {
    let mut news = Vec::new();
    let mut ended = false;
    {
        let mut state = shared.borrow_mut();
        let groups = &mut state.groups;
        let chat_of = |groups: &Groups, read_id: &GroupReadId| {
            groups
                .watched
                .iter()
                .find(|(_, watched)| {
                    watched.relay == name && watched.subscribed.as_ref() == Some(read_id)
                })
                .map(|(chat, _)| *chat)
        };
        for item in incoming {
            match item {
                Incoming::GroupNews(read_id) => news.extend(chat_of(groups, &read_id)),
                Incoming::GroupEnd(read_id) => {
                    if let Some(chat) = chat_of(groups, &read_id) {
                        // Subscribed again with the new secrets after the read.
                        groups.watched.remove(&chat);
                        news.push(chat);
                    }
                }
                Incoming::Ended(_) => {
                    groups.watched.retain(|_, watched| watched.relay != name);
                    ended = true;
                }
                Incoming::Answer { .. }
                | Incoming::Failed(_)
                | Incoming::Connected
                | Incoming::Delivery { .. }
                | Incoming::End(_) => {}
            }
        }
    }
    for chat in news {
        read(shared, chat);
    }
    if ended {
        retry_later(shared);
    }
}
