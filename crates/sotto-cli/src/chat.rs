//! `sotto chat`: the interactive terminal UI (ratatui) over the live runtime:
//! the chat list with unread counts, the selected conversation with its
//! notices, and a compose line.
//!
//! Keys: Up/Down choose a chat, typing and Backspace edit the message, Enter
//! sends it, Esc or Ctrl-C quits. Viewing a chat marks it read. After a time
//! without a key press the screen locks: it shows no name and no message
//! until the passphrase is typed again (messages keep arriving meanwhile).

use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph};
use sotto_client::Runtime;
use sotto_client::runtime::now_millis;
use sotto_core::{ContactId, ContactSummary, Event, Passphrase};
use sotto_store::SqlCipherStore;
use tokio::sync::mpsc;

use crate::commands::item_line;

/// Items of the open conversation kept on screen.
const HISTORY_LIMIT: usize = 500;

/// What the screen shows besides the store's contents.
struct View {
    selected: usize,
    compose: String,
    status: String,
    /// Locked: what has been typed towards the passphrase.
    locked: Option<String>,
}

/// Runs the UI until the user quits; the terminal is restored either way.
pub(crate) async fn run(
    runtime: &mut Runtime<SqlCipherStore>,
    passphrase: &Passphrase,
    lock_after: Option<Duration>,
) -> anyhow::Result<()> {
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
    let result = run_loop(&mut terminal, runtime, &mut pressed, passphrase, lock_after).await;
    ratatui::restore();
    result
}

async fn run_loop(
    terminal: &mut DefaultTerminal,
    runtime: &mut Runtime<SqlCipherStore>,
    pressed: &mut mpsc::UnboundedReceiver<TermEvent>,
    passphrase: &Passphrase,
    lock_after: Option<Duration>,
) -> anyhow::Result<()> {
    let mut view = View {
        selected: 0,
        compose: String::new(),
        status: "Up/Down: chat · Enter: send · Esc: quit".to_owned(),
        locked: None,
    };
    let mut read_marked = None;
    let mut last_key = Instant::now();
    loop {
        if view.locked.is_some() {
            draw_locked(terminal)?;
            tokio::select! {
                event = runtime.next_event() => { event?; }
                key = pressed.recv() => {
                    let Some(key) = key else { return Ok(()) };
                    if quits(&key) {
                        return Ok(());
                    }
                    if unlock_key(&mut view, key, passphrase) {
                        last_key = Instant::now();
                        read_marked = None;
                    }
                }
            }
            continue;
        }
        let lock_at = lock_after.map(|after| last_key + after);
        let contacts = runtime.core().contacts()?;
        view.selected = view.selected.min(contacts.len().saturating_sub(1));
        let current = contacts.get(view.selected).map(|c| c.id);
        if let Some(contact) = current
            && (read_marked != Some(contact) || contacts[view.selected].unread > 0)
        {
            // Viewing a chat reads it (read receipts go out if they are on).
            if runtime
                .core_mut()
                .mark_read(now_millis(), &mut OsRng, contact)
                .is_ok()
            {
                read_marked = Some(contact);
            }
        }
        draw(terminal, runtime, &contacts, current, &view)?;
        tokio::select! {
            event = runtime.next_event() => {
                if let Event::RelayFault { reason, .. } = event? {
                    view.status = format!("relay fault: {reason}");
                }
            }
            () = lock_timer(lock_at) => {
                view.locked = Some(String::new());
            }
            key = pressed.recv() => {
                last_key = Instant::now();
                let Some(TermEvent::Key(key)) = key else {
                    if key.is_none() { return Ok(()) }
                    continue;
                };
                if key.kind != KeyEventKind::Press {
                    continue;
                }
                if quits(&TermEvent::Key(key)) {
                    return Ok(());
                }
                match key.code {
                    KeyCode::Up => view.selected = view.selected.saturating_sub(1),
                    KeyCode::Down => view.selected = view.selected.saturating_add(1),
                    KeyCode::Backspace => {
                        view.compose.pop();
                    }
                    KeyCode::Enter => send(runtime, current, &mut view),
                    KeyCode::Char(c) => view.compose.push(c),
                    _ => {}
                }
            }
        }
    }
}

/// Esc or Ctrl-C: leave (also from the lock screen, which reveals nothing).
fn quits(event: &TermEvent) -> bool {
    let TermEvent::Key(key) = event else {
        return false;
    };
    key.kind == KeyEventKind::Press
        && (key.code == KeyCode::Esc
            || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL)))
}

/// Sleeps until `at`, or forever.
async fn lock_timer(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// A key while locked; true once the passphrase unlocked the screen.
fn unlock_key(view: &mut View, key: TermEvent, passphrase: &Passphrase) -> bool {
    let (TermEvent::Key(key), Some(typed)) = (key, view.locked.as_mut()) else {
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
            let unlocked = typed.as_bytes() == passphrase.as_bytes();
            typed.clear();
            if unlocked {
                view.locked = None;
                return true;
            }
        }
        _ => {}
    }
    false
}

fn draw_locked(terminal: &mut DefaultTerminal) -> anyhow::Result<()> {
    terminal.draw(|frame| {
        frame.render_widget(
            Paragraph::new("Locked. Type the passphrase and press Enter.")
                .block(Block::bordered().title("Sotto")),
            frame.area(),
        );
    })?;
    Ok(())
}

fn send(runtime: &mut Runtime<SqlCipherStore>, contact: Option<ContactId>, view: &mut View) {
    let text = view.compose.trim().to_owned();
    let Some(contact) = contact else { return };
    if text.is_empty() {
        return;
    }
    match runtime
        .core_mut()
        .send_text(now_millis(), &mut OsRng, contact, &text, None)
    {
        Ok(_) => view.compose.clear(),
        Err(error) => view.status = format!("not sent: {error}"),
    }
}

fn draw(
    terminal: &mut DefaultTerminal,
    runtime: &Runtime<SqlCipherStore>,
    contacts: &[ContactSummary],
    current: Option<ContactId>,
    view: &View,
) -> anyhow::Result<()> {
    let history = match current {
        Some(contact) => runtime.core().history(contact, None, HISTORY_LIMIT)?,
        None => Vec::new(),
    };
    let title = contacts
        .get(view.selected)
        .map_or_else(|| "No chats yet".to_owned(), chat_title);
    terminal.draw(|frame| {
        let [main, compose, status] = Layout::vertical([
            Constraint::Min(3),
            Constraint::Length(3),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        let [list, conversation] =
            Layout::horizontal([Constraint::Length(28), Constraint::Min(20)]).areas(main);
        let items: Vec<ListItem<'_>> = contacts
            .iter()
            .map(|contact| {
                let name = contact
                    .profile
                    .as_ref()
                    .map_or("(connecting)", |profile| profile.display_name());
                let unread = if contact.unread > 0 {
                    format!(" ({})", contact.unread)
                } else {
                    String::new()
                };
                ListItem::new(format!("{name}{unread}"))
            })
            .collect();
        let mut state = ListState::default().with_selected(current.map(|_| view.selected));
        frame.render_stateful_widget(
            List::new(items)
                .block(Block::bordered().title("Chats"))
                .highlight_style(Style::new().reversed()),
            list,
            &mut state,
        );
        let height = usize::from(conversation.height.saturating_sub(2));
        let lines: Vec<Line<'_>> = history
            .iter()
            .skip(history.len().saturating_sub(height))
            .map(|item| Line::from(item_line(item)))
            .collect();
        frame.render_widget(
            Paragraph::new(lines).block(Block::bordered().title(title)),
            conversation,
        );
        frame.render_widget(
            Paragraph::new(view.compose.as_str()).block(Block::bordered().title("Message")),
            compose,
        );
        frame.render_widget(Paragraph::new(view.status.as_str()).dim(), status);
    })?;
    Ok(())
}

fn chat_title(contact: &ContactSummary) -> String {
    let name = contact
        .profile
        .as_ref()
        .map_or("(connecting)", |profile| profile.display_name());
    let verified = if contact.verified { " · verified" } else { "" };
    let timer = contact
        .timer_secs
        .map(|secs| format!(" · disappearing after {secs} s"))
        .unwrap_or_default();
    format!("{name}{verified}{timer}")
}
