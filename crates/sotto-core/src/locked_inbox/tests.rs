//! Receiving while locked, against the in-memory relay of `tests/util`:
//! what arrives is kept unopened and acknowledged only once kept, and the
//! unlocked core applies the kept deliveries as if they had just arrived.

use crate::sim::{World, suite};
use crate::{HeldDelivery, LockedInbox};

/// Sends what `locked` asks of Bob's relay (relay 0, Bob is client 1) and
/// hands it every push; keeps each delivery unless `keep` says no. Returns
/// the deliveries kept, in arrival order.
fn drive(
    world: &mut World,
    locked: &mut LockedInbox,
    keep: impl FnMut(&HeldDelivery) -> bool,
) -> Vec<HeldDelivery> {
    drive_client(world, locked, 1, keep)
}

/// [`drive`] for the locked profile of `client` (on relay 0).
fn drive_client(
    world: &mut World,
    locked: &mut LockedInbox,
    client: usize,
    mut keep: impl FnMut(&HeldDelivery) -> bool,
) -> Vec<HeldDelivery> {
    let relay = world.relays[0].address.clone();
    let mut kept = Vec::new();
    while let Some(request) = locked.poll_relay_request() {
        assert_eq!(request.relay, relay);
        let signer = request.auth_key.as_ref().map(|secret| secret.public_key());
        let mut pushes = Vec::new();
        let now = world.now;
        let response =
            world.relays[0].handle_command(client, &request.command, signer, now, &mut pushes);
        locked.handle_relay_response(&relay, request.token, &response);
        for (to, recipient_id, message_id, message) in pushes {
            assert_eq!(to, client);
            let suite = suite(0, client);
            let sealed = world.relays[0].queues[&recipient_id]
                .queue_key
                .seal(suite, &message_id, &message)
                .unwrap();
            if let Some(delivery) =
                locked.handle_delivery(&relay, recipient_id, message_id, sealed, suite)
            {
                if keep(&delivery) {
                    locked.handle_held(&delivery);
                    kept.push(delivery);
                } else {
                    locked.handle_hold_failed(&delivery);
                }
            }
        }
    }
    kept
}

/// Alice and Bob connected on relay 0; Bob locked (his core goes offline)
/// with Alice's `texts` waiting for him.
fn locked_bob(texts: &[&str]) -> (World, LockedInbox, crate::ChatId) {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (alice_bob, bob_alice) = world.connect(0, 1);
    let locked = world.clients[1].core.locked_inbox().unwrap();
    world.go_offline(1);
    for text in texts {
        world.send_text(0, alice_bob, text);
    }
    world.run();
    (world, locked, bob_alice)
}

fn pending(world: &World) -> usize {
    world.relays[0]
        .queues
        .values()
        .map(|q| q.messages.len())
        .sum()
}

#[test]
fn what_arrives_while_locked_is_kept_acknowledged_and_applied_on_unlock() {
    let (mut world, mut locked, bob_alice) = locked_bob(&["one", "two", "three"]);
    assert_eq!(locked.relays(), vec![world.relays[0].address.clone()]);
    assert_eq!(pending(&world), 3);
    let relay = world.relays[0].address.clone();
    locked.handle_relay_connected(&relay);
    let kept = drive(&mut world, &mut locked, |_| true);
    assert_eq!(kept.len(), 3);
    // Every message was acknowledged once kept: the relay holds none.
    assert_eq!(pending(&world), 0);
    let before = world.texts(1, bob_alice);
    assert!(!before.contains(&"one".to_owned()));

    // Unlock: the kept deliveries first, in arrival order, then the links.
    let now = world.now;
    let bob = &mut world.clients[1];
    for delivery in &kept {
        bob.core
            .handle_delivery(
                now,
                &mut bob.rng,
                &delivery.relay,
                delivery.recipient_id,
                delivery.message_id,
                &delivery.sealed,
                delivery.suite,
            )
            .unwrap();
    }
    world.go_online(1);
    let after = world.texts(1, bob_alice);
    assert_eq!(after[before.len()..], ["one", "two", "three"]);
    // Bob's receipts reach Alice as for any message.
    world.run();
    assert_eq!(pending(&world), 0);
}

#[test]
fn a_delivery_kept_and_delivered_again_is_acknowledged_not_kept_twice() {
    let (mut world, mut locked, _) = locked_bob(&["one"]);
    let relay = world.relays[0].address.clone();
    locked.handle_relay_connected(&relay);
    // Kept, but the ACK is lost with the connection.
    let delivery = {
        let request = locked.poll_relay_request().unwrap();
        let signer = request.auth_key.as_ref().map(|secret| secret.public_key());
        let mut pushes = Vec::new();
        let now = world.now;
        world.relays[0].handle_command(1, &request.command, signer, now, &mut pushes);
        let (_, recipient_id, message_id, message) = pushes.pop().unwrap();
        let sealed = world.relays[0].queues[&recipient_id]
            .queue_key
            .seal(suite(0, 1), &message_id, &message)
            .unwrap();
        locked
            .handle_delivery(&relay, recipient_id, message_id, sealed, suite(0, 1))
            .unwrap()
    };
    locked.handle_held(&delivery);
    let ack = locked.poll_relay_request().unwrap();
    locked.handle_relay_failure(ack.token);
    // The next connection subscribes again; the relay pushes it again.
    locked.handle_relay_connected(&relay);
    let kept = drive(&mut world, &mut locked, |_| true);
    assert!(kept.is_empty(), "kept once only");
    assert_eq!(pending(&world), 0);
}

#[test]
fn a_delivery_that_could_not_be_kept_stays_on_the_relay() {
    let (mut world, mut locked, _) = locked_bob(&["one", "two"]);
    let relay = world.relays[0].address.clone();
    locked.handle_relay_connected(&relay);
    assert!(drive(&mut world, &mut locked, |_| false).is_empty());
    assert_eq!(pending(&world), 2, "nothing acknowledged");
    // After a reconnection both arrive and are kept.
    locked.handle_relay_connected(&relay);
    assert_eq!(drive(&mut world, &mut locked, |_| true).len(), 2);
    assert_eq!(pending(&world), 0);
}

#[test]
fn a_queue_taken_by_another_connection_is_no_longer_watched() {
    let (world, mut locked, _) = locked_bob(&[]);
    let relay = world.relays[0].address.clone();
    let queues: Vec<_> = world.relays[0].queues.keys().copied().collect();
    for recipient_id in &queues {
        locked.handle_end(&relay, recipient_id);
    }
    assert!(!locked.is_watching());
    assert!(locked.relays().is_empty());
    locked.handle_relay_connected(&relay);
    assert!(
        locked.poll_relay_request().is_none(),
        "no SUB takes it back"
    );
}

#[test]
fn debug_shows_no_queue_or_relay() {
    let (mut world, mut locked, _) = locked_bob(&["one"]);
    let relay = world.relays[0].address.clone();
    locked.handle_relay_connected(&relay);
    let kept = drive(&mut world, &mut locked, |_| true);
    let printed = format!("{:?} {:?}", kept[0], locked);
    assert!(!printed.contains("127.0.0.1"), "{printed}");
    assert!(!printed.contains(&format!("{:?}", kept[0].message_id.as_bytes())));
}

#[test]
fn one_delivery_per_queue_waits_to_be_kept() {
    let (mut world, mut locked, _) = locked_bob(&["one"]);
    let relay = world.relays[0].address.clone();
    locked.handle_relay_connected(&relay);
    let request = locked.poll_relay_request().unwrap();
    let signer = request.auth_key.as_ref().map(|secret| secret.public_key());
    let mut pushes = Vec::new();
    let now = world.now;
    world.relays[0].handle_command(1, &request.command, signer, now, &mut pushes);
    let (_, recipient_id, message_id, message) = pushes.pop().unwrap();
    let sealed = world.relays[0].queues[&recipient_id]
        .queue_key
        .seal(suite(0, 1), &message_id, &message)
        .unwrap();
    let first = locked
        .handle_delivery(
            &relay,
            recipient_id,
            message_id,
            sealed.clone(),
            suite(0, 1),
        )
        .unwrap();
    // A relay that pushes more before the ACK (the same again, or another)
    // gets nothing more written meanwhile.
    let other = world.relays[0].new_message_id();
    for id in [message_id, other] {
        assert!(
            locked
                .handle_delivery(&relay, recipient_id, id, sealed.clone(), suite(0, 1))
                .is_none()
        );
    }
    locked.handle_held(&first);
    assert!(matches!(
        locked.poll_relay_request().map(|request| request.command),
        Some(sotto_wire::Command::Ack { .. })
    ));
}

/// Gives the kept deliveries to the unlocked core of `client`, in arrival
/// order, as the runtime does on unlock.
fn unlock(world: &mut World, client: usize, kept: &[HeldDelivery]) {
    let now = world.now;
    let profile = &mut world.clients[client];
    for delivery in kept {
        profile
            .core
            .handle_delivery(
                now,
                &mut profile.rng,
                &delivery.relay,
                delivery.recipient_id,
                delivery.message_id,
                &delivery.sealed,
                delivery.suite,
            )
            .unwrap();
    }
}

#[test]
fn a_request_through_a_group_link_is_kept_while_the_admin_is_locked_and_waits_after_unlock() {
    use crate::Event;
    use crate::queue_record::{QueueOwner, QueueRecord};

    let mut world = World::new(&["Ann", "Bob"], &[0, 0]);
    // MLS checks its key packages' lifetimes against the real clock.
    world.now = crate::UnixMillis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    let now = world.now;
    let relay = world.relays[0].address.clone();
    let ann = &mut world.clients[0];
    let group = ann
        .core
        .create_group(now, "Climbing", crate::group_record::tests::log())
        .unwrap();
    ann.core
        .create_group_link(now, &mut ann.rng, group, &relay, false)
        .unwrap();
    world.run();
    let link = world.clients[0]
        .core
        .group_link(group)
        .unwrap()
        .unwrap()
        .link
        .unwrap();
    let link_queue = QueueRecord::load_all(world.clients[0].core.store())
        .unwrap()
        .into_iter()
        .find(|queue| queue.owner == QueueOwner::GroupLink(group))
        .unwrap()
        .recipient_id;

    // Ann locks: the link's queue is watched like every other.
    let mut locked = world.clients[0].core.locked_inbox().unwrap();
    world.go_offline(0);
    let bob_relay = world.clients[1].relay.clone();
    let bob = &mut world.clients[1];
    bob.core
        .join_group_by_link(
            now,
            &mut bob.rng,
            &link,
            &bob_relay,
            Some("Rope Bob"),
            Vec::new(),
        )
        .unwrap();
    world.run();
    assert_eq!(world.relays[0].queues[&link_queue].messages.len(), 1);
    locked.handle_relay_connected(&relay);
    let kept = drive_client(&mut world, &mut locked, 0, |_| true);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].recipient_id, link_queue);
    // Acknowledged once kept, and unopened: no request yet.
    assert!(world.relays[0].queues[&link_queue].messages.is_empty());
    assert!(
        world.clients[0]
            .core
            .group_join_requests(group)
            .unwrap()
            .is_empty()
    );

    // Unlocked, the request waits for an admin, announced as one that just
    // arrived.
    unlock(&mut world, 0, &kept);
    world.go_online(0);
    world.run();
    let requests = world.clients[0].core.group_join_requests(group).unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].name, "Rope Bob");
    assert!(!requests[0].approved);
    assert!(world.clients[0].events.iter().any(|event| matches!(
        event,
        Event::GroupJoinRequested { request } if request.name == "Rope Bob"
    )));
}
