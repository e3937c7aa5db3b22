//! The log's records and their framing, sans-IO: bytes in, bytes out.
//!
//! Every record is framed as
//!
//! ```text
//! crc32 (4, BE) || length (4, BE) || type (1) || payload (length - 1)
//! ```
//!
//! where the CRC-32 (IEEE) covers length, type and payload. A record is an
//! effect, not a command: replaying the records of a log in order rebuilds the
//! index whatever commands produced them, and a record copied forward by
//! compaction replays to the same state as the original.

use sotto_wire::{
    LINK_BLOB_LEN, LinkId, MAX_MESSAGE_BODY, MessageId, QueueKey, RecipientId, SenderId, UploadId,
};

use crate::store::{AuthKey, ChunkRecord, QueueStatus};

/// Bytes before a record's type: CRC and length.
pub(super) const FRAME_HEADER_LEN: usize = 8;

/// Longest payload of any record: a message with the largest body. Anything
/// longer in a segment is damage, refused before allocating.
pub(super) const MAX_PAYLOAD_LEN: usize = MESSAGE_FIXED_LEN + MAX_MESSAGE_BODY;

/// Bytes of a message record's payload before the body.
pub(super) const MESSAGE_FIXED_LEN: usize = 24 + 8 + 24 + 8 + 1;

/// Bytes of a message record before its body: where the body starts.
pub(super) const MESSAGE_BODY_OFFSET: usize = FRAME_HEADER_LEN + 1 + MESSAGE_FIXED_LEN;

/// Bytes of a link record's payload before the blob.
const LINK_FIXED_LEN: usize = 24 + 32 + 8;

/// Bytes of a link record before its blob: where the blob starts.
pub(super) const LINK_BLOB_OFFSET: usize = FRAME_HEADER_LEN + 1 + LINK_FIXED_LEN;

const QUEUE_PAYLOAD_LEN: usize = 24 + 32 + 24 + 1 + 32 + 1 + 32 + 8 + 4;

const TYPE_QUEUE: u8 = 0x01;
const TYPE_MESSAGE: u8 = 0x02;
const TYPE_REMOVE: u8 = 0x03;
const TYPE_DELETE: u8 = 0x04;
const TYPE_TOUCH: u8 = 0x05;
const TYPE_LINK: u8 = 0x06;
const TYPE_LINK_DELETE: u8 = 0x07;
const TYPE_CHUNK: u8 = 0x08;
const TYPE_CHUNK_DELETE: u8 = 0x09;

/// A queue's durable state, without its messages.
#[derive(Clone)]
pub(super) struct QueueState {
    /// Key that authorizes the recipient's commands.
    pub(super) recipient_key: AuthKey,
    /// The id senders use.
    pub(super) sender_id: SenderId,
    /// Key that authorizes sends once secured.
    pub(super) sender_key: Option<AuthKey>,
    /// Whether sends are accepted.
    pub(super) status: QueueStatus,
    /// Key that seals delivered messages.
    pub(super) queue_key: QueueKey,
}

impl PartialEq for QueueState {
    fn eq(&self, other: &Self) -> bool {
        self.recipient_key == other.recipient_key
            && self.sender_id == other.sender_id
            && self.sender_key == other.sender_key
            && self.status == other.status
            && self.queue_key.as_bytes() == other.queue_key.as_bytes()
    }
}

impl Eq for QueueState {}

impl std::fmt::Debug for QueueState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys and ids stay out of logs.
        f.debug_struct("QueueState")
            .field("secured", &self.sender_key.is_some())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A message as a record holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct MessageRecord<'a> {
    /// Position in its queue; orders the queue across compaction.
    pub(super) seq: u64,
    /// The message id.
    pub(super) id: MessageId,
    /// When the relay accepted it, unix seconds.
    pub(super) accepted_at: u64,
    /// Message flags.
    pub(super) flags: u8,
    /// The opaque body.
    pub(super) body: &'a [u8],
}

/// One record of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Record<'a> {
    /// The queue's whole current state (NEW, KEY, OFF, or a copy forward);
    /// the last one in the log wins.
    Queue {
        /// The queue.
        recipient_id: RecipientId,
        /// Its state.
        state: QueueState,
        /// The sequence number its next message gets, at least.
        next_seq: u64,
        /// Day (unix days) the queue was last used.
        last_used_day: u32,
    },
    /// A message appended to a queue (SEND, a QUOTA marker, or a copy forward).
    Message {
        /// The queue.
        recipient_id: RecipientId,
        /// The message.
        message: MessageRecord<'a>,
    },
    /// A message removed (ACK).
    Remove {
        /// The queue.
        recipient_id: RecipientId,
        /// The removed message's sequence number.
        seq: u64,
    },
    /// A queue deleted with its messages (DEL, or not used for too long).
    Delete {
        /// The queue.
        recipient_id: RecipientId,
    },
    /// The queue was used on this day (coarse, so that it costs no write per
    /// command).
    Touch {
        /// The queue.
        recipient_id: RecipientId,
        /// Unix days.
        day: u32,
    },
    /// A link's whole current state (LNEW, LSET, or a copy forward); the last
    /// one in the log wins.
    Link {
        /// The link.
        link_id: LinkId,
        /// Key that authorizes LSET and LDEL.
        auth_key: AuthKey,
        /// When the blob was stored (LNEW or LSET), unix seconds: it expires
        /// from then.
        stored_at: u64,
        /// The opaque blob, exactly [`LINK_BLOB_LEN`] bytes.
        blob: &'a [u8],
    },
    /// A link deleted (LDEL).
    LinkDelete {
        /// The link.
        link_id: LinkId,
    },
    /// A file chunk's whole current state (FNEW, its completion, FACK, or a
    /// copy forward); the last one in the log wins.
    Chunk {
        /// The chunk.
        upload_id: UploadId,
        /// Its state.
        chunk: Box<ChunkRecord>,
    },
    /// A chunk deleted (FDEL, or FACK by its last recipient).
    ChunkDelete {
        /// The chunk.
        upload_id: UploadId,
    },
}

/// Why bytes are not a record. At a segment's tail this is a write the
/// machine never completed; anywhere else it is damage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DecodeError {
    /// Fewer bytes than the frame says.
    Truncated,
    /// The checksum does not match.
    Checksum,
    /// The frame is whole and its checksum right, but its content is not a
    /// record this version writes.
    Malformed,
}

impl Record<'_> {
    /// Bytes of this record once framed.
    pub(super) fn framed_len(&self) -> usize {
        FRAME_HEADER_LEN + 1 + self.payload_len()
    }

    fn payload_len(&self) -> usize {
        match self {
            Record::Queue { .. } => QUEUE_PAYLOAD_LEN,
            Record::Message { message, .. } => MESSAGE_FIXED_LEN + message.body.len(),
            Record::Remove { .. } => 24 + 8,
            Record::Delete { .. } => 24,
            Record::Touch { .. } => 24 + 4,
            Record::Link { blob, .. } => LINK_FIXED_LEN + blob.len(),
            Record::LinkDelete { .. } => 24,
            Record::Chunk { chunk, .. } => 24 + chunk.encoded_len(),
            Record::ChunkDelete { .. } => 24,
        }
    }

    /// Appends the framed record to `out`.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        // The length counts the type byte; a payload is bounded far below 4 GiB.
        let length = u32::try_from(1 + self.payload_len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&length.to_be_bytes());
        match self {
            Record::Queue {
                recipient_id,
                state,
                next_seq,
                last_used_day,
            } => {
                out.push(TYPE_QUEUE);
                out.extend_from_slice(recipient_id.as_bytes());
                out.extend_from_slice(state.recipient_key.as_bytes());
                out.extend_from_slice(state.sender_id.as_bytes());
                match &state.sender_key {
                    Some(key) => {
                        out.push(1);
                        out.extend_from_slice(key.as_bytes());
                    }
                    None => {
                        out.push(0);
                        out.extend_from_slice(&[0; 32]);
                    }
                }
                out.push(match state.status {
                    QueueStatus::Active => 0,
                    QueueStatus::Suspended => 1,
                });
                out.extend_from_slice(state.queue_key.as_bytes());
                out.extend_from_slice(&next_seq.to_be_bytes());
                out.extend_from_slice(&last_used_day.to_be_bytes());
            }
            Record::Message {
                recipient_id,
                message,
            } => {
                out.push(TYPE_MESSAGE);
                out.extend_from_slice(recipient_id.as_bytes());
                out.extend_from_slice(&message.seq.to_be_bytes());
                out.extend_from_slice(message.id.as_bytes());
                out.extend_from_slice(&message.accepted_at.to_be_bytes());
                out.push(message.flags);
                out.extend_from_slice(message.body);
            }
            Record::Remove { recipient_id, seq } => {
                out.push(TYPE_REMOVE);
                out.extend_from_slice(recipient_id.as_bytes());
                out.extend_from_slice(&seq.to_be_bytes());
            }
            Record::Delete { recipient_id } => {
                out.push(TYPE_DELETE);
                out.extend_from_slice(recipient_id.as_bytes());
            }
            Record::Touch { recipient_id, day } => {
                out.push(TYPE_TOUCH);
                out.extend_from_slice(recipient_id.as_bytes());
                out.extend_from_slice(&day.to_be_bytes());
            }
            Record::Link {
                link_id,
                auth_key,
                stored_at,
                blob,
            } => {
                out.push(TYPE_LINK);
                out.extend_from_slice(link_id.as_bytes());
                out.extend_from_slice(auth_key.as_bytes());
                out.extend_from_slice(&stored_at.to_be_bytes());
                out.extend_from_slice(blob);
            }
            Record::LinkDelete { link_id } => {
                out.push(TYPE_LINK_DELETE);
                out.extend_from_slice(link_id.as_bytes());
            }
            Record::Chunk { upload_id, chunk } => {
                out.push(TYPE_CHUNK);
                out.extend_from_slice(upload_id.as_bytes());
                chunk.encode(out);
            }
            Record::ChunkDelete { upload_id } => {
                out.push(TYPE_CHUNK_DELETE);
                out.extend_from_slice(upload_id.as_bytes());
            }
        }
        let crc = crc32fast::hash(out.get(start + 4..).unwrap_or_default());
        if let Some(slot) = out.get_mut(start..start + 4) {
            slot.copy_from_slice(&crc.to_be_bytes());
        }
    }
}

/// The framed length the header at the front of `bytes` announces, checked
/// against the bound before anything is allocated for it.
pub(super) fn framed_len(header: &[u8; FRAME_HEADER_LEN]) -> Result<usize, DecodeError> {
    let [_, _, _, _, l0, l1, l2, l3] = *header;
    let length = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
    if length == 0 || length > 1 + MAX_PAYLOAD_LEN {
        // A length no writer produces: a torn or zeroed header, or damage.
        return Err(DecodeError::Checksum);
    }
    Ok(FRAME_HEADER_LEN + length)
}

/// Decodes the record at the front of `bytes`; returns it and its framed length.
pub(super) fn decode(bytes: &[u8]) -> Result<(Record<'_>, usize), DecodeError> {
    let header: &[u8; FRAME_HEADER_LEN] = bytes.first_chunk().ok_or(DecodeError::Truncated)?;
    let len = framed_len(header)?;
    let frame = bytes.get(..len).ok_or(DecodeError::Truncated)?;
    let (crc, checked) = frame.split_at(4);
    if crc != crc32fast::hash(checked).to_be_bytes() {
        return Err(DecodeError::Checksum);
    }
    let (&kind, payload) = frame
        .get(FRAME_HEADER_LEN..)
        .and_then(<[u8]>::split_first)
        .ok_or(DecodeError::Malformed)?;
    let record = decode_payload(kind, payload).ok_or(DecodeError::Malformed)?;
    Ok((record, len))
}

fn decode_payload(kind: u8, payload: &[u8]) -> Option<Record<'_>> {
    let mut rest = payload;
    // Every record starts with its queue's recipient id or its link's id.
    let id: [u8; 24] = take(&mut rest)?;
    let recipient_id = RecipientId::from_bytes(id);
    let record = match kind {
        TYPE_QUEUE => {
            let recipient_key = AuthKey::from_bytes(take(&mut rest)?);
            let sender_id = SenderId::from_bytes(take(&mut rest)?);
            let [has_sender_key] = take(&mut rest)?;
            let sender_key_bytes = take(&mut rest)?;
            let sender_key = match has_sender_key {
                0 => None,
                1 => Some(AuthKey::from_bytes(sender_key_bytes)),
                _ => return None,
            };
            let status = match take(&mut rest)? {
                [0] => QueueStatus::Active,
                [1] => QueueStatus::Suspended,
                _ => return None,
            };
            let queue_key = QueueKey::from_bytes(take(&mut rest)?);
            let next_seq = u64::from_be_bytes(take(&mut rest)?);
            let last_used_day = u32::from_be_bytes(take(&mut rest)?);
            Record::Queue {
                recipient_id,
                state: QueueState {
                    recipient_key,
                    sender_id,
                    sender_key,
                    status,
                    queue_key,
                },
                next_seq,
                last_used_day,
            }
        }
        TYPE_MESSAGE => {
            let seq = u64::from_be_bytes(take(&mut rest)?);
            let id = MessageId::from_bytes(take(&mut rest)?);
            let accepted_at = u64::from_be_bytes(take(&mut rest)?);
            let [flags] = take(&mut rest)?;
            let body = std::mem::take(&mut rest);
            Record::Message {
                recipient_id,
                message: MessageRecord {
                    seq,
                    id,
                    accepted_at,
                    flags,
                    body,
                },
            }
        }
        TYPE_REMOVE => Record::Remove {
            recipient_id,
            seq: u64::from_be_bytes(take(&mut rest)?),
        },
        TYPE_DELETE => Record::Delete { recipient_id },
        TYPE_TOUCH => Record::Touch {
            recipient_id,
            day: u32::from_be_bytes(take(&mut rest)?),
        },
        TYPE_LINK => {
            let auth_key = AuthKey::from_bytes(take(&mut rest)?);
            let stored_at = u64::from_be_bytes(take(&mut rest)?);
            let blob = std::mem::take(&mut rest);
            if blob.len() != LINK_BLOB_LEN {
                return None;
            }
            Record::Link {
                link_id: LinkId::from_bytes(id),
                auth_key,
                stored_at,
                blob,
            }
        }
        TYPE_LINK_DELETE => Record::LinkDelete {
            link_id: LinkId::from_bytes(id),
        },
        TYPE_CHUNK => Record::Chunk {
            upload_id: UploadId::from_bytes(id),
            chunk: Box::new(ChunkRecord::decode(std::mem::take(&mut rest))?),
        },
        TYPE_CHUNK_DELETE => Record::ChunkDelete {
            upload_id: UploadId::from_bytes(id),
        },
        _ => return None,
    };
    // Trailing bytes mean a record this version does not know how to read.
    rest.is_empty().then_some(record)
}

fn take<const N: usize>(rest: &mut &[u8]) -> Option<[u8; N]> {
    let (head, tail) = rest.split_first_chunk::<N>()?;
    *rest = tail;
    Some(*head)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn state(secured: bool) -> QueueState {
        QueueState {
            recipient_key: AuthKey::from_bytes([1; 32]),
            sender_id: SenderId::from_bytes([2; 24]),
            sender_key: secured.then(|| AuthKey::from_bytes([3; 32])),
            status: if secured {
                QueueStatus::Suspended
            } else {
                QueueStatus::Active
            },
            queue_key: QueueKey::from_bytes([4; 32]),
        }
    }

    static LINK_BLOB: [u8; LINK_BLOB_LEN] = [0x5a; LINK_BLOB_LEN];

    pub(crate) fn sample_chunk(downloads: u8) -> ChunkRecord {
        use sotto_wire::{ChunkDigest, ChunkSize, DownloadId};

        use crate::store::ChunkFile;
        use crate::store::chunk::CHUNK_FILE_NAME_LEN;
        ChunkRecord {
            upload_key: AuthKey::from_bytes([11; 32]),
            size: ChunkSize::Mib1,
            digest: ChunkDigest::from_bytes([12; 32]),
            file: ChunkFile::from_bytes([13; CHUNK_FILE_NAME_LEN]),
            since: 1_800_000_000,
            complete: true,
            downloads: (0..downloads)
                .map(|n| {
                    (
                        DownloadId::from_bytes([20 + n; 24]),
                        AuthKey::from_bytes([40 + n; 32]),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn chunk_records_round_trip_and_bound_their_downloads() {
        let record = Record::Chunk {
            upload_id: UploadId::from_bytes([10; 24]),
            chunk: Box::new(sample_chunk(64)),
        };
        let mut out = Vec::new();
        record.encode(&mut out);
        assert_eq!(out.len(), record.framed_len());
        assert_eq!(out.len(), 9 + 24 + 91 + 64 * 56);
        match decode(&out) {
            Ok((Record::Chunk { chunk, .. }, len)) => {
                assert_eq!(len, out.len());
                assert_eq!(*chunk, sample_chunk(64));
            }
            other => panic!("{other:?}"),
        }
        let too_many = Record::Chunk {
            upload_id: UploadId::from_bytes([10; 24]),
            chunk: Box::new(sample_chunk(65)),
        };
        let mut out = Vec::new();
        too_many.encode(&mut out);
        assert_eq!(decode(&out).map(|_| ()), Err(DecodeError::Malformed));
    }

    pub(crate) fn samples(body: &[u8]) -> Vec<Record<'_>> {
        let recipient_id = RecipientId::from_bytes([9; 24]);
        vec![
            Record::Queue {
                recipient_id,
                state: state(false),
                next_seq: 0,
                last_used_day: 20_000,
            },
            Record::Queue {
                recipient_id,
                state: state(true),
                next_seq: u64::MAX,
                last_used_day: u32::MAX,
            },
            Record::Message {
                recipient_id,
                message: MessageRecord {
                    seq: 7,
                    id: MessageId::from_bytes([5; 24]),
                    accepted_at: 1_800_000_000,
                    flags: 1,
                    body,
                },
            },
            Record::Remove {
                recipient_id,
                seq: 7,
            },
            Record::Delete { recipient_id },
            Record::Touch {
                recipient_id,
                day: 20_001,
            },
            Record::Link {
                link_id: LinkId::from_bytes([8; 24]),
                auth_key: AuthKey::from_bytes([6; 32]),
                stored_at: 1_800_000_000,
                blob: &LINK_BLOB,
            },
            Record::LinkDelete {
                link_id: LinkId::from_bytes([8; 24]),
            },
            Record::Chunk {
                upload_id: UploadId::from_bytes([10; 24]),
                chunk: Box::new(sample_chunk(2)),
            },
            Record::ChunkDelete {
                upload_id: UploadId::from_bytes([10; 24]),
            },
        ]
    }

    #[test]
    fn every_record_round_trips() {
        let body = vec![0xab; MAX_MESSAGE_BODY];
        for body in [&body[..], &[][..], &body[..3]] {
            for record in samples(body) {
                let mut out = Vec::new();
                record.encode(&mut out);
                assert_eq!(out.len(), record.framed_len());
                out.extend_from_slice(b"next");
                assert_eq!(decode(&out), Ok((record.clone(), out.len() - 4)));
            }
        }
    }

    #[test]
    fn message_body_sits_at_its_offset() {
        let record = &samples(b"body")[2];
        let mut out = Vec::new();
        record.encode(&mut out);
        assert_eq!(&out[MESSAGE_BODY_OFFSET..], b"body");
    }

    #[test]
    fn every_prefix_is_truncated_and_every_flipped_bit_is_caught() {
        for record in samples(b"hello") {
            let mut out = Vec::new();
            record.encode(&mut out);
            for cut in 0..out.len() {
                assert!(decode(&out[..cut]).is_err(), "prefix {cut} decoded");
            }
            for byte in 0..out.len() {
                let mut damaged = out.clone();
                damaged[byte] ^= 0x10;
                assert!(decode(&damaged).is_err(), "flip in byte {byte} decoded");
            }
        }
    }

    #[test]
    fn link_blob_sits_at_its_offset_and_has_one_size() {
        let record = Record::Link {
            link_id: LinkId::from_bytes([8; 24]),
            auth_key: AuthKey::from_bytes([6; 32]),
            stored_at: 7,
            blob: &LINK_BLOB,
        };
        let mut out = Vec::new();
        record.encode(&mut out);
        assert_eq!(&out[LINK_BLOB_OFFSET..], &LINK_BLOB[..]);
        let short = Record::Link {
            link_id: LinkId::from_bytes([8; 24]),
            auth_key: AuthKey::from_bytes([6; 32]),
            stored_at: 7,
            blob: &LINK_BLOB[1..],
        };
        let mut out = Vec::new();
        short.encode(&mut out);
        assert_eq!(decode(&out), Err(DecodeError::Malformed));
    }

    #[test]
    fn zeros_and_oversized_lengths_are_refused() {
        assert_eq!(decode(&[0; 64]), Err(DecodeError::Checksum));
        let mut header = [0u8; FRAME_HEADER_LEN];
        header[4..].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(framed_len(&header), Err(DecodeError::Checksum));
    }

    #[test]
    fn unknown_types_and_trailing_bytes_are_malformed() {
        let mut frame = Vec::new();
        Record::Delete {
            recipient_id: RecipientId::from_bytes([1; 24]),
        }
        .encode(&mut frame);
        let reframe = |kind: u8, extra: &[u8]| {
            let mut payload = frame[FRAME_HEADER_LEN + 1..].to_vec();
            payload.extend_from_slice(extra);
            let mut out = Vec::new();
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&u32::try_from(payload.len() + 1).unwrap().to_be_bytes());
            out.push(kind);
            out.extend_from_slice(&payload);
            let crc = crc32fast::hash(&out[4..]);
            out[..4].copy_from_slice(&crc.to_be_bytes());
            out
        };
        assert_eq!(decode(&reframe(0x7f, &[])), Err(DecodeError::Malformed));
        assert_eq!(
            decode(&reframe(TYPE_DELETE, &[0])),
            Err(DecodeError::Malformed)
        );
        assert!(decode(&reframe(TYPE_DELETE, &[])).is_ok());
    }
}
