//! `sotto chat`: the interactive terminal UI (ratatui) over the live runtime.
//!
//! Screens: the chats (list with unread counts, the open conversation with
//! replies, reactions, edits, deletions, receipts and notices, the compose
//! line), a one-time invitation (QR code beside the link), the contact
//! requests, the contact address, the open chat's security code (to mark
//! it verified), and a group's profile and members with each member's code
//! (owners and admins change the profile with slash commands). Every screen
//! ends in a line of its keys (docs/cli.md lists them). After a time without a key press the screen
//! locks: it shows no name and no message until the passphrase is typed again
//! (messages keep arriving meanwhile).
//!
//! Modules:
//! - `app`: the UI's state, what each key does, and the actions for the core.
//! - `render`: drawing each screen from that state and a snapshot of the store.
//!
//! This file runs them: it reads the snapshot, draws, waits for a key, an
//! event of the runtime or a timer, and applies the actions to the core.

mod app;
mod compose;
#[cfg(test)]
mod fixtures;
mod render;

use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{
    self, DisableBracketedPaste, EnableBracketedPaste, Event as TermEvent, KeyCode, KeyEventKind,
    KeyModifiers,
};
use sotto_client::Runtime;
use sotto_client::runtime::now_millis;
use sotto_core::{
    ChatId, ChatNotice, CoreError, Event, MessageDirection, MessageNumber, NoticeView, Passphrase,
};

use crate::terminal_text::one_line;
use sotto_store::SqlCipherStore;
use sotto_wire::RelayAddress;
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;
use zeroize::Zeroizing;

use crate::group_watch::GroupWatch;
pub(crate) use app::ProfileChange;
use app::{
    Action, App, Screen, ShownCode, ShownGroup, ShownInvitation, Snapshot, TYPING_SHOWN_FOR,
};

/// Items of the open conversation read for the screen.
const HISTORY_LIMIT: usize = 500;

/// What the UI works with besides the terminal.
pub(crate) struct Chat<'a> {
    pub(crate) runtime: &'a mut Runtime<SqlCipherStore>,
    pub(crate) passphrase: &'a Passphrase,
    /// The profile's relay: new invitations and the contact address go there.
    pub(crate) relay: RelayAddress,
    /// Lock after this long without a key press.
    pub(crate) lock_after: Option<Duration>,
    /// Commands other processes forward while the UI holds the profile.
    pub(crate) live: &'a crate::commands::Live<'a>,
}

/// Runs the UI until the user quits; the terminal is restored either way.
pub(crate) async fn run(chat: Chat<'_>) -> anyhow::Result<()> {
    let (keys, mut pressed) = mpsc::unbounded_channel();
    // crossterm's reader blocks: it gets its own thread, which ends with the
    // process.
    std::thread::spawn(move || {
        while let Ok(event) = event::read() {
            if keys.send(event).is_err() {
                break;
            }
        }
    });
    let mut terminal = ratatui::init();
    // A paste arrives whole, line breaks included, instead of as keys (each
    // line break an Enter that would send).
    let _ = ratatui::crossterm::execute!(std::io::stdout(), EnableBracketedPaste);
    let result = run_loop(&mut terminal, chat, &mut pressed).await;
    let _ = ratatui::crossterm::execute!(std::io::stdout(), DisableBracketedPaste);
    ratatui::restore();
    result
}

async fn run_loop(
    terminal: &mut DefaultTerminal,
    chat: Chat<'_>,
    pressed: &mut mpsc::UnboundedReceiver<TermEvent>,
) -> anyhow::Result<()> {
    let Chat {
        runtime,
        passphrase,
        relay,
        lock_after,
        live,
    } = chat;
    let mut app = App::new();
    // Each group's log, subscribed on a connection of its own; its news is
    // read here, from the profile's cursor.
    let mut watch = GroupWatch::new(live.connect_options().clone());
    watch.reconcile(runtime.core());
    let mut read_marked = None;
    // The open group's description and picture size, read again only when
    // a group changed.
    let mut profile = None;
    let mut last_key = Instant::now();
    loop {
        let now = Instant::now();
        if app.locked.is_some() {
            terminal.draw(|frame| render::draw(frame, &app, &Snapshot::default(), now))?;
            tokio::select! {
                event = runtime.next_event() => {
                    profile = None;
                    on_event(&mut app, runtime, event?);
                }
                // A forwarded command brings its own passphrase: the lock
                // screen does not stand in its way.
                forwarded = live.next_forwarded() => {
                    let (request, stream) = forwarded;
                    let response = crate::commands::run_forwarded(runtime, live, &request).await;
                    crate::control::answer(stream, &response).await;
                }
                key = pressed.recv() => {
                    let Some(key) = key else { return Ok(()) };
                    if quits(&key) {
                        return Ok(());
                    }
                    if unlock_key(&mut app, key, passphrase) {
                        last_key = Instant::now();
                        read_marked = None;
                    }
                }
            }
            continue;
        }
        let snapshot = snapshot(runtime, &mut app, &mut profile)?;
        if app.screen == Screen::Chats
            && let Some(contact) = app.current(&snapshot)
            && (read_marked != Some(contact.id) || contact.unread > 0)
        {
            // Viewing a chat reads it (read receipts go out if they are on;
            // a group's with the next write to its log, now).
            if runtime
                .core_mut()
                .mark_read(now_millis(), &mut OsRng, contact.id)
                .is_ok()
            {
                read_marked = Some(contact.id);
                if contact.members.is_some() && contact.unread > 0 {
                    watch.wake(contact.id);
                }
            }
        }
        terminal.draw(|frame| render::draw(frame, &app, &snapshot, now))?;
        let lock_at = lock_after.map(|after| last_key + after);
        // Redraw when a typing indicator fades.
        let fade_at = app
            .typing
            .values()
            .map(|since| *since + TYPING_SHOWN_FOR)
            .min();
        tokio::select! {
            event = runtime.next_event() => {
                let event = event?;
                if matches!(event, Event::GroupJoined { .. }) {
                    watch.reconcile(runtime.core());
                }
                if matches!(event, Event::ChatChanged { .. } | Event::GroupJoined { .. }) {
                    profile = None;
                }
                on_event(&mut app, runtime, event);
            }
            forwarded = live.next_forwarded() => {
                let (request, stream) = forwarded;
                let response = crate::commands::run_forwarded(runtime, live, &request).await;
                crate::control::answer(stream, &response).await;
                profile = None;
            }
            chat = watch.next() => {
                if let Err(error) = crate::commands::read_group_live(runtime, live, chat).await {
                    app.status = crate::terminal_text::one_line(&error.to_string()).into_owned();
                }
                watch.reconcile(runtime.core());
                profile = None;
            }
            () = sleep_until(lock_at) => app.locked = Some(Zeroizing::new(String::new())),
            () = sleep_until(fade_at) => app.typing.retain(|_, since| since.elapsed() < TYPING_SHOWN_FOR),
            key = pressed.recv() => {
                last_key = Instant::now();
                let Some(key) = key else { return Ok(()) };
                let actions = match key {
                    TermEvent::Key(key) => {
                        app.status.clear();
                        app.handle_key(key, &snapshot)
                    }
                    TermEvent::Paste(text) => app.paste(&text),
                    _ => continue,
                };
                for action in actions {
                    if action == Action::Quit {
                        return Ok(());
                    }
                    if let Action::EditGroup { group, change } = action {
                        edit_group(&mut app, runtime, live, group, change).await;
                        profile = None;
                        continue;
                    }
                    if let Action::DecideJoin {
                        group,
                        request,
                        approve,
                    } = action
                    {
                        let decided = crate::commands::decide_join_live(
                            runtime, live, group, request, approve,
                        )
                        .await;
                        app.status = match (decided, approve) {
                            (Ok(()), true) => {
                                "Approved: they join once their device reads the welcome."
                                    .to_owned()
                            }
                            (Ok(()), false) => "Declined: they are told.".to_owned(),
                            (Err(error), _) => format!("Refused: {}", one_line(&error.to_string())),
                        };
                        continue;
                    }
                    if let Action::SaveFile { contact, message } = action {
                        save_file(terminal, &mut app, runtime, live, &snapshot, contact, message)
                            .await;
                        continue;
                    }
                    if let Some((group, message)) = group_message(runtime, &action) {
                        // A group's message goes to its log at once.
                        let Some(message) = message else { continue };
                        let written =
                            crate::commands::write_group_live(runtime, live, group, message).await;
                        if let Err(error) = written {
                            app.status =
                                crate::terminal_text::one_line(&error.to_string()).into_owned();
                        }
                        continue;
                    }
                    apply(&mut app, runtime, &relay, action);
                }
            }
        }
    }
}

/// Reads what the screens show from the store (a group's profile only when
/// `profile`, the one last read, is another chat's or none: reading it reads
/// the group's whole state).
fn snapshot(
    runtime: &Runtime<SqlCipherStore>,
    app: &mut App,
    profile: &mut Option<(ChatId, ShownGroup)>,
) -> Result<Snapshot, CoreError> {
    let core = runtime.core();
    let mut snapshot = Snapshot {
        contacts: core.chats()?,
        history: Vec::new(),
        requests: core.requests()?,
        address: core.address_link()?,
        typing_indicators: core.settings().typing_indicators,
        relay_problem: runtime.connect_failure().map(ToString::to_string),
        security_code: None,
        group: None,
    };
    app.settle(&snapshot);
    if let Some(contact) = app.chat {
        snapshot.history = core.history(contact, None, HISTORY_LIMIT)?;
        if app.screen == Screen::Verify {
            // A contact still connecting has no code yet: the screen says so.
            snapshot.security_code = core.security_code(contact).ok().map(|code| ShownCode {
                digits: code.digits(),
                qr_payload: code.qr_payload().to_vec(),
            });
        }
        if app.current(&snapshot).is_some_and(|c| c.members.is_some()) {
            let mut group = match profile {
                Some((chat, shown)) if *chat == contact => shown.clone(),
                _ => {
                    let read = core.group_profile(contact)?;
                    let shown = ShownGroup {
                        description: read
                            .as_ref()
                            .map(|p| p.description().to_owned())
                            .unwrap_or_default(),
                        picture_len: read.as_ref().map_or(0, |p| p.picture().len()),
                        members: Vec::new(),
                        requests: Vec::new(),
                    };
                    *profile = Some((contact, shown.clone()));
                    shown
                }
            };
            if app.screen == Screen::Members {
                group.members = core.group_members(contact)?;
                group.requests = core.group_join_requests(contact)?;
                app.settle_member(&group);
                if let Some(member) = group.members.get(app.member).filter(|m| !m.me) {
                    snapshot.security_code = core
                        .group_security_code(contact, &member.id)
                        .ok()
                        .map(|code| ShownCode {
                            digits: code.digits(),
                            qr_payload: code.qr_payload().to_vec(),
                        });
                }
            }
            snapshot.group = Some(group);
        }
    }
    app.settle_message(&snapshot.history);
    Ok(snapshot)
}

/// What an event of the runtime changes on screen; the rest is read from
/// the store at the next frame.
fn on_event(app: &mut App, runtime: &Runtime<SqlCipherStore>, event: Event) {
    let now = Instant::now();
    let name = |contact| {
        runtime
            .core()
            .chat(contact)
            .ok()
            .and_then(|c| c.name)
            .unwrap_or_else(|| "the contact".to_owned())
    };
    match event {
        Event::Typing { chat, typing } => app.contact_typing(chat, typing, now),
        Event::ItemAdded { item, .. } if item.direction == MessageDirection::Incoming => {
            app.contact_typing(item.chat, false, now);
        }
        Event::InvitationReady { invitation, link } => app.invitation_ready(invitation, link),
        Event::AddressReady { .. } => app.status = "The contact address is ready.".to_owned(),
        Event::RequestReceived { .. } => {
            app.status = "New contact request: Ctrl-R shows it.".to_owned();
        }
        Event::ContactConnected { chat } => {
            app.status = format!("Connected with {}.", chat.display_name());
            if app.screen == Screen::Invitation {
                // The invitation is used: show the new chat.
                app.screen = Screen::Chats;
                app.chat = Some(chat.id);
            }
        }
        Event::JoinFailed { reason, .. } => app.status = reason,
        Event::JoinedExisting { existing, .. } => {
            app.status = format!("Connecting {} again.", name(existing));
        }
        Event::ConnectionFailed { .. } => {
            app.status =
                "A connection failed: the invitation was already used or withdrawn.".to_owned();
        }
        Event::ItemAdded { item, .. }
            if item.notice == Some(NoticeView(ChatNotice::KeysChanged)) =>
        {
            app.status = format!(
                "{}'s keys changed: compare the security code again (Ctrl-K).",
                name(item.chat)
            );
        }
        Event::GroupInvitation {
            invitation,
            contact,
            name: group,
        } => {
            // A contact names the group: shown on one line, without controls.
            app.status = format!(
                "{} invites you into {}: `sotto group invitations accept {invitation}`.",
                crate::terminal_text::one_line(&name(contact)),
                crate::terminal_text::one_line(&group)
            );
        }
        Event::GroupJoinRequested { request } => {
            app.status = format!(
                "{} asks to join {}: its members screen (/members) approves or declines.",
                crate::terminal_text::one_line(&request.name),
                crate::terminal_text::one_line(&name(request.group))
            );
        }
        Event::GroupJoinRefused { name, reason, .. } => {
            app.status = format!(
                "Your request to join {} was refused: {reason}.",
                crate::terminal_text::one_line(&name)
            );
        }
        Event::RelayFault { reason, .. } => app.status = format!("relay fault: {reason}"),
        Event::AddressFlooded { waiting } => {
            app.status =
                format!("Contact address flooded ({waiting} requests wait): Ctrl-A replaces it.");
        }
        Event::ItemAdded { .. }
        | Event::ItemChanged { .. }
        | Event::FileProgress { .. }
        | Event::GroupCommitReady { .. }
        | Event::GroupJoined { .. }
        | Event::ItemsRemoved { .. }
        | Event::ChatChanged { .. }
        | Event::ChatRemoved { .. }
        | Event::HistoryCleared { .. } => {}
    }
}

/// `/save`: downloads (if need be) and saves a file of the chat into the
/// current directory, its progress in the status line.
async fn save_file(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    runtime: &mut Runtime<SqlCipherStore>,
    live: &crate::commands::Live<'_>,
    snapshot: &Snapshot,
    contact: ChatId,
    message: Option<MessageNumber>,
) {
    let newest = || {
        snapshot
            .history
            .iter()
            .rev()
            .find(|item| {
                item.direction == MessageDirection::Incoming && item.file.is_some() && !item.deleted
            })
            .map(|item| item.number)
    };
    let Some(number) = message.or_else(newest) else {
        app.status = "No file received in this chat to save.".to_owned();
        return;
    };
    let name = snapshot
        .history
        .iter()
        .find(|item| item.number == number)
        .and_then(|item| item.file.as_ref())
        .map_or_else(
            || format!("file {}", number.0),
            |file| one_line(&file.name).into_owned(),
        );
    app.status = format!("Saving {name}…");
    let mut shown = u64::MAX;
    let result = live
        .save_file(runtime, contact, number, &mut |progress| {
            let percent = progress.done.saturating_mul(100) / progress.total.max(1);
            if percent != shown {
                shown = percent;
                app.status = format!("Saving {name}: {percent}%");
                let _ = terminal.draw(|frame| render::draw(frame, app, snapshot, Instant::now()));
            }
        })
        .await;
    app.status = match result {
        Ok(path) => format!("Saved {name} as {}.", path.display()),
        Err(why) => format!("{name} not saved: {why}."),
    };
}

/// `/name`, `/description`, `/picture`, `/no-picture`: the group's new
/// profile, committed and read back as `group edit` does; the outcome in the
/// status line.
async fn edit_group(
    app: &mut App,
    runtime: &mut Runtime<SqlCipherStore>,
    live: &crate::commands::Live<'_>,
    group: ChatId,
    change: ProfileChange,
) {
    let done = match &change {
        ProfileChange::Name(name) => format!("The group is now {}.", one_line(name)),
        ProfileChange::Description(text) if text.is_empty() => {
            "The group has no description now.".to_owned()
        }
        ProfileChange::Description(_) => "The group's description is changed.".to_owned(),
        ProfileChange::Picture(path) => format!("The group's picture is {}.", path.display()),
        ProfileChange::NoPicture => "The group has no picture now.".to_owned(),
        ProfileChange::OwnName(name) => format!("In this group you are {} now.", one_line(name)),
        ProfileChange::OwnPicture(path) => {
            format!("Your picture in this group is {}.", path.display())
        }
        ProfileChange::NoOwnPicture => "You show no picture in this group now.".to_owned(),
    };
    app.status = match crate::commands::edit_group_live(runtime, live, group, change).await {
        Ok(()) => done,
        Err(error) => format!("Refused: {}", one_line(&error.to_string())),
    };
}

/// The message an action writes to a group, when its chat is a group's
/// (none for typing: indicators are not sent to groups).
fn group_message<'a>(
    runtime: &Runtime<SqlCipherStore>,
    action: &'a Action,
) -> Option<(sotto_core::ChatId, Option<sotto_core::GroupSend<'a>>)> {
    use sotto_core::GroupSend;
    let chat = match action {
        Action::Send { contact, .. }
        | Action::Edit { contact, .. }
        | Action::React { contact, .. }
        | Action::Delete { contact, .. }
        | Action::Typing { contact, .. }
        | Action::SetTimer { contact, .. } => *contact,
        _ => return None,
    };
    runtime.core().chat(chat).ok()?.members?;
    let message = match action {
        Action::Send { text, reply_to, .. } => GroupSend::Text {
            text,
            reply_to: *reply_to,
            mentions: &[],
        },
        Action::Edit { message, text, .. } => GroupSend::Edit {
            message: *message,
            text,
        },
        Action::React { message, emoji, .. } => GroupSend::Reaction {
            message: *message,
            emoji,
        },
        Action::Delete { message, .. } => GroupSend::Delete { message: *message },
        Action::SetTimer { seconds, .. } => GroupSend::Timer { seconds: *seconds },
        _ => return Some((chat, None)),
    };
    Some((chat, Some(message)))
}

/// Does what a key asked of the core; a refusal shows in the status line.
fn apply(
    app: &mut App,
    runtime: &mut Runtime<SqlCipherStore>,
    relay: &RelayAddress,
    action: Action,
) {
    let now = now_millis();
    let core = runtime.core_mut();
    let result = match action {
        // These are handled before.
        Action::Quit
        | Action::SaveFile { .. }
        | Action::EditGroup { .. }
        | Action::DecideJoin { .. } => Ok(()),
        Action::Send {
            contact,
            text,
            reply_to,
        } => core
            .send_text(now, &mut OsRng, contact, &text, reply_to)
            .map(|_| ()),
        Action::Edit {
            contact,
            message,
            text,
        } => core.edit(now, &mut OsRng, contact, message, &text),
        Action::React {
            contact,
            message,
            emoji,
        } => core.react(now, &mut OsRng, contact, message, &emoji),
        Action::Delete { contact, message } => core
            .delete_for_everyone(now, &mut OsRng, contact, message)
            .map(|()| app.status = format!("Message {} deleted for everyone.", message.0)),
        Action::Typing { contact, typing } => core.set_typing(now, &mut OsRng, contact, typing),
        Action::ToggleTypingIndicators => {
            let mut settings = core.settings();
            settings.typing_indicators = !settings.typing_indicators;
            core.set_settings(settings).map(|()| {
                app.status = if settings.typing_indicators {
                    "Typing indicators on: your contacts see when you type.".to_owned()
                } else {
                    "Typing indicators off.".to_owned()
                };
            })
        }
        Action::ShowInvitation
            if app.invitation.as_ref().is_some_and(|shown| {
                core.invitations()
                    .is_ok_and(|pending| pending.contains(&shown.id))
            }) =>
        {
            Ok(())
        }
        Action::ShowInvitation | Action::CreateInvitation => core
            .create_invitation(now, &mut OsRng, relay)
            .and_then(|id| {
                let link = core.invitation_link(id)?;
                app.invitation = Some(ShownInvitation { id, link });
                Ok(())
            }),
        Action::CreateAddress => core
            .create_address(now, &mut OsRng, relay)
            .map(|()| app.status = "Creating the contact address on your relay…".to_owned()),
        Action::DeleteAddress => core
            .delete_address(now)
            .map(|()| app.status = "The contact address is deleted.".to_owned()),
        Action::Accept(request) => core
            .accept_request(now, &mut OsRng, request, relay)
            .map(|_| app.status = "Accepted: connecting…".to_owned()),
        Action::Reject(request) => core
            .reject_request(request)
            .map(|()| app.status = "Rejected: nothing of the request is kept.".to_owned()),
        Action::SetTimer { contact, seconds } => {
            core.set_timer(now, &mut OsRng, contact, seconds).map(|()| {
                app.status = match seconds {
                    Some(secs) => format!(
                        "Messages in this chat now disappear after {}.",
                        render::duration_text(secs)
                    ),
                    None => "Disappearing messages are off in this chat.".to_owned(),
                };
            })
        }
        Action::SetVerified { contact, verified } => {
            core.set_verified(contact, verified).map(|()| {
                app.status = if verified {
                    "Marked as verified.".to_owned()
                } else {
                    "No longer marked as verified.".to_owned()
                };
            })
        }
    };
    if let Err(error) = result {
        app.status = format!("Refused: {error}");
    }
}

/// Esc or Ctrl-C on the lock screen: leave (it reveals nothing).
fn quits(event: &TermEvent) -> bool {
    let TermEvent::Key(key) = event else {
        return false;
    };
    key.kind == KeyEventKind::Press
        && (key.code == KeyCode::Esc
            || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL)))
}

/// Sleeps until `at`, or forever.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// A key while locked; true once the passphrase unlocked the screen.
fn unlock_key(app: &mut App, key: TermEvent, passphrase: &Passphrase) -> bool {
    let (TermEvent::Key(key), Some(typed)) = (key, app.locked.as_mut()) else {
        return false;
    };
    if key.kind != KeyEventKind::Press {
        return false;
    }
    match key.code {
        KeyCode::Char(c) => typed.push(c),
        KeyCode::Backspace => {
            typed.pop();
        }
        KeyCode::Enter => {
            let unlocked: bool = typed.as_bytes().ct_eq(passphrase.as_bytes()).into();
            typed.clear();
            if unlocked {
                app.locked = None;
                return true;
            }
        }
        _ => {}
    }
    false
}
