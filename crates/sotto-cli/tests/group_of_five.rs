//! End to end with real processes: five `sotto` profiles on two relays in one
//! group, the way a group lives: made, joined by invitation and by its link
//! (with an admin's approval), chatting, an admin named,
//! two admins changing the group at the same time (every member ends with
//! the same members), a member moved to another device by export and import
//! halfway, one member removed (who reads nothing written after and cannot
//! write), one leaving. Afterwards nothing of the group — its name, its
//! members' names, its texts — is in plain text on any relay's disk or in its
//! log, or in any profile's files.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::{Path, PathBuf};

use common::{Profile, Relay, connect_by_invitation, wait_until};
use serde_json::Value;

const GROUP: &str = "Granite Ledge Crew";
const DESCRIPTION: &str = "Granite Saturdays from seven";
const NEW_DESCRIPTION: &str = "Granite Sundays from eight";
const ALICE: &str = "Alice Quennell";
const BOB: &str = "Bob Marrowby";
const CAROL: &str = "Carol Estwick";
const DAVE: &str = "Dave Lindqvar";
const ERIN: &str = "Erin Solwaye";

/// The names of the group's members as `profile` sees them, sorted; empty
/// when it is not (or no longer) a member.
fn members(profile: &Profile) -> Vec<String> {
    let (ok, listed) = profile.try_run(&["group", "members", GROUP]);
    if !ok {
        return Vec::new();
    }
    let mut names: Vec<String> = listed["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The texts of the group's history on `profile`, oldest first.
fn texts(profile: &Profile) -> Vec<String> {
    profile
        .history(GROUP)
        .iter()
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect()
}

/// Runs `receive` on every profile until `done` holds.
fn settle(what: &str, profiles: &[&Profile], done: impl Fn() -> bool) {
    wait_until(what, || {
        for profile in profiles {
            profile.run(&["receive"]);
        }
        done().then_some(())
    });
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
    names.sort();
    names
}

/// Every file under `dir`, with its path.
fn every_file_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(every_file_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            files.push((path, bytes));
        }
    }
    files
}

#[test]
fn five_profiles_on_two_relays_live_in_one_group_and_leave_no_plain_text() {
    let relays = [Relay::start(), Relay::start()];
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), ALICE, &relays[0]);
    let bob = Profile::init(root.path(), BOB, &relays[1]);
    let carol = Profile::init(root.path(), CAROL, &relays[0]);
    let dave = Profile::init(root.path(), DAVE, &relays[1]);
    let erin = Profile::init(root.path(), ERIN, &relays[0]);
    for (profile, name) in [(&bob, BOB), (&carol, CAROL), (&dave, DAVE)] {
        connect_by_invitation(&alice, ALICE, profile, name);
    }
    connect_by_invitation(&bob, BOB, &erin, ERIN);

    // Alice makes the group (on her relay) and invites Bob; Carol asks to
    // join through the group's link, and Alice approves.
    alice.run(&["group", "create", GROUP, "--description", DESCRIPTION]);
    alice.run(&["group", "invite", GROUP, BOB]);
    let link = alice.run(&["group", "link", GROUP])["link"]
        .as_str()
        .unwrap()
        .to_owned();
    let asked = carol.run(&["group", "join", &link, "--name", CAROL]);
    assert_eq!(asked["pending"], true, "{asked}");
    let request = wait_until("Carol's request", || {
        alice.run(&["receive"]);
        let listed = alice.run(&["group", "requests", GROUP]);
        listed["requests"]
            .as_array()
            .and_then(|requests| requests.first())
            .map(|request| request["id"].as_u64().unwrap().to_string())
    });
    alice.run(&["group", "approve", GROUP, &request]);
    let three = sorted(&[ALICE, BOB, CAROL]);
    settle(
        "Bob and Carol in the group",
        &[&bob, &carol, &alice],
        || [&alice, &bob, &carol].iter().all(|p| members(p) == three),
    );

    // They chat.
    alice.run(&["send", GROUP, "granite text from the founder"]);
    bob.run(&["send", GROUP, "granite text from the second"]);
    carol.run(&[
        "send",
        GROUP,
        "granite text with a mention",
        "--mention",
        ALICE,
    ]);
    settle("three texts everywhere", &[&alice, &bob, &carol], || {
        [&alice, &bob, &carol].iter().all(|p| texts(p).len() == 3)
    });
    let mention = alice
        .history(GROUP)
        .into_iter()
        .find(|m| m["text"] == "granite text with a mention")
        .unwrap();
    assert_eq!(mention["mentions_me"], true, "{mention}");

    // Alice names Bob an admin; then both add someone at the same time:
    // each commit is made on the same epoch, the log takes one first and the
    // other is made again on top of it.
    alice.run(&["group", "promote", GROUP, BOB, "admin"]);
    settle("Bob an admin", &[&bob], || {
        bob.run(&["group", "members", GROUP])["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == BOB && m["role"] == "admin")
    });
    // The new admin changes the group's description and picture; a plain
    // member may not.
    let picture = root.path().join("picture.webp");
    std::fs::write(&picture, [0x52, 0x49, 0x46, 0x46, 1, 2, 3, 4]).unwrap();
    bob.run(&[
        "group",
        "edit",
        GROUP,
        "--description",
        NEW_DESCRIPTION,
        "--picture",
        picture.to_str().unwrap(),
    ]);
    settle("the new description everywhere", &[&alice, &carol], || {
        [&alice, &carol].iter().all(|p| {
            let info = p.run(&["group", "info", GROUP]);
            info["description"] == NEW_DESCRIPTION && info["picture"] == "UklGRgECAwQ="
        })
    });
    let (ok, refused) = carol.try_run(&["group", "edit", GROUP, "--description", "mine"]);
    assert!(!ok, "{refused}");
    assert_eq!(refused["error"]["kind"], "forbidden", "{refused}");

    alice.run(&["group", "invite", GROUP, DAVE]);
    bob.run(&["group", "invite", GROUP, ERIN]);
    // Dave and Erin answer with their key packages...
    dave.run(&["receive"]);
    erin.run(&["receive"]);
    // ... which Alice and Bob read, and commit, at once.
    std::thread::scope(|scope| {
        let adding = [&alice, &bob].map(|admin| scope.spawn(move || admin.run(&["receive"])));
        for admin in adding {
            admin.join().unwrap();
        }
    });
    let five = sorted(&[ALICE, BOB, CAROL, DAVE, ERIN]);
    let everyone = [&alice, &bob, &carol, &dave, &erin];
    settle("five members everywhere", &everyone, || {
        everyone.iter().all(|p| members(p) == five)
    });
    erin.run(&["send", GROUP, "granite text from the newest"]);
    settle("Erin's text everywhere", &everyone, || {
        everyone
            .iter()
            .all(|p| texts(p).contains(&"granite text from the newest".to_owned()))
    });

    // Carol moves to another device halfway: export, import, go on.
    let archive = root.path().join("carol.sotto");
    carol.run(&["export", archive.to_str().unwrap()]);
    let moved = Profile::new(root.path(), "carol-moved");
    moved.run(&["import", archive.to_str().unwrap()]);
    alice.run(&["send", GROUP, "granite text after the move"]);
    moved.run(&["send", GROUP, "granite text from the new device"]);
    let everyone = [&alice, &bob, &moved, &dave, &erin];
    settle("the moved member reads and writes", &everyone, || {
        texts(&moved).contains(&"granite text after the move".to_owned())
            && texts(&alice).contains(&"granite text from the new device".to_owned())
    });

    // Dave is removed: he reads nothing written after, and cannot write.
    alice.run(&["group", "remove", GROUP, DAVE]);
    let four = sorted(&[ALICE, BOB, CAROL, ERIN]);
    let staying = [&alice, &bob, &moved, &erin];
    settle("Dave removed", &everyone, || {
        staying.iter().all(|p| members(p) == four)
    });
    bob.run(&["send", GROUP, "granite text Dave never reads"]);
    settle("Bob's text after the removal", &everyone, || {
        staying
            .iter()
            .all(|p| texts(p).contains(&"granite text Dave never reads".to_owned()))
    });
    assert!(!texts(&dave).contains(&"granite text Dave never reads".to_owned()));
    let (wrote, answer) = dave.try_run(&["send", GROUP, "granite text of a removed member"]);
    assert!(!wrote, "{answer}");
    for profile in staying {
        profile.run(&["receive"]);
        assert!(!texts(profile).contains(&"granite text of a removed member".to_owned()));
    }

    // Erin leaves; an admin commits her leaving.
    erin.run(&["group", "leave", GROUP]);
    let three = sorted(&[ALICE, BOB, CAROL]);
    let staying = [&alice, &bob, &moved];
    settle("Erin gone", &[&alice, &bob, &moved, &erin], || {
        staying.iter().all(|p| members(p) == three)
    });

    // Only an owner deletes the group for everyone. Alice does: her log is
    // deleted at once, so the others, reading after, find it gone; nobody
    // writes to it any more, and the history stays.
    let (ok, refused) = bob.try_run(&["group", "delete", GROUP]);
    assert!(!ok, "{refused}");
    assert_eq!(refused["error"]["kind"], "forbidden", "{refused}");
    let deleted = alice.run(&["group", "delete", GROUP]);
    assert_eq!(deleted["log_deleted"], true, "{deleted}");
    let notice = |profile: &Profile| -> Option<Value> {
        profile
            .history(GROUP)
            .into_iter()
            .rev()
            .find_map(|item| item.get("notice").filter(|n| !n.is_null()).cloned())
    };
    assert_eq!(
        notice(&alice).unwrap(),
        serde_json::json!({ "type": "group_deleted", "by_me": true })
    );
    for profile in [&bob, &moved] {
        profile.run(&["receive"]);
        assert_eq!(notice(profile).unwrap()["type"], "group_log_gone");
        let (wrote, answer) = profile.try_run(&["send", GROUP, "granite text after the end"]);
        assert!(!wrote, "{answer}");
        assert!(texts(profile).contains(&"granite text Dave never reads".to_owned()));
    }
    // Deleting again only deletes the (gone) log again.
    let again = alice.run(&["group", "delete", GROUP]);
    assert_eq!(again["log_deleted"], true, "{again}");

    // Nothing of the group in plain text anywhere: relays' disks and logs,
    // profiles, the export.
    let mut secrets: Vec<String> = vec![
        GROUP.to_owned(),
        DESCRIPTION.to_owned(),
        NEW_DESCRIPTION.to_owned(),
    ];
    secrets.extend([ALICE, BOB, CAROL, DAVE, ERIN].map(str::to_owned));
    secrets.extend(texts(&alice));
    assert!(secrets.len() > 10, "{secrets:?}");
    let mut files = every_file_under(root.path());
    for relay in &relays {
        files.extend(every_file_under(relay.data.path()));
    }
    let scanned: usize = files.iter().map(|(_, bytes)| bytes.len()).sum();
    assert!(scanned > 1_000_000, "scanned only {scanned} bytes");
    for secret in &secrets {
        for (path, bytes) in &files {
            let at = bytes
                .windows(secret.len())
                .position(|window| window == secret.as_bytes());
            assert!(at.is_none(), "{secret:?} is in {path:?} at {at:?}");
        }
    }
}
