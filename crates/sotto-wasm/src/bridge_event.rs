//! What the bridge itself tells the UI, beside the core's
//! [`sotto_core::Event`]s: the state of the relay links, a write IndexedDB
//! refused, the profile moving away, a delivery kept while locked, a group's
//! profile read from its log. Serialized
//! as the core's events are (objects tagged by `type`, snake_case), so the UI
//! reads one vocabulary.

/// An event only the bridge knows of.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BridgeEvent {
    /// A relay link connected, or one was lost.
    Connection {
        /// Where the links stand now.
        state: LinkState,
    },
    /// IndexedDB refused a write; the next write rewrites every record.
    StorageFailed {
        /// The browser's reason, safe to show.
        message: String,
    },
    /// The profile was exported and stopped here.
    Moved,
    /// While locked, a delivery arrived and was kept for the next unlock.
    /// Nothing about it is known (no chat, no text: it stays sealed).
    Held {
        /// How many deliveries are kept now.
        count: u32,
    },
    /// A group's name, description or picture changed (a commit read from
    /// its log): what shows the group's picture reads it again
    /// (`Client::groups`), which it need not do at each change of the chat.
    GroupProfileChanged {
        /// The group's chat.
        group: sotto_core::ChatId,
    },
}

/// Whether the bridge reaches the relays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// A link connected.
    Online,
    /// A link was lost (it is tried again after a backoff).
    Offline,
}

#[cfg(test)]
mod tests {
    //! One sample of every view and event, as the bridge hands them to the
    //! UI, checked in as `web/test/view-samples.ts`, where the TypeScript
    //! compiler checks them against the UI's types (`web/src/backend.ts`)
    //! and `web/test/view-samples.test.ts` checks that every kind is there.

    use sotto_core::{
        AutoDownload, ChatId, ChatNotice, ChatView, ConnectionState, Event, GroupJoinRequestView,
        IntegrityNotice, InvitationId, ItemView, MessageDirection, MessageNumber, MessageStatus,
        NoticeView, QuotedView, Reaction, ReceiptSetting, RequestId, RequestView, UnixMillis,
    };

    use super::*;

    const SAMPLES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../web/test/view-samples.ts"
    );

    fn message() -> ItemView {
        ItemView {
            chat: ChatId(3),
            number: MessageNumber(12),
            direction: MessageDirection::Outgoing,
            seq: 7,
            sent_at: UnixMillis(1_764_990_000_000),
            at: UnixMillis(1_764_990_000_250),
            status: MessageStatus::Delivered,
            text: Some("See you at noon".to_owned()),
            reply_to: Some(MessageNumber(11)),
            quoted: Some(QuotedView {
                number: MessageNumber(11),
                direction: MessageDirection::Incoming,
                text: "Lunch tomorrow?".to_owned(),
                deleted: false,
            }),
            notice: None,
            edited: true,
            deleted: false,
            reactions: vec![Reaction {
                mine: false,
                emoji: "👍".to_owned(),
                member: None,
            }],
            expires_at: Some(UnixMillis(1_764_990_300_000)),
            file: None,
            sender: None,
            mentions_me: false,
            receipts: None,
        }
    }

    fn notice(number: u64, notice: ChatNotice) -> ItemView {
        ItemView {
            chat: ChatId(3),
            number: MessageNumber(number),
            direction: MessageDirection::Notice,
            seq: 0,
            sent_at: UnixMillis(1_764_990_100_000),
            at: UnixMillis(1_764_990_100_000),
            status: MessageStatus::Read,
            text: None,
            reply_to: None,
            quoted: None,
            notice: Some(NoticeView(notice)),
            edited: false,
            deleted: false,
            reactions: Vec::new(),
            expires_at: None,
            file: None,
            sender: None,
            mentions_me: false,
            receipts: None,
        }
    }

    fn chat() -> ChatView {
        ChatView {
            id: ChatId(3),
            name: Some("Bob".to_owned()),
            bio: Some("Gardener".to_owned()),
            state: ConnectionState::Connected,
            verified: true,
            unread: 2,
            timer_secs: Some(300),
            read_receipts: ReceiptSetting::Off,
            last_activity: UnixMillis(1_764_990_000_250),
            last_item: Some(Box::new(message())),
            alias: Some("Bob (work)".to_owned()),
            pinned: true,
            archived: false,
            blocked: false,
            muted_until: Some(UnixMillis(1_765_000_000_000)),
            members: None,
            block_saving: true,
            auto_download: AutoDownload::Off,
        }
    }

    fn connecting() -> ChatView {
        ChatView {
            id: ChatId(4),
            name: None,
            bio: None,
            state: ConnectionState::Joining,
            verified: false,
            unread: 0,
            timer_secs: None,
            read_receipts: ReceiptSetting::Default,
            last_activity: UnixMillis(1_764_990_200_000),
            last_item: None,
            alias: None,
            pinned: false,
            archived: true,
            blocked: false,
            muted_until: None,
            members: None,
            block_saving: false,
            auto_download: AutoDownload::Default,
        }
    }

    /// Each sample as the bridge writes it (fields in the order sent).
    fn samples() -> Result<Vec<String>, serde_json::Error> {
        let notices = [
            ChatNotice::Integrity(IntegrityNotice::Skipped { first: 4, last: 6 }),
            ChatNotice::Integrity(IntegrityNotice::OutOfOrder { seq: 9 }),
            ChatNotice::Integrity(IntegrityNotice::Duplicate { seq: 9 }),
            ChatNotice::Integrity(IntegrityNotice::BrokenChain { seq: 10 }),
            ChatNotice::Integrity(IntegrityNotice::Replayed),
            ChatNotice::Integrity(IntegrityNotice::Unreadable),
            ChatNotice::Integrity(IntegrityNotice::MissingChange),
            ChatNotice::TimerChanged {
                by_me: false,
                seconds: Some(3600),
            },
            ChatNotice::TimerChanged {
                by_me: true,
                seconds: None,
            },
            ChatNotice::MediaPrivacyChanged {
                by_me: false,
                block_saving: true,
            },
            ChatNotice::GroupDeleted { by_me: false },
            ChatNotice::GroupLogGone,
            ChatNotice::Connected,
            ChatNotice::KeysChanged,
        ];
        let mut events = vec![
            Event::InvitationReady {
                invitation: InvitationId(1),
                link: "https://relay.example/invite#i1.sample".to_owned(),
            },
            Event::AddressReady {
                link: "https://relay.example/contact#a1.sample".to_owned(),
            },
            Event::JoinedExisting {
                chat: ChatId(9),
                existing: ChatId(4),
            },
            Event::RequestReceived {
                request: RequestView {
                    id: RequestId(5),
                    name: "Carol".to_owned(),
                    bio: None,
                    received_at: UnixMillis(1_764_990_400_000),
                },
            },
            Event::AddressFlooded { waiting: 100 },
            Event::JoinFailed {
                chat: ChatId(9),
                reason: "This link was already used.".to_owned(),
                existing: None,
            },
            Event::ContactConnected { chat: chat() },
            Event::ConnectionFailed { chat: connecting() },
            Event::ChatChanged { chat: chat() },
            Event::HistoryCleared { chat: ChatId(3) },
            Event::ChatRemoved { chat: ChatId(4) },
            Event::ItemAdded {
                item: message(),
                unread: 2,
            },
            Event::ItemChanged { item: message() },
            Event::ItemsRemoved {
                chat: ChatId(3),
                numbers: vec![MessageNumber(12), MessageNumber(13)],
            },
            Event::Typing {
                chat: ChatId(3),
                typing: true,
            },
            Event::GroupInvitation {
                invitation: 7,
                contact: ChatId(3),
                name: "Book club".to_owned(),
            },
            Event::GroupJoined {
                group: ChatId(6),
                name: "Book club".to_owned(),
            },
            Event::GroupCommitReady { group: ChatId(6) },
            Event::GroupJoinRequested {
                request: GroupJoinRequestView {
                    id: 11,
                    group: ChatId(6),
                    member: "5f3a9c0e1b2d4f6a8c0e1b2d4f6a8c0e".to_owned(),
                    name: "Dave".to_owned(),
                    received_at: 1_764_990_500_000,
                    approved: false,
                },
            },
            Event::GroupJoinRefused {
                join: 12,
                name: "Book club".to_owned(),
                reason: "declined".to_owned(),
            },
            Event::FileProgress {
                chat: ChatId(3),
                number: MessageNumber(14),
                done: 4_194_304,
                total: 12_582_912,
            },
            Event::RelayFault {
                relay: "sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@127.0.0.1:7000"
                    .parse()
                    .unwrap(),
                reason: "a delivery did not open".to_owned(),
            },
        ];
        events.extend(
            notices
                .into_iter()
                .enumerate()
                .map(|(index, notice)| Event::ItemAdded {
                    item: self::notice(20 + index as u64, notice),
                    unread: 0,
                }),
        );
        let mut samples = events
            .iter()
            .map(serde_json::to_string_pretty)
            .collect::<Result<Vec<_>, _>>()?;
        for event in [
            BridgeEvent::Connection {
                state: LinkState::Online,
            },
            BridgeEvent::Connection {
                state: LinkState::Offline,
            },
            BridgeEvent::StorageFailed {
                message: "the browser's storage refused a write".to_owned(),
            },
            BridgeEvent::Moved,
            BridgeEvent::Held { count: 3 },
            BridgeEvent::GroupProfileChanged { group: ChatId(6) },
        ] {
            samples.push(serde_json::to_string_pretty(&event)?);
        }
        Ok(samples)
    }

    /// The checked-in samples are what the bridge sends today; run with
    /// `SOTTO_BLESS=1` to write them again after a change to the views.
    #[test]
    fn the_web_client_types_check_these_samples() {
        let json = samples()
            .unwrap()
            .iter()
            .map(|sample| format!("  {}", sample.replace('\n', "\n  ")))
            .collect::<Vec<_>>()
            .join(",\n");
        let file = format!(
            "// Written by `cargo test -p sotto-wasm` (crates/sotto-wasm/src/bridge_event.rs):\n\
             // one sample of every view and event as the bridge hands them over. Do not edit;\n\
             // run `SOTTO_BLESS=1 cargo test -p sotto-wasm` after changing the views.\n\n\
             import type {{ BridgeEvent, CoreEvent }} from \"../src/backend\";\n\n\
             export const samples: (CoreEvent | BridgeEvent)[] = [\n{json},\n];\n"
        );
        if std::env::var_os("SOTTO_BLESS").is_some() {
            std::fs::write(SAMPLES, &file).unwrap();
        }
        let checked_in = std::fs::read_to_string(SAMPLES).unwrap_or_default();
        assert!(
            checked_in == file,
            "web/test/view-samples.ts differs from the views: run `SOTTO_BLESS=1 cargo test -p sotto-wasm`, then `npm run typecheck` and `npm test` in web/"
        );
    }
}
