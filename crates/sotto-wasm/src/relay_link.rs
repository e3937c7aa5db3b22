//! One relay connection over the browser's WebSocket: a thin driver of
//! [`ClientConnection`], which does the whole protocol (handshake, command
//! keys, batching, correlation, keep-alive, request timeouts).
//!
//! The link owns the socket, the connection's timer and the map from the
//! connection's request ids to the core's tokens; it writes what the
//! connection has ready after every input and turns the connection's events
//! into what the core is told ([`Incoming`]). Commands handed over with
//! [`RelayLink::submit`] go out together at the next [`RelayLink::flush`], so
//! that they share blocks.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use rand_core::RngCore;
use sotto_core::{RelayRequest, RequestToken};
use sotto_wire::{
    CipherSuite, ClientConnection, ConnectionConfig, ConnectionEnd, Event, GroupReadId, MessageId,
    RecipientId, RelayAddress, RelayScheme, Request, RequestId, Response, SealedMessage,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, MessageEvent, WebSocket};

use crate::client::error;
use crate::rng::BrowserRng;

/// Bytes of commands a link of the core's holds before it refuses more (the
/// core retries refused requests on its own schedule).
const MAX_QUEUED_BYTES: usize = 1 << 20;

/// The same for a link that carries file chunks: its requests are pieces
/// of up to 16 KiB, a few chunks' windows of them at once.
pub(crate) const MAX_FILE_QUEUED_BYTES: usize = 8 << 20;

/// What the socket and the timer report to the link's owner.
pub(crate) enum Signal {
    Open,
    Frame(Vec<u8>),
    Closed,
    Timer,
}

/// What the connection's events mean for the link's owner: the core, whose
/// requests carry its tokens, or the file transfers (`crate::file_runner`),
/// whose requests carry their own.
pub(crate) enum Incoming<T = RequestToken> {
    /// The handshake is done: subscribe and send what waits.
    Connected,
    Answer {
        token: T,
        response: Response,
        suite: CipherSuite,
    },
    Delivery {
        recipient_id: RecipientId,
        message_id: MessageId,
        sealed: SealedMessage,
        suite: CipherSuite,
    },
    /// The request got no answer (timeout or the connection ended).
    Failed(T),
    /// END: another connection subscribed this queue.
    End(RecipientId),
    /// GENT pushed: a subscribed group log has a new entry (read from the
    /// member's cursor with GREAD, so that entries come once and in order).
    GroupNews(GroupReadId),
    /// GEND: this link's subscription of a group log ended (its read key
    /// was replaced, or the log deleted).
    GroupEnd(GroupReadId),
    /// The connection is over; every open request was failed before this.
    Ended(ConnectionEnd),
}

/// One relay connection. [`RelayLink::close`] closes the socket.
pub(crate) struct RelayLink<T = RequestToken> {
    pub(crate) address: RelayAddress,
    socket: WebSocket,
    connection: ClientConnection,
    /// The socket is open: frames may be written.
    open: bool,
    /// The cipher suite settled by the handshake (answers and deliveries
    /// are opened by the core with it).
    suite: Option<CipherSuite>,
    tokens: HashMap<RequestId, T>,
    /// Bytes of commands held before more are refused.
    max_queued: usize,
    /// The armed timer's id and the deadline it was armed for.
    timer: Option<(i32, Duration)>,
    /// Kept for the link's life, then leaked (see [`RelayLink::detach`]).
    on_timer: Option<Closure<dyn FnMut(JsValue)>>,
    _handlers: [Closure<dyn FnMut(JsValue)>; 3],
}

impl RelayLink<RequestToken> {
    /// Opens a link for the core's requests (see [`RelayLink::open`]).
    pub(crate) fn connect(
        address: RelayAddress,
        notify: Rc<dyn Fn(Signal)>,
    ) -> Result<RelayLink, JsValue> {
        RelayLink::open(address, notify, MAX_QUEUED_BYTES)
    }

    /// Queues a request for the next [`RelayLink::flush`]; refuses it (with
    /// its token) when the link holds too much already.
    pub(crate) fn submit(&mut self, request: RelayRequest) -> Result<(), RequestToken> {
        self.submit_command(
            Request {
                command: request.command,
                auth: request.auth_key,
            },
            request.token,
        )
    }
}

impl<T> RelayLink<T> {
    /// Opens the socket; `notify` hears of its opening, frames and end, and
    /// of the connection's timer; the link holds up to `max_queued` bytes of
    /// commands. Plain WebSocket only to a loopback relay, as the native
    /// client ([`ensure_transport`]).
    pub(crate) fn open(
        address: RelayAddress,
        notify: Rc<dyn Fn(Signal)>,
        max_queued: usize,
    ) -> Result<RelayLink<T>, JsValue> {
        ensure_transport(&address)?;
        let socket = WebSocket::new(&address.websocket_url())?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let mut seed = [0u8; 32];
        BrowserRng.fill_bytes(&mut seed);
        let connection = ClientConnection::new(
            address.fingerprint,
            ConnectionConfig::default(),
            seed,
            now(),
        );
        let handler = |signal: fn() -> Signal| {
            let notify = Rc::clone(&notify);
            Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| notify(signal()))
        };
        let on_open = handler(|| Signal::Open);
        let on_close = handler(|| Signal::Closed);
        let on_timer = handler(|| Signal::Timer);
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let bytes = event
                .dyn_into::<MessageEvent>()
                .ok()
                .and_then(|event| event.data().dyn_into::<js_sys::ArrayBuffer>().ok())
                .map(|buffer| js_sys::Uint8Array::new(&buffer).to_vec());
            match bytes {
                Some(bytes) => notify(Signal::Frame(bytes)),
                // A text frame is not the protocol.
                None => notify(Signal::Closed),
            }
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        socket.set_onerror(Some(on_close.as_ref().unchecked_ref()));
        let mut link = RelayLink {
            address,
            socket,
            connection,
            open: false,
            suite: None,
            tokens: HashMap::new(),
            max_queued,
            timer: None,
            on_timer: Some(on_timer),
            _handlers: [on_open, on_message, on_close],
        };
        // The handshake's deadline runs from now, opening the socket included.
        link.arm_timer();
        Ok(link)
    }

    /// Feeds one signal to the connection, writes what it has ready and
    /// returns what the core must hear.
    pub(crate) fn handle(&mut self, signal: Signal) -> Vec<Incoming<T>> {
        match signal {
            Signal::Open => self.open = true,
            Signal::Frame(bytes) => self.connection.handle_frame(now(), &bytes),
            Signal::Closed => self.connection.close(),
            // The timer's id stays: another may have been armed since this one
            // fired, and it must still be cleared when the link closes; but the
            // next arming must not count on one that has fired.
            Signal::Timer => {
                let now = now();
                if let Some((id, at)) = self.timer
                    && at <= now
                {
                    self.timer = Some((id, Duration::MAX));
                }
                self.connection.handle_timeout(now);
            }
        }
        self.flush()
    }

    /// Queues `request` for the next [`RelayLink::flush`], its answer to
    /// come with `token`; refuses it (handing `token` back) when the link
    /// holds too much already.
    pub(crate) fn submit_command(&mut self, request: Request, token: T) -> Result<(), T> {
        if self.connection.queued_bytes() >= self.max_queued {
            return Err(token);
        }
        match self.connection.submit(request) {
            Ok(id) => {
                self.tokens.insert(id, token);
                Ok(())
            }
            Err(_) => Err(token),
        }
    }

    /// Writes every block the connection has ready, arms its timer, and
    /// returns its events.
    pub(crate) fn flush(&mut self) -> Vec<Incoming<T>> {
        if self.open {
            while let Some(block) = self.connection.poll_transmit(now()) {
                if self.socket.send_with_u8_array(block.as_bytes()).is_err() {
                    self.connection.close();
                    break;
                }
            }
        }
        self.arm_timer();
        self.events()
    }

    /// Closes the socket and the connection; returns the requests it held.
    pub(crate) fn close(mut self) -> Vec<T> {
        self.detach();
        self.connection.close();
        self.events()
            .into_iter()
            .filter_map(|incoming| match incoming {
                Incoming::Failed(token) => Some(token),
                _ => None,
            })
            .collect()
    }

    /// Stops the socket and the timer from calling handlers that are about to
    /// be dropped (calling a dropped closure throws in the page).
    fn detach(&mut self) {
        self.clear_timer();
        // A timer that fired already may still be queued in a page whose
        // clock was moved (a cleared id does not always stop it): the few
        // bytes of the timer's handler are leaked rather than freed under it.
        if let Some(on_timer) = self.on_timer.take() {
            on_timer.forget();
        }
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        self.socket.set_onerror(None);
        let _ = self.socket.close();
    }

    fn events(&mut self) -> Vec<Incoming<T>> {
        let mut incoming = Vec::new();
        while let Some(event) = self.connection.poll_event() {
            let suite = self.suite;
            match event {
                Event::Connected(parameters) => {
                    self.suite = Some(parameters.suite);
                    incoming.push(Incoming::Connected);
                }
                Event::Answer { id, response } => {
                    if let (Some(token), Some(suite)) = (self.tokens.remove(&id), suite) {
                        incoming.push(Incoming::Answer {
                            token,
                            response,
                            suite,
                        });
                    }
                }
                Event::Failed { id, .. } => {
                    if let Some(token) = self.tokens.remove(&id) {
                        incoming.push(Incoming::Failed(token));
                    }
                }
                Event::Push(Response::Msg {
                    recipient_id,
                    message_id,
                    sealed,
                }) => {
                    if let Some(suite) = suite {
                        incoming.push(Incoming::Delivery {
                            recipient_id,
                            message_id,
                            sealed,
                            suite,
                        });
                    }
                }
                // Another connection took the queue.
                Event::Push(Response::End { recipient_id }) => {
                    incoming.push(Incoming::End(recipient_id));
                }
                Event::Push(Response::GroupEntry { read_id, .. }) => {
                    incoming.push(Incoming::GroupNews(read_id));
                }
                Event::Push(Response::GroupEnd { read_id }) => {
                    incoming.push(Incoming::GroupEnd(read_id));
                }
                // ERR pushes: the core learns of a lost subscription when it
                // next subscribes.
                Event::Push(_) => {}
                Event::Ended(end) => {
                    self.clear_timer();
                    // The connection failed every open request before this;
                    // nothing may stay unanswered.
                    incoming.extend(
                        self.tokens
                            .drain()
                            .map(|(_, token)| Incoming::Failed(token)),
                    );
                    incoming.push(Incoming::Ended(end));
                }
            }
        }
        incoming
    }

    /// Arms the timer for the connection's next deadline, unless it is armed
    /// for that deadline or an earlier one already: the deadline moves with
    /// every block received, and a timer that fires early only has the
    /// connection look at the clock (and the timer armed again).
    fn arm_timer(&mut self) {
        let Some(at) = self.connection.poll_timeout() else {
            self.clear_timer();
            return;
        };
        if self.timer.is_some_and(|(_, armed)| armed <= at) {
            return;
        }
        self.clear_timer();
        let Some(window) = web_sys::window() else {
            return;
        };
        let delay = at.saturating_sub(now()).as_millis().min(i32::MAX as u128);
        // Lossless: bounded by i32::MAX just above.
        let delay = delay as i32;
        let Some(on_timer) = &self.on_timer else {
            return;
        };
        if let Ok(id) = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            on_timer.as_ref().unchecked_ref(),
            delay.saturating_add(1),
        ) {
            self.timer = Some((id, at));
        }
    }

    fn clear_timer(&mut self) {
        if let (Some((id, _)), Some(window)) = (self.timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(id);
        }
    }
}

impl<T> Drop for RelayLink<T> {
    fn drop(&mut self) {
        // Also when the whole client goes away without closing its links.
        self.detach();
    }
}

/// The connection's clock: the page's monotonic time.
fn now() -> Duration {
    let millis = web_sys::window()
        .and_then(|window| window.performance())
        .map_or_else(js_sys::Date::now, |performance| performance.now());
    Duration::from_secs_f64(millis.max(0.0) / 1000.0)
}

/// Refuses plain WebSocket (`sotto+ws://`) to a relay that is not on
/// loopback: anyone on the path would see and could change its traffic
/// (metadata and the relay's identity check aside, the browser's `ws://`
/// offers no transport protection). The native client has the same rule.
pub(crate) fn ensure_transport(address: &RelayAddress) -> Result<(), JsValue> {
    if address.scheme == RelayScheme::Plain && !address.is_loopback() {
        return Err(error(
            "insecure-relay",
            "plain WebSocket (sotto+ws://) is allowed only to a relay on this machine; use a sotto:// (wss) address",
        ));
    }
    Ok(())
}
