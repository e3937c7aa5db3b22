//! Every chat message type in a group of three real cores, invited over
//! their pairwise chats, with the group log as a list of entries in the
//! test.

use crate::chat_record::ReceiptSetting;
use sotto_groups::{DisplayName, PendingJoin};

use crate::sim::World;
use crate::{FileMessage, ItemView, MessageDirection, MessageNumber, MessageStatus, Transfer};

use super::tests::{Log, world};
use super::*;

/// Ann's group with Bob and Cy, each invited over their pairwise chat with
/// Ann; the chats of Ann, Bob and Cy.
fn group_of_three() -> (World, Log, [ChatId; 3]) {
    let mut world = world(&["Ann", "Bob", "Cy"]);
    let now = world.now;
    let (ann_bob, _) = world.connect(0, 1);
    let (ann_cy, _) = world.connect(0, 2);
    let ann = world.clients[0]
        .core
        .create_group(now, "Climbing", crate::group_record::tests::log())
        .unwrap();
    let mut log = Log::default();
    let mut chats = [ann, ChatId(0), ChatId(0)];
    for (client, contact) in [(1, ann_bob), (2, ann_cy)] {
        let c = &mut world.clients[0];
        c.core
            .invite_to_group(now, &mut c.rng, ann, contact)
            .unwrap();
        world.run();
        let commit = world.clients[0].core.pending_group_commit(ann).unwrap();
        log.append(commit);
        for (member, chat) in chats.iter().enumerate().take(client) {
            log.catch_up(&mut world.clients[member], *chat);
        }
        world.run();
        chats[client] = world.clients[client].core.groups().unwrap()[0].id;
    }
    (world, log, chats)
}

/// Hands every member the log to its end.
fn everyone_reads(world: &mut World, log: &Log, chats: &[ChatId; 3]) {
    for (client, chat) in chats.iter().enumerate() {
        log.catch_up(&mut world.clients[client], *chat);
    }
}

fn send(world: &mut World, log: &mut Log, client: usize, chat: ChatId, send: GroupSend<'_>) {
    let now = world.now;
    let entry = world.clients[client]
        .core
        .group_send(now, chat, send)
        .unwrap();
    log.append(entry);
}

fn last(world: &World, client: usize, chat: ChatId) -> ItemView {
    world.clients[client]
        .core
        .history(chat, None, 1)
        .unwrap()
        .pop()
        .unwrap()
}

fn member_id(world: &World, client: usize, chat: ChatId, name: &str) -> String {
    world.clients[client]
        .core
        .group_members(chat)
        .unwrap()
        .into_iter()
        .find(|member| member.name == name)
        .unwrap()
        .id
}

#[test]
fn every_message_type_works_in_a_group_of_three() {
    let (mut world, mut log, chats) = group_of_three();
    let [ann, bob, cy] = chats;
    // The group is a chat in everyone's chat list.
    let listed = world.clients[2].core.chats().unwrap();
    let group = listed.iter().find(|chat| chat.id == cy).unwrap();
    assert_eq!(group.name.as_deref(), Some("Climbing"));
    assert_eq!(group.members, Some(3));

    // A text mentioning Cy: pending at once, sent once the log has it.
    let cy_id = member_id(&world, 0, ann, "Cy");
    let mentions = [cy_id];
    let text = GroupSend::Text {
        text: "who climbs on Sunday?",
        reply_to: None,
        mentions: &mentions,
    };
    send(&mut world, &mut log, 0, ann, text);
    let ann_question = last(&world, 0, ann);
    assert_eq!(ann_question.status, MessageStatus::Pending);
    assert_eq!(ann_question.seq, 0);
    everyone_reads(&mut world, &log, &chats);
    let ann_question = last(&world, 0, ann);
    assert_eq!(ann_question.status, MessageStatus::Sent);
    let seq = ann_question.seq;
    assert_ne!(seq, 0);
    let at_bob = last(&world, 1, bob);
    let at_cy = last(&world, 2, cy);
    assert_eq!(at_bob.sender.as_ref().unwrap().name, "Ann");
    assert_eq!(at_bob.seq, seq);
    assert!(!at_bob.mentions_me);
    assert!(at_cy.mentions_me);
    assert_eq!(world.clients[2].core.chat(cy).unwrap().unread, 1);

    // Bob replies; Cy and Bob react.
    let reply = GroupSend::Text {
        text: "me!",
        reply_to: Some(at_bob.number),
        mentions: &[],
    };
    send(&mut world, &mut log, 1, bob, reply);
    let reaction = GroupSend::Reaction {
        message: at_cy.number,
        emoji: "👍",
    };
    send(&mut world, &mut log, 2, cy, reaction);
    let reaction = GroupSend::Reaction {
        message: at_bob.number,
        emoji: "🎉",
    };
    send(&mut world, &mut log, 1, bob, reaction);
    everyone_reads(&mut world, &log, &chats);
    let history = world.clients[0].core.history(ann, None, 10).unwrap();
    let reply = history
        .iter()
        .find(|i| i.text.as_deref() == Some("me!"))
        .unwrap();
    assert_eq!(reply.reply_to, Some(ann_question.number));
    assert_eq!(reply.quoted.as_ref().unwrap().text, "who climbs on Sunday?");
    let question = world.clients[0]
        .core
        .message(ann, ann_question.number)
        .unwrap();
    let mut emojis: Vec<_> = question
        .reactions
        .iter()
        .map(|r| r.emoji.as_str())
        .collect();
    emojis.sort_unstable();
    assert_eq!(emojis, ["🎉", "👍"]);
    assert!(question.reactions.iter().all(|r| r.member.is_some()));
    let at_cy_reply = last(&world, 2, cy);
    assert_eq!(at_cy_reply.reply_to, Some(at_cy.number));

    // Ann edits her text, then deletes it for everyone. Bob cannot edit it.
    let edit = GroupSend::Edit {
        message: ann_question.number,
        text: "who climbs on Saturday?",
    };
    send(&mut world, &mut log, 0, ann, edit);
    assert!(
        world.clients[1]
            .core
            .group_send(
                world.now,
                bob,
                GroupSend::Delete {
                    message: at_bob.number
                }
            )
            .is_err()
    );
    everyone_reads(&mut world, &log, &chats);
    let edited = world.clients[1].core.message(bob, at_bob.number).unwrap();
    assert!(edited.edited);
    assert_eq!(edited.text.as_deref(), Some("who climbs on Saturday?"));
    send(
        &mut world,
        &mut log,
        0,
        ann,
        GroupSend::Delete {
            message: ann_question.number,
        },
    );
    everyone_reads(&mut world, &log, &chats);
    for (client, number) in [(1, at_bob.number), (2, at_cy.number)] {
        let chat = chats[client];
        let deleted = world.clients[client].core.message(chat, number).unwrap();
        assert!(deleted.deleted);
        assert_eq!(deleted.text.as_deref(), Some(""));
    }

    // The timer, set by Bob, applies to everyone's next messages.
    send(
        &mut world,
        &mut log,
        1,
        bob,
        GroupSend::Timer { seconds: Some(60) },
    );
    everyone_reads(&mut world, &log, &chats);
    for (client, chat) in chats.iter().enumerate() {
        assert_eq!(
            world.clients[client].core.chat(*chat).unwrap().timer_secs,
            Some(60)
        );
    }
    let notice = last(&world, 2, cy);
    assert!(notice.notice.is_some());
    let text = GroupSend::Text {
        text: "gone in a minute",
        reply_to: None,
        mentions: &[],
    };
    send(&mut world, &mut log, 0, ann, text);
    everyone_reads(&mut world, &log, &chats);
    assert!(last(&world, 1, bob).expires_at.is_some());
    assert!(last(&world, 0, ann).expires_at.is_some());
}

#[test]
fn receipts_are_aggregated_per_member_and_a_member_may_turn_read_receipts_off() {
    let (mut world, mut log, chats) = group_of_three();
    let [ann, bob, cy] = chats;
    let text = GroupSend::Text {
        text: "ropes?",
        reply_to: None,
        mentions: &[],
    };
    send(&mut world, &mut log, 0, ann, text);
    everyone_reads(&mut world, &log, &chats);
    let number = last(&world, 0, ann).number;
    let receipts = |world: &World| {
        *world.clients[0]
            .core
            .message(ann, number)
            .unwrap()
            .receipts
            .unwrap()
    };
    assert_eq!(receipts(&world).members, 2);
    assert_eq!(receipts(&world).delivered, 0);

    // Bob's and Cy's delivery receipts go with their next writes.
    let now = world.now;
    for (client, chat) in [(1, bob), (2, cy)] {
        let entries = world.clients[client]
            .core
            .group_receipts(now, chat)
            .unwrap();
        assert_eq!(entries.len(), 1);
        log.append(entries.into_iter().next().unwrap());
        // Owed once.
        assert!(
            world.clients[client]
                .core
                .group_receipts(now, chat)
                .unwrap()
                .is_empty()
        );
    }
    everyone_reads(&mut world, &log, &chats);
    let view = receipts(&world);
    assert_eq!((view.delivered, view.read), (2, 0));
    assert_eq!(
        world.clients[0].core.message(ann, number).unwrap().status,
        MessageStatus::Delivered
    );

    // Bob reads; Cy turned read receipts off for the group: none from her.
    world.clients[2]
        .core
        .set_read_receipts(cy, ReceiptSetting::Off)
        .unwrap();
    for (client, chat) in [(1, bob), (2, cy)] {
        let c = &mut world.clients[client];
        c.core.mark_read(now, &mut c.rng, chat).unwrap();
        assert_eq!(c.core.chat(chat).unwrap().unread, 0);
        let entries = c.core.group_receipts(now, chat).unwrap();
        assert_eq!(entries.len(), usize::from(client == 1));
        for entry in entries {
            log.append(entry);
        }
    }
    everyone_reads(&mut world, &log, &chats);
    let view = receipts(&world);
    assert_eq!((view.members, view.delivered, view.read), (2, 2, 1));
    let mut by: Vec<_> = view
        .by
        .iter()
        .map(|r| (r.name.as_str(), r.status))
        .collect();
    by.sort_unstable_by_key(|(name, _)| *name);
    assert_eq!(
        by,
        [
            ("Bob", MessageStatus::Read),
            ("Cy", MessageStatus::Delivered)
        ]
    );
    let item = world.clients[0].core.message(ann, number).unwrap();
    assert_eq!(item.status, MessageStatus::Delivered);
    assert_eq!(item.direction, MessageDirection::Outgoing);
    // Deleted on this device, the message takes its receipts with it.
    world.clients[0].core.delete_for_me(ann, number).unwrap();
    let kept = world.clients[0]
        .core
        .store()
        .range(
            super::messages::GROUP_RECEIPTS,
            &crate::KeyRange::all(),
            crate::Direction::Forward,
            10,
        )
        .unwrap();
    assert!(kept.is_empty());
    // Receipts show on our own messages only.
    assert!(
        world.clients[1]
            .core
            .message(bob, MessageNumber(1))
            .map_or(true, |i| i.receipts.is_none())
    );
}

#[test]
fn receipts_coalesce_into_one_entry_per_kind_for_the_range_read() {
    let (mut world, mut log, chats) = group_of_three();
    let [ann, bob, _] = chats;
    for text in ["one", "two", "three"] {
        let text = GroupSend::Text {
            text,
            reply_to: None,
            mentions: &[],
        };
        send(&mut world, &mut log, 0, ann, text);
    }
    everyone_reads(&mut world, &log, &chats);
    let now = world.now;
    let c = &mut world.clients[1];
    c.core.mark_read(now, &mut c.rng, bob).unwrap();
    // Three texts delivered and read: one delivered and one read receipt,
    // each for the range of the three.
    let entries = c.core.group_receipts(now, bob).unwrap();
    assert_eq!(entries.len(), 2);
    for entry in entries {
        log.append(entry);
    }
    everyone_reads(&mut world, &log, &chats);
    let ours: Vec<_> = world.clients[0]
        .core
        .history(ann, None, 10)
        .unwrap()
        .into_iter()
        .filter(|item| item.direction == MessageDirection::Outgoing)
        .collect();
    assert_eq!(ours.len(), 3);
    for item in &ours {
        let view = world.clients[0]
            .core
            .message(ann, item.number)
            .unwrap()
            .receipts
            .unwrap();
        assert_eq!((view.members, view.delivered, view.read), (2, 1, 1));
        assert_eq!(view.by.len(), 1);
        assert_eq!(view.by[0].name, "Bob");
        assert_eq!(view.by[0].status, MessageStatus::Read);
        // Cy has not read it: sent, not read by all.
        assert_eq!(item.status, MessageStatus::Sent);
    }

    // The same receipt again, or one for a range holding none of Ann's
    // messages or reaching past the log, changes nothing.
    let c = &mut world.clients[1];
    for (number, (from, to)) in (100..).zip([(1, u64::MAX), (1, 1)]) {
        let message = crate::group_entry::GroupChatMessage {
            sent_at: now.0,
            // Numbers of their own: what is checked is the receipt's range.
            number,
            mentions: Vec::new(),
            content: Content::GroupReceipt {
                kind: crate::chat_message::ReceiptKind::Read,
                from,
                to,
            },
        };
        let mut record = crate::group_record::GroupRecord::load(c.core.store(), bob).unwrap();
        let sealed = record.group.encrypt(&message.encode()).unwrap();
        let mut batch = crate::staged_batch::StagedBatch::new();
        record.put(&mut batch).unwrap();
        c.core.parts().0.commit(batch).unwrap();
        log.append(crate::group_entry::entry_of(sealed.as_bytes()).unwrap());
    }
    everyone_reads(&mut world, &log, &chats);
    for item in &ours {
        let view = world.clients[0]
            .core
            .message(ann, item.number)
            .unwrap()
            .receipts
            .unwrap();
        assert_eq!((view.delivered, view.read), (1, 1));
    }
}

#[test]
fn a_member_away_across_a_removal_and_several_epochs_reads_everything_and_the_keys_rotate_after_it()
{
    let (mut world, mut log, chats) = group_of_three();
    let [ann, bob, cy] = chats;
    let now = world.now;
    let text = |text| GroupSend::Text {
        text,
        reply_to: None,
        mentions: &[],
    };
    let bob_read = world.clients[1].core.group_log(bob).unwrap().read.1;

    // Bob is away. Ann removes Cy, adds Di and removes her again, writing
    // between each: four epochs and two removals.
    let cy_id = member_id(&world, 0, ann, "Cy");
    let commit = world.clients[0]
        .core
        .remove_group_member(ann, &cy_id)
        .unwrap();
    log.append(commit);
    log.catch_up(&mut world.clients[0], ann);
    log.catch_up(&mut world.clients[2], cy);
    assert!(!world.clients[2].core.groups().unwrap()[0].active);
    // The write key rotates at once; the read key stays the relay's, which
    // Bob still holds.
    let (write, read) = world.clients[0].core.group_rotation(ann).unwrap().unwrap();
    let ann_log = world.clients[0].core.group_log(ann).unwrap();
    assert_eq!(write.as_bytes(), ann_log.write.1.as_bytes());
    assert_eq!(read.as_bytes(), bob_read.as_bytes());
    assert_ne!(ann_log.read.1.as_bytes(), bob_read.as_bytes());
    world.clients[0].core.group_rotation_installed(ann).unwrap();
    assert!(world.clients[0].core.group_rotation(ann).unwrap().is_none());
    send(&mut world, &mut log, 0, ann, text("Cy left us"));

    let (di_join, di_key_package) =
        PendingJoin::new(&DisplayName::new("Di").unwrap(), now.0 / 1000, 3600).unwrap();
    let commit = world.clients[0]
        .core
        .add_group_member(ann, di_key_package.as_bytes())
        .unwrap();
    log.append(commit);
    let welcome = log
        .catch_up(&mut world.clients[0], ann)
        .into_iter()
        .find_map(|update| update.welcome)
        .unwrap();
    di_join.join(&welcome).unwrap();
    send(&mut world, &mut log, 0, ann, text("hi Di"));
    let di_id = member_id(&world, 0, ann, "Di");
    let commit = world.clients[0]
        .core
        .remove_group_member(ann, &di_id)
        .unwrap();
    log.append(commit);
    log.catch_up(&mut world.clients[0], ann);
    send(&mut world, &mut log, 0, ann, text("bye Di"));
    log.catch_up(&mut world.clients[0], ann);
    world.clients[0].core.group_rotation_installed(ann).unwrap();

    // Bob comes back: every commit and every text, the log's newest secrets.
    log.catch_up(&mut world.clients[1], bob);
    assert_eq!(incoming(&world, 1, bob), ["Cy left us", "hi Di", "bye Di"]);
    let names: Vec<_> = world.clients[1]
        .core
        .group_members(bob)
        .unwrap()
        .into_iter()
        .map(|member| member.name)
        .collect();
    assert_eq!(names, ["Ann", "Bob"]);
    let bob_log = world.clients[1].core.group_log(bob).unwrap();
    let ann_log = world.clients[0].core.group_log(ann).unwrap();
    assert_eq!(bob_log.write.1.as_bytes(), ann_log.write.1.as_bytes());
    assert_eq!(bob_log.read.1.as_bytes(), ann_log.read.1.as_bytes());
    // He acknowledges the removals; then Ann rotates the read key too.
    for entry in world.clients[1].core.group_receipts(now, bob).unwrap() {
        log.append(entry);
    }
    log.catch_up(&mut world.clients[0], ann);
    let (_, read) = world.clients[0].core.group_rotation(ann).unwrap().unwrap();
    assert_eq!(read.as_bytes(), bob_log.read.1.as_bytes());
    world.clients[0].core.group_rotation_installed(ann).unwrap();
    assert!(
        world.clients[0]
            .core
            .group_previous_log(ann)
            .unwrap()
            .is_none()
    );
}

/// The texts other members wrote, oldest first.
fn incoming(world: &World, client: usize, chat: ChatId) -> Vec<String> {
    world.clients[client]
        .core
        .history(chat, None, 100)
        .unwrap()
        .into_iter()
        .filter(|item| item.direction == MessageDirection::Incoming)
        .filter_map(|item| item.text)
        .collect()
}

#[test]
fn a_welcome_too_long_for_one_message_travels_in_pieces() {
    let mut world = world(&["Ann", "Bob"]);
    let now = world.now;
    let (ann_bob, _) = world.connect(0, 1);
    let ann = world.clients[0]
        .core
        .create_group(now, "Big", crate::group_record::tests::log())
        .unwrap();
    let mut log = Log::default();
    // Members made with sotto-groups directly, until the welcome of one more
    // is longer than a chat message.
    for index in 0..12 {
        let name = DisplayName::new(&format!("Member {index}")).unwrap();
        let (_, key_package) = PendingJoin::new(&name, now.0 / 1000, 3600).unwrap();
        let commit = world.clients[0]
            .core
            .add_group_member(ann, key_package.as_bytes())
            .unwrap();
        log.append(commit);
        log.catch_up(&mut world.clients[0], ann);
    }
    {
        let c = &mut world.clients[0];
        c.core
            .invite_to_group(now, &mut c.rng, ann, ann_bob)
            .unwrap();
    }
    world.run();
    let commit = world.clients[0].core.pending_group_commit(ann).unwrap();
    log.append(commit);
    let welcome = log
        .catch_up(&mut world.clients[0], ann)
        .into_iter()
        .find_map(|update| update.welcome)
        .unwrap();
    assert!(
        welcome.len() > sotto_crypto::MAX_PLAINTEXT_LEN,
        "{}",
        welcome.len()
    );
    world.run();
    let groups = world.clients[1].core.groups().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].members, 14);
    let bob = groups[0].id;
    // Bob reads on from after his add, and writes.
    send(
        &mut world,
        &mut log,
        0,
        ann,
        GroupSend::Text {
            text: "welcome, Bob",
            reply_to: None,
            mentions: &[],
        },
    );
    log.catch_up(&mut world.clients[1], bob);
    assert_eq!(incoming(&world, 1, bob), ["welcome, Bob"]);
    // Nothing of the pieces is left behind.
    let store = world.clients[1].core.store();
    for table in [
        crate::group_invite::GROUP_WELCOME_PIECES,
        crate::group_invite::GROUP_WELCOME_PROGRESS,
    ] {
        let kept = store
            .range(
                table,
                &crate::KeyRange::all(),
                crate::Direction::Forward,
                10,
            )
            .unwrap();
        assert!(kept.is_empty());
    }
}

#[test]
fn a_text_whose_append_was_lost_is_sent_again_in_the_current_epoch() {
    let (mut world, mut log, chats) = group_of_three();
    let [ann, bob, cy] = chats;
    let now = world.now;
    let text = GroupSend::Text {
        text: "lost on the way",
        reply_to: None,
        mentions: &[],
    };
    // Ann's append fails: the entry never reaches the log.
    let _lost = world.clients[0].core.group_send(now, ann, text).unwrap();
    // Meanwhile the group moves to a new epoch: Ann removes Cy.
    let cy_id = member_id(&world, 0, ann, "Cy");
    let commit = world.clients[0]
        .core
        .remove_group_member(ann, &cy_id)
        .unwrap();
    log.append(commit);
    log.catch_up(&mut world.clients[0], ann);
    assert_eq!(last(&world, 0, ann).status, MessageStatus::Pending);
    // At the log's end, the text is encrypted again, once.
    let unsent = world.clients[0].core.group_unsent(ann).unwrap();
    assert_eq!(unsent.len(), 1);
    log.append(unsent.into_iter().next().unwrap());
    everyone_reads(&mut world, &log, &[ann, bob, cy]);
    assert!(world.clients[0].core.group_unsent(ann).unwrap().is_empty());
    let sent = last(&world, 0, ann);
    assert_eq!(sent.status, MessageStatus::Sent);
    assert_eq!(sent.seq, log.0.len() as u64);
    assert_eq!(incoming(&world, 1, bob), ["lost on the way"]);
}

#[test]
fn two_members_see_the_same_security_code_and_another_member_a_different_one() {
    let (world, _log, chats) = group_of_three();
    let bob = member_id(&world, 0, chats[0], "Bob");
    let ann = member_id(&world, 1, chats[1], "Ann");
    let cy = member_id(&world, 0, chats[0], "Cy");
    let ann_sees_bob = world.clients[0]
        .core
        .group_security_code(chats[0], &bob)
        .unwrap();
    let bob_sees_ann = world.clients[1]
        .core
        .group_security_code(chats[1], &ann)
        .unwrap();
    assert_eq!(ann_sees_bob.digits(), bob_sees_ann.digits());
    let ann_sees_cy = world.clients[0]
        .core
        .group_security_code(chats[0], &cy)
        .unwrap();
    assert_ne!(ann_sees_bob.digits(), ann_sees_cy.digits());
    assert!(
        world.clients[0]
            .core
            .group_security_code(chats[0], "not a member id")
            .is_err()
    );
}

/// Starts an upload of a `size`-byte file in the group at `client`: its
/// item, uploading.
fn start_group_upload(world: &mut World, client: usize, chat: ChatId, size: u64) -> MessageNumber {
    let now = world.now;
    let relays = crate::file_message::tests::description(size)
        .chunks
        .iter()
        .map(|chunk| chunk.relay.clone())
        .take(1)
        .collect::<Vec<_>>();
    let upload = sotto_files::Upload::encrypting(
        sotto_files::FileKey::from_bytes([1; 32]),
        sotto_files::FileNonce::from_bytes([2; 19]),
        size,
        &relays,
        1,
    )
    .unwrap();
    world.clients[client]
        .core
        .start_upload(now, chat, "photo.jpg", "image/jpeg", &upload)
        .unwrap()
}

fn transfer_of(world: &World, client: usize, chat: ChatId) -> crate::FileTransfer {
    world.clients[client]
        .core
        .file_transfers()
        .unwrap()
        .into_iter()
        .find(|transfer| transfer.chat == chat)
        .unwrap()
}

#[test]
fn a_file_goes_to_the_group_once_and_no_member_acknowledges_its_chunks() {
    let (mut world, mut log, chats) = group_of_three();
    let [ann, bob, cy] = chats;
    let now = world.now;
    // Cy downloads every file of the group as it arrives.
    world.clients[2]
        .core
        .set_chat_auto_download(cy, crate::chat_record::AutoDownload::On)
        .unwrap();

    let number = start_group_upload(&mut world, 0, ann, 3 * 1024 * 1024);
    assert_eq!(last(&world, 0, ann).file.unwrap().state, "uploading");
    // One description, one entry, whatever the group's size.
    let file = crate::file_message::tests::with_largest_preview();
    let c = &mut world.clients[0];
    let entry = c
        .core
        .send_file(now, &mut c.rng, ann, number, file)
        .unwrap()
        .unwrap();
    let sent = last(&world, 0, ann);
    assert_eq!(sent.status, MessageStatus::Pending);
    assert_eq!(sent.file.as_ref().unwrap().state, "sent");
    log.append(entry);
    everyone_reads(&mut world, &log, &chats);
    let sent = last(&world, 0, ann);
    assert_eq!(sent.status, MessageStatus::Sent);
    assert_eq!(sent.seq, log.0.len() as u64);

    let at_bob = last(&world, 1, bob);
    assert_eq!(at_bob.direction, MessageDirection::Incoming);
    assert_eq!(at_bob.sender.as_ref().unwrap().name, "Ann");
    let offered = at_bob.file.as_ref().unwrap();
    assert_eq!(offered.state, "available");
    assert_eq!(offered.name, "photo.jpg");
    assert!(offered.preview.is_some());
    assert_eq!(offered.duration_ms, Some(61_000));
    let at_cy = last(&world, 2, cy);
    assert_eq!(at_cy.file.as_ref().unwrap().state, "downloading");

    // Both members' downloads share the chunks: neither acknowledges one.
    let transfer = world.clients[1]
        .core
        .start_download(now, bob, at_bob.number)
        .unwrap();
    let Transfer::Download(download) = transfer else {
        panic!("not a download");
    };
    assert!(download.is_shared());
    let Transfer::Download(download) = transfer_of(&world, 2, cy).transfer else {
        panic!("not a download");
    };
    assert!(download.is_shared());

    // Bob blocks saving the group's media, for every member.
    let block = GroupSend::MediaPrivacy { block_saving: true };
    send(&mut world, &mut log, 1, bob, block);
    everyone_reads(&mut world, &log, &chats);
    for (client, chat) in chats.iter().enumerate() {
        let settings = world.clients[client].core.media_settings(*chat).unwrap();
        assert!(settings.block_saving, "member {client}");
    }
    assert!(last(&world, 0, ann).notice.is_some());

    // Ann deletes it for everyone: her upload is left for its FDEL, the
    // members' downloads for a clean-up without FACK.
    send(
        &mut world,
        &mut log,
        0,
        ann,
        GroupSend::Delete { message: number },
    );
    everyone_reads(&mut world, &log, &chats);
    let at_ann = transfer_of(&world, 0, ann);
    assert!(at_ann.item_gone);
    assert!(matches!(at_ann.transfer, Transfer::Upload(_)));
    for (client, chat, number) in [(1, bob, at_bob.number), (2, cy, at_cy.number)] {
        let history = world.clients[client].core.history(chat, None, 10).unwrap();
        assert!(
            history
                .iter()
                .any(|item| item.number == number && item.deleted)
        );
        let transfer = transfer_of(&world, client, chat);
        assert!(transfer.item_gone);
        let Transfer::Download(mut download) = transfer.transfer else {
            panic!("not a download");
        };
        download.cancel();
        assert!(download.next_steps(u64::MAX).is_empty());
        assert!(download.is_finished());
    }
}

#[test]
fn the_longest_file_message_fits_one_entry_and_a_lost_one_is_sent_again() {
    use crate::file_message::MAX_FILE_MESSAGE_LEN;
    let (mut world, mut log, chats) = group_of_three();
    let [ann, bob, _] = chats;
    let now = world.now;
    // The longest inline description, then a preview that brings the file
    // message to its longest.
    let mut file = crate::file_message::tests::longest_inline();
    let encoded_len = |file: &FileMessage| {
        let mut w = crate::codec::Writer::new();
        file.encode(&mut w);
        w.finish().len()
    };
    let room = MAX_FILE_MESSAGE_LEN - encoded_len(&file);
    if let Some(media) = &mut file.media {
        media.preview = vec![7; room];
    }
    assert_eq!(encoded_len(&file), MAX_FILE_MESSAGE_LEN);
    let number = start_group_upload(&mut world, 0, ann, file.size);
    let c = &mut world.clients[0];
    // Its append is lost: the log's end sends it again.
    let _lost = c.core.send_file(now, &mut c.rng, ann, number, file.clone());
    log.catch_up(&mut world.clients[0], ann);
    let unsent = world.clients[0].core.group_unsent(ann).unwrap();
    assert_eq!(unsent.len(), 1);
    log.append(unsent.into_iter().next().unwrap());
    everyone_reads(&mut world, &log, &chats);
    assert!(world.clients[0].core.group_unsent(ann).unwrap().is_empty());
    assert_eq!(last(&world, 0, ann).status, MessageStatus::Sent);
    let (received, state) = world.clients[1]
        .core
        .offered_file(bob, last(&world, 1, bob).number)
        .unwrap();
    assert_eq!(received, file);
    assert_eq!(state, crate::FileState::Available);
}

/// Hands every member the log to its end, at the world's time (the items'
/// timers start then).
fn everyone_reads_now(world: &mut World, log: &Log, chats: &[ChatId; 3]) {
    let now = world.now;
    for (client, chat) in chats.iter().enumerate() {
        let client = &mut world.clients[client];
        let from = client.core.group_cursor(*chat).unwrap();
        for seq in from..=log.0.len() as u64 {
            let entry = &log.0[seq as usize - 1];
            client
                .core
                .handle_group_entry(now, &mut client.rng, *chat, seq, entry)
                .unwrap();
        }
    }
}

#[test]
fn a_group_file_that_disappears_leaves_its_chunks_to_the_senders_fdel_only() {
    let (mut world, mut log, chats) = group_of_three();
    let [ann, bob, _] = chats;
    send(
        &mut world,
        &mut log,
        0,
        ann,
        GroupSend::Timer { seconds: Some(60) },
    );
    everyone_reads_now(&mut world, &log, &chats);
    let number = start_group_upload(&mut world, 0, ann, 100_000);
    let now = world.now;
    let c = &mut world.clients[0];
    let file = crate::file_message::tests::inline(100_000);
    let entry = c.core.send_file(now, &mut c.rng, ann, number, file);
    log.append(entry.unwrap().unwrap());
    everyone_reads_now(&mut world, &log, &chats);
    let offered = last(&world, 1, bob).number;
    world.clients[1]
        .core
        .start_download(now, bob, offered)
        .unwrap();
    assert!(!transfer_of(&world, 1, bob).item_gone);
    // The timer runs out: Ann's upload is left for its FDEL, Bob's shared
    // download for a clean-up without FACK.
    world.advance(std::time::Duration::from_secs(61));
    let at_ann = transfer_of(&world, 0, ann);
    assert!(at_ann.item_gone && matches!(at_ann.transfer, Transfer::Upload(_)));
    let at_bob = transfer_of(&world, 1, bob);
    assert!(at_bob.item_gone);
    let Transfer::Download(mut download) = at_bob.transfer else {
        panic!("not a download");
    };
    download.cancel();
    assert!(download.next_steps(u64::MAX).is_empty());
}

#[test]
fn a_file_whose_upload_ends_after_its_sender_was_removed_fails_as_cancelled() {
    let (mut world, mut log, chats) = group_of_three();
    let [ann, _, cy] = chats;
    let number = start_group_upload(&mut world, 2, cy, 100_000);
    let cy_id = member_id(&world, 0, ann, "Cy");
    let commit = world.clients[0]
        .core
        .remove_group_member(ann, &cy_id)
        .unwrap();
    log.append(commit);
    everyone_reads(&mut world, &log, &chats);
    let now = world.now;
    let c = &mut world.clients[2];
    let file = crate::file_message::tests::inline(100_000);
    let sent = c.core.send_file(now, &mut c.rng, cy, number, file).unwrap();
    assert!(sent.is_none());
    let file = last(&world, 2, cy).file.unwrap();
    assert_eq!((file.state, file.failure), ("failed", Some("cancelled")));
    assert!(world.clients[2].core.group_unsent(cy).unwrap().is_empty());
    // And a new one does not start.
    let upload = sotto_files::Upload::encrypting(
        sotto_files::FileKey::from_bytes([1; 32]),
        sotto_files::FileNonce::from_bytes([2; 19]),
        10,
        &[crate::file_message::tests::description(10).chunks[0]
            .relay
            .clone()],
        1,
    )
    .unwrap();
    let c = &mut world.clients[2];
    assert!(
        c.core
            .start_upload(now, cy, "late.txt", "text/plain", &upload)
            .is_err()
    );
}

#[test]
fn an_owner_deletes_the_group_for_everyone_and_no_one_else_may() {
    let (mut world, mut log, chats) = group_of_three();
    let [ann, bob, cy] = chats;
    let now = world.now;
    // A member may not delete the group; a deletion forged by a member is
    // not heard.
    let refused = world.clients[1].core.delete_group(now, bob);
    assert!(matches!(
        refused,
        Err(CoreError::Group(sotto_groups::Error::Forbidden { .. }))
    ));
    {
        let record = GroupRecord::load(world.clients[1].core.store(), bob).unwrap();
        let message = GroupChatMessage {
            sent_at: now.0,
            number: 1,
            mentions: Vec::new(),
            content: Content::GroupDeleted,
        };
        let mut group = record.group;
        let sealed = group.encrypt(&message.encode()).unwrap();
        log.append(entry_of(sealed.as_bytes()).unwrap());
    }
    let text = GroupSend::Text {
        text: "last climb of the year",
        reply_to: None,
        mentions: &[],
    };
    send(&mut world, &mut log, 0, ann, text);
    everyone_reads(&mut world, &log, &chats);
    assert!(!world.clients[0].core.group_deleted(ann).unwrap());

    // The owner deletes it: for each member once the entry is read.
    let entry = world.clients[0]
        .core
        .delete_group(now, ann)
        .unwrap()
        .unwrap();
    assert!(!world.clients[0].core.group_deleted(ann).unwrap());
    log.append(entry);
    for (client, chat) in chats.iter().enumerate() {
        let updates = log.catch_up(&mut world.clients[client], *chat);
        let by_me = client == 0;
        assert!(
            updates
                .iter()
                .any(|update| update.change == Some(GroupChange::Deleted { by_me })),
            "{client}: {updates:?}"
        );
        let core = &world.clients[client].core;
        assert!(core.group_deleted(*chat).unwrap());
        assert_eq!(
            last(&world, client, *chat).notice,
            Some(crate::view::NoticeView(
                crate::chat_item::ChatNotice::GroupDeleted { by_me }
            ))
        );
        let view = core.chat(*chat).unwrap();
        assert_eq!(view.state, crate::ConnectionState::Disconnected);
        assert!(!core.groups().unwrap()[0].active);
    }
    // Nobody writes to it any more; the owner's next call only deletes the
    // log again.
    let text = GroupSend::Text {
        text: "anyone?",
        reply_to: None,
        mentions: &[],
    };
    assert!(world.clients[2].core.group_send(now, cy, text).is_err());
    assert!(
        world.clients[0]
            .core
            .delete_group(now, ann)
            .unwrap()
            .is_none()
    );
    // The history stays.
    let history = world.clients[1].core.history(bob, None, 100).unwrap();
    assert!(
        history
            .iter()
            .any(|item| item.text.as_deref() == Some("last climb of the year"))
    );
}
