//! Whatever a relay or a stranger puts in a queue, the core neither panics nor
//! blocks the queue: bad messages are reported and acknowledged (or, when they
//! are not sealed for us, reported and left).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod util;

use proptest::prelude::*;
use sotto_wire::{MessageBody, MessageContent, QueueMessage};
use util::World;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn garbage_in_a_contact_queue_is_dropped(bodies in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 1..16000), 1..4)) {
        let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
        let (alice_bob, bob_alice) = world.connect(0, 1);
        world.go_offline(1);
        let relay = &mut world.relays[0];
        let ids: Vec<_> = bodies.iter().map(|_| relay.new_message_id()).collect();
        let queue = relay.queues.values_mut().find(|q| q.subscriber.is_none()).unwrap();
        for (body, id) in bodies.into_iter().zip(ids) {
            queue.messages.push_back(util::Stored {
                id,
                message: QueueMessage {
                    timestamp: 1,
                    content: MessageContent::Body(MessageBody::new(body).unwrap()),
                },
            });
        }
        world.go_online(1);
        world.send_text(0, alice_bob, "still works");
        world.run();
        let texts = world.texts(1, bob_alice);
        prop_assert_eq!(texts.last().unwrap(), "still works");
        prop_assert!(world.relays[0].queues.values().all(|q| q.messages.is_empty()));
    }

    #[test]
    fn garbage_links_are_refused(text in "\\PC{0,300}") {
        let mut world = World::new(&["Bob"], &[0]);
        let now = world.now;
        let relay = world.clients[0].relay.clone();
        let bob = &mut world.clients[0];
        prop_assert!(bob.core.connect(now, &mut bob.rng, &text, &relay).is_err());
        let link = format!("https://relay/invite#{text}");
        prop_assert!(bob.core.connect(now, &mut bob.rng, &link, &relay).is_err());
    }
}
