//! Text output for people: chat items, contact names and QR codes. What a
//! contact sent is put on one line without hidden characters.

use sotto_core::{
    ChatId, ChatNotice, FileView, IntegrityNotice, ItemView, MessageDirection, UnixMillis,
};

use super::Session;
use crate::json;
use crate::terminal_text::one_line;

/// A chat item as one line of text.
pub(crate) fn item_line(item: &ItemView, now: UnixMillis) -> String {
    let arrow = match item.direction {
        MessageDirection::Incoming => "<",
        MessageDirection::Outgoing => ">",
        MessageDirection::Notice => "-",
    };
    let body = match (&item.text, &item.notice) {
        (_, Some(notice)) => format!("[{}]", notice_text(&notice.0)),
        (_, None) if item.deleted && item.file.is_some() => "(deleted)".to_owned(),
        (_, None) if item.file.is_some() => item.file.as_deref().map(file_text).unwrap_or_default(),
        (text, None) => {
            let text = text.as_deref().unwrap_or_default();
            let mut line = String::new();
            if let Some(reply_to) = item.reply_to {
                line.push_str(&format!("(reply to {}) ", reply_to.0));
            }
            if item.deleted {
                line.push_str("(deleted)");
            } else {
                line.push_str(&one_line(text));
            }
            if item.edited {
                line.push_str(" (edited)");
            }
            line
        }
    };
    let reactions: String = item
        .reactions
        .iter()
        .map(|r| one_line(&r.emoji))
        .collect::<Vec<_>>()
        .join("");
    let reactions = if reactions.is_empty() {
        String::new()
    } else {
        format!("  {reactions}")
    };
    let status = match (&item.direction, &item.receipts) {
        (MessageDirection::Outgoing, Some(receipts)) => format!(
            "  [{}, read by {} of {}]",
            json::spelling(&item.status),
            receipts.read,
            receipts.members
        ),
        (MessageDirection::Outgoing, None) => format!("  [{}]", json::spelling(&item.status)),
        _ => String::new(),
    };
    // In a group, who wrote it, and whether it mentions this user.
    let body = match &item.sender {
        Some(sender) => {
            let mention = if item.mentions_me {
                " (mentions you)"
            } else {
                ""
            };
            format!("{}{mention}: {body}", one_line(&sender.name))
        }
        None => body,
    };
    let at = crate::clock_text::stamp(item.at, now);
    format!(
        "{:>4} {at} {arrow} {body}{reactions}{status}",
        item.number.0
    )
}

/// A file item's text: `[file] name (size, type): state`.
pub(crate) fn file_text(file: &FileView) -> String {
    let state = match (file.state, file.failure) {
        ("available", _) => "not downloaded (`sotto download`)".to_owned(),
        ("received", _) => "received".to_owned(),
        ("failed", Some(reason)) => format!("failed: {reason}"),
        (state, _) => state.to_owned(),
    };
    format!(
        "[file] {} ({}, {}): {state}",
        one_line(&file.name),
        super::files::size_text(file.size),
        one_line(&file.media_type)
    )
}

pub(super) fn contact_name(session: &Session<'_>, contact: ChatId) -> String {
    session
        .runtime
        .core()
        .chat(contact)
        .ok()
        .and_then(|c| c.name.map(|name| one_line(&name).into_owned()))
        .unwrap_or_else(|| format!("contact {}", contact.0))
}

/// A notice as one line of text.
pub(crate) fn notice_text(notice: &ChatNotice) -> String {
    match notice {
        ChatNotice::Integrity(IntegrityNotice::Skipped { first, last }) => {
            format!("messages {first} to {last} are missing")
        }
        ChatNotice::Integrity(IntegrityNotice::OutOfOrder { seq }) => {
            format!("message {seq} arrived out of order")
        }
        ChatNotice::Integrity(IntegrityNotice::Duplicate { seq }) => {
            format!("message {seq} arrived twice (shown once)")
        }
        ChatNotice::Integrity(IntegrityNotice::BrokenChain { seq }) => {
            format!("message {seq} does not follow the previous one")
        }
        ChatNotice::Integrity(IntegrityNotice::Replayed) => "a message was replayed".to_owned(),
        ChatNotice::Integrity(IntegrityNotice::Unreadable) => {
            "an entry of the group's log could not be read (skipped)".to_owned()
        }
        ChatNotice::Integrity(IntegrityNotice::MissingChange) => {
            "a change to the group is missing from its log: messages after it cannot be read"
                .to_owned()
        }
        ChatNotice::TimerChanged { by_me, seconds } => {
            let who = if *by_me { "you" } else { "the contact" };
            match seconds {
                Some(secs) => format!("{who} set disappearing messages to {secs} s"),
                None => format!("{who} turned disappearing messages off"),
            }
        }
        ChatNotice::MediaPrivacyChanged {
            by_me,
            block_saving,
        } => {
            let who = if *by_me { "you" } else { "the contact" };
            if *block_saving {
                format!("{who} blocked saving and exporting media in this chat, for both sides")
            } else {
                format!("{who} allowed saving and exporting media in this chat again")
            }
        }
        ChatNotice::Connected => "connected".to_owned(),
        ChatNotice::KeysChanged => {
            "the contact's keys changed: the security code changed".to_owned()
        }
        ChatNotice::GroupDeleted { by_me: true } => {
            "you deleted this group for everyone".to_owned()
        }
        ChatNotice::GroupDeleted { by_me: false } => {
            "an owner deleted this group for everyone".to_owned()
        }
        ChatNotice::GroupLogGone => {
            "the group's relay no longer lets you read it: the group was deleted, \
             or you were removed while away"
                .to_owned()
        }
    }
}

/// A QR code for a terminal, two rows of modules per line.
pub(crate) fn qr(data: impl AsRef<[u8]>) -> String {
    match qrcode::QrCode::new(data.as_ref()) {
        Ok(code) => code
            .render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build(),
        Err(_) => "(the link is too long for a QR code)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use sotto_core::{MessageNumber, MessageStatus, Reaction, UnixMillis};

    use super::*;
    use crate::terminal_text::{HOSTILE, hidden};

    #[test]
    fn a_short_link_makes_a_qr_code_a_camera_reads_from_a_screen() {
        // The longest payload of a short link, on a 60-character host name.
        let host = format!("{}.example", "r".repeat(52));
        let link = format!("https://{host}:8443/contact#{}", "A".repeat(120));
        let code = qrcode::QrCode::new(link.as_bytes()).unwrap();
        assert!(
            matches!(code.version(), qrcode::Version::Normal(v) if v <= 10),
            "{:?}",
            code.version()
        );
    }

    #[test]
    fn a_hostile_message_and_reaction_print_on_one_line_without_hidden_characters() {
        let item = ItemView {
            chat: ChatId(1),
            number: MessageNumber(7),
            direction: MessageDirection::Incoming,
            seq: 7,
            sent_at: UnixMillis(1),
            at: UnixMillis(1),
            status: MessageStatus::Delivered,
            text: Some(format!("hello{HOSTILE}\n   8 > forged line")),
            reply_to: None,
            quoted: None,
            notice: None,
            edited: false,
            deleted: false,
            reactions: vec![Reaction {
                mine: false,
                emoji: format!("👍{HOSTILE}"),
                member: None,
            }],
            expires_at: None,
            file: None,
            sender: None,
            mentions_me: false,
            receipts: None,
        };
        let line = item_line(&item, UnixMillis(2));
        assert!(!line.chars().any(hidden), "{line:?}");
        // The time (of day: the item is from today), then the text.
        let at = crate::clock_text::stamp(item.at, UnixMillis(2));
        assert_eq!(at.len(), 5);
        assert!(
            line.starts_with(&format!("   7 {at} < helloa[2J]0;titleb")),
            "{line}"
        );
        assert!(line.contains("   8 > forged line  👍a[2J"), "{line}");
    }
}
