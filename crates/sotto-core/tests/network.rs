//! Two cores and their relays through real `sotto_wire::ClientConnection`s
//! and a relay end built from sotto-wire's server pieces, exchanging 16 KiB
//! blocks over a simulated network under a fake clock: invitations, chat
//! both ways, lost answers, dead lines, idle connections and a relay that
//! goes away.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod util;

use std::time::Duration;

use sotto_core::{ConnectionState, MessageStatus};
use sotto_wire::ConnectionEnd;
use util::network::Net;

const SEND: u8 = 0x04;
const SUB: u8 = 0x03;
const PING: u8 = 0x09;

/// Every command the relays received was well formed and authorized.
fn assert_clean(net: &Net) {
    for relay in &net.relays {
        assert!(relay.stats.errors.is_empty(), "{:?}", relay.stats.errors);
    }
}

#[test]
fn an_invitation_and_a_chat_both_ways_cross_the_wire() {
    let mut net = Net::new(&["Alice", "Bob"], &[0, 1]);
    let (alice_bob, bob_alice) = net.connect_contacts(0, 1);
    for (client, chat) in [(0, alice_bob), (1, bob_alice)] {
        let summary = net.clients[client].core.chat(chat).unwrap();
        assert_eq!(summary.state, ConnectionState::Connected);
    }
    // Both queues are secured, each on its owner's relay.
    for relay in &net.relays {
        assert_eq!(relay.queues.queues.len(), 1);
        assert!(relay.queues.queues.values().all(|q| q.sender_key.is_some()));
    }

    let hello = net.send_text(0, alice_bob, "hello Bob", None);
    net.run();
    let at_bob = net.clients[1].core.history(bob_alice, None, 1).unwrap()[0].number;
    let reply = net.send_text(1, bob_alice, "hi Alice", Some(at_bob));
    let now = net.unix_now();
    let bob = &mut net.clients[1];
    bob.core
        .react(now, &mut bob.rng, bob_alice, at_bob, "👍")
        .unwrap();
    net.run();

    assert_eq!(
        net.texts(0, alice_bob),
        ["[Connected]", "hello Bob", "hi Alice"]
    );
    assert_eq!(
        net.texts(1, bob_alice),
        ["[Connected]", "hello Bob", "hi Alice"]
    );
    let reply_at_alice = net.clients[0]
        .core
        .history(alice_bob, None, 1)
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(reply_at_alice.reply_to, Some(hello));
    let hello_at_alice = net.clients[0].core.message(alice_bob, hello).unwrap();
    assert_eq!(hello_at_alice.reactions.len(), 1);
    assert!(!hello_at_alice.reactions[0].mine);
    // Delivery receipts went back over the wire.
    assert_eq!(hello_at_alice.status, MessageStatus::Delivered);
    assert_eq!(
        net.clients[1]
            .core
            .message(bob_alice, reply)
            .unwrap()
            .status,
        MessageStatus::Delivered
    );
    // Read receipts too.
    let now = net.unix_now();
    let alice = &mut net.clients[0];
    alice
        .core
        .mark_read(now, &mut alice.rng, alice_bob)
        .unwrap();
    net.run();
    assert_eq!(
        net.clients[1]
            .core
            .message(bob_alice, reply)
            .unwrap()
            .status,
        MessageStatus::Read
    );

    assert_clean(&net);
    for relay in &net.relays {
        // Every authorized command's authenticator verified under its queue's
        // command key on its connection.
        assert!(relay.stats.verified > 0);
        // Each client reached each relay once and stayed connected.
        assert_eq!(relay.stats.handshakes, 2);
    }
    for client in &net.clients {
        assert_eq!(client.stats.connections, 2, "{:?}", client.stats);
        assert!(client.stats.ends.is_empty());
        assert_eq!(client.stats.timeouts, 0);
        assert_eq!(client.stats.remote_faults, 0);
    }
}
