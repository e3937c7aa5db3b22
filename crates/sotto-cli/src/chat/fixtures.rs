//! What the screens' tests show: two contacts, a conversation with every
//! kind of item, two contact requests, a contact address and Bob's security
//! code; the same chat as a group's.

use sotto_core::{
    ChatId, ChatNotice, ChatView, ConnectionState, IntegrityNotice, ItemView, MessageDirection,
    MessageNumber, MessageStatus, NoticeView, QuotedView, Reaction, ReceiptSetting, RequestId,
    RequestView, UnixMillis,
};

use super::app::{ShownCode, Snapshot};

pub(crate) const ADDRESS: &str = "https://relay.example/contact#AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdo";

/// Bob's security code.
pub(crate) const CODE: &str = "01234 56789 13579 24680 11111 22222";

fn contact(id: u64, name: &str, unread: u32, timer_secs: Option<u32>) -> ChatView {
    ChatView {
        id: ChatId(id),
        state: ConnectionState::Connected,
        name: Some(name.to_owned()),
        bio: None,
        verified: id == 1,
        unread,
        last_item: None,
        timer_secs,
        read_receipts: ReceiptSetting::Default,
        last_activity: UnixMillis(1_000 - id),
        alias: None,
        pinned: false,
        archived: false,
        blocked: false,
        muted_until: None,
        members: None,
        block_saving: false,
        auto_download: sotto_core::AutoDownload::Default,
    }
}

/// What an item holds: a text (maybe a reply) or a notice.
pub(crate) enum Content {
    Text(String, Option<u64>),
    Notice(ChatNotice),
}

/// A message (`text`) or notice of Bob's chat.
pub(crate) fn item(
    number: u64,
    direction: MessageDirection,
    status: MessageStatus,
    content: Content,
) -> ItemView {
    let (text, reply_to, notice) = match content {
        Content::Text(text, reply_to) => (Some(text), reply_to.map(MessageNumber), None),
        Content::Notice(notice) => (None, None, Some(NoticeView(notice))),
    };
    ItemView {
        chat: ChatId(1),
        number: MessageNumber(number),
        direction,
        seq: number,
        sent_at: UnixMillis(number),
        at: UnixMillis(number),
        status,
        text,
        reply_to,
        quoted: None,
        notice,
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

pub(crate) fn text(text: &str, reply_to: Option<u64>) -> Content {
    Content::Text(text.to_owned(), reply_to)
}

fn notice(number: u64, notice: ChatNotice) -> ItemView {
    item(
        number,
        MessageDirection::Notice,
        MessageStatus::Read,
        Content::Notice(notice),
    )
}

/// Bob (open, verified, 5-minute timer) and Carol (2 unread); Bob's chat.
pub(crate) fn snapshot() -> Snapshot {
    use MessageDirection::{Incoming, Outgoing};
    let mut first = item(2, Outgoing, MessageStatus::Read, text("first!", None));
    first.reactions.push(Reaction {
        mine: false,
        emoji: "😂".into(),
        member: None,
    });
    let mut question = item(
        3,
        Incoming,
        MessageStatus::Read,
        text("are we still on for tonight?", None),
    );
    question.reactions.push(Reaction {
        mine: true,
        emoji: "👍".into(),
        member: None,
    });
    let mut answer = item(
        4,
        Outgoing,
        MessageStatus::Delivered,
        text("see you at 6", Some(3)),
    );
    answer.edited = true;
    answer.quoted = Some(QuotedView {
        number: question.number,
        direction: question.direction,
        text: question.text.clone().unwrap_or_default(),
        deleted: false,
    });
    Snapshot {
        contacts: vec![
            contact(1, "Bob", 0, Some(300)),
            contact(2, "Carol", 2, None),
        ],
        history: vec![
            notice(1, ChatNotice::Connected),
            first,
            question,
            answer,
            notice(
                5,
                ChatNotice::Integrity(IntegrityNotice::Skipped { first: 4, last: 5 }),
            ),
            notice(6, ChatNotice::KeysChanged),
            notice(
                7,
                ChatNotice::TimerChanged {
                    by_me: false,
                    seconds: Some(300),
                },
            ),
        ],
        requests: vec![
            RequestView {
                id: RequestId(7),
                name: "Dave".to_owned(),
                bio: None,
                received_at: UnixMillis(5),
            },
            RequestView {
                id: RequestId(8),
                name: "Erin".to_owned(),
                bio: Some("from the conference".to_owned()),
                received_at: UnixMillis(6),
            },
        ],
        address: Some(ADDRESS.to_owned()),
        typing_indicators: false,
        relay_problem: None,
        security_code: Some(ShownCode {
            digits: CODE.to_owned(),
            qr_payload: [1; 33].to_vec(),
        }),
        group: None,
    }
}

/// Bob's chat as a group, "Climbing", of Alice (this profile, its owner),
/// Ann (an admin) and Bob (blocked), with a description and a picture, and
/// two requests to join through its link (Dora's waiting, Eli's approved).
pub(crate) fn group_snapshot() -> Snapshot {
    use sotto_core::{GroupJoinRequestView, GroupMemberView, GroupRole};
    let request = |id, name: &str, approved| GroupJoinRequestView {
        id,
        group: ChatId(1),
        member: "0d".repeat(16),
        name: name.to_owned(),
        received_at: 5,
        approved,
    };
    let member = |id: &str, name: &str, role, me, blocked| GroupMemberView {
        id: id.repeat(16),
        name: name.to_owned(),
        picture: None,
        role,
        me,
        blocked,
    };
    let mut snapshot = snapshot();
    snapshot.contacts[0].name = Some("Climbing".to_owned());
    snapshot.contacts[0].members = Some(3);
    snapshot.contacts[0].verified = false;
    snapshot.contacts[0].timer_secs = None;
    snapshot.group = Some(super::app::ShownGroup {
        description: "Saturdays at the wall\nbring shoes".to_owned(),
        picture_len: 1_234,
        members: vec![
            member("0a", "Alice", GroupRole::Owner, true, false),
            member("0b", "Ann", GroupRole::Admin, false, false),
            member("0c", "Bob", GroupRole::Member, false, true),
        ],
        requests: vec![request(4, "Dora", false), request(5, "Eli", true)],
    });
    snapshot
}
