//! One relay connection over the browser's WebSocket: the relay handshake
//! (refusing a relay whose key does not match the address's fingerprint),
//! then one encrypted block of 16384 bytes per frame each way.
//!
//! The link only speaks the wire protocol; what the answers mean is the
//! core's business. Each command goes in a block of its own, so sender and
//! recipient commands never share one.
//
// The native runtime (`sotto-client`'s `relay` module) does the same over
// tokio; a sans-IO connection state machine in `sotto-wire` or `sotto-core`
// could serve both.

use std::collections::HashMap;
use std::rc::Rc;

use sotto_core::{RelayRequest, RequestToken};
use sotto_wire::{
    Block, ClientHandshake, CorrId, InnerBlock, MessageId, RecipientId, RelayAddress, Response,
    SealedMessage, SessionId, Transmission, Transport, VersionRange,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, MessageEvent, WebSocket};

/// What the socket reports to the link's owner.
pub(crate) enum Signal {
    Open,
    Frame(Vec<u8>),
    Closed,
}

/// What a frame from the relay means for the core.
pub(crate) enum Incoming {
    /// The handshake is done: subscribe and send what waits.
    Connected,
    Answer(RequestToken, Response),
    Delivery {
        recipient_id: RecipientId,
        message_id: MessageId,
        sealed: SealedMessage,
    },
}

enum Phase {
    Opening(Option<ClientHandshake>, Option<Block>),
    Ready(Transport, SessionId),
}

/// One relay connection. Dropping it closes the socket.
pub(crate) struct RelayLink {
    pub(crate) address: RelayAddress,
    socket: WebSocket,
    phase: Phase,
    /// Requests made before the handshake finished.
    pending: Vec<RelayRequest>,
    waiting: HashMap<CorrId, RequestToken>,
    next_corr_id: u64,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl RelayLink {
    /// Opens the socket; `notify` hears of its opening, frames and end.
    pub(crate) fn connect(
        address: RelayAddress,
        ephemeral_secret: [u8; 32],
        notify: Rc<dyn Fn(Signal)>,
    ) -> Result<RelayLink, JsValue> {
        let socket = WebSocket::new(&address.websocket_url())?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let (handshake, hello) = ClientHandshake::start(ephemeral_secret, VersionRange::SUPPORTED);
        let on_open = {
            let notify = Rc::clone(&notify);
            Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| notify(Signal::Open))
        };
        let on_message = {
            let notify = Rc::clone(&notify);
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
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
            })
        };
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| notify(Signal::Closed));
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        socket.set_onerror(Some(on_close.as_ref().unchecked_ref()));
        Ok(RelayLink {
            address,
            socket,
            phase: Phase::Opening(Some(handshake), Some(hello)),
            pending: Vec::new(),
            waiting: HashMap::new(),
            next_corr_id: 1,
            _handlers: vec![on_open, on_message, on_close],
        })
    }

    /// The socket is open: say hello.
    pub(crate) fn opened(&mut self) -> Result<(), JsValue> {
        if let Phase::Opening(_, hello) = &mut self.phase
            && let Some(hello) = hello.take()
        {
            self.socket.send_with_u8_array(hello.as_bytes())?;
        }
        Ok(())
    }

    /// A frame from the relay.
    pub(crate) fn frame(&mut self, bytes: &[u8]) -> Result<Vec<Incoming>, String> {
        let block = Block::from_slice(bytes).map_err(|error| error.to_string())?;
        match &mut self.phase {
            Phase::Opening(handshake, _) => {
                let handshake = handshake.take().ok_or("a second hello")?;
                let transport = handshake
                    .handle_server_hello(&block, &self.address.fingerprint)
                    .map_err(|error| error.to_string())?;
                let session_id = transport.session_id();
                self.phase = Phase::Ready(transport, session_id);
                for request in std::mem::take(&mut self.pending) {
                    self.send(request)?;
                }
                Ok(vec![Incoming::Connected])
            }
            Phase::Ready(transport, _) => {
                let inner = transport.open(block).map_err(|error| error.to_string())?;
                let mut incoming = Vec::new();
                for encoded in inner.transmissions() {
                    let transmission =
                        Transmission::decode(encoded).map_err(|error| error.to_string())?;
                    let response = Response::from_transmission(&transmission)
                        .map_err(|error| error.to_string())?;
                    if !transmission.corr_id.is_push() {
                        if let Some(token) = self.waiting.remove(&transmission.corr_id) {
                            incoming.push(Incoming::Answer(token, response));
                        }
                    } else if let Response::Msg {
                        recipient_id,
                        message_id,
                        sealed,
                    } = response
                    {
                        incoming.push(Incoming::Delivery {
                            recipient_id,
                            message_id,
                            sealed,
                        });
                    }
                }
                Ok(incoming)
            }
        }
    }

    /// Sends a request now, or once the handshake is done.
    pub(crate) fn send(&mut self, request: RelayRequest) -> Result<(), String> {
        let Phase::Ready(transport, session_id) = &mut self.phase else {
            self.pending.push(request);
            return Ok(());
        };
        let corr_id = CorrId::from_bytes(self.next_corr_id.to_be_bytes());
        self.next_corr_id += 1;
        let transmission = match &request.signing_key {
            Some(key) => request
                .command
                .to_signed_transmission(corr_id, session_id, key),
            None => request.command.to_transmission(corr_id),
        };
        let mut inner = InnerBlock::new();
        inner
            .push_encoded(transmission.encode())
            .map_err(|error| error.to_string())?;
        let block = transport.seal(&inner).map_err(|error| error.to_string())?;
        self.socket
            .send_with_u8_array(block.as_bytes())
            .map_err(|_| "the relay connection is closed".to_owned())?;
        self.waiting.insert(corr_id, request.token);
        Ok(())
    }

    /// The link is gone: every request it held, to report as failed.
    pub(crate) fn close(mut self) -> Vec<RequestToken> {
        let _ = self.socket.close();
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        self.socket.set_onerror(None);
        let mut tokens: Vec<RequestToken> = self.waiting.drain().map(|(_, token)| token).collect();
        tokens.extend(self.pending.drain(..).map(|request| request.token));
        tokens
    }
}
