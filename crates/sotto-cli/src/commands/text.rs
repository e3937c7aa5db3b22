//! Text output for people: chat items, contact names and QR codes. What a
//! contact sent is put on one line without hidden characters.

use sotto_core::{ChatId, ItemContent};

use super::Session;
use crate::json;
use crate::terminal_text::one_line;

/// A chat item as one line of text.
pub(crate) fn item_line(item: &sotto_core::ChatItem) -> String {
    let arrow = match item.direction {
        sotto_core::MessageDirection::Incoming => "<",
        sotto_core::MessageDirection::Outgoing => ">",
        sotto_core::MessageDirection::Notice => "-",
    };
    let body = match &item.content {
        ItemContent::Text { text, reply_to } => {
            let mut line = String::new();
            if let Some(reply_to) = reply_to {
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
        ItemContent::Notice(notice) => format!("[{}]", json::notice_text(notice)),
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
    let status = match item.direction {
        sotto_core::MessageDirection::Outgoing => format!("  [{}]", json::status(item.status)),
        _ => String::new(),
    };
    format!("{:>4} {arrow} {body}{reactions}{status}", item.number.0)
}

pub(super) fn contact_name(session: &Session, contact: ChatId) -> String {
    session
        .runtime
        .core()
        .contact(contact)
        .ok()
        .and_then(|c| c.profile.map(|p| one_line(p.display_name()).into_owned()))
        .unwrap_or_else(|| format!("contact {}", contact.0))
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
    use sotto_core::{
        ChatItem, ChatId, MessageDirection, MessageNumber, MessageStatus, Reaction, UnixMillis,
    };

    use super::*;
    use crate::terminal_text::{HOSTILE, hidden};

    #[test]
    fn a_hostile_message_and_reaction_print_on_one_line_without_hidden_characters() {
        let item = ChatItem {
            contact: ChatId(1),
            number: MessageNumber(7),
            direction: MessageDirection::Incoming,
            seq: 7,
            sent_at: UnixMillis(1),
            at: UnixMillis(1),
            status: MessageStatus::Delivered,
            content: ItemContent::Text {
                text: format!("hello{HOSTILE}\n   8 > forged line"),
                reply_to: None,
            },
            edited: false,
            deleted: false,
            reactions: vec![Reaction {
                mine: false,
                emoji: format!("👍{HOSTILE}"),
            }],
            expires_at: None,
        };
        let line = item_line(&item);
        assert!(!line.chars().any(hidden), "{line:?}");
        assert!(line.starts_with("   7 < helloa[2J]0;titleb"), "{line}");
        assert!(line.contains("   8 > forged line  👍a[2J"), "{line}");
    }
}
