//! What a seized relay disk holds after one profile answered two invitations, one of
//! them a contact address: no identity key of anyone (docs/e2e-protocol.md, section 14).
//! The joiner's key, the one a relay could use to link its conversations and tie them to
//! its own published contact address, travels sealed in the answers.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;

use sotto_client::relay::{ConnectOptions, RelayConnection};
use sotto_core::{InvitationLink, Link};

use common::{Profile, Relay};

/// The length of an answer (docs/e2e-protocol.md, section 2).
const ANSWER_LEN: usize = 15_828;

/// The identity key a link introduces (the inviter's own, shared by the link): a short
/// link's is in its blob, fetched from the relay and opened as its user does.
fn identity_key(link: &str) -> [u8; 32] {
    let full = match Link::parse(link).unwrap() {
        Link::Full(full) => full,
        Link::Short(short) => {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            let blob = runtime.block_on(async {
                let (relay, _pushes) =
                    RelayConnection::connect(&short.relay, &ConnectOptions::default())
                        .await
                        .unwrap();
                relay.fetch_link(short.link_id).await.unwrap().unwrap()
            });
            short.open(&blob).unwrap()
        }
    };
    identity(&full)
}

fn identity(link: &InvitationLink) -> [u8; 32] {
    link.invitation.identity().to_bytes()
}

/// Every file under `dir`, with its path.
fn every_file_under(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(every_file_under(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            files.push((path, bytes));
        }
    }
    files
}

#[test]
fn a_relay_disk_holds_no_identity_key_after_two_answers_of_one_profile() {
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let [alice, bob, carol] = ["Alice", "Bob", "Carol"].map(|name| Profile::new(root.path(), name));
    for (profile, name) in [(&alice, "Alice"), (&bob, "Bob"), (&carol, "Carol")] {
        profile.run(&["init", "--name", name, "--relay", &relay.address]);
    }
    // Bob's published contact address carries his identity key: what a relay would
    // compare the keys in answers with.
    let bob_address = bob.run(&["address", "create"])["link"]
        .as_str()
        .unwrap()
        .to_owned();
    let invitation = alice.run(&["invite"])["link"].as_str().unwrap().to_owned();
    let carol_address = carol.run(&["address", "create"])["link"]
        .as_str()
        .unwrap()
        .to_owned();

    let keys = [&bob_address, &invitation, &carol_address].map(|link| identity_key(link));

    // Bob answers a one-time invitation and a contact address; both answers now wait
    // on the relay's disk.
    bob.run(&["connect", &invitation]);
    bob.run(&["connect", &carol_address]);
    let disk = every_file_under(relay.data.path());
    let stored: usize = disk.iter().map(|(_, bytes)| bytes.len()).sum();
    assert!(stored > 2 * ANSWER_LEN);
    for (whose, key) in ["Bob", "Alice", "Carol"].into_iter().zip(keys) {
        for (path, bytes) in &disk {
            let at = bytes.windows(key.len()).position(|window| window == key);
            assert!(
                at.is_none(),
                "{whose}'s identity key is in {path:?} at {at:?}"
            );
        }
    }

    // And the answers work: Alice is connected, Carol has Bob's request.
    let received = alice.run(&["receive"]);
    assert!(
        received["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["type"] == "contact_connected"),
        "{received}"
    );
    carol.run(&["receive"]);
    assert_eq!(carol.run(&["requests"])["requests"][0]["name"], "Bob");
}
