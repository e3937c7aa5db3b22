//! The task that drives one `ClientConnection` over a WebSocket: it owns the
//! socket and the state machine and does the I/O the machine asks for.
//!
//! Each turn it answers callers and queues pushes from the machine's events,
//! then waits for whichever comes first: a frame, room in the socket for the
//! next block the machine has filled (or its flush once none is left), a
//! command, room in the push channel or the machine's next timer. Reading and
//! writing are independent: a relay that stops reading while its replies wait
//! (its back-pressure) is still read from, so the two ends never wait on each
//! other with both directions full. It stops reading the socket while pushes
//! wait for the owner (back-pressure) and stops taking commands while the
//! machine holds more than a bound of encoded bytes.

use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::task::{Poll, ready};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use sotto_wire::{
    ClientConnection, ConnectionEnd, Event, Request, RequestFailure, RequestId, Response,
    Transmission,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use crate::ClientError;
use crate::relay::Clock;
use crate::relay::queue::{Delivery, Push};

/// Where a caller waits for its answer.
type Reply = oneshot::Sender<Result<Response, ClientError>>;

/// What a [`super::RelayConnection`] hands the driver.
#[derive(Debug)]
pub(crate) enum Submission {
    Request {
        request: Request,
        reply: Reply,
    },
    Raw {
        transmission: Transmission,
        reply: Reply,
    },
}

/// Bounds of what the driver holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_queued_bytes: usize,
    pub(crate) push_capacity: usize,
}

/// Runs until the relay closes the connection, breaks the protocol, stops
/// answering, or the owner drops its handle.
pub(crate) async fn run<S>(
    socket: WebSocketStream<S>,
    connection: ClientConnection,
    clock: Clock,
    submissions: mpsc::Receiver<Submission>,
    pushes: mpsc::Sender<Push>,
    limits: Limits,
) -> Result<(), ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (sink, stream) = socket.split();
    let mut driver = Driver {
        sink,
        stream,
        outgoing: None,
        unflushed: false,
        connection,
        clock,
        replies: HashMap::new(),
        pending_pushes: VecDeque::new(),
        limits,
    };
    let result = driver.drive(submissions, pushes).await;
    let _ = driver.sink.close().await;
    if let Err(error) = &result {
        tracing::debug!(%error, "relay connection ended");
    }
    result
}

struct Driver<S> {
    sink: SplitSink<WebSocketStream<S>, Message>,
    stream: SplitStream<WebSocketStream<S>>,
    /// The next block the machine filled, waiting for room in the socket.
    outgoing: Option<Message>,
    /// Blocks were handed to the socket since its last flush.
    unflushed: bool,
    connection: ClientConnection,
    clock: Clock,
    replies: HashMap<RequestId, Reply>,
    pending_pushes: VecDeque<Push>,
    limits: Limits,
}

impl<S> Driver<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    async fn drive(
        &mut self,
        mut submissions: mpsc::Receiver<Submission>,
        pushes: mpsc::Sender<Push>,
    ) -> Result<(), ClientError> {
        let mut owner_gone = false;
        loop {
            if self.outgoing.is_none() {
                self.outgoing = self
                    .connection
                    .poll_transmit(self.clock.now())
                    .map(|block| Message::binary(block.into_vec()));
            }
            if let Some(end) = self.handle_events() {
                return end;
            }
            let writing = self.outgoing.is_some() || self.unflushed;
            if owner_gone && !writing {
                // Everything taken was written; nobody can ask for more.
                self.connection.close();
                continue;
            }
            let deadline = self.connection.poll_timeout();
            let take_commands =
                !owner_gone && self.connection.queued_bytes() < self.limits.max_queued_bytes;
            let read = self.pending_pushes.len() < self.limits.push_capacity;
            tokio::select! {
                frame = self.stream.next(), if read => self.handle_socket(frame)?,
                written = write_step(&mut self.sink, &mut self.outgoing, &mut self.unflushed),
                    if writing => written?,
                submission = submissions.recv(), if take_commands => match submission {
                    Some(submission) => {
                        self.submit(submission);
                        // Take what else is waiting, so that it shares blocks.
                        while self.connection.queued_bytes() < self.limits.max_queued_bytes {
                            match submissions.try_recv() {
                                Ok(submission) => self.submit(submission),
                                Err(_) => break,
                            }
                        }
                    }
                    None => owner_gone = true,
                },
                permit = pushes.reserve(), if !self.pending_pushes.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some(push) = self.pending_pushes.pop_front() {
                            permit.send(push);
                        }
                    }
                    // The owner does not want pushes; answers still flow.
                    Err(_) => self.pending_pushes.clear(),
                },
                () = sleep_until(&self.clock, deadline) => {
                    self.connection.handle_timeout(self.clock.now());
                }
            }
        }
    }

    fn submit(&mut self, submission: Submission) {
        let (submitted, reply) = match submission {
            Submission::Request { request, reply } => (self.connection.submit(request), reply),
            Submission::Raw {
                transmission,
                reply,
            } => (
                self.connection.dangerous_submit_transmission(transmission),
                reply,
            ),
        };
        match submitted {
            Ok(id) => {
                self.replies.insert(id, reply);
            }
            Err(error) => {
                let _ = reply.send(Err(ClientError::Protocol(error)));
            }
        }
    }

    /// Answers callers and queues pushes; the connection's end, if it ended.
    fn handle_events(&mut self) -> Option<Result<(), ClientError>> {
        while let Some(event) = self.connection.poll_event() {
            match event {
                Event::Connected(_) => {}
                Event::Answer { id, response } => {
                    if let Some(reply) = self.replies.remove(&id) {
                        // The caller may have given up; nothing to do then.
                        let _ = reply.send(Ok(response));
                    }
                }
                Event::Failed { id, reason } => {
                    if let Some(reply) = self.replies.remove(&id) {
                        let error = match reason {
                            RequestFailure::Timeout => ClientError::Timeout,
                            RequestFailure::Closed => ClientError::Closed,
                        };
                        let _ = reply.send(Err(error));
                    }
                }
                Event::Push(response) => self.queue_push(response),
                Event::Ended(end) => {
                    for (_, reply) in self.replies.drain() {
                        let _ = reply.send(Err(ClientError::Closed));
                    }
                    return Some(match end {
                        ConnectionEnd::Closed => Ok(()),
                        ConnectionEnd::TimedOut => Err(ClientError::Timeout),
                        ConnectionEnd::Handshake(error) | ConnectionEnd::Protocol(error) => {
                            Err(ClientError::Protocol(error))
                        }
                    });
                }
            }
        }
        None
    }

    fn queue_push(&mut self, response: Response) {
        let push = match response {
            Response::Msg {
                recipient_id,
                message_id,
                sealed,
            } => {
                let Some(parameters) = self.connection.parameters() else {
                    return;
                };
                Push::Message(Delivery {
                    recipient_id,
                    message_id,
                    sealed,
                    suite: parameters.suite,
                })
            }
            Response::End { recipient_id } => Push::End(recipient_id),
            Response::GroupEntry {
                read_id,
                seq,
                entry,
            } => Push::GroupEntry {
                read_id,
                seq,
                entry,
            },
            Response::GroupEnd { read_id } => Push::GroupEnd(read_id),
            _ => {
                tracing::debug!("relay pushed a response that is not MSG, END, GENT or GEND");
                return;
            }
        };
        self.pending_pushes.push_back(push);
    }

    fn handle_socket(
        &mut self,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<(), ClientError> {
        match frame {
            Some(Ok(Message::Binary(bytes))) => {
                self.connection.handle_frame(self.clock.now(), &bytes);
                Ok(())
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Ok(()),
            Some(Ok(Message::Close(_))) | None => {
                self.connection.close();
                Ok(())
            }
            Some(Ok(Message::Text(_))) => {
                self.connection.close();
                Err(ClientError::UnexpectedResponse { command: "text" })
            }
            Some(Err(error)) => {
                self.connection.close();
                self.handle_events();
                Err(error.into())
            }
        }
    }
}

/// Hands the waiting block to the socket once it has room, or, with none
/// waiting, flushes what was handed to it. Cancel-safe: a block is taken out
/// of `outgoing` only when the socket accepts it.
async fn write_step<S>(
    sink: &mut SplitSink<WebSocketStream<S>, Message>,
    outgoing: &mut Option<Message>,
    unflushed: &mut bool,
) -> Result<(), ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    poll_fn(|cx| {
        if outgoing.is_some() {
            ready!(sink.poll_ready_unpin(cx))?;
            if let Some(message) = outgoing.take() {
                sink.start_send_unpin(message)?;
                *unflushed = true;
            }
            return Poll::Ready(Ok(()));
        }
        ready!(sink.poll_flush_unpin(cx))?;
        *unflushed = false;
        Poll::Ready(Ok(()))
    })
    .await
}

async fn sleep_until(clock: &Clock, deadline: Option<std::time::Duration>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(clock.instant(at)).await,
        None => std::future::pending().await,
    }
}
