//! Groups through real cores, with the group log as a list of entries in the
//! test (the relay's order), and a member outside any core made with
//! `sotto-groups` directly.

use sotto_groups::{DisplayName, GroupEvent, PendingJoin};
use sotto_wire::GroupEntry;

use super::*;
use crate::group_entry::{entry_of, message_of};
use crate::group_record::tests::log;
use crate::sim::{Client, World};

/// The log: entries in the order the relay gave them sequence numbers (the
/// first has number 1).
#[derive(Default)]
pub(super) struct Log(pub(super) Vec<GroupEntry>);

/// One entry or the entries of one message, as the core hands them out.
pub(super) trait Entries {
    fn entries(self) -> Vec<GroupEntry>;
}

impl Entries for GroupEntry {
    fn entries(self) -> Vec<GroupEntry> {
        vec![self]
    }
}

impl Entries for Vec<GroupEntry> {
    fn entries(self) -> Vec<GroupEntry> {
        self
    }
}

impl Log {
    /// Appends an entry (or a message's entries, in order): the sequence
    /// number of the last.
    pub(super) fn append(&mut self, entries: impl Entries) -> u64 {
        self.0.extend(entries.entries());
        self.0.len() as u64
    }

    /// Hands every entry from the client's cursor on to its core.
    pub(super) fn catch_up(&self, client: &mut Client, chat: ChatId) -> Vec<GroupUpdate> {
        let from = client.core.group_cursor(chat).unwrap();
        let now = UnixMillis(1);
        (from..=self.0.len() as u64)
            .map(|seq| {
                client
                    .core
                    .handle_group_entry(now, &mut client.rng, chat, seq, &self.0[seq as usize - 1])
                    .unwrap()
            })
            .collect()
    }
}

/// A world whose clock is the real one: OpenMLS checks key package
/// lifetimes against the system clock.
pub(super) fn world(names: &[&str]) -> World {
    let mut world = World::new(names, &vec![0; names.len()]);
    world.now = UnixMillis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    world
}

/// The texts of a group's history that members sent, oldest first.
fn incoming(client: &Client, chat: ChatId) -> Vec<String> {
    client
        .core
        .history(chat, None, 100)
        .unwrap()
        .into_iter()
        .filter(|item| item.direction == crate::MessageDirection::Incoming)
        .filter_map(|item| item.text)
        .collect()
}

/// A plain text, as a member outside any core writes it (its `number`th
/// message to the group).
fn text_message(now: UnixMillis, number: u64, text: &str) -> crate::group_entry::GroupChatMessage {
    crate::group_entry::GroupChatMessage {
        sent_at: now.0,
        number,
        mentions: Vec::new(),
        content: Content::Text {
            reply_to: None,
            text: text.to_owned(),
        },
    }
}

#[test]
fn a_group_is_created_joined_written_and_left_by_removal() {
    let mut world = world(&["Ann"]);
    let now = world.now;
    let chat = world.clients[0]
        .core
        .create_group(now, "Climbing", log())
        .unwrap();
    let groups = world.clients[0].core.groups().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "Climbing");
    assert_eq!(groups[0].role, GroupRole::Owner);
    let members = world.clients[0].core.group_members(chat).unwrap();
    assert_eq!(members.len(), 1);
    assert!(members[0].me);
    assert_eq!(members[0].name, "Ann");

    // Bob, a member made with sotto-groups directly, joins by welcome.
    let (bob_join, key_package) =
        PendingJoin::new(&DisplayName::new("Bob").unwrap(), now.0 / 1000, 3600).unwrap();
    let mut log_entries = Log::default();
    let commit = world.clients[0]
        .core
        .add_group_member(chat, key_package.as_bytes())
        .unwrap();
    assert_eq!(
        world.clients[0].core.pending_group_commit(chat).unwrap(),
        commit.clone()
    );
    log_entries.append(commit);
    let updates = log_entries.catch_up(&mut world.clients[0], chat);
    let welcome = updates[0]
        .welcome
        .clone()
        .expect("the welcome, once confirmed");
    assert_eq!(
        world.clients[0].core.pending_group_commit(chat).unwrap(),
        Vec::new()
    );
    let mut bob = bob_join.join(&welcome).unwrap();
    assert_eq!(world.clients[0].core.group_members(chat).unwrap().len(), 2);

    // Ann writes; Bob reads it from the log; Bob writes back.
    log_entries.append(
        world.clients[0]
            .core
            .group_text(now, chat, "hello Bob")
            .unwrap(),
    );
    let GroupEvent::Message { plaintext, .. } =
        bob.process(message_of(&log_entries.0[1]).unwrap()).unwrap()
    else {
        panic!("a message")
    };
    assert_eq!(
        crate::group_entry::GroupChatMessage::decode(&plaintext)
            .unwrap()
            .content,
        text_message(now, 1, "hello Bob").content
    );
    let reply = text_message(now, 1, "hi Ann");
    log_entries.append(entry_of(bob.encrypt(&reply.encode()).unwrap().as_bytes()).unwrap());
    // The core restarts between entries: its cursor and state are stored.
    world.clients[0].restart();
    log_entries.catch_up(&mut world.clients[0], chat);
    // Its own text comes back first and takes the log's number; Bob's shows
    // once, under his name.
    let history = world.clients[0].core.history(chat, None, 10).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].seq, 2);
    assert_eq!(history[0].status, crate::MessageStatus::Sent);
    assert_eq!(history[1].text.as_deref(), Some("hi Ann"));
    assert_eq!(history[1].sender.as_ref().unwrap().name, "Bob");
    assert_eq!(history[1].seq, 3);
    assert_eq!(world.clients[0].core.group_cursor(chat).unwrap(), 4);
    // An entry handed in again changes nothing.
    let again = {
        let c = &mut world.clients[0];
        c.core
            .handle_group_entry(now, &mut c.rng, chat, 3, &log_entries.0[2])
    }
    .unwrap();
    assert!(again.change.is_none());

    // A damaged entry is skipped, and the group goes on.
    let junk = GroupEntry::new(vec![9; sotto_wire::GROUP_ENTRY_LEN]).unwrap();
    log_entries.append(junk);
    assert!(
        log_entries.catch_up(&mut world.clients[0], chat)[0]
            .change
            .is_none()
    );

    // Ann removes Bob; Bob sees he is out.
    let bob_id = world.clients[0]
        .core
        .group_members(chat)
        .unwrap()
        .into_iter()
        .find(|member| !member.me)
        .unwrap()
        .id;
    log_entries.append(
        world.clients[0]
            .core
            .remove_group_member(chat, &bob_id)
            .unwrap(),
    );
    let updates = log_entries.catch_up(&mut world.clients[0], chat);
    assert_eq!(
        updates[0].change,
        Some(GroupChange::Members {
            added: Vec::new(),
            removed: vec![bob_id],
            roles: Vec::new(),
        })
    );
    assert!(matches!(
        bob.process(message_of(log_entries.0.last().unwrap()).unwrap()),
        Ok(GroupEvent::Removed(_))
    ));
    assert_eq!(world.clients[0].core.group_members(chat).unwrap().len(), 1);
}

#[test]
fn a_lost_commit_is_made_again_on_the_winning_epoch() {
    let mut world = world(&["Ann"]);
    let now = world.now;
    let chat = world.clients[0]
        .core
        .create_group(now, "Race", log())
        .unwrap();
    let mut log_entries = Log::default();
    let (bob_join, bob_kp) =
        PendingJoin::new(&DisplayName::new("Bob").unwrap(), now.0 / 1000, 3600).unwrap();
    log_entries.append(
        world.clients[0]
            .core
            .add_group_member(chat, bob_kp.as_bytes())
            .unwrap(),
    );
    let welcome = log_entries.catch_up(&mut world.clients[0], chat)[0]
        .welcome
        .clone()
        .unwrap();
    let mut bob = bob_join.join(&welcome).unwrap();
    // Make Bob an admin so that his commit is allowed.
    let bob_id = bob.own_member_id();
    let promote = {
        let mut record = GroupRecord::load(world.clients[0].core.store(), chat).unwrap();
        let commit = record.group.set_role(bob_id, Role::Admin).unwrap();
        let mut batch = StagedBatch::new();
        record.put(&mut batch).unwrap();
        world.clients[0].core.parts().0.commit(batch).unwrap();
        entry_of(commit.as_bytes()).unwrap()
    };
    log_entries.append(promote.clone());
    log_entries.catch_up(&mut world.clients[0], chat);
    bob.process(message_of(&promote).unwrap()).unwrap();

    // Both add someone at once: Bob's commit reaches the log first.
    let (_, cy_kp) =
        PendingJoin::new(&DisplayName::new("Cy").unwrap(), now.0 / 1000, 3600).unwrap();
    let (_, di_kp) =
        PendingJoin::new(&DisplayName::new("Di").unwrap(), now.0 / 1000, 3600).unwrap();
    let ann_commit = world.clients[0]
        .core
        .add_group_member(chat, di_kp.as_bytes())
        .unwrap();
    let bob_commit = bob.add_members(&[cy_kp]).unwrap();
    log_entries.append(entry_of(bob_commit.as_bytes()).unwrap());
    log_entries.append(ann_commit);
    let updates = log_entries.catch_up(&mut world.clients[0], chat);
    // Ann's commit lost: made again, to append; her stale one is skipped.
    let again = updates[0].append.clone();
    assert!(!again.is_empty(), "the commit made again");
    assert!(updates[1].change.is_none());
    log_entries.append(again);
    let updates = log_entries.catch_up(&mut world.clients[0], chat);
    assert!(updates[0].welcome.is_some());
    let names: Vec<_> = world.clients[0]
        .core
        .group_members(chat)
        .unwrap()
        .into_iter()
        .map(|member| member.name)
        .collect();
    assert_eq!(names.len(), 4);
    assert!(names.contains(&"Cy".to_owned()) && names.contains(&"Di".to_owned()));
}

#[test]
fn a_contact_is_invited_over_the_pairwise_chat_and_joins() {
    let mut world = world(&["Ann", "Bob"]);
    let now = world.now;
    let (ann_bob, _) = world.connect(0, 1);
    let group = world.clients[0]
        .core
        .create_group(now, "Climbing", log())
        .unwrap();
    {
        let c = &mut world.clients[0];
        c.core
            .invite_to_group(now, &mut c.rng, group, ann_bob)
            .unwrap();
    }
    // The invitation, Bob's key package and Ann's commit.
    world.run();
    assert!(
        world.clients[0]
            .events
            .contains(&crate::Event::GroupCommitReady { group })
    );
    let mut log_entries = Log::default();
    let commit = world.clients[0].core.pending_group_commit(group).unwrap();
    assert!(!commit.is_empty(), "the add, committed");
    let seq = log_entries.append(commit);
    // Ann's commit comes back from the log: the welcome goes to Bob.
    let updates = log_entries.catch_up(&mut world.clients[0], group);
    assert!(updates[0].welcome.is_some());
    world.run();
    let bob_groups = world.clients[1].core.groups().unwrap();
    assert_eq!(bob_groups.len(), 1);
    assert_eq!(bob_groups[0].name, "Climbing");
    assert_eq!(bob_groups[0].role, GroupRole::Member);
    let bob_group = bob_groups[0].id;
    assert!(
        world.clients[1]
            .events
            .contains(&crate::Event::GroupJoined {
                group: bob_group,
                name: "Climbing".to_owned()
            })
    );
    // The group's chat reaches Bob's chat list as any chat does.
    assert!(world.clients[1].events.iter().any(|event| matches!(
        event,
        crate::Event::ChatChanged { chat } if chat.id == bob_group && chat.members == Some(2)
    )));
    // Bob reads from after the commit that added him, with the credentials
    // Ann handed over (and no admin credentials).
    assert_eq!(
        world.clients[1].core.group_cursor(bob_group).unwrap(),
        seq + 1
    );
    let bob_log = world.clients[1].core.group_log(bob_group).unwrap();
    assert!(bob_log.admin.is_none());
    assert_eq!(bob_log, crate::group_record::tests::log_without_admin());
    let names: Vec<_> = world.clients[1]
        .core
        .group_members(bob_group)
        .unwrap()
        .into_iter()
        .map(|member| (member.name, member.me))
        .collect();
    assert_eq!(names, [("Ann".to_owned(), false), ("Bob".to_owned(), true)]);

    // They write to each other through the log.
    log_entries.append(
        world.clients[0]
            .core
            .group_text(now, group, "welcome, Bob")
            .unwrap(),
    );
    log_entries.append(
        world.clients[1]
            .core
            .group_text(now, bob_group, "thanks!")
            .unwrap(),
    );
    log_entries.catch_up(&mut world.clients[1], bob_group);
    assert_eq!(incoming(&world.clients[1], bob_group), ["welcome, Bob"]);
    log_entries.catch_up(&mut world.clients[0], group);
    assert_eq!(incoming(&world.clients[0], group), ["thanks!"]);
    // Each history holds both texts in the order this device saw them (ours
    // when sent), each with its number in the log.
    for (client, chat) in [(0, group), (1, bob_group)] {
        let history = world.clients[client].core.history(chat, None, 10).unwrap();
        let lines: Vec<_> = history
            .iter()
            .map(|item| {
                (
                    item.direction == crate::MessageDirection::Outgoing,
                    item.sender.as_ref().map_or("", |s| s.name.as_str()),
                    item.text.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        let expected = if client == 0 {
            [(true, "", "welcome, Bob"), (false, "Bob", "thanks!")]
        } else {
            [(true, "", "thanks!"), (false, "Ann", "welcome, Bob")]
        };
        assert_eq!(lines, expected);
        let mut seqs = [history[0].seq, history[1].seq];
        seqs.sort_unstable();
        assert_eq!(seqs[0] + 1, seqs[1]);
    }
}

#[test]
fn a_removal_or_a_leave_gives_the_log_new_secrets_the_gone_member_lacks() {
    let mut world = world(&["Ann"]);
    let now = world.now;
    let group = world.clients[0]
        .core
        .create_group(now, "Rekey", log())
        .unwrap();
    let mut log_entries = Log::default();
    let mut members = Vec::new();
    for name in ["Bob", "Cy"] {
        let (join, key_package) =
            PendingJoin::new(&DisplayName::new(name).unwrap(), now.0 / 1000, 3600).unwrap();
        let commit = world.clients[0]
            .core
            .add_group_member(group, key_package.as_bytes())
            .unwrap();
        log_entries.append(commit);
        let welcome = log_entries.catch_up(&mut world.clients[0], group)[0]
            .welcome
            .clone()
            .unwrap();
        members.push(join.join(&welcome).unwrap());
    }
    // Bob catches up with Cy's add.
    members[0]
        .process(message_of(&log_entries.0[1]).unwrap())
        .unwrap();
    let before = world.clients[0].core.group_log(group).unwrap();

    // Cy leaves: Ann commits the proposal as she reads it, then the log's
    // secrets are the new epoch's.
    let proposal = entry_of(members[1].leave().unwrap().as_bytes()).unwrap();
    log_entries.append(proposal);
    let commit = log_entries.catch_up(&mut world.clients[0], group)[0]
        .append
        .clone();
    assert!(!commit.is_empty(), "Ann commits the leave");
    log_entries.append(commit);
    let updates = log_entries.catch_up(&mut world.clients[0], group);
    assert!(updates[0].rekeyed);
    let after = world.clients[0].core.group_log(group).unwrap();
    assert_ne!(after, before);
    assert_eq!(after.write.0.as_bytes(), before.write.0.as_bytes());
    // Bob derives the same secrets; Cy, out, cannot.
    for entry in &log_entries.0[2..] {
        members[0].process(message_of(entry).unwrap()).unwrap();
    }
    assert_eq!(
        *members[0].export_secret(READ_SECRET_LABEL).unwrap(),
        *after.read.1.as_bytes()
    );
    assert!(matches!(
        members[1].process(message_of(log_entries.0.last().unwrap()).unwrap()),
        Ok(GroupEvent::Removed(_))
    ));
    assert_eq!(world.clients[0].core.group_members(group).unwrap().len(), 2);

    // Ann herself can leave only once another owner exists.
    assert!(world.clients[0].core.leave_group(group).is_err());
}

#[test]
fn a_member_exported_and_imported_mid_group_carries_on() {
    use crate::{Argon2Params, ExportRandomness, Passphrase, export_archive, import_archive};

    let mut world = world(&["Ann"]);
    let now = world.now;
    let group = world.clients[0]
        .core
        .create_group(now, "Moving", log())
        .unwrap();
    let mut log_entries = Log::default();
    let (join, key_package) =
        PendingJoin::new(&DisplayName::new("Bob").unwrap(), now.0 / 1000, 3600).unwrap();
    log_entries.append(
        world.clients[0]
            .core
            .add_group_member(group, key_package.as_bytes())
            .unwrap(),
    );
    let welcome = log_entries.catch_up(&mut world.clients[0], group)[0]
        .welcome
        .clone()
        .unwrap();
    let mut bob = join.join(&welcome).unwrap();

    // Ann's profile moves to another device through an export archive.
    let fast = Argon2Params {
        memory_kib: 64,
        iterations: 1,
        lanes: 1,
    };
    let randomness = ExportRandomness {
        salt: [1; 16],
        nonce_prefix: [2; 16],
    };
    let passphrase = || Passphrase::new("correct horse battery staple");
    let (archive, _) = export_archive(
        world.clients[0].core.store(),
        &passphrase(),
        fast,
        randomness,
    )
    .unwrap();
    let mut moved = crate::MemoryStore::new();
    import_archive(&archive, passphrase(), &mut moved).unwrap();
    world.clients[0].core = Core::open(moved).unwrap();

    // The moved profile reads on from its cursor and writes in the group.
    let reply = text_message(now, 1, "still there?");
    log_entries.append(entry_of(bob.encrypt(&reply.encode()).unwrap().as_bytes()).unwrap());
    log_entries.catch_up(&mut world.clients[0], group);
    assert!(incoming(&world.clients[0], group).ends_with(&["still there?".to_owned()]));
    let answer = world.clients[0].core.group_text(now, group, "yes").unwrap();
    assert!(matches!(
        bob.process(message_of(&answer).unwrap()),
        Ok(GroupEvent::Message { .. })
    ));
}

#[test]
fn a_contact_cannot_make_a_profile_keep_pseudonyms_without_bound() {
    let mut world = world(&["Ann", "Bob"]);
    let now = world.now;
    let (ann_bob, bob_ann) = world.connect(0, 1);
    let group = world.clients[0]
        .core
        .create_group(now, "Spam", log())
        .unwrap();
    for _ in 0..20 {
        let c = &mut world.clients[0];
        c.core
            .invite_to_group(now, &mut c.rng, group, ann_bob)
            .unwrap();
        world.run();
    }
    let kept = crate::group_invite::JoinRecord::count_of(world.clients[1].core.store(), bob_ann);
    assert_eq!(kept.unwrap(), 16);
}

#[test]
fn a_plain_members_commit_is_refused_and_a_promoted_admin_adds() {
    let mut world = world(&["Ann"]);
    let now = world.now;
    let chat = world.clients[0]
        .core
        .create_group(now, "Roles", log())
        .unwrap();
    let mut log_entries = Log::default();
    let (bob_join, bob_kp) =
        PendingJoin::new(&DisplayName::new("Bob").unwrap(), now.0 / 1000, 3600).unwrap();
    log_entries.append(
        world.clients[0]
            .core
            .add_group_member(chat, bob_kp.as_bytes())
            .unwrap(),
    );
    let welcome = log_entries.catch_up(&mut world.clients[0], chat)[0]
        .welcome
        .clone()
        .unwrap();
    let mut bob = bob_join.join(&welcome).unwrap();
    let bob_id = hex(bob.own_member_id().as_bytes());
    let ann_id = world.clients[0].core.group_members(chat).unwrap()[0]
        .id
        .clone();

    // Bob, a plain member, may neither promote himself nor remove Ann: his
    // own client makes no such commit, and one made without the check is
    // refused by Ann's.
    assert!(matches!(
        bob.set_role(bob.own_member_id(), Role::Admin),
        Err(sotto_groups::Error::Forbidden { .. })
    ));
    let forged = bob
        .dangerous_commit_without_policy(sotto_groups::CommitIntent::Remove(vec![
            parse_member_id(&ann_id).unwrap(),
        ]))
        .unwrap();
    bob.discard_commit().unwrap();
    log_entries.append(entry_of(forged.as_bytes()).unwrap());
    let updates = log_entries.catch_up(&mut world.clients[0], chat);
    assert!(updates[0].change.is_none());
    assert_eq!(world.clients[0].core.group_members(chat).unwrap().len(), 2);

    // Ann makes Bob an admin; every member sees the role change.
    let promote = world.clients[0]
        .core
        .set_group_role(chat, &bob_id, GroupRole::Admin)
        .unwrap();
    log_entries.append(promote.clone());
    let updates = log_entries.catch_up(&mut world.clients[0], chat);
    assert_eq!(
        updates[0].change,
        Some(GroupChange::Members {
            added: Vec::new(),
            removed: Vec::new(),
            roles: vec![GroupRoleChange {
                id: bob_id.clone(),
                role: GroupRole::Admin,
            }],
        })
    );
    bob.process(message_of(&promote[0]).unwrap()).unwrap();
    assert_eq!(bob.role(&bob.own_member_id()).unwrap(), Role::Admin);

    // Now Bob's addition is in effect for Ann too.
    let (_, cy_kp) =
        PendingJoin::new(&DisplayName::new("Cy").unwrap(), now.0 / 1000, 3600).unwrap();
    let add = bob.add_members(&[cy_kp]).unwrap();
    log_entries.append(entry_of(add.as_bytes()).unwrap());
    log_entries.catch_up(&mut world.clients[0], chat);
    let members = world.clients[0].core.group_members(chat).unwrap();
    assert_eq!(members.len(), 3);
    assert!(
        members
            .iter()
            .any(|m| m.id == bob_id && m.role == GroupRole::Admin)
    );
}

#[test]
fn who_can_add_me_nobody_holds_every_invitation_for_the_user() {
    let mut world = world(&["Ann", "Bob"]);
    let now = world.now;
    let (ann_bob, bob_ann) = world.connect(0, 1);
    let mut settings = world.clients[1].core.settings();
    settings.group_adds = crate::GroupAdds::Nobody;
    world.clients[1].core.set_settings(settings).unwrap();
    let mut groups = Vec::new();
    for name in ["Climbing", "Chess"] {
        let group = world.clients[0]
            .core
            .create_group(now, name, log())
            .unwrap();
        let c = &mut world.clients[0];
        c.core
            .invite_to_group(now, &mut c.rng, group, ann_bob)
            .unwrap();
        groups.push(group);
    }
    world.run();
    // Nothing answered: both invitations wait for Bob.
    for group in &groups {
        assert!(
            world.clients[0]
                .core
                .pending_group_commit(*group)
                .unwrap()
                .is_empty()
        );
    }
    let held = world.clients[1].core.group_invitations().unwrap();
    let names: Vec<_> = held.iter().map(|h| (h.name.as_str(), h.contact)).collect();
    assert_eq!(names, [("Climbing", bob_ann), ("Chess", bob_ann)]);
    assert!(
        world.clients[1]
            .events
            .contains(&crate::Event::GroupInvitation {
                invitation: held[0].id,
                contact: bob_ann,
                name: "Climbing".to_owned(),
            })
    );

    // Bob declines the first (nothing is sent) and accepts the second.
    world.clients[1]
        .core
        .decline_group_invitation(held[0].id)
        .unwrap();
    {
        let c = &mut world.clients[1];
        c.core
            .accept_group_invitation(now, &mut c.rng, held[1].id)
            .unwrap();
        assert!(matches!(
            c.core.accept_group_invitation(now, &mut c.rng, held[1].id),
            Err(CoreError::UnknownInvitation)
        ));
    }
    assert!(
        world.clients[1]
            .core
            .group_invitations()
            .unwrap()
            .is_empty()
    );
    world.run();
    assert!(
        world.clients[0]
            .core
            .pending_group_commit(groups[0])
            .unwrap()
            .is_empty()
    );
    let commit = world.clients[0]
        .core
        .pending_group_commit(groups[1])
        .unwrap();
    assert!(!commit.is_empty(), "the add, committed");
    let mut log_entries = Log::default();
    log_entries.append(commit);
    log_entries.catch_up(&mut world.clients[0], groups[1]);
    world.run();
    let bob_groups = world.clients[1].core.groups().unwrap();
    assert_eq!(bob_groups.len(), 1);
    assert_eq!(bob_groups[0].name, "Chess");
}

#[test]
fn a_contact_cannot_fill_the_profile_with_held_invitations() {
    let mut world = world(&["Ann", "Bob"]);
    let now = world.now;
    let (ann_bob, _) = world.connect(0, 1);
    let mut settings = world.clients[1].core.settings();
    settings.group_adds = crate::GroupAdds::Nobody;
    world.clients[1].core.set_settings(settings).unwrap();
    let group = world.clients[0]
        .core
        .create_group(now, "Spam", log())
        .unwrap();
    for _ in 0..20 {
        let c = &mut world.clients[0];
        c.core
            .invite_to_group(now, &mut c.rng, group, ann_bob)
            .unwrap();
    }
    world.run();
    assert_eq!(world.clients[1].core.group_invitations().unwrap().len(), 16);
    // Deleting the contact deletes its invitations.
    let bob_ann = world.clients[1].core.group_invitations().unwrap()[0].contact;
    world.clients[1].core.delete_contact(now, bob_ann).unwrap();
    assert!(
        world.clients[1]
            .core
            .group_invitations()
            .unwrap()
            .is_empty()
    );
}

/// Ann's core and Bob (made with sotto-groups directly) in a group.
fn ann_and_bob(world: &mut World) -> (ChatId, sotto_groups::Group, Log) {
    let now = world.now;
    let chat = world.clients[0]
        .core
        .create_group(now, "Climbing", log())
        .unwrap();
    let (bob_join, key_package) =
        PendingJoin::new(&DisplayName::new("Bob").unwrap(), now.0 / 1000, 3600).unwrap();
    let mut entries = Log::default();
    entries.append(
        world.clients[0]
            .core
            .add_group_member(chat, key_package.as_bytes())
            .unwrap(),
    );
    let welcome = entries.catch_up(&mut world.clients[0], chat)[0]
        .welcome
        .clone()
        .unwrap();
    (chat, bob_join.join(&welcome).unwrap(), entries)
}

/// What Ann's history shows, oldest first: texts, and notices by type
/// (with the member they are about).
fn shown(client: &Client, chat: ChatId) -> Vec<String> {
    client
        .core
        .history(chat, None, 100)
        .unwrap()
        .into_iter()
        .filter_map(|item| match (item.text, item.notice) {
            (Some(text), _) => Some(text),
            (None, Some(notice)) => {
                let about = item
                    .sender
                    .map(|s| format!(" ({})", s.name))
                    .unwrap_or_default();
                Some(format!("{}{about}", serde_json::to_value(notice).unwrap()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_hostile_log_shows_drops_reorders_replays_and_injections_and_nothing_twice() {
    let mut world = world(&["Ann"]);
    let now = world.now;
    let (chat, mut bob, mut entries) = ann_and_bob(&mut world);
    let sealed: Vec<GroupEntry> = (1..=5)
        .map(|n| {
            let text = text_message(now, n, &format!("text {n}"));
            entry_of(bob.encrypt(&text.encode()).unwrap().as_bytes()).unwrap()
        })
        .collect();
    // The relay drops Bob's second text, stores his fifth before his
    // fourth, repeats his third, and makes up an entry of its own.
    for index in [0, 2, 4, 3, 2] {
        entries.append(sealed[index].clone());
    }
    entries.append(GroupEntry::new(vec![1; sotto_wire::GROUP_ENTRY_LEN]).unwrap());
    entries.catch_up(&mut world.clients[0], chat);
    assert_eq!(
        shown(&world.clients[0], chat),
        [
            "text 1",
            r#"{"first":2,"last":2,"type":"skipped"} (Bob)"#,
            "text 3",
            r#"{"first":4,"last":4,"type":"skipped"} (Bob)"#,
            "text 5",
            r#"{"seq":4,"type":"out_of_order"} (Bob)"#,
            "text 4",
            r#"{"type":"replayed"}"#,
            r#"{"type":"unreadable"}"#,
        ]
    );
}

/// Ann's commit adding Carl, which Bob (but no one else yet) processed.
fn carl_added(world: &mut World, chat: ChatId, bob: &mut sotto_groups::Group) -> Vec<GroupEntry> {
    let (_carl, key_package) =
        PendingJoin::new(&DisplayName::new("Carl").unwrap(), world.now.0 / 1000, 3600).unwrap();
    let commit = world.clients[0]
        .core
        .add_group_member(chat, key_package.as_bytes())
        .unwrap();
    bob.process(message_of(&commit[0]).unwrap()).unwrap();
    commit
}

#[test]
fn a_message_before_the_commit_it_follows_waits_for_it() {
    let mut world = world(&["Ann"]);
    let now = world.now;
    let (chat, mut bob, mut entries) = ann_and_bob(&mut world);
    // Ann adds Carl; Bob, on the new epoch, writes. The relay puts Bob's
    // text before the commit it follows.
    let commit = carl_added(&mut world, chat, &mut bob);
    let text = text_message(now, 1, "after the commit");
    entries.append(entry_of(bob.encrypt(&text.encode()).unwrap().as_bytes()).unwrap());
    entries.append(commit);
    entries.catch_up(&mut world.clients[0], chat);
    assert_eq!(shown(&world.clients[0], chat), ["after the commit"]);
    assert_eq!(world.clients[0].core.group_members(chat).unwrap().len(), 3);
    // Held entries went with it: a restart reads nothing twice.
    world.clients[0].restart();
    entries.catch_up(&mut world.clients[0], chat);
    assert_eq!(shown(&world.clients[0], chat), ["after the commit"]);
}

#[test]
fn messages_whose_commit_never_comes_wait_within_a_bound_then_show_a_missing_change() {
    let mut world = world(&["Ann"]);
    let now = world.now;
    let (chat, mut bob, mut entries) = ann_and_bob(&mut world);
    carl_added(&mut world, chat, &mut bob);
    // The relay drops the commit: Bob's texts on the new epoch cannot be read.
    let count = integrity::MAX_HELD as u64 + 2;
    for n in 1..=count {
        let text = text_message(now, n, &format!("text {n}"));
        entries.append(entry_of(bob.encrypt(&text.encode()).unwrap().as_bytes()).unwrap());
    }
    entries.catch_up(&mut world.clients[0], chat);
    assert_eq!(
        shown(&world.clients[0], chat),
        [r#"{"type":"missing_change"}"#]
    );
    assert_eq!(
        integrity::held(world.clients[0].core.store(), chat)
            .unwrap()
            .len(),
        integrity::MAX_HELD
    );
}

#[test]
fn a_commit_longer_than_an_entry_travels_in_pieces_and_takes_its_place_at_the_last() {
    let mut world = world(&["Ann"]);
    let now = world.now;
    let (chat, mut bob, mut entries) = ann_and_bob(&mut world);
    // Enough members that a removal's path (encrypted to every member
    // below each blank node) outgrows one entry.
    for n in 0..70 {
        let (_join, key_package) = PendingJoin::new(
            &DisplayName::new(&format!("M{n}")).unwrap(),
            now.0 / 1000,
            3600,
        )
        .unwrap();
        let commit = world.clients[0]
            .core
            .add_group_member(chat, key_package.as_bytes())
            .unwrap();
        assert_eq!(commit.len(), 1, "an add has no path");
        bob.process(message_of(&commit[0]).unwrap()).unwrap();
        entries.append(commit);
        entries.catch_up(&mut world.clients[0], chat);
    }
    let m0 = world.clients[0]
        .core
        .group_members(chat)
        .unwrap()
        .into_iter()
        .find(|member| member.name == "M0")
        .unwrap();
    let removal = world.clients[0]
        .core
        .remove_group_member(chat, &m0.id)
        .unwrap();
    assert!(removal.len() > 1, "{} entries", removal.len());
    // Bob writes between the pieces, on the epoch before the removal.
    let text = text_message(now, 1, "between the pieces");
    let between = entry_of(bob.encrypt(&text.encode()).unwrap().as_bytes()).unwrap();
    let (first, rest) = removal.split_first().unwrap();
    entries.append(first.clone());
    entries.append(between);
    // A piece appended twice (its writer appending the commit again) is one.
    entries.append(first.clone());
    let last = entries.append(rest.to_vec());
    entries.catch_up(&mut world.clients[0], chat);
    assert_eq!(world.clients[0].core.group_members(chat).unwrap().len(), 71);
    assert!(
        world.clients[0]
            .core
            .pending_group_commit(chat)
            .unwrap()
            .is_empty()
    );
    assert_eq!(world.clients[0].core.group_cursor(chat).unwrap(), last + 1);
    assert_eq!(shown(&world.clients[0], chat), ["between the pieces"]);
    // Nothing of the pieces is left behind.
    for table in [pieces::GROUP_PIECES, pieces::GROUP_ASSEMBLING] {
        let left = world.clients[0]
            .core
            .store()
            .range(
                table,
                &crate::KeyRange::all(),
                crate::Direction::Forward,
                10,
            )
            .unwrap();
        assert!(left.is_empty());
    }
}

#[test]
fn the_group_profile_is_set_by_an_owner_and_read_by_members() {
    let mut world = world(&["Ann"]);
    let (chat, mut bob, mut entries) = ann_and_bob(&mut world);
    assert_eq!(bob.profile().unwrap().unwrap().name(), "Climbing");
    let commit = world.clients[0]
        .core
        .set_group_profile(chat, "Climbing club", "Saturdays, 9:00", vec![1, 2, 3])
        .unwrap();
    bob.process(message_of(&commit[0]).unwrap()).unwrap();
    entries.append(commit);
    let updates = entries.catch_up(&mut world.clients[0], chat);
    assert_eq!(
        updates.last().unwrap().change,
        Some(GroupChange::Profile {
            name: "Climbing club".to_owned(),
            description: "Saturdays, 9:00".to_owned(),
        })
    );
    let group = world.clients[0].core.groups().unwrap().remove(0);
    assert_eq!(group.name, "Climbing club");
    assert_eq!(group.description, "Saturdays, 9:00");
    assert_eq!(group.picture.as_deref(), Some("AQID"));
    assert_eq!(
        world.clients[0].core.chat(chat).unwrap().name.as_deref(),
        Some("Climbing club")
    );
    assert_eq!(
        bob.profile().unwrap().unwrap().description(),
        "Saturdays, 9:00"
    );
    assert!(matches!(
        world.clients[0]
            .core
            .set_group_profile(chat, " ", "", Vec::new()),
        Err(CoreError::InvalidValue(_))
    ));
}

#[test]
fn a_member_changes_its_name_and_picture_in_one_group() {
    let mut world = world(&["Ann"]);
    let (chat, mut bob, mut entries) = ann_and_bob(&mut world);
    let ann = &mut world.clients[0];
    let commit = ann
        .core
        .set_group_self(chat, Some("Annie"), Some(vec![1, 2, 3]))
        .unwrap();
    assert!(matches!(
        bob.process(message_of(&commit[0]).unwrap()).unwrap(),
        sotto_groups::GroupEvent::CommitApplied(_)
    ));
    entries.append(commit);
    let updates = entries.catch_up(ann, chat);
    let own_id = ann.core.group_members(chat).unwrap()[0].id.clone();
    assert_eq!(
        updates.last().unwrap().change,
        Some(GroupChange::MemberProfile {
            id: own_id,
            name: "Annie".to_owned(),
            picture: true,
        })
    );
    let shown = bob.members().unwrap();
    assert_eq!(shown[0].name.as_str(), "Annie");
    assert_eq!(shown[0].picture, [1, 2, 3]);

    // Bob changes his; Ann's core shows it. Only the name: the picture stays.
    let bob_id = bob.own_member_id();
    let profile = MemberProfile::new(DisplayName::new("Robert").unwrap(), vec![9; 64]).unwrap();
    entries.append(entry_of(bob.set_member_profile(&profile).unwrap().as_bytes()).unwrap());
    entries.catch_up(ann, chat);
    let members = ann.core.group_members(chat).unwrap();
    assert_eq!(members[1].id, hex(bob_id.as_bytes()));
    assert_eq!(members[1].name, "Robert");
    assert_eq!(members[1].picture, base64_picture(&[9; 64]));
    assert!(members[1].picture.is_some());
    let commit = ann.core.set_group_self(chat, Some("Ann"), None).unwrap();
    entries.append(commit);
    entries.catch_up(ann, chat);
    let members = ann.core.group_members(chat).unwrap();
    assert_eq!(members[0].name, "Ann");
    assert_eq!(members[0].picture.as_deref(), Some("AQID"));
    // And removes the picture.
    entries.append(
        ann.core
            .set_group_self(chat, None, Some(Vec::new()))
            .unwrap(),
    );
    entries.catch_up(ann, chat);
    assert_eq!(ann.core.group_members(chat).unwrap()[0].picture, None);

    // Nothing to change, a blank name or a picture too large are refused.
    assert!(ann.core.set_group_self(chat, Some("Ann"), None).is_err());
    assert!(matches!(
        ann.core.set_group_self(chat, Some(" "), None),
        Err(CoreError::InvalidValue(_))
    ));
    let too_large = vec![0; sotto_groups::MAX_MEMBER_PICTURE_LEN + 1];
    assert!(matches!(
        ann.core.set_group_self(chat, None, Some(too_large)),
        Err(CoreError::Group(sotto_groups::Error::TooLong { .. }))
    ));
    assert!(ann.core.pending_group_commit(chat).unwrap().is_empty());
}
