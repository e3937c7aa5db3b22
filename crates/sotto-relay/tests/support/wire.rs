//! Clients built on `sotto-wire` alone, for what a well-behaved client never
//! sends: [`Client`] authorizes and batches commands and sorts what comes back into
//! replies (by corr id) and pushes; [`RawSession`] seals any encoded
//! transmissions; [`QueueOwner`] holds a recipient's keys for one queue.

use std::collections::VecDeque;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use sotto_wire::x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use sotto_wire::{
    Block, BlockOpener, BlockSealer, CipherSuite, ClientHandshake, Command, CommandKey, CorrId,
    EntityId, ErrorCode, InnerBlock, MessageBody, QueueAuthSecret, QueueKey, QueueMessage,
    RecipientId, RelayAddress, Response, SenderId, SessionId, Transmission, Transport,
    VersionRange, WireError,
};
use tokio_tungstenite::tungstenite::Message;

use super::{Socket, WAIT, content_bytes, next_frame, open_socket, random, raw_socket, within};

/// A client connection after the handshake.
pub struct Client {
    socket: Socket,
    transport: Transport,
    replies: VecDeque<(CorrId, Response)>,
    pushes: VecDeque<Response>,
    next_corr: u64,
}

/// Why a connection attempt failed.
#[derive(Debug)]
pub enum ConnectError {
    /// The relay's reply failed the client's checks.
    Refused(WireError),
    /// The relay closed or sent something else than a block.
    Closed,
}

impl Client {
    /// Connects and completes the handshake, checking the relay's fingerprint.
    pub async fn connect(address: &RelayAddress) -> Result<Client, ConnectError> {
        Client::connect_with(address, VersionRange::SUPPORTED).await
    }

    /// Connects offering `versions`.
    pub async fn connect_with(
        address: &RelayAddress,
        versions: VersionRange,
    ) -> Result<Client, ConnectError> {
        let mut socket = open_socket(address).await;
        let (handshake, hello) = ClientHandshake::start(random(), versions);
        socket.send(binary(hello)).await.unwrap();
        let reply = next_block(&mut socket).await.ok_or(ConnectError::Closed)?;
        let transport = handshake
            .handle_server_hello(&reply, &address.fingerprint)
            .map_err(ConnectError::Refused)?;
        Ok(Client {
            socket,
            transport,
            replies: VecDeque::new(),
            pushes: VecDeque::new(),
            next_corr: 1,
        })
    }

    /// The session id that command keys bind to.
    pub fn session_id(&self) -> SessionId {
        self.transport.session_id()
    }

    /// The cipher suite the handshake chose (it seals delivered messages too).
    pub fn suite(&self) -> CipherSuite {
        self.transport.suite()
    }

    /// The command key of the queue auth secret `secret` on this connection.
    pub fn command_key(&self, secret: &QueueAuthSecret) -> CommandKey {
        command_key(&self.transport, secret)
    }

    /// A fresh correlation id.
    pub fn corr_id(&mut self) -> CorrId {
        let id = CorrId::from_bytes(self.next_corr.to_be_bytes());
        self.next_corr += 1;
        id
    }

    /// The transmission of `command`, authorized with `key` if given.
    pub fn transmission(
        &mut self,
        command: &Command,
        key: Option<&QueueAuthSecret>,
    ) -> Transmission {
        let corr_id = self.corr_id();
        match key {
            Some(key) => command.to_authorized_transmission(corr_id, &self.command_key(key)),
            None => command.to_transmission(corr_id),
        }
    }

    /// Sends transmissions batched in one block.
    pub async fn send_batch(&mut self, transmissions: &[Transmission]) {
        let mut inner = InnerBlock::new();
        for transmission in transmissions {
            inner.push(transmission).unwrap();
        }
        let block = self.transport.seal(&inner).unwrap();
        self.socket.send(binary(block)).await.unwrap();
    }

    /// Sends an arbitrary WebSocket message (for bad-input tests).
    pub async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.unwrap();
    }

    /// Sends one command and waits for its reply (pushes that come first are
    /// kept for [`Client::next_push`]).
    pub async fn request(&mut self, command: &Command, key: Option<&QueueAuthSecret>) -> Response {
        let transmission = self.transmission(command, key);
        let corr_id = transmission.corr_id;
        self.send_batch(&[transmission]).await;
        self.reply_to(corr_id).await
    }

    /// Waits for the reply with this correlation id.
    pub async fn reply_to(&mut self, corr_id: CorrId) -> Response {
        loop {
            if let Some(index) = self.replies.iter().position(|(id, _)| *id == corr_id) {
                return self.replies.remove(index).unwrap().1;
            }
            self.receive()
                .await
                .expect("connection closed while waiting for a reply");
        }
    }

    /// Waits for the next push (MSG, END, GENT or GEND with an all-zero corr
    /// id).
    pub async fn next_push(&mut self) -> Response {
        loop {
            if let Some(push) = self.pushes.pop_front() {
                return push;
            }
            self.receive()
                .await
                .expect("connection closed while waiting for a push");
        }
    }

    /// A push if one arrives within `wait`.
    pub async fn push_within(&mut self, wait: std::time::Duration) -> Option<Response> {
        if let Some(push) = self.pushes.pop_front() {
            return Some(push);
        }
        match tokio::time::timeout(wait, self.receive()).await {
            Ok(Some(())) => self.pushes.pop_front(),
            _ => None,
        }
    }

    /// Receives one block and sorts its transmissions; `None` once closed.
    pub async fn receive(&mut self) -> Option<()> {
        let block = within("a block from the relay", next_block(&mut self.socket)).await?;
        let inner = self.transport.open(block).unwrap();
        for bytes in inner.into_transmissions() {
            let transmission = Transmission::decode(&bytes).unwrap();
            let response = Response::from_transmission(&transmission).unwrap();
            if transmission.corr_id == CorrId::PUSH && is_push(&response) {
                self.pushes.push_back(response);
            } else {
                self.replies.push_back((transmission.corr_id, response));
            }
        }
        Some(())
    }

    /// Takes every reply received so far (corr id and response), in order.
    pub fn take_replies(&mut self) -> Vec<(CorrId, Response)> {
        self.replies.drain(..).collect()
    }

    /// Takes every push received so far, in order.
    pub fn take_pushes(&mut self) -> Vec<Response> {
        self.pushes.drain(..).collect()
    }

    /// Waits until the relay closes the connection, skipping what it sends
    /// before; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(WAIT, self.socket.next()).await {
                Err(_) => panic!("the relay did not close the connection"),
                Ok(None) | Ok(Some(Err(_))) => return None,
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return frame.map(|frame| frame.code.into());
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}

/// Replies the relay sends unasked (to an all-zero corr id).
fn is_push(response: &Response) -> bool {
    matches!(
        response,
        Response::Msg { .. }
            | Response::End { .. }
            | Response::GroupEntry { .. }
            | Response::GroupEnd { .. }
    )
}

/// The next binary frame as a block; `None` when the connection closes.
pub async fn next_block(socket: &mut Socket) -> Option<Block> {
    loop {
        match socket.next().await? {
            Ok(Message::Binary(bytes)) => return Some(Block::from_vec(bytes.to_vec()).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// A block as a binary WebSocket message.
pub fn binary(block: Block) -> Message {
    Message::Binary(block.into_vec().into())
}

/// Opens a raw socket, sends a client hello offering `versions` and reads the
/// relay's reply, which the test then accepts or expects refused.
pub async fn say_hello(
    address: &RelayAddress,
    versions: VersionRange,
) -> (Socket, ClientHandshake, Block) {
    let mut socket = raw_socket(address).await;
    let (handshake, hello) = ClientHandshake::start(random(), versions);
    socket.send(binary(hello)).await.unwrap();
    let reply = match next_frame(&mut socket).await {
        Some(Message::Binary(bytes)) => Block::from_slice(&bytes).unwrap(),
        other => panic!("expected the server hello, got {other:?}"),
    };
    (socket, handshake, reply)
}

/// The command key of the queue auth secret `secret` on the connection of
/// `transport`.
pub fn command_key(transport: &Transport, secret: &QueueAuthSecret) -> CommandKey {
    CommandKey::for_client(
        secret,
        &transport.relay_session_key(),
        &transport.session_id(),
    )
    .unwrap()
}

/// The sending half of a [`RawSession`].
pub type RawSender = (SplitSink<Socket, Message>, BlockSealer);
/// The receiving half of a [`RawSession`].
pub type RawReceiver = (SplitStream<Socket>, BlockOpener);

/// A raw socket after a correct handshake: the test seals what it likes.
pub struct RawSession {
    pub socket: Socket,
    pub transport: Transport,
}

impl RawSession {
    /// The command key of the queue auth secret `secret` on this connection.
    pub fn command_key(&self, secret: &QueueAuthSecret) -> CommandKey {
        command_key(&self.transport, secret)
    }

    pub async fn open(address: &RelayAddress) -> RawSession {
        let (socket, handshake, reply) = say_hello(address, VersionRange::SUPPORTED).await;
        let transport = handshake
            .handle_server_hello(&reply, &address.fingerprint)
            .unwrap();
        RawSession { socket, transport }
    }

    /// The two halves, to send from one task while another reads (or not).
    pub fn into_split(self) -> (RawSender, RawReceiver) {
        let (sink, stream) = self.socket.split();
        let (sealer, opener) = self.transport.into_split();
        ((sink, sealer), (stream, opener))
    }

    /// Seals these encoded transmissions into one block and sends it.
    pub async fn send_encoded(&mut self, transmissions: &[Vec<u8>]) {
        let mut batch = InnerBlock::new();
        for transmission in transmissions {
            batch.push_encoded(transmission.clone()).unwrap();
        }
        let block = self.transport.seal(&batch).unwrap();
        self.send_frame(Message::binary(block.into_vec())).await;
    }

    pub async fn send_frame(&mut self, message: Message) {
        // The relay may already have closed; the caller checks for that.
        let _ = self.socket.send(message).await;
    }

    /// Sends one transmission alone in a block and returns the encoded
    /// transmissions of the block that comes back, as the relay wrote them.
    pub async fn exchange(&mut self, transmission: &Transmission) -> Vec<Vec<u8>> {
        self.send_encoded(&[transmission.encode()]).await;
        match next_frame(&mut self.socket).await {
            Some(Message::Binary(bytes)) => self
                .transport
                .open(Block::from_slice(&bytes).unwrap())
                .unwrap()
                .into_transmissions(),
            other => panic!("expected a block, got {other:?}"),
        }
    }

    /// The responses in the next block from the relay.
    pub async fn responses(&mut self) -> Vec<(CorrId, Response)> {
        match next_frame(&mut self.socket).await {
            Some(Message::Binary(bytes)) => {
                let inner = self
                    .transport
                    .open(Block::from_slice(&bytes).unwrap())
                    .unwrap();
                inner
                    .transmissions()
                    .iter()
                    .map(|bytes| {
                        let transmission = Transmission::decode(bytes).unwrap();
                        let response = Response::from_transmission(&transmission).unwrap();
                        (transmission.corr_id, response)
                    })
                    .collect()
            }
            other => panic!("expected a block, got {other:?}"),
        }
    }
}

/// A recipient's keys and what NEW returned for one queue.
pub struct QueueOwner {
    pub auth_key: QueueAuthSecret,
    pub recipient_id: RecipientId,
    pub sender_id: SenderId,
    pub queue_key: QueueKey,
    /// The suite of the connection that created the queue; [`QueueOwner::open`]
    /// expects deliveries sealed with it (every test connection offers the
    /// same suites, so they all agree).
    pub suite: CipherSuite,
}

/// The NEW command for fresh keys; returns it with the keys to keep.
pub fn new_queue_command(password: Option<&[u8]>) -> (Command, QueueAuthSecret, StaticSecret) {
    let auth_key = super::auth_secret();
    let dh_secret = StaticSecret::from(random::<32>());
    let command = Command::New {
        recipient_auth_key: auth_key.public_key(),
        recipient_dh_key: DhPublicKey::from(&dh_secret),
        password: password.map(|bytes| sotto_wire::ServerPassword::new(bytes.to_vec()).unwrap()),
    };
    (command, auth_key, dh_secret)
}

impl QueueOwner {
    /// Creates a queue (NEW) on `client`; panics unless the relay answers IDS.
    pub async fn create(client: &mut Client) -> QueueOwner {
        QueueOwner::create_with_password(client, None)
            .await
            .unwrap()
    }

    /// Creates a queue with a password; the relay's reply if it is not IDS.
    pub async fn create_with_password(
        client: &mut Client,
        password: Option<&[u8]>,
    ) -> Result<QueueOwner, Response> {
        let (command, auth_key, dh_secret) = new_queue_command(password);
        match client.request(&command, Some(&auth_key)).await {
            Response::Ids {
                recipient_id,
                sender_id,
                queue_dh_key,
            } => Ok(QueueOwner {
                auth_key,
                recipient_id,
                sender_id,
                queue_key: QueueKey::derive(&dh_secret, &queue_dh_key).unwrap(),
                suite: client.suite(),
            }),
            other => Err(other),
        }
    }

    /// Sends a recipient command authorized with this queue's key.
    pub async fn request(&self, client: &mut Client, command: &Command) -> Response {
        client.request(command, Some(&self.auth_key)).await
    }

    /// Opens a delivered MSG; returns the message id and what it holds.
    pub fn open(&self, response: &Response) -> (sotto_wire::MessageId, QueueMessage) {
        match response {
            Response::Msg {
                recipient_id,
                message_id,
                sealed,
            } => {
                assert_eq!(*recipient_id, self.recipient_id);
                (
                    *message_id,
                    self.queue_key.open(self.suite, message_id, sealed).unwrap(),
                )
            }
            other => panic!("expected MSG, got {other:?}"),
        }
    }
}

/// A SEND of `body`.
pub fn send_command(sender_id: SenderId, body: &[u8]) -> Command {
    Command::send(sender_id, MessageBody::new(body.to_vec()).unwrap())
}

/// The body of a delivered message (panics on a QUOTA_REACHED marker).
pub fn body_of(message: &QueueMessage) -> Vec<u8> {
    content_bytes(message.content.clone())
}

/// ERR AUTH as the relay encoded it, with the echoed entity blanked out, to
/// compare refusals of different ids byte for byte.
pub fn without_entity(encoded: &[u8], entity: &[u8; 24]) -> Vec<u8> {
    let transmission = Transmission::decode(encoded).unwrap();
    assert_eq!(transmission.entity, Some(EntityId::from_bytes(*entity)));
    let response = Response::from_transmission(&transmission).unwrap();
    assert!(
        matches!(
            response,
            Response::Err {
                code: ErrorCode::Auth,
                ..
            }
        ),
        "{response:?}"
    );
    let mut bytes = encoded.to_vec();
    let at = bytes
        .windows(24)
        .position(|window| window == entity)
        .unwrap();
    bytes[at..at + 24].fill(0);
    bytes
}
