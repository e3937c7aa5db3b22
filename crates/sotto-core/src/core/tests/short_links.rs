//! Short links through the in-memory relays: the blob is published with the
//! invitation's queue, deleted when the invitation is used or withdrawn, and
//! kept alive for the address; a link that cannot be used makes no chat.

use std::time::Duration;

use sotto_wire::{LinkBlob, LinkId};

use crate::connection_records::JOINS;
use crate::sim::World;
use crate::{ChatId, Event, InvitationId, Link, Store};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn invite(world: &mut World, client: usize) -> (InvitationId, String) {
    let now = world.now;
    let relay = world.clients[client].relay.clone();
    let inviter = &mut world.clients[client];
    let invitation = inviter
        .core
        .create_invitation(now, &mut inviter.rng, &relay)
        .unwrap();
    world.run();
    let link = world.clients[client]
        .core
        .invitation_link(invitation)
        .unwrap()
        .expect("link ready");
    (invitation, link)
}

fn connect(world: &mut World, client: usize, link: &str) -> ChatId {
    let now = world.now;
    let relay = world.clients[client].relay.clone();
    let joiner = &mut world.clients[client];
    let chat = joiner
        .core
        .connect(now, &mut joiner.rng, link, &relay)
        .unwrap();
    world.run();
    chat
}

/// The reason of the join of `chat` that failed at `client`, if it did.
fn join_failure(world: &World, client: usize, chat: ChatId) -> Option<String> {
    world.clients[client]
        .events
        .iter()
        .find_map(|event| match event {
            Event::JoinFailed {
                chat: failed,
                reason,
                ..
            } if *failed == chat => Some(reason.clone()),
            _ => None,
        })
}

/// Nothing is left of a join that failed: no chat, no join record.
fn assert_nothing_left(world: &World, client: usize) {
    let core = &world.clients[client].core;
    assert!(core.chats().unwrap().is_empty());
    assert!(
        core.store
            .records_after(JOINS.name(), None, usize::MAX)
            .unwrap()
            .is_empty()
    );
}

fn link_ids(world: &World) -> Vec<LinkId> {
    world.relays[0].links.keys().copied().collect()
}

#[test]
fn a_short_link_connects_once_and_is_then_refused() {
    let mut world = World::new(&["Alice", "Bob", "Carol"], &[0, 0, 0]);
    let (_, link) = invite(&mut world, 0);
    assert!(link.len() < 300, "{link}");
    assert!(matches!(Link::parse(&link).unwrap(), Link::Short(_)));
    assert_eq!(link_ids(&world).len(), 1);

    let bob_alice = connect(&mut world, 1, &link);
    assert_eq!(
        world.clients[1]
            .core
            .chat(bob_alice)
            .unwrap()
            .name
            .as_deref(),
        Some("Alice")
    );
    // Used: the blob is gone from the relay.
    assert!(link_ids(&world).is_empty());

    let carol_alice = connect(&mut world, 2, &link);
    let reason = join_failure(&world, 2, carol_alice).expect("the join fails");
    assert!(reason.contains("already used"), "{reason}");
    assert_nothing_left(&world, 2);
    assert_eq!(world.clients[0].core.chats().unwrap().len(), 1);
}

#[test]
fn a_withdrawn_invitation_is_refused_and_makes_no_chat() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (invitation, link) = invite(&mut world, 0);
    let now = world.now;
    world.clients[0]
        .core
        .delete_invitation(now, invitation)
        .unwrap();
    world.run();
    assert!(link_ids(&world).is_empty());
    let chat = connect(&mut world, 1, &link);
    assert!(join_failure(&world, 1, chat).is_some());
    assert_nothing_left(&world, 1);
}

#[test]
fn a_blob_that_does_not_open_makes_no_chat() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (_, link) = invite(&mut world, 0);
    for (_, blob) in world.relays[0].links.values_mut() {
        let mut bytes = blob.as_bytes().to_vec();
        bytes[500] ^= 1;
        *blob = LinkBlob::new(bytes).unwrap();
    }
    let chat = connect(&mut world, 1, &link);
    let reason = join_failure(&world, 1, chat).expect("the join fails");
    assert!(reason.contains("does not open"), "{reason}");
    assert_nothing_left(&world, 1);
    assert!(world.clients[0].core.chats().unwrap().is_empty());
}

#[test]
fn a_short_link_resolves_once_its_relay_is_back() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (_, link) = invite(&mut world, 0);
    world.go_offline(1);
    let now = world.now;
    let relay = world.clients[1].relay.clone();
    let bob = &mut world.clients[1];
    let chat = bob.core.connect(now, &mut bob.rng, &link, &relay).unwrap();
    world.run();
    assert!(world.clients[1].core.chat(chat).is_err());
    world.go_online(1);
    world.run();
    assert!(world.clients[1].core.chat(chat).is_ok());
    assert_eq!(world.clients[0].core.chats().unwrap().len(), 1);
}

#[test]
fn the_address_link_is_kept_alive_and_published_again_if_it_expired() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let alice = &mut world.clients[0];
    alice
        .core
        .create_address(now, &mut alice.rng, &relay)
        .unwrap();
    world.run();
    let first = world.clients[0].core.address_link().unwrap().unwrap();
    let [link_id] = link_ids(&world)[..] else {
        panic!("one blob");
    };
    // A week on, the blob is written again (its relay keeps it for the link
    // TTL after the last write); the link stays the same.
    let blob = world.relays[0].links[&link_id].1.clone();
    world.advance(8 * DAY);
    let rewritten = &world.relays[0].links[&link_id].1;
    assert!(rewritten.as_bytes() == blob.as_bytes());
    assert_eq!(
        world.clients[0].core.address_link().unwrap().unwrap(),
        first
    );

    // The relay forgot it (the profile was away past the TTL): the next
    // refresh publishes it again, under a new link.
    world.relays[0].links.clear();
    world.clients[0].events.clear();
    world.advance(8 * DAY);
    let second = world.clients[0].core.address_link().unwrap().unwrap();
    assert_ne!(second, first);
    assert!(
        world.clients[0]
            .events
            .iter()
            .any(|event| matches!(event, Event::AddressReady { link } if *link == second))
    );
    let chat = connect(&mut world, 1, &second);
    assert!(join_failure(&world, 1, chat).is_none());
    assert_eq!(world.clients[0].core.requests().unwrap().len(), 1);

    // Deleting the address deletes its blob.
    let now = world.now;
    world.clients[0].core.delete_address(now).unwrap();
    world.run();
    assert!(link_ids(&world).is_empty());
}

#[test]
fn a_second_link_of_a_contact_is_offered_as_the_same_contact() {
    let mut world = World::new(&["Alice", "Bob"], &[0, 0]);
    let (_, bob_alice) = world.connect(0, 1);
    let (_, link) = invite(&mut world, 0);
    let chat = connect(&mut world, 1, &link);
    let existing = world.clients[1]
        .events
        .iter()
        .find_map(|event| match event {
            Event::JoinFailed {
                chat: failed,
                existing,
                ..
            } if *failed == chat => Some(*existing),
            _ => None,
        });
    assert_eq!(existing, Some(Some(bob_alice)));
    assert_eq!(world.clients[1].core.chats().unwrap().len(), 1);
    // The full form of the link is refused at once, naming the chat.
    let (invitation, _) = invite(&mut world, 0);
    let full = super::full_link(&world, 0, invitation);
    let now = world.now;
    let relay = world.clients[1].relay.clone();
    let bob = &mut world.clients[1];
    assert!(matches!(
        bob.core.connect(now, &mut bob.rng, &full, &relay),
        Err(crate::CoreError::AlreadyContact { chat }) if chat == bob_alice
    ));
}
