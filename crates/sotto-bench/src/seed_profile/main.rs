//! `sotto-seed-profile`: builds a realistic profile for the web client's
//! benchmark and writes it as an export archive (the file `sotto import` and
//! the web client's import read).
//!
//! One profile ("Bench") and one profile per contact are real `sotto-core`
//! cores over `MemoryStore`s. They connect by one-time invitations and
//! exchange text messages (some replies, some reactions) through a relay held
//! in memory (`relay`), with delivery and read receipts, on a clock that moves
//! a few minutes per message, so that the chats span weeks. The first chat
//! holds `--big-chat` messages, every other chat `--per-chat`. Then "Bench"
//! reads every chat but the last few, and its store is exported under
//! `--passphrase` with the default Argon2id parameters.
//!
//! The profile's relay address is `--relay`: a benchmark points it at a port
//! where nothing listens, so that the client stays offline and only local
//! work is measured.

mod relay;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_core::{
    Argon2Params, ChatId, Core, ExportRandomness, MemoryStore, MessageNumber, Passphrase, Profile,
    UnixMillis, export_archive,
};
use sotto_wire::RelayAddress;

use relay::{MemoryRelay, Push};

/// Builds a profile with many chats and messages through real cores and writes
/// it as an encrypted export archive.
#[derive(Debug, Parser)]
#[command(name = "sotto-seed-profile", version)]
struct Cli {
    /// Where the archive goes.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,

    /// The archive's passphrase.
    #[arg(long, default_value = "benchmark passphrase")]
    passphrase: String,

    /// Chats (contacts) of the profile.
    #[arg(long, value_name = "N", default_value_t = 50)]
    chats: usize,

    /// Messages in the first chat.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    big_chat: usize,

    /// Messages in every other chat.
    #[arg(long, value_name = "N", default_value_t = 40)]
    per_chat: usize,

    /// Chats left with unread messages (the most recent ones).
    #[arg(long, value_name = "N", default_value_t = 5)]
    unread_chats: usize,

    /// The relay address stored in the profile.
    #[arg(
        long,
        value_name = "ADDRESS",
        default_value = "sotto+ws://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@127.0.0.1:9"
    )]
    relay: RelayAddress,

    /// Seed of every random choice (keys included).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

const NAMES: [&str; 25] = [
    "Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kofi",
    "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tamar", "Ugo", "Vera",
    "Wen", "Ximena", "Yusuf",
];

const WORDS: [&str; 48] = [
    "the", "a", "we", "you", "I", "it", "meet", "later", "tomorrow", "tonight", "train", "station",
    "coffee", "sounds", "good", "thanks", "really", "maybe", "after", "work", "call", "me", "when",
    "you're", "free", "did", "see", "photos", "from", "weekend", "running", "late", "sorry", "no",
    "worries", "let's", "try", "new", "place", "near", "the", "office", "ok", "great", "idea",
    "and", "then", "home",
];

/// Every core and the relay between them, on one clock.
struct World {
    now: UnixMillis,
    relay: MemoryRelay,
    address: RelayAddress,
    cores: Vec<Core<MemoryStore>>,
    rngs: Vec<ChaCha20Rng>,
}

impl World {
    /// Answers every request and delivers every push until nothing moves.
    fn settle(&mut self) -> Result<()> {
        loop {
            let mut progress = false;
            for index in 0..self.cores.len() {
                // A memory store is durable as soon as it is written.
                self.cores[index].sync()?;
                while self.cores[index].poll_event()?.is_some() {}
                while let Some(request) = self.cores[index].poll_relay_request() {
                    progress = true;
                    let mut pushes = Vec::new();
                    let response =
                        self.relay
                            .handle(index, &request, self.now.0 / 1000, &mut pushes)?;
                    self.cores[index].handle_relay_response(
                        self.now,
                        &mut self.rngs[index],
                        request.token,
                        response,
                        relay::SUITE,
                    )?;
                    self.deliver(pushes)?;
                }
            }
            if !progress {
                return Ok(());
            }
        }
    }

    fn deliver(&mut self, pushes: Vec<Push>) -> Result<()> {
        for (client, recipient_id, message_id, sealed) in pushes {
            self.cores[client].handle_delivery(
                self.now,
                &mut self.rngs[client],
                &self.address,
                recipient_id,
                message_id,
                &sealed,
                relay::SUITE,
            )?;
        }
        Ok(())
    }

    /// Moves the clock by `step`, firing the timeouts due on the way (receipts
    /// go out in batches half a second after a message).
    fn advance(&mut self, step: Duration) -> Result<()> {
        let end = self.now.after(step);
        loop {
            self.settle()?;
            let next = self
                .cores
                .iter()
                .filter_map(Core::poll_timeout)
                .filter(|&at| at <= end)
                .min();
            let Some(at) = next else { break };
            self.now = self.now.max(at);
            for (core, rng) in self.cores.iter_mut().zip(&mut self.rngs) {
                if core.poll_timeout().is_some_and(|due| due <= self.now) {
                    core.handle_timeout(self.now, rng)?;
                }
            }
        }
        self.now = end;
        self.settle()
    }

    /// Connects core 0 (the inviter) with core `other`; returns the contact ids
    /// on both sides.
    fn connect(&mut self, other: usize) -> Result<(ChatId, ChatId)> {
        let invitation =
            self.cores[0].create_invitation(self.now, &mut self.rngs[0], &self.address)?;
        self.settle()?;
        let link = self.cores[0]
            .invitation_link(invitation)?
            .ok_or_else(|| anyhow!("the invitation has no link"))?;
        let theirs =
            self.cores[other].connect(self.now, &mut self.rngs[other], &link, &self.address)?;
        self.advance(Duration::from_secs(1))?;
        let name = self.cores[other].profile().display_name().to_owned();
        let ours = self.cores[0]
            .chats()?
            .into_iter()
            .find(|contact| contact.name.as_deref() == Some(&name))
            .ok_or_else(|| anyhow!("{name} did not connect"))?
            .id;
        Ok((ours, theirs))
    }
}

/// One chat: the contact ids on both sides and the messages sent so far.
struct Chat {
    core: usize,
    ours: ChatId,
    theirs: ChatId,
    messages: usize,
    target: usize,
    /// Recent message numbers on each side (ours, theirs) to reply or react to.
    recent: Vec<(MessageNumber, bool)>,
}

fn text(rng: &mut ChaCha20Rng) -> String {
    // Mostly short lines, some long paragraphs, as in real chats.
    let words = match rng.next_u32() % 10 {
        0..=5 => 2 + rng.next_u32() % 8,
        6..=8 => 10 + rng.next_u32() % 20,
        _ => 40 + rng.next_u32() % 80,
    };
    let mut text = String::new();
    for index in 0..words {
        if index > 0 {
            text.push(' ');
        }
        text.push_str(WORDS[rng.next_u32() as usize % WORDS.len()]);
    }
    text
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let started = Instant::now();
    let (archive, built) = build(&cli)?;
    std::fs::write(&cli.out, &archive).with_context(|| format!("writing {}", cli.out.display()))?;
    println!(
        "profile: {} chats, {} messages ({} in the first chat), {} unread; archive {} bytes, {} records in {} tables; built in {:.1?}",
        built.chats,
        built.messages,
        cli.big_chat,
        built.unread,
        archive.len(),
        built.records,
        built.tables,
        started.elapsed()
    );
    Ok(())
}

/// What [`build`] made.
#[derive(Debug)]
struct Built {
    chats: usize,
    messages: usize,
    unread: u64,
    records: u64,
    tables: u32,
}

/// Builds the profile `cli` describes; returns its archive.
fn build(cli: &Cli) -> Result<(Vec<u8>, Built)> {
    if cli.chats == 0 || cli.unread_chats > cli.chats {
        bail!("--chats must be at least 1 and at least --unread-chats");
    }
    let started = Instant::now();
    let mut world = World {
        now: UnixMillis(1_780_000_000_000),
        relay: MemoryRelay::new(cli.seed),
        address: cli.relay.clone(),
        cores: Vec::new(),
        rngs: Vec::new(),
    };
    for index in 0..=cli.chats {
        let name = match index {
            0 => "Bench".to_owned(),
            n if n <= NAMES.len() => NAMES[n - 1].to_owned(),
            n => format!(
                "{} {}",
                NAMES[(n - 1) % NAMES.len()],
                (n - 1) / NAMES.len() + 1
            ),
        };
        let mut rng =
            ChaCha20Rng::seed_from_u64(cli.seed.wrapping_mul(1000).wrapping_add(index as u64));
        let core = Core::create(MemoryStore::new(), &mut rng, Profile::new(&name, None)?)?;
        world.cores.push(core);
        world.rngs.push(rng);
    }
    let mut chats = Vec::new();
    for core in 1..=cli.chats {
        let (ours, theirs) = world
            .connect(core)
            .with_context(|| format!("connecting chat {core}"))?;
        chats.push(Chat {
            core,
            ours,
            theirs,
            messages: 0,
            target: if core == 1 {
                cli.big_chat
            } else {
                cli.per_chat
            },
            recent: Vec::new(),
        });
    }
    eprintln!(
        "{} chats connected in {:.1?}",
        chats.len(),
        started.elapsed()
    );

    // Messages in an interleaved order: each next message goes to a chat drawn
    // in proportion to the messages it still has to get.
    let total: usize = chats.iter().map(|chat| chat.target).sum();
    let mut script = ChaCha20Rng::seed_from_u64(cli.seed ^ 0x5eed);
    for sent in 0..total {
        let mut pick = (script.next_u64() % (total - sent) as u64) as usize;
        let index = chats
            .iter()
            .position(|chat| {
                let left = chat.target - chat.messages;
                if pick < left {
                    true
                } else {
                    pick -= left;
                    false
                }
            })
            .ok_or_else(|| anyhow!("no chat left to write to"))?;
        let chat = &mut chats[index];
        let from_us = script.next_u32() % 2 == 0;
        let (core, contact) = if from_us {
            (0, chat.ours)
        } else {
            (chat.core, chat.theirs)
        };
        // Replies go to a recent message of the same side's view.
        let reply_to = (script.next_u32() % 12 == 0)
            .then(|| chat.recent.iter().rev().find(|(_, ours)| *ours == from_us))
            .flatten()
            .map(|(number, _)| *number);
        let body = text(&mut script);
        let number = world.cores[core].send_text(
            world.now,
            &mut world.rngs[core],
            contact,
            &body,
            reply_to,
        )?;
        chat.recent.push((number, from_us));
        if chat.recent.len() > 16 {
            chat.recent.remove(0);
        }
        if script.next_u32() % 30 == 0 {
            world.cores[core].react(world.now, &mut world.rngs[core], contact, number, "👍")?;
        }
        chat.messages += 1;
        // A few minutes between messages (receipts go out on the way).
        let minutes = 1 + script.next_u64() % 6;
        world.advance(Duration::from_secs(60 * minutes))?;
        if sent % 1000 == 999 {
            eprintln!(
                "{} of {total} messages in {:.1?}",
                sent + 1,
                started.elapsed()
            );
        }
    }
    // Both sides read every chat but the last few (Bench's unread counts).
    let unread_from = chats.len() - cli.unread_chats;
    for chat in &chats[..unread_from] {
        world.cores[0].mark_read(world.now, &mut world.rngs[0], chat.ours)?;
        world.cores[chat.core].mark_read(world.now, &mut world.rngs[chat.core], chat.theirs)?;
    }
    world.advance(Duration::from_secs(5))?;

    let mut randomness = ExportRandomness {
        salt: [0; sotto_core::PASSPHRASE_SALT_LEN],
        nonce_prefix: Default::default(),
    };
    script.fill_bytes(&mut randomness.salt);
    script.fill_bytes(&mut randomness.nonce_prefix);
    let (archive, receipt) = export_archive(
        world.cores[0].store(),
        &Passphrase::new(cli.passphrase.clone().into_bytes()),
        Argon2Params::DEFAULT,
        randomness,
    )?;
    let contacts = world.cores[0].chats()?;
    let built = Built {
        chats: contacts.len(),
        messages: total,
        unread: contacts
            .iter()
            .map(|contact| u64::from(contact.unread))
            .sum(),
        records: receipt.records,
        tables: receipt.tables,
    };
    Ok((archive, built))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use sotto_core::import_archive;

    use super::*;

    #[test]
    fn the_archive_imports_into_a_profile_with_every_chat_and_message() {
        let cli = Cli::parse_from([
            "sotto-seed-profile",
            "--out",
            "unused",
            "--chats",
            "4",
            "--big-chat",
            "60",
            "--per-chat",
            "5",
            "--unread-chats",
            "1",
        ]);
        let (archive, built) = build(&cli).unwrap();
        assert_eq!((built.chats, built.messages), (4, 75));

        let mut store = MemoryStore::new();
        import_archive(
            &archive,
            Passphrase::new(b"benchmark passphrase".to_vec()),
            &mut store,
        )
        .unwrap();
        let core = Core::open(store).unwrap();
        assert_eq!(core.profile().display_name(), "Bench");
        let contacts = core.chats().unwrap();
        let mut names: Vec<_> = contacts
            .iter()
            .map(|contact| contact.name.clone().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["Ada", "Bruno", "Chiara", "Dmitri"]);
        for contact in &contacts {
            let name = contact.name.as_deref().unwrap();
            let texts = core
                .history(contact.id, None, 1000)
                .unwrap()
                .into_iter()
                .filter(|item| item.text.is_some())
                .count();
            assert_eq!(texts, if name == "Ada" { 60 } else { 5 }, "{name}");
            // Only the last chat is left with unread messages, at most the 5 it has.
            let unread = usize::try_from(contact.unread).unwrap();
            assert_eq!(unread > 0, name == "Dmitri", "{name}");
            assert!(unread <= 5, "{name}");
        }
        assert_eq!(
            built.unread,
            contacts.iter().map(|c| u64::from(c.unread)).sum::<u64>()
        );
    }
}
