//! Two cores and their relays through real `sotto_wire::ClientConnection`s
//! and a relay end built from sotto-wire's server pieces, exchanging 16 KiB
//! blocks over a simulated network under a fake clock: invitations, chat
//! both ways, lost answers, dead lines, idle connections and a relay that
//! goes away.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod util;

use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_core::{ConnectionState, MessageDirection, MessageStatus};
use sotto_wire::ConnectionEnd;
use util::network::Net;

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

/// How many SENDs the relay `relay` answered OK on the queue client `to`
/// subscribes there.
fn stored_for(net: &Net, relay: usize, to: usize) -> usize {
    let socket = net.clients[to].socket(relay).unwrap();
    let relay = &net.relays[relay];
    let queue = relay
        .queues
        .queues
        .values()
        .find(|queue| queue.subscriber == Some(socket.0))
        .expect("a queue subscribed by the client");
    relay
        .stats
        .stored
        .get(&queue.sender_id)
        .copied()
        .unwrap_or(0)
}

#[test]
fn a_lost_answer_times_out_and_the_retried_message_arrives_once() {
    let mut net = Net::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = net.connect_contacts(0, 1);
    net.send_text(0, alice_bob, "one", None);
    net.run();
    let before = stored_for(&net, 0, 1);

    // The relay stores the SEND; its OK is lost with the line, and so is
    // whatever the relay pushes to Alice from then on.
    let two = net.send_text(0, alice_bob, "two", None);
    net.advance_until(Duration::from_secs(1), |net| stored_for(net, 0, 1) > before);
    let socket = net.clients[0].socket(0).unwrap();
    net.cut(socket);
    net.advance(Duration::from_secs(120));

    // The connection failed the SEND when its request timeout fired, then
    // its keep-alive found the line dead; the core sent again on a new one.
    let alice = &net.clients[0].stats;
    assert!(alice.timeouts >= 1, "{alice:?}");
    assert_eq!(alice.ends, [ConnectionEnd::TimedOut]);
    assert_eq!(alice.connected, 2);
    // The relay answered both SENDs; the second, the same bytes, it did not
    // store again (SEND is idempotent), so Bob sees the text once and no
    // replay.
    assert_eq!(stored_for(&net, 0, 1), before + 2);
    assert_eq!(net.texts(1, bob_alice), ["[Connected]", "one", "two"]);
    assert_eq!(net.texts(0, alice_bob), ["[Connected]", "one", "two"]);
    // Bob's receipt, pushed to the dead line, came again on the new one.
    assert_eq!(
        net.clients[0].core.message(alice_bob, two).unwrap().status,
        MessageStatus::Delivered
    );
    // Alice's new subscription took the queue over from the dead line.
    assert_eq!(
        net.relays[0]
            .queues
            .queues
            .values()
            .filter(|q| q.subscriber == Some(socket.0))
            .count(),
        0
    );
    assert_clean(&net);
}

#[test]
fn idle_connections_stay_up_on_keep_alives() {
    let mut net = Net::new(&["Alice", "Bob"], &[0, 1]);
    let (alice_bob, bob_alice) = net.connect_contacts(0, 1);
    net.run();
    let pings: usize = net.relays.iter().map(|relay| relay.stats.count(PING)).sum();
    net.advance(Duration::from_secs(15 * 60));

    // Four connections (two clients, two relays), a PING every 20 s or so
    // each, longer than the relay's idle timeout: none closed.
    let pinged: usize = net.relays.iter().map(|relay| relay.stats.count(PING)).sum();
    assert!(pinged - pings >= 4 * 40, "{}", pinged - pings);
    for relay in &net.relays {
        assert_eq!(relay.stats.closed_idle, 0);
        assert_eq!(relay.stats.closed_unauthorized, 0);
        assert_eq!(relay.sessions(), 2);
    }
    for client in &net.clients {
        assert_eq!(client.stats.connections, 2, "{:?}", client.stats);
        assert!(client.stats.ends.is_empty());
    }
    // And the line is still good: a message goes at once.
    let started = net.now;
    net.send_text(1, bob_alice, "still there?", None);
    net.run();
    assert!(
        net.now - started < Duration::from_secs(1),
        "{:?}",
        net.now - started
    );
    assert_eq!(net.texts(0, alice_bob).last().unwrap(), "still there?");
    assert_clean(&net);
}

#[test]
fn a_dead_line_is_found_by_keep_alive_and_the_client_comes_back() {
    let mut net = Net::new(&["Alice", "Bob"], &[0, 1]);
    let (alice_bob, bob_alice) = net.connect_contacts(0, 1);
    net.run();
    // Bob's lines die silently while he is idle; Alice writes meanwhile.
    for relay in 0..2 {
        let socket = net.clients[1].socket(relay).unwrap();
        net.cut(socket);
    }
    let cut_at = net.now;
    net.send_text(0, alice_bob, "are you there?", None);
    net.advance_until(Duration::from_secs(60), |net| {
        net.texts(1, bob_alice).last().map(String::as_str) == Some("are you there?")
    });
    // Found within a keep-alive interval and timeout, plus a backoff.
    let config = net.config;
    let bound = config.keepalive_interval + config.keepalive_timeout + Duration::from_secs(2);
    assert!(net.now - cut_at <= bound, "{:?}", net.now - cut_at);
    let bob = &net.clients[1].stats;
    assert_eq!(bob.ends, [ConnectionEnd::TimedOut, ConnectionEnd::TimedOut]);
    assert_eq!(bob.subscription_ends, 0);

    // Bob's delivery receipt goes back on his new line to Alice's relay.
    net.run();
    let sent = net.clients[0].core.history(alice_bob, None, 1).unwrap();
    assert_eq!(sent[0].status, MessageStatus::Delivered);
    assert_clean(&net);
}

#[test]
fn a_relay_that_goes_away_is_tried_again_with_backoff_until_it_returns() {
    let mut net = Net::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = net.connect_contacts(0, 1);
    net.run();
    net.relay_down(0);
    net.send_text(0, alice_bob, "during the outage", None);
    net.advance(Duration::from_secs(20));
    // Attempts after 0.5 s, 1 s, 2 s, then every 4 s at most (each wait
    // drawn in its upper half): between 7 and 12 in 20 s.
    for client in &net.clients {
        assert!(
            (7..=12).contains(&client.stats.refused),
            "{:?}",
            client.stats
        );
        assert_eq!(client.stats.ends, [ConnectionEnd::Closed]);
    }
    assert!(net.texts(1, bob_alice).len() == 1);

    // Back within one longest wait of the relay's return.
    net.relay_up(0);
    net.advance(Duration::from_secs(5));
    assert_eq!(
        net.texts(1, bob_alice),
        ["[Connected]", "during the outage"]
    );
    for client in &net.clients {
        assert_eq!(client.stats.connected, 2, "{:?}", client.stats);
    }
    let alice_sent = net.clients[0].core.history(alice_bob, None, 1).unwrap();
    assert_eq!(alice_sent[0].status, MessageStatus::Delivered);
    assert_clean(&net);
}

#[test]
fn a_client_that_dies_before_the_answer_sends_again_after_its_restart() {
    let mut net = Net::new(&["Alice", "Bob"], &[0, 1]);
    let (alice_bob, bob_alice) = net.connect_contacts(0, 1);
    let before = stored_for(&net, 1, 1);
    let sent = net.send_text(0, alice_bob, "before the crash", None);
    net.advance_until(Duration::from_secs(1), |net| stored_for(net, 1, 1) > before);
    net.restart(0);
    net.run();
    net.advance(Duration::from_secs(5));
    // The job outlived the process: the SEND went again, on a new connection.
    assert_eq!(stored_for(&net, 1, 1), before + 2);
    let texts = net.texts(1, bob_alice);
    assert_eq!(texts[..2], ["[Connected]", "before the crash"]);
    assert!(
        texts[2..]
            .iter()
            .all(|text| text == "[Integrity(Replayed)]"),
        "{texts:?}"
    );
    assert_eq!(
        net.clients[0].core.message(alice_bob, sent).unwrap().status,
        MessageStatus::Delivered
    );
    // The restarted core carries on on its new connections.
    net.send_text(0, alice_bob, "after the restart", None);
    net.send_text(1, bob_alice, "welcome back", None);
    net.run();
    assert_eq!(net.texts(1, bob_alice).last().unwrap(), "after the restart");
    assert_eq!(net.texts(0, alice_bob).last().unwrap(), "welcome back");
    assert_eq!(net.clients[0].stats.connections, 4);
    assert_clean(&net);
}

/// Texts both ways while lines are cut (silently) and reset at random, with
/// frames delayed by up to 150 ms: in the end each side has every text of
/// each author exactly once and in order, and every one is delivered.
#[test]
fn random_cuts_and_resets_lose_nothing_and_show_nothing_twice() {
    // SOTTO_NET_SEEDS=<n> tries more.
    let seeds = std::env::var("SOTTO_NET_SEEDS")
        .ok()
        .and_then(|seeds| seeds.parse().ok())
        .unwrap_or(4);
    for seed in 0..seeds {
        let mut net = Net::new(&["Alice", "Bob"], &[0, (seed % 2) as usize]);
        net.seed(seed);
        net.jitter = Duration::from_millis(110);
        let (alice_bob, bob_alice) = net.connect_contacts(0, 1);
        let chats = [alice_bob, bob_alice];
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut sent: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        let mut faults = 0;
        for round in 0..80 {
            match rng.next_u32() % 10 {
                0..=4 => {
                    let from = (rng.next_u32() % 2) as usize;
                    let text = format!("{from}:{round}");
                    net.send_text(from, chats[from], &text, None);
                    sent[from].push(text);
                }
                5 | 6 => {
                    let sockets = net.live_sockets();
                    if !sockets.is_empty() {
                        let socket = sockets[rng.next_u32() as usize % sockets.len()];
                        faults += 1;
                        if rng.next_u32() % 2 == 0 {
                            net.cut(socket);
                        } else {
                            net.reset(socket);
                        }
                    }
                }
                _ => {}
            }
            net.advance(Duration::from_millis(u64::from(rng.next_u32() % 3000)));
        }
        // Keep-alives find the cut lines; backoffs run out; everything lands.
        net.advance(Duration::from_secs(10 * 60));
        net.run();
        assert!(faults > 5, "seed {seed}: {faults} faults");

        for (viewer, &chat) in chats.iter().enumerate() {
            let texts = net.texts(viewer, chat);
            for text in texts.iter().filter(|text| text.starts_with('[')) {
                assert!(
                    ["[Connected]", "[Integrity(Replayed)]"].contains(&text.as_str()),
                    "seed {seed}: {text}"
                );
            }
            for (author, sent) in sent.iter().enumerate() {
                let prefix = format!("{author}:");
                let got: Vec<&String> = texts.iter().filter(|t| t.starts_with(&prefix)).collect();
                let want: Vec<&String> = sent.iter().collect();
                assert_eq!(got, want, "seed {seed}, viewer {viewer}, author {author}");
            }
        }
        for (author, &chat) in chats.iter().enumerate() {
            for item in net.clients[author]
                .core
                .history(chat, None, 10_000)
                .unwrap()
            {
                if item.direction == MessageDirection::Outgoing {
                    assert_eq!(
                        item.status,
                        MessageStatus::Delivered,
                        "seed {seed}: {item:?}"
                    );
                }
            }
        }
        assert_clean(&net);
    }
}

/// A client that lost its line to a relay where it only sends (its contact's
/// queue is there, none of its own) must not renew it: connected again with
/// nothing to send, the relay would close it as unauthorized 10 s later, and
/// a driver whose backoff the handshake reset would be back half a second
/// after, a handshake every 10.5 s. The drivers (this one, sotto-client's
/// live runtime, the browser bridge) renew only the relays of
/// `Core::subscribed_relays` and reach the others when a request goes there.
#[test]
fn a_send_only_line_that_died_is_not_renewed_in_a_loop() {
    let mut net = Net::new(&["Alice", "Bob"], &[0, 1]);
    net.connect_contacts(0, 1);
    net.run();
    let socket = net.clients[1].socket(0).unwrap();
    net.cut(socket);
    net.advance(Duration::from_secs(300));
    let bob = &net.clients[1].stats;
    assert!(bob.connections <= 3, "{bob:?}");
    assert_eq!(net.relays[0].stats.closed_unauthorized, 0);
}
