//! End to end with real processes: three `sotto` profiles on two relay
//! processes. Connections across relays (invitation and contact address),
//! every message type with its `--json` shape, and, after the conversation, no
//! plaintext anywhere on disk or in the relays' logs.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use serde_json::Value;

use common::{
    Listener, Profile, Relay, connect_by_invitation, find_plaintext, received_events,
    received_messages, settle_connection, wait_until,
};

/// The history item of `profile`'s chat with `contact` numbered `number`.
fn item(profile: &Profile, contact: &str, number: &Value) -> Value {
    profile
        .history(contact)
        .into_iter()
        .find(|item| &item["number"] == number)
        .unwrap_or_else(|| panic!("no message {number} with {contact}"))
}

/// Waits until `profile`'s message `number` to `contact` has `status`,
/// receiving what comes meanwhile.
fn wait_for_status(profile: &Profile, contact: &str, number: &Value, status: &str) {
    wait_until(&format!("message {number} {status}"), || {
        profile.run(&["receive"]);
        (item(profile, contact, number)["status"] == status).then_some(())
    });
}

#[test]
fn profiles_on_two_relays_connect_by_invitation_and_by_contact_address() {
    let mut relay_a = Relay::start();
    let relay_b = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay_a);
    let bob = Profile::init(root.path(), "Bob", &relay_b);
    let carol = Profile::init(root.path(), "Carol", &relay_b);

    // An invitation on relay A; Bob answers from his own relay B.
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    // Bob's receiving queue is on relay B: Alice reaches him with her own
    // relay down.
    relay_a.stop();
    let sent = alice.run(&["send", "Bob", "while relay A is down"]);
    assert_eq!(sent["status"], "sent", "{sent}");
    let received = bob.receive_until("the message through relay B", |outputs| {
        !received_messages(outputs).is_empty()
    });
    assert_eq!(
        received_messages(&received)[0]["text"],
        "while relay A is down"
    );
    // Bob's answer waits in his outbox until relay A is back.
    // The send fails with the reason (exit status 1), and the text is kept.
    let (ok, answer) = bob.try_run(&["send", "Alice", "and back"]);
    assert!(!ok && answer["error"]["kind"] == "relay", "{answer}");
    let kept = bob.history("Alice");
    assert_eq!(kept.last().unwrap()["status"], "pending", "{kept:?}");
    relay_a.start_again();
    bob.run(&["receive"]);
    let received = alice.receive_until("Bob's answer", |outputs| {
        !received_messages(outputs).is_empty()
    });
    assert_eq!(received_messages(&received)[0]["text"], "and back");

    // Carol's contact address on relay B: Alice (relay A) and Bob ask.
    let first = carol.run(&["address", "create"]);
    let first_link = first["link"].as_str().unwrap().to_owned();
    alice.run(&["connect", &first_link]);
    bob.run(&["connect", &first_link]);
    let requests = wait_until("two contact requests", || {
        carol.run(&["receive"]);
        let requests = carol.run(&["requests"])["requests"]
            .as_array()
            .unwrap()
            .clone();
        (requests.len() == 2).then_some(requests)
    });
    let id_of = |name: &str| {
        requests
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no request from {name}: {requests:?}"))["id"]
            .as_u64()
            .unwrap()
            .to_string()
    };
    let (from_alice, from_bob) = (id_of("Alice"), id_of("Bob"));
    assert!(requests.iter().all(|r| r["received_at"].is_u64()));

    // Rejecting Bob's leaves nothing of it.
    let rejected = carol.run(&["requests", "reject", &from_bob]);
    assert_eq!(rejected["rejected"], true);
    let remaining = carol.run(&["requests"]);
    assert_eq!(remaining["requests"].as_array().unwrap().len(), 1);
    assert_eq!(remaining["requests"][0]["name"], "Alice");
    let (ok, gone) = carol.try_run(&["requests", "accept", &from_bob]);
    assert!(!ok);
    assert_eq!(gone["error"]["kind"], "unknown_request");
    assert_eq!(carol.run(&["contacts"])["contacts"], serde_json::json!([]));

    // Accepting Alice's connects them across the two relays.
    let accepted = carol.run(&["requests", "accept", &from_alice]);
    assert!(accepted["contact"].is_u64());
    assert_eq!(carol.run(&["requests"])["requests"], serde_json::json!([]));
    settle_connection(&carol, "Carol", &alice, "Alice");
    alice.run(&["send", "Carol", "hello across relays"]);
    let received = carol.receive_until("Alice's text", |outputs| {
        !received_messages(outputs).is_empty()
    });
    assert_eq!(
        received_messages(&received)[0]["text"],
        "hello across relays"
    );
    let contacts = carol.run(&["contacts"]);
    let names: Vec<&Value> = contacts["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, ["Alice"], "{contacts}");

    // The address is replaced: the old link no longer reaches Carol.
    let second = carol.run(&["address", "create"]);
    let second_link = second["link"].as_str().unwrap().to_owned();
    assert_ne!(second_link, first_link);
    assert_eq!(
        carol.run(&["address", "show"])["link"],
        second_link.as_str()
    );
    // (The old queue is gone: the relay may refuse the connection at once.)
    let _ = bob.try_run(&["connect", &first_link]);
    bob.run(&["connect", &second_link]);
    wait_until("the request through the new address", || {
        carol.run(&["receive"]);
        let requests = carol.run(&["requests"])["requests"]
            .as_array()
            .unwrap()
            .clone();
        (!requests.is_empty()).then_some(requests)
    });
    // Carol's receive fetches every queue: only the new address delivered.
    carol.run(&["receive"]);
    let requests = carol.run(&["requests"])["requests"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0]["name"], "Bob");
    let request = requests[0]["id"].as_u64().unwrap().to_string();
    carol.run(&["requests", "accept", &request]);
    settle_connection(&carol, "Carol", &bob, "Bob");

    // The address is deleted: a link to it brings no request.
    assert_eq!(carol.run(&["address", "delete"])["deleted"], true);
    assert_eq!(carol.run(&["address", "show"])["link"], Value::Null);
    let _ = alice.try_run(&["connect", &second_link]);
    let received = carol.run(&["receive"]);
    assert!(
        !received_events(std::slice::from_ref(&received))
            .iter()
            .any(|e| e["type"] == "request_received"),
        "{received}"
    );
    assert_eq!(carol.run(&["requests"])["requests"], serde_json::json!([]));
}

#[test]
fn every_message_type_reaches_the_other_process() {
    let relay_a = Relay::start();
    let relay_b = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay_a);
    let bob = Profile::init(root.path(), "Bob", &relay_b);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");

    // Text, with its delivery receipt.
    let hello = alice.run(&["send", "Bob", "hello Bob"]);
    assert_eq!(hello["status"], "sent");
    let hello = hello["message"].clone();
    let received = bob.receive_until("the text", |o| !received_messages(o).is_empty());
    let at_bob = received_messages(&received)[0].clone();
    assert_eq!(at_bob["text"], "hello Bob");
    assert_eq!(at_bob["direction"], "incoming");
    assert_eq!(at_bob["edited"], false);
    assert!(at_bob["sent_at"].is_u64() && at_bob["at"].is_u64());
    wait_for_status(&alice, "Bob", &hello, "delivered");

    // Reply (a quote of Alice's text) and a reaction to it.
    let reply = bob.run(&["reply", "Alice", &at_bob["number"].to_string(), "hi Alice"]);
    let received = alice.receive_until("the reply", |o| !received_messages(o).is_empty());
    let reply_at_alice = received_messages(&received)[0].clone();
    assert_eq!(reply_at_alice["text"], "hi Alice");
    assert_eq!(reply_at_alice["reply_to"], hello);
    let reacted = alice.run(&["react", "Bob", &reply_at_alice["number"].to_string(), "🎉"]);
    assert_eq!(reacted["sent"], true);
    wait_until("the reaction", || {
        bob.run(&["receive"]);
        let reply = item(&bob, "Alice", &reply["message"]);
        (reply["reactions"] == serde_json::json!([{"emoji": "🎉", "mine": false}])).then_some(())
    });
    assert_eq!(
        item(&alice, "Bob", &reply_at_alice["number"])["reactions"],
        serde_json::json!([{"emoji": "🎉", "mine": true}])
    );

    // Edit, then delete for everyone.
    let edited = alice.run(&["edit", "Bob", &hello.to_string(), "hello Bob (edited)"]);
    assert_eq!(edited["sent"], true);
    let at_bob = wait_until("the edit", || {
        bob.run(&["receive"]);
        let item = item(&bob, "Alice", &at_bob["number"]);
        (item["edited"] == true).then_some(item)
    });
    assert_eq!(at_bob["text"], "hello Bob (edited)");
    let (ok, refused) = bob.try_run(&["edit", "Alice", &at_bob["number"].to_string(), "no"]);
    assert!(!ok, "editing someone else's message: {refused}");
    alice.run(&["delete", "Bob", &hello.to_string()]);
    let at_bob = wait_until("the deletion", || {
        bob.run(&["receive"]);
        let item = item(&bob, "Alice", &at_bob["number"]);
        (item["deleted"] == true).then_some(item)
    });
    assert!(
        !at_bob["text"]
            .as_str()
            .is_some_and(|t| t.contains("hello Bob")),
        "{at_bob}"
    );
    assert_eq!(item(&alice, "Bob", &hello)["deleted"], true);

    // Read receipts: on by default.
    let second = alice.run(&["send", "Bob", "second"])["message"].clone();
    bob.receive_until("the second text", |o| !received_messages(o).is_empty());
    assert!(bob.contact("Alice")["unread"].as_u64().unwrap() >= 1);
    bob.run(&["history", "Alice", "--mark-read"]);
    assert_eq!(bob.contact("Alice")["unread"], 0);
    wait_for_status(&alice, "Bob", &second, "read");
    // Off globally: Alice's next text stays delivered.
    assert_eq!(bob.run(&["receipts", "off"])["read_receipts"], "off");
    assert_eq!(bob.run(&["receipts"])["read_receipts"], "off");
    let third = alice.run(&["send", "Bob", "third"])["message"].clone();
    bob.receive_until("the third text", |o| !received_messages(o).is_empty());
    bob.run(&["history", "Alice", "--mark-read"]);
    wait_for_status(&alice, "Bob", &third, "delivered");
    // On for this chat, whatever the global setting.
    let chat = bob.run(&["receipts", "on", "--contact", "Alice"]);
    assert_eq!(chat["read_receipts"], "on");
    assert_eq!(bob.contact("Alice")["read_receipts"], "on");
    let fourth = alice.run(&["send", "Bob", "fourth"])["message"].clone();
    bob.receive_until("the fourth text", |o| !received_messages(o).is_empty());
    bob.run(&["history", "Alice", "--mark-read"]);
    wait_for_status(&alice, "Bob", &fourth, "read");
    // The third one (read while receipts were off) never became read.
    assert_eq!(item(&alice, "Bob", &third)["status"], "delivered");

    // Typing: off by default, so nothing goes; on, Alice sees it live.
    let listener = Listener::start(&alice);
    assert_eq!(bob.run(&["typing-indicators"])["typing_indicators"], "off");
    let typing = bob.run(&["typing", "Alice"]);
    assert_eq!(typing["sent"], false);
    bob.run(&["send", "Alice", "after typing while off"]);
    listener.wait_for("the text after typing while off", |e| {
        assert_ne!(e["type"], "typing", "typing sent while off: {e}");
        e["item"]["text"] == "after typing while off"
    });
    assert_eq!(
        bob.run(&["typing-indicators", "on"])["typing_indicators"],
        "on"
    );
    assert_eq!(bob.run(&["typing", "Alice"])["sent"], true);
    let event = listener.wait_for("typing", |e| e["type"] == "typing");
    assert_eq!(event["typing"], true);
    bob.run(&["typing", "Alice", "--stop"]);
    let event = listener.wait_for("typing stopped", |e| e["type"] == "typing");
    assert_eq!(event["typing"], false);

    // A profile update reaches the contact, end to end.
    let updated = bob.run(&["profile", "--name", "Robert", "--bio", "plays the oboe"]);
    assert_eq!(updated["name"], "Robert");
    listener.wait_for("the profile update", |e| {
        e["type"] == "chat_changed" && e["chat"]["name"] == "Robert"
    });
    listener.stop();
    let robert = alice.contact("Robert");
    assert_eq!(robert["bio"], "plays the oboe");
    assert_eq!(
        bob.run(&["profile"]),
        serde_json::json!({"name": "Robert", "bio": "plays the oboe"})
    );

    // The same security code on both sides; marking it verified.
    let at_alice = alice.run(&["verify", "Robert"]);
    let at_bob = bob.run(&["verify", "Alice"]);
    assert_eq!(at_alice["security_code"], at_bob["security_code"]);
    assert_eq!(at_alice["verified"], false);
    assert_eq!(alice.run(&["verify", "Robert", "--mark"])["verified"], true);
    assert_eq!(alice.contact("Robert")["verified"], true);

    // Bob loses his device and starts over with new keys: Alice connects his
    // contact again, and the chat says that the keys changed.
    let new_bob = Profile::new(root.path(), "bob-new-device");
    new_bob.run(&["init", "--name", "Bob", "--relay", &relay_b.address]);
    let invitation = new_bob.run(&["invite", "--no-qr"]);
    alice.run(&[
        "connect",
        invitation["link"].as_str().unwrap(),
        "--contact",
        "Robert",
    ]);
    wait_until("the new connection", || {
        new_bob.run(&["receive"]);
        alice.run(&["receive"]);
        let contact = alice.contact("Bob");
        (contact["state"] == "connected").then_some(())
    });
    let notices = alice.notices("Bob");
    assert!(
        notices.iter().any(|n| n["type"] == "keys_changed"),
        "{notices:?}"
    );
    assert_eq!(alice.contact("Bob")["verified"], false);
    let texts = alice.texts("Bob");
    assert!(texts.contains(&"hi Alice".to_owned()), "{texts:?}");
    assert_ne!(
        alice.run(&["verify", "Bob"])["security_code"],
        at_alice["security_code"]
    );
    alice.run(&["send", "Bob", "welcome back"]);
    let received = new_bob.receive_until("a text on the new connection", |o| {
        !received_messages(o).is_empty()
    });
    assert_eq!(received_messages(&received)[0]["text"], "welcome back");

    // Nothing of the conversation is in plaintext on disk (profiles and
    // relays) nor in the relays' logs.
    let plaintexts = [
        "hello Bob",
        "hi Alice",
        "second",
        "third",
        "fourth",
        "after typing while off",
        "welcome back",
        "Alice",
        "Robert",
        "plays the oboe",
        "🎉",
    ];
    let found = find_plaintext(
        &[root.path(), relay_a.data.path(), relay_b.data.path()],
        &plaintexts,
    );
    assert!(found.is_empty(), "plaintext on disk: {found:?}");
    // The relays log no client address (only their own, when they start).
    for relay in [&relay_a, &relay_b] {
        let log = String::from_utf8(relay.log()).unwrap();
        for line in log.lines().filter(|l| l.contains("127.0.0.1")) {
            assert!(
                line.contains("relay started"),
                "an address in the log: {line}"
            );
        }
    }
}

#[test]
fn a_used_one_time_link_is_refused_and_leaves_nothing_behind() {
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    let carol = Profile::init(root.path(), "Carol", &relay);
    let link = alice.run(&["invite", "--no-qr"])["link"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(link.len() < 300, "a short link: {link}");
    bob.run(&["connect", &link]);
    settle_connection(&alice, "Alice", &bob, "Bob");

    let (ok, refused) = carol.try_run(&["connect", &link]);
    assert!(!ok, "{refused}");
    assert_eq!(refused["error"]["kind"], "link_refused", "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("already used"), "{message}");
    assert_eq!(carol.run(&["contacts"])["contacts"], serde_json::json!([]));
}
