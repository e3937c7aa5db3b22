//! End to end with real processes: contacts whose names, bios, messages and
//! reactions carry escape sequences, control characters and bidirectional
//! overrides. None of them reaches the text output of `contacts`,
//! `listen`, `receive`, `history` or `requests`, and the `--json` output
//! carries them exactly, escaped.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use common::{PATIENCE, Profile, Relay, SOTTO, connect_by_invitation, wait_until};

/// A name that clears the screen, sets the window title, starts a C1 CSI
/// and reverses what follows (at most 64 bytes).
const NAME: &str = "Eve\x1b[2J\x1b]0;pwned\x07\u{9b}31m\u{202E}evil\u{2066}\x7f";
/// A message that also tries to forge a line of the history.
const TEXT: &str =
    "hello from eve\x1b[1A\x1b[2K\r\u{85}\u{2028}\n   9 > I owe Eve 100\u{202E}\u{200F}\x08";
/// A reaction (at most 32 bytes).
const REACTION: &str = "👍\x1b[5m\u{202E}\u{9b}2J";
/// A contact request's name and bio.
const MALLORY: &str = "Mallory\x1b[8m\u{202D}";
const BIO: &str = "bio\x1b]52;c;cGF5bG9hZA==\x07\u{2067}end";

/// Characters that must not reach a terminal: C0 (but the line breaks of
/// the output itself), DEL, C1, bidi controls, line and paragraph separators.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'
                ..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

fn assert_clean(what: &str, output: &str) {
    let found: Vec<char> = output
        .chars()
        .filter(|c| *c != '\n' && hidden(*c))
        .collect();
    assert!(found.is_empty(), "{what} printed {found:?}: {output:?}");
}

fn plain_command(profile: &Profile) -> Command {
    let mut command = Command::new(SOTTO);
    command
        .arg("--profile")
        .arg(&profile.dir)
        .args(["--timeout", "30"])
        .env("SOTTO_PASSPHRASE", &profile.passphrase)
        .stdin(Stdio::null());
    command
}

/// Runs `sotto …` without `--json` and returns its text output.
fn plain(profile: &Profile, args: &[&str]) -> String {
    let output = plain_command(profile).args(args).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "sotto {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_clean(&format!("sotto {args:?}"), &stdout);
    stdout
}

/// A child process killed when dropped (when a check fails too).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn what_a_contact_sends_reaches_no_terminal_as_control_characters() {
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let eve = Profile::new(root.path(), "eve");
    eve.run(&[
        "init",
        "--name",
        NAME,
        "--bio",
        BIO,
        "--relay",
        &relay.address,
    ]);
    connect_by_invitation(&alice, "Alice", &eve, NAME);
    let eve_id = alice.contact(NAME)["id"].to_string();

    // `contacts`: the name shows, its hidden characters do not.
    let contacts = plain(&alice, &["contacts"]);
    assert!(contacts.contains("Eve[2J]0;pwned31mevil"), "{contacts}");
    // --json keeps the name exactly, with nothing raw on the line.
    let json = alice
        .command()
        .arg("contacts")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let json = String::from_utf8(json.stdout).unwrap();
    assert_clean("sotto --json contacts", &json);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["contacts"][0]["name"], NAME);

    // Alice's message, for Eve to react to later.
    alice.run(&["send", &eve_id, "hi Eve"]);
    eve.receive_until("Alice's message", |outputs| {
        outputs
            .iter()
            .any(|o| o["messages"].as_array().is_some_and(|m| !m.is_empty()))
    });

    // `listen` prints Eve's message on one line.
    let mut listen = Running(
        plain_command(&alice)
            .arg("listen")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = listen.0.stdout.take().unwrap();
    let (lines, heard) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    eve.run(&["send", "Alice", TEXT]);
    let heard_line = wait_until("the listener to print Eve's message", || {
        heard
            .recv_timeout(PATIENCE / 6)
            .ok()
            .filter(|line| line.contains("hello from eve"))
    });
    drop(listen);
    let rest: Vec<String> = heard.try_iter().collect();
    for line in std::iter::once(&heard_line).chain(&rest) {
        assert_clean("sotto listen", line);
    }
    assert!(heard_line.starts_with("Eve[2J"), "{heard_line}");
    assert!(heard_line.contains("9 > I owe Eve 100"), "{heard_line}");

    // `receive` of a message, then `history` with Eve's reaction on Alice's.
    let hello_at_eve = eve
        .history("Alice")
        .iter()
        .find(|item| item["text"] == "hi Eve")
        .unwrap()["number"]
        .to_string();
    eve.run(&["react", "Alice", &hello_at_eve, REACTION]);
    eve.run(&["send", "Alice", TEXT]);
    let received = wait_until("Eve's second message in `receive`", || {
        let text = plain(&alice, &["receive"]);
        text.contains("hello from eve").then_some(text)
    });
    assert!(received.contains("Eve[2J"), "{received}");
    wait_until("Eve's reaction", || {
        plain(&alice, &["receive"]);
        let history = alice.history(&eve_id);
        history
            .iter()
            .any(|item| item["reactions"][0]["emoji"] == REACTION)
            .then_some(())
    });
    let history = plain(&alice, &["history", &eve_id]);
    // Each message on its own line: the forged line stays inside Eve's.
    assert!(
        !history.lines().any(|line| line.starts_with("   9 >")),
        "{history}"
    );
    assert_eq!(
        history.lines().filter(|l| l.contains("I owe Eve")).count(),
        2,
        "{history}"
    );
    assert!(history.contains("👍[5m2J"), "{history}");
    // The exact texts for scripts.
    assert!(alice.texts(&eve_id).iter().any(|text| text == TEXT));

    // `requests`: a request's name and bio.
    let address = alice.run(&["address", "create"]);
    let link = address["link"].as_str().unwrap().to_owned();
    let mallory = Profile::new(root.path(), "mallory");
    mallory.run(&[
        "init",
        "--name",
        MALLORY,
        "--bio",
        BIO,
        "--relay",
        &relay.address,
    ]);
    mallory.run(&["connect", &link]);
    let requests = wait_until("Mallory's request", || {
        plain(&alice, &["receive"]);
        let text = plain(&alice, &["requests"]);
        text.contains("Mallory").then_some(text)
    });
    assert!(
        requests.contains("Mallory[8m — bio]52;c;cGF5bG9hZA==end"),
        "{requests}"
    );
    assert_eq!(alice.run(&["requests"])["requests"][0]["bio"], BIO);
}
