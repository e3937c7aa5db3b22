//! `sotto chat` as a person uses it: the real binary in a terminal (tmux),
//! against a real relay, with a second profile driven through commands. The
//! test reads the screen and types keys.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Profile, Relay, SOTTO, connect_by_invitation, wait_until};

/// A terminal of 250×100 (room for an invitation's QR code) in a tmux server
/// of its own, running one command.
struct Terminal {
    socket: PathBuf,
}

impl Terminal {
    fn start(dir: &Path, command: &str) -> Terminal {
        let terminal = Terminal {
            socket: dir.join("tmux.sock"),
        };
        // The shell stays after the command so that its exit status can be read.
        let shell = format!("{command}; echo \"exited with $?\"; sleep 600");
        terminal.tmux(&[
            "new-session",
            "-d",
            "-s",
            "chat",
            "-x",
            "250",
            "-y",
            "100",
            &shell,
        ]);
        terminal
    }

    fn tmux(&self, args: &[&str]) -> Output {
        let output = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux is needed for this test (apt-get install tmux; `cargo xtask test` installs it)");
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn screen(&self) -> String {
        let output = self.tmux(&["capture-pane", "-p", "-t", "chat"]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until the screen shows every one of `texts`; returns the screen
    /// once two captures in a row agree (not one caught mid-redraw).
    fn wait_for(&self, texts: &[&str]) -> String {
        let mut last = String::new();
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_until(&format!("the screen to show {texts:?}"), || {
                let previous = std::mem::replace(&mut last, self.screen());
                (previous == last && texts.iter().all(|t| last.contains(t))).then(|| last.clone())
            })
        }));
        found.unwrap_or_else(|_| panic!("the screen never showed {texts:?}:\n{last}"))
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "chat", "-l", text]);
    }

    /// Presses keys by tmux's names (`Enter`, `Tab`, `Up`, `C-n`, …).
    fn press(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "chat"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// Quotes a path for the shell.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn the_terminal_ui_chats_answers_contact_requests_and_invites_over_a_real_relay() {
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    bob.run(&["send", "Alice", "before the chat"]);
    bob.run(&["typing-indicators", "on"]);
    let address = alice.run(&["address", "create"])["link"]
        .as_str()
        .unwrap()
        .to_owned();

    let terminal = Terminal::start(
        root.path(),
        &format!(
            "SOTTO_PASSPHRASE={} {} --profile {} chat --lock-after 0",
            alice.passphrase.replace(' ', "\\ "),
            quoted(Path::new(SOTTO)),
            quoted(&alice.dir),
        ),
    );
    let screen = terminal.wait_for(&["Chats", "Bob", "Bob: before the chat", "Enter send"]);
    assert!(screen.contains("Ctrl-N invite"), "{screen}");

    // The contact types, then sends: both show while the UI runs.
    bob.run(&["typing", "Alice"]);
    terminal.wait_for(&["Bob is typing…"]);
    bob.run(&["send", "Alice", "are you there?"]);
    let screen = terminal.wait_for(&["Bob: are you there?"]);
    assert!(!screen.contains("Bob is typing…"), "{screen}");

    // Alice answers from the UI; Bob receives it, and its receipts come back.
    terminal.type_text("yes, in the terminal");
    terminal.press(&["Enter"]);
    terminal.wait_for(&["you: yes, in the terminal"]);
    bob.receive_until("the answer", |outputs| {
        common::received_messages(outputs)
            .iter()
            .any(|m| m["text"] == "yes, in the terminal")
    });
    bob.run(&["history", "Alice", "--mark-read"]);
    terminal.wait_for(&["you: yes, in the terminal  ✓✓ read"]);

    // A reply and a reaction to Bob's question, chosen with Tab and Up.
    terminal.press(&["Tab", "Up", "r"]);
    terminal.wait_for(&["Reply to"]);
    terminal.type_text("always");
    terminal.press(&["Enter"]);
    terminal.wait_for(&["↪ Bob: are you there?", "you: always"]);
    terminal.press(&["Tab", "Up", "Up", "+"]);
    terminal.wait_for(&["Reaction to"]);
    terminal.press(&["Enter"]);
    terminal.wait_for(&["Bob: are you there?  👍 you"]);
    bob.receive_until("the reply and the reaction", |_| {
        let history = bob.history("Alice");
        let question = history.iter().find(|m| m["text"] == "are you there?");
        let reply = history.iter().find(|m| m["text"] == "always");
        match (question, reply) {
            (Some(question), Some(reply)) => {
                reply["reply_to"] == question["number"]
                    && question["reactions"]
                        .as_array()
                        .is_some_and(|r| !r.is_empty())
            }
            _ => false,
        }
    });

    // Edit, then delete for everyone, Alice's newest message.
    terminal.press(&["Tab", "e"]);
    terminal.wait_for(&["Edit 5 (Esc cancels)"]);
    terminal.type_text(" and forever");
    terminal.press(&["Enter"]);
    terminal.wait_for(&["you: always and forever (edited)"]);
    bob.receive_until("the edit", |_| {
        bob.history("Alice")
            .iter()
            .any(|m| m["text"] == "always and forever" && m["edited"] == true)
    });
    terminal.press(&["Tab", "d"]);
    terminal.wait_for(&["Delete message 5 for everyone? y/n"]);
    terminal.press(&["y"]);
    terminal.wait_for(&["you: message deleted", "Message 5 deleted for everyone."]);
    bob.receive_until("the deletion", |_| {
        let history = bob.history("Alice");
        history
            .iter()
            .any(|m| m["direction"] == "incoming" && m["deleted"] == true)
            && history.iter().all(|m| m["text"] != "always and forever")
    });

    // The chat's disappearing timer, set from the UI: Bob applies it too.
    terminal.press(&["C-d"]);
    terminal.wait_for(&["Disappearing messages in this chat", "Enter set it"]);
    terminal.press(&["Right", "Right", "Enter"]);
    terminal.wait_for(&[
        "Bob · ⏱ disappearing after 5 min",
        "Messages in this chat now disappear after 5 min.",
    ]);
    bob.receive_until("the timer", |_| bob.contact("Alice")["timer_secs"] == 300);

    // The security code, the same on both sides, marked verified.
    let code = bob.run(&["verify", "Alice"])["security_code"]
        .as_str()
        .unwrap()
        .to_owned();
    terminal.press(&["C-k"]);
    terminal.wait_for(&[
        "Security code with Bob",
        &code[..17],
        &code[18..],
        "not verified",
        "█",
        "v mark as verified",
    ]);
    terminal.press(&["v"]);
    terminal.wait_for(&["✓ verified", "Marked as verified."]);
    terminal.press(&["Escape"]);
    terminal.wait_for(&["Bob · verified · ⏱ disappearing after 5 min"]);

    // Typing indicators: off by default, Ctrl-T turns them on.
    terminal.press(&["C-t"]);
    terminal.wait_for(&["Typing indicators on", "Ctrl-T typing: on"]);
    terminal.type_text("h");
    let typing = |on: bool| {
        move |outputs: &[serde_json::Value]| {
            common::received_events(outputs)
                .iter()
                .any(|e| e["type"] == "typing" && e["typing"] == on)
        }
    };
    bob.receive_until("Alice typing", typing(true));
    terminal.press(&["BSpace"]);
    bob.receive_until("Alice no longer typing", typing(false));

    // Contact requests through the contact address: one accepted, one rejected.
    let carol = Profile::init(root.path(), "Carol", &relay);
    let dave = Profile::init(root.path(), "Dave", &relay);
    carol.run(&["connect", &address]);
    terminal.wait_for(&["Chats · 1 request", "Ctrl-R requests (1)"]);
    dave.run(&["connect", &address]);
    terminal.wait_for(&["Chats · 2 requests"]);
    terminal.press(&["C-r"]);
    let screen = terminal.wait_for(&["Contact requests (2)", "Carol", "Dave"]);
    assert!(screen.find("Carol") < screen.find("Dave"), "{screen}");
    terminal.press(&["a"]);
    let screen = terminal.wait_for(&["Contact requests (1)", "Dave"]);
    let listed = |name: &str| {
        screen
            .lines()
            .any(|l| l.starts_with('│') && l.contains(name))
    };
    assert!(!listed("Carol"), "{screen}");
    terminal.press(&["x"]);
    terminal.wait_for(&["No contact requests."]);
    terminal.press(&["Escape"]);
    wait_until("Carol connected to Alice", || {
        carol.run(&["receive"]);
        let contacts = carol.run(&["contacts"]);
        (contacts["contacts"][0]["name"] == "Alice"
            && contacts["contacts"][0]["state"] == "connected")
            .then_some(())
    });
    carol.run(&["send", "Alice", "thanks for accepting"]);
    let screen = terminal.wait_for(&["Carol (1)"]);
    assert!(!screen.contains("Dave"), "{screen}");
    // Carol's chat is the most recently active: first in the list.
    terminal.press(&["Up"]);
    terminal.wait_for(&["Carol: thanks for accepting"]);

    // The contact address screen shows the address.
    terminal.press(&["C-a"]);
    terminal.wait_for(&["Contact address", &address[..40], "c create (or replace)"]);
    terminal.press(&["Escape"]);

    // The invitation screen: a new one-time link with its QR code.
    terminal.press(&["C-n"]);
    let screen = terminal.wait_for(&["One-time invitation", "/invite#", "█"]);
    assert!(screen.contains("n new invitation · Esc back"), "{screen}");
    assert!(!screen.contains("The QR code needs"), "{screen}");
    let code = |screen: &str| -> Vec<String> {
        screen
            .lines()
            .filter(|l| l.contains('█'))
            .map(str::to_owned)
            .collect()
    };
    let first = code(&screen);
    terminal.press(&["Escape"]);
    terminal.wait_for(&["Enter send"]);
    // Unanswered, the same invitation shows again; `n` makes a new one.
    terminal.press(&["C-n"]);
    let again = terminal.wait_for(&["One-time invitation", "█"]);
    assert_eq!(code(&again), first);
    terminal.press(&["n"]);
    wait_until("a new invitation's code", || {
        let shown = code(&terminal.screen());
        (!shown.is_empty() && shown != first).then_some(())
    });
    terminal.press(&["Escape"]);
    terminal.wait_for(&["Enter send"]);

    terminal.press(&["C-c"]);
    terminal.wait_for(&["exited with 0"]);
}

#[test]
fn the_screen_locks_without_keys_and_unlocks_with_the_passphrase() {
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    let terminal = Terminal::start(
        root.path(),
        &format!(
            "SOTTO_PASSPHRASE={} {} --profile {} chat --lock-after 1",
            alice.passphrase.replace(' ', "\\ "),
            quoted(Path::new(SOTTO)),
            quoted(&alice.dir),
        ),
    );
    let screen = terminal.wait_for(&["Locked. Type the passphrase"]);
    assert!(!screen.contains("Bob"), "{screen}");
    // Messages keep arriving while locked, unseen.
    bob.run(&["send", "Alice", "while you were away"]);
    terminal.type_text("wrong horse");
    terminal.press(&["Enter"]);
    terminal.type_text(&alice.passphrase);
    terminal.press(&["Enter"]);
    let screen = terminal.wait_for(&["Bob: while you were away"]);
    // The wrong passphrase did not unlock (or the right one would now be in
    // the compose line), and neither was shown.
    assert!(!screen.contains(&alice.passphrase), "{screen}");
    assert!(!screen.contains("wrong horse"), "{screen}");
    let screen = terminal.wait_for(&["Locked. Type the passphrase"]);
    assert!(!screen.contains("while you were away"), "{screen}");
    terminal.press(&["Escape"]);
    terminal.wait_for(&["exited with 0"]);
}

#[test]
fn a_file_of_the_open_chat_is_saved_with_slash_save() {
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    let originals = tempfile::tempdir().unwrap();
    let report = originals.path().join("report.pdf");
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&report, &content).unwrap();
    bob.run(&["send-file", "Alice", report.to_str().unwrap()]);

    // Files are saved into the directory the UI runs in.
    let saved = tempfile::tempdir().unwrap();
    let terminal = Terminal::start(
        root.path(),
        &format!(
            "cd {} && SOTTO_PASSPHRASE={} {} --profile {} chat --lock-after 0",
            quoted(saved.path()),
            alice.passphrase.replace(' ', "\\ "),
            quoted(Path::new(SOTTO)),
            quoted(&alice.dir),
        ),
    );
    terminal.wait_for(&["Chats", "Bob", "report.pdf"]);
    terminal.type_text("/save");
    terminal.press(&["Enter"]);
    let screen = terminal.wait_for(&["Saved report.pdf as"]);
    assert!(screen.contains("report.pdf"), "{screen}");
    assert_eq!(
        std::fs::read(saved.path().join("report.pdf")).unwrap(),
        content
    );

    // A number that is no file of the chat says so.
    terminal.type_text("/save 1");
    terminal.press(&["Enter"]);
    terminal.wait_for(&["not saved: message 1 is not a file"]);
}

#[test]
fn a_groups_profile_and_members_show_and_its_owner_edits_it_with_slash_commands() {
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    alice.run(&[
        "group",
        "create",
        "Climbing",
        "--description",
        "Saturdays at the wall",
    ]);
    alice.run(&["group", "invite", "Climbing", "Bob"]);
    wait_until("Bob in the group", || {
        for profile in [&bob, &alice, &bob] {
            profile.run(&["receive"]);
        }
        bob.try_run(&["group", "info", "Climbing"]).0.then_some(())
    });

    let terminal = Terminal::start(
        root.path(),
        &format!(
            "SOTTO_PASSPHRASE={} {} --profile {} chat --lock-after 0",
            alice.passphrase.replace(' ', "\\ "),
            quoted(Path::new(SOTTO)),
            quoted(&alice.dir),
        ),
    );
    terminal.wait_for(&["Chats", "Bob", "Climbing"]);
    // The group's header and description, whichever chat opens first (the
    // list's order follows activity, which the group's log may change).
    let mut up = false;
    wait_until("the group's chat open", || {
        if terminal.screen().contains("Climbing · group of 2") {
            return Some(());
        }
        up = !up;
        terminal.press(&[if up { "Up" } else { "Down" }]);
        std::thread::sleep(std::time::Duration::from_millis(300));
        None
    });
    terminal.wait_for(&["Climbing · group of 2", "Saturdays at the wall"]);

    terminal.type_text("/members");
    terminal.press(&["Enter"]);
    terminal.wait_for(&[
        "Members (2)",
        "Alice (you) · owner",
        "Bob · member",
        "You are an owner of this group.",
        "This is you.",
    ]);
    terminal.press(&["Down"]);
    let screen = terminal.wait_for(&["Security code with Bob in this group"]);
    // Thirty digits in groups of five, on two lines, beside a QR code.
    assert!(
        screen.lines().any(|line| {
            let groups: Vec<&str> = line.split_whitespace().collect();
            groups.windows(3).any(|w| {
                w.iter()
                    .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit()))
            })
        }),
        "{screen}"
    );
    assert!(screen.contains('█'), "{screen}");
    terminal.press(&["Escape"]);
    // Back in the chat before typing (an Escape followed at once by a key
    // reads as Alt and that key).
    terminal.wait_for(&["Enter send", "Climbing · group of 2"]);

    terminal.type_text("/name Climbing club");
    terminal.press(&["Enter"]);
    terminal.wait_for(&[
        "The group is now Climbing club.",
        "Climbing club · group of 2",
    ]);
    let picture = root.path().join("wall.png");
    std::fs::write(&picture, [0x89, b'P', b'N', b'G', 1, 2, 3]).unwrap();
    terminal.type_text(&format!("/picture {}", picture.display()));
    terminal.press(&["Enter"]);
    terminal.wait_for(&["The group's picture is"]);
    // A file larger than a group's picture may be is refused before it is sent.
    let large = root.path().join("large.png");
    std::fs::write(&large, vec![0; 8193]).unwrap();
    terminal.type_text(&format!("/picture {}", large.display()));
    terminal.press(&["Enter"]);
    terminal.wait_for(&["Refused:", "at most 8192 bytes"]);

    // Commands of other processes go through the live UI, and what they
    // change shows.
    let info = alice.run(&["group", "info", "Climbing club"]);
    assert_eq!(info["description"], "Saturdays at the wall", "{info}");
    assert!(info["picture"].is_string(), "{info}");
    alice.run(&[
        "group",
        "edit",
        "Climbing club",
        "--description",
        "Sundays too",
    ]);
    terminal.wait_for(&["Sundays too"]);

    // A request to join through the group's link waits on the members
    // screen, where it is approved.
    let made = alice.run(&["group", "link", "Climbing club", "--approval", "admin"]);
    let link = made["link"].as_str().unwrap().to_owned();
    let carol = Profile::init(root.path(), "Carol", &relay);
    carol.run(&["group", "join", &link, "--name", "Carol"]);
    terminal.wait_for(&["Carol asks to join Climbing club"]);
    terminal.type_text("/members");
    terminal.press(&["Enter"]);
    terminal.wait_for(&[
        "Requests to join (1)",
        "Carol · waiting",
        "Tab requests to join (1)",
    ]);
    terminal.press(&["Tab"]);
    terminal.wait_for(&["a/Enter approve"]);
    terminal.press(&["a"]);
    terminal.wait_for(&["Approved: they join"]);
    wait_until("Carol in the group", || {
        carol.run(&["receive"]);
        carol
            .try_run(&["group", "info", "Climbing club"])
            .0
            .then_some(())
    });
    terminal.wait_for(&[
        "Members (3)",
        "Carol · member",
        "Climbing club · group of 3",
    ]);
    terminal.press(&["Escape"]);
    terminal.wait_for(&["Enter send"]);
    // The member reads the new profile from the log.
    wait_until("Bob sees the new name", || {
        bob.run(&["receive"]);
        bob.try_run(&["group", "info", "Climbing club"])
            .0
            .then_some(())
    });
    terminal.press(&["C-c"]);
    terminal.wait_for(&["exited with 0"]);
}
