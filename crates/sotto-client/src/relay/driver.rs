//! The task that drives one `ClientConnection` over a WebSocket: it owns the
//! socket and the state machine and does the I/O the machine asks for.
//!
//! Each turn it writes the blocks the machine has filled (flushing once),
//! answers callers and queues pushes from the machine's events, then waits for
//! a frame, a command, room in the push channel or the machine's next timer.
//! It stops reading the socket while pushes wait for the owner (back-pressure)
//! and stops taking commands while the machine holds more than a bound of
//! encoded bytes.

use std::collections::{HashMap, VecDeque};

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
    let mut driver = Driver {
        socket,
        connection,
        clock,
        replies: HashMap::new(),
        pending_pushes: VecDeque::new(),
        limits,
    };
    let result = driver.drive(submissions, pushes).await;
    let _ = driver.socket.close(None).await;
    if let Err(error) = &result {
        tracing::debug!(%error, "relay connection ended");
    }
    result
}

struct Driver<S> {
    socket: WebSocketStream<S>,
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
            self.write().await?;
            if let Some(end) = self.handle_events() {
                return end;
            }
            if owner_gone {
                // Everything taken was written; nobody can ask for more.
                self.connection.close();
                continue;
            }
            let deadline = self.connection.poll_timeout();
            let take_commands = self.connection.queued_bytes() < self.limits.max_queued_bytes;
            let read = self.pending_pushes.len() < self.limits.push_capacity;
            tokio::select! {
                frame = self.socket.next(), if read => self.handle_socket(frame)?,
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

    /// Writes every block the machine has ready, then flushes once.
    async fn write(&mut self) -> Result<(), ClientError> {
        let mut wrote = false;
        while let Some(block) = self.connection.poll_transmit(self.clock.now()) {
            self.socket.feed(Message::binary(block.into_vec())).await?;
            wrote = true;
        }
        if wrote {
            self.socket.flush().await?;
        }
        Ok(())
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
            _ => {
                tracing::debug!("relay pushed a response that is not MSG or END");
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

async fn sleep_until(clock: &Clock, deadline: Option<std::time::Duration>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(clock.instant(at)).await,
        None => std::future::pending().await,
    }
}
