//! Two users chat through a relay that drops, duplicates, reorders and
//! redelivers messages while both restart at random: no message is ever shown
//! twice, nothing is shown that was not sent, nothing is lost unless the relay
//! dropped it, and an honest relay causes no integrity notice.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod util;

use std::collections::HashSet;
use std::time::Duration;

use proptest::prelude::*;
use sotto_core::{ChatNotice, NoticeView};
use util::World;

#[derive(Clone, Debug)]
enum Op {
    Send(usize),
    Deliver(usize),
    Drop(usize),
    Duplicate(usize),
    Redeliver(usize),
    Swap(usize),
    Restart(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..2usize).prop_map(Op::Send),
        3 => (0..2usize).prop_map(Op::Deliver),
        1 => (0..8usize).prop_map(Op::Drop),
        1 => (0..8usize).prop_map(Op::Duplicate),
        1 => (0..8usize).prop_map(Op::Redeliver),
        1 => (0..8usize).prop_map(Op::Swap),
        1 => (0..2usize).prop_map(Op::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20))]

    #[test]
    fn chats_survive_a_misbehaving_relay(ops in proptest::collection::vec(op(), 1..40)) {
        let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
        let (alice_bob, bob_alice) = world.connect(0, 1);
        let contacts = [alice_bob, bob_alice];
        world.unsubscribe(0);
        world.unsubscribe(1);
        let mut sent: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        let (mut dropped, mut tampered) = (false, false);
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Send(from) => {
                    let text = format!("{from}:{step}");
                    world.send_text(from, contacts[from], &text);
                    world.run();
                    sent[from].push(text);
                }
                Op::Deliver(to) => {
                    world.resubscribe(to);
                    world.unsubscribe(to);
                }
                Op::Restart(client) => {
                    world.clients[client].restart();
                }
                Op::Drop(pick) | Op::Duplicate(pick) | Op::Redeliver(pick) | Op::Swap(pick) => {
                    let relay = &mut world.relays[0];
                    let new_id = relay.new_message_id();
                    let mut queues: Vec<_> = relay
                        .queues
                        .values_mut()
                        .filter(|q| !q.messages.is_empty())
                        .collect();
                    if queues.is_empty() {
                        continue;
                    }
                    let count = queues.len();
                    let queue = &mut queues[pick % count];
                    let len = queue.messages.len();
                    let at = pick % len;
                    match op {
                        Op::Drop(_) => {
                            queue.messages.remove(at);
                            dropped = true;
                        }
                        Op::Duplicate(_) => {
                            let mut copy = queue.messages[at].clone();
                            copy.id = new_id;
                            queue.messages.push_back(copy);
                            tampered = true;
                        }
                        Op::Redeliver(_) => {
                            // At-least-once delivery: the same id again is normal.
                            let copy = queue.messages[at].clone();
                            queue.messages.insert(at + 1, copy);
                        }
                        _ => {
                            if len >= 2 {
                                queue.messages.swap(at, (at + 1) % len);
                                tampered = true;
                            }
                        }
                    }
                }
            }
        }
        world.resubscribe(0);
        world.resubscribe(1);
        world.advance(Duration::from_secs(600));
        for (reader, writer) in [(0usize, 1usize), (1, 0)] {
            let history = world.clients[reader].core.history(contacts[reader], None, 10_000).unwrap();
            let mut shown = HashSet::new();
            let mut notices = 0;
            for item in &history {
                match (&item.text, &item.notice) {
                    (Some(text), _) => {
                        if item.direction == sotto_core::MessageDirection::Incoming {
                            prop_assert!(shown.insert(text.clone()), "{text} shown twice");
                            prop_assert!(sent[writer].contains(text), "{text} never sent");
                        }
                    }
                    (None, Some(NoticeView(ChatNotice::Integrity(_)))) => notices += 1,
                    (None, _) => {}
                }
            }
            if !dropped {
                prop_assert_eq!(shown.len(), sent[writer].len());
            }
            if !dropped && !tampered {
                prop_assert_eq!(notices, 0);
            }
        }
    }
}
