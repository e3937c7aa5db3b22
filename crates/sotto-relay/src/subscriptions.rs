//! Which connection receives each queue: one subscriber per queue.
//!
//! The registry maps a recipient id to the [`Subscriber`] of one connection. A new
//! subscription takes a queue over and tells the previous subscriber, which then
//! sends END. Events for a connection are kept as sets (queues with new messages,
//! queues taken over) plus a [`Notify`], so nothing is lost, a slow connection
//! holds at most one entry per subscribed queue, and a sender never waits for a
//! recipient.
//!
//! Group logs have many subscribers each, one per member's connection
//! ([`GroupSubscriptions`]): an append marks the log in every subscriber's
//! events, and each connection then reads the new entries from its own cursor
//! as its replies make room, so one write reaches every member and a slow
//! member holds no entry in memory.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sotto_wire::{GroupReadId, RecipientId};
use tokio::sync::Notify;

/// The registry of subscriptions, shared by every connection.
#[derive(Default)]
pub struct Subscriptions {
    queues: Mutex<HashMap<RecipientId, Arc<Subscriber>>>,
}

/// One connection's end of the registry.
#[derive(Default)]
pub struct Subscriber {
    events: Mutex<Events>,
    notify: Notify,
}

/// What happened to a connection's subscriptions since it last looked.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Events {
    /// Queues that received a message.
    pub arrived: HashSet<RecipientId>,
    /// Queues another connection subscribed.
    pub ended: HashSet<RecipientId>,
    /// Group logs with a new entry.
    pub groups_arrived: HashSet<GroupReadId>,
    /// Group logs rekeyed or deleted: their subscriptions ended.
    pub groups_ended: HashSet<GroupReadId>,
}

/// The subscribers of every group log, shared by every connection.
#[derive(Default)]
pub struct GroupSubscriptions {
    /// Subscribers by log, each under its address (stable while it is held).
    logs: Mutex<HashMap<GroupReadId, HashMap<usize, Arc<Subscriber>>>>,
}

impl GroupSubscriptions {
    /// Adds `subscriber` to the log's subscribers.
    pub fn subscribe(&self, read_id: GroupReadId, subscriber: &Arc<Subscriber>) {
        lock(&self.logs)
            .entry(read_id)
            .or_default()
            .insert(address(subscriber), Arc::clone(subscriber));
    }

    /// Removes `subscriber` from the log's subscribers.
    pub fn unsubscribe(&self, read_id: &GroupReadId, subscriber: &Arc<Subscriber>) {
        let mut logs = lock(&self.logs);
        if let Some(subscribers) = logs.get_mut(read_id) {
            subscribers.remove(&address(subscriber));
            if subscribers.is_empty() {
                logs.remove(read_id);
            }
        }
    }

    /// Tells every subscriber of the log that an entry was appended.
    pub fn appended(&self, read_id: &GroupReadId) {
        let subscribers: Vec<Arc<Subscriber>> = lock(&self.logs)
            .get(read_id)
            .map(|subscribers| subscribers.values().cloned().collect())
            .unwrap_or_default();
        for subscriber in subscribers {
            subscriber.push(|events| {
                events.groups_arrived.insert(*read_id);
            });
        }
    }

    /// Ends every subscription of the log (it was rekeyed or deleted); each
    /// subscriber is told, the one that ended them too (a subscriber that
    /// subscribed with the new read key meanwhile subscribes again).
    pub fn end(&self, read_id: &GroupReadId) {
        let subscribers = lock(&self.logs).remove(read_id).unwrap_or_default();
        for subscriber in subscribers.into_values() {
            subscriber.push(|events| {
                events.groups_arrived.remove(read_id);
                events.groups_ended.insert(*read_id);
            });
        }
    }

    /// Subscriptions of this log.
    pub fn subscribers(&self, read_id: &GroupReadId) -> usize {
        lock(&self.logs).get(read_id).map_or(0, HashMap::len)
    }
}

/// A subscriber's key in [`GroupSubscriptions`].
fn address(subscriber: &Arc<Subscriber>) -> usize {
    Arc::as_ptr(subscriber) as usize
}

impl Subscriptions {
    /// Makes `subscriber` the one receiving `recipient_id`; the previous one, if
    /// another, is told its subscription ended.
    pub fn subscribe(&self, recipient_id: RecipientId, subscriber: &Arc<Subscriber>) {
        let previous = lock(&self.queues).insert(recipient_id, Arc::clone(subscriber));
        if let Some(previous) = previous
            && !Arc::ptr_eq(&previous, subscriber)
        {
            previous.push(|events| {
                events.arrived.remove(&recipient_id);
                events.ended.insert(recipient_id);
            });
        }
    }

    /// Whether `subscriber` currently receives `recipient_id`.
    pub fn is_subscriber(&self, recipient_id: &RecipientId, subscriber: &Arc<Subscriber>) -> bool {
        lock(&self.queues)
            .get(recipient_id)
            .is_some_and(|current| Arc::ptr_eq(current, subscriber))
    }

    /// Removes `subscriber`'s subscription to `recipient_id`, if it still has it.
    pub fn unsubscribe(&self, recipient_id: &RecipientId, subscriber: &Arc<Subscriber>) {
        let mut queues = lock(&self.queues);
        if queues
            .get(recipient_id)
            .is_some_and(|current| Arc::ptr_eq(current, subscriber))
        {
            queues.remove(recipient_id);
        }
    }

    /// Removes whatever subscription `recipient_id` has: the queue was deleted
    /// by the connection of `deleter`. A subscriber on another connection is
    /// told its subscription ended (it sends END), so that it neither waits for
    /// the queue nor keeps counting it against its subscription limit.
    pub fn remove(&self, recipient_id: &RecipientId, deleter: &Arc<Subscriber>) {
        let previous = lock(&self.queues).remove(recipient_id);
        if let Some(previous) = previous
            && !Arc::ptr_eq(&previous, deleter)
        {
            previous.push(|events| {
                events.arrived.remove(recipient_id);
                events.ended.insert(*recipient_id);
            });
        }
    }

    /// Tells the subscriber of `recipient_id`, if any, that a message arrived.
    pub fn message_arrived(&self, recipient_id: &RecipientId) {
        let subscriber = lock(&self.queues).get(recipient_id).cloned();
        if let Some(subscriber) = subscriber {
            subscriber.push(|events| {
                events.arrived.insert(*recipient_id);
            });
        }
    }

    /// Queues with a subscriber.
    pub fn len(&self) -> usize {
        lock(&self.queues).len()
    }

    /// Whether no queue has a subscriber.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Subscriber {
    fn push(&self, change: impl FnOnce(&mut Events)) {
        change(&mut lock(&self.events));
        self.notify.notify_one();
    }

    /// Waits until there may be events (a notification is never lost: one that
    /// came before the wait wakes it at once).
    pub async fn changed(&self) {
        self.notify.notified().await;
    }

    /// Takes the events accumulated so far.
    pub fn take(&self) -> Events {
        std::mem::take(&mut *lock(&self.events))
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked (every
/// critical section here is a single insert or remove).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn queue(seed: u8) -> RecipientId {
        RecipientId::from_bytes([seed; 24])
    }

    #[test]
    fn messages_reach_the_current_subscriber_only() {
        let registry = Subscriptions::default();
        let first = Arc::new(Subscriber::default());
        let second = Arc::new(Subscriber::default());
        registry.subscribe(queue(1), &first);
        registry.message_arrived(&queue(1));
        registry.message_arrived(&queue(2));
        assert_eq!(first.take().arrived, HashSet::from([queue(1)]));

        registry.subscribe(queue(1), &second);
        registry.message_arrived(&queue(1));
        let events = first.take();
        assert_eq!(events.ended, HashSet::from([queue(1)]));
        assert!(events.arrived.is_empty());
        assert_eq!(second.take().arrived, HashSet::from([queue(1)]));
        assert!(registry.is_subscriber(&queue(1), &second));
        assert!(!registry.is_subscriber(&queue(1), &first));
    }

    #[test]
    fn subscribing_again_ends_nothing() {
        let registry = Subscriptions::default();
        let subscriber = Arc::new(Subscriber::default());
        registry.subscribe(queue(1), &subscriber);
        registry.subscribe(queue(1), &subscriber);
        assert_eq!(subscriber.take(), Events::default());
    }

    #[test]
    fn unsubscribe_leaves_a_newer_subscriber_alone() {
        let registry = Subscriptions::default();
        let old = Arc::new(Subscriber::default());
        let new = Arc::new(Subscriber::default());
        registry.subscribe(queue(1), &old);
        registry.subscribe(queue(1), &new);
        registry.unsubscribe(&queue(1), &old);
        assert!(registry.is_subscriber(&queue(1), &new));
        registry.unsubscribe(&queue(1), &new);
        assert!(registry.is_empty());
        registry.subscribe(queue(2), &new);
        registry.remove(&queue(2), &new);
        assert!(registry.is_empty());
        assert_eq!(new.take(), Events::default());
    }

    #[test]
    fn deleting_a_queue_ends_another_connections_subscription() {
        let registry = Subscriptions::default();
        let subscriber = Arc::new(Subscriber::default());
        let deleter = Arc::new(Subscriber::default());
        registry.subscribe(queue(3), &subscriber);
        registry.message_arrived(&queue(3));
        registry.remove(&queue(3), &deleter);
        assert!(registry.is_empty());
        let events = subscriber.take();
        assert!(events.arrived.is_empty());
        assert_eq!(events.ended, [queue(3)].into_iter().collect());
        assert_eq!(deleter.take(), Events::default());
    }

    #[test]
    fn an_append_reaches_every_subscriber_of_the_log_until_it_ends() {
        let registry = GroupSubscriptions::default();
        let log = GroupReadId::from_bytes([7; 24]);
        let other = GroupReadId::from_bytes([8; 24]);
        let members: Vec<Arc<Subscriber>> =
            (0..3).map(|_| Arc::new(Subscriber::default())).collect();
        for member in &members {
            registry.subscribe(log, member);
            registry.subscribe(log, member);
        }
        registry.subscribe(other, &members[0]);
        assert_eq!(registry.subscribers(&log), 3);
        registry.unsubscribe(&log, &members[2]);
        registry.appended(&log);
        registry.appended(&log);
        for member in &members[..2] {
            assert_eq!(member.take().groups_arrived, HashSet::from([log]));
        }
        assert_eq!(members[2].take(), Events::default());
        registry.appended(&log);
        registry.end(&log);
        assert_eq!(registry.subscribers(&log), 0);
        for member in &members[..2] {
            let events = member.take();
            assert!(events.groups_arrived.is_empty());
            assert_eq!(events.groups_ended, HashSet::from([log]));
        }
        assert_eq!(members[2].take(), Events::default());
        assert_eq!(registry.subscribers(&other), 1);
    }

    #[tokio::test]
    async fn a_notification_before_the_wait_is_kept() {
        let registry = Subscriptions::default();
        let subscriber = Arc::new(Subscriber::default());
        registry.subscribe(queue(1), &subscriber);
        registry.message_arrived(&queue(1));
        tokio::time::timeout(Duration::from_secs(1), subscriber.changed())
            .await
            .unwrap();
        assert_eq!(subscriber.take().arrived.len(), 1);
    }
}
