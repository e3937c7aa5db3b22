//! Typed queue and link commands (file chunks are in `file_chunks`) on a [`RelayConnection`], authorized with the
//! queue and link keys.

use std::fmt;

use sotto_wire::{
    Command, ErrorCode, LinkBlob, LinkId, MessageBody, MessageId, QueueAuthKey, QueueAuthSecret,
    Response, ServerPassword,
};
use x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};

use crate::ClientError;
use crate::relay::queue::{random_auth_secret, random_bytes};
use crate::relay::{Delivery, PendingResponse, RecipientQueue, RelayConnection, SenderQueue};

impl RelayConnection {
    /// NEW: creates a queue with fresh random keys; `password` when the relay
    /// requires one.
    pub async fn create_queue(
        &self,
        password: Option<&ServerPassword>,
    ) -> Result<RecipientQueue, ClientError> {
        self.submit_create_queue(password).await?.queue().await
    }

    /// NEW without waiting: await [`PendingQueue::queue`] later (for creating
    /// many queues at once).
    pub async fn submit_create_queue(
        &self,
        password: Option<&ServerPassword>,
    ) -> Result<PendingQueue, ClientError> {
        let auth_key = random_auth_secret();
        let dh_secret = StaticSecret::from(*random_bytes());
        let command = Command::New {
            recipient_auth_key: auth_key.public_key(),
            recipient_dh_key: DhPublicKey::from(&dh_secret),
            password: password.cloned(),
        };
        let pending = self.submit(&command, Some(&auth_key)).await?;
        Ok(PendingQueue {
            pending,
            auth_key,
            dh_secret,
        })
    }

    /// KEY: secures the queue with the sender's key; from now on only SENDs
    /// authorized with it are accepted.
    pub async fn secure(
        &self,
        queue: &RecipientQueue,
        sender_key: &QueueAuthKey,
    ) -> Result<(), ClientError> {
        let command = Command::Key {
            recipient_id: queue.recipient_id(),
            sender_auth_key: *sender_key,
        };
        expect_ok(self.request(&command, Some(queue.auth_key())).await?, "KEY")
    }

    /// SUB on every queue, batched into as few blocks as fit; one result per
    /// queue, in order. Pending messages arrive as pushes.
    pub async fn subscribe<'a>(
        &self,
        queues: impl IntoIterator<Item = &'a RecipientQueue>,
    ) -> Vec<Result<(), ClientError>> {
        let mut pending = Vec::new();
        for queue in queues {
            let command = Command::Sub {
                recipient_id: queue.recipient_id(),
            };
            pending.push(self.submit(&command, Some(queue.auth_key())).await);
        }
        let mut results = Vec::with_capacity(pending.len());
        for submitted in pending {
            results.push(match submitted {
                Ok(response) => expect_ok_pending(response, "SUB").await,
                Err(error) => Err(error),
            });
        }
        results
    }

    /// SEND: returns once the relay has the message on disk.
    pub async fn send(&self, queue: &SenderQueue, body: MessageBody) -> Result<(), ClientError> {
        self.submit_send(queue, body).await?.ok("SEND").await
    }

    /// SEND without waiting: await [`PendingOk::ok`] later (for pipelining).
    pub async fn submit_send(
        &self,
        queue: &SenderQueue,
        body: MessageBody,
    ) -> Result<PendingOk, ClientError> {
        let command = Command::send(queue.sender_id(), body);
        Ok(PendingOk(self.submit(&command, queue.auth_key()).await?))
    }

    /// ACK: deletes the delivered message; the relay pushes the next one.
    pub async fn ack(
        &self,
        queue: &RecipientQueue,
        message_id: MessageId,
    ) -> Result<(), ClientError> {
        let command = Command::Ack {
            recipient_id: queue.recipient_id(),
            message_id,
        };
        expect_ok(self.request(&command, Some(queue.auth_key())).await?, "ACK")
    }

    /// GET: the pending message without subscribing; `None` when there is none.
    pub async fn get(&self, queue: &RecipientQueue) -> Result<Option<Delivery>, ClientError> {
        let command = Command::Get {
            recipient_id: queue.recipient_id(),
        };
        match self.request(&command, Some(queue.auth_key())).await? {
            Response::Msg {
                recipient_id,
                message_id,
                sealed,
            } => Ok(Some(Delivery {
                recipient_id,
                message_id,
                sealed,
                suite: self.parameters().suite,
            })),
            Response::Err {
                code: ErrorCode::NoMsg,
                ..
            } => Ok(None),
            other => Err(refusal(other, "GET")),
        }
    }

    /// OFF: suspends the queue; sends fail, pending messages stay readable.
    pub async fn suspend(&self, queue: &RecipientQueue) -> Result<(), ClientError> {
        let command = Command::Off {
            recipient_id: queue.recipient_id(),
        };
        expect_ok(self.request(&command, Some(queue.auth_key())).await?, "OFF")
    }

    /// DEL: deletes the queue and its messages.
    pub async fn delete(&self, queue: &RecipientQueue) -> Result<(), ClientError> {
        let command = Command::Del {
            recipient_id: queue.recipient_id(),
        };
        expect_ok(self.request(&command, Some(queue.auth_key())).await?, "DEL")
    }

    /// LNEW: stores `blob` under a new link id, with a fresh random link auth
    /// key; `password` when the relay requires one.
    pub async fn create_link(
        &self,
        blob: LinkBlob,
        password: Option<&ServerPassword>,
    ) -> Result<OwnedLink, ClientError> {
        let auth_key = random_auth_secret();
        let command = Command::LinkNew {
            link_auth_key: auth_key.public_key(),
            password: password.cloned(),
            blob,
        };
        match self.request(&command, Some(&auth_key)).await? {
            Response::LinkIds { link_id } => Ok(OwnedLink::new(link_id, auth_key)),
            other => Err(refusal(other, "LNEW")),
        }
    }

    /// LSET: replaces the link's blob (and starts its expiry again).
    pub async fn set_link(&self, link: &OwnedLink, blob: LinkBlob) -> Result<(), ClientError> {
        let command = Command::LinkSet {
            link_id: link.link_id,
            blob,
        };
        expect_ok(self.request(&command, Some(&link.auth_key)).await?, "LSET")
    }

    /// LDEL: deletes the link.
    pub async fn delete_link(&self, link: &OwnedLink) -> Result<(), ClientError> {
        let command = Command::LinkDel {
            link_id: link.link_id,
        };
        expect_ok(self.request(&command, Some(&link.auth_key)).await?, "LDEL")
    }

    /// LGET: the link's blob, or `None` when the relay has no such link (never
    /// created, deleted or expired: the relay does not say which).
    pub async fn fetch_link(&self, link_id: LinkId) -> Result<Option<LinkBlob>, ClientError> {
        match self.request(&Command::LinkGet { link_id }, None).await? {
            Response::Link {
                link_id: answered,
                blob,
            } if answered == link_id => Ok(Some(blob)),
            Response::Err {
                code: ErrorCode::Auth,
                ..
            } => Ok(None),
            other => Err(refusal(other, "LGET")),
        }
    }

    /// PING: checks the connection; the relay answers PONG.
    pub async fn ping(&self) -> Result<(), ClientError> {
        match self.request(&Command::Ping, None).await? {
            Response::Pong => Ok(()),
            other => Err(refusal(other, "PING")),
        }
    }
}

/// A link blob as its owner holds it: the link id and the key that
/// authorizes LSET and LDEL. `Debug` prints neither.
pub struct OwnedLink {
    link_id: LinkId,
    auth_key: QueueAuthSecret,
}

impl OwnedLink {
    /// A link from its id and auth secret (as LNEW made them, or as stored).
    pub fn new(link_id: LinkId, auth_key: QueueAuthSecret) -> OwnedLink {
        OwnedLink { link_id, auth_key }
    }

    /// The link's id, to put in the link.
    pub fn link_id(&self) -> LinkId {
        self.link_id
    }

    /// The secret that authorizes changes to the link.
    pub fn auth_key(&self) -> &QueueAuthSecret {
        &self.auth_key
    }
}

impl fmt::Debug for OwnedLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedLink(..)")
    }
}

/// A submitted NEW: the keys wait here for the relay's IDS.
pub struct PendingQueue {
    pending: PendingResponse,
    auth_key: QueueAuthSecret,
    dh_secret: StaticSecret,
}

impl PendingQueue {
    /// Waits for IDS and derives the queue key.
    pub async fn queue(self) -> Result<RecipientQueue, ClientError> {
        match self.pending.response().await? {
            Response::Ids {
                recipient_id,
                sender_id,
                queue_dh_key,
            } => RecipientQueue::from_ids(
                recipient_id,
                sender_id,
                self.auth_key,
                &self.dh_secret,
                &queue_dh_key,
            ),
            other => Err(refusal(other, "NEW")),
        }
    }
}

impl fmt::Debug for PendingQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PendingQueue(..)")
    }
}

/// A submitted command whose answer must be OK.
#[derive(Debug)]
pub struct PendingOk(PendingResponse);

impl PendingOk {
    pub(super) fn new(pending: PendingResponse) -> PendingOk {
        PendingOk(pending)
    }

    /// Waits for the answer: `Ok(())` for OK, [`ClientError::Refused`] for ERR.
    pub async fn ok(self, command: &'static str) -> Result<(), ClientError> {
        expect_ok_pending(self.0, command).await
    }
}

async fn expect_ok_pending(
    pending: PendingResponse,
    command: &'static str,
) -> Result<(), ClientError> {
    expect_ok(pending.response().await?, command)
}

pub(super) fn expect_ok(response: Response, command: &'static str) -> Result<(), ClientError> {
    match response {
        Response::Ok { .. } => Ok(()),
        other => Err(refusal(other, command)),
    }
}

/// ERR becomes [`ClientError::Refused`]; anything else does not fit the command.
pub(super) fn refusal(response: Response, command: &'static str) -> ClientError {
    match response {
        Response::Err { code, .. } => ClientError::Refused(code),
        _ => ClientError::UnexpectedResponse { command },
    }
}

#[cfg(test)]
mod tests {
    use sotto_wire::EntityId;

    use super::*;

    #[test]
    fn answers_map_to_results() {
        assert!(expect_ok(Response::Ok { entity: None }, "SUB").is_ok());
        let entity = Some(EntityId::from_bytes([1; 24]));
        assert!(matches!(
            expect_ok(
                Response::Err {
                    entity,
                    code: ErrorCode::Auth
                },
                "SUB"
            ),
            Err(ClientError::Refused(ErrorCode::Auth))
        ));
        assert!(matches!(
            expect_ok(Response::Pong, "ACK"),
            Err(ClientError::UnexpectedResponse { command: "ACK" })
        ));
    }
}
