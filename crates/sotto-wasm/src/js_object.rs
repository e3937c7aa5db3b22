//! The plain objects the UI receives: chats, items, requests and events, in the
//! shapes `web/src/bridge.ts` reads.

use js_sys::{Array, Object, Reflect};
use sotto_core::{
    ChatItem, ChatNotice, ContactId, ContactRequestSummary, ContactSummary, Core, Event,
    IntegrityNotice, ItemContent, MessageDirection, MessageStatus, ReceiptSetting,
};
use sotto_sealed_store::mirror::MirrorStore;
use wasm_bindgen::JsValue;

pub(crate) fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (name, value) in fields {
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object.into()
}

/// A chat: `{id, displayName, unread, verified, timerSeconds, readReceipts, lastItem}`.
pub(crate) fn chat_object(core: &Core<MirrorStore>, contact: &ContactSummary) -> JsValue {
    let name = contact
        .profile
        .as_ref()
        .map(|profile| profile.display_name().to_owned())
        .unwrap_or_else(|| "(connecting)".to_owned());
    let read_receipts = match contact.read_receipts {
        ReceiptSetting::Default => "default",
        ReceiptSetting::On => "on",
        ReceiptSetting::Off => "off",
    };
    object(&[
        ("id", contact.id.0.to_string().into()),
        ("displayName", name.into()),
        ("unread", contact.unread.into()),
        ("verified", contact.verified.into()),
        (
            "timerSeconds",
            contact.timer_secs.map_or(JsValue::NULL, JsValue::from),
        ),
        ("readReceipts", read_receipts.into()),
        (
            "lastItem",
            contact
                .last_message
                .as_ref()
                .map_or(JsValue::NULL, |item| item_object(core, item)),
        ),
    ])
}

/// A chat item as the UI's `TimelineItem`, with the quoted message of a reply
/// looked up in the history.
pub(crate) fn item_object(core: &Core<MirrorStore>, item: &ChatItem) -> JsValue {
    let direction = |direction| match direction {
        MessageDirection::Incoming => "in",
        MessageDirection::Outgoing | MessageDirection::Notice => "out",
    };
    let status = match (item.direction, item.status) {
        (MessageDirection::Outgoing, MessageStatus::Pending) => "pending".into(),
        (MessageDirection::Outgoing, MessageStatus::Sent) => "sent".into(),
        (MessageDirection::Outgoing, MessageStatus::Delivered) => "delivered".into(),
        (MessageDirection::Outgoing, MessageStatus::Read) => "read".into(),
        (MessageDirection::Outgoing, MessageStatus::Failed) => "failed".into(),
        _ => JsValue::NULL,
    };
    let common = [
        ("id", item.number.0.to_string().into()),
        ("chat", item.contact.0.to_string().into()),
        ("at", (item.at.0 as f64).into()),
    ];
    match &item.content {
        ItemContent::Notice(notice) => {
            let mut fields = common.to_vec();
            fields.push(("kind", "notice".into()));
            fields.push(("notice", notice_object(notice)));
            object(&fields)
        }
        ItemContent::Text { text, reply_to } => {
            let quoted = reply_to
                .and_then(|number| core.message(item.contact, number).ok())
                .map_or(JsValue::NULL, |quoted| {
                    let text = match &quoted.content {
                        ItemContent::Text { text, .. } => text.clone(),
                        ItemContent::Notice(_) => String::new(),
                    };
                    object(&[
                        ("id", quoted.number.0.to_string().into()),
                        ("direction", direction(quoted.direction).into()),
                        ("text", text.into()),
                        ("deleted", quoted.deleted.into()),
                    ])
                });
            let reactions: Array = item
                .reactions
                .iter()
                .map(|reaction| {
                    object(&[
                        ("emoji", reaction.emoji.clone().into()),
                        ("from", if reaction.mine { "out" } else { "in" }.into()),
                    ])
                })
                .collect();
            let mut fields = common.to_vec();
            fields.extend([
                ("kind", "message".into()),
                ("direction", direction(item.direction).into()),
                ("text", text.clone().into()),
                ("deleted", item.deleted.into()),
                ("edited", item.edited.into()),
                ("sentAt", (item.sent_at.0 as f64).into()),
                ("status", status),
                ("replyTo", quoted),
                ("reactions", reactions.into()),
                (
                    "expiresAt",
                    item.expires_at
                        .map_or(JsValue::NULL, |at| JsValue::from(at.0 as f64)),
                ),
            ]);
            object(&fields)
        }
    }
}

/// A notice as the UI's `Notice`.
fn notice_object(notice: &ChatNotice) -> JsValue {
    let integrity = |problem: &str, count: u64| {
        object(&[
            ("type", "integrity".into()),
            ("problem", problem.into()),
            ("count", (count as f64).into()),
        ])
    };
    match notice {
        ChatNotice::Integrity(IntegrityNotice::Skipped { first, last }) => {
            integrity("gap", last.saturating_sub(*first).saturating_add(1))
        }
        ChatNotice::Integrity(IntegrityNotice::OutOfOrder { .. }) => integrity("reorder", 1),
        ChatNotice::Integrity(IntegrityNotice::Duplicate { .. }) => integrity("duplicate", 1),
        ChatNotice::Integrity(IntegrityNotice::BrokenChain { .. }) => integrity("broken-chain", 1),
        ChatNotice::Integrity(IntegrityNotice::Replayed) => integrity("replay", 1),
        ChatNotice::TimerChanged { by_me, seconds } => object(&[
            ("type", "timer".into()),
            ("seconds", seconds.map_or(JsValue::NULL, JsValue::from)),
            ("by", if *by_me { "out" } else { "in" }.into()),
        ]),
        ChatNotice::Connected => object(&[("type", "connected".into())]),
        ChatNotice::KeysChanged => object(&[("type", "key-change".into())]),
    }
}

/// A contact request: `{id, displayName, receivedAt}`.
pub(crate) fn request_object(request: &ContactRequestSummary) -> JsValue {
    object(&[
        ("id", request.id.0.to_string().into()),
        ("displayName", request.profile.display_name().into()),
        ("receivedAt", (request.received_at.0 as f64).into()),
    ])
}

/// An event for the bridge, which turns ids into the UI's full objects.
pub(crate) fn event_object(event: &Event) -> JsValue {
    let chat = |contact: &ContactId| JsValue::from(contact.0.to_string());
    match event {
        Event::InvitationReady { invitation, link } => object(&[
            ("type", "invitation-ready".into()),
            ("invitation", invitation.0.to_string().into()),
            ("link", link.clone().into()),
        ]),
        Event::AddressReady { link } => object(&[
            ("type", "address-ready".into()),
            ("link", link.clone().into()),
        ]),
        Event::ContactRequest { request } => object(&[
            ("type", "request-received".into()),
            ("request", request.0.to_string().into()),
        ]),
        Event::ContactConnected { contact }
        | Event::ProfileUpdated { contact }
        | Event::ConnectionFailed { contact } => {
            object(&[("type", "chat-changed".into()), ("chat", chat(contact))])
        }
        Event::MessageReceived { contact, message }
        | Event::Notice {
            contact, message, ..
        } => object(&[
            ("type", "item-added".into()),
            ("chat", chat(contact)),
            ("item", message.0.to_string().into()),
        ]),
        Event::MessageStatus {
            contact, message, ..
        }
        | Event::MessageChanged { contact, message } => object(&[
            ("type", "item-updated".into()),
            ("chat", chat(contact)),
            ("item", message.0.to_string().into()),
        ]),
        Event::MessagesExpired { contact, messages } => object(&[
            ("type", "items-removed".into()),
            ("chat", chat(contact)),
            (
                "items",
                messages
                    .iter()
                    .map(|number| JsValue::from(number.0.to_string()))
                    .collect::<Array>()
                    .into(),
            ),
        ]),
        Event::RelayFault { reason, .. } => object(&[
            ("type", "relay-fault".into()),
            ("reason", reason.clone().into()),
        ]),
        Event::Typing { contact, typing } => object(&[
            ("type", "typing".into()),
            ("chat", chat(contact)),
            ("typing", (*typing).into()),
        ]),
    }
}
