//! Managing chats on one device: pin, archive, alias, clearing the history and
//! blocking, through the in-memory relays.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod util;

use std::time::Duration;

use sotto_core::{ConnectionState, CoreError, Event, MessageStatus, UnixMillis};
use util::World;

#[test]
fn pinned_chats_come_first_and_an_alias_names_the_peer_here_only() {
    let mut world = World::new(&["Alice", "Bob", "Carol"], &[0, 0, 0]);
    let (alice_bob, _) = world.connect(0, 1);
    let (alice_carol, carol_alice) = world.connect(0, 2);
    // Carol's chat is the most recent; pinning Bob's puts it first.
    world.advance(Duration::from_secs(1));
    world.send_text(2, carol_alice, "news");
    world.run();
    let order = |world: &World| -> Vec<_> {
        world.clients[0]
            .core
            .chats()
            .unwrap()
            .iter()
            .map(|chat| chat.id)
            .collect()
    };
    assert_eq!(order(&world), [alice_carol, alice_bob]);
    let alice = &mut world.clients[0].core;
    alice.set_pinned(alice_bob, true).unwrap();
    assert_eq!(order(&world), [alice_bob, alice_carol]);

    let alice = &mut world.clients[0].core;
    alice.set_alias(alice_bob, Some("  Bobby  ")).unwrap();
    alice.set_archived(alice_carol, true).unwrap();
    let bob = alice.chat(alice_bob).unwrap();
    assert_eq!(bob.display_name(), "Bobby");
    assert_eq!(bob.name.as_deref(), Some("Bob"));
    assert!(bob.pinned);
    assert!(alice.chat(alice_carol).unwrap().archived);
    for bad in ["", "   ", "two\nlines", &"x".repeat(65)] {
        assert!(matches!(
            alice.set_alias(alice_bob, Some(bad)),
            Err(CoreError::InvalidValue(_))
        ));
    }
    // A new message leaves an archived chat archived.
    world.send_text(2, carol_alice, "more news");
    world.run();
    let alice = &mut world.clients[0].core;
    assert!(alice.chat(alice_carol).unwrap().archived);
    alice.set_alias(alice_bob, None).unwrap();
    alice.set_archived(alice_carol, false).unwrap();
    assert_eq!(alice.chat(alice_bob).unwrap().display_name(), "Bob");
    assert!(!alice.chat(alice_carol).unwrap().archived);
    // Nothing of it reached the peer.
    assert_eq!(
        world.texts(1, world.clients[1].core.chats().unwrap()[0].id),
        ["[Connected]"]
    );
}

#[test]
fn a_cleared_history_is_empty_and_the_chat_goes_on() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    for text in ["one", "two", "three"] {
        world.send_text(1, bob_alice, text);
    }
    world.run();
    assert_eq!(world.clients[0].core.chat(alice_bob).unwrap().unread, 3);
    world.clients[0].core.clear_history(alice_bob).unwrap();
    world.run();
    let alice = &world.clients[0];
    assert!(alice.core.history(alice_bob, None, 100).unwrap().is_empty());
    let chat = alice.core.chat(alice_bob).unwrap();
    assert_eq!(chat.unread, 0);
    assert!(chat.last_item.is_none());
    assert_eq!(chat.state, ConnectionState::Connected);
    assert!(
        alice
            .events
            .iter()
            .any(|event| matches!(event, Event::HistoryCleared { chat } if *chat == alice_bob))
    );
    world.send_text(1, bob_alice, "after");
    world.run();
    world.send_text(0, alice_bob, "still here");
    world.run();
    assert_eq!(world.texts(0, alice_bob), ["after", "still here"]);
    assert_eq!(world.texts(1, bob_alice).last().unwrap(), "still here");
}

#[test]
fn a_blocked_peer_reaches_nothing_until_unblocked() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    world.send_text(1, bob_alice, "before");
    world.run();
    let now = world.now;
    world.clients[0].core.block(now, alice_bob).unwrap();
    world.run();
    let chat = world.clients[0].core.chat(alice_bob).unwrap();
    assert!(chat.blocked);
    assert_eq!(chat.state, ConnectionState::Disconnected);
    assert_eq!(world.texts(0, alice_bob), ["[Connected]", "before"]);
    // Alice's queue is gone: Bob's message goes nowhere, and Alice cannot send.
    let after = world.send_text(1, bob_alice, "after the block");
    world.run();
    assert_eq!(world.texts(0, alice_bob), ["[Connected]", "before"]);
    assert_eq!(
        world.clients[1]
            .core
            .message(bob_alice, after)
            .unwrap()
            .status,
        MessageStatus::Failed
    );
    let alice = &mut world.clients[0];
    assert!(matches!(
        alice
            .core
            .send_text(now, &mut alice.rng, alice_bob, "hi", None),
        Err(CoreError::NotConnected)
    ));

    // A contact request from Bob through Alice's address is dropped while blocked.
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    alice
        .core
        .create_address(now, &mut alice.rng, &relay)
        .unwrap();
    world.run();
    let link = world.clients[0].core.address_link().unwrap().unwrap();
    let relay = world.clients[1].relay.clone();
    let bob = &mut world.clients[1];
    bob.core
        .reconnect(now, &mut bob.rng, bob_alice, &link, &relay)
        .unwrap();
    world.run();
    assert!(world.clients[0].core.requests().unwrap().is_empty());

    // Unblocked, the next request arrives.
    world.clients[0].core.unblock(alice_bob).unwrap();
    let bob = &mut world.clients[1];
    bob.core
        .reconnect(now, &mut bob.rng, bob_alice, &link, &relay)
        .unwrap();
    world.run();
    assert_eq!(world.clients[0].core.requests().unwrap().len(), 1);
}

#[test]
fn search_finds_texts_of_every_chat_newest_first() {
    let mut world = World::new(&["Alice", "Bob", "Carol"], &[0, 0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    let (alice_carol, carol_alice) = world.connect(0, 2);
    world.send_text(1, bob_alice, "Lunch at noon?");
    world.run();
    world.advance(Duration::from_secs(1));
    world.send_text(2, carol_alice, "lunch tomorrow, then");
    world.run();
    world.advance(Duration::from_secs(1));
    let gone = world.send_text(0, alice_bob, "no LUNCH for me");
    world.run();
    let alice = &mut world.clients[0];
    let hits = alice.core.search("lunch", 10).unwrap();
    let found: Vec<_> = hits
        .iter()
        .map(|hit| (hit.chat_name.as_str(), hit.item.chat))
        .collect();
    assert_eq!(
        found,
        [
            ("Bob", alice_bob),
            ("Carol", alice_carol),
            ("Bob", alice_bob)
        ]
    );
    assert_eq!(hits[0].item.number, gone);
    assert_eq!(alice.core.search("lunch", 1).unwrap().len(), 1);
    // A message deleted for everyone and the notices are not searched.
    let now = world.now;
    let alice = &mut world.clients[0];
    alice
        .core
        .delete_for_everyone(now, &mut alice.rng, alice_bob, gone)
        .unwrap();
    assert_eq!(alice.core.search("LUNCH", 10).unwrap().len(), 2);
    assert!(alice.core.search("connected", 10).unwrap().is_empty());
    for bad in ["", "   ", &"x".repeat(257)] {
        assert!(matches!(
            alice.core.search(bad, 10),
            Err(CoreError::InvalidValue(_))
        ));
    }
}

#[test]
fn a_message_deleted_for_me_stays_with_the_peer_and_a_mute_is_kept() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    let received = world.send_text(1, bob_alice, "keep or not");
    world.run();
    let alice = &mut world.clients[0];
    let number = alice
        .core
        .history(alice_bob, None, 10)
        .unwrap()
        .last()
        .unwrap()
        .number;
    assert_eq!(alice.core.chat(alice_bob).unwrap().unread, 1);
    alice.core.delete_for_me(alice_bob, number).unwrap();
    // Deleted unread: no longer counted unread.
    assert_eq!(alice.core.chat(alice_bob).unwrap().unread, 0);
    assert!(matches!(
        alice.core.delete_for_me(alice_bob, number),
        Err(CoreError::UnknownMessage)
    ));
    world.run();
    let alice = &world.clients[0];
    assert!(alice.events.iter().any(|event| matches!(
        event,
        Event::ItemsRemoved { chat, numbers } if *chat == alice_bob && numbers == &[number]
    )));
    assert_eq!(world.texts(0, alice_bob), ["[Connected]"]);
    assert_eq!(
        world.clients[1]
            .core
            .message(bob_alice, received)
            .unwrap()
            .text
            .as_deref(),
        Some("keep or not")
    );

    let alice = &mut world.clients[0].core;
    alice
        .set_muted(alice_bob, Some(UnixMillis::FOREVER))
        .unwrap();
    assert_eq!(
        alice.chat(alice_bob).unwrap().muted_until,
        Some(UnixMillis::FOREVER)
    );
    alice.set_muted(alice_bob, None).unwrap();
    assert_eq!(alice.chat(alice_bob).unwrap().muted_until, None);
}
