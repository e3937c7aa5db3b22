//! A relay in memory for building profiles: the queue semantics of
//! docs/protocol.md (NEW, KEY, SUB, SEND, ACK, GET, DEL; one message in flight
//! per queue; link blobs with LNEW, LGET, LSET, LDEL) without a network, so that thousands of messages between real
//! cores settle in seconds. It checks which queue key authorizes each command
//! as the relay does (by the key itself: there is no connection to derive
//! command keys for); it has no quota, since the builder settles every message
//! before the next. Delivered messages are sealed with [`SUITE`].

use std::collections::{HashMap, VecDeque};

use anyhow::{Result, bail};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_core::RelayRequest;
use sotto_wire::x25519_dalek::{PublicKey, StaticSecret};
use sotto_wire::{
    CipherSuite, Command, ErrorCode, LinkBlob, LinkId, MessageContent, MessageId, QueueAuthKey,
    QueueKey, QueueMessage, RecipientId, Response, SealedMessage, SenderId,
};

/// The cipher suite of the builder's pretend connections.
pub(crate) const SUITE: CipherSuite = CipherSuite::ChaCha20Poly1305;

struct Queue {
    sender_id: SenderId,
    recipient_key: QueueAuthKey,
    sender_key: Option<QueueAuthKey>,
    queue_key: QueueKey,
    messages: VecDeque<(MessageId, QueueMessage)>,
    in_flight: bool,
    subscriber: Option<usize>,
}

/// A message pushed to a subscriber: (client, queue, message id, sealed message).
pub(crate) type Push = (usize, RecipientId, MessageId, SealedMessage);

pub(crate) struct MemoryRelay {
    queues: HashMap<RecipientId, Queue>,
    by_sender: HashMap<SenderId, RecipientId>,
    links: HashMap<LinkId, (QueueAuthKey, LinkBlob)>,
    rng: ChaCha20Rng,
}

impl MemoryRelay {
    pub(crate) fn new(seed: u64) -> MemoryRelay {
        MemoryRelay {
            queues: HashMap::new(),
            by_sender: HashMap::new(),
            links: HashMap::new(),
            rng: ChaCha20Rng::seed_from_u64(seed),
        }
    }

    fn id(&mut self) -> [u8; 24] {
        let mut id = [0; 24];
        self.rng.fill_bytes(&mut id);
        id
    }

    /// Answers `request` from client `client` at `now_secs`; messages due to
    /// subscribers go to `pushes`.
    pub(crate) fn handle(
        &mut self,
        client: usize,
        request: &RelayRequest,
        now_secs: u64,
        pushes: &mut Vec<Push>,
    ) -> Result<Response> {
        let signer = request.auth_key.as_ref().map(|key| key.public_key());
        let entity = request.command.entity();
        let auth = Response::Err {
            entity,
            code: ErrorCode::Auth,
        };
        match &request.command {
            Command::New {
                recipient_auth_key,
                recipient_dh_key,
                ..
            } => {
                if signer.as_ref() != Some(recipient_auth_key) {
                    return Ok(auth);
                }
                let recipient_id = RecipientId::from_bytes(self.id());
                let sender_id = SenderId::from_bytes(self.id());
                let mut secret = [0u8; 32];
                self.rng.fill_bytes(&mut secret);
                let secret = StaticSecret::from(secret);
                let Ok(queue_key) = QueueKey::derive(&secret, recipient_dh_key) else {
                    bail!("a client sent a low-order queue key");
                };
                self.queues.insert(
                    recipient_id,
                    Queue {
                        sender_id,
                        recipient_key: *recipient_auth_key,
                        sender_key: None,
                        queue_key,
                        messages: VecDeque::new(),
                        in_flight: false,
                        subscriber: None,
                    },
                );
                self.by_sender.insert(sender_id, recipient_id);
                Ok(Response::Ids {
                    recipient_id,
                    sender_id,
                    queue_dh_key: PublicKey::from(&secret),
                })
            }
            Command::Send {
                sender_id, body, ..
            } => {
                let Some(recipient_id) = self.by_sender.get(sender_id).copied() else {
                    return Ok(auth);
                };
                let id = MessageId::from_bytes(self.id());
                let Some(queue) = self.queues.get_mut(&recipient_id) else {
                    return Ok(auth);
                };
                if queue.sender_key.is_some_and(|key| signer != Some(key)) {
                    return Ok(auth);
                }
                queue.messages.push_back((
                    id,
                    QueueMessage {
                        timestamp: now_secs,
                        content: MessageContent::Body(body.clone()),
                    },
                ));
                self.push(recipient_id, pushes)?;
                Ok(Response::Ok { entity })
            }
            Command::LinkNew {
                link_auth_key,
                blob,
                ..
            } => {
                if signer.as_ref() != Some(link_auth_key) {
                    return Ok(auth);
                }
                let link_id = LinkId::from_bytes(self.id());
                self.links.insert(link_id, (*link_auth_key, blob.clone()));
                Ok(Response::LinkIds { link_id })
            }
            Command::LinkGet { link_id } => Ok(match self.links.get(link_id) {
                Some((_, blob)) => Response::Link {
                    link_id: *link_id,
                    blob: blob.clone(),
                },
                None => auth,
            }),
            Command::LinkSet { link_id, blob } => Ok(match self.links.get_mut(link_id) {
                Some((key, stored)) if signer == Some(*key) => {
                    *stored = blob.clone();
                    Response::Ok { entity }
                }
                _ => auth,
            }),
            Command::LinkDel { link_id } => Ok(match self.links.get(link_id) {
                Some((key, _)) if signer == Some(*key) => {
                    self.links.remove(link_id);
                    Response::Ok { entity }
                }
                _ => auth,
            }),
            command => {
                let Some(recipient_id) = entity.map(RecipientId::from) else {
                    return Ok(auth);
                };
                let Some(queue) = self.queues.get_mut(&recipient_id) else {
                    return Ok(auth);
                };
                if signer != Some(queue.recipient_key) {
                    return Ok(auth);
                }
                match command {
                    Command::Key {
                        sender_auth_key, ..
                    } => {
                        if queue.sender_key.is_some_and(|key| key != *sender_auth_key) {
                            return Ok(auth);
                        }
                        queue.sender_key = Some(*sender_auth_key);
                    }
                    Command::Sub { .. } => {
                        queue.subscriber = Some(client);
                        queue.in_flight = false;
                        self.push(recipient_id, pushes)?;
                    }
                    Command::Ack { message_id, .. } => {
                        if !queue.in_flight
                            || queue.messages.front().map(|(id, _)| id) != Some(message_id)
                        {
                            return Ok(Response::Err {
                                entity,
                                code: ErrorCode::NoMsg,
                            });
                        }
                        queue.messages.pop_front();
                        queue.in_flight = false;
                        self.push(recipient_id, pushes)?;
                    }
                    Command::Get { .. } => {
                        let Some((message_id, message)) = queue.messages.front() else {
                            return Ok(Response::Err {
                                entity,
                                code: ErrorCode::NoMsg,
                            });
                        };
                        queue.in_flight = true;
                        let Ok(sealed) = queue.queue_key.seal(SUITE, message_id, message) else {
                            bail!("sealing a queued message failed");
                        };
                        return Ok(Response::Msg {
                            recipient_id,
                            message_id: *message_id,
                            sealed,
                        });
                    }
                    Command::Del { .. } => {
                        let sender_id = queue.sender_id;
                        self.queues.remove(&recipient_id);
                        self.by_sender.remove(&sender_id);
                    }
                    _ => {}
                }
                Ok(Response::Ok { entity })
            }
        }
    }

    /// Hands the queue's next message to its subscriber unless one is in flight.
    fn push(&mut self, recipient_id: RecipientId, pushes: &mut Vec<Push>) -> Result<()> {
        let Some(queue) = self.queues.get_mut(&recipient_id) else {
            return Ok(());
        };
        if queue.in_flight {
            return Ok(());
        }
        if let (Some(client), Some((message_id, message))) =
            (queue.subscriber, queue.messages.front())
        {
            let Ok(sealed) = queue.queue_key.seal(SUITE, message_id, message) else {
                bail!("sealing a queued message failed");
            };
            queue.in_flight = true;
            pushes.push((client, recipient_id, *message_id, sealed));
        }
        Ok(())
    }
}
