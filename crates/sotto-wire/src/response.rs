//! Responses and pushes a relay sends to a client.

use x25519_dalek::PublicKey as DhPublicKey;

use crate::WireError;
use crate::codec::Reader;
use crate::file_chunk::{FilePiece, MAX_DOWNLOADS};
use crate::group_log::GroupEntry;
use crate::ids::{
    CorrId, DownloadId, EntityId, GroupAdminId, GroupReadId, GroupWriteId, ID_LEN, LinkId,
    MessageId, RecipientId, SenderId, UploadId,
};
use crate::link_blob::LinkBlob;
use crate::queue_message::SealedMessage;
use crate::transmission::Transmission;

const TAG_IDS: u8 = 0x81;
const TAG_OK: u8 = 0x82;
const TAG_ERR: u8 = 0x83;
const TAG_MSG: u8 = 0x84;
const TAG_END: u8 = 0x85;
const TAG_PONG: u8 = 0x86;
const TAG_LID: u8 = 0x87;
const TAG_LINK: u8 = 0x88;
const TAG_FIDS: u8 = 0x89;
const TAG_FPOS: u8 = 0x8a;
const TAG_FDATA: u8 = 0x8b;
const TAG_FMAX: u8 = 0x8c;
const TAG_GIDS: u8 = 0x8d;
const TAG_GSEQ: u8 = 0x8e;
const TAG_GENT: u8 = 0x8f;
const TAG_GPOS: u8 = 0x90;
const TAG_GEND: u8 = 0x91;

/// Why the relay refused a command (the code byte of ERR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ErrorCode {
    /// 1: the block decrypted but its inner block is malformed.
    Block = 1,
    /// 2: a transmission does not parse, or its command is unknown.
    Cmd = 2,
    /// 3: no such queue, bad or missing authenticator, wrong password, or a
    /// suspended queue: deliberately indistinguishable.
    Auth = 3,
    /// 4: the queue holds as many messages as its quota allows; retry later.
    Quota = 4,
    /// 5: no message to deliver (GET), or ACK of a message that is not the one
    /// delivered.
    NoMsg = 5,
    /// 6: the message body is too large.
    LargeMsg = 6,
    /// 7: the relay failed internally (for instance its storage); retry later.
    Internal = 7,
    /// 8: the connection exceeded a rate limit; slow down.
    Limit = 8,
    /// 9: the relay is at its storage budget and takes no new queue or message;
    /// retry later (or use another relay).
    Full = 9,
    /// 10: an FPUT whose piece would leave a gap or run past the chunk's
    /// size, or an FGET that reads past it.
    Offset = 10,
    /// 11: an FPUT to a chunk that is complete already.
    Complete = 11,
    /// 12: an FGET of a chunk whose upload is not complete.
    Incomplete = 12,
    /// 13: the chunk's last piece arrived but its content does not have the
    /// digest FNEW gave; the relay discarded what it held (upload it again).
    Digest = 13,
}

impl ErrorCode {
    /// The code's byte.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The error code with this byte.
    pub const fn from_code(code: u8) -> Result<ErrorCode, WireError> {
        Ok(match code {
            1 => ErrorCode::Block,
            2 => ErrorCode::Cmd,
            3 => ErrorCode::Auth,
            4 => ErrorCode::Quota,
            5 => ErrorCode::NoMsg,
            6 => ErrorCode::LargeMsg,
            7 => ErrorCode::Internal,
            8 => ErrorCode::Limit,
            9 => ErrorCode::Full,
            10 => ErrorCode::Offset,
            11 => ErrorCode::Complete,
            12 => ErrorCode::Incomplete,
            13 => ErrorCode::Digest,
            other => return Err(WireError::UnknownErrorCode(other)),
        })
    }
}

/// A response (or push) from a relay to a client. Responses are never signed:
/// the encrypted transport already authenticates the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// IDS (0x81): the queue NEW created.
    Ids {
        /// The id the recipient uses.
        recipient_id: RecipientId,
        /// The id to give to the sender.
        sender_id: SenderId,
        /// The relay's X25519 key for this queue; with the recipient's DH key it
        /// gives the key that seals delivered messages.
        queue_dh_key: DhPublicKey,
    },
    /// OK (0x82): the command succeeded. Echoes the command's entity id.
    Ok {
        /// The command's entity id.
        entity: Option<EntityId>,
    },
    /// ERR (0x83): the command failed. Echoes the command's entity id.
    Err {
        /// The command's entity id.
        entity: Option<EntityId>,
        /// Why.
        code: ErrorCode,
    },
    /// MSG (0x84): a message, pushed to a subscriber (corr id all zero) or
    /// answering GET (the GET's corr id).
    Msg {
        /// The queue.
        recipient_id: RecipientId,
        /// The message's id; ACK it to receive the next one.
        message_id: MessageId,
        /// The message sealed with the queue key.
        sealed: SealedMessage,
    },
    /// END (0x85): another connection subscribed this queue; this one no longer
    /// receives it.
    End {
        /// The queue.
        recipient_id: RecipientId,
    },
    /// PONG (0x86): answers PING.
    Pong,
    /// LID (0x87): the link LNEW created.
    LinkIds {
        /// The link's id, to put in the link.
        link_id: LinkId,
    },
    /// LINK (0x88): a link's blob, answering LGET.
    Link {
        /// The link.
        link_id: LinkId,
        /// Its blob (end-to-end ciphertext).
        blob: LinkBlob,
    },
    /// FIDS (0x89): the chunk FNEW created.
    FileIds {
        /// The id the uploader uses.
        upload_id: UploadId,
        /// One id per download key of the FNEW, in the same order.
        download_ids: Vec<DownloadId>,
    },
    /// FPOS (0x8a): how much of a chunk the relay holds, answering FSTAT.
    FilePos {
        /// The chunk.
        upload_id: UploadId,
        /// Bytes received from the chunk's start.
        received: u32,
        /// Whether the chunk is complete (digest checked, on disk).
        complete: bool,
    },
    /// FDATA (0x8b): the piece of a chunk an FGET asked for (with its corr id).
    FileData {
        /// The chunk, as the FGET named it.
        download_id: DownloadId,
        /// Where the piece starts in the chunk.
        offset: u32,
        /// The piece.
        piece: FilePiece,
    },
    /// FMAX (0x8c): the relay's limits for files, answering FLIM.
    FileLimits {
        /// The largest file the relay accepts, in bytes, counted as the sum of
        /// its chunks' sizes.
        max_file_size: u64,
        /// Seconds a chunk is kept after its upload completes.
        chunk_ttl_secs: u64,
    },
    /// GIDS (0x8d): the group log GNEW created.
    GroupIds {
        /// The id for GKEY and GDEL.
        admin_id: GroupAdminId,
        /// The id for GAPP.
        write_id: GroupWriteId,
        /// The id for GREAD, GSUB and GUNSUB.
        read_id: GroupReadId,
    },
    /// GSEQ (0x8e): the sequence number an appended entry got (it is on
    /// disk), answering GAPP.
    GroupSeq {
        /// The log, as the GAPP named it.
        write_id: GroupWriteId,
        /// The entry's sequence number.
        seq: u64,
    },
    /// GENT (0x8f): one entry of a log, answering GREAD (its corr id) or
    /// pushed to a subscriber (corr id all zero).
    GroupEntry {
        /// The log, as its readers know it.
        read_id: GroupReadId,
        /// The entry's sequence number.
        seq: u64,
        /// The entry.
        entry: GroupEntry,
    },
    /// GPOS (0x90): where a log stands, answering GSUB, and GREAD when the log
    /// holds no entry with the sequence number asked for.
    GroupPos {
        /// The log, as its readers know it.
        read_id: GroupReadId,
        /// The sequence number of the oldest entry the log holds (`next` when
        /// it holds none): every entry before it has expired.
        first: u64,
        /// The sequence number the next appended entry will get.
        next: u64,
    },
    /// GEND (0x91): this connection's subscription of the log ended (its read
    /// key was replaced, or it was deleted).
    GroupEnd {
        /// The log, as its readers know it.
        read_id: GroupReadId,
    },
}

impl Response {
    /// The response's tag byte.
    pub fn tag(&self) -> u8 {
        match self {
            Response::Ids { .. } => TAG_IDS,
            Response::Ok { .. } => TAG_OK,
            Response::Err { .. } => TAG_ERR,
            Response::Msg { .. } => TAG_MSG,
            Response::End { .. } => TAG_END,
            Response::Pong => TAG_PONG,
            Response::LinkIds { .. } => TAG_LID,
            Response::Link { .. } => TAG_LINK,
            Response::FileIds { .. } => TAG_FIDS,
            Response::FilePos { .. } => TAG_FPOS,
            Response::FileData { .. } => TAG_FDATA,
            Response::FileLimits { .. } => TAG_FMAX,
            Response::GroupIds { .. } => TAG_GIDS,
            Response::GroupSeq { .. } => TAG_GSEQ,
            Response::GroupEntry { .. } => TAG_GENT,
            Response::GroupPos { .. } => TAG_GPOS,
            Response::GroupEnd { .. } => TAG_GEND,
        }
    }

    /// The entity id the response carries.
    pub fn entity(&self) -> Option<EntityId> {
        match self {
            Response::Ids { .. }
            | Response::Pong
            | Response::LinkIds { .. }
            | Response::FileIds { .. }
            | Response::FileLimits { .. }
            | Response::GroupIds { .. } => None,
            Response::GroupSeq { write_id, .. } => Some((*write_id).into()),
            Response::GroupEntry { read_id, .. }
            | Response::GroupPos { read_id, .. }
            | Response::GroupEnd { read_id } => Some((*read_id).into()),
            Response::FilePos { upload_id, .. } => Some((*upload_id).into()),
            Response::FileData { download_id, .. } => Some((*download_id).into()),
            Response::Link { link_id, .. } => Some((*link_id).into()),
            Response::Ok { entity } | Response::Err { entity, .. } => *entity,
            Response::Msg { recipient_id, .. } | Response::End { recipient_id } => {
                Some((*recipient_id).into())
            }
        }
    }

    /// The tag-specific body.
    pub fn encode_body(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Response::Ids {
                recipient_id,
                sender_id,
                queue_dh_key,
            } => {
                out.extend_from_slice(recipient_id.as_bytes());
                out.extend_from_slice(sender_id.as_bytes());
                out.extend_from_slice(queue_dh_key.as_bytes());
            }
            Response::Err { code, .. } => out.push(code.code()),
            Response::Msg {
                message_id, sealed, ..
            } => {
                out.extend_from_slice(message_id.as_bytes());
                sealed.encode(&mut out);
            }
            Response::LinkIds { link_id } => out.extend_from_slice(link_id.as_bytes()),
            Response::Link { blob, .. } => blob.encode(&mut out),
            Response::FileIds {
                upload_id,
                download_ids,
            } => {
                out.extend_from_slice(upload_id.as_bytes());
                // At most MAX_DOWNLOADS ids, which fits in u8.
                out.push(download_ids.len() as u8);
                for id in download_ids {
                    out.extend_from_slice(id.as_bytes());
                }
            }
            Response::FilePos {
                received, complete, ..
            } => {
                out.extend_from_slice(&received.to_be_bytes());
                out.push(u8::from(*complete));
            }
            Response::FileData { offset, piece, .. } => {
                out.extend_from_slice(&offset.to_be_bytes());
                piece.encode(&mut out);
            }
            Response::FileLimits {
                max_file_size,
                chunk_ttl_secs,
            } => {
                out.extend_from_slice(&max_file_size.to_be_bytes());
                out.extend_from_slice(&chunk_ttl_secs.to_be_bytes());
            }
            Response::GroupIds {
                admin_id,
                write_id,
                read_id,
            } => {
                out.extend_from_slice(admin_id.as_bytes());
                out.extend_from_slice(write_id.as_bytes());
                out.extend_from_slice(read_id.as_bytes());
            }
            Response::GroupSeq { seq, .. } => out.extend_from_slice(&seq.to_be_bytes()),
            Response::GroupEntry { seq, entry, .. } => {
                out.extend_from_slice(&seq.to_be_bytes());
                entry.encode(&mut out);
            }
            Response::GroupPos { first, next, .. } => {
                out.extend_from_slice(&first.to_be_bytes());
                out.extend_from_slice(&next.to_be_bytes());
            }
            Response::Ok { .. }
            | Response::End { .. }
            | Response::Pong
            | Response::GroupEnd { .. } => {}
        }
        out
    }

    /// The transmission of this response (never signed).
    pub fn to_transmission(&self, corr_id: CorrId) -> Transmission {
        Transmission {
            authenticator: None,
            corr_id,
            entity: self.entity(),
            tag: self.tag(),
            body: self.encode_body(),
        }
    }

    /// A MSG transmission whose sealed message `seal` appends to its body
    /// (with [`QueueKey::seal_body_into`](crate::QueueKey::seal_body_into)):
    /// the bytes of [`Response::Msg`]'s transmission, without copying the
    /// sealed message into it.
    pub fn msg_transmission(
        corr_id: CorrId,
        recipient_id: RecipientId,
        message_id: &MessageId,
        seal: impl FnOnce(&mut Vec<u8>) -> Result<(), WireError>,
    ) -> Result<Transmission, WireError> {
        let mut body = Vec::with_capacity(ID_LEN + 2 + crate::MAX_SEALED_LEN);
        body.extend_from_slice(message_id.as_bytes());
        seal(&mut body)?;
        Ok(Transmission {
            authenticator: None,
            corr_id,
            entity: Some(recipient_id.into()),
            tag: TAG_MSG,
            body,
        })
    }

    /// Reads the response a transmission carries; refuses one with an
    /// authenticator (relay responses never carry one).
    pub fn from_transmission(transmission: &Transmission) -> Result<Response, WireError> {
        if transmission.authenticator.is_some() {
            return Err(WireError::UnexpectedAuthenticator);
        }
        let mut reader = Reader::new(&transmission.body);
        let entity = transmission.entity;
        let recipient_id = || {
            entity
                .map(RecipientId::from)
                .ok_or(WireError::EntityMismatch)
        };
        let read_id = || {
            entity
                .map(GroupReadId::from)
                .ok_or(WireError::EntityMismatch)
        };
        let no_entity = || match entity {
            None => Ok(()),
            Some(_) => Err(WireError::EntityMismatch),
        };
        let response = match transmission.tag {
            TAG_IDS => {
                no_entity()?;
                Response::Ids {
                    recipient_id: RecipientId::from_bytes(reader.array()?),
                    sender_id: SenderId::from_bytes(reader.array()?),
                    queue_dh_key: DhPublicKey::from(reader.array::<32>()?),
                }
            }
            TAG_OK => Response::Ok { entity },
            TAG_ERR => Response::Err {
                entity,
                code: ErrorCode::from_code(reader.u8()?)?,
            },
            TAG_MSG => Response::Msg {
                recipient_id: recipient_id()?,
                message_id: MessageId::from_bytes(reader.array()?),
                sealed: SealedMessage::decode(&mut reader)?,
            },
            TAG_END => Response::End {
                recipient_id: recipient_id()?,
            },
            TAG_PONG => {
                no_entity()?;
                Response::Pong
            }
            TAG_LID => {
                no_entity()?;
                Response::LinkIds {
                    link_id: LinkId::from_bytes(reader.array()?),
                }
            }
            TAG_LINK => Response::Link {
                link_id: entity.map(LinkId::from).ok_or(WireError::EntityMismatch)?,
                blob: LinkBlob::decode(&mut reader)?,
            },
            TAG_FIDS => {
                no_entity()?;
                let upload_id = UploadId::from_bytes(reader.array()?);
                let count = usize::from(reader.u8()?);
                if count == 0 || count > MAX_DOWNLOADS {
                    return Err(WireError::LengthOutOfRange {
                        field: "download count",
                    });
                }
                let mut download_ids = Vec::with_capacity(count);
                for _ in 0..count {
                    download_ids.push(DownloadId::from_bytes(reader.array()?));
                }
                Response::FileIds {
                    upload_id,
                    download_ids,
                }
            }
            TAG_FPOS => Response::FilePos {
                upload_id: entity
                    .map(UploadId::from)
                    .ok_or(WireError::EntityMismatch)?,
                received: reader.u32()?,
                complete: match reader.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(WireError::ReservedFlags),
                },
            },
            TAG_FDATA => Response::FileData {
                download_id: entity
                    .map(DownloadId::from)
                    .ok_or(WireError::EntityMismatch)?,
                offset: reader.u32()?,
                piece: FilePiece::decode(&mut reader)?,
            },
            TAG_FMAX => {
                no_entity()?;
                Response::FileLimits {
                    max_file_size: reader.u64()?,
                    chunk_ttl_secs: reader.u64()?,
                }
            }
            TAG_GIDS => {
                no_entity()?;
                Response::GroupIds {
                    admin_id: GroupAdminId::from_bytes(reader.array()?),
                    write_id: GroupWriteId::from_bytes(reader.array()?),
                    read_id: GroupReadId::from_bytes(reader.array()?),
                }
            }
            TAG_GSEQ => Response::GroupSeq {
                write_id: entity
                    .map(GroupWriteId::from)
                    .ok_or(WireError::EntityMismatch)?,
                seq: reader.u64()?,
            },
            TAG_GENT => Response::GroupEntry {
                read_id: read_id()?,
                seq: reader.u64()?,
                entry: GroupEntry::decode(&mut reader)?,
            },
            TAG_GPOS => Response::GroupPos {
                read_id: read_id()?,
                first: reader.u64()?,
                next: reader.u64()?,
            },
            TAG_GEND => Response::GroupEnd {
                read_id: read_id()?,
            },
            tag => return Err(WireError::UnknownResponse(tag)),
        };
        reader.finish()?;
        Ok(response)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::queue_message::{MAX_SEALED_LEN, MIN_SEALED_LEN};

    pub(crate) fn arb_response() -> impl Strategy<Value = Response> {
        let entity = proptest::option::of(any::<[u8; 24]>().prop_map(EntityId::from_bytes));
        let recipient = any::<[u8; 24]>().prop_map(RecipientId::from_bytes);
        prop_oneof![
            (any::<[u8; 24]>(), any::<[u8; 24]>(), any::<[u8; 32]>()).prop_map(|(r, s, k)| {
                Response::Ids {
                    recipient_id: RecipientId::from_bytes(r),
                    sender_id: SenderId::from_bytes(s),
                    queue_dh_key: DhPublicKey::from(k),
                }
            }),
            entity.clone().prop_map(|entity| Response::Ok { entity }),
            (entity, 1u8..=13).prop_map(|(entity, code)| Response::Err {
                entity,
                code: ErrorCode::from_code(code).unwrap(),
            }),
            (
                recipient.clone(),
                any::<[u8; 24]>(),
                prop_oneof![
                    prop::collection::vec(any::<u8>(), MIN_SEALED_LEN..100),
                    prop::collection::vec(any::<u8>(), MAX_SEALED_LEN..=MAX_SEALED_LEN),
                ]
            )
                .prop_map(|(recipient_id, id, sealed)| Response::Msg {
                    recipient_id,
                    message_id: MessageId::from_bytes(id),
                    sealed: SealedMessage::from_vec(sealed).unwrap(),
                }),
            recipient.prop_map(|recipient_id| Response::End { recipient_id }),
            Just(Response::Pong),
            any::<[u8; 24]>().prop_map(|id| Response::LinkIds {
                link_id: LinkId::from_bytes(id),
            }),
            (any::<[u8; 24]>(), crate::command::tests::arb_link_blob()).prop_map(|(id, blob)| {
                Response::Link {
                    link_id: LinkId::from_bytes(id),
                    blob,
                }
            }),
            (
                any::<[u8; 24]>(),
                prop::collection::vec(any::<[u8; 24]>(), 1..=MAX_DOWNLOADS)
            )
                .prop_map(|(id, ids)| Response::FileIds {
                    upload_id: UploadId::from_bytes(id),
                    download_ids: ids.into_iter().map(DownloadId::from_bytes).collect(),
                }),
            (any::<[u8; 24]>(), any::<u32>(), any::<bool>()).prop_map(
                |(id, received, complete)| Response::FilePos {
                    upload_id: UploadId::from_bytes(id),
                    received,
                    complete,
                }
            ),
            (
                any::<[u8; 24]>(),
                any::<u32>(),
                crate::command::tests::arb_piece()
            )
                .prop_map(|(id, offset, piece)| Response::FileData {
                    download_id: DownloadId::from_bytes(id),
                    offset,
                    piece,
                }),
            (any::<u64>(), any::<u64>()).prop_map(|(max_file_size, chunk_ttl_secs)| {
                Response::FileLimits {
                    max_file_size,
                    chunk_ttl_secs,
                }
            }),
            arb_group_response(),
        ]
    }

    fn arb_group_response() -> impl Strategy<Value = Response> {
        let id = any::<[u8; 24]>();
        prop_oneof![
            (id, id, id).prop_map(|(admin, write, read)| Response::GroupIds {
                admin_id: GroupAdminId::from_bytes(admin),
                write_id: GroupWriteId::from_bytes(write),
                read_id: GroupReadId::from_bytes(read),
            }),
            (id, any::<u64>()).prop_map(|(id, seq)| Response::GroupSeq {
                write_id: GroupWriteId::from_bytes(id),
                seq,
            }),
            (id, any::<u64>(), crate::command::tests::arb_group_entry()).prop_map(
                |(id, seq, entry)| Response::GroupEntry {
                    read_id: GroupReadId::from_bytes(id),
                    seq,
                    entry,
                }
            ),
            (id, any::<u64>(), any::<u64>()).prop_map(|(id, first, next)| Response::GroupPos {
                read_id: GroupReadId::from_bytes(id),
                first,
                next,
            }),
            id.prop_map(|id| Response::GroupEnd {
                read_id: GroupReadId::from_bytes(id),
            }),
        ]
    }

    fn transmission(tag: u8, entity: Option<[u8; 24]>, body: Vec<u8>) -> Transmission {
        Transmission {
            authenticator: None,
            corr_id: CorrId::PUSH,
            entity: entity.map(EntityId::from_bytes),
            tag,
            body,
        }
    }

    #[test]
    fn a_msg_sealed_straight_into_its_transmission_is_the_same() {
        let key = crate::QueueKey::from_bytes([4; 32]);
        let suite = crate::CipherSuite::Aes256Gcm;
        let recipient_id = RecipientId::from_bytes([1; 24]);
        let message_id = MessageId::from_bytes([2; 24]);
        let body = vec![7; 16_000];
        let message = crate::QueueMessage {
            timestamp: 5,
            content: crate::MessageContent::Body(crate::MessageBody::new(body.clone()).unwrap()),
        };
        let expected = Response::Msg {
            recipient_id,
            message_id,
            sealed: key.seal(suite, &message_id, &message).unwrap(),
        }
        .to_transmission(CorrId::PUSH);
        let built = Response::msg_transmission(CorrId::PUSH, recipient_id, &message_id, |out| {
            key.seal_body_into(suite, &message_id, 5, &body, out)
        })
        .unwrap();
        assert_eq!(built, expected);
    }

    #[test]
    fn error_codes_round_trip_and_unknown_codes_fail() {
        for code in 1..=13 {
            assert_eq!(ErrorCode::from_code(code).unwrap().code(), code);
        }
        assert_eq!(ErrorCode::from_code(0), Err(WireError::UnknownErrorCode(0)));
        assert_eq!(
            ErrorCode::from_code(14),
            Err(WireError::UnknownErrorCode(14))
        );
    }

    #[test]
    fn err_layout_echoes_the_entity() {
        let response = Response::Err {
            entity: Some(EntityId::from_bytes([6; 24])),
            code: ErrorCode::Auth,
        };
        let bytes = response
            .to_transmission(CorrId::from_bytes([1; 8]))
            .encode();
        let mut expected = vec![0];
        expected.extend_from_slice(&[1; 8]);
        expected.push(24);
        expected.extend_from_slice(&[6; 24]);
        expected.extend_from_slice(&[0x83, 3]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn malformed_responses_are_refused() {
        let id = Some([1; 24]);
        let cases = [
            (
                transmission(0x01, None, vec![]),
                WireError::UnknownResponse(1),
            ),
            (
                transmission(0x92, None, vec![]),
                WireError::UnknownResponse(0x92),
            ),
            (
                transmission(0x8d, id, vec![0; 72]),
                WireError::EntityMismatch,
            ),
            (transmission(0x8d, None, vec![0; 71]), WireError::Truncated),
            (
                transmission(0x8e, None, vec![0; 8]),
                WireError::EntityMismatch,
            ),
            (transmission(0x8e, id, vec![0; 9]), WireError::TrailingBytes),
            (
                transmission(0x8f, id, vec![0; 8 + crate::GROUP_ENTRY_LEN - 1]),
                WireError::Truncated,
            ),
            (
                transmission(0x8f, id, vec![0; 8 + crate::GROUP_ENTRY_LEN + 1]),
                WireError::TrailingBytes,
            ),
            (transmission(0x90, id, vec![0; 15]), WireError::Truncated),
            (
                transmission(0x90, None, vec![0; 16]),
                WireError::EntityMismatch,
            ),
            (transmission(0x91, id, vec![0]), WireError::TrailingBytes),
            (
                transmission(0x87, id, vec![0; 24]),
                WireError::EntityMismatch,
            ),
            (transmission(0x87, None, vec![0; 23]), WireError::Truncated),
            (
                transmission(0x87, None, vec![0; 25]),
                WireError::TrailingBytes,
            ),
            (
                transmission(0x88, None, vec![0; crate::LINK_BLOB_LEN]),
                WireError::EntityMismatch,
            ),
            (
                transmission(0x88, id, vec![0; crate::LINK_BLOB_LEN - 1]),
                WireError::Truncated,
            ),
            (
                transmission(0x88, id, vec![0; crate::LINK_BLOB_LEN + 1]),
                WireError::TrailingBytes,
            ),
            (
                transmission(0x81, id, vec![0; 80]),
                WireError::EntityMismatch,
            ),
            (transmission(0x81, None, vec![0; 79]), WireError::Truncated),
            (
                transmission(0x81, None, vec![0; 81]),
                WireError::TrailingBytes,
            ),
            (transmission(0x82, id, vec![0]), WireError::TrailingBytes),
            (transmission(0x83, id, vec![]), WireError::Truncated),
            (
                transmission(0x83, id, vec![14]),
                WireError::UnknownErrorCode(14),
            ),
            (transmission(0x89, None, vec![0; 25]), {
                WireError::LengthOutOfRange {
                    field: "download count",
                }
            }),
            (transmission(0x89, id, vec![]), WireError::EntityMismatch),
            (transmission(0x8a, None, vec![]), WireError::EntityMismatch),
            (
                transmission(0x8a, id, vec![0, 0, 0, 0, 2]),
                WireError::ReservedFlags,
            ),
            (
                transmission(0x8b, id, vec![0, 0, 0, 0, 0, 0]),
                WireError::LengthOutOfRange { field: "piece_len" },
            ),
            (
                transmission(0x8c, None, vec![0; 17]),
                WireError::TrailingBytes,
            ),
            (transmission(0x84, None, vec![]), WireError::EntityMismatch),
            (transmission(0x85, None, vec![]), WireError::EntityMismatch),
            (transmission(0x86, id, vec![]), WireError::EntityMismatch),
            (transmission(0x86, None, vec![1]), WireError::TrailingBytes),
        ];
        for (transmission, error) in cases {
            assert_eq!(Response::from_transmission(&transmission), Err(error));
        }
        let mut authenticated = transmission(0x86, None, vec![]);
        authenticated.authenticator = Some(crate::Authenticator::from_bytes([0; 32]));
        assert_eq!(
            Response::from_transmission(&authenticated),
            Err(WireError::UnexpectedAuthenticator)
        );
    }

    #[test]
    fn msg_sealed_length_is_bounded() {
        let mut body = vec![0; 24];
        body.extend_from_slice(&((MIN_SEALED_LEN - 1) as u16).to_be_bytes());
        body.extend_from_slice(&[0; MIN_SEALED_LEN - 1]);
        assert!(Response::from_transmission(&transmission(0x84, Some([1; 24]), body)).is_err());
        let mut body = vec![0; 24];
        body.extend_from_slice(&((MAX_SEALED_LEN + 1) as u16).to_be_bytes());
        body.extend_from_slice(&[0; MAX_SEALED_LEN + 1]);
        assert!(Response::from_transmission(&transmission(0x84, Some([1; 24]), body)).is_err());
    }

    #[test]
    fn every_truncation_of_every_response_fails() {
        let responses = [
            Response::Ids {
                recipient_id: RecipientId::from_bytes([1; 24]),
                sender_id: SenderId::from_bytes([2; 24]),
                queue_dh_key: DhPublicKey::from([3; 32]),
            },
            Response::Err {
                entity: None,
                code: ErrorCode::Quota,
            },
            Response::Msg {
                recipient_id: RecipientId::from_bytes([1; 24]),
                message_id: MessageId::from_bytes([2; 24]),
                sealed: SealedMessage::from_vec(vec![5; 40]).unwrap(),
            },
        ];
        for response in responses {
            let mut transmission = response.to_transmission(CorrId::PUSH);
            let body = transmission.body.clone();
            for len in 0..body.len() {
                transmission.body = body[..len].to_vec();
                assert!(Response::from_transmission(&transmission).is_err());
            }
        }
    }

    proptest! {
        #[test]
        fn responses_round_trip(response in arb_response(), corr_id in any::<[u8; 8]>()) {
            let transmission = response.to_transmission(CorrId::from_bytes(corr_id));
            let decoded = Transmission::decode(&transmission.encode()).unwrap();
            prop_assert_eq!(Response::from_transmission(&decoded), Ok(response));
        }

        #[test]
        fn every_prefix_and_every_extension_of_a_response_fails(
            response in arb_response(),
            extra in any::<u8>(),
        ) {
            let bytes = response.to_transmission(CorrId::PUSH).encode();
            let decodes = |bytes: &[u8]| {
                Transmission::decode(bytes)
                    .and_then(|transmission| Response::from_transmission(&transmission))
            };
            prop_assert_eq!(decodes(&bytes), Ok(response));
            let cuts = (0..bytes.len()).filter(|len| *len < 200 || bytes.len() - len < 200);
            for len in cuts {
                prop_assert!(decodes(&bytes[..len]).is_err(), "prefix of {} bytes", len);
            }
            let mut longer = bytes.clone();
            longer.push(extra);
            prop_assert!(decodes(&longer).is_err());
        }

        #[test]
        fn decoding_arbitrary_bodies_never_panics(
            tag in 0x80u8..0x94,
            entity in proptest::option::of(any::<[u8; 24]>()),
            body in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..120),
                prop::collection::vec(any::<u8>(), 2040..2060),
            ],
        ) {
            let transmission = transmission(tag, entity, body);
            if let Ok(response) = Response::from_transmission(&transmission) {
                prop_assert_eq!(response.to_transmission(CorrId::PUSH), transmission);
            }
        }
    }
}
