//! What each command does: open the profile, act on the core, let the
//! one-shot runtime send what that queued (and fetch what waits, for
//! `receive`), then print the result. `contact_address` holds `address` and
//! `requests`, `moving` holds `export` and `import`, `text` the text output.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;

use rand::rngs::OsRng;
use serde_json::{Value, json};
use sotto_client::relay::ConnectOptions;
use sotto_client::{Finished, Mode, Runtime, RuntimeOptions, Socks5Proxy};
use sotto_core::{
    ChatId, Core, Event, GroupSend, MessageDirection, MessageNumber, MessageStatus, Passphrase,
    ReceiptSetting, Settings, UnixMillis,
};
use sotto_store::SqlCipherStore;
use sotto_wire::RelayAddress;
use subtle::ConstantTimeEq;

mod contact_address;
mod files;
mod group_links;
mod groups;
mod moving;
mod text;

use crate::control::{self, ControlSocket};
use crate::failure::{self, Failure};
use crate::group_watch::GroupWatch;
use crate::profile::{self, PassphraseSource, core_failure};
use crate::terminal_text::{one_line, without_hidden};
use crate::{Cli, Command, GroupAction, InvitationsAction, json};
use contact_address::{address, requests};
use moving::{export, import};
use text::{contact_name, item_line};
pub(crate) use text::{file_text, notice_text, qr};

/// Prints a command's result as text or as one JSON object: on stdout, or
/// into a buffer for a command forwarded by another process (`control`).
struct Output {
    json: bool,
    captured: Option<std::cell::RefCell<Vec<u8>>>,
}

impl Output {
    fn emit(&self, value: Value, text: impl FnOnce() -> String) -> anyhow::Result<()> {
        match &self.captured {
            Some(buffer) => self.write(&mut *buffer.borrow_mut(), value, text),
            None => self.write(&mut std::io::stdout().lock(), value, text),
        }
    }

    fn write(
        &self,
        out: &mut impl Write,
        value: Value,
        text: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            json::write_line(out, &value)?;
        } else {
            // Remote text is put on one line where it is formatted; this
            // keeps anything missed there from reaching the terminal.
            let text = text();
            if !text.is_empty() {
                writeln!(out, "{}", without_hidden(&text))?;
            }
        }
        Ok(())
    }
}

/// Progress for people, on stderr, only when it is a terminal.
fn progress(message: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("sotto: {message}");
    }
}

/// An open profile and its runtime.
struct Session<'a> {
    runtime: &'a mut Runtime<SqlCipherStore>,
    relay: RelayAddress,
    timeout: Duration,
    /// The profile directory.
    dir: std::path::PathBuf,
    /// How to reach relays (for file transfers, which have connections of
    /// their own).
    connect: ConnectOptions,
    /// Inside `listen` or `chat`, whose loop sends what the core queues and
    /// shows the events (a command then does not wait for them itself).
    live: bool,
}

impl Session<'_> {
    fn core(&mut self) -> &mut Core<SqlCipherStore> {
        self.runtime.core_mut()
    }

    /// Sends what is queued (and processes what comes back) until the core is
    /// idle or the timeout passes; returns the events. A relay that could not
    /// be reached, or did not answer in time, fails the command (kind
    /// `relay`): what it queued is kept for the next command, and nothing
    /// claims to have gone out.
    async fn settle(&mut self) -> anyhow::Result<Vec<Event>> {
        match self.settle_all().await? {
            (events, None) => Ok(events),
            (_, Some(problem)) => Err(problem.into()),
        }
    }

    /// [`Session::settle`] that keeps the events when a relay failed, with
    /// the failure beside them.
    async fn settle_all(&mut self) -> anyhow::Result<(Vec<Event>, Option<Failure>)> {
        // A live process's terminal is its own (`chat` draws on all of it).
        if !self.live {
            progress("talking to the relays…");
        }
        let finished = self.runtime.run_until_idle(self.timeout).await?;
        let events = self.runtime.take_events()?;
        let kept = "what this command queued is kept and goes out at the next command";
        let problem = if let Some(error) = self.runtime.connect_failure() {
            let message = format!("a relay could not be reached ({error}); {kept}");
            Some(Failure::new("relay", message))
        } else if finished == Finished::TimedOut {
            let message = format!("the relays did not answer in time; {kept}");
            Some(Failure::new("relay", message))
        } else {
            None
        };
        Ok((events, problem))
    }

    /// A contact by id or by display name.
    fn contact(&self, name_or_id: &str) -> anyhow::Result<ChatId> {
        let contacts = self.runtime.core().chats().map_err(core_failure)?;
        if let Ok(id) = name_or_id.parse::<u64>()
            && let Some(contact) = contacts.iter().find(|c| c.id.0 == id)
        {
            return Ok(contact.id);
        }
        let matching: Vec<ChatId> = contacts
            .iter()
            .filter(|c| {
                [c.alias.as_ref(), c.name.as_ref()]
                    .into_iter()
                    .flatten()
                    .any(|name| name.eq_ignore_ascii_case(name_or_id))
            })
            .map(|c| c.id)
            .collect();
        match matching.as_slice() {
            [one] => Ok(*one),
            [] => Err(Failure::new(
                "unknown_contact",
                format!("no contact named or numbered {name_or_id:?} (see `sotto contacts`)"),
            )
            .into()),
            _ => Err(Failure::new(
                "ambiguous_contact",
                format!("several contacts are named {name_or_id:?}: use the id"),
            )
            .into()),
        }
    }
}

pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let output = Output {
        json: cli.json,
        captured: None,
    };
    let source = PassphraseSource {
        file: cli.passphrase_file.clone(),
    };
    let timeout = Duration::from_secs(cli.timeout);
    let mut options = RuntimeOptions::new(Mode::OneShot);
    options.connect.tls = Some(ConnectOptions::platform_tls());
    if let Some(proxy) = &cli.socks5 {
        options.connect.socks5 = Some(Socks5Proxy::parse(proxy).ok_or_else(|| {
            Failure::new("usage", format!("--socks5 wants HOST:PORT, not {proxy:?}"))
        })?);
    }
    let dir = cli.profile.as_path();
    match cli.command {
        Command::Init { name, bio, relay } => {
            let relay: RelayAddress = relay.parse().map_err(|error| {
                Failure::new("usage", format!("--relay is not a relay address: {error}"))
            })?;
            let passphrase = profile::chosen(source.read("New passphrase for the profile", true)?)?;
            progress("deriving the database key…");
            let core = profile::init(dir, &passphrase, &name, bio.as_deref(), &relay)?;
            let name = core.profile().display_name().to_owned();
            output.emit(
                json!({ "profile": dir.display().to_string(), "name": name, "relay": relay.to_string() }),
                || format!("Created the profile of {name} in {} (relay {relay})", dir.display()),
            )
        }
        Command::Import { file } => import(dir, &file, &source, &output),
        Command::Export { file } => export(dir, &file, &source, &output),
        Command::Passphrase {
            new_passphrase_file,
        } => {
            let old = source.read("Current passphrase", false)?;
            let mut store = profile::open_store(dir, &old)?;
            let new = match new_passphrase_file {
                Some(file) => PassphraseSource { file: Some(file) }.read("", false)?,
                None => {
                    let first = rpassword::prompt_password("New passphrase: ")?;
                    let second = rpassword::prompt_password("New passphrase (again): ")?;
                    if first != second {
                        return Err(Failure::new("usage", "the two passphrases differ").into());
                    }
                    Passphrase::new(first)
                }
            };
            let new = profile::chosen(new)?;
            progress("re-encrypting the database…");
            store
                .change_passphrase(&old, &new)
                .map_err(|error| profile::store_failure(error, dir))?;
            output.emit(json!({ "changed": true }), || {
                "Passphrase changed.".to_owned()
            })
        }
        command => {
            if matches!(command, Command::Chat { .. })
                && !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal())
            {
                return Err(Failure::new(
                    "usage",
                    "`sotto chat` is the terminal UI and needs a terminal; for scripts use \
                     `listen`, `send` and `receive` (with --json)",
                )
                .into());
            }
            let passphrase = source.read("Passphrase", false)?;
            progress("opening the profile…");
            let (mut core, relay) = match profile::open_core(dir, &passphrase) {
                Ok(opened) => opened,
                Err(error)
                    if failure::kind(&error) == "profile_in_use" && forwardable(&command) =>
                {
                    return forward(dir, &passphrase, error).await;
                }
                Err(error) => return Err(error),
            };
            // Time passed since the last command: disappearing messages that
            // expired meanwhile go before anything is shown, and what an
            // earlier command could not send goes out with this one, whatever
            // is left of its backoff.
            let now = sotto_client::runtime::now_millis();
            core.handle_timeout(now, &mut OsRng).map_err(core_failure)?;
            core.retry_now(now).map_err(core_failure)?;
            if matches!(command, Command::Listen | Command::Chat { .. }) {
                options.mode = Mode::Live;
            }
            let connect = options.connect.clone();
            let mut runtime = Runtime::new(core, options);
            let live = Live {
                dir,
                passphrase: &passphrase,
                socket: match command {
                    Command::Listen | Command::Chat { .. } => Some(ControlSocket::bind(dir)?),
                    _ => None,
                },
                relay: relay.clone(),
                timeout,
                connect: connect.clone(),
            };
            if let Command::Chat { lock_after } = command {
                let lock_after = (lock_after > 0).then(|| Duration::from_secs(lock_after));
                return crate::chat::run(crate::chat::Chat {
                    runtime: &mut runtime,
                    passphrase: &passphrase,
                    relay,
                    lock_after,
                    live: &live,
                })
                .await;
            }
            let mut session = Session {
                runtime: &mut runtime,
                relay,
                timeout,
                dir: dir.to_owned(),
                connect,
                live: matches!(command, Command::Listen),
            };
            if let Command::Listen = command {
                return listen(&mut session, &output, &live).await;
            }
            profile_command(&mut session, command, &output).await
        }
    }
}

async fn profile_command(
    session: &mut Session<'_>,
    command: Command,
    output: &Output,
) -> anyhow::Result<()> {
    let now = sotto_client::runtime::now_millis;
    match command {
        Command::Init { .. }
        | Command::Import { .. }
        | Command::Export { .. }
        | Command::Chat { .. }
        | Command::Passphrase { .. } => Ok(()),
        Command::Invite { no_qr } => {
            let relay = session.relay.clone();
            let invitation = session
                .core()
                .create_invitation(now(), &mut OsRng, &relay)
                .map_err(core_failure)?;
            session.settle().await?;
            let link = session
                .runtime
                .core()
                .invitation_link(invitation)
                .map_err(core_failure)?
                .ok_or_else(|| {
                    let why = session
                        .runtime
                        .connect_failure()
                        .map(|error| format!(" ({error})"))
                        .unwrap_or_default();
                    Failure::new(
                        "relay",
                        format!("the relay did not create the invitation queue in time{why}"),
                    )
                })?;
            output.emit(json!({ "invitation": invitation.0, "link": link }), || {
                if no_qr {
                    link.clone()
                } else {
                    format!("{link}\n\n{}", qr(&link))
                }
            })
        }
        Command::Connect { link, contact } => {
            let relay = session.relay.clone();
            let contact = match contact {
                Some(contact) => {
                    let id = session.contact(&contact)?;
                    session
                        .core()
                        .reconnect(now(), &mut OsRng, id, link.trim(), &relay)
                        .map_err(core_failure)?;
                    id
                }
                None => session
                    .core()
                    .connect(now(), &mut OsRng, link.trim(), &relay)
                    .map_err(core_failure)?,
            };
            let events = session.settle().await?;
            // A link of someone whose chat never connected connects that chat.
            let contact = events
                .iter()
                .find_map(|event| match event {
                    Event::JoinedExisting { chat, existing } if *chat == contact => Some(*existing),
                    _ => None,
                })
                .unwrap_or(contact);
            if let Some((reason, existing)) = events.iter().find_map(|event| match event {
                Event::JoinFailed {
                    chat,
                    reason,
                    existing,
                } if *chat == contact => Some((reason.clone(), *existing)),
                _ => None,
            }) {
                return Err(match existing {
                    Some(chat) => already_contact(chat),
                    None => Failure::new("link_refused", reason).into(),
                });
            }
            let summary = session.runtime.core().chat(contact).map_err(|_| {
                Failure::new(
                    "relay",
                    "the link's relay could not be reached: the link is tried again at the next command (`sotto receive`)",
                )
            })?;
            let state = json::spelling(&summary.state);
            output.emit(
                json!({ "contact": contact.0, "state": state, "complete": true }),
                || format!("Contact {} is {}: the inviter completes the connection at its next `receive`.", contact.0, state.replace('_', " ")),
            )
        }
        Command::Contacts => {
            let contacts = session.runtime.core().chats().map_err(core_failure)?;
            output.emit(json!({ "contacts": json::value(&contacts)? }), || {
                contacts
                    .iter()
                    .map(|c| {
                        let mut name = c
                            .name
                            .as_deref()
                            .map_or("(no profile yet)".into(), one_line);
                        if let Some(alias) = &c.alias {
                            name = format!("{} ({name})", one_line(alias)).into();
                        }
                        let marks: String = [
                            (c.verified, ", verified"),
                            (c.pinned, ", pinned"),
                            (c.archived, ", archived"),
                            (c.blocked, ", blocked"),
                        ]
                        .iter()
                        .filter(|(set, _)| *set)
                        .map(|(_, mark)| *mark)
                        .collect();
                        format!(
                            "{:>4}  {name}  [{}{marks}]  {} unread",
                            c.id.0,
                            json::spelling(&c.state).replace('_', " "),
                            c.unread
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Pin { contact, undo } => {
            let id = session.contact(&contact)?;
            session.core().set_pinned(id, !undo).map_err(core_failure)?;
            chat_changed(
                session,
                output,
                id,
                if undo { "unpinned" } else { "pinned" },
            )
        }
        Command::Archive { contact, undo } => {
            let id = session.contact(&contact)?;
            session
                .core()
                .set_archived(id, !undo)
                .map_err(core_failure)?;
            chat_changed(
                session,
                output,
                id,
                if undo { "unarchived" } else { "archived" },
            )
        }
        Command::Alias { contact, name } => {
            let id = session.contact(&contact)?;
            session
                .core()
                .set_alias(id, name.as_deref())
                .map_err(core_failure)?;
            chat_changed(session, output, id, "renamed")
        }
        Command::Block { contact, undo } => {
            let id = session.contact(&contact)?;
            if undo {
                session.core().unblock(id).map_err(core_failure)?;
            } else {
                session.core().block(now(), id).map_err(core_failure)?;
                session.settle().await?;
            }
            chat_changed(
                session,
                output,
                id,
                if undo { "unblocked" } else { "blocked" },
            )
        }
        Command::Clear { contact } => {
            let id = session.contact(&contact)?;
            session.core().clear_history(id).map_err(core_failure)?;
            chat_changed(session, output, id, "cleared")
        }
        Command::DeleteChat { contact } => {
            let id = session.contact(&contact)?;
            let name = session.runtime.core().chat(id).map_err(core_failure)?;
            let name = one_line(name.display_name());
            session
                .core()
                .delete_contact(now(), id)
                .map_err(core_failure)?;
            session.settle().await?;
            output.emit(json!({ "contact": id.0, "deleted": true }), || {
                format!("The chat with {name} is deleted.")
            })
        }
        Command::Send {
            contact,
            text,
            mentions,
        } => match groups::group(session, &contact)? {
            Some(group) => {
                let mentions = groups::member_ids(session, group.id, &mentions)?;
                let text = GroupSend::Text {
                    text: &text,
                    reply_to: None,
                    mentions: &mentions,
                };
                groups::send(session, output, group.id, text).await
            }
            None => send(session, output, &contact, &text, None).await,
        },
        Command::Reply {
            contact,
            message,
            text,
            mentions,
        } => {
            if let Some(group) = groups::group(session, &contact)? {
                let mentions = groups::member_ids(session, group.id, &mentions)?;
                let text = GroupSend::Text {
                    text: &text,
                    reply_to: Some(MessageNumber(message)),
                    mentions: &mentions,
                };
                return groups::send(session, output, group.id, text).await;
            }
            send(
                session,
                output,
                &contact,
                &text,
                Some(MessageNumber(message)),
            )
            .await
        }
        Command::React {
            contact,
            message,
            emoji,
        } => {
            if let Some(group) = groups::group(session, &contact)? {
                let reaction = GroupSend::Reaction {
                    message: MessageNumber(message),
                    emoji: &emoji,
                };
                return groups::send(session, output, group.id, reaction).await;
            }
            let id = session.contact(&contact)?;
            session
                .core()
                .react(now(), &mut OsRng, id, MessageNumber(message), &emoji)
                .map_err(core_failure)?;
            session.settle().await?;
            let sent = true;
            output.emit(
                json!({ "contact": id.0, "message": message, "emoji": emoji, "sent": sent }),
                || format!("Reacted {emoji} to message {message}."),
            )
        }
        Command::Edit {
            contact,
            message,
            text,
        } => {
            if let Some(group) = groups::group(session, &contact)? {
                let edit = GroupSend::Edit {
                    message: MessageNumber(message),
                    text: &text,
                };
                return groups::send(session, output, group.id, edit).await;
            }
            let id = session.contact(&contact)?;
            session
                .core()
                .edit(now(), &mut OsRng, id, MessageNumber(message), &text)
                .map_err(core_failure)?;
            session.settle().await?;
            let sent = true;
            output.emit(
                json!({ "contact": id.0, "message": message, "sent": sent }),
                || format!("Edited message {message}."),
            )
        }
        Command::Delete {
            contact,
            message,
            for_me: true,
        } => {
            let id = session.contact(&contact)?;
            session
                .core()
                .delete_for_me(id, MessageNumber(message))
                .map_err(core_failure)?;
            output.emit(
                json!({ "contact": id.0, "message": message, "deleted": "for_me" }),
                || format!("Deleted message {message} on this device."),
            )
        }
        Command::Mute {
            contact,
            duration,
            undo,
        } => {
            let id = session.contact(&contact)?;
            let until = if undo {
                None
            } else {
                Some(mute_until(&duration)?)
            };
            session.core().set_muted(id, until).map_err(core_failure)?;
            chat_changed(session, output, id, if undo { "unmuted" } else { "muted" })
        }
        Command::Delete {
            contact, message, ..
        } => {
            if let Some(group) = groups::group(session, &contact)? {
                let delete = GroupSend::Delete {
                    message: MessageNumber(message),
                };
                groups::send(session, output, group.id, delete).await?;
                // A file's copy goes, and its chunks on the relay (FDEL).
                let mut runner = files::runner(session)?;
                let which = sotto_client::files::Which::One(group.id, MessageNumber(message));
                files::run_transfers(session, &mut runner, which, output).await?;
                return Ok(());
            }
            let id = session.contact(&contact)?;
            session
                .core()
                .delete_for_everyone(now(), &mut OsRng, id, MessageNumber(message))
                .map_err(core_failure)?;
            session.settle().await?;
            // A file's copy goes, and its chunks on the relay (FDEL).
            let mut runner = files::runner(session)?;
            let which = sotto_client::files::Which::One(id, MessageNumber(message));
            files::run_transfers(session, &mut runner, which, output).await?;
            let sent = true;
            output.emit(
                json!({ "contact": id.0, "message": message, "sent": sent }),
                || format!("Deleted message {message} for everyone."),
            )
        }
        Command::Receive => receive(session, output).await,
        Command::SendFile { contact, path } => {
            files::send_file(session, output, &contact, &path).await
        }
        Command::Download {
            contact,
            number,
            all,
            dir,
        } => {
            let target = match (contact, number, all) {
                (Some(contact), Some(number), false) => Some((contact, number)),
                (None, None, true) => None,
                _ => {
                    return Err(Failure::new(
                        "usage",
                        "name one file (`sotto download CONTACT NUMBER`) or use --all",
                    )
                    .into());
                }
            };
            files::download(session, output, target, dir).await
        }
        Command::AutoDownload { setting } => files::auto_download(session, output, setting),
        Command::Media {
            contact,
            auto_download,
            block_saving,
        } => files::media(session, output, &contact, auto_download, block_saving).await,
        // Handled before: it needs the control socket.
        Command::Listen => Ok(()),
        Command::Search { text, limit } => {
            let hits = session
                .runtime
                .core()
                .search(&text, limit)
                .map_err(core_failure)?;
            output.emit(json!({ "results": json::value(&hits)? }), || {
                if hits.is_empty() {
                    return format!("No message contains {:?}.", one_line(&text));
                }
                hits.iter()
                    .map(|hit| {
                        format!(
                            "{} (contact {}): {}",
                            one_line(&hit.chat_name),
                            hit.item.chat.0,
                            item_line(&hit.item, sotto_client::runtime::now_millis())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::History {
            contact,
            limit,
            mark_read,
        } => {
            if let Some(group) = groups::group(session, &contact)? {
                return groups::history(session, output, group.id, limit, mark_read).await;
            }
            let id = session.contact(&contact)?;
            let items = session
                .runtime
                .core()
                .history(id, None, limit)
                .map_err(core_failure)?;
            if mark_read {
                session
                    .core()
                    .mark_read(now(), &mut OsRng, id)
                    .map_err(core_failure)?;
                session.settle().await?;
            }
            output.emit(
                json!({ "contact": id.0, "messages": json::value(&items)? }),
                || {
                    let now = now();
                    items
                        .iter()
                        .map(|item| item_line(item, now))
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            )
        }
        Command::Timer { contact, seconds } => {
            let seconds = match seconds.as_str() {
                "off" => None,
                text => Some(text.parse::<u32>().map_err(|_| {
                    Failure::new("usage", "the timer is a number of seconds or `off`")
                })?),
            };
            if let Some(group) = groups::group(session, &contact)? {
                let timer = GroupSend::Timer { seconds };
                return groups::send(session, output, group.id, timer).await;
            }
            let id = session.contact(&contact)?;
            session
                .core()
                .set_timer(now(), &mut OsRng, id, seconds)
                .map_err(core_failure)?;
            session.settle().await?;
            let sent = true;
            output.emit(
                json!({ "contact": id.0, "timer_secs": seconds, "sent": sent }),
                || match seconds {
                    Some(secs) => format!("Messages now disappear after {secs} s."),
                    None => "Disappearing messages are off.".to_owned(),
                },
            )
        }
        Command::Receipts { setting, contact } => receipts(session, output, setting, contact),
        Command::GroupAdds { setting } => groups::adds_setting(session, output, setting),
        Command::TypingIndicators { setting } => on_off_setting(
            session,
            output,
            setting,
            "typing_indicators",
            "Typing indicators",
            |settings| &mut settings.typing_indicators,
        ),
        Command::Typing { contact, stop } => {
            let id = session.contact(&contact)?;
            let enabled = session.runtime.core().settings().typing_indicators;
            session
                .core()
                .set_typing(now(), &mut OsRng, id, !stop)
                .map_err(core_failure)?;
            if enabled {
                session.settle().await?;
            }
            let sent = enabled;
            output.emit(
                json!({ "contact": id.0, "typing": !stop, "sent": sent }),
                || match (enabled, stop) {
                    (false, _) => "Typing indicators are off: nothing sent.".to_owned(),
                    (true, false) => "Told the contact that you are typing.".to_owned(),
                    (true, true) => "Told the contact that you stopped typing.".to_owned(),
                },
            )
        }
        Command::Profile { name, bio } => {
            let current = session.runtime.core().profile().clone();
            if name.is_some() || bio.is_some() {
                let name = name.as_deref().unwrap_or(current.display_name());
                let bio = match &bio {
                    Some(bio) => Some(bio.as_str()),
                    None => current.bio(),
                };
                let profile = sotto_core::Profile::new(name, bio).map_err(core_failure)?;
                session
                    .core()
                    .update_profile(now(), &mut OsRng, profile)
                    .map_err(core_failure)?;
                session.settle().await?;
            }
            let profile = session.runtime.core().profile();
            let (name, bio) = (
                profile.display_name().to_owned(),
                profile.bio().map(str::to_owned),
            );
            output.emit(json!({ "name": name, "bio": bio }), || match &bio {
                Some(bio) => format!("{name}\n{bio}"),
                None => name.clone(),
            })
        }
        Command::Verify {
            contact,
            mark,
            unmark,
        } => {
            let id = session.contact(&contact)?;
            if mark || unmark {
                session
                    .core()
                    .set_verified(id, mark)
                    .map_err(core_failure)?;
            }
            let code = session
                .runtime
                .core()
                .security_code(id)
                .map_err(core_failure)?
                .digits();
            let verified = session
                .runtime
                .core()
                .chat(id)
                .map_err(core_failure)?
                .verified;
            output.emit(
                json!({ "contact": id.0, "security_code": code, "verified": verified }),
                || {
                    let state = if verified { "verified" } else { "not verified" };
                    format!("Security code: {code}\n({state}; compare it with your contact, then `sotto verify {contact} --mark`)")
                },
            )
        }
        Command::Group { action } => match action {
            GroupAction::Create {
                name,
                description,
                picture,
            } => {
                let picture = picture.as_deref().map(groups::read_picture).transpose()?;
                groups::create(session, output, &name, description.as_deref(), picture).await
            }
            GroupAction::Info { group } => groups::info(session, output, &group),
            GroupAction::Edit {
                group,
                name,
                description,
                picture,
                no_picture,
            } => {
                let picture = match (picture, no_picture) {
                    (Some(path), _) => Some(groups::read_picture(&path)?),
                    (None, true) => Some(Vec::new()),
                    (None, false) => None,
                };
                let edit = groups::ProfileEdit {
                    name,
                    description,
                    picture,
                };
                groups::edit(session, output, &group, edit).await
            }
            GroupAction::Me {
                group,
                name,
                picture,
                no_picture,
            } => {
                let picture = match (picture, no_picture) {
                    (Some(path), _) => Some(groups::read_member_picture(&path)?),
                    (None, true) => Some(Vec::new()),
                    (None, false) => None,
                };
                groups::me(session, output, &group, name, picture).await
            }
            GroupAction::Invite { group, contact } => {
                groups::invite(session, output, &group, &contact).await
            }
            GroupAction::Members { group } => groups::members(session, output, &group),
            GroupAction::Remove { group, member } => {
                groups::remove(session, output, &group, &member).await
            }
            GroupAction::Promote {
                group,
                member,
                role,
            } => groups::promote(session, output, &group, &member, &role).await,
            GroupAction::Invitations { action } => match action {
                None | Some(InvitationsAction::List) => groups::invitations(session, output),
                Some(InvitationsAction::Accept { invitation }) => {
                    groups::accept_invitation(session, output, invitation).await
                }
                Some(InvitationsAction::Decline { invitation }) => {
                    groups::decline_invitation(session, output, invitation)
                }
            },
            GroupAction::Leave { group } => groups::leave(session, output, &group).await,
            GroupAction::Delete { group } => groups::delete(session, output, &group).await,
            GroupAction::Block { group, member } => {
                groups::block(session, output, &group, &member, true)
            }
            GroupAction::Unblock { group, member } => {
                groups::block(session, output, &group, &member, false)
            }
            GroupAction::Link {
                group,
                qr,
                replace,
                delete,
                approval,
            } => {
                let choice = group_links::LinkChoice {
                    qr,
                    replace,
                    delete,
                    approval,
                };
                group_links::link(session, output, &group, choice).await
            }
            GroupAction::Join {
                link,
                name,
                picture,
            } => {
                let picture = picture
                    .as_deref()
                    .map(groups::read_member_picture)
                    .transpose()?
                    .unwrap_or_default();
                group_links::join(session, output, &link, name.as_deref(), picture).await
            }
            GroupAction::Joins { cancel } => group_links::joins(session, output, cancel).await,
            GroupAction::Requests { group } => group_links::requests(session, output, &group),
            GroupAction::Approve { group, request } => {
                group_links::approve(session, output, &group, request).await
            }
            GroupAction::Decline { group, request } => {
                group_links::decline(session, output, &group, request).await
            }
        },
        Command::Address { action } => address(session, output, action).await,
        Command::Requests { action } => requests(session, output, action).await,
    }
}

/// When a mute given as `30m`, `8h`, `2d`, `1w` or `always` ends.
fn mute_until(duration: &str) -> anyhow::Result<UnixMillis> {
    if duration.eq_ignore_ascii_case("always") {
        return Ok(UnixMillis::FOREVER);
    }
    let invalid = || {
        Failure::new(
            "usage",
            format!("{duration:?} is not a time: use 30m, 8h, 2d, 1w or always"),
        )
    };
    let split = duration.len().saturating_sub(1);
    let (count, unit) = (duration.get(..split), duration.get(split..));
    let count: u64 = count
        .and_then(|count| count.parse().ok())
        .filter(|count| *count > 0)
        .ok_or_else(invalid)?;
    let unit_secs: u64 = match unit {
        Some("m") => 60,
        Some("h") => 3600,
        Some("d") => 86_400,
        Some("w") => 7 * 86_400,
        _ => return Err(invalid().into()),
    };
    let secs = count.checked_mul(unit_secs).ok_or_else(invalid)?;
    Ok(sotto_client::runtime::now_millis().after(Duration::from_secs(secs)))
}

/// What a live process (`listen`, `chat`) needs to run the commands other
/// processes forward to it.
pub(crate) struct Live<'a> {
    dir: &'a Path,
    passphrase: &'a Passphrase,
    socket: Option<ControlSocket>,
    /// The profile's relay and the command timeout, for the commands run.
    relay: RelayAddress,
    timeout: Duration,
    /// How to reach relays, for file transfers.
    connect: ConnectOptions,
}

impl Live<'_> {
    /// A session over the live runtime, for a command run in it.
    fn session<'r>(&self, runtime: &'r mut Runtime<SqlCipherStore>) -> Session<'r> {
        Session {
            runtime,
            relay: self.relay.clone(),
            timeout: self.timeout,
            dir: self.dir.to_owned(),
            connect: self.connect.clone(),
            live: true,
        }
    }

    /// How to reach relays.
    pub(crate) fn connect_options(&self) -> &ConnectOptions {
        &self.connect
    }

    /// Saves a file of a chat from the live UI (`/save` in `sotto chat`).
    pub(crate) async fn save_file(
        &self,
        runtime: &mut Runtime<SqlCipherStore>,
        chat: ChatId,
        number: MessageNumber,
        progress: &mut dyn FnMut(sotto_client::files::Progress),
    ) -> Result<PathBuf, String> {
        let into = std::env::current_dir().map_err(|error| error.to_string())?;
        files::save_one(
            runtime,
            self.dir,
            &self.connect,
            self.timeout,
            (chat, number),
            &into,
            progress,
        )
        .await
    }

    /// The next command forwarded to this process (never, without a socket).
    pub(crate) async fn next_forwarded(&self) -> (control::Request, tokio::net::UnixStream) {
        match &self.socket {
            Some(socket) => socket.next().await,
            None => std::future::pending().await,
        }
    }
}

/// Commands another process may run through the live one.
fn forwardable(command: &Command) -> bool {
    !matches!(
        command,
        Command::Init { .. }
            | Command::Import { .. }
            | Command::Export { .. }
            | Command::Passphrase { .. }
            | Command::Chat { .. }
            | Command::Listen
    )
}

/// This command, run by the live process that holds the profile.
async fn forward(dir: &Path, passphrase: &Passphrase, in_use: anyhow::Error) -> anyhow::Result<()> {
    let request = control::Request {
        args: std::env::args().skip(1).collect(),
        passphrase: String::from_utf8_lossy(passphrase.as_bytes()).into_owned(),
    };
    let Some(response) = control::forward(dir, &request).await? else {
        return Err(in_use);
    };
    std::io::stdout()
        .lock()
        .write_all(response.output.as_bytes())?;
    match response.error {
        None => Ok(()),
        Some(failed) => Err(Failure::new(kind_of(&failed.kind), failed.message).into()),
    }
}

/// The `&'static` spelling of an error kind that came over the socket.
fn kind_of(kind: &str) -> &'static str {
    const KINDS: [&str; 17] = [
        "wrong_passphrase",
        "empty_passphrase",
        "profile_in_use",
        "profile_moved",
        "no_profile",
        "profile_exists",
        "unknown_contact",
        "ambiguous_contact",
        "unknown_message",
        "unknown_request",
        "no_address",
        "not_connected",
        "relay",
        "link_refused",
        "already_contact",
        "archive",
        "usage",
    ];
    KINDS
        .into_iter()
        .find(|known| *known == kind)
        .unwrap_or("error")
}

/// Runs a forwarded command on this process's profile.
pub(crate) async fn run_forwarded(
    runtime: &mut Runtime<SqlCipherStore>,
    live: &Live<'_>,
    request: &control::Request,
) -> control::Response {
    let failed = |kind: &str, message: String| control::Response {
        output: String::new(),
        error: Some(control::Failed {
            kind: kind.to_owned(),
            message,
        }),
    };
    let passphrase_matches: bool = request
        .passphrase
        .as_bytes()
        .ct_eq(live.passphrase.as_bytes())
        .into();
    if !passphrase_matches {
        return failed(
            "wrong_passphrase",
            "wrong passphrase for this profile".to_owned(),
        );
    }
    let args = std::iter::once("sotto".to_owned()).chain(request.args.iter().cloned());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => return failed("usage", error.to_string()),
    };
    let same_profile =
        std::fs::canonicalize(&cli.profile).ok() == std::fs::canonicalize(live.dir).ok();
    if !same_profile || !forwardable(&cli.command) {
        return failed(
            "profile_in_use",
            "the profile is in use by another sotto process".to_owned(),
        );
    }
    let output = Output {
        json: cli.json,
        captured: Some(std::cell::RefCell::new(Vec::new())),
    };
    let mut session = live.session(runtime);
    let result = Box::pin(profile_command(&mut session, cli.command, &output)).await;
    let printed = output
        .captured
        .map(|buffer| String::from_utf8_lossy(&buffer.into_inner()).into_owned())
        .unwrap_or_default();
    control::Response {
        output: printed,
        error: result.err().map(|error| control::Failed {
            kind: failure::kind(&error).to_owned(),
            message: format!("{error:#}"),
        }),
    }
}

/// The link is of someone who is a contact already.
pub(crate) fn already_contact(chat: ChatId) -> anyhow::Error {
    Failure::new(
        "already_contact",
        format!(
            "you already have a chat with the person who made this link (contact {0}); \
             `sotto connect LINK --contact {0}` connects that chat again",
            chat.0
        ),
    )
    .into()
}

/// Prints a chat after a change made to it on this device.
fn chat_changed(
    session: &Session<'_>,
    output: &Output,
    id: ChatId,
    what: &str,
) -> anyhow::Result<()> {
    let chat = session.runtime.core().chat(id).map_err(core_failure)?;
    output.emit(json!({ "contact": json::value(&chat)? }), || {
        format!("{} is {what}.", one_line(chat.display_name()))
    })
}

async fn send(
    session: &mut Session<'_>,
    output: &Output,
    contact: &str,
    text: &str,
    reply_to: Option<MessageNumber>,
) -> anyhow::Result<()> {
    let id = session.contact(contact)?;
    let number = session
        .core()
        .send_text(
            sotto_client::runtime::now_millis(),
            &mut OsRng,
            id,
            text,
            reply_to,
        )
        .map_err(core_failure)?;
    if let Err(error) = session.settle().await {
        let why = error.to_string();
        let message = format!(
            "message {} to {} is not sent yet: {why}",
            number.0,
            one_line(contact)
        );
        return Err(Failure::new("relay", message).into());
    }
    let status = session
        .runtime
        .core()
        .message(id, number)
        .map_err(core_failure)?
        .status;
    if status == MessageStatus::Failed {
        let message = format!(
            "message {} to {} failed: the relay refused it (the contact's queue is gone)",
            number.0,
            one_line(contact)
        );
        return Err(Failure::new("relay", message).into());
    }
    let status = json::spelling(&status);
    output.emit(
        json!({ "contact": id.0, "message": number.0, "status": status }),
        || format!("Message {} to {contact}: {status}.", number.0),
    )
}

/// `sotto chat`: reads a group's log from the profile's cursor (its watch
/// woke).
pub(crate) async fn read_group_live(
    runtime: &mut Runtime<SqlCipherStore>,
    live: &Live<'_>,
    chat: ChatId,
) -> anyhow::Result<()> {
    let mut session = live.session(runtime);
    groups::sync_group(&mut session, chat).await.map(|_| ())
}

/// `sotto chat`: writes a message to a group and reads it back.
pub(crate) async fn write_group_live(
    runtime: &mut Runtime<SqlCipherStore>,
    live: &Live<'_>,
    chat: ChatId,
    message: GroupSend<'_>,
) -> anyhow::Result<()> {
    let mut session = live.session(runtime);
    groups::write(&mut session, chat, message).await.map(|_| ())
}

/// `sotto chat`: changes a group's profile as `group edit` does (a picture
/// file is read with the same bound).
pub(crate) async fn edit_group_live(
    runtime: &mut Runtime<SqlCipherStore>,
    live: &Live<'_>,
    chat: ChatId,
    change: crate::chat::ProfileChange,
) -> anyhow::Result<()> {
    use crate::chat::ProfileChange;
    let mut edit = groups::ProfileEdit {
        name: None,
        description: None,
        picture: None,
    };
    let (mut own_name, mut own_picture) = (None, None);
    match change {
        ProfileChange::Name(name) => edit.name = Some(name),
        ProfileChange::Description(text) => edit.description = Some(text),
        ProfileChange::Picture(path) => edit.picture = Some(groups::read_picture(&path)?),
        ProfileChange::NoPicture => edit.picture = Some(Vec::new()),
        ProfileChange::OwnName(name) => own_name = Some(name),
        ProfileChange::OwnPicture(path) => {
            own_picture = Some(groups::read_member_picture(&path)?);
        }
        ProfileChange::NoOwnPicture => own_picture = Some(Vec::new()),
    }
    let mut session = live.session(runtime);
    if own_name.is_some() || own_picture.is_some() {
        return groups::set_self(&mut session, chat, own_name.as_deref(), own_picture)
            .await
            .map(|_| ());
    }
    groups::set_profile(&mut session, chat, edit)
        .await
        .map(|_| ())
}

/// `sotto chat`: approves or declines a request to join group `chat`, as
/// `group approve` and `group decline` do.
pub(crate) async fn decide_join_live(
    runtime: &mut Runtime<SqlCipherStore>,
    live: &Live<'_>,
    chat: ChatId,
    request: u64,
    approve: bool,
) -> anyhow::Result<()> {
    let mut session = live.session(runtime);
    group_links::decide(&mut session, chat, request, approve)
        .await
        .map(|_| ())
}

/// Live mode: one line per event (a JSON object with `--json`).
async fn listen(session: &mut Session<'_>, output: &Output, live: &Live<'_>) -> anyhow::Result<()> {
    progress("listening; Ctrl-C stops");
    // Each group's log on a connection of its own, subscribed; its news is
    // read from the profile's cursor here.
    let mut watch = GroupWatch::new(session.connect.clone());
    watch.reconcile(session.runtime.core());
    loop {
        let event = tokio::select! {
            event = session.runtime.next_event() => event?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
            chat = watch.next() => {
                // A relay that cannot be reached now is tried again at the
                // next wake; the changes a read made are shown.
                let changes = groups::sync_group(session, chat).await.unwrap_or_default();
                for change in &changes {
                    output.emit(change.clone(), || groups::change_line(change))?;
                }
                watch.reconcile(session.runtime.core());
                continue;
            }
            forwarded = live.next_forwarded() => {
                let (request, stream) = forwarded;
                let response = run_forwarded(session.runtime, live, &request).await;
                control::answer(stream, &response).await;
                continue;
            }
        };
        if matches!(event, Event::GroupJoined { .. }) {
            watch.reconcile(session.runtime.core());
        }
        let line = match &event {
            Event::ItemAdded { item, .. } if item.direction != MessageDirection::Outgoing => {
                format!(
                    "{}: {}",
                    contact_name(session, item.chat),
                    item_line(item, sotto_client::runtime::now_millis())
                )
            }
            _ => String::new(),
        };
        output.emit(json::value(&event)?, || line)?;
    }
}

async fn receive(session: &mut Session<'_>, output: &Output) -> anyhow::Result<()> {
    session
        .core()
        .fetch_all(sotto_client::runtime::now_millis())
        .map_err(core_failure)?;
    // What arrived is shown even when a relay failed (a receipt to a peer's
    // relay that is down, say); the failure comes with it, and exit status 1.
    let (mut events, mut problem) = session.settle_all().await?;
    // Unfinished uploads, and downloads started (automatic ones too), go on;
    // an upload that ends sends its message.
    let mut runner = files::runner(session)?;
    let transfers = files::run_transfers(
        session,
        &mut runner,
        sotto_client::files::Which::All,
        output,
    )
    .await?;
    if transfers
        .iter()
        .any(|(_, _, outcome)| *outcome == sotto_client::files::Outcome::Sent)
    {
        let (more, later) = session.settle_all().await?;
        events.extend(more);
        problem = problem.or(later);
    }
    // Group logs: read to their ends (commits appended, welcomes sent, the
    // messages of group files sent above appended).
    let group_changes = match groups::sync_all(session).await {
        Ok(changes) => changes,
        Err(error) => {
            problem = problem.or(Some(Failure::new("relay", error.to_string())));
            Vec::new()
        }
    };
    // Files the groups brought that download by themselves, and those
    // their members deleted (the copies go); what the first run left
    // waiting waits for the next `receive`.
    let mut transfers = transfers;
    if session
        .runtime
        .core()
        .file_transfers()
        .map_err(core_failure)?
        .iter()
        .any(|transfer| {
            (transfer.item_gone || transfer.state == Some(sotto_core::FileState::Downloading))
                && !transfers
                    .iter()
                    .any(|(chat, number, _)| (*chat, *number) == (transfer.chat, transfer.number))
        })
    {
        let more = files::run_transfers(
            session,
            &mut runner,
            sotto_client::files::Which::All,
            output,
        )
        .await?;
        transfers
            .retain(|(chat, number, _)| !more.iter().any(|(c, n, _)| (c, n) == (chat, number)));
        transfers.extend(more);
    }
    let (more, later) = session.settle_all().await?;
    events.extend(more);
    problem = problem.or(later);
    events.retain(|event| !matches!(event, Event::FileProgress { .. }));
    let mut messages = Vec::new();
    let mut lines = Vec::new();
    for event in &events {
        match event {
            Event::ItemAdded { item, .. } if item.direction != MessageDirection::Outgoing => {
                lines.push(format!(
                    "{}: {}",
                    contact_name(session, item.chat),
                    item_line(item, sotto_client::runtime::now_millis())
                ));
                if item.direction == MessageDirection::Incoming {
                    messages.push(item);
                }
            }
            Event::ContactConnected { chat } => {
                lines.push(format!("{} is connected.", one_line(chat.display_name())));
            }
            Event::RequestReceived { request } => {
                lines.push(format!(
                    "Contact request {} from {} (see `sotto requests`).",
                    request.id.0,
                    one_line(&request.name)
                ));
            }
            Event::GroupInvitation {
                invitation,
                contact,
                name,
            } => {
                lines.push(format!(
                    "Group invitation {invitation} from {} into {} (see `sotto group invitations`).",
                    contact_name(session, *contact),
                    one_line(name)
                ));
            }
            Event::GroupJoinRequested { request } => {
                lines.push(format!(
                    "Request {} from {} to join group {} (see `sotto group requests {}`).",
                    request.id,
                    one_line(&request.name),
                    request.group.0,
                    request.group.0
                ));
            }
            Event::GroupJoinRefused { name, reason, .. } => {
                lines.push(format!(
                    "Your request to join {} was refused: {}.",
                    one_line(name),
                    one_line(reason)
                ));
            }
            Event::GroupJoined { name, .. } => {
                lines.push(format!("You joined {}.", one_line(name)));
            }
            Event::AddressFlooded { waiting } => {
                lines.push(format!(
                    "The contact address is flooded: {waiting} requests wait and newer ones were dropped; decide on them or replace the address (`sotto address create`)."
                ));
            }
            Event::RelayFault { reason, .. } => {
                lines.push(format!("relay fault: {}", one_line(reason)));
            }
            _ => {}
        }
    }
    lines.extend(files::outcome_lines(&transfers));
    lines.extend(group_changes.iter().map(groups::change_line));
    let relay_error = problem.as_ref().map(ToString::to_string);
    output.emit(
        json!({
            "messages": json::value(&messages)?,
            "events": json::value(&events)?,
            "files": files::outcomes_json(&transfers),
            "groups": group_changes,
            "relay_error": relay_error,
        }),
        || lines.join("\n"),
    )?;
    match problem {
        Some(problem) => Err(problem.shown().into()),
        None => Ok(()),
    }
}

fn receipts(
    session: &mut Session<'_>,
    output: &Output,
    setting: Option<String>,
    contact: Option<String>,
) -> anyhow::Result<()> {
    match contact {
        Some(contact) => {
            let id = session.contact(&contact)?;
            if let Some(setting) = setting {
                let setting = match setting.as_str() {
                    "on" => ReceiptSetting::On,
                    "off" => ReceiptSetting::Off,
                    "default" => ReceiptSetting::Default,
                    _ => return Err(Failure::new("usage", "on, off or default").into()),
                };
                session
                    .core()
                    .set_read_receipts(id, setting)
                    .map_err(core_failure)?;
            }
            let setting = json::spelling(
                &session
                    .runtime
                    .core()
                    .chat(id)
                    .map_err(core_failure)?
                    .read_receipts,
            );
            output.emit(json!({ "contact": id.0, "read_receipts": setting }), || {
                format!("Read receipts in this chat: {setting}")
            })
        }
        None => on_off_setting(
            session,
            output,
            setting,
            "read_receipts",
            "Read receipts",
            |settings| &mut settings.read_receipts,
        ),
    }
}

/// An account-wide setting that is on or off: turned to `setting` if given,
/// then shown as `{ key: "on" | "off" }`, or as "label: on" in text.
fn on_off_setting(
    session: &mut Session<'_>,
    output: &Output,
    setting: Option<String>,
    key: &str,
    label: &str,
    flag: fn(&mut Settings) -> &mut bool,
) -> anyhow::Result<()> {
    let mut settings = session.runtime.core().settings();
    if let Some(setting) = setting {
        *flag(&mut settings) = match setting.as_str() {
            "on" => true,
            "off" => false,
            _ => return Err(Failure::new("usage", "on or off").into()),
        };
        session
            .core()
            .set_settings(settings)
            .map_err(core_failure)?;
    }
    let on = if *flag(&mut settings) { "on" } else { "off" };
    output.emit(json!({ key: on }), || format!("{label}: {on}"))
}
