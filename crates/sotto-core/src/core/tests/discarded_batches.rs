//! A batch the core assembles and then discards (a delivery refused, an
//! error on the way) takes what was noted for it along: no event and no job
//! outlives the writes it was about.

use super::*;
use crate::ids::MessageNumber;
use crate::sim::Client;

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
    let core = &mut world.clients[client].core;
    core.sync().unwrap();
    let mut events = Vec::new();
    while let Some(event) = core.poll_event().unwrap() {
        events.push(event);
    }
    events
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
