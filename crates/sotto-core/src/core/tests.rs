//! The connection handshake as a state machine, driven through the core:
//! every legal transition, and the illegal inputs, each refused with a clear
//! error and without changing anything. Two and three cores talk through the
//! in-memory relays of `tests/util` (the same world the integration tests
//! use); a test that needs a message no honest peer sends makes it with the
//! peer's own session, from inside the crate.

use sotto_wire::{Command, MessageBody, MessageContent, QueueMessage};

use crate::chat_message::Content;
use crate::chat_record::ChatRecord;
use crate::connection::{ConnectionRecord, Stage};
use crate::connection_records::InvitationRecord;
use crate::connector::Confirm;
use crate::queue_record::{QueueOwner, QueueRecord};
use crate::sim::{Stored, World, suite};
use crate::staged_batch::StagedBatch;
use crate::{
    ChatId, ConnectionState, CoreError, Event, InvitationId, InvitationLink, LinkKind, MemoryStore,
    Record, Store,
};

/// Every record of a store except the queues' (whose last message id moves
/// with each delivery, refused ones included), to show nothing else changed.
fn records(store: &MemoryStore) -> Vec<(String, Record)> {
    let mut all = Vec::new();
    for table in store.tables().unwrap() {
        if table == "queues" {
            continue;
        }
        for record in store.records_after(&table, None, usize::MAX).unwrap() {
            all.push((table.clone(), record));
        }
    }
    all
}

fn state(world: &World, client: usize, chat: ChatId) -> ConnectionState {
    world.clients[client].core.chat(chat).unwrap().state
}

/// The long form of a one-time invitation's link (the invitation in the link
/// itself), so that a test drives the handshake without the link blob.
pub(super) fn full_link(world: &World, client: usize, invitation: InvitationId) -> String {
    let core = &world.clients[client].core;
    let record = InvitationRecord::load(&core.store, invitation)
        .unwrap()
        .unwrap();
    let queue = QueueRecord::load_all(&core.store)
        .unwrap()
        .into_iter()
        .find(|queue| queue.owner == QueueOwner::Invitation(invitation))
        .unwrap();
    InvitationLink {
        kind: LinkKind::OneTime,
        queue: queue.address(),
        invitation: record
            .pending(&core.account.pickle_key)
            .unwrap()
            .invitation(),
    }
    .to_link()
}

/// The only chat of `client`.
fn only_chat(world: &World, client: usize) -> ChatId {
    let chats = world.clients[client].core.chats().unwrap();
    assert_eq!(chats.len(), 1);
    chats[0].id
}

fn faults(world: &World, client: usize) -> Vec<String> {
    world.clients[client]
        .events
        .iter()
        .filter_map(|event| match event {
            Event::RelayFault { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

/// The receiving queue of `client`'s connection in `chat`.
fn receive_queue(world: &World, client: usize, chat: ChatId) -> QueueRecord {
    let core = &world.clients[client].core;
    let connection = ChatRecord::load(&core.store, chat)
        .unwrap()
        .connection()
        .unwrap();
    let record = ConnectionRecord::load(&core.store, connection).unwrap();
    let recipient_id = record.stage.receive_queue().unwrap();
    QueueRecord::load(&core.store, &recipient_id)
        .unwrap()
        .unwrap()
}

/// Puts `body` on `queue` on the relay, as if a sender had sent it (a relay
/// that does not check senders, or a replay).
fn inject(world: &mut World, queue: &QueueRecord, body: Vec<u8>) {
    let relay = world
        .relays
        .iter()
        .position(|relay| relay.address == queue.relay)
        .unwrap();
    let id = world.relays[relay].new_message_id();
    let now = world.now;
    world.relays[relay]
        .queues
        .get_mut(&queue.recipient_id)
        .unwrap()
        .messages
        .push_back(Stored {
            id,
            message: QueueMessage {
                timestamp: now.0 / 1000,
                content: MessageContent::Body(MessageBody::new(body).unwrap()),
            },
        });
}

/// Makes `client` send `content` over its established connection in `chat`,
/// as its session and chains stand, and returns the encrypted body (the SEND
/// job stays queued and goes out at the next run).
fn send_raw(world: &mut World, client: usize, chat: ChatId, content: Content) -> Vec<u8> {
    let now = world.now;
    let crate::sim::Client { core, rng, .. } = &mut world.clients[client];
    let connection = ChatRecord::load(&core.store, chat)
        .unwrap()
        .connection()
        .unwrap();
    let (meta, stage) = ConnectionRecord::load(&core.store, connection)
        .unwrap()
        .split();
    let Stage::Established(mut established) = stage else {
        panic!("not established");
    };
    let (mut cx, _, _, chats) = core.parts();
    let mut session = cx.open_session(meta.id, &established.channel).unwrap();
    let mut batch = StagedBatch::new();
    chats
        .send_envelope(
            &mut cx,
            now,
            rng,
            chat,
            &mut established.channel,
            &mut session,
            content,
            true,
            None,
            &mut batch,
        )
        .unwrap();
    established.channel.session = cx.pickle_session(rng, &session);
    meta.at(Stage::Established(established)).put(&mut batch);
    cx.commit(batch).unwrap();
    let newest = crate::job::JobRecord::load_all(cx.store())
        .unwrap()
        .into_iter()
        .max_by_key(|job| job.id)
        .unwrap();
    let crate::job::JobCommand::Send { body, .. } = newest.command else {
        panic!("not a SEND");
    };
    core.promote_jobs(now).unwrap();
    body
}

#[test]
fn a_joiner_awaits_the_confirmation_then_is_established() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    let invitation = alice
        .core
        .create_invitation(now, &mut alice.rng, &relay)
        .unwrap();
    world.run();
    let link = full_link(&world, 0, invitation);
    // Alice is away: Bob's answer waits in her queue.
    world.go_offline(0);
    let relay = world.clients[1].relay.clone();
    let bob = &mut world.clients[1];
    let bob_alice = bob.core.connect(now, &mut bob.rng, &link, &relay).unwrap();
    assert_eq!(state(&world, 1, bob_alice), ConnectionState::Joining);
    world.run();
    assert_eq!(
        state(&world, 1, bob_alice),
        ConnectionState::AwaitingConfirmation
    );
    // Bob goes away; Alice takes the answer and confirms at once (her
    // invitation's queue exists): her Confirm waits in Bob's queue.
    world.go_offline(1);
    world.go_online(0);
    let alice_bob = only_chat(&world, 0);
    assert_eq!(state(&world, 0, alice_bob), ConnectionState::Connected);
    assert_eq!(
        state(&world, 1, bob_alice),
        ConnectionState::AwaitingConfirmation
    );
    world.go_online(1);
    assert_eq!(state(&world, 1, bob_alice), ConnectionState::Connected);
    world.send_text(1, bob_alice, "hello");
    world.run();
    assert_eq!(world.texts(0, alice_bob).last().unwrap(), "hello");
}

#[test]
fn an_inviter_accepts_a_request_then_is_established_once_its_queue_exists() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 1]);
    let now = world.now;
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
    let bob_alice = bob.core.connect(now, &mut bob.rng, &link, &relay).unwrap();
    world.run();
    let request = world.clients[0].core.requests().unwrap()[0].id;
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    let alice_bob = alice
        .core
        .accept_request(now, &mut alice.rng, request, &relay)
        .unwrap();
    assert_eq!(state(&world, 0, alice_bob), ConnectionState::Accepting);
    assert_eq!(
        state(&world, 1, bob_alice),
        ConnectionState::AwaitingConfirmation
    );
    world.run();
    assert_eq!(state(&world, 0, alice_bob), ConnectionState::Connected);
    assert_eq!(state(&world, 1, bob_alice), ConnectionState::Connected);
    world.send_text(0, alice_bob, "welcome");
    world.run();
    assert_eq!(world.texts(1, bob_alice).last().unwrap(), "welcome");
}

#[test]
fn a_confirm_to_an_established_connection_is_refused_and_changes_nothing() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    world.go_offline(1);
    let profile = world.clients[0].core.profile().clone();
    send_raw(
        &mut world,
        0,
        alice_bob,
        Content::Confirm {
            sender_key: [7; 32],
            profile,
            reply_queue: None,
        },
    );
    world.run();
    let before = records(world.clients[1].core.store());
    world.go_online(1);
    assert_eq!(records(world.clients[1].core.store()), before);
    assert_eq!(
        faults(&world, 1),
        ["unexpected confirmation from the contact"]
    );
    assert_eq!(state(&world, 1, bob_alice), ConnectionState::Connected);
    // The refused message counts as one the relay dropped; the chat goes on.
    world.send_text(0, alice_bob, "still here");
    world.run();
    assert_eq!(world.texts(1, bob_alice).last().unwrap(), "still here");
}

#[test]
fn a_confirm_at_any_stage_but_awaiting_is_refused_and_writes_nothing() {
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
    let relay = world.clients[1].relay.clone();
    let bob = &mut world.clients[1];
    bob.core.connect(now, &mut bob.rng, &link, &relay).unwrap();
    world.run();
    let request = world.clients[0].core.requests().unwrap()[0].id;
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    let alice_bob = alice
        .core
        .accept_request(now, &mut alice.rng, request, &relay)
        .unwrap();
    world.clients[0].core.sync().unwrap();
    let profile = world.clients[1].core.profile().clone();
    let confirm = || Confirm {
        sender_key: [7; 32],
        profile: profile.clone(),
        reply_queue: None,
    };
    let refuse = |world: &mut World, expected: ConnectionState| {
        let core = &mut world.clients[0].core;
        while core.poll_event().unwrap().is_some() {}
        let before = records(core.store());
        let mut chat = ChatRecord::load(&core.store, alice_bob).unwrap();
        let connection = chat.connection().unwrap();
        let (meta, stage) = ConnectionRecord::load(&core.store, connection)
            .unwrap()
            .split();
        assert_eq!(stage.state(), expected);
        let mut batch = StagedBatch::new();
        let (mut cx, _, connector, chats) = core.parts();
        let refused = connector.handle_confirm(
            &mut cx,
            chats,
            now,
            &meta,
            &mut chat,
            stage,
            confirm(),
            &mut batch,
        );
        assert!(matches!(
            refused,
            Err(CoreError::UnexpectedMessage("confirmation"))
        ));
        assert!(batch.is_empty());
        assert!(core.poll_event().unwrap().is_none());
        assert_eq!(records(core.store()), before);
    };
    refuse(&mut world, ConnectionState::Accepting);
    world.run();
    refuse(&mut world, ConnectionState::Connected);
}

#[test]
fn chat_content_before_the_confirmation_is_refused_and_changes_nothing() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    let invitation = alice
        .core
        .create_invitation(now, &mut alice.rng, &relay)
        .unwrap();
    world.run();
    let link = full_link(&world, 0, invitation);
    let relay = world.clients[1].relay.clone();
    let bob = &mut world.clients[1];
    let bob_alice = bob.core.connect(now, &mut bob.rng, &link, &relay).unwrap();
    // Bob cannot send before his connection is established.
    let before = records(world.clients[1].core.store());
    let bob = &mut world.clients[1];
    assert!(matches!(
        bob.core
            .send_text(now, &mut bob.rng, bob_alice, "too soon", None),
        Err(CoreError::NotConnected)
    ));
    assert_eq!(records(world.clients[1].core.store()), before);
    // Bob's answer waits for Alice; then Bob is away while Alice confirms
    // and writes: her Confirm and her text wait in Bob's queue, and a relay
    // holds the Confirm back.
    world.go_offline(0);
    world.run();
    world.go_offline(1);
    world.go_online(0);
    let alice_bob = only_chat(&world, 0);
    world.send_text(0, alice_bob, "early");
    world.run();
    let queue = receive_queue(&world, 1, bob_alice);
    let waiting = &mut world.relays[0]
        .queues
        .get_mut(&queue.recipient_id)
        .unwrap()
        .messages;
    assert_eq!(waiting.len(), 2, "the Confirm and the text");
    let confirm = waiting.pop_front().unwrap();
    let before = records(world.clients[1].core.store());
    world.go_online(1);
    assert_eq!(records(world.clients[1].core.store()), before);
    assert_eq!(
        faults(&world, 1),
        ["unexpected message before the confirmation from the contact"]
    );
    assert_eq!(
        state(&world, 1, bob_alice),
        ConnectionState::AwaitingConfirmation
    );
    // The Confirm, delivered late, still completes the handshake.
    world.relays[0]
        .queues
        .get_mut(&queue.recipient_id)
        .unwrap()
        .messages
        .push_back(confirm);
    world.resubscribe(1);
    assert_eq!(state(&world, 1, bob_alice), ConnectionState::Connected);
    assert!(!world.texts(1, bob_alice).contains(&"early".to_owned()));
}

#[test]
fn a_one_time_invitation_answers_once() {
    let mut world = World::new(&["Alice", "Bob", "Carol"], &[0, 0, 0]);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    let invitation = alice
        .core
        .create_invitation(now, &mut alice.rng, &relay)
        .unwrap();
    world.run();
    let link = full_link(&world, 0, invitation);
    let relay = world.clients[1].relay.clone();
    let bob = &mut world.clients[1];
    bob.core.connect(now, &mut bob.rng, &link, &relay).unwrap();
    world.run();
    let alice_bob = only_chat(&world, 0);
    assert_eq!(state(&world, 0, alice_bob), ConnectionState::Connected);

    // Carol uses the link too. Her answer is made, and captured on its way.
    let relay = world.clients[2].relay.clone();
    let carol = &mut world.clients[2];
    let carol_alice = carol
        .core
        .connect(now, &mut carol.rng, &link, &relay)
        .unwrap();
    let mut answer = None;
    for _ in 0..10 {
        let carol = &mut world.clients[2];
        carol.core.sync().unwrap();
        let Some(request) = carol.core.poll_relay_request() else {
            break;
        };
        if let Command::Send { body, .. } = &request.command {
            answer = Some(body.as_bytes().to_vec());
        }
        let signer = request.auth_key.as_ref().map(|secret| secret.public_key());
        let mut pushes = Vec::new();
        let response =
            world.relays[0].handle_command(2, &request.command, signer, now, &mut pushes);
        let carol = &mut world.clients[2];
        carol
            .core
            .handle_relay_response(now, &mut carol.rng, request.token, response, suite(0, 2))
            .unwrap();
    }
    let answer = answer.expect("Carol's answer");
    // The relay refused it (Alice's queue is Bob's now, and secured): Carol
    // hears that her connection will not complete.
    world.run();
    assert!(world.clients[2].events.iter().any(|event| matches!(
        event,
        Event::ConnectionFailed { chat } if chat.id == carol_alice
    )));
    // A relay that lets it through anyway changes nothing on Alice's side.
    let queue = receive_queue(&world, 0, alice_bob);
    world.go_offline(0);
    inject(&mut world, &queue, answer);
    let before = records(world.clients[0].core.store());
    world.go_online(0);
    assert_eq!(records(world.clients[0].core.store()), before);
    assert_eq!(faults(&world, 0).len(), 1);
    assert_eq!(world.clients[0].core.chats().unwrap().len(), 1);
    let bob_alice = only_chat(&world, 1);
    world.send_text(1, bob_alice, "only us");
    world.run();
    assert_eq!(world.texts(0, alice_bob).last().unwrap(), "only us");
}

#[test]
fn outputs_wait_until_the_writes_behind_them_are_durable() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, _) = world.connect(0, 1);
    let now = world.now;
    let alice = &mut world.clients[0];
    let mark = alice.core.write_mark();
    alice
        .core
        .send_text(now, &mut alice.rng, alice_bob, "durable first", None)
        .unwrap();
    assert!(alice.core.write_mark() > mark);
    assert!(alice.core.needs_sync());
    assert!(alice.core.poll_relay_request().is_none());
    assert!(alice.core.poll_event().unwrap().is_none());
    // A stale report lets nothing out.
    alice.core.handle_synced(mark);
    assert!(alice.core.poll_relay_request().is_none());
    alice.core.handle_synced(alice.core.write_mark());
    assert!(!alice.core.needs_sync());
    let request = alice.core.poll_relay_request().expect("the SEND");
    assert!(matches!(request.command, Command::Send { .. }));
    assert!(matches!(
        alice.core.poll_event().unwrap(),
        Some(Event::ItemAdded { .. })
    ));
    // A failed sync hands what waited back as failed: the job is retried.
    alice.core.handle_relay_failure(now, request.token).unwrap();
    alice.core.retry_now(now).unwrap();
    assert!(alice.core.poll_relay_request().is_none());
    alice.core.handle_sync_failed(now).unwrap();
    assert!(alice.core.poll_relay_request().is_none());
    assert!(
        !alice
            .core
            .is_idle(world.now.after(std::time::Duration::from_secs(600)))
    );
}

mod discarded_batches;
mod short_links;
