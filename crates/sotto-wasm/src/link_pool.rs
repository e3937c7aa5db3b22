//! Requests on relay links kept apart from the profile's queue links (the
//! file transfers' links, the group logs' links): one link per relay in a
//! pool, opened when a request needs it and dropped when it ends (the next
//! request opens another); each request's answer comes back as a [`Reply`]
//! future. What a link reports besides answers (a group log's pushes, the
//! link's end) goes to the pool's owner.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use sotto_wire::{Command, ErrorCode, QueueAuthSecret, RelayAddress, Request, Response};
use wasm_bindgen::prelude::*;

use crate::client::Shared;
use crate::relay_link::{Incoming, RelayLink, Signal};

/// Why a request to a relay did not do what it asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The relay refused it.
    Refused(ErrorCode),
    /// No answer: the link ended, timed out or holds too much.
    Lost,
    /// An answer that does not fit the request.
    Unexpected,
    /// The copy in the browser's storage could not be read or written.
    Local,
}

impl Fault {
    /// The relay does not know the entity (deleted, expired, never there).
    pub(crate) fn is_gone(self) -> bool {
        self == Fault::Refused(ErrorCode::Auth)
    }
}

#[derive(Default)]
struct ReplySlot {
    value: Option<Result<Response, Fault>>,
    waker: Option<Waker>,
    done: bool,
}

impl ReplySlot {
    fn complete(&mut self, value: Result<Response, Fault>) {
        if self.done {
            return;
        }
        self.done = true;
        self.value = Some(value);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// The answer to one request, once it comes.
pub(crate) struct Reply(Rc<RefCell<ReplySlot>>);

impl Reply {
    fn failed() -> Reply {
        let slot = Rc::new(RefCell::new(ReplySlot::default()));
        slot.borrow_mut().complete(Err(Fault::Lost));
        Reply(slot)
    }
}

impl Future for Reply {
    type Output = Result<Response, Fault>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.0.borrow_mut();
        match slot.value.take() {
            Some(value) => Poll::Ready(value),
            None if slot.done => Poll::Ready(Err(Fault::Lost)),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// One relay link per relay, and the requests waiting for their answers.
#[derive(Default)]
pub(crate) struct LinkPool {
    links: HashMap<String, RelayLink<u64>>,
    replies: HashMap<u64, Rc<RefCell<ReplySlot>>>,
    next_token: u64,
}

impl LinkPool {
    /// Closes every link; the requests waiting find their answers lost.
    pub(crate) fn stop(&mut self) {
        for (_, link) in self.links.drain() {
            link.close();
        }
        for (_, slot) in self.replies.drain() {
            slot.borrow_mut().complete(Err(Fault::Lost));
        }
    }

    /// Hands the answers in `incoming` (from the link to relay `name`) to
    /// their requests; when the link ended, drops it and fails what it
    /// carried. Gives back everything else it reported, the end included.
    fn settle(&mut self, name: &str, incoming: Vec<Incoming<u64>>) -> Vec<Incoming<u64>> {
        let mut completed = Vec::new();
        let mut rest = Vec::new();
        for item in incoming {
            match item {
                Incoming::Answer {
                    token, response, ..
                } => completed.push((token, Ok(response))),
                Incoming::Failed(token) => completed.push((token, Err(Fault::Lost))),
                Incoming::Ended(reason) => {
                    if let Some(link) = self.links.remove(name) {
                        for token in link.close() {
                            completed.push((token, Err(Fault::Lost)));
                        }
                    }
                    rest.push(Incoming::Ended(reason));
                }
                other => rest.push(other),
            }
        }
        for (token, value) in completed {
            if let Some(slot) = self.replies.remove(&token) {
                slot.borrow_mut().complete(value);
            }
        }
        rest
    }
}

/// What an owner does with the rest of what a link to relay `name`
/// reported.
pub(crate) type Reported = fn(shared: &Rc<RefCell<Shared>>, name: &str, Vec<Incoming<u64>>);

/// A pool and its owner: where the pool is in the page's state, how much
/// one of its links holds, and what the owner does with what its links
/// report besides answers.
pub(crate) struct PoolOwner {
    /// The pool in the page's state.
    pub(crate) pool: fn(&mut Shared) -> &mut LinkPool,
    /// Bytes of commands a link holds before it refuses more.
    pub(crate) max_queued_bytes: usize,
    /// Whether a request may go now (none while the profile is locked, say).
    pub(crate) open: fn(&Shared) -> bool,
    /// Takes what a link to relay `name` reported besides answers.
    pub(crate) reported: Reported,
}

/// Submits `command` on `owner`'s link to `relay` (opened if need be) and
/// writes it out; the answer comes with the returned [`Reply`].
pub(crate) fn submit(
    shared: &Rc<RefCell<Shared>>,
    owner: &'static PoolOwner,
    relay: &RelayAddress,
    command: Command,
    auth: Option<QueueAuthSecret>,
) -> Reply {
    let key = relay.to_string();
    let (reply, incoming) = {
        let mut state = shared.borrow_mut();
        if !(owner.open)(&state) {
            return Reply::failed();
        }
        let pool = (owner.pool)(&mut state);
        if !pool.links.contains_key(&key) {
            match open_link(shared, owner, relay) {
                Ok(link) => {
                    pool.links.insert(key.clone(), link);
                }
                Err(_) => return Reply::failed(),
            }
        }
        let token = pool.next_token;
        pool.next_token += 1;
        let Some(link) = pool.links.get_mut(&key) else {
            return Reply::failed();
        };
        if link
            .submit_command(Request { command, auth }, token)
            .is_err()
        {
            return Reply::failed();
        }
        let slot = Rc::new(RefCell::new(ReplySlot::default()));
        pool.replies.insert(token, Rc::clone(&slot));
        (Reply(slot), link.flush())
    };
    deliver(shared, owner, &key, incoming);
    reply
}

/// Submits and waits for the answer; a refusal comes as
/// [`Fault::Refused`].
pub(crate) fn request(
    shared: &Rc<RefCell<Shared>>,
    owner: &'static PoolOwner,
    relay: &RelayAddress,
    command: Command,
    auth: Option<QueueAuthSecret>,
) -> impl Future<Output = Result<Response, Fault>> + use<> {
    let reply = submit(shared, owner, relay, command, auth);
    async move {
        match reply.await? {
            Response::Err { code, .. } => Err(Fault::Refused(code)),
            response => Ok(response),
        }
    }
}

fn open_link(
    shared: &Rc<RefCell<Shared>>,
    owner: &'static PoolOwner,
    relay: &RelayAddress,
) -> Result<RelayLink<u64>, JsValue> {
    let weak = Rc::downgrade(shared);
    let name = relay.to_string();
    // Signals are handled after the socket's handler returns, never inside
    // it: handling may drop the link and with it the handler.
    let notify: Rc<dyn Fn(Signal)> = Rc::new(move |signal| {
        let weak = Weak::clone(&weak);
        let name = name.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(shared) = weak.upgrade() {
                let incoming = {
                    let mut state = shared.borrow_mut();
                    (owner.pool)(&mut state)
                        .links
                        .get_mut(&name)
                        .map(|link| link.handle(signal))
                };
                if let Some(incoming) = incoming {
                    deliver(&shared, owner, &name, incoming);
                }
            }
        });
    });
    RelayLink::open(relay.clone(), notify, owner.max_queued_bytes)
}

/// Hands a link's answers to their requests and the rest to its owner.
fn deliver(
    shared: &Rc<RefCell<Shared>>,
    owner: &'static PoolOwner,
    name: &str,
    incoming: Vec<Incoming<u64>>,
) {
    let rest = {
        let mut state = shared.borrow_mut();
        (owner.pool)(&mut state).settle(name, incoming)
    };
    if !rest.is_empty() {
        (owner.reported)(shared, name, rest);
    }
}
