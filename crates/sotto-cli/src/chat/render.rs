//! Drawing the screens from the UI's state and a [`Snapshot`]: pure functions
//! of what they are given, so tests draw them on ratatui's `TestBackend`.

use std::borrow::Cow;
use std::time::Instant;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};
use sotto_core::{
    ChatNotice, ChatView, GroupJoinRequestView, GroupMemberView, GroupRole, ItemView,
    MessageDirection, MessageStatus, QuotedView,
};

use super::app::{App, Draft, Focus, Screen, Snapshot, TIMER_CHOICES};
use crate::commands::notice_text;
use crate::commands::qr;
use crate::terminal_text::{hidden, one_line};

/// The narrowest column for a link beside its QR code.
const LINK_COLUMN: u16 = 30;

/// Draws the whole screen.
pub(crate) fn draw(frame: &mut Frame<'_>, app: &App, snapshot: &Snapshot, now: Instant) {
    if app.locked.is_some() {
        draw_locked(frame);
        return;
    }
    let help_text = help_rows(&help_line(app, snapshot), frame.area().width);
    let help_height = u16::try_from(help_text.len()).unwrap_or(1);
    let [main, status, help] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(help_height),
    ])
    .areas(frame.area());
    match app.screen {
        Screen::Chats => draw_chats(frame, main, app, snapshot, now),
        Screen::Invitation => {
            let (link, waiting) = match app.invitation.as_ref().and_then(|i| i.link.as_deref()) {
                Some(link) => (Some(link), ""),
                None => (None, "Creating the invitation on your relay…"),
            };
            draw_link(
                frame,
                main,
                "One-time invitation",
                link,
                "Share this link, or let the other person scan the code with their Sotto. \
                 It works once: the first person to use it becomes your contact.",
                waiting,
            );
        }
        Screen::Requests => draw_requests(frame, main, app, snapshot),
        Screen::Address => draw_link(
            frame,
            main,
            "Contact address",
            snapshot.address.as_deref(),
            "Anyone with this address can send you a contact request (Ctrl-R lists them). \
             Delete or replace it to stop new requests.",
            "No contact address yet. Press c to create one.",
        ),
        Screen::Verify => draw_verify(frame, main, app, snapshot),
        Screen::Members => draw_members(frame, main, app, snapshot),
    }
    let status_line = match (&snapshot.relay_problem, app.status.is_empty()) {
        (Some(problem), true) => Line::from(format!("Relay unreachable: {problem}")).fg(Color::Red),
        _ => Line::from(app.status.as_str()).bold(),
    };
    frame.render_widget(Paragraph::new(status_line), status);
    let help_text: Vec<Line<'_>> = help_text.into_iter().map(Line::from).collect();
    frame.render_widget(Paragraph::new(help_text).dim(), help);
    drop_hidden_characters(frame.buffer_mut());
}

/// Whatever a contact or a relay sent, no control character (the start of an
/// escape sequence) and no bidirectional override reaches the terminal: they
/// are dropped from every cell (ratatui keeps zero-width characters).
fn drop_hidden_characters(buffer: &mut Buffer) {
    for cell in &mut buffer.content {
        if cell.symbol().chars().any(hidden) {
            let shown: String = cell.symbol().chars().filter(|c| !hidden(*c)).collect();
            cell.set_symbol(if shown.is_empty() { " " } else { &shown });
        }
    }
}

/// The keys on one row, or two where one is too narrow (broken between
/// keys, never inside one).
fn help_rows(help: &str, width: u16) -> Vec<String> {
    let mut first = String::new();
    let mut second = String::new();
    for key in help.split(" · ") {
        let row = if second.is_empty()
            && (first.is_empty()
                || Line::from(format!("{first} · {key}")).width() <= usize::from(width))
        {
            &mut first
        } else {
            &mut second
        };
        if !row.is_empty() {
            row.push_str(" · ");
        }
        row.push_str(key);
    }
    if second.is_empty() {
        vec![first]
    } else {
        vec![first, second]
    }
}

/// The keys of the current screen.
pub(crate) fn help_line(app: &App, snapshot: &Snapshot) -> String {
    match app.screen {
        Screen::Chats if app.timer_choice.is_some() => {
            "Left/Right choose the timer · Enter set it · Esc cancel · Ctrl-C quit".to_owned()
        }
        Screen::Chats if app.focus == Focus::Messages => {
            "Up/Down message · r reply · + react · e edit · d delete · Tab/Esc back · Ctrl-C quit"
                .to_owned()
        }
        Screen::Chats => {
            let requests = match snapshot.requests.len() {
                0 => String::new(),
                n => format!(" ({n})"),
            };
            let typing = if snapshot.typing_indicators {
                "on"
            } else {
                "off"
            };
            // A group has a security code per member, on its members screen.
            let codes = if app.current(snapshot).is_some_and(|c| c.members.is_some()) {
                "Ctrl-K members (/members)"
            } else {
                "Ctrl-K verify"
            };
            format!(
                "Enter send · Up/Down chat · Tab pick message · Ctrl-D timer · \
                 {codes} · Ctrl-N invite · Ctrl-R requests{requests} · Ctrl-A address · \
                 Ctrl-T typing: {typing} · Esc quit"
            )
        }
        Screen::Invitation => "n new invitation · Esc back · Ctrl-C quit".to_owned(),
        Screen::Requests => {
            "Up/Down choose · a/Enter accept · x reject · Esc back · Ctrl-C quit".to_owned()
        }
        Screen::Address => "c create (or replace) · d delete · Esc back · Ctrl-C quit".to_owned(),
        Screen::Verify => "v mark as verified · u unmark · Esc back · Ctrl-C quit".to_owned(),
        Screen::Members => {
            let waiting = snapshot.group.as_ref().map_or(0, |g| g.requests.len());
            match (app.join_request, waiting) {
                (Some(_), _) => "Up/Down request · a/Enter approve · x decline · Tab members · \
                                 Esc back · Ctrl-C quit"
                    .to_owned(),
                (None, 0) => "Up/Down member · Esc back · Ctrl-C quit".to_owned(),
                (None, n) => {
                    format!("Up/Down member · Tab requests to join ({n}) · Esc back · Ctrl-C quit")
                }
            }
        }
    }
}

fn draw_locked(frame: &mut Frame<'_>) {
    frame.render_widget(
        Paragraph::new("Locked. Type the passphrase and press Enter (Esc quits).")
            .block(Block::bordered().title("Sotto")),
        frame.area(),
    );
}

fn draw_chats(frame: &mut Frame<'_>, area: Rect, app: &App, snapshot: &Snapshot, now: Instant) {
    let [main, compose] = Layout::vertical([Constraint::Min(3), Constraint::Length(3)]).areas(area);
    let [list, conversation] =
        Layout::horizontal([Constraint::Length(28), Constraint::Min(20)]).areas(main);
    let items: Vec<ListItem<'_>> = snapshot
        .contacts
        .iter()
        .map(|contact| {
            let unread = if contact.unread > 0 {
                format!(" ({})", contact.unread)
            } else {
                String::new()
            };
            let typing = if app.is_typing(contact.id, now) {
                " ✎"
            } else {
                ""
            };
            ListItem::new(format!("{}{unread}{typing}", name(contact)))
        })
        .collect();
    let selected = app
        .chat
        .and_then(|chat| snapshot.contacts.iter().position(|c| c.id == chat));
    let mut state = ListState::default().with_selected(selected);
    let list_title = match snapshot.requests.len() {
        0 => "Chats".to_owned(),
        n => format!("Chats · {n} request{}", if n == 1 { "" } else { "s" }),
    };
    frame.render_stateful_widget(
        List::new(items)
            .block(Block::bordered().title(list_title))
            .highlight_style(Style::new().reversed()),
        list,
        &mut state,
    );

    let current = app.current(snapshot);
    let mut block = Block::bordered().title(current.map_or_else(
        || "No chats yet: Ctrl-N creates an invitation".to_owned(),
        chat_header,
    ));
    if let Some(contact) = current
        && app.is_typing(contact.id, now)
    {
        block = block.title_bottom(Line::from(format!(" {} is typing… ", name(contact))).italic());
    }
    let (lines, chosen) = conversation_lines(app, snapshot, current);
    let mut inner = block.inner(conversation);
    frame.render_widget(block, conversation);
    // A group's description on the row under its header.
    if let Some(group) = &snapshot.group
        && !group.description.is_empty()
        && inner.height > 1
    {
        let [about, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
        frame.render_widget(
            Paragraph::new(
                Line::from(one_line(&group.description).into_owned())
                    .dim()
                    .italic(),
            ),
            about,
        );
        inner = rest;
    }
    // Long messages wrap: count rows, not lines.
    let rows = |lines: &[Line<'_>]| {
        Paragraph::new(lines.to_vec())
            .wrap(Wrap { trim: false })
            .line_count(inner.width)
    };
    // The newest rows, or enough of the older ones to show the chosen message.
    let mut top = rows(&lines).saturating_sub(usize::from(inner.height));
    if let Some(chosen) = chosen {
        top = top.min(if chosen == 0 {
            0
        } else {
            rows(&lines[..chosen])
        });
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(top).unwrap_or(u16::MAX), 0)),
        inner,
    );

    let compose_title = match app.draft {
        Draft::Message => "Message".to_owned(),
        Draft::Reply(n) => format!("Reply to {} (Esc cancels)", n.0),
        Draft::Edit(n) => format!("Edit {} (Esc cancels)", n.0),
        Draft::React(n) => format!("Reaction to {} (empty removes; Esc cancels)", n.0),
    };
    let compose_style = if app.focus == Focus::Compose {
        Style::new()
    } else {
        Style::new().dim()
    };
    if let Some(choice) = app.timer_choice {
        let choices: Vec<Span<'_>> = TIMER_CHOICES
            .iter()
            .enumerate()
            .flat_map(|(i, secs)| {
                let label = Span::from(format!(
                    " {} ",
                    secs.map_or_else(|| "off".to_owned(), duration_text)
                ));
                [
                    if i == choice { label.reversed() } else { label },
                    Span::from(" "),
                ]
            })
            .collect();
        frame.render_widget(
            Paragraph::new(Line::from(choices))
                .block(Block::bordered().title("Disappearing messages in this chat")),
            compose,
        );
        return;
    }
    // Line breaks (from a paste) show as ⏎; the text before the cursor ends
    // where the cursor stands, and as much of what follows as fits.
    let inner = compose.width.saturating_sub(2);
    let before = app.compose.before_cursor().replace('\n', "⏎");
    let after = app.compose.as_str()[app.compose.before_cursor().len()..].replace('\n', "⏎");
    let shown = draft_tail(&before, inner.saturating_sub(1));
    let cursor_x = u16::try_from(Span::raw(shown.as_ref()).width()).unwrap_or(inner);
    frame.render_widget(
        Paragraph::new(format!("{shown}{after}"))
            .style(compose_style)
            .block(Block::bordered().title(compose_title)),
        compose,
    );
    if app.focus == Focus::Compose && app.locked.is_none() {
        frame.set_cursor_position((compose.x + 1 + cursor_x.min(inner), compose.y + 1));
    }
}

/// The end of what is being typed, where it is wider than the compose line:
/// `…` and as much of its end as fits, so that the typing shows.
fn draft_tail(draft: &str, width: u16) -> Cow<'_, str> {
    let width = usize::from(width);
    if Span::raw(draft).width() <= width {
        return Cow::Borrowed(draft);
    }
    let mut start = draft.len();
    let mut used = 1;
    for (at, c) in draft.char_indices().rev() {
        used += Span::raw(&draft[at..at + c.len_utf8()]).width();
        if used > width {
            break;
        }
        start = at;
    }
    Cow::Owned(format!("…{}", &draft[start..]))
}

/// The conversation as lines, and the first line of the chosen message.
fn conversation_lines<'a>(
    app: &App,
    snapshot: &'a Snapshot,
    current: Option<&'a ChatView>,
) -> (Vec<Line<'a>>, Option<usize>) {
    let contact_name = current.map_or("them", name);
    let mut lines = Vec::new();
    let mut chosen = None;
    for item in &snapshot.history {
        let is_chosen = app.focus == Focus::Messages && app.message == Some(item.number);
        if is_chosen {
            chosen = Some(lines.len());
        }
        let first = lines.len();
        match (&item.notice, &item.text) {
            (Some(notice), _) => lines.push(notice_line(&notice.0, contact_name)),
            (None, text) => {
                if let Some(quoted) = item.reply_to {
                    let quote = item.quoted.as_ref().map_or_else(
                        || format!("message {}", quoted.0),
                        |other| {
                            format!(
                                "{}: {}",
                                author(other.direction, contact_name),
                                snippet(other, 40)
                            )
                        },
                    );
                    lines.push(Line::from(format!("      ↪ {quote}")).dim().italic());
                }
                let file = item.file.as_deref().map(crate::commands::file_text);
                lines.push(message_line(
                    item,
                    file.as_deref().or(text.as_deref()).unwrap_or_default(),
                    contact_name,
                ));
            }
        }
        if is_chosen {
            for line in &mut lines[first..] {
                *line = std::mem::take(line).reversed();
            }
        }
    }
    (lines, chosen)
}

fn message_line<'a>(item: &'a ItemView, text: &str, contact_name: &'a str) -> Line<'a> {
    let at = crate::clock_text::stamp(item.at, sotto_client::runtime::now_millis());
    let mut spans = vec![Span::from(format!("{:>4} {at} ", item.number.0)).dim()];
    // In a group, the member's name in the group.
    let who = match &item.sender {
        Some(sender) => one_line(&sender.name).into_owned(),
        None => author(item.direction, contact_name).to_owned(),
    };
    spans.push(match item.direction {
        MessageDirection::Outgoing => Span::from(format!("{who}: ")).bold().fg(Color::Cyan),
        _ => Span::from(format!("{who}: ")).bold().fg(Color::Magenta),
    });
    if item.deleted {
        spans.push(Span::from("message deleted").dim().italic());
    } else {
        // Lines of a message read as one line, with spaces between.
        spans.push(Span::from(one_line(text).into_owned()));
    }
    if item.edited && !item.deleted {
        spans.push(Span::from(" (edited)").dim());
    }
    if item.mentions_me {
        spans.push(Span::from("  @you").bold().fg(Color::Yellow));
    }
    for reaction in &item.reactions {
        let by = match (reaction.mine, &reaction.member) {
            (true, _) => "you",
            // In a group, how many reacted shows; who, in `history --json`.
            (false, Some(_)) => "",
            (false, None) => contact_name,
        };
        spans.push(Span::from(format!("  {} {by}", one_line(&reaction.emoji))));
    }
    if item.direction == MessageDirection::Outgoing {
        spans.push(receipt(item.status));
        if let Some(receipts) = &item.receipts {
            spans.push(
                Span::from(format!(
                    " (read by {} of {})",
                    receipts.read, receipts.members
                ))
                .dim(),
            );
        }
    }
    Line::from(spans)
}

/// An outgoing message's state: pending, sent, delivered, read or failed.
pub(crate) fn receipt(status: MessageStatus) -> Span<'static> {
    match status {
        MessageStatus::Pending => Span::from("  … pending").dim(),
        MessageStatus::Sent => Span::from("  ✓ sent").dim(),
        MessageStatus::Delivered => Span::from("  ✓✓ delivered").dim(),
        MessageStatus::Read => Span::from("  ✓✓ read").fg(Color::Green),
        MessageStatus::Failed => Span::from("  ✗ failed").fg(Color::Red).bold(),
    }
}

/// Notices stand apart from messages: integrity problems in yellow, a key
/// change in red, the rest dimmed.
fn notice_line(notice: &ChatNotice, contact_name: &str) -> Line<'static> {
    match notice {
        ChatNotice::Integrity(_) => Line::from(format!("  ⚠ integrity: {}", notice_text(notice)))
            .style(Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)),
        ChatNotice::KeysChanged => Line::from(format!(
            "  ⚠ {contact_name}'s keys changed: the security code is new and no longer \
             verified; compare it again (Ctrl-K)"
        ))
        .style(Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)),
        ChatNotice::Connected
        | ChatNotice::TimerChanged { .. }
        | ChatNotice::MediaPrivacyChanged { .. }
        | ChatNotice::GroupDeleted { .. }
        | ChatNotice::GroupLogGone => Line::from(format!("  · {} ·", notice_text(notice))).dim(),
    }
}

fn author(direction: MessageDirection, contact_name: &str) -> &str {
    match direction {
        MessageDirection::Outgoing => "you",
        _ => contact_name,
    }
}

/// The start of a message's text, for a quote.
fn snippet(item: &QuotedView, chars: usize) -> String {
    if item.deleted {
        return "message deleted".to_owned();
    }
    let text = one_line(&item.text);
    if text.chars().count() > chars {
        let cut: String = text.chars().take(chars).collect();
        format!("{cut}…")
    } else {
        text.into_owned()
    }
}

fn name(contact: &ChatView) -> &str {
    contact.display_name()
}

/// The conversation's title: the name, verification and the timer.
pub(crate) fn chat_header(contact: &ChatView) -> String {
    let verified = if contact.verified { " · verified" } else { "" };
    let members = contact
        .members
        .map(|count| format!(" · group of {count}"))
        .unwrap_or_default();
    let timer = contact
        .timer_secs
        .map(|secs| format!(" · ⏱ disappearing after {}", duration_text(secs)))
        .unwrap_or_default();
    format!("{}{verified}{members}{timer}", name(contact))
}

/// Seconds in the largest whole unit (a timer is 30 s to 4 weeks).
pub(crate) fn duration_text(secs: u32) -> String {
    const UNITS: [(u32, &str, &str); 5] = [
        (7 * 86_400, "week", "weeks"),
        (86_400, "day", "days"),
        (3_600, "hour", "hours"),
        (60, "min", "min"),
        (1, "s", "s"),
    ];
    for (size, one, many) in UNITS {
        if secs >= size && secs.is_multiple_of(size) {
            let count = secs / size;
            return format!("{count} {}", if count == 1 { one } else { many });
        }
    }
    format!("{secs} s")
}

fn draw_requests(frame: &mut Frame<'_>, area: Rect, app: &App, snapshot: &Snapshot) {
    let block = Block::bordered().title(format!("Contact requests ({})", snapshot.requests.len()));
    if snapshot.requests.is_empty() {
        frame.render_widget(
            Paragraph::new(
                "No contact requests. People send them through your contact address (Ctrl-A).",
            )
            .wrap(Wrap { trim: true })
            .block(block),
            area,
        );
        return;
    }
    let items: Vec<ListItem<'_>> = snapshot
        .requests
        .iter()
        .map(|request| {
            let bio = request
                .bio
                .as_deref()
                .map(|bio| format!(" — {bio}"))
                .unwrap_or_default();
            ListItem::new(format!("{:>4}  {}{bio}", request.id.0, request.name))
        })
        .collect();
    let mut state = ListState::default().with_selected(Some(app.request));
    frame.render_stateful_widget(
        List::new(items)
            .block(block)
            .highlight_style(Style::new().reversed()),
        area,
        &mut state,
    );
}

/// The open chat's security code: its digits and QR code, and whether it is
/// marked verified.
fn draw_verify(frame: &mut Frame<'_>, area: Rect, app: &App, snapshot: &Snapshot) {
    let contact = app.current(snapshot);
    let title = format!("Security code with {}", contact.map_or("them", name));
    let Some(code) = &snapshot.security_code else {
        let text = vec![Line::from(
            "No security code yet: the contact is still connecting.",
        )];
        draw_beside(frame, area, &title, None, text);
        return;
    };
    let groups: Vec<&str> = code.digits.split(' ').collect();
    let half = groups.len().div_ceil(2);
    let state = if contact.is_some_and(|c| c.verified) {
        Line::from("✓ verified").fg(Color::Green).bold()
    } else {
        Line::from("not verified").fg(Color::Yellow)
    };
    let text = vec![
        Line::from(groups[..half].join(" ")).bold(),
        Line::from(groups[half..].join(" ")).bold(),
        Line::from(""),
        state,
        Line::from(""),
        Line::from(
            "Compare these digits with the ones your contact sees (in person, or on a \
             call you trust), or let them scan the code. Mark the contact verified only \
             if they match: a different code means someone may be in between.",
        ),
    ];
    draw_beside(frame, area, &title, Some(&qr(&code.qr_payload)), text);
}

/// The open group: its profile (how owners and admins change it) above its
/// members, and the chosen member's security code beside them.
fn draw_members(frame: &mut Frame<'_>, area: Rect, app: &App, snapshot: &Snapshot) {
    let Some(group) = &snapshot.group else {
        return;
    };
    let header = app.current(snapshot).map(chat_header).unwrap_or_default();
    let mut about = Vec::new();
    if !group.description.is_empty() {
        // Its own line breaks stay; nothing else of it reaches the terminal
        // but text.
        about.extend(
            group
                .description
                .lines()
                .map(|line| Line::from(one_line(line).into_owned())),
        );
    }
    about.push(
        Line::from(match group.picture_len {
            0 => "No picture.".to_owned(),
            len => format!("A picture of {len} bytes."),
        })
        .dim(),
    );
    let role = group.members.iter().find(|m| m.me).map(|m| m.role);
    let editor = match role {
        Some(GroupRole::Owner) => Some("an owner"),
        Some(GroupRole::Admin) => Some("an admin"),
        Some(GroupRole::Member) | None => None,
    };
    about.push(match editor {
        Some(editor) => Line::from(format!(
            "You are {editor} of this group. In the chat, /name NAME, /description TEXT, \
             /picture PATH and /no-picture change its profile for every member."
        )),
        None => {
            Line::from("Owners and admins change the group's name, description and picture.").dim()
        }
    });
    about.push(
        Line::from(
            "/me NAME, /me-picture PATH and /me-no-picture change the name and picture \
             you show in this group.",
        )
        .dim(),
    );
    let block = Block::bordered().title(header);
    let about_height = Paragraph::new(about.clone())
        .wrap(Wrap { trim: false })
        .line_count(block.inner(area).width);
    let about_height = u16::try_from(about_height)
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .min(area.height / 2);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(about_height), Constraint::Min(3)]).areas(area);
    frame.render_widget(
        Paragraph::new(about)
            .wrap(Wrap { trim: false })
            .block(block),
        top,
    );
    let [list, code] =
        Layout::horizontal([Constraint::Length(34), Constraint::Min(20)]).areas(bottom);
    let list = if group.requests.is_empty() {
        list
    } else {
        // The requests to join under the members, at most half the column.
        let rows = u16::try_from(group.requests.len())
            .unwrap_or(u16::MAX)
            .saturating_add(2)
            .min(list.height / 2);
        let [members, requests] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(rows)]).areas(list);
        let items: Vec<ListItem<'_>> = group.requests.iter().map(request_item).collect();
        let mut state = ListState::default().with_selected(app.join_request);
        frame.render_stateful_widget(
            List::new(items)
                .block(
                    Block::bordered().title(format!("Requests to join ({})", group.requests.len())),
                )
                .highlight_style(Style::new().reversed()),
            requests,
            &mut state,
        );
        members
    };
    let items: Vec<ListItem<'_>> = group.members.iter().map(member_item).collect();
    let chosen = app.join_request.is_none().then_some(app.member);
    let mut state = ListState::default().with_selected(chosen);
    frame.render_stateful_widget(
        List::new(items)
            .block(Block::bordered().title(format!("Members ({})", group.members.len())))
            .highlight_style(Style::new().reversed()),
        list,
        &mut state,
    );
    let Some(member) = group.members.get(app.member) else {
        return;
    };
    let member_name = one_line(&member.name);
    if member.me {
        let text = vec![Line::from(
            "This is you. Each other member sees a security code with you in their own list: \
             compare it with the one shown here under their name.",
        )];
        draw_beside(frame, code, "You", None, text);
        return;
    }
    let title = format!("Security code with {member_name} in this group");
    let Some(shown) = &snapshot.security_code else {
        let text = vec![Line::from("No security code with this member.")];
        draw_beside(frame, code, &title, None, text);
        return;
    };
    let groups: Vec<&str> = shown.digits.split(' ').collect();
    let half = groups.len().div_ceil(2);
    let text = vec![
        Line::from(groups[..half].join(" ")).bold(),
        Line::from(groups[half..].join(" ")).bold(),
        Line::from(""),
        Line::from(format!(
            "Compare these digits with the ones {member_name} sees for you in this group (in \
             person, or on a call you trust), or let them scan the code. The code is \
             different in every group: it links no member across groups."
        )),
    ];
    draw_beside(frame, code, &title, Some(&qr(&shown.qr_payload)), text);
}

/// A request to join as the requests list shows it.
fn request_item(request: &GroupJoinRequestView) -> ListItem<'static> {
    let state = if request.approved {
        "approved: joining…"
    } else {
        "waiting"
    };
    ListItem::new(format!("{} · {state}", one_line(&request.name)))
}

/// A member as the members list shows them.
fn member_item(member: &GroupMemberView) -> ListItem<'static> {
    let you = if member.me { " (you)" } else { "" };
    let blocked = if member.blocked { " · blocked" } else { "" };
    ListItem::new(format!(
        "{}{you} · {}{blocked}",
        one_line(&member.name),
        role_text(member.role)
    ))
}

fn role_text(role: GroupRole) -> &'static str {
    match role {
        GroupRole::Owner => "owner",
        GroupRole::Admin => "admin",
        GroupRole::Member => "member",
    }
}

/// A link with its QR code on the left (when there is a link).
fn draw_link(
    frame: &mut Frame<'_>,
    area: Rect,
    title: &str,
    link: Option<&str>,
    explanation: &str,
    without: &str,
) {
    let Some(link) = link else {
        draw_beside(
            frame,
            area,
            title,
            None,
            vec![Line::from(without.to_owned())],
        );
        return;
    };
    let text = vec![
        Line::from(link.to_owned()).bold(),
        Line::from(""),
        Line::from(explanation.to_owned()),
    ];
    draw_beside(frame, area, title, Some(&qr(link)), text);
}

/// Text in a bordered block, with a QR code on its left when there is one;
/// a terminal too small for the whole code gets the size it needs instead
/// (a cut code does not scan).
fn draw_beside(
    frame: &mut Frame<'_>,
    area: Rect,
    title: &str,
    code: Option<&str>,
    mut text: Vec<Line<'_>>,
) {
    let block = Block::bordered().title(title.to_owned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(code) = code else {
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
        return;
    };
    let code_width = code.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let code_width = u16::try_from(code_width).unwrap_or(u16::MAX);
    let code_height = u16::try_from(code.lines().count()).unwrap_or(u16::MAX);
    let fits =
        code_height <= inner.height && code_width.saturating_add(2 + LINK_COLUMN) <= inner.width;
    if !fits {
        text.push(Line::from(""));
        text.push(
            Line::from(format!(
                "The QR code needs a terminal of at least {}×{} (this one is {}×{}).",
                code_width.saturating_add(4 + LINK_COLUMN),
                code_height.saturating_add(4),
                inner.width.saturating_add(2),
                inner.height.saturating_add(4),
            ))
            .dim(),
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), inner);
        return;
    }
    let [code_area, text_area] =
        Layout::horizontal([Constraint::Length(code_width), Constraint::Min(LINK_COLUMN)])
            .spacing(2)
            .areas(inner);
    frame.render_widget(Paragraph::new(code.to_owned()), code_area);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), text_area);
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use sotto_core::{ChatId, InvitationId};

    use super::*;
    use crate::chat::app::ShownInvitation;
    use crate::chat::fixtures::{ADDRESS, group_snapshot, item, snapshot, text};

    fn render(app: &App, snapshot: &Snapshot, width: u16, height: u16) -> Buffer {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| draw(frame, app, snapshot, Instant::now()))
            .unwrap();
        terminal.backend().buffer().clone()
    }

    /// The visible cells of row `y` (a wide character hides the cell after it).
    fn cells(buffer: &Buffer, y: u16) -> Vec<(u16, &str)> {
        let mut cells = Vec::new();
        let mut x = 0;
        while x < buffer.area.width {
            let symbol = buffer[(x, y)].symbol();
            cells.push((x, symbol));
            let width = u16::try_from(Span::raw(symbol).width()).unwrap();
            x += width.max(1);
        }
        cells
    }

    fn rows(buffer: &Buffer) -> Vec<String> {
        (0..buffer.area.height)
            .map(|y| cells(buffer, y).into_iter().map(|(_, s)| s).collect())
            .collect()
    }

    /// The row that contains `text`, with its index.
    fn row_with(buffer: &Buffer, text: &str) -> (u16, String) {
        let rows = rows(buffer);
        let found = rows.iter().position(|row| row.contains(text));
        let y = found.unwrap_or_else(|| panic!("{text:?} is not on screen:\n{}", rows.join("\n")));
        (u16::try_from(y).unwrap(), rows[y].clone())
    }

    /// The style of the cell where `text` starts on row `y`.
    fn style_at(buffer: &Buffer, y: u16, text: &str) -> Style {
        let cells = cells(buffer, y);
        let start = (0..cells.len())
            .find(|&i| {
                cells[i..]
                    .iter()
                    .map(|(_, s)| *s)
                    .collect::<String>()
                    .starts_with(text)
            })
            .unwrap();
        buffer[(cells[start].0, y)].style()
    }

    /// The QR code of `link` is drawn on the rows from the link's down, and
    /// to its left.
    fn assert_code_beside(buffer: &Buffer, link: &str) {
        // A long link wraps: its start is on the first row.
        let start = &link[..40];
        let (y_link, row) = row_with(buffer, start);
        let link_column = row[..row.find(start).unwrap()].chars().count();
        let code = qr(link);
        // Past the quiet zone, a row of modules.
        let modules = code.lines().nth(3).unwrap();
        let (y_code, code_row) = row_with(buffer, modules);
        let code_column = code_row[..code_row.find(modules).unwrap()].chars().count();
        assert!(y_code > y_link && y_code < y_link + 5, "{y_link} {y_code}");
        assert!(code_column + modules.chars().count() < link_column, "{row}");
        // The whole code fits: its last row with modules is on screen too.
        row_with(buffer, code.lines().rev().nth(2).unwrap());
    }

    fn app_for(snapshot: &Snapshot) -> App {
        let mut app = App::new();
        app.settle(snapshot);
        app
    }

    #[test]
    fn the_chats_screen_shows_the_list_the_header_and_every_kind_of_item() {
        let snapshot = snapshot();
        let app = app_for(&snapshot);
        let buffer = render(&app, &snapshot, 150, 24);
        let (_, row) = row_with(&buffer, "Bob · verified · ⏱ disappearing after 5 min");
        assert!(row.contains("Chats · 2 requests"), "{row}");
        row_with(&buffer, "Carol (2)");
        // Receipts per outgoing message, reactions, edits and the quote of a reply.
        let (_, first) = row_with(&buffer, "you: first!");
        assert!(first.contains("😂 Bob"), "{first}");
        assert!(first.contains("✓✓ read"), "{first}");
        let (_, question) = row_with(&buffer, "Bob: are we still on for tonight?");
        assert!(question.contains("👍 you"), "{question}");
        row_with(&buffer, "↪ Bob: are we still on for tonight?");
        let (_, answer) = row_with(&buffer, "you: see you at 6 (edited)");
        assert!(answer.contains("✓✓ delivered"), "{answer}");
        // Notices stand out: integrity in yellow, a key change in red.
        let (y, _) = row_with(&buffer, "⚠ integrity: messages 4 to 5 are missing");
        assert_eq!(style_at(&buffer, y, "⚠ integrity").fg, Some(Color::Yellow));
        let (y, _) = row_with(&buffer, "⚠ Bob's keys changed");
        assert_eq!(style_at(&buffer, y, "⚠ Bob's keys").fg, Some(Color::Red));
        row_with(
            &buffer,
            "· the contact set disappearing messages to 300 s ·",
        );
        // The keys take the last two rows where one is too narrow.
        let (y, _) = row_with(&buffer, "Enter send");
        assert_eq!(y, 22);
        let help = rows(&buffer)[22..].join(" ");
        for key in [
            "Ctrl-D timer",
            "Ctrl-K verify",
            "Ctrl-N invite",
            "Ctrl-R requests (2)",
            "Ctrl-A address",
            "Esc quit",
        ] {
            assert!(help.contains(key), "{help}");
        }
        assert!(help.contains("Ctrl-T typing: off"), "{help}");
    }

    #[test]
    fn a_group_shows_each_member_by_name_mentions_and_read_counts() {
        let mut snapshot = snapshot();
        let mut from_ann = item(
            6,
            MessageDirection::Incoming,
            MessageStatus::Read,
            text("ropes, @Alice?", None),
        );
        from_ann.sender = Some(Box::new(sotto_core::SenderView {
            id: "0a".repeat(16),
            name: "Ann".to_owned(),
        }));
        from_ann.mentions_me = true;
        let mut mine = item(
            7,
            MessageDirection::Outgoing,
            MessageStatus::Delivered,
            text("two", None),
        );
        mine.receipts = Some(Box::new(sotto_core::GroupReceiptsView {
            members: 12,
            delivered: 12,
            read: 5,
            by: Vec::new(),
        }));
        snapshot.history = vec![from_ann, mine];
        snapshot.contacts[0].members = Some(13);
        snapshot.contacts[0].verified = false;
        let buffer = render(&app_for(&snapshot), &snapshot, 120, 20);
        row_with(&buffer, "Bob · group of 13");
        assert!(row_with(&buffer, "Ann: ropes, @Alice?").1.contains("@you"));
        assert!(
            row_with(&buffer, "you: two")
                .1
                .contains("(read by 5 of 12)")
        );
    }

    #[test]
    fn a_group_shows_its_description_under_its_header() {
        let snapshot = group_snapshot();
        let buffer = render(&app_for(&snapshot), &snapshot, 150, 24);
        let (y_header, _) = row_with(&buffer, "Climbing · group of 3");
        let (y, _) = row_with(&buffer, "Saturdays at the wall bring shoes");
        assert_eq!(y, y_header + 1);
        assert!(
            style_at(&buffer, y, "Saturdays")
                .add_modifier
                .contains(Modifier::DIM)
        );
        // The conversation follows it.
        row_with(&buffer, "you: first!");
        let help = rows(&buffer)[22..].join(" ");
        assert!(help.contains("Ctrl-K members (/members)"), "{help}");
    }

    #[test]
    fn the_members_screen_shows_the_profile_the_roles_and_each_members_code() {
        let mut snapshot = group_snapshot();
        let mut app = app_for(&snapshot);
        app.handle_key(
            KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL),
            &snapshot,
        );
        assert_eq!(app.screen, Screen::Members);
        // This profile first: no code with itself.
        let buffer = render(&app, &snapshot, 150, 40);
        row_with(&buffer, "Climbing · group of 3");
        row_with(&buffer, "Saturdays at the wall");
        row_with(&buffer, "bring shoes");
        row_with(&buffer, "A picture of 1234 bytes.");
        row_with(&buffer, "You are an owner of this group.");
        row_with(&buffer, "/name NAME, /description TEXT,");
        row_with(&buffer, "Members (3)");
        let (y, _) = row_with(&buffer, "Alice (you) · owner");
        assert!(
            style_at(&buffer, y, "Alice")
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        row_with(&buffer, "Ann · admin");
        row_with(&buffer, "Bob · member · blocked");
        row_with(&buffer, "This is you.");
        row_with(
            &buffer,
            "Up/Down member · Tab requests to join (2) · Esc back",
        );
        // The requests to join under the members, none chosen yet.
        row_with(&buffer, "Requests to join (2)");
        let (y, _) = row_with(&buffer, "Dora · waiting");
        assert!(
            !style_at(&buffer, y, "Dora")
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        row_with(&buffer, "Eli · approved: joining…");

        // Ann's code: its digits with its QR code on their left.
        app.handle_key(KeyEvent::from(KeyCode::Down), &snapshot);
        let buffer = render(&app, &snapshot, 150, 40);
        row_with(&buffer, "Security code with Ann in this group");
        let (y_digits, row) = row_with(&buffer, "01234 56789 13579");
        row_with(&buffer, "24680 11111 22222");
        let code = qr([1u8; 33]);
        let modules = code.lines().nth(3).unwrap();
        let (y_code, code_row) = row_with(&buffer, modules);
        let digits_column = row[..row.find("01234").unwrap()].chars().count();
        let code_column = code_row[..code_row.find(modules).unwrap()].chars().count();
        assert!(y_code > y_digits.saturating_sub(5) && y_code < y_digits + 5);
        assert!(code_column + modules.chars().count() < digits_column);

        // A plain member learns who may change the profile; a member's name
        // from the group reaches the terminal without its controls.
        let group = snapshot.group.as_mut().unwrap();
        group.members[0].role = GroupRole::Member;
        group.members[1].name = "Ann\x1b[2J\u{202E}".to_owned();
        group.picture_len = 0;
        let buffer = render(&app, &snapshot, 150, 40);
        row_with(&buffer, "Owners and admins change the group's name");
        row_with(&buffer, "No picture.");
        row_with(&buffer, "Alice (you) · member");
        for cell in &buffer.content {
            assert!(!cell.symbol().chars().any(hidden), "{:?}", cell.symbol());
        }
        // Tab goes to the requests: the first is chosen, no member is.
        app.handle_key(KeyEvent::from(KeyCode::Tab), &snapshot);
        let buffer = render(&app, &snapshot, 150, 40);
        let (y, _) = row_with(&buffer, "Dora · waiting");
        assert!(
            style_at(&buffer, y, "Dora")
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        let (y, _) = row_with(&buffer, "Ann");
        assert!(
            !style_at(&buffer, y, "Ann")
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        row_with(&buffer, "a/Enter approve · x decline · Tab members");
        // Esc goes back to the chat.
        app.handle_key(KeyEvent::from(KeyCode::Esc), &snapshot);
        assert_eq!(app.screen, Screen::Chats);
    }

    #[test]
    fn pending_sent_failed_and_deleted_messages_read_as_such() {
        let mut snapshot = snapshot();
        let mut deleted = item(
            8,
            MessageDirection::Outgoing,
            MessageStatus::Sent,
            text("", None),
        );
        deleted.deleted = true;
        snapshot.history = vec![
            item(
                6,
                MessageDirection::Outgoing,
                MessageStatus::Pending,
                text("queued", None),
            ),
            item(
                7,
                MessageDirection::Outgoing,
                MessageStatus::Failed,
                text("refused", None),
            ),
            deleted,
        ];
        let buffer = render(&app_for(&snapshot), &snapshot, 120, 20);
        assert!(row_with(&buffer, "you: queued").1.contains("… pending"));
        assert!(row_with(&buffer, "you: refused").1.contains("✗ failed"));
        assert!(
            row_with(&buffer, "you: message deleted")
                .1
                .contains("✓ sent")
        );
    }

    #[test]
    fn the_typing_contact_and_the_chosen_message_show() {
        let snapshot = snapshot();
        let mut app = app_for(&snapshot);
        app.contact_typing(ChatId(1), true, Instant::now());
        app.handle_key(KeyEvent::from(KeyCode::Tab), &snapshot);
        app.handle_key(KeyEvent::from(KeyCode::Up), &snapshot);
        app.handle_key(KeyEvent::from(KeyCode::Char('r')), &snapshot);
        let buffer = render(&app, &snapshot, 150, 24);
        row_with(&buffer, "Bob is typing…");
        row_with(&buffer, "Bob ✎");
        row_with(&buffer, "Reply to 3 (Esc cancels)");

        app.handle_key(KeyEvent::from(KeyCode::Tab), &snapshot);
        let buffer = render(&app, &snapshot, 150, 24);
        let (y, _) = row_with(&buffer, "you: see you at 6");
        assert!(
            style_at(&buffer, y, "see you at 6")
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        let (_, help) = row_with(&buffer, "r reply");
        for key in ["+ react", "e edit", "d delete"] {
            assert!(help.contains(key), "{help}");
        }
    }

    #[test]
    fn the_invitation_screen_shows_the_qr_code_beside_the_link() {
        let snapshot = snapshot();
        let mut app = app_for(&snapshot);
        app.handle_key(
            KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL),
            &snapshot,
        );
        let buffer = render(&app, &snapshot, 150, 50);
        row_with(&buffer, "Creating the invitation on your relay…");

        let link = "https://relay.example/invite#AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";
        app.invitation = Some(ShownInvitation {
            id: InvitationId(3),
            link: None,
        });
        app.invitation_ready(InvitationId(3), link.to_owned());
        let buffer = render(&app, &snapshot, 150, 50);
        assert_code_beside(&buffer, link);
        row_with(&buffer, "n new invitation");
    }

    #[test]
    fn the_requests_screen_lists_the_requests_with_keys_to_accept_or_reject() {
        let mut snapshot = snapshot();
        let mut app = app_for(&snapshot);
        app.handle_key(
            KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL),
            &snapshot,
        );
        app.handle_key(KeyEvent::from(KeyCode::Down), &snapshot);
        let buffer = render(&app, &snapshot, 100, 12);
        row_with(&buffer, "Contact requests (2)");
        row_with(&buffer, "7  Dave");
        let (y, _) = row_with(&buffer, "8  Erin — from the conference");
        assert!(
            style_at(&buffer, y, "Erin")
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        row_with(&buffer, "a/Enter accept · x reject");
        snapshot.requests.clear();
        let buffer = render(&app, &snapshot, 100, 12);
        row_with(&buffer, "No contact requests.");
    }

    #[test]
    fn the_address_screen_shows_the_address_or_how_to_create_one() {
        let mut snapshot = snapshot();
        let mut app = app_for(&snapshot);
        app.handle_key(
            KeyEvent::new(KeyCode::Char('a'), KeyModifiers::CONTROL),
            &snapshot,
        );
        let buffer = render(&app, &snapshot, 200, 60);
        assert_code_beside(&buffer, ADDRESS);
        row_with(&buffer, "c create (or replace) · d delete");
        // Where the code does not fit, the link stays and the size is named.
        let buffer = render(&app, &snapshot, 100, 20);
        row_with(&buffer, &ADDRESS[..40]);
        row_with(&buffer, "The QR code needs a terminal of at least");
        assert!(!rows(&buffer).join("").contains('█'));
        snapshot.address = None;
        let buffer = render(&app, &snapshot, 100, 12);
        row_with(&buffer, "No contact address yet. Press c to create one.");
    }

    #[test]
    fn the_lock_screen_shows_no_name_and_no_message() {
        let snapshot = snapshot();
        let mut app = app_for(&snapshot);
        app.locked = Some(zeroize::Zeroizing::new(String::new()));
        let screen = rows(&render(&app, &snapshot, 120, 20)).join("\n");
        assert!(screen.contains("Locked"), "{screen}");
        for secret in ["Bob", "Carol", "see you", "Dave"] {
            assert!(!screen.contains(secret), "{screen}");
        }
    }

    #[test]
    fn escape_sequences_and_bidi_overrides_from_a_contact_never_reach_the_terminal() {
        let mut snapshot = snapshot();
        snapshot.contacts[0].name = Some("Eve\x1b[2J\u{202E}".to_owned());
        snapshot.history = vec![item(
            9,
            MessageDirection::Incoming,
            MessageStatus::Delivered,
            text("\x1b]0;owned\x07hi\nthere\x1b[31m", None),
        )];
        // A reply quotes it on one line too.
        let mut answer = item(
            10,
            MessageDirection::Outgoing,
            MessageStatus::Sent,
            text("answer", Some(9)),
        );
        answer.quoted = Some(sotto_core::QuotedView {
            number: snapshot.history[0].number,
            direction: MessageDirection::Incoming,
            text: snapshot.history[0].text.clone().unwrap_or_default(),
            deleted: false,
        });
        snapshot.history.push(answer);
        let app = app_for(&snapshot);
        let buffer = render(&app, &snapshot, 120, 20);
        // What surrounds them still shows (a dropped character may leave a blank).
        let (_, row) = row_with(&buffer, " Eve [2J: ]0;ownedhi there[31m");
        assert!(row.starts_with("   9 ") || row.contains("│   9 "), "{row}");
        let (_, quote) = row_with(&buffer, "↪ Eve");
        assert!(quote.contains(": ]0;ownedhi there[31m"), "{quote}");
        for cell in &buffer.content {
            assert!(
                !cell.symbol().chars().any(hidden),
                "{:?} reached the terminal",
                cell.symbol()
            );
        }
    }

    #[test]
    fn the_timer_chooser_shows_every_timer_with_the_current_one_chosen() {
        let snapshot = snapshot();
        let mut app = app_for(&snapshot);
        app.handle_key(
            KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL),
            &snapshot,
        );
        let buffer = render(&app, &snapshot, 120, 24);
        row_with(&buffer, "Disappearing messages in this chat");
        let (y, _) = row_with(
            &buffer,
            " off   30 s   5 min   1 hour   1 day   1 week   4 weeks ",
        );
        assert!(
            style_at(&buffer, y, " 5 min ")
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert!(
            !style_at(&buffer, y, " off ")
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        row_with(
            &buffer,
            "Left/Right choose the timer · Enter set it · Esc cancel",
        );
    }

    #[test]
    fn the_security_code_screen_shows_the_digits_the_qr_code_and_the_state() {
        let mut snapshot = snapshot();
        let mut app = app_for(&snapshot);
        app.handle_key(
            KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL),
            &snapshot,
        );
        let buffer = render(&app, &snapshot, 120, 30);
        row_with(&buffer, "Security code with Bob");
        let (y_digits, row) = row_with(&buffer, "01234 56789 13579");
        row_with(&buffer, "24680 11111 22222");
        row_with(&buffer, "✓ verified");
        row_with(&buffer, "v mark as verified · u unmark · Esc back");
        // The QR code of the payload, whole, left of the digits.
        let code = qr([1u8; 33]);
        let digits_column = row[..row.find("01234").unwrap()].chars().count();
        let modules = code.lines().nth(3).unwrap();
        let (y_code, code_row) = row_with(&buffer, modules);
        let code_column = code_row[..code_row.find(modules).unwrap()].chars().count();
        assert!(y_code > y_digits.saturating_sub(5) && y_code < y_digits + 5);
        assert!(
            code_column + modules.chars().count() < digits_column,
            "{row}"
        );
        row_with(&buffer, code.lines().rev().nth(2).unwrap());

        // Not verified; a terminal too small for the code keeps the digits.
        snapshot.contacts[0].verified = false;
        let buffer = render(&app, &snapshot, 80, 14);
        row_with(&buffer, "01234 56789 13579");
        row_with(&buffer, "not verified");
        row_with(&buffer, "The QR code needs a terminal of at least");
        assert!(!rows(&buffer).join("").contains('█'));
        // A contact still connecting has no code yet.
        snapshot.security_code = None;
        let buffer = render(&app, &snapshot, 80, 14);
        row_with(&buffer, "No security code yet");
    }

    #[test]
    fn long_messages_wrap_and_the_newest_or_chosen_one_stays_in_view() {
        let mut snapshot = snapshot();
        let words = |from: u32| -> String {
            (from..from + 40)
                .map(|n| format!("w{n:03}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        snapshot.history = (0..6)
            .map(|n| {
                item(
                    u64::from(n) + 1,
                    MessageDirection::Incoming,
                    MessageStatus::Read,
                    text(&words(n * 100), None),
                )
            })
            .collect();
        let mut app = app_for(&snapshot);
        let buffer = render(&app, &snapshot, 100, 24);
        let screen = rows(&buffer).join("\n");
        // Every word of the newest message shows, none cut.
        for n in 500..540 {
            assert!(screen.contains(&format!("w{n:03}")), "w{n:03}:\n{screen}");
        }
        // Its last row is the conversation's last (above its border, the
        // compose box, the status line and two rows of keys).
        let (y, _) = row_with(&buffer, "w539");
        assert_eq!(y, 24 - 1 - 3 - 1 - 2 - 1);

        // Choosing the oldest message scrolls back to it.
        app.handle_key(KeyEvent::from(KeyCode::Tab), &snapshot);
        for _ in 0..5 {
            app.handle_key(KeyEvent::from(KeyCode::Up), &snapshot);
        }
        let buffer = render(&app, &snapshot, 100, 24);
        let (y, row) = row_with(&buffer, "Bob: w000 w001");
        assert_eq!(y, 1, "{row}");
        row_with(&buffer, "w039");
    }

    #[test]
    fn a_draft_wider_than_the_compose_line_shows_its_end() {
        let snapshot = snapshot();
        let mut app = app_for(&snapshot);
        app.compose
            .set(format!("start {}the end", "word ".repeat(40)));
        let buffer = render(&app, &snapshot, 100, 24);
        // One cell stays free for the cursor after the text.
        let (_, row) = row_with(&buffer, "word the end │");
        assert!(row.contains("│…"), "{row}");
        assert!(!row.contains("start"), "{row}");
        // With the cursor moved back, what follows it shows too.
        app.compose.home();
        let buffer = render(&app, &snapshot, 100, 24);
        let (_, row) = row_with(&buffer, "│start word");
        assert!(row.contains("word word"), "{row}");
        assert_eq!(draft_tail("short", 10), "short");
        assert_eq!(draft_tail("日本語のテキスト", 7), "…キスト");
    }

    #[test]
    fn timers_read_in_their_largest_unit() {
        assert_eq!(duration_text(30), "30 s");
        assert_eq!(duration_text(90), "90 s");
        assert_eq!(duration_text(300), "5 min");
        assert_eq!(duration_text(3_600), "1 hour");
        assert_eq!(duration_text(86_400), "1 day");
        assert_eq!(duration_text(28 * 86_400), "4 weeks");
    }
}
