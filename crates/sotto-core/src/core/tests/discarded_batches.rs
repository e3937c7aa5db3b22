//! A batch the core assembles and then discards (a delivery refused, an
//! error on the way) takes what was noted for it along: no event and no job
//! outlives the writes it was about.

use std::cell::Cell;
use std::rc::Rc;

use super::*;
use crate::ids::MessageNumber;
use crate::sim::Client;
use crate::store::{Direction, KeyRange, PendingSync, StoreError, Table, WriteBatch};
use crate::{Core, MessageStatus};

/// A memory store that refuses the next batch when told to, as a full disk
/// does.
struct RefusingStore {
    inner: MemoryStore,
    refuse_next: Rc<Cell<bool>>,
}

impl Store for RefusingStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(table, key)
    }

    fn range(
        &self,
        table: Table,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.inner.range(table, range, direction, limit)
    }

    fn apply(&mut self, batch: WriteBatch) -> Result<(), StoreError> {
        if self.refuse_next.replace(false) {
            return Err(StoreError::Unavailable("disk full".to_owned()));
        }
        self.inner.apply(batch)
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.inner.sync()
    }

    fn start_sync(&self) -> Result<Option<PendingSync>, StoreError> {
        self.inner.start_sync()
    }

    fn tables(&self) -> Result<Vec<String>, StoreError> {
        self.inner.tables()
    }

    fn records_after(
        &self,
        table: &str,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.inner.records_after(table, after, limit)
    }

    fn import_record(&mut self, table: &str, record: Record) -> Result<(), StoreError> {
        self.inner.import_record(table, record)
    }
}

/// Client `client`'s profile, opened again on a store that refuses the next
/// batch whenever the returned switch is set.
fn on_refusing_store(world: &World, client: usize) -> (Core<RefusingStore>, Rc<Cell<bool>>) {
    let refuse_next = Rc::new(Cell::new(false));
    let store = RefusingStore {
        inner: world.clients[client].core.store().clone(),
        refuse_next: Rc::clone(&refuse_next),
    };
    (Core::open(store).unwrap(), refuse_next)
}

/// Every event `core` has ready, after a sync.
fn drain<S: Store>(core: &mut Core<S>) -> Vec<Event> {
    core.sync().unwrap();
    let mut events = Vec::new();
    while let Some(event) = core.poll_event().unwrap() {
        events.push(event);
    }
    events
}

/// Hands every message waiting on `queue` to `client` at once, the way a
/// driver does with a burst, without polling events in between.
fn deliver_waiting(world: &mut World, client: usize, queue: &QueueRecord) {
    let relay = world
        .relays
        .iter()
        .position(|relay| relay.address == queue.relay)
        .unwrap();
    let suite = suite(relay, client);
    let now = world.now;
    while let Some(stored) = world.relays[relay]
        .queues
        .get_mut(&queue.recipient_id)
        .unwrap()
        .messages
        .pop_front()
    {
        let sealed = queue
            .queue_key
            .seal(suite, &stored.id, &stored.message)
            .unwrap();
        let Client { core, rng, .. } = &mut world.clients[client];
        core.handle_delivery(
            now,
            rng,
            &queue.relay,
            queue.recipient_id,
            stored.id,
            &sealed,
            suite,
        )
        .unwrap();
    }
}

/// Every event `client` has ready, after a sync.
fn drain_events(world: &mut World, client: usize) -> Vec<Event> {
    drain(&mut world.clients[client].core)
}

/// The items of `events`' `ItemAdded`, in order.
fn added(events: &[Event]) -> Vec<(ChatId, MessageNumber)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::ItemAdded { item, .. } => Some((item.chat, item.number)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_refused_delivery_leaves_no_event_for_the_notices_it_dropped() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    world.go_offline(1);
    drain_events(&mut world, 1);
    let items_before = world.clients[1]
        .core
        .history(bob_alice, None, 10_000)
        .unwrap()
        .len();
    // A text the relay loses, then a Confirm (refused on an established
    // connection, after its gap became a notice), then a text.
    send_raw(
        &mut world,
        0,
        alice_bob,
        Content::Text {
            reply_to: None,
            text: "lost".to_owned(),
        },
    );
    let profile = world.clients[0].core.profile().clone();
    let confirm = send_raw(
        &mut world,
        0,
        alice_bob,
        Content::Confirm {
            sender_key: [7; 32],
            profile,
            reply_queue: None,
        },
    );
    let text = send_raw(
        &mut world,
        0,
        alice_bob,
        Content::Text {
            reply_to: None,
            text: "after".to_owned(),
        },
    );
    let queue = receive_queue(&world, 1, bob_alice);
    inject(&mut world, &queue, confirm);
    inject(&mut world, &queue, text);
    deliver_waiting(&mut world, 1, &queue);
    let events = drain_events(&mut world, 1);
    assert!(
        events.iter().any(|event| matches!(
            event,
            Event::RelayFault { reason, .. } if reason == "unexpected confirmation from the contact"
        )),
        "{events:?}"
    );
    // The text's batch holds the gap's notice and the text: two items, each
    // announced once.
    let history = world.clients[1]
        .core
        .history(bob_alice, None, 10_000)
        .unwrap();
    assert_eq!(history.len(), items_before + 2);
    let expected: Vec<_> = history[items_before..]
        .iter()
        .map(|item| (item.chat, item.number))
        .collect();
    assert_eq!(added(&events), expected);
}

#[test]
fn a_batch_the_store_refuses_leaves_no_event_and_no_job() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, _) = world.connect(0, 1);
    let now = world.now;
    let (mut core, refuse_next) = on_refusing_store(&world, 0);
    let rng = &mut world.clients[0].rng;
    drain(&mut core);
    assert_eq!(core.poll_timeout(), None);
    refuse_next.set(true);
    assert!(matches!(
        core.send_text(now, rng, alice_bob, "refused", None),
        Err(CoreError::Store(StoreError::Unavailable(_)))
    ));
    // The refused batch's SEND was never stored: nothing is scheduled.
    assert_eq!(core.poll_timeout(), None);
    assert!(core.is_idle(now));
    // The next text takes the number the refused one had; it is announced
    // once, as itself.
    let number = core.send_text(now, rng, alice_bob, "kept", None).unwrap();
    let events = drain(&mut core);
    assert_eq!(added(&events), [(alice_bob, number)]);
    assert!(matches!(
        &events[..],
        [Event::ItemAdded { item, .. }] if item.text.as_deref() == Some("kept")
    ));
}

#[test]
fn a_deletion_the_store_refuses_keeps_the_chat_s_jobs_scheduled() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, _) = world.connect(0, 1);
    let now = world.now;
    let (mut core, refuse_next) = on_refusing_store(&world, 0);
    let rng = &mut world.clients[0].rng;
    let number = core
        .send_text(now, rng, alice_bob, "waiting", None)
        .unwrap();
    drain(&mut core);
    // The SEND goes unanswered: it waits for its backoff, not in flight.
    let request = core.poll_relay_request().expect("the SEND");
    assert!(matches!(request.command, Command::Send { .. }));
    core.handle_relay_failure(now, request.token).unwrap();
    core.sync().unwrap();
    assert!(core.poll_relay_request().is_none());
    refuse_next.set(true);
    assert!(matches!(
        core.delete_contact(now, alice_bob),
        Err(CoreError::Store(StoreError::Unavailable(_)))
    ));
    // Nothing was deleted: the text is still pending, no event says
    // otherwise, and its SEND still goes out.
    assert_eq!(drain(&mut core), []);
    assert_eq!(
        core.message(alice_bob, number).unwrap().status,
        MessageStatus::Pending
    );
    core.retry_now(now).unwrap();
    core.sync().unwrap();
    let request = core.poll_relay_request().expect("the SEND again");
    assert!(matches!(request.command, Command::Send { .. }));
}
