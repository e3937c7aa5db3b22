//! One client connection: handshake, then decrypt, dispatch and answer blocks.
//!
//! The connection task reads frames, runs their commands through a [`Session`] and
//! seals the replies into blocks. A separate writer task sends the blocks; the
//! channel between them is bounded, so a client that does not read fills it and
//! the connection task stops reading from that client (back-pressure) instead of
//! buffering without bound. Nothing a client sends can end anything but its own
//! connection.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use rand::RngCore;
use sotto_wire::{
    BLOCK_SIZE, Block, BlockSealer, InnerBlock, ServerHandshake, ServerHandshakeOutcome,
    Transmission, VersionRange, WireError,
};
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;
use zeroize::Zeroize;

use crate::commands::{MAX_BLOCKS_IN_FLIGHT, Session};
use crate::metrics::Event;
use crate::relay::Relay;
use crate::subscriptions::Subscriber;

/// Longest the writer may take to flush its last blocks and the close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Close code for a frame larger than a block.
const CLOSE_TOO_BIG: u16 = 1009;

/// Why a connection ended.
#[derive(Debug)]
enum Ending {
    /// The client closed or dropped the connection.
    ClientLeft,
    /// The relay is shutting down.
    Shutdown,
    /// No input within the idle timeout, or the client stopped reading.
    Idle,
    /// The handshake did not complete.
    Handshake(&'static str),
    /// The client broke the protocol; close with this code.
    Violation(u16, &'static str),
}

/// What the writer task sends.
enum Outgoing {
    Block(Block),
    Close(CloseFrame),
}

/// Serves one upgraded WebSocket until it closes or the relay shuts down.
pub async fn serve(socket: WebSocket, relay: Arc<Relay>, shutdown: watch::Receiver<bool>) {
    relay.metrics.count(Event::ConnectionOpened);
    let ending = drive(socket, &relay, shutdown).await;
    if matches!(ending, Ending::Handshake(_)) {
        relay.metrics.count(Event::HandshakeFailed);
    }
    tracing::debug!(?ending, "connection closed");
    relay.metrics.count(Event::ConnectionClosed);
}

async fn drive(
    mut socket: WebSocket,
    relay: &Arc<Relay>,
    mut shutdown: watch::Receiver<bool>,
) -> Ending {
    let limits = relay.limits;
    let hello = tokio::select! {
        _ = shutdown.changed() => return Ending::Shutdown,
        hello = timeout(limits.handshake_timeout, next_block(&mut socket)) => hello,
    };
    let block = match hello {
        Err(_) => return Ending::Handshake("timed out"),
        Ok(Err(ending)) => {
            close(&mut socket, &ending).await;
            return ending;
        }
        Ok(Ok(block)) => block,
    };
    let mut session_secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut session_secret);
    let handshake = ServerHandshake::new(session_secret, VersionRange::SUPPORTED);
    session_secret.zeroize();
    let accepted = handshake.handle_client_hello(&block, &relay.identity);
    // The hello is a whole block: do not keep it for the connection's lifetime.
    drop(block);
    let (transport, auth) = match accepted {
        Ok(ServerHandshakeOutcome::Accepted {
            server_hello,
            transport,
            auth,
        }) => {
            if socket.send(binary(server_hello)).await.is_err() {
                return Ending::ClientLeft;
            }
            (transport, auth)
        }
        Ok(ServerHandshakeOutcome::Rejected { version_reject }) => {
            let _ = socket.send(binary(version_reject)).await;
            let ending = Ending::Handshake("no common version");
            close(&mut socket, &ending).await;
            return ending;
        }
        Err(_) => {
            let ending = Ending::Violation(close_code::PROTOCOL, "bad hello");
            close(&mut socket, &ending).await;
            return Ending::Handshake("bad hello");
        }
    };
    tracing::debug!(
        version = transport.version().number(),
        suite = transport.suite().name(),
        "handshake done"
    );

    let suite = transport.suite();
    let (sealer, mut opener) = transport.into_split();
    let (sink, mut stream) = socket.split();
    let (queue, outgoing) = mpsc::channel(limits.outgoing_blocks.max(1));
    let writer = tokio::spawn(write_blocks(sink, outgoing));
    let mut outbox = Outbox {
        sealer,
        queue,
        stall_timeout: limits.idle_timeout,
    };
    let subscriber = Arc::new(Subscriber::default());
    let mut session = Session::new(Arc::clone(relay), auth, suite, Arc::clone(&subscriber));

    let ending = loop {
        tokio::select! {
            _ = shutdown.changed() => break Ending::Shutdown,
            () = session.oldest_committed(), if session.blocks_in_flight() > 0 => {}
            () = subscriber.changed() => {
                let pushes = session.handle_events();
                session.queue_replies(pushes);
            }
            frame = timeout(limits.idle_timeout, stream.next()),
                if session.blocks_in_flight() < MAX_BLOCKS_IN_FLIGHT =>
            {
                let block = match read_frame(frame) {
                    Ok(Some(block)) => block,
                    Ok(None) => continue,
                    Err(ending) => break ending,
                };
                match opener.open(block) {
                    Ok(inner) => session.handle_block(inner).await,
                    Err(
                        WireError::DecryptFailed
                        | WireError::TransportBroken
                        | WireError::CounterExhausted,
                    ) => break Ending::Violation(close_code::PROTOCOL, "block does not decrypt"),
                    Err(_) => {
                        let error = session.block_error();
                        session.queue_replies(vec![error]);
                    }
                }
            }
        };
        let replies = session.ready_replies();
        if let Err(ending) = outbox.send(replies, &mut shutdown).await {
            break ending;
        }
        if session.failures_exhausted() {
            break Ending::Violation(close_code::POLICY, "too many failed authorizations");
        }
    };
    if matches!(ending, Ending::Shutdown | Ending::Idle) {
        // Answer what was accepted: the writes are committed either way.
        let replies = session.finish_all().await;
        outbox.send_now(replies);
    }
    session.unsubscribe_all();
    let frame = close_frame(&ending);
    // The writer may be stuck on a client that does not read: do not wait for room.
    let _ = outbox.queue.try_send(Outgoing::Close(frame));
    drop(outbox);
    if timeout(CLOSE_TIMEOUT, writer).await.is_err() {
        tracing::debug!("writer did not finish in time");
    }
    ending
}

/// Seals replies into blocks and queues them for the writer.
struct Outbox {
    sealer: BlockSealer,
    queue: mpsc::Sender<Outgoing>,
    stall_timeout: Duration,
}

impl Outbox {
    async fn send(
        &mut self,
        replies: Vec<Transmission>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), Ending> {
        let mut current = InnerBlock::new();
        for reply in replies {
            let encoded = reply.encode();
            if !current.fits(encoded.len()) {
                let full = std::mem::replace(&mut current, InnerBlock::new());
                self.send_block(&full, shutdown).await?;
            }
            if current.push_encoded(encoded).is_err() {
                // A reply never exceeds a block; a bug if it does. Drop it, keep going.
                tracing::error!("a reply does not fit in a block");
            }
        }
        if !current.is_empty() {
            self.send_block(&current, shutdown).await?;
        }
        Ok(())
    }

    /// Seals replies and queues them without waiting; those that do not fit in
    /// the queue are dropped (the connection is closing).
    fn send_now(&mut self, replies: Vec<Transmission>) {
        let mut current = InnerBlock::new();
        for reply in replies {
            let encoded = reply.encode();
            if !current.fits(encoded.len()) {
                let full = std::mem::replace(&mut current, InnerBlock::new());
                self.try_send_block(&full);
            }
            let _ = current.push_encoded(encoded);
        }
        if !current.is_empty() {
            self.try_send_block(&current);
        }
    }

    fn try_send_block(&mut self, inner: &InnerBlock) {
        if let Ok(block) = self.sealer.seal(inner) {
            let _ = self.queue.try_send(Outgoing::Block(block));
        }
    }

    async fn send_block(
        &mut self,
        inner: &InnerBlock,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), Ending> {
        let block = self
            .sealer
            .seal(inner)
            .map_err(|_| Ending::Violation(close_code::ERROR, "cannot seal"))?;
        tokio::select! {
            _ = shutdown.changed() => Err(Ending::Shutdown),
            sent = timeout(self.stall_timeout, self.queue.send(Outgoing::Block(block))) => match sent {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(Ending::ClientLeft),
                Err(_) => Err(Ending::Idle),
            },
        }
    }
}

/// Blocks fed to the WebSocket before one flush.
const WRITE_BATCH: usize = 8;

async fn write_blocks(
    mut sink: SplitSink<WebSocket, Message>,
    mut outgoing: mpsc::Receiver<Outgoing>,
) {
    let mut closing = None;
    'blocks: while let Some(item) = outgoing.recv().await {
        // Feed what is already queued, then flush once: fewer writes under load.
        let mut next = Some(item);
        let mut fed = 0;
        while let Some(item) = next.take() {
            match item {
                Outgoing::Block(block) => {
                    if sink.feed(binary(block)).await.is_err() {
                        return;
                    }
                }
                Outgoing::Close(frame) => {
                    closing = Some(frame);
                    break;
                }
            }
            fed += 1;
            if fed < WRITE_BATCH {
                next = outgoing.try_recv().ok();
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
        if closing.is_some() {
            break 'blocks;
        }
    }
    if let Some(frame) = closing {
        let _ = sink.send(Message::Close(Some(frame))).await;
    }
    let _ = sink.close().await;
}

/// Reads the first binary block (the ClientHello).
async fn next_block(socket: &mut WebSocket) -> Result<Block, Ending> {
    loop {
        match read_frame(Ok(socket.recv().await)) {
            Ok(Some(block)) => return Ok(block),
            Ok(None) => continue,
            Err(ending) => return Err(ending),
        }
    }
}

/// One frame: a block, nothing (ping/pong), or the end of the connection.
type Frame = Result<Option<Result<Message, axum::Error>>, tokio::time::error::Elapsed>;

fn read_frame(frame: Frame) -> Result<Option<Block>, Ending> {
    match frame {
        Err(_) => Err(Ending::Idle),
        Ok(None) | Ok(Some(Ok(Message::Close(_)))) => Err(Ending::ClientLeft),
        // A frame over the size limit, a malformed frame, or a broken socket.
        Ok(Some(Err(_))) => Err(Ending::Violation(close_code::PROTOCOL, "unreadable frame")),
        Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => Ok(None),
        Ok(Some(Ok(Message::Text(_)))) => Err(Ending::Violation(
            close_code::PROTOCOL,
            "text frames are not allowed",
        )),
        Ok(Some(Ok(Message::Binary(bytes)))) => {
            let len = bytes.len();
            Block::from_vec(bytes.into()).map(Some).map_err(|_| {
                if len > BLOCK_SIZE {
                    Ending::Violation(CLOSE_TOO_BIG, "frame larger than a block")
                } else {
                    Ending::Violation(close_code::PROTOCOL, "frame is not one block")
                }
            })
        }
    }
}

fn close_frame(ending: &Ending) -> CloseFrame {
    let (code, reason) = match ending {
        Ending::Violation(code, reason) => (*code, *reason),
        Ending::Shutdown => (close_code::AWAY, "relay shutting down"),
        Ending::Idle => (close_code::NORMAL, "idle"),
        Ending::Handshake(reason) => (close_code::PROTOCOL, *reason),
        Ending::ClientLeft => (close_code::NORMAL, ""),
    };
    CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }
}

async fn close(socket: &mut WebSocket, ending: &Ending) {
    let _ = timeout(
        CLOSE_TIMEOUT,
        socket.send(Message::Close(Some(close_frame(ending)))),
    )
    .await;
}

fn binary(block: Block) -> Message {
    Message::Binary(block.into_vec().into())
}
