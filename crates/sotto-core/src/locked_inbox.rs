//! Receiving while the profile is locked: a sans-IO machine that holds only
//! what subscribing and acknowledging need (each queue's relay, recipient id
//! and recipient auth secret), never a queue key, a ratchet state or the
//! storage key. It cannot open a message: it hands each one out as a
//! [`HeldDelivery`], exactly as the relay delivered it, for the runtime to
//! keep durably (sealed so that only the unlocked profile opens it), and
//! acknowledges it only once the runtime reports it kept
//! ([`LockedInbox::handle_held`]). On unlock the runtime gives every kept
//! delivery, in arrival order, to [`crate::Core::handle_delivery`], which
//! processes it as if it had just arrived; the core's own ACK of it is then
//! answered `ERR NO_MSG` by the relay, which changes nothing.
//!
//! A queue that another connection subscribes (END, the profile unlocked in
//! another tab or device) or that the relay refuses is no longer watched, so
//! that a reconnection here never takes a subscription back from a live
//! profile.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use sotto_wire::{
    CipherSuite, Command, MessageId, QueueAuthSecret, RecipientId, RelayAddress, Response,
    SealedMessage,
};

use crate::relay_request::{RelayRequest, RequestToken};

/// A message a relay delivered while the profile was locked, as it came: to
/// be kept, then given to [`crate::Core::handle_delivery`] on unlock.
#[derive(Clone, PartialEq, Eq)]
pub struct HeldDelivery {
    /// The relay it came from.
    pub relay: RelayAddress,
    /// Its queue.
    pub recipient_id: RecipientId,
    /// Its id in the queue.
    pub message_id: MessageId,
    /// The message sealed with the queue key.
    pub sealed: SealedMessage,
    /// The suite of the connection it came on (it opens with it).
    pub suite: CipherSuite,
}

impl fmt::Debug for HeldDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relays and queue ids must not reach logs.
        f.debug_struct("HeldDelivery")
            .field("sealed_len", &self.sealed.as_bytes().len())
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// One queue watched while locked.
struct WatchedQueue {
    relay: RelayAddress,
    recipient_id: RecipientId,
    auth_secret: QueueAuthSecret,
    /// The last delivery handed out to be kept, and whether it is kept.
    last: Option<(MessageId, bool)>,
}

/// What a request was for.
enum Sent {
    Subscribe(RecipientId),
    Ack,
}

/// Subscribes and acknowledges while the profile is locked. See the module
/// documentation.
pub struct LockedInbox {
    queues: Vec<WatchedQueue>,
    requests: VecDeque<RelayRequest>,
    sent: HashMap<RequestToken, Sent>,
    next_token: u64,
}

impl fmt::Debug for LockedInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockedInbox")
            .field("queues", &self.queues.len())
            .field("requests", &self.requests.len())
            .finish_non_exhaustive()
    }
}

impl LockedInbox {
    /// Watches these queues: `(relay, recipient id, recipient auth secret)`.
    pub(crate) fn new(
        queues: impl IntoIterator<Item = (RelayAddress, RecipientId, QueueAuthSecret)>,
    ) -> LockedInbox {
        LockedInbox {
            queues: queues
                .into_iter()
                .map(|(relay, recipient_id, auth_secret)| WatchedQueue {
                    relay,
                    recipient_id,
                    auth_secret,
                    last: None,
                })
                .collect(),
            requests: VecDeque::new(),
            sent: HashMap::new(),
            next_token: 0,
        }
    }

    /// The relays of the queues still watched: keep a connection to each.
    pub fn relays(&self) -> Vec<RelayAddress> {
        let mut relays: Vec<RelayAddress> = Vec::new();
        for queue in &self.queues {
            if !relays.contains(&queue.relay) {
                relays.push(queue.relay.clone());
            }
        }
        relays
    }

    /// Whether any queue is still watched.
    pub fn is_watching(&self) -> bool {
        !self.queues.is_empty()
    }

    /// The runtime is connected to `relay` (again): subscribe every queue
    /// watched there. A delivery handed out and not kept yet is delivered
    /// again after the SUB, and handed out again.
    pub fn handle_relay_connected(&mut self, relay: &RelayAddress) {
        let mut subscribe = Vec::new();
        for queue in &mut self.queues {
            if &queue.relay == relay {
                if queue.last.is_some_and(|(_, kept)| !kept) {
                    queue.last = None;
                }
                subscribe.push((queue.recipient_id, queue.auth_secret.clone()));
            }
        }
        for (recipient_id, auth_secret) in subscribe {
            self.request(
                relay,
                Command::Sub { recipient_id },
                auth_secret,
                Sent::Subscribe(recipient_id),
            );
        }
    }

    /// A relay pushed a message (MSG from `relay`): the delivery to keep, or
    /// `None` when there is nothing to keep (a queue not watched, the one
    /// just kept delivered again, which is acknowledged again, or a push
    /// while the queue's last delivery is still being kept).
    pub fn handle_delivery(
        &mut self,
        relay: &RelayAddress,
        recipient_id: RecipientId,
        message_id: MessageId,
        sealed: SealedMessage,
        suite: CipherSuite,
    ) -> Option<HeldDelivery> {
        let queue = self.queue_mut(relay, &recipient_id)?;
        match queue.last {
            Some((last, true)) if last == message_id => {
                let auth_secret = queue.auth_secret.clone();
                self.acknowledge(relay, recipient_id, message_id, auth_secret);
                return None;
            }
            // One delivery per queue is handed out at a time, as the relay
            // sends them (the next only after the ACK): a copy, or another
            // message a relay pushes before that, is not kept now (the relay
            // delivers it again), so what waits to be written stays bounded.
            Some((_, false)) => return None,
            _ => {}
        }
        queue.last = Some((message_id, false));
        Some(HeldDelivery {
            relay: relay.clone(),
            recipient_id,
            message_id,
            sealed,
            suite,
        })
    }

    /// The runtime kept `delivery` durably: acknowledge it, which lets the
    /// relay push the queue's next message.
    pub fn handle_held(&mut self, delivery: &HeldDelivery) {
        let Some(queue) = self.queue_mut(&delivery.relay, &delivery.recipient_id) else {
            return;
        };
        queue.last = Some((delivery.message_id, true));
        let auth_secret = queue.auth_secret.clone();
        self.acknowledge(
            &delivery.relay,
            delivery.recipient_id,
            delivery.message_id,
            auth_secret,
        );
    }

    /// The runtime could not keep `delivery`: it is not acknowledged, so it
    /// stays on the relay (which pushes nothing more on its queue until the
    /// next subscription, here after a reconnection or by the unlocked core).
    pub fn handle_hold_failed(&mut self, delivery: &HeldDelivery) {
        if let Some(queue) = self.queue_mut(&delivery.relay, &delivery.recipient_id)
            && queue.last == Some((delivery.message_id, false))
        {
            queue.last = None;
        }
    }

    /// A relay pushed END: another connection subscribed the queue (the
    /// profile is live elsewhere), so it is no longer watched here.
    pub fn handle_end(&mut self, relay: &RelayAddress, recipient_id: &RecipientId) {
        self.queues
            .retain(|queue| !(&queue.relay == relay && &queue.recipient_id == recipient_id));
    }

    /// The relay answered the request `token`. A refused subscription (the
    /// queue is gone) ends the watch of that queue; the rest needs nothing.
    pub fn handle_relay_response(
        &mut self,
        relay: &RelayAddress,
        token: RequestToken,
        response: &Response,
    ) {
        if let (Some(Sent::Subscribe(recipient_id)), Response::Err { .. }) =
            (self.sent.remove(&token), response)
        {
            self.handle_end(relay, &recipient_id);
        }
    }

    /// No answer came for `token`: a lost SUB is sent again on the next
    /// connection, a lost ACK leaves the message to be delivered again.
    pub fn handle_relay_failure(&mut self, token: RequestToken) {
        self.sent.remove(&token);
    }

    /// The next command to send.
    pub fn poll_relay_request(&mut self) -> Option<RelayRequest> {
        self.requests.pop_front()
    }

    fn queue_mut(
        &mut self,
        relay: &RelayAddress,
        recipient_id: &RecipientId,
    ) -> Option<&mut WatchedQueue> {
        self.queues
            .iter_mut()
            .find(|queue| &queue.relay == relay && &queue.recipient_id == recipient_id)
    }

    fn acknowledge(
        &mut self,
        relay: &RelayAddress,
        recipient_id: RecipientId,
        message_id: MessageId,
        auth_secret: QueueAuthSecret,
    ) {
        let command = Command::Ack {
            recipient_id,
            message_id,
        };
        self.request(relay, command, auth_secret, Sent::Ack);
    }

    fn request(
        &mut self,
        relay: &RelayAddress,
        command: Command,
        auth_secret: QueueAuthSecret,
        sent: Sent,
    ) {
        let token = RequestToken(self.next_token);
        self.next_token += 1;
        self.sent.insert(token, sent);
        self.requests.push_back(RelayRequest {
            token,
            relay: relay.clone(),
            command,
            auth_key: Some(auth_secret),
        });
    }
}

#[cfg(test)]
mod tests;
