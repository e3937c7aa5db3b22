//! A `sotto-client` connection with its pushes.

use std::time::Duration;

use sotto_client::relay::{
    ConnectOptions, Delivery, Push, RecipientQueue, RelayConnection, SenderQueue,
};
use sotto_wire::RelayAddress;
use tokio::sync::mpsc;

use super::{content_bytes, within};

/// A `sotto-client` connection with its pushes.
pub struct Client {
    pub connection: RelayConnection,
    pub pushes: mpsc::Receiver<Push>,
}

impl Client {
    pub async fn connect(address: &RelayAddress) -> Client {
        Client::connect_with(address, &ConnectOptions::default()).await
    }

    pub async fn connect_with(address: &RelayAddress, options: &ConnectOptions) -> Client {
        let (connection, pushes) = within("connect", RelayConnection::connect(address, options))
            .await
            .unwrap();
        Client { connection, pushes }
    }

    /// A fresh queue, secured with a fresh sender key; returns both ends.
    pub async fn secured_queue(&self) -> (RecipientQueue, SenderQueue) {
        let queue = self.connection.create_queue(None).await.unwrap();
        let sender = SenderQueue::with_new_key(queue.sender_id());
        let key = sender.public_key().unwrap();
        self.connection.secure(&queue, &key).await.unwrap();
        (queue, sender)
    }

    /// The next push; fails the test after [`super::WAIT`].
    pub async fn next_push(&mut self) -> Push {
        within("a push", self.pushes.recv())
            .await
            .expect("connection closed")
    }

    /// The next push, which must be a message.
    pub async fn next_message(&mut self) -> Delivery {
        match self.next_push().await {
            Push::Message(delivery) => delivery,
            other => panic!("expected MSG, got {other:?}"),
        }
    }

    /// Whether a push arrives within `duration`.
    pub async fn push_within(&mut self, duration: Duration) -> Option<Push> {
        tokio::time::timeout(duration, self.pushes.recv())
            .await
            .ok()
            .flatten()
    }
}

/// Opens a delivery and returns its body bytes (panics on the quota marker).
pub fn open_body(queue: &RecipientQueue, delivery: &Delivery) -> Vec<u8> {
    content_bytes(queue.open(delivery).unwrap().content)
}
