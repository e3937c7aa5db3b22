//! Requests on the file transfers' own relay links: one link per relay,
//! opened when a request needs it and dropped when it ends (the next request
//! opens another); each request's answer comes back as a [`Reply`] future.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use sotto_wire::{Command, ErrorCode, QueueAuthSecret, RelayAddress, Request, Response};
use wasm_bindgen::prelude::*;

use crate::client::Shared;
use crate::relay_link::{Incoming, MAX_FILE_QUEUED_BYTES, RelayLink, Signal};

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
    /// The relay does not know the chunk (deleted, expired, never there).
    pub(super) fn is_gone(self) -> bool {
        self == Fault::Refused(ErrorCode::Auth)
    }
}

#[derive(Default)]
pub(crate) struct ReplySlot {
    value: Option<Result<Response, Fault>>,
    waker: Option<Waker>,
    done: bool,
}

impl ReplySlot {
    pub(crate) fn complete(&mut self, value: Result<Response, Fault>) {
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
pub(crate) struct Reply(pub(crate) Rc<RefCell<ReplySlot>>);

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

/// Submits `command` on the file link to `relay` (opened if need be) and
/// writes it out; the answer comes with the returned [`Reply`].
pub(super) fn submit(
    shared: &Rc<RefCell<Shared>>,
    relay: &RelayAddress,
    command: Command,
    auth: Option<QueueAuthSecret>,
) -> Reply {
    let slot = Rc::new(RefCell::new(ReplySlot::default()));
    let key = relay.to_string();
    let incoming = {
        let mut state = shared.borrow_mut();
        let files = &mut state.files;
        if !files.links.contains_key(&key) {
            match open_link(shared, relay) {
                Ok(link) => {
                    files.links.insert(key.clone(), link);
                }
                Err(_) => {
                    slot.borrow_mut().complete(Err(Fault::Lost));
                    return Reply(slot);
                }
            }
        }
        let token = files.next_token;
        files.next_token += 1;
        let Some(link) = files.links.get_mut(&key) else {
            slot.borrow_mut().complete(Err(Fault::Lost));
            return Reply(slot);
        };
        if link
            .submit_command(Request { command, auth }, token)
            .is_err()
        {
            slot.borrow_mut().complete(Err(Fault::Lost));
            return Reply(slot);
        }
        files.replies.insert(token, Rc::clone(&slot));
        link.flush()
    };
    deliver(shared, &key, incoming);
    Reply(slot)
}

/// Submits and waits for the answer.
pub(super) async fn request(
    shared: &Rc<RefCell<Shared>>,
    relay: &RelayAddress,
    command: Command,
    auth: Option<QueueAuthSecret>,
) -> Result<Response, Fault> {
    submit(shared, relay, command, auth).await
}

pub(super) fn open_link(
    shared: &Rc<RefCell<Shared>>,
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
                    state
                        .files
                        .links
                        .get_mut(&name)
                        .map(|link| link.handle(signal))
                };
                if let Some(incoming) = incoming {
                    deliver(&shared, &name, incoming);
                }
            }
        });
    });
    RelayLink::open(relay.clone(), notify, MAX_FILE_QUEUED_BYTES)
}

/// Hands the answers a file link reported to their requests; drops the
/// link if it ended (the next request opens another).
pub(super) fn deliver(shared: &Rc<RefCell<Shared>>, name: &str, incoming: Vec<Incoming<u64>>) {
    let mut completed = Vec::new();
    {
        let mut state = shared.borrow_mut();
        let files = &mut state.files;
        for item in incoming {
            match item {
                Incoming::Answer {
                    token, response, ..
                } => completed.push((token, Ok(response))),
                Incoming::Failed(token) => completed.push((token, Err(Fault::Lost))),
                Incoming::Ended(_) => {
                    if let Some(link) = files.links.remove(name) {
                        for token in link.close() {
                            completed.push((token, Err(Fault::Lost)));
                        }
                    }
                }
                Incoming::Connected
                | Incoming::Delivery { .. }
                | Incoming::End(_)
                | Incoming::GroupNews(_)
                | Incoming::GroupEnd(_) => {}
            }
        }
        for (token, value) in completed {
            if let Some(slot) = files.replies.remove(&token) {
                slot.borrow_mut().complete(value);
            }
        }
    }
}
