//! Entry points for the fuzz targets into decoders that end-to-end encryption
//! and the store keep away from outside input. Compiled only with the
//! `fuzzing` feature; not API.

use sotto_wire::RecipientId;

use crate::account::Account;
use crate::chat_item::ChatItem;
use crate::chat_message::Envelope;
use crate::chat_record::ChatRecord;
use crate::connection::ConnectionRecord;
use crate::connection_records::{InvitationRecord, RequestRecord};
use crate::ids::{ChatId, ConnectionId, JobId, MessageNumber, PeerId};
use crate::job::JobRecord;
use crate::peer::PeerRecord;
use crate::queue_record::QueueRecord;

/// Decodes a chat message envelope; re-encodes it if it parsed.
pub fn decode_envelope(bytes: &[u8]) -> Option<Vec<u8>> {
    Envelope::decode(bytes)
        .ok()
        .map(|envelope| envelope.encode())
}

/// Decodes a group chat message (a member's MLS application plaintext);
/// re-encodes it if it parsed (in the current version: the first one reads
/// as a text of the current one).
pub fn decode_group_message(bytes: &[u8]) -> Option<Vec<u8>> {
    crate::group_entry::GroupChatMessage::decode(bytes)
        .ok()
        .map(|message| message.encode())
}

/// Decodes the bytes as what travels to and from a group link: a request's
/// plaintext and a reply (under a fixed key); how many accepted them.
pub fn decode_group_link_messages(bytes: &[u8]) -> usize {
    [
        crate::group_link::JoinRequest::from_plaintext(bytes).is_ok(),
        crate::group_link::Reply::open(&[1; 32], &[2; 16], bytes).is_ok(),
    ]
    .into_iter()
    .filter(|ok| *ok)
    .count()
}

/// Decodes the bytes as every kind of stored record; how many accepted them.
pub fn decode_records(bytes: &[u8]) -> usize {
    [
        Account::decode(bytes).is_ok(),
        ChatRecord::decode(ChatId(1), bytes).is_ok(),
        PeerRecord::decode(PeerId(1), bytes).is_ok(),
        ConnectionRecord::decode(ConnectionId(1), bytes).is_ok(),
        crate::migrate::decode_v1_contact(bytes),
        ChatItem::decode(ChatId(1), MessageNumber(1), bytes).is_ok(),
        JobRecord::decode(JobId(1), bytes).is_ok(),
        QueueRecord::decode(RecipientId::from_bytes([0; 24]), bytes).is_ok(),
        InvitationRecord::decode(bytes).is_ok(),
        RequestRecord::decode(bytes).is_ok(),
        crate::group_link::decode_records(bytes),
    ]
    .into_iter()
    .filter(|ok| *ok)
    .count()
}
