//! The `--json` shapes (documented in docs/cli.md): one object per command on
//! stdout. Field names and value spellings are stable; new fields may be added.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;
use serde_json::{Value, json};
use sotto_core::{
    ChatItem, ChatNotice, ContactRequestSummary, ConnectionState, ContactSummary, Event,
    IntegrityNotice, ItemContent, MessageDirection, MessageStatus, ReceiptSetting,
};

use crate::terminal_text::hidden;

/// Writes `value` as one line of JSON. JSON escapes C0 controls itself;
/// DEL, C1 controls and bidirectional overrides it would write as they are,
/// so they are written as `\uXXXX` escapes too: a script reads the same
/// strings, and a terminal showing the line gets no escape sequence from a
/// contact.
pub(crate) fn write_line(out: &mut impl Write, value: &Value) -> io::Result<()> {
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut *out,
        TerminalSafe,
    ))?;
    writeln!(out)
}

/// serde_json's compact output (the trait's defaults) with every [`hidden`]
/// character escaped.
struct TerminalSafe;

impl Formatter for TerminalSafe {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if hidden(c) {
                writer.write_all(&fragment.as_bytes()[start..at])?;
                // Every hidden character is in the Basic Multilingual Plane.
                write!(writer, "\\u{:04x}", u32::from(c))?;
                start = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

pub(crate) fn contact(summary: &ContactSummary) -> Value {
    json!({
        "id": summary.id.0,
        "name": summary.profile.as_ref().map(|p| p.display_name()),
        "bio": summary.profile.as_ref().and_then(|p| p.bio()),
        "state": state(summary.state),
        "verified": summary.verified,
        "unread": summary.unread,
        "timer_secs": summary.timer_secs,
        "read_receipts": receipts(summary.read_receipts),
        "last_activity": summary.last_activity.0,
    })
}

pub(crate) fn state(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Joining => "joining",
        ConnectionState::AwaitingConfirmation => "awaiting_confirmation",
        ConnectionState::Accepting => "accepting",
        ConnectionState::Connected => "connected",
    }
}

pub(crate) fn receipts(setting: ReceiptSetting) -> &'static str {
    match setting {
        ReceiptSetting::Default => "default",
        ReceiptSetting::On => "on",
        ReceiptSetting::Off => "off",
    }
}

pub(crate) fn status(status: MessageStatus) -> &'static str {
    match status {
        MessageStatus::Pending => "pending",
        MessageStatus::Sent => "sent",
        MessageStatus::Delivered => "delivered",
        MessageStatus::Read => "read",
        MessageStatus::Failed => "failed",
    }
}

pub(crate) fn item(item: &ChatItem) -> Value {
    let direction = match item.direction {
        MessageDirection::Incoming => "incoming",
        MessageDirection::Outgoing => "outgoing",
        MessageDirection::Notice => "notice",
    };
    let (text, reply_to, notice) = match &item.content {
        ItemContent::Text { text, reply_to } => {
            (Some(text.as_str()), reply_to.map(|n| n.0), Value::Null)
        }
        ItemContent::Notice(notice) => (None, None, self::notice(notice)),
    };
    let reactions: Vec<Value> = item
        .reactions
        .iter()
        .map(|r| json!({ "emoji": r.emoji, "mine": r.mine }))
        .collect();
    json!({
        "contact": item.contact.0,
        "number": item.number.0,
        "direction": direction,
        "seq": item.seq,
        "sent_at": item.sent_at.0,
        "at": item.at.0,
        "status": status(item.status),
        "text": text,
        "reply_to": reply_to,
        "notice": notice,
        "edited": item.edited,
        "deleted": item.deleted,
        "reactions": reactions,
        "expires_at": item.expires_at.map(|at| at.0),
    })
}

pub(crate) fn notice(notice: &ChatNotice) -> Value {
    match notice {
        ChatNotice::Integrity(integrity) => match *integrity {
            IntegrityNotice::Skipped { first, last } => {
                json!({ "type": "skipped", "first": first, "last": last })
            }
            IntegrityNotice::OutOfOrder { seq } => json!({ "type": "out_of_order", "seq": seq }),
            IntegrityNotice::Duplicate { seq } => json!({ "type": "duplicate", "seq": seq }),
            IntegrityNotice::BrokenChain { seq } => json!({ "type": "broken_chain", "seq": seq }),
            IntegrityNotice::Replayed => json!({ "type": "replayed" }),
        },
        ChatNotice::TimerChanged { by_me, seconds } => {
            json!({ "type": "timer_changed", "by_me": by_me, "seconds": seconds })
        }
        ChatNotice::Connected => json!({ "type": "connected" }),
        ChatNotice::KeysChanged => json!({ "type": "keys_changed" }),
    }
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
        ChatNotice::TimerChanged { by_me, seconds } => {
            let who = if *by_me { "you" } else { "the contact" };
            match seconds {
                Some(secs) => format!("{who} set disappearing messages to {secs} s"),
                None => format!("{who} turned disappearing messages off"),
            }
        }
        ChatNotice::Connected => "connected".to_owned(),
        ChatNotice::KeysChanged => {
            "the contact's keys changed: the security code changed".to_owned()
        }
    }
}

pub(crate) fn request(request: &ContactRequestSummary) -> Value {
    json!({
        "id": request.id.0,
        "name": request.profile.display_name(),
        "bio": request.profile.bio(),
        "received_at": request.received_at.0,
    })
}

pub(crate) fn event(event: &Event) -> Value {
    match event {
        Event::InvitationReady { invitation, link } => {
            json!({ "type": "invitation_ready", "invitation": invitation.0, "link": link })
        }
        Event::AddressReady { link } => json!({ "type": "address_ready", "link": link }),
        Event::ContactRequest { request } => {
            json!({ "type": "contact_request", "request": request.0 })
        }
        Event::ContactConnected { contact } => {
            json!({ "type": "contact_connected", "contact": contact.0 })
        }
        Event::ConnectionFailed { contact } => {
            json!({ "type": "connection_failed", "contact": contact.0 })
        }
        Event::MessageReceived { contact, message } => {
            json!({ "type": "message_received", "contact": contact.0, "message": message.0 })
        }
        Event::MessageStatus {
            contact,
            message,
            status,
        } => json!({
            "type": "message_status",
            "contact": contact.0,
            "message": message.0,
            "status": self::status(*status),
        }),
        Event::MessageChanged { contact, message } => {
            json!({ "type": "message_changed", "contact": contact.0, "message": message.0 })
        }
        Event::MessagesExpired { contact, messages } => json!({
            "type": "messages_expired",
            "contact": contact.0,
            "messages": messages.iter().map(|m| m.0).collect::<Vec<_>>(),
        }),
        Event::Notice {
            contact,
            message,
            notice,
        } => json!({
            "type": "notice",
            "contact": contact.0,
            "message": message.0,
            "notice": self::notice(notice),
        }),
        Event::Typing { contact, typing } => {
            json!({ "type": "typing", "contact": contact.0, "typing": typing })
        }
        Event::ProfileUpdated { contact } => {
            json!({ "type": "profile_updated", "contact": contact.0 })
        }
        Event::RelayFault { relay, reason } => {
            json!({ "type": "relay_fault", "relay": relay.to_string(), "reason": reason })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal_text::HOSTILE;

    #[test]
    fn a_json_line_escapes_every_hidden_character_and_reads_back_the_same() {
        let value = json!({ "name": HOSTILE, "texts": [HOSTILE, "plain é 😂"] });
        let mut out = Vec::new();
        write_line(&mut out, &value).unwrap();
        let line = String::from_utf8(out).unwrap();
        let (line, end) = line.split_at(line.len() - 1);
        assert_eq!(end, "\n");
        assert!(!line.chars().any(hidden), "{line:?}");
        assert!(
            line.contains(r"\u001b[2J") && line.contains(r"\u202e"),
            "{line}"
        );
        assert_eq!(serde_json::from_str::<Value>(line).unwrap(), value);
        // Nothing else changes: the same as serde_json's compact output.
        let plain = json!({ "a": [1, "b\"\\c", null, true], "d": "é 😂" });
        let mut out = Vec::new();
        write_line(&mut out, &plain).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), format!("{plain}\n"));
    }
}
