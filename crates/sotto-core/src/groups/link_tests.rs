//! Joining through a group link between real cores over the simulated
//! relay, with the group log as a list of entries in the test: hostile
//! messages on the link's queue are dropped without stopping it, a replayed
//! request makes no second one, and an approved request's welcome reaches
//! the joiner in pieces.

use sotto_wire::{MessageBody, MessageContent, QueueMessage, RecipientId};

use super::tests::{Log, world};
use super::*;
use crate::Event;
use crate::group_link::{GroupLink, REQUEST_INFO};
use crate::group_record::tests::log;
use crate::queue_record::{QueueOwner, QueueRecord};
use crate::sim::{Stored, World};

/// The link queue's recipient id on the admin's side.
fn link_queue(world: &World, group: ChatId) -> RecipientId {
    QueueRecord::load_all(world.clients[0].core.store())
        .unwrap()
        .into_iter()
        .find(|queue| queue.owner == QueueOwner::GroupLink(group))
        .unwrap()
        .recipient_id
}

/// Puts `body` on the admin's link queue, as a sender (or a replaying
/// relay) would.
fn inject(world: &mut World, queue: RecipientId, body: Vec<u8>) {
    let id = world.relays[0].new_message_id();
    let now = world.now;
    world.relays[0]
        .queues
        .get_mut(&queue)
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

#[test]
fn hostile_requests_are_dropped_and_an_approved_one_joins() {
    let mut world = world(&["Ann", "Bob"]);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let ann = &mut world.clients[0];
    let chat = ann.core.create_group(now, "Climbing", log()).unwrap();
    ann.core
        .create_group_link(now, &mut ann.rng, chat, &relay, false)
        .unwrap();
    assert_eq!(ann.core.group_link(chat).unwrap().unwrap().link, None);
    world.run();
    let text = world.clients[0]
        .core
        .group_link(chat)
        .unwrap()
        .unwrap()
        .link
        .unwrap();
    let link = GroupLink::parse(&text).unwrap();
    assert_eq!(link.name, "Climbing");
    let queue = link_queue(&world, chat);

    // Whatever arrives on the link's queue, nothing is kept and the queue
    // goes on: garbage, another version, a seal to another key, a sealed
    // plaintext that is not a request.
    let other = sotto_groups::LinkKeyPair::generate().unwrap();
    let sealed_elsewhere = [
        vec![1],
        sotto_groups::seal_to_link(other.public(), REQUEST_INFO, &[0; 8192]).unwrap(),
    ]
    .concat();
    let not_a_request = [
        vec![1],
        sotto_groups::seal_to_link(&link.public_key, REQUEST_INFO, &[7; 8192]).unwrap(),
    ]
    .concat();
    world.go_offline(0);
    for body in [
        vec![1],
        vec![2; 100],
        vec![1; 9000],
        sealed_elsewhere,
        not_a_request,
    ] {
        inject(&mut world, queue, body);
    }
    world.go_online(0);
    world.run();
    assert!(world.relays[0].queues[&queue].messages.is_empty());
    assert!(
        world.clients[0]
            .core
            .group_join_requests(chat)
            .unwrap()
            .is_empty()
    );
    let faults = world.clients[0]
        .events
        .iter()
        .filter(|event| matches!(event, Event::RelayFault { .. }))
        .count();
    assert_eq!(faults, 5);

    // A link whose key is no encapsulation key is refused before anything
    // is made.
    let forged = GroupLink {
        public_key: vec![0xff; sotto_groups::LINK_PUBLIC_KEY_LEN],
        ..link.clone()
    }
    .to_link();
    let bob_relay = world.clients[1].relay.clone();
    let bob = &mut world.clients[1];
    assert!(matches!(
        bob.core
            .join_group_by_link(now, &mut bob.rng, &forged, &bob_relay, None, Vec::new()),
        Err(CoreError::InvalidLink(_))
    ));
    assert!(bob.core.group_link_joins().unwrap().is_empty());

    // Bob asks, under a name and with the largest picture for this group;
    // the request waits on the relay while Ann is away, and is replayed once
    // she has read it.
    world.go_offline(0);
    let bob_relay = world.clients[1].relay.clone();
    let bob = &mut world.clients[1];
    let picture = vec![0xB0; sotto_groups::MAX_MEMBER_PICTURE_LEN];
    assert!(matches!(
        bob.core.join_group_by_link(
            now,
            &mut bob.rng,
            &text,
            &bob_relay,
            None,
            vec![0; sotto_groups::MAX_MEMBER_PICTURE_LEN + 1]
        ),
        Err(CoreError::Group(sotto_groups::Error::TooLong { .. }))
    ));
    let join = bob
        .core
        .join_group_by_link(
            now,
            &mut bob.rng,
            &text,
            &bob_relay,
            Some("Rope Bob"),
            picture.clone(),
        )
        .unwrap();
    world.run();
    assert_eq!(
        world.clients[1].core.group_link_joins().unwrap()[0].id,
        join
    );
    let MessageContent::Body(request) = &world.relays[0].queues[&queue].messages[0].message.content
    else {
        panic!("a request")
    };
    let request = request.as_bytes().to_vec();
    world.go_online(0);
    world.run();
    inject(&mut world, queue, request);
    world.go_offline(0);
    world.go_online(0);
    world.run();
    let requests = world.clients[0].core.group_join_requests(chat).unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].name, "Rope Bob");
    assert!(!requests[0].approved);
    assert!(world.clients[0].events.iter().any(|event| matches!(
        event,
        Event::GroupJoinRequested { request } if request.name == "Rope Bob"
    )));

    // Approved: the add goes to the log; once it is in effect the welcome
    // goes to Bob's reply queue, and Bob is in.
    let ann = &mut world.clients[0];
    ann.core
        .approve_group_join(now, &mut ann.rng, requests[0].id)
        .unwrap();
    let mut entries = Log::default();
    entries.append(ann.core.pending_group_commit(chat).unwrap());
    entries.catch_up(&mut world.clients[0], chat);
    world.run();
    let joined = world.clients[1]
        .events
        .iter()
        .find_map(|event| match event {
            Event::GroupJoined { group, name } => Some((*group, name.clone())),
            _ => None,
        })
        .expect("Bob joined");
    assert_eq!(joined.1, "Climbing");
    // The chat list learns of the group's chat as of any other.
    assert!(world.clients[1].events.iter().any(|event| matches!(
        event,
        Event::ChatChanged { chat } if chat.id == joined.0
    )));
    let names: Vec<_> = world.clients[1]
        .core
        .group_members(joined.0)
        .unwrap()
        .into_iter()
        .map(|member| member.name)
        .collect();
    assert_eq!(names, ["Ann", "Rope Bob"]);
    for (client, chat) in [(0, chat), (1, joined.0)] {
        let members = world.clients[client].core.group_members(chat).unwrap();
        assert_eq!(members[1].picture, crate::groups::base64_picture(&picture));
    }
    assert!(world.clients[1].core.group_link_joins().unwrap().is_empty());
    assert!(
        world.clients[0]
            .core
            .group_join_requests(chat)
            .unwrap()
            .is_empty()
    );
    // Bob's reply queue is gone with the join.
    assert!(
        QueueRecord::load_all(world.clients[1].core.store())
            .unwrap()
            .iter()
            .all(|queue| queue.owner != QueueOwner::GroupJoin(join))
    );
}

#[test]
fn a_flooded_link_keeps_at_most_its_bound_of_requests() {
    use crate::group_link::JoinRequest;
    use crate::groups::links::MAX_REQUESTS_PER_GROUP;
    use zeroize::Zeroizing;

    let mut world = world(&["Ann"]);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let ann = &mut world.clients[0];
    let chat = ann.core.create_group(now, "Climbing", log()).unwrap();
    ann.core
        .create_group_link(now, &mut ann.rng, chat, &relay, false)
        .unwrap();
    world.run();
    let text = world.clients[0]
        .core
        .group_link(chat)
        .unwrap()
        .unwrap()
        .link
        .unwrap();
    let link = GroupLink::parse(&text).unwrap();
    let queue = link_queue(&world, chat);
    let name = sotto_groups::DisplayName::new("Someone").unwrap();
    for round in 0..2 {
        world.go_offline(0);
        for index in 0..(MAX_REQUESTS_PER_GROUP / 2 + round) {
            let (_, key_package) =
                sotto_groups::PendingJoin::new(&name, now.0 / 1000, 3600).unwrap();
            let request = JoinRequest {
                join: [(round * 100 + index) as u8; 16],
                reply_queue: link.queue.clone(),
                reply_sender: Zeroizing::new([1; 32]),
                reply_key: Zeroizing::new([2; 32]),
                key_package: key_package.into_bytes(),
            };
            let sealed = sotto_groups::seal_to_link(
                &link.public_key,
                REQUEST_INFO,
                &request.plaintext().unwrap(),
            )
            .unwrap();
            inject(&mut world, queue, [vec![1], sealed].concat());
        }
        world.go_online(0);
        world.run();
    }
    // The queue is read to its end; the request past the bound is dropped.
    assert!(world.relays[0].queues[&queue].messages.is_empty());
    assert_eq!(
        world.clients[0]
            .core
            .group_join_requests(chat)
            .unwrap()
            .len(),
        MAX_REQUESTS_PER_GROUP
    );
}

#[test]
fn an_admin_removed_from_the_group_ends_its_link_and_declines_its_requests() {
    let mut world = world(&["Ann", "Bob"]);
    let now = world.now;
    let relay = world.clients[0].relay.clone();
    let ann = &mut world.clients[0];
    let chat = ann.core.create_group(now, "Climbing", log()).unwrap();
    ann.core
        .create_group_link(now, &mut ann.rng, chat, &relay, false)
        .unwrap();
    world.run();
    let text = world.clients[0]
        .core
        .group_link(chat)
        .unwrap()
        .unwrap()
        .link
        .unwrap();
    let queue = link_queue(&world, chat);

    // Cleo, a member made with sotto-groups directly, joins and becomes an owner.
    let (cleo_join, key_package) = sotto_groups::PendingJoin::new(
        &sotto_groups::DisplayName::new("Cleo").unwrap(),
        now.0 / 1000,
        3600,
    )
    .unwrap();
    let mut entries = Log::default();
    let ann = &mut world.clients[0];
    entries.append(
        ann.core
            .add_group_member(chat, key_package.as_bytes())
            .unwrap(),
    );
    let welcome = entries.catch_up(&mut world.clients[0], chat)[0]
        .welcome
        .clone()
        .unwrap();
    let mut cleo = cleo_join.join(&welcome).unwrap();
    let cleo_id = crate::chat_item::hex(cleo.own_member_id().as_bytes());
    entries.append(
        world.clients[0]
            .core
            .set_group_role(chat, &cleo_id, GroupRole::Owner)
            .unwrap(),
    );
    entries.catch_up(&mut world.clients[0], chat);
    cleo.process(crate::group_entry::message_of(&entries.0[1]).unwrap())
        .unwrap();

    // Bob's request waits for Ann; then Cleo removes Ann.
    let bob_relay = world.clients[1].relay.clone();
    let bob = &mut world.clients[1];
    let join = bob
        .core
        .join_group_by_link(now, &mut bob.rng, &text, &bob_relay, None, Vec::new())
        .unwrap();
    world.run();
    assert_eq!(
        world.clients[0]
            .core
            .group_join_requests(chat)
            .unwrap()
            .len(),
        1
    );
    let ann_id = world.clients[0]
        .core
        .group_members(chat)
        .unwrap()
        .into_iter()
        .find(|member| member.me)
        .unwrap()
        .id;
    let ann_member = crate::chat_item::parse_member_id(&ann_id).unwrap();
    let removal = cleo.remove_members(&[ann_member]).unwrap();
    entries.append(crate::group_entry::entry_of(removal.as_bytes()).unwrap());
    let updates = entries.catch_up(&mut world.clients[0], chat);
    assert_eq!(updates[0].change, Some(GroupChange::Removed));
    world.run();

    // The link is gone (its queue deleted on the relay), and Bob is told no.
    assert_eq!(world.clients[0].core.group_link(chat).unwrap(), None);
    assert!(!world.relays[0].queues.contains_key(&queue));
    assert!(
        world.clients[0]
            .core
            .group_join_requests(chat)
            .unwrap()
            .is_empty()
    );
    assert!(world.clients[1].events.iter().any(|event| matches!(
        event,
        Event::GroupJoinRefused { join: refused, .. } if *refused == join
    )));
    assert!(world.clients[1].core.group_link_joins().unwrap().is_empty());
}
