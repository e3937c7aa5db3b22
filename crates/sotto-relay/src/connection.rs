//! One client connection: handshake, then decrypt, dispatch and answer blocks.
//!
//! The connection task reads frames, runs their commands through a [`Session`] and
//! seals the replies into blocks. A separate writer task sends the blocks. Small
//! replies to the client's commands (OKs) wait for the next commit of the
//! client's writes still in flight, at most a few milliseconds, to share a
//! block: a block is 16 KiB to seal, send and open however little it holds.
//! Pushes (messages) never wait.
//!
//! Memory is bounded in bytes: the replies a connection has waiting (held by the
//! session, sealed or not, or handed to the writer and not yet written) may take
//! `outgoing_blocks` blocks. Past that the connection task runs no more of the
//! client's commands and stops reading from it (back-pressure); the commands of
//! a block it has read wait their turn, so one block of GETs cannot produce a
//! hundred messages at once. A client that leaves replies unwritten for the
//! stall timeout is cut off with a TCP reset, which drops what the kernel still
//! buffers for it. Only blocks count as activity: WebSocket pings keep nothing
//! alive, and a connection that has not authorized a command within the
//! unauthorized timeout is closed, so idle connections cannot hold the slots.
//! Nothing a client sends can end anything but its own connection.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use rand::RngCore;
use sotto_wire::{
    BLOCK_SIZE, Block, BlockSealer, CorrId, ServerHandshake, ServerHandshakeOutcome, Transmission,
    VersionRange, WireError,
};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until, timeout};
use zeroize::Zeroize;

use crate::commands::{MAX_BLOCKS_IN_FLIGHT, Session};
use crate::listener::ResetOnClose;
use crate::metrics::Event;
use crate::relay::Relay;
use crate::subscriptions::Subscriber;

/// Longest the writer may take to flush its last blocks and the close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Close code for a frame larger than a block.
const CLOSE_TOO_BIG: u16 = 1009;

/// Longest that replies to the client's own commands wait for more to share
/// their block (see [`Outbox::may_hold`]).
const REPLY_HOLD: Duration = Duration::from_millis(5);

/// Why a connection ended.
#[derive(Debug)]
enum Ending {
    /// The client closed or dropped the connection.
    ClientLeft,
    /// The relay is shutting down.
    Shutdown,
    /// No block within the idle timeout.
    Idle,
    /// Replies waited unwritten for the stall timeout: the client stopped reading.
    Stalled,
    /// No authorized command within the unauthorized timeout.
    Unauthorized,
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
pub async fn serve(
    socket: WebSocket,
    relay: Arc<Relay>,
    shutdown: watch::Receiver<bool>,
    reset: ResetOnClose,
) {
    relay.metrics.count(Event::ConnectionOpened);
    let ending = drive(socket, &relay, shutdown, &reset).await;
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
    reset: &ResetOnClose,
) -> Ending {
    let limits = relay.limits;
    let unauthorized_deadline = Instant::now() + limits.unauthorized_timeout;
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
    let capacity = limits.outgoing_blocks.max(1);
    // One more than the bound, for the close frame.
    let (queue, outgoing) = mpsc::channel(capacity + 1);
    let (written_sender, mut written) = watch::channel(0u64);
    let writer = tokio::spawn(write_blocks(sink, outgoing, written_sender));
    let mut outbox = Outbox {
        sealer,
        queue,
        unsealed: VecDeque::new(),
        unsealed_bytes: 0,
        queued: 0,
        capacity: u64::try_from(capacity).unwrap_or(u64::MAX),
    };
    let reply_bound = capacity.saturating_mul(BLOCK_SIZE);
    let subscriber = Arc::new(Subscriber::default());
    let mut session = Session::new(Arc::clone(relay), auth, suite, Arc::clone(&subscriber));
    // What is left of the last block read: its commands run as replies make room.
    let mut input: VecDeque<Vec<u8>> = VecDeque::new();
    let mut idle_deadline = Instant::now() + limits.idle_timeout;
    // Since when the writer has had blocks to write and written none.
    let mut stall_deadline = Instant::now() + limits.stall_timeout;
    // Until when small replies wait for the next commit to share their block.
    let mut hold: Option<Instant> = None;

    let ending = loop {
        let done = *written.borrow();
        let waiting = outbox.waiting_bytes(done) + session.reply_bytes_held();
        let room = reply_bound.saturating_sub(waiting);
        let may_run = room > 0 && session.blocks_in_flight() < MAX_BLOCKS_IN_FLIGHT;
        let stalled = outbox.queued > done;
        let ran = may_run && !input.is_empty();
        if ran {
            session.handle_transmissions(&mut input, room).await;
        } else {
            let may_read = may_run && input.is_empty();
            tokio::select! {
                _ = shutdown.changed() => break Ending::Shutdown,
                () = session.oldest_committed(), if session.blocks_in_flight() > 0 => {
                    // The next commit's replies join those held: send them now.
                    hold = hold.map(|_| Instant::now());
                }
                () = sleep_until(hold.unwrap_or(idle_deadline)), if hold.is_some() => {}
                () = subscriber.changed(), if room > 0 => {
                    let pushes = session.handle_events();
                    session.queue_replies(pushes);
                    let pushes = session.group_pushes(room);
                    session.queue_replies(pushes);
                }
                // Group entries not pushed yet, as replies make room; a ready
                // branch among the others, so reading goes on meanwhile.
                () = std::future::ready(()), if room > 0 && session.group_pushes_waiting() => {
                    let pushes = session.group_pushes(room);
                    session.queue_replies(pushes);
                }
                changed = written.changed() => {
                    if changed.is_err() {
                        break Ending::ClientLeft;
                    }
                    // The client reads: it is neither stalled nor idle.
                    stall_deadline = Instant::now() + limits.stall_timeout;
                    idle_deadline = Instant::now() + limits.idle_timeout;
                }
                () = sleep_until(stall_deadline), if stalled => break Ending::Stalled,
                () = sleep_until(idle_deadline), if may_read => break Ending::Idle,
                () = sleep_until(unauthorized_deadline), if !session.has_authorized() => {
                    break Ending::Unauthorized;
                }
                frame = stream.next(), if may_read => {
                    let block = match read_frame(Ok(frame)) {
                        Ok(Some(block)) => block,
                        // WebSocket pings and pongs: no activity.
                        Ok(None) => continue,
                        Err(ending) => break ending,
                    };
                    idle_deadline = Instant::now() + limits.idle_timeout;
                    match opener.open(block) {
                        Ok(inner) => {
                            relay.metrics.count(Event::BlockReceived);
                            input.extend(inner.into_transmissions());
                        }
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
        }
        outbox.push(session.ready_replies());
        // Replies to the client's commands, less than half a block, wait (once,
        // at most REPLY_HOLD) for those of its writes still in flight: every
        // block costs a whole 16 KiB to seal, send and open, whatever it holds.
        let now = Instant::now();
        let holding = outbox.may_hold() && session.blocks_in_flight() > 0;
        hold = match hold {
            Some(until) if holding && until > now => Some(until),
            None if holding => Some(now + REPLY_HOLD),
            _ => None,
        };
        let done = *written.borrow();
        if outbox.queued == done && outbox.has_unsealed() {
            // The writer was idle: the stall clock starts now.
            stall_deadline = Instant::now() + limits.stall_timeout;
        }
        let queued = outbox.queued;
        let pumped = if hold.is_some() {
            Ok(())
        } else {
            outbox.pump(done)
        };
        relay.metrics.count_blocks_sent(outbox.queued - queued);
        if let Err(ending) = pumped {
            break ending;
        }
        if session.failures_exhausted() {
            break Ending::Violation(close_code::POLICY, "too many failed authorizations");
        }
        if ran {
            // One block's commands per turn, then the other connections have
            // theirs: a client with many blocks waiting (a sender with a deep
            // window) would otherwise run dozens per turn, and when the relay
            // is busy, accepting messages would crowd out delivering them.
            tokio::task::yield_now().await;
        }
    };
    if matches!(ending, Ending::Shutdown | Ending::Idle) {
        // Answer what was accepted: the writes are committed either way.
        let replies = session.finish_all().await;
        outbox.push(replies);
        outbox.pump_now();
    }
    session.unsubscribe_all();
    if matches!(ending, Ending::Stalled) {
        // The client does not read: no close frame, and a reset rather than a
        // close, so that the kernel drops the bytes still queued for it.
        reset.request();
        writer.abort();
        return ending;
    }
    let frame = close_frame(&ending);
    // The writer may be stuck on a client that does not read: do not wait for room.
    let _ = outbox.queue.try_send(Outgoing::Close(frame));
    drop(outbox);
    let abort = writer.abort_handle();
    let closed = timeout(CLOSE_TIMEOUT, async {
        let _ = writer.await;
        if !matches!(ending, Ending::ClientLeft) {
            // The client answers the close frame once it has read everything
            // before it; until then the kernel still holds what it has not read.
            while let Some(Ok(frame)) = stream.next().await {
                if matches!(frame, Message::Close(_)) {
                    break;
                }
            }
        }
    })
    .await;
    if closed.is_err() {
        // A client that does not read: drop what the kernel holds for it.
        tracing::debug!("the client did not answer the close in time");
        reset.request();
        abort.abort();
    }
    ending
}

/// Seals replies into blocks and queues them for the writer, at most
/// `capacity` blocks not yet written.
struct Outbox {
    sealer: BlockSealer,
    queue: mpsc::Sender<Outgoing>,
    /// Replies not sealed yet, in order, and their encoded size.
    unsealed: VecDeque<Transmission>,
    unsealed_bytes: usize,
    /// Blocks handed to the writer so far.
    queued: u64,
    capacity: u64,
}

impl Outbox {
    fn push(&mut self, replies: Vec<Transmission>) {
        for reply in replies {
            self.unsealed_bytes += reply.encoded_len();
            self.unsealed.push_back(reply);
        }
    }

    fn has_unsealed(&self) -> bool {
        !self.unsealed.is_empty()
    }

    /// Whether what waits to be sealed may wait for more: replies to the
    /// client's own commands only (no push: deliveries never wait), taking
    /// less than half a block.
    fn may_hold(&self) -> bool {
        self.has_unsealed()
            && self.unsealed_bytes < BLOCK_SIZE / 2
            && self
                .unsealed
                .iter()
                .all(|reply| reply.corr_id != CorrId::PUSH)
    }

    /// Bytes of replies waiting: unsealed, or sealed and not yet written (the
    /// writer has written `written` blocks).
    fn waiting_bytes(&self, written: u64) -> usize {
        let blocks = usize::try_from(self.queued.saturating_sub(written)).unwrap_or(usize::MAX);
        blocks
            .saturating_mul(BLOCK_SIZE)
            .saturating_add(self.unsealed_bytes)
    }

    /// Seals and queues replies while fewer than `capacity` blocks wait.
    fn pump(&mut self, written: u64) -> Result<(), Ending> {
        while self.has_unsealed() && self.queued.saturating_sub(written) < self.capacity {
            let block = self.seal_next()?;
            match self.queue.try_send(Outgoing::Block(block)) {
                Ok(()) => self.queued += 1,
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(Ending::ClientLeft),
                // Cannot happen while the count above holds; the writer reports
                // progress only after taking blocks off the channel.
                Err(mpsc::error::TrySendError::Full(_)) => {
                    return Err(Ending::Violation(close_code::ERROR, "outgoing queue full"));
                }
            }
        }
        Ok(())
    }

    /// Seals and queues what fits in the channel now, dropping the rest (the
    /// connection is closing).
    fn pump_now(&mut self) {
        while self.has_unsealed() {
            let Ok(block) = self.seal_next() else { return };
            if self.queue.try_send(Outgoing::Block(block)).is_err() {
                return;
            }
        }
    }

    /// The next block of unsealed replies, as many as fit, each encoded
    /// straight into the block.
    fn seal_next(&mut self) -> Result<Block, Ending> {
        loop {
            match self.sealer.seal_from(&mut self.unsealed) {
                Ok((block, taken)) => {
                    self.unsealed_bytes = self.unsealed_bytes.saturating_sub(taken);
                    return Ok(block);
                }
                Err(WireError::LengthOutOfRange { .. }) => {
                    // A reply never exceeds a block; a bug if it does. It is
                    // dropped; the others go.
                    tracing::error!("a reply does not fit in a block");
                    self.unsealed_bytes = self.unsealed.iter().map(Transmission::encoded_len).sum();
                }
                Err(_) => return Err(Ending::Violation(close_code::ERROR, "cannot seal")),
            }
        }
    }
}

/// Blocks fed to the WebSocket before one flush.
const WRITE_BATCH: usize = 8;

/// Writes blocks until the close frame; counts the blocks written in `written`.
async fn write_blocks(
    mut sink: SplitSink<WebSocket, Message>,
    mut outgoing: mpsc::Receiver<Outgoing>,
    written: watch::Sender<u64>,
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
        let blocks = u64::try_from(fed).unwrap_or(u64::MAX);
        written.send_modify(|count| *count += blocks);
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
        Ending::Stalled => (close_code::POLICY, "replies left unread"),
        Ending::Unauthorized => (close_code::POLICY, "no authorized command"),
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
