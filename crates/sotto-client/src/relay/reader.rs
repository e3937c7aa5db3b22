//! The reader task: opens the relay's blocks, routes each response to the caller
//! waiting on its correlation id, and delivers pushes (MSG, END) to a channel.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{Stream, StreamExt};
use sotto_wire::{Block, BlockOpener, CorrId, Response, Transmission};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::ClientError;
use crate::relay::queue::{Delivery, Push};

/// Callers waiting for a response, by correlation id; `None` once closed.
type WaiterMap = Option<HashMap<CorrId, oneshot::Sender<Response>>>;

/// Callers waiting for a response, shared by the connection and its tasks.
#[derive(Debug, Clone, Default)]
pub(crate) struct Waiters(Arc<Mutex<WaiterMap>>);

impl Waiters {
    pub(crate) fn new() -> Waiters {
        Waiters(Arc::new(Mutex::new(Some(HashMap::new()))))
    }

    /// Registers a caller; `None` once the connection is closed.
    pub(crate) fn insert(&self, corr_id: CorrId) -> Option<oneshot::Receiver<Response>> {
        let (sender, receiver) = oneshot::channel();
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.as_mut()?.insert(corr_id, sender);
        Some(receiver)
    }

    /// Forgets a caller that gave up.
    pub(crate) fn remove(&self, corr_id: &CorrId) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(map) = map.as_mut() {
            map.remove(corr_id);
        }
    }

    fn take(&self, corr_id: &CorrId) -> Option<oneshot::Sender<Response>> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.as_mut()?.remove(corr_id)
    }

    /// Fails every waiting caller (their receivers see the sender dropped) and
    /// refuses new ones.
    pub(crate) fn close(&self) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.take();
    }
}

/// Runs until the relay closes the connection or breaks the protocol.
pub(crate) async fn run<S>(
    mut stream: S,
    mut opener: BlockOpener,
    waiters: Waiters,
    pushes: mpsc::Sender<Push>,
) -> Result<(), ClientError>
where
    S: Stream<Item = Result<Message, WsError>> + Unpin,
{
    let result = read_blocks(&mut stream, &mut opener, &waiters, &pushes).await;
    waiters.close();
    result
}

async fn read_blocks<S>(
    stream: &mut S,
    opener: &mut BlockOpener,
    waiters: &Waiters,
    pushes: &mpsc::Sender<Push>,
) -> Result<(), ClientError>
where
    S: Stream<Item = Result<Message, WsError>> + Unpin,
{
    while let Some(message) = stream.next().await {
        let bytes = match message? {
            Message::Binary(bytes) => bytes,
            Message::Close(_) => break,
            Message::Text(_) => return Err(ClientError::UnexpectedResponse { command: "text" }),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
        };
        let inner = opener.open(Block::from_slice(&bytes)?)?;
        for encoded in inner.transmissions() {
            let transmission = Transmission::decode(encoded)?;
            let response = Response::from_transmission(&transmission)?;
            route(transmission.corr_id, response, waiters, pushes).await;
        }
    }
    Ok(())
}

async fn route(
    corr_id: CorrId,
    response: Response,
    waiters: &Waiters,
    pushes: &mpsc::Sender<Push>,
) {
    if !corr_id.is_push() {
        if let Some(waiter) = waiters.take(&corr_id) {
            // The caller may have given up; nothing to do then.
            let _ = waiter.send(response);
        } else {
            tracing::debug!("response for a command nobody waits for");
        }
        return;
    }
    let push = match response {
        Response::Msg {
            recipient_id,
            message_id,
            sealed,
        } => Push::Message(Delivery {
            recipient_id,
            message_id,
            sealed,
        }),
        Response::End { recipient_id } => Push::End(recipient_id),
        _ => {
            tracing::debug!("relay pushed a response that is not MSG or END");
            return;
        }
    };
    // A dropped push receiver means the owner does not want pushes; responses
    // still flow. A full channel slows this reader down: back-pressure.
    let _ = pushes.send(push).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn responses_go_to_their_waiter_and_pushes_to_the_channel() {
        let waiters = Waiters::new();
        let corr_id = CorrId::from_bytes([0, 0, 0, 0, 0, 0, 0, 7]);
        let receiver = waiters.insert(corr_id).unwrap();
        let (pushes, mut pushed) = mpsc::channel(4);
        route(corr_id, Response::Pong, &waiters, &pushes).await;
        assert_eq!(receiver.await.unwrap(), Response::Pong);

        let recipient_id = sotto_wire::RecipientId::from_bytes([3; 24]);
        route(
            CorrId::PUSH,
            Response::End { recipient_id },
            &waiters,
            &pushes,
        )
        .await;
        assert_eq!(pushed.recv().await, Some(Push::End(recipient_id)));

        // Unknown corr ids and unexpected pushes are dropped.
        route(corr_id, Response::Pong, &waiters, &pushes).await;
        route(CorrId::PUSH, Response::Pong, &waiters, &pushes).await;
        assert!(pushed.try_recv().is_err());
    }

    #[tokio::test]
    async fn closing_fails_every_waiter_and_refuses_new_ones() {
        let waiters = Waiters::new();
        let receiver = waiters.insert(CorrId::from_bytes([1; 8])).unwrap();
        waiters.close();
        assert!(receiver.await.is_err());
        assert!(waiters.insert(CorrId::from_bytes([2; 8])).is_none());
    }
}
