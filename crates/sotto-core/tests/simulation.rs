//! Two and three cores, one or two in-memory relays and a fake clock: every
//! flow of the core end to end, with a relay that misbehaves.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod util;

use std::time::Duration;

use sotto_core::{
    ChatNotice, ConnectionState, Event, IntegrityNotice, MessageDirection, MessageStatus,
    NoticeView,
};
use sotto_wire::{ErrorCode, MessageBody, Response};
use util::World;

#[test]
fn one_time_invitation_connects_and_secures_both_queues() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    for (client, contact, name) in [(0, alice_bob, "Bob"), (1, bob_alice, "Alice")] {
        let summary = world.clients[client].core.chat(contact).unwrap();
        assert_eq!(summary.state, ConnectionState::Connected);
        assert_eq!(summary.name.as_deref(), Some(name));
        assert!(world.clients[client].events.iter().any(|event| matches!(
            event,
            Event::ContactConnected { chat } if chat.id == contact
        )));
    }
    // Both queues are secured with a key only the other side holds.
    let relay = &world.relays[0];
    assert_eq!(relay.queues.len(), 2);
    assert!(
        relay
            .queues
            .values()
            .all(|queue| queue.sender_key.is_some())
    );
    // The invitation is used up.
    assert!(world.clients[0].core.invitations().unwrap().is_empty());
    // Both sides see the same security code.
    let a = world.clients[0].core.security_code(alice_bob).unwrap();
    let b = world.clients[1].core.security_code(bob_alice).unwrap();
    assert_eq!(a.digits(), b.digits());
}

#[test]
fn texts_flow_both_ways_with_statuses_across_two_relays() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 1]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    let hello = world.send_text(0, alice_bob, "hello Bob");
    world.run();
    let sent = world.clients[0].core.message(alice_bob, hello).unwrap();
    assert_eq!(sent.status, MessageStatus::Sent);
    // Delivery receipts wait half a second to go out together.
    world.advance(Duration::from_secs(1));
    let sent = world.clients[0].core.message(alice_bob, hello).unwrap();
    assert_eq!(sent.status, MessageStatus::Delivered);
    world.send_text(1, bob_alice, "hi Alice");
    world.run();
    assert_eq!(
        world.texts(1, bob_alice),
        ["[Connected]", "hello Bob", "hi Alice"]
    );
    assert_eq!(
        world.texts(0, alice_bob),
        ["[Connected]", "hello Bob", "hi Alice"]
    );
    assert_eq!(world.clients[1].core.chat(bob_alice).unwrap().unread, 1);
    let now = world.now;
    let bob = &mut world.clients[1];
    bob.core.mark_read(now, &mut bob.rng, bob_alice).unwrap();
    world.run();
    assert_eq!(world.clients[1].core.chat(bob_alice).unwrap().unread, 0);
    let sent = world.clients[0].core.message(alice_bob, hello).unwrap();
    assert_eq!(sent.status, MessageStatus::Read);
    let statuses: Vec<_> = world.clients[0]
        .events
        .iter()
        .filter_map(|event| match event {
            Event::ItemChanged { item } if item.number == hello => Some(item.status),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            MessageStatus::Sent,
            MessageStatus::Delivered,
            MessageStatus::Read
        ]
    );
}

#[test]
fn messages_wait_in_the_queue_while_offline_and_survive_restarts() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    world.go_offline(1);
    for i in 0..5 {
        world.send_text(0, alice_bob, &format!("message {i}"));
    }
    world.run();
    world.restart(0);
    world.clients[1].restart();
    world.go_online(1);
    let texts = world.texts(1, bob_alice);
    assert_eq!(texts.len(), 6, "{texts:?}");
    // Alice restarts with messages still in her outbox.
    world.go_offline(0);
    let now = world.now;
    let alice = &mut world.clients[0];
    alice
        .core
        .send_text(now, &mut alice.rng, alice_bob, "queued while offline", None)
        .unwrap();
    alice.restart();
    world.go_online(0);
    assert_eq!(
        world.texts(1, bob_alice).last().unwrap(),
        "queued while offline"
    );
}

#[test]
fn lost_answers_are_retried_with_backoff_without_duplicates() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    world.drop_responses = true;
    world.send_text(0, alice_bob, "sent twice, shown once");
    world.run();
    world.drop_responses = false;
    world.advance(Duration::from_secs(10));
    assert!(world.relays[0].sends >= 2);
    let texts = world.texts(1, bob_alice);
    // The retry carried the same bytes: the relay answered it without a
    // second copy, so no replay shows either.
    assert_eq!(texts, ["[Connected]", "sent twice, shown once"]);
    let item = world.clients[0]
        .core
        .history(alice_bob, None, 1)
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(item.status, MessageStatus::Delivered);
}

#[test]
fn a_new_command_sends_the_outbox_at_once_whatever_its_backoff() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    world.drop_responses = true;
    world.send_text(0, alice_bob, "waits for its backoff");
    world.run();
    world.drop_responses = false;
    let now = world.now;
    let alice = &mut world.clients[0].core;
    assert!(alice.is_idle(now), "the retry waits for its backoff");
    alice.retry_now(now).unwrap();
    assert!(!alice.is_idle(now));
    assert!(alice.poll_relay_request().is_some());
    world.run();
    assert!(
        world
            .texts(1, bob_alice)
            .contains(&"waits for its backoff".to_owned())
    );
}

#[test]
fn a_misbehaving_relay_shows_gaps_reorders_and_replays_and_never_a_message_twice() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    world.go_offline(1);
    for i in 1..=5 {
        world.send_text(0, alice_bob, &format!("m{i}"));
    }
    world.run();
    // The relay holds Bob's queue: m1..m5 (seq 2..6, after the Confirm).
    // Reorder m2 after m3, drop m4,
    // replay m1 at the end with a new message id.
    let relay = &mut world.relays[0];
    let queue = relay
        .queues
        .values_mut()
        .find(|queue| queue.messages.len() == 5)
        .unwrap();
    let mut messages: Vec<_> = queue.messages.drain(..).collect();
    messages.swap(1, 2);
    messages.remove(3);
    let mut replay = messages[0].clone();
    queue.messages.extend(messages);
    replay.id = relay.new_message_id();
    let queue = relay
        .queues
        .values_mut()
        .find(|queue| queue.messages.len() == 4)
        .unwrap();
    queue.messages.push_back(replay);
    world.go_online(1);
    let texts = world.texts(1, bob_alice);
    assert_eq!(
        texts,
        [
            "[Connected]",
            "m1",
            "[Integrity(Skipped { first: 3, last: 3 })]",
            "m3",
            "[Integrity(OutOfOrder { seq: 3 })]",
            "m2",
            "[Integrity(Skipped { first: 5, last: 5 })]",
            "m5",
            "[Integrity(Replayed)]",
        ],
    );
}

#[test]
fn quota_blocks_the_sender_without_loss_or_duplication() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    world.relays[0].quota = 3;
    world.go_offline(1);
    for i in 0..6 {
        world.send_text(0, alice_bob, &format!("q{i}"));
    }
    world.run();
    world.advance(Duration::from_secs(20));
    world.go_online(1);
    world.advance(Duration::from_secs(600));
    let texts: Vec<_> = world
        .texts(1, bob_alice)
        .into_iter()
        .filter(|text| text.starts_with('q'))
        .collect();
    assert_eq!(texts, ["q0", "q1", "q2", "q3", "q4", "q5"]);
    assert!(
        world
            .texts(1, bob_alice)
            .iter()
            .all(|t| !t.contains("Integrity"))
    );
}

#[test]
fn replies_reactions_edits_and_deletes() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    let original = world.send_text(0, alice_bob, "original");
    world.run();
    let at_bob = world.clients[1].core.history(bob_alice, None, 1).unwrap()[0].number;
    let now = world.now;
    let bob = &mut world.clients[1];
    let reply = bob
        .core
        .send_text(now, &mut bob.rng, bob_alice, "a reply", Some(at_bob))
        .unwrap();
    bob.core
        .react(now, &mut bob.rng, bob_alice, at_bob, "👍")
        .unwrap();
    world.run();
    let alice = &mut world.clients[0];
    alice
        .core
        .edit(now, &mut alice.rng, alice_bob, original, "edited")
        .unwrap();
    world.run();
    let item = world.clients[1].core.message(bob_alice, at_bob).unwrap();
    assert_eq!(item.text.as_deref(), Some("edited"));
    assert_eq!(item.reply_to, None);
    assert!(item.edited);
    let at_alice = world.clients[0].core.message(alice_bob, original).unwrap();
    assert_eq!(at_alice.reactions.len(), 1);
    assert!(!at_alice.reactions[0].mine);
    let reply_at_alice = world.clients[0]
        .core
        .history(alice_bob, None, 1)
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(reply_at_alice.text.as_deref(), Some("a reply"));
    assert_eq!(reply_at_alice.reply_to, Some(original));
    assert_eq!(
        reply_at_alice.quoted.as_ref().map(|quoted| quoted.number),
        Some(original)
    );
    let _ = reply;
    let alice = &mut world.clients[0];
    alice
        .core
        .delete_for_everyone(now, &mut alice.rng, alice_bob, original)
        .unwrap();
    world.run();
    let item = world.clients[1].core.message(bob_alice, at_bob).unwrap();
    assert!(item.deleted);
    assert_eq!((item.text.as_deref(), item.reply_to), (Some(""), None));
}

#[test]
fn disappearing_messages_expire_on_both_sides() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    let kept = world.send_text(0, alice_bob, "before the timer");
    let now = world.now;
    let bob = &mut world.clients[1];
    bob.core
        .set_timer(now, &mut bob.rng, bob_alice, Some(30))
        .unwrap();
    world.run();
    assert_eq!(
        world.clients[0].core.chat(alice_bob).unwrap().timer_secs,
        Some(30)
    );
    let gone = world.send_text(0, alice_bob, "disappears");
    world.run();
    world.advance(Duration::from_secs(10));
    assert!(
        world
            .texts(1, bob_alice)
            .contains(&"disappears".to_string())
    );
    world.advance(Duration::from_secs(31));
    assert!(
        !world
            .texts(1, bob_alice)
            .contains(&"disappears".to_string())
    );
    assert!(
        !world
            .texts(0, alice_bob)
            .contains(&"disappears".to_string())
    );
    assert!(world.clients[0].core.message(alice_bob, gone).is_err());
    assert!(world.clients[0].core.message(alice_bob, kept).is_ok());
    let notices: Vec<_> = world.clients[0]
        .core
        .history(alice_bob, None, 100)
        .unwrap()
        .into_iter()
        .filter(|item| item.direction == MessageDirection::Notice)
        .filter_map(|item| item.notice)
        .collect();
    assert!(notices.contains(&NoticeView(ChatNotice::TimerChanged {
        by_me: false,
        seconds: Some(30)
    })));
}

#[test]
fn contact_address_requests_are_accepted_or_rejected() {
    let mut world = World::new(&["Alice", "Bob", "Carol"], &[0, 1, 0]);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    alice
        .core
        .create_address(now, &mut alice.rng, &relay)
        .unwrap();
    world.run();
    let link = world.clients[0].core.address_link().unwrap().unwrap();
    for joiner in [1, 2] {
        let relay = world.clients[joiner].relay.clone();
        let client = &mut world.clients[joiner];
        client
            .core
            .connect(now, &mut client.rng, &link, &relay)
            .unwrap();
    }
    world.run();
    let requests = world.clients[0].core.requests().unwrap();
    assert_eq!(requests.len(), 2);
    let bob = requests.iter().find(|r| r.name == "Bob").unwrap().id;
    let carol = requests.iter().find(|r| r.name == "Carol").unwrap().id;
    let alice = &mut world.clients[0];
    let alice_bob = alice
        .core
        .accept_request(now, &mut alice.rng, bob, &relay)
        .unwrap();
    alice.core.reject_request(carol).unwrap();
    world.run();
    assert!(world.clients[0].core.requests().unwrap().is_empty());
    assert_eq!(world.clients[0].core.chats().unwrap().len(), 1);
    let bob_alice = world.clients[1].core.chats().unwrap()[0].id;
    assert_eq!(
        world.clients[1].core.chat(bob_alice).unwrap().state,
        ConnectionState::Connected
    );
    assert_eq!(
        world.clients[2].core.chats().unwrap()[0].state,
        ConnectionState::AwaitingConfirmation
    );
    world.send_text(1, bob_alice, "thanks for accepting");
    world.send_text(0, alice_bob, "welcome");
    world.run();
    assert_eq!(
        world.texts(0, alice_bob),
        ["[Connected]", "welcome", "thanks for accepting"]
    );
    // The address can be replaced: the old queue is deleted on the relay.
    let queues_before = world.relays[0].queues.len();
    let alice = &mut world.clients[0];
    let relay = alice.relay.clone();
    alice
        .core
        .create_address(now, &mut alice.rng, &relay)
        .unwrap();
    world.run();
    assert_eq!(world.relays[0].queues.len(), queues_before);
    assert_ne!(world.clients[0].core.address_link().unwrap().unwrap(), link);
}

#[test]
fn a_stranger_cannot_send_to_a_secured_queue() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    world.connect(0, 1);
    let now = world.now;
    let relay = &mut world.relays[0];
    let sender_ids: Vec<_> = relay.by_sender.keys().copied().collect();
    let stranger = sotto_wire::QueueAuthSecret::from_bytes([7; 32]).public_key();
    for sender_id in sender_ids {
        let command = sotto_wire::Command::send(sender_id, MessageBody::new(vec![1; 10]).unwrap());
        for signer in [None, Some(stranger)] {
            let response = relay.handle_command(9, &command, signer, now, &mut Vec::new());
            assert!(matches!(
                response,
                Response::Err {
                    code: ErrorCode::Auth,
                    ..
                }
            ));
        }
    }
}

#[test]
fn integrity_notices_are_events_too() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, _) = world.connect(0, 1);
    world.go_offline(1);
    world.send_text(0, alice_bob, "a");
    world.send_text(0, alice_bob, "b");
    world.run();
    let queue = world.relays[0]
        .queues
        .values_mut()
        .find(|q| q.messages.len() == 2)
        .unwrap();
    queue.messages.pop_front();
    world.go_online(1);
    assert!(world.clients[1].events.iter().any(|event| matches!(
        event,
        Event::ItemAdded { item, .. } if item.notice
            == Some(NoticeView(ChatNotice::Integrity(IntegrityNotice::Skipped {
                first: 2,
                last: 2
            })))
    )));
}

#[test]
fn restarts_in_the_middle_of_the_handshake() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 1]);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    let invitation = alice
        .core
        .create_invitation(now, &mut alice.rng, &relay)
        .unwrap();
    // Alice stops before the relay answered NEW: the job is redone on restart.
    world.clients[0].restart();
    world.go_online(0);
    let link = world.clients[0]
        .core
        .invitation_link(invitation)
        .unwrap()
        .unwrap();
    // Bob stops right after connecting, then again after sending his answer.
    let relay = world.clients[1].relay.clone();
    let bob = &mut world.clients[1];
    let bob_alice = bob.core.connect(now, &mut bob.rng, &link, &relay).unwrap();
    world.restart(1);
    world.go_offline(0);
    world.run();
    world.restart(1);
    world.restart(0);
    world.run();
    assert_eq!(
        world.clients[1].core.chat(bob_alice).unwrap().state,
        ConnectionState::Connected
    );
    world.send_text(1, bob_alice, "made it");
    world.run();
    let alice_bob = world.clients[0].core.chats().unwrap()[0].id;
    assert_eq!(world.texts(0, alice_bob), ["[Connected]", "made it"]);
}

#[test]
fn three_users_on_two_relays_keep_their_chats_apart() {
    let mut world = World::new(&["Alice", "Bob", "Carol"], &[0, 1, 1]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    let (carol_alice, alice_carol) = world.connect(2, 0);
    let (bob_carol, carol_bob) = world.connect(1, 2);
    world.send_text(0, alice_bob, "to Bob");
    world.send_text(0, alice_carol, "to Carol");
    world.send_text(1, bob_carol, "Bob to Carol");
    world.run();
    assert_eq!(world.texts(1, bob_alice), ["[Connected]", "to Bob"]);
    assert_eq!(world.texts(2, carol_alice), ["[Connected]", "to Carol"]);
    assert_eq!(world.texts(2, carol_bob), ["[Connected]", "Bob to Carol"]);
    assert_eq!(world.clients[0].core.chats().unwrap().len(), 2);
    // Contacts are listed most recently active first.
    let order: Vec<_> = world.clients[0]
        .core
        .chats()
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert!(order.contains(&alice_bob) && order.contains(&alice_carol));
}

#[test]
fn fetching_without_a_subscription_drains_every_queue() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    world.go_offline(1);
    for i in 0..3 {
        world.send_text(0, alice_bob, &format!("f{i}"));
    }
    world.run();
    // Bob comes back for a command-line `receive`: GET, no SUB.
    world.clients[1].online = true;
    let now = world.now;
    world.clients[1].core.fetch_all(now).unwrap();
    world.run();
    // Only the delivery receipts wait, for a moment.
    assert!(!world.clients[1].core.is_idle(world.now));
    world.advance(Duration::from_secs(1));
    assert!(world.clients[1].core.is_idle(world.now));
    assert_eq!(world.texts(1, bob_alice), ["[Connected]", "f0", "f1", "f2"]);
    assert!(
        world.relays[0]
            .queues
            .values()
            .all(|q| q.messages.is_empty() || q.subscriber == Some(0))
    );
}

#[test]
fn a_replayed_contact_request_makes_no_second_request() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    alice
        .core
        .create_address(now, &mut alice.rng, &relay)
        .unwrap();
    world.run();
    let link = world.clients[0].core.address_link().unwrap().unwrap();
    world.go_offline(0);
    let bob = &mut world.clients[1];
    bob.core.connect(now, &mut bob.rng, &link, &relay).unwrap();
    world.run();
    // The relay replays Bob's answer under a new message id.
    let relay = &mut world.relays[0];
    let id = relay.new_message_id();
    let queue = relay
        .queues
        .values_mut()
        .find(|q| q.messages.len() == 1)
        .unwrap();
    let mut copy = queue.messages[0].clone();
    copy.id = id;
    queue.messages.push_back(copy);
    world.go_online(0);
    assert_eq!(world.clients[0].core.requests().unwrap().len(), 1);
    assert!(
        world.clients[0]
            .events
            .iter()
            .any(|event| matches!(event, Event::RelayFault { .. }))
    );
}

#[test]
fn settings_typing_profiles_and_receipts_off() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    let now = world.now;
    // Typing is off by default: nothing is sent.
    let alice = &mut world.clients[0];
    alice
        .core
        .set_typing(now, &mut alice.rng, alice_bob, true)
        .unwrap();
    let mut settings = alice.core.settings();
    assert!(!settings.typing_indicators && settings.read_receipts);
    settings.typing_indicators = true;
    alice.core.set_settings(settings).unwrap();
    alice
        .core
        .set_typing(now, &mut alice.rng, alice_bob, true)
        .unwrap();
    let profile = sotto_core::Profile::new("Alice L.", Some("hello")).unwrap();
    alice
        .core
        .update_profile(now, &mut alice.rng, profile)
        .unwrap();
    world.run();
    let typing: Vec<_> = world.clients[1]
        .events
        .iter()
        .filter(|event| matches!(event, Event::Typing { .. }))
        .collect();
    assert_eq!(typing.len(), 1);
    let summary = world.clients[1].core.chat(bob_alice).unwrap();
    assert_eq!(summary.bio.as_deref(), Some("hello"));
    // Bob turns read receipts off for this chat.
    world.clients[1]
        .core
        .set_read_receipts(bob_alice, sotto_core::ReceiptSetting::Off)
        .unwrap();
    let message = world.send_text(0, alice_bob, "read quietly");
    world.run();
    let bob = &mut world.clients[1];
    bob.core.mark_read(now, &mut bob.rng, bob_alice).unwrap();
    world.advance(Duration::from_secs(1));
    assert_eq!(
        world.clients[0]
            .core
            .message(alice_bob, message)
            .unwrap()
            .status,
        MessageStatus::Delivered
    );
    // Verification is local.
    world.clients[0].core.set_verified(alice_bob, true).unwrap();
    assert!(world.clients[0].core.chat(alice_bob).unwrap().verified);
    assert!(!world.clients[1].core.chat(bob_alice).unwrap().verified);
}

#[test]
fn history_pages_backwards() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, _) = world.connect(0, 1);
    for i in 0..10 {
        world.send_text(0, alice_bob, &format!("p{i}"));
    }
    world.run();
    let core = &world.clients[0].core;
    let last = core.history(alice_bob, None, 4).unwrap();
    assert_eq!(last.len(), 4);
    let before = core.history(alice_bob, Some(last[0].number), 4).unwrap();
    let texts: Vec<_> = before
        .iter()
        .chain(&last)
        .map(|item| item.text.clone().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"]);
    let summary = core.chat(alice_bob).unwrap();
    assert_eq!(summary.last_item.unwrap().number, last[3].number);
}

#[test]
fn deleting_a_contact_removes_its_queue_and_chat() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 1]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    world.send_text(1, bob_alice, "soon gone");
    world.run();
    assert_eq!(world.clients[0].core.relays().unwrap().len(), 2);
    world.go_offline(1);
    world.send_text(0, alice_bob, "never sent");
    let now = world.now;
    world.clients[0]
        .core
        .delete_contact(now, alice_bob)
        .unwrap();
    world.run();
    assert!(world.clients[0].core.chats().unwrap().is_empty());
    assert!(
        world.clients[0]
            .core
            .history(alice_bob, None, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(world.relays[0].queues.len(), 0);
    // Bob's messages to Alice now fail: her queue is gone.
    world.go_online(1);
    let message = world.send_text(1, bob_alice, "anyone there?");
    world.run();
    assert_eq!(
        world.clients[1]
            .core
            .message(bob_alice, message)
            .unwrap()
            .status,
        MessageStatus::Failed
    );
}

#[test]
fn a_moved_profile_is_not_opened_again() {
    let world = World::new(&["Alice"], &[0]);
    let mut store = world.clients[0].core.store().clone();
    let mut batch = sotto_core::WriteBatch::new();
    batch.put(sotto_core::MOVED_TABLE, b"moved".to_vec(), vec![1; 41]);
    sotto_core::Store::apply(&mut store, batch).unwrap();
    assert!(matches!(
        sotto_core::Core::open(store),
        Err(sotto_core::CoreError::ProfileMoved)
    ));
}

#[test]
fn a_contact_on_a_new_device_shows_a_key_change() {
    // Client 2 is Bob again, on a new device with a new identity.
    let mut world = World::new(&["Alice", "Bob", "Bob"], &[0, 1, 1]);
    let (alice_bob, _) = world.connect(0, 1);
    world.send_text(0, alice_bob, "before");
    world.run();
    world.clients[0].core.set_verified(alice_bob, true).unwrap();
    let code_before = world.clients[0].core.security_code(alice_bob).unwrap();
    world.go_offline(1);
    // New Bob invites Alice; Alice connects the existing chat through it.
    let now = world.now;
    let relay = world.clients[2].relay.clone();
    let bob2 = &mut world.clients[2];
    let invitation = bob2
        .core
        .create_invitation(now, &mut bob2.rng, &relay)
        .unwrap();
    world.run();
    let link = world.clients[2]
        .core
        .invitation_link(invitation)
        .unwrap()
        .unwrap();
    // A message in Alice's outbox goes out on the old connection while the
    // short link is resolved: the chat moves to the new device only once the
    // link opened (a link that fails leaves the chat as it was).
    world.go_offline(0);
    let pending = world.send_text(0, alice_bob, "to the lost device");
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    alice
        .core
        .reconnect(now, &mut alice.rng, alice_bob, &link, &relay)
        .unwrap();
    world.go_online(0);
    let summary = world.clients[0].core.chat(alice_bob).unwrap();
    assert_eq!(summary.state, ConnectionState::Connected);
    assert!(!summary.verified);
    assert_ne!(
        world.clients[0]
            .core
            .security_code(alice_bob)
            .unwrap()
            .digits(),
        code_before.digits()
    );
    assert_eq!(
        world.clients[0]
            .core
            .message(alice_bob, pending)
            .unwrap()
            .status,
        MessageStatus::Sent
    );
    world.send_text(0, alice_bob, "after");
    world.run();
    let texts = world.texts(0, alice_bob);
    assert_eq!(
        texts,
        [
            "[Connected]",
            "before",
            "to the lost device",
            "[KeysChanged]",
            "[Connected]",
            "after"
        ]
    );
    let bob2_alice = world.clients[2].core.chats().unwrap()[0].id;
    assert_eq!(world.texts(2, bob2_alice), ["[Connected]", "after"]);
    // Alice's old queue was deleted: only the new one is left on her relay.
    assert_eq!(world.relays[0].queues.len(), 1);
}

#[test]
fn a_request_can_be_accepted_into_an_existing_chat() {
    let mut world = World::new(&["Alice", "Bob", "Bob"], &[0, 1, 1]);
    let (alice_bob, _) = world.connect(0, 1);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    alice
        .core
        .create_address(now, &mut alice.rng, &relay)
        .unwrap();
    world.run();
    let link = world.clients[0].core.address_link().unwrap().unwrap();
    let bob2 = &mut world.clients[2];
    let relay2 = bob2.relay.clone();
    bob2.core
        .connect(now, &mut bob2.rng, &link, &relay2)
        .unwrap();
    world.run();
    let request = world.clients[0].core.requests().unwrap()[0].id;
    let alice = &mut world.clients[0];
    let id = alice
        .core
        .accept_request_into(now, &mut alice.rng, request, alice_bob, &relay)
        .unwrap();
    assert_eq!(id, alice_bob);
    world.run();
    world.send_text(0, alice_bob, "hello again");
    world.run();
    assert!(
        world
            .texts(0, alice_bob)
            .contains(&"[KeysChanged]".to_string())
    );
    let bob2_alice = world.clients[2].core.chats().unwrap()[0].id;
    assert_eq!(world.texts(2, bob2_alice), ["[Connected]", "hello again"]);
}

#[test]
fn ones_own_link_is_refused_and_a_lost_queue_is_reported() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    let invitation = alice
        .core
        .create_invitation(now, &mut alice.rng, &relay)
        .unwrap();
    world.run();
    let link = world.clients[0]
        .core
        .invitation_link(invitation)
        .unwrap()
        .unwrap();
    let alice = &mut world.clients[0];
    assert!(
        alice
            .core
            .connect(now, &mut alice.rng, &link, &relay)
            .is_err()
    );
    // The relay forgets Alice's queue: subscribing again reports it.
    world.relays[0].queues.clear();
    world.restart(0);
    assert!(
        world.clients[0]
            .events
            .iter()
            .any(|event| matches!(event, Event::RelayFault { .. }))
    );
}

#[test]
fn sends_to_one_queue_are_pipelined_in_a_bounded_window() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    world.go_offline(0);
    for i in 0..20 {
        world.send_text(0, alice_bob, &format!("w{i}"));
    }
    let mut handed_out = Vec::new();
    world.clients[0].core.sync().unwrap();
    while let Some(request) = world.clients[0].core.poll_relay_request() {
        handed_out.push(request);
    }
    let sends = handed_out
        .iter()
        .filter(|r| matches!(r.command, sotto_wire::Command::Send { .. }))
        .count();
    assert_eq!(sends, 16);
    // The connection drops: every one of them is retried, in order, once.
    let now = world.now;
    for request in handed_out {
        world.clients[0]
            .core
            .handle_relay_failure(now, request.token)
            .unwrap();
    }
    world.go_online(0);
    world.advance(Duration::from_secs(60));
    let texts: Vec<_> = world
        .texts(1, bob_alice)
        .into_iter()
        .filter(|t| t.starts_with('w'))
        .collect();
    let expected: Vec<_> = (0..20).map(|i| format!("w{i}")).collect();
    assert_eq!(texts, expected);
    assert!(
        !world
            .texts(1, bob_alice)
            .iter()
            .any(|t| t.contains("Integrity"))
    );
}

#[test]
fn delivery_receipts_go_out_together_and_survive_a_restart() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, _) = world.connect(0, 1);
    world.advance(Duration::from_secs(1));
    let before = world.relays[0].sends;
    let messages: Vec<_> = (0..10)
        .map(|i| world.send_text(0, alice_bob, &format!("r{i}")))
        .collect();
    world.run();
    // Bob stops before his receipts went out; they go after the restart.
    world.restart(1);
    world.advance(Duration::from_secs(1));
    assert_eq!(world.relays[0].sends - before, 11, "ten texts, one receipt");
    for message in messages {
        assert_eq!(
            world.clients[0]
                .core
                .message(alice_bob, message)
                .unwrap()
                .status,
            MessageStatus::Delivered
        );
    }
}

#[test]
fn an_unanswered_invitation_can_be_withdrawn() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    let invitation = alice
        .core
        .create_invitation(now, &mut alice.rng, &relay)
        .unwrap();
    world.run();
    let link = world.clients[0]
        .core
        .invitation_link(invitation)
        .unwrap()
        .unwrap();
    world.clients[0]
        .core
        .delete_invitation(now, invitation)
        .unwrap();
    world.run();
    assert!(world.relays[0].queues.is_empty());
    assert!(world.clients[0].core.invitations().unwrap().is_empty());
    // The link's blob went with the invitation: Bob's join fails at once and
    // leaves no chat behind.
    let bob = &mut world.clients[1];
    let contact = bob.core.connect(now, &mut bob.rng, &link, &relay).unwrap();
    world.advance(Duration::from_secs(5));
    assert!(world.clients[1].core.chat(contact).is_err());
    assert!(world.clients[1].core.chats().unwrap().is_empty());
    assert!(world.clients[1].events.iter().any(|event| matches!(
        event,
        Event::JoinFailed { chat, .. } if *chat == contact
    )));
}

#[test]
fn the_core_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<sotto_core::Core<sotto_core::MemoryStore>>();
    assert_send::<sotto_core::RelayRequest>();
    assert_send::<Event>();
}

#[test]
fn an_exported_profile_keeps_chatting_on_another_device() {
    use sotto_core::{
        Argon2Params, Core, ExportRandomness, MemoryStore, Passphrase, export_archive,
        import_archive, mark_moved,
    };
    let mut world = World::new(&["Alice", "Bob"], &[0, 1]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    world.send_text(0, alice_bob, "from the old device");
    world.advance(Duration::from_secs(1));
    let old = world.clients[0].core.store().clone();
    let cheap = Argon2Params {
        memory_kib: 8,
        iterations: 1,
        lanes: 1,
    };
    let randomness = ExportRandomness {
        salt: [1; 16],
        nonce_prefix: [2; 16],
    };
    let (archive, receipt) =
        export_archive(&old, &Passphrase::new("pass"), cheap, randomness).unwrap();
    let mut old = old;
    mark_moved(&mut old, &receipt, 0).unwrap();
    assert!(Core::open(old).is_err());
    let mut new = MemoryStore::new();
    import_archive(&archive, Passphrase::new("pass"), &mut new).unwrap();
    // The new device takes over: its subscriptions replace the old ones.
    world.go_offline(0);
    world.clients[0].core = Core::open(new).unwrap();
    world.go_online(0);
    world.send_text(0, alice_bob, "from the new device");
    world.send_text(1, bob_alice, "welcome back");
    world.advance(Duration::from_secs(1));
    assert_eq!(
        world.texts(1, bob_alice),
        [
            "[Connected]",
            "from the old device",
            "welcome back",
            "from the new device"
        ]
    );
    assert_eq!(
        world.texts(0, alice_bob),
        [
            "[Connected]",
            "from the old device",
            "from the new device",
            "welcome back"
        ]
    );
    assert!(
        !world
            .texts(1, bob_alice)
            .iter()
            .any(|t| t.contains("Integrity"))
    );
}

#[test]
fn stale_typing_indicators_are_not_shown() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, _) = world.connect(0, 1);
    let mut settings = world.clients[0].core.settings();
    settings.typing_indicators = true;
    world.clients[0].core.set_settings(settings).unwrap();
    world.go_offline(1);
    let now = world.now;
    let alice = &mut world.clients[0];
    alice
        .core
        .set_typing(now, &mut alice.rng, alice_bob, true)
        .unwrap();
    world.run();
    world.advance(Duration::from_secs(120));
    world.go_online(1);
    assert!(
        !world.clients[1]
            .events
            .iter()
            .any(|event| matches!(event, Event::Typing { .. }))
    );
}

#[test]
fn a_flooded_address_keeps_what_waits_and_lets_known_peers_in() {
    let strangers = 101;
    let names: Vec<String> = (0..strangers).map(|i| format!("Stranger {i}")).collect();
    let mut all: Vec<&str> = vec!["Alice", "Bob"];
    all.extend(names.iter().map(String::as_str));
    let relays = vec![0; all.len()];
    let mut world = World::new(&all, &relays);
    let (_, bob_alice) = world.connect(0, 1);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    alice
        .core
        .create_address(now, &mut alice.rng, &relay)
        .unwrap();
    world.run();
    let link = world.clients[0].core.address_link().unwrap().unwrap();
    // One stranger asks twice: one request.
    for joiner in std::iter::once(2).chain(2..2 + strangers) {
        let client = &mut world.clients[joiner];
        client
            .core
            .connect(now, &mut client.rng, &link, &relay)
            .unwrap();
        world.run();
    }
    let requests = world.clients[0].core.requests().unwrap();
    assert_eq!(requests.len(), 100);
    assert_eq!(
        requests.iter().filter(|r| r.name == "Stranger 0").count(),
        1
    );
    assert!(!requests.iter().any(|r| r.name == "Stranger 100"));
    assert!(
        world.clients[0]
            .events
            .iter()
            .any(|e| matches!(e, Event::AddressFlooded { waiting: 100 }))
    );
    // Bob, already a contact, comes back through the address: he gets in,
    // in place of the oldest stranger.
    let bob = &mut world.clients[1];
    bob.core
        .reconnect(now, &mut bob.rng, bob_alice, &link, &relay)
        .unwrap();
    world.run();
    let requests = world.clients[0].core.requests().unwrap();
    assert_eq!(requests.len(), 100);
    assert!(requests.iter().any(|r| r.name == "Bob"));
    assert!(!requests.iter().any(|r| r.name == "Stranger 0"));
}
