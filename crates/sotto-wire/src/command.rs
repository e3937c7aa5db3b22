//! Commands a client sends to a relay, and the bounded values they carry.

use std::fmt;

use subtle::ConstantTimeEq;
use x25519_dalek::PublicKey as DhPublicKey;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::WireError;
use crate::auth::{CommandKey, QueueAuthKey};
use crate::codec::{Reader, write_u16_prefixed};
use crate::file_chunk::{ChunkDigest, ChunkSize, DownloadKeys, FilePiece, MAX_READ_LEN};
use crate::group_log::GroupEntry;
use crate::ids::{
    CorrId, DownloadId, EntityId, GroupAdminId, GroupReadId, GroupWriteId, LinkId, MessageId,
    RecipientId, SenderId, UploadId,
};
use crate::link_blob::LinkBlob;
use crate::transmission::Transmission;

/// Largest message body a SEND may carry. The end-to-end layer must fit every
/// encrypted message, headers included, in this many bytes.
pub const MAX_MESSAGE_BODY: usize = 16000;

/// Longest server password.
pub const MAX_PASSWORD_LEN: usize = 128;

const TAG_NEW: u8 = 0x01;
const TAG_KEY: u8 = 0x02;
const TAG_SUB: u8 = 0x03;
const TAG_SEND: u8 = 0x04;
const TAG_ACK: u8 = 0x05;
const TAG_GET: u8 = 0x06;
const TAG_OFF: u8 = 0x07;
const TAG_DEL: u8 = 0x08;
const TAG_PING: u8 = 0x09;
const TAG_LNEW: u8 = 0x0a;
const TAG_LSET: u8 = 0x0b;
const TAG_LDEL: u8 = 0x0c;
const TAG_LGET: u8 = 0x0d;
const TAG_FNEW: u8 = 0x0e;
const TAG_FPUT: u8 = 0x0f;
const TAG_FSTAT: u8 = 0x10;
const TAG_FGET: u8 = 0x11;
const TAG_FDEL: u8 = 0x12;
const TAG_FACK: u8 = 0x13;
const TAG_FLIM: u8 = 0x14;
const TAG_GNEW: u8 = 0x15;
const TAG_GAPP: u8 = 0x16;
const TAG_GREAD: u8 = 0x17;
const TAG_GSUB: u8 = 0x18;
const TAG_GUNSUB: u8 = 0x19;
const TAG_GKEY: u8 = 0x1a;
const TAG_GDEL: u8 = 0x1b;

/// A message body: 1 to [`MAX_MESSAGE_BODY`] opaque bytes (end-to-end ciphertext).
#[derive(Clone, PartialEq, Eq)]
pub struct MessageBody(Vec<u8>);

impl MessageBody {
    /// A body of 1 to [`MAX_MESSAGE_BODY`] bytes.
    pub fn new(bytes: Vec<u8>) -> Result<MessageBody, WireError> {
        if bytes.is_empty() || bytes.len() > MAX_MESSAGE_BODY {
            return Err(WireError::LengthOutOfRange {
                field: "message body",
            });
        }
        Ok(MessageBody(bytes))
    }

    /// The body's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The body's bytes.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }

    /// The body's length (1 to [`MAX_MESSAGE_BODY`]).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a body is never empty. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Writes `body_len u16 | body`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        write_u16_prefixed(out, &self.0);
    }

    /// Reads `body_len u16 | body`.
    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<MessageBody, WireError> {
        MessageBody::new(reader.u16_prefixed(MAX_MESSAGE_BODY, "body_len")?.to_vec())
    }
}

/// Bytes of a [`SendId`].
pub const SEND_ID_LEN: usize = 16;

/// A SEND's send id: 16 bytes that name the message to the relay, the same
/// when the sender sends the same message again after a lost OK, so that the
/// relay stores it once (an idempotent SEND). [`SendId::of`] derives it from
/// the message, so a retry needs nothing remembered. The relay only compares
/// send ids: a sender that gives two messages one id loses the second.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SendId([u8; SEND_ID_LEN]);

impl SendId {
    /// The send id made of these bytes.
    pub const fn from_bytes(bytes: [u8; SEND_ID_LEN]) -> SendId {
        SendId(bytes)
    }

    /// The send id of a message, as the reference client derives it: the
    /// first 16 bytes of the message's BLAKE3 hash.
    pub fn of(body: &MessageBody) -> SendId {
        let hash = blake3::hash(body.as_bytes());
        let mut id = [0; SEND_ID_LEN];
        id.copy_from_slice(&hash.as_bytes()[..SEND_ID_LEN]);
        SendId(id)
    }

    /// The id's bytes, as sent on the wire.
    pub const fn as_bytes(&self) -> &[u8; SEND_ID_LEN] {
        &self.0
    }
}

impl fmt::Debug for SendId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendId(..)")
    }
}

impl fmt::Debug for MessageBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageBody({} bytes)", self.0.len())
    }
}

/// The password an operator may require to create queues: 1 to
/// [`MAX_PASSWORD_LEN`] bytes. Zeroized on drop, compared in constant time, never
/// printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ServerPassword(Vec<u8>);

impl ServerPassword {
    /// A password of 1 to [`MAX_PASSWORD_LEN`] bytes.
    pub fn new(bytes: Vec<u8>) -> Result<ServerPassword, WireError> {
        if bytes.is_empty() || bytes.len() > MAX_PASSWORD_LEN {
            let mut bytes = bytes;
            bytes.zeroize();
            return Err(WireError::LengthOutOfRange { field: "password" });
        }
        Ok(ServerPassword(bytes))
    }

    /// The password's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl ConstantTimeEq for ServerPassword {
    /// Constant-time in the contents; the lengths may leak.
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.as_slice().ct_eq(other.0.as_slice())
    }
}

impl PartialEq for ServerPassword {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for ServerPassword {}

impl fmt::Debug for ServerPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerPassword(..)")
    }
}

/// A command from a client to a relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// NEW (0x01): create a queue. Authenticated with `recipient_auth_key`;
    /// answered by IDS.
    New {
        /// The key that will authorize the recipient's commands on this queue.
        recipient_auth_key: QueueAuthKey,
        /// The recipient's X25519 key for the per-queue key that seals delivered
        /// messages.
        recipient_dh_key: DhPublicKey,
        /// The operator's password, if the relay requires one.
        password: Option<ServerPassword>,
    },
    /// KEY (0x02): secure the queue with the sender's key. Authenticated with the
    /// recipient key; idempotent for the same key, AUTH for a different one.
    Key {
        /// The queue.
        recipient_id: RecipientId,
        /// The key that must authorize every SEND from now on.
        sender_auth_key: QueueAuthKey,
    },
    /// SUB (0x03): subscribe; the relay pushes the pending message, if any.
    Sub {
        /// The queue.
        recipient_id: RecipientId,
    },
    /// SEND (0x04): add a message to a queue. Authenticated with the sender key
    /// once the queue is secured; without before. OK means the message is on disk.
    Send {
        /// The queue, by its sender id.
        sender_id: SenderId,
        /// Names the message for the relay's recognition of a resent SEND
        /// ([`Command::send`] derives it from the body).
        send_id: SendId,
        /// The message (end-to-end ciphertext).
        body: MessageBody,
    },
    /// ACK (0x05): delete the delivered message; the next one follows.
    Ack {
        /// The queue.
        recipient_id: RecipientId,
        /// The message delivered last.
        message_id: MessageId,
    },
    /// GET (0x06): fetch the pending message without subscribing.
    Get {
        /// The queue.
        recipient_id: RecipientId,
    },
    /// OFF (0x07): suspend the queue; sends fail with AUTH, pending messages can
    /// still be read.
    Off {
        /// The queue.
        recipient_id: RecipientId,
    },
    /// DEL (0x08): delete the queue and its messages.
    Del {
        /// The queue.
        recipient_id: RecipientId,
    },
    /// PING (0x09): keep-alive, without authenticator; answered by PONG.
    Ping,
    /// LNEW (0x0a): store a link blob under a new link id. Authenticated with
    /// `link_auth_key`; answered by LID.
    LinkNew {
        /// The key that will authorize LSET and LDEL on this link.
        link_auth_key: QueueAuthKey,
        /// The operator's password, if the relay requires one.
        password: Option<ServerPassword>,
        /// The blob (end-to-end ciphertext).
        blob: LinkBlob,
    },
    /// LSET (0x0b): replace a link's blob. Authenticated with the link auth key.
    LinkSet {
        /// The link.
        link_id: LinkId,
        /// The new blob.
        blob: LinkBlob,
    },
    /// LDEL (0x0c): delete a link. Authenticated with the link auth key.
    LinkDel {
        /// The link.
        link_id: LinkId,
    },
    /// LGET (0x0d): fetch a link's blob, without authenticator (the link id is
    /// the capability); answered by LINK.
    LinkGet {
        /// The link.
        link_id: LinkId,
    },
    /// FNEW (0x0e): create a file chunk, to be uploaded with FPUT.
    /// Authenticated with `upload_auth_key`; answered by FIDS.
    FileNew {
        /// The key that will authorize FPUT, FSTAT and FDEL on this chunk.
        upload_auth_key: QueueAuthKey,
        /// The chunk's size class.
        size: ChunkSize,
        /// The digest the whole chunk must have.
        digest: ChunkDigest,
        /// The operator's password, if the relay requires one.
        password: Option<ServerPassword>,
        /// One key per recipient; each gets its own download id.
        download_keys: DownloadKeys,
    },
    /// FPUT (0x0f): write a piece of a chunk. Authenticated with the upload key.
    FilePut {
        /// The chunk.
        upload_id: UploadId,
        /// Where the piece starts in the chunk: at most the length received.
        offset: u32,
        /// The piece.
        piece: FilePiece,
    },
    /// FSTAT (0x10): how much of a chunk the relay holds. Authenticated with
    /// the upload key; answered by FPOS.
    FileStat {
        /// The chunk.
        upload_id: UploadId,
    },
    /// FGET (0x11): read a piece of a complete chunk. Authenticated with one
    /// download key; answered by one FDATA of exactly `len` bytes.
    FileGet {
        /// The chunk, as this recipient knows it.
        download_id: DownloadId,
        /// Where to start reading.
        offset: u32,
        /// How many bytes, 1 to [`MAX_READ_LEN`](crate::MAX_READ_LEN).
        len: u32,
    },
    /// FDEL (0x12): delete a chunk and all its download ids. Authenticated
    /// with the upload key.
    FileDel {
        /// The chunk.
        upload_id: UploadId,
    },
    /// FACK (0x13): a recipient is done with a chunk; its download id stops
    /// working. Authenticated with that download key.
    FileAck {
        /// The chunk, as this recipient knows it.
        download_id: DownloadId,
    },
    /// FLIM (0x14): the relay's limits for files, without authenticator;
    /// answered by FMAX.
    FileLimits,
    /// GNEW (0x15): create a group log. Authenticated with `admin_auth_key`;
    /// answered by GIDS.
    GroupNew {
        /// The key that will authorize GKEY and GDEL.
        admin_auth_key: QueueAuthKey,
        /// The key that will authorize GAPP, until a GKEY replaces it.
        write_auth_key: QueueAuthKey,
        /// The key that will authorize GREAD, GSUB and GUNSUB, until a GKEY
        /// replaces it.
        read_auth_key: QueueAuthKey,
        /// The operator's password, if the relay requires one.
        password: Option<ServerPassword>,
    },
    /// GAPP (0x16): append an entry to a log. Authenticated with the write
    /// key; answered by GSEQ once the entry is on disk.
    GroupAppend {
        /// The log, as its writers know it.
        write_id: GroupWriteId,
        /// The entry (end-to-end ciphertext).
        entry: GroupEntry,
    },
    /// GREAD (0x17): read the entry with sequence number `from`. Authenticated
    /// with the read key; answered by GENT, or by GPOS when the log holds no
    /// such entry.
    GroupRead {
        /// The log, as its readers know it.
        read_id: GroupReadId,
        /// The entry's sequence number.
        from: u64,
    },
    /// GSUB (0x18): have new entries pushed to this connection. Authenticated
    /// with the read key; answered by GPOS.
    GroupSub {
        /// The log, as its readers know it.
        read_id: GroupReadId,
    },
    /// GUNSUB (0x19): stop the pushes of GSUB. Authenticated with the read key.
    GroupUnsub {
        /// The log, as its readers know it.
        read_id: GroupReadId,
    },
    /// GKEY (0x1a): replace the write and read keys, ending every
    /// subscription made with the old read key. Authenticated with the admin
    /// key.
    GroupKey {
        /// The log, as its admins know it.
        admin_id: GroupAdminId,
        /// The key that authorizes GAPP from now on.
        write_auth_key: QueueAuthKey,
        /// The key that authorizes GREAD, GSUB and GUNSUB from now on.
        read_auth_key: QueueAuthKey,
    },
    /// GDEL (0x1b): delete a log and its entries. Authenticated with the admin
    /// key.
    GroupDel {
        /// The log, as its admins know it.
        admin_id: GroupAdminId,
    },
}

impl Command {
    /// A SEND of `body` to the queue `sender_id`, with the send id derived from
    /// the body ([`SendId::of`]): sending the same body again repeats it.
    pub fn send(sender_id: SenderId, body: MessageBody) -> Command {
        Command::Send {
            sender_id,
            send_id: SendId::of(&body),
            body,
        }
    }

    /// The command's tag byte.
    pub fn tag(&self) -> u8 {
        match self {
            Command::New { .. } => TAG_NEW,
            Command::Key { .. } => TAG_KEY,
            Command::Sub { .. } => TAG_SUB,
            Command::Send { .. } => TAG_SEND,
            Command::Ack { .. } => TAG_ACK,
            Command::Get { .. } => TAG_GET,
            Command::Off { .. } => TAG_OFF,
            Command::Del { .. } => TAG_DEL,
            Command::Ping => TAG_PING,
            Command::LinkNew { .. } => TAG_LNEW,
            Command::LinkSet { .. } => TAG_LSET,
            Command::LinkDel { .. } => TAG_LDEL,
            Command::LinkGet { .. } => TAG_LGET,
            Command::FileNew { .. } => TAG_FNEW,
            Command::FilePut { .. } => TAG_FPUT,
            Command::FileStat { .. } => TAG_FSTAT,
            Command::FileGet { .. } => TAG_FGET,
            Command::FileDel { .. } => TAG_FDEL,
            Command::FileAck { .. } => TAG_FACK,
            Command::FileLimits => TAG_FLIM,
            Command::GroupNew { .. } => TAG_GNEW,
            Command::GroupAppend { .. } => TAG_GAPP,
            Command::GroupRead { .. } => TAG_GREAD,
            Command::GroupSub { .. } => TAG_GSUB,
            Command::GroupUnsub { .. } => TAG_GUNSUB,
            Command::GroupKey { .. } => TAG_GKEY,
            Command::GroupDel { .. } => TAG_GDEL,
        }
    }

    /// The entity id the command carries: the recipient id, the sender id (SEND),
    /// the link id, the upload or download id, or none (NEW, PING, LNEW, FNEW,
    /// FLIM).
    pub fn entity(&self) -> Option<EntityId> {
        match self {
            Command::New { .. }
            | Command::Ping
            | Command::LinkNew { .. }
            | Command::FileNew { .. }
            | Command::FileLimits
            | Command::GroupNew { .. } => None,
            Command::GroupAppend { write_id, .. } => Some((*write_id).into()),
            Command::GroupRead { read_id, .. }
            | Command::GroupSub { read_id }
            | Command::GroupUnsub { read_id } => Some((*read_id).into()),
            Command::GroupKey { admin_id, .. } | Command::GroupDel { admin_id } => {
                Some((*admin_id).into())
            }
            Command::FilePut { upload_id, .. }
            | Command::FileStat { upload_id }
            | Command::FileDel { upload_id } => Some((*upload_id).into()),
            Command::FileGet { download_id, .. } | Command::FileAck { download_id } => {
                Some((*download_id).into())
            }
            Command::LinkSet { link_id, .. }
            | Command::LinkDel { link_id }
            | Command::LinkGet { link_id } => Some((*link_id).into()),
            Command::Send { sender_id, .. } => Some((*sender_id).into()),
            Command::Key { recipient_id, .. }
            | Command::Sub { recipient_id }
            | Command::Ack { recipient_id, .. }
            | Command::Get { recipient_id }
            | Command::Off { recipient_id }
            | Command::Del { recipient_id } => Some((*recipient_id).into()),
        }
    }

    /// The length of the command's transmission without authenticator,
    /// computed without encoding it.
    pub fn transmission_len(&self) -> usize {
        let entity = if self.entity().is_some() {
            crate::ids::ID_LEN
        } else {
            0
        };
        let body = match self {
            Command::New { password, .. } => {
                32 + 32 + 1 + password.as_ref().map_or(0, |password| password.0.len())
            }
            Command::Key { .. } => 32,
            Command::Send { body, .. } => 1 + SEND_ID_LEN + 2 + body.len(),
            Command::Ack { .. } => crate::ids::ID_LEN,
            Command::LinkNew { password, .. } => {
                32 + 1
                    + password.as_ref().map_or(0, |password| password.0.len())
                    + crate::LINK_BLOB_LEN
            }
            Command::LinkSet { .. } => crate::LINK_BLOB_LEN,
            Command::LinkDel { .. } | Command::LinkGet { .. } => 0,
            Command::FileNew {
                password,
                download_keys,
                ..
            } => {
                32 + 1
                    + 32
                    + 1
                    + password.as_ref().map_or(0, |password| password.0.len())
                    + 1
                    + 32 * download_keys.as_slice().len()
            }
            Command::FilePut { piece, .. } => 4 + 2 + piece.len(),
            Command::GroupNew { password, .. } => {
                3 * 32 + 1 + password.as_ref().map_or(0, |password| password.0.len())
            }
            Command::GroupAppend { .. } => crate::GROUP_ENTRY_LEN,
            Command::GroupRead { .. } => 8,
            Command::GroupKey { .. } => 2 * 32,
            Command::GroupSub { .. } | Command::GroupUnsub { .. } | Command::GroupDel { .. } => 0,
            Command::FileGet { .. } => 4 + 4,
            Command::FileStat { .. }
            | Command::FileDel { .. }
            | Command::FileAck { .. }
            | Command::FileLimits => 0,
            Command::Sub { .. }
            | Command::Get { .. }
            | Command::Off { .. }
            | Command::Del { .. }
            | Command::Ping => 0,
        };
        1 + crate::ids::CORR_ID_LEN + 1 + entity + 1 + body
    }

    /// The tag-specific body.
    pub fn encode_body(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Command::New {
                recipient_auth_key,
                recipient_dh_key,
                password,
            } => {
                out.extend_from_slice(recipient_auth_key.as_bytes());
                out.extend_from_slice(recipient_dh_key.as_bytes());
                encode_password(password.as_ref(), &mut out);
            }
            Command::Key {
                sender_auth_key, ..
            } => out.extend_from_slice(sender_auth_key.as_bytes()),
            Command::Send { send_id, body, .. } => {
                out.push(0);
                out.extend_from_slice(send_id.as_bytes());
                body.encode(&mut out);
            }
            Command::Ack { message_id, .. } => out.extend_from_slice(message_id.as_bytes()),
            Command::LinkNew {
                link_auth_key,
                password,
                blob,
            } => {
                out.extend_from_slice(link_auth_key.as_bytes());
                encode_password(password.as_ref(), &mut out);
                blob.encode(&mut out);
            }
            Command::LinkSet { blob, .. } => blob.encode(&mut out),
            Command::LinkDel { .. } | Command::LinkGet { .. } => {}
            Command::FileNew {
                upload_auth_key,
                size,
                digest,
                password,
                download_keys,
            } => {
                out.extend_from_slice(upload_auth_key.as_bytes());
                out.push(size.code());
                out.extend_from_slice(digest.as_bytes());
                encode_password(password.as_ref(), &mut out);
                download_keys.encode(&mut out);
            }
            Command::FilePut { offset, piece, .. } => {
                out.extend_from_slice(&offset.to_be_bytes());
                piece.encode(&mut out);
            }
            Command::FileGet { offset, len, .. } => {
                out.extend_from_slice(&offset.to_be_bytes());
                out.extend_from_slice(&len.to_be_bytes());
            }
            Command::GroupNew {
                admin_auth_key,
                write_auth_key,
                read_auth_key,
                password,
            } => {
                out.extend_from_slice(admin_auth_key.as_bytes());
                out.extend_from_slice(write_auth_key.as_bytes());
                out.extend_from_slice(read_auth_key.as_bytes());
                encode_password(password.as_ref(), &mut out);
            }
            Command::GroupAppend { entry, .. } => entry.encode(&mut out),
            Command::GroupRead { from, .. } => out.extend_from_slice(&from.to_be_bytes()),
            Command::GroupKey {
                write_auth_key,
                read_auth_key,
                ..
            } => {
                out.extend_from_slice(write_auth_key.as_bytes());
                out.extend_from_slice(read_auth_key.as_bytes());
            }
            Command::GroupSub { .. } | Command::GroupUnsub { .. } | Command::GroupDel { .. } => {}
            Command::FileStat { .. }
            | Command::FileDel { .. }
            | Command::FileAck { .. }
            | Command::FileLimits => {}
            Command::Sub { .. }
            | Command::Get { .. }
            | Command::Off { .. }
            | Command::Del { .. }
            | Command::Ping => {}
        }
        out
    }

    /// A transmission of this command without authenticator.
    pub fn to_transmission(&self, corr_id: CorrId) -> Transmission {
        Transmission {
            authenticator: None,
            corr_id,
            entity: self.entity(),
            tag: self.tag(),
            body: self.encode_body(),
        }
    }

    /// A transmission of this command authenticated with a queue's command key
    /// for this connection.
    pub fn to_authorized_transmission(&self, corr_id: CorrId, key: &CommandKey) -> Transmission {
        let mut transmission = self.to_transmission(corr_id);
        transmission.authenticate(key);
        transmission
    }

    /// Reads the command a transmission carries. The authenticator is not
    /// checked here: see [`Transmission::verify`].
    pub fn from_transmission(transmission: &Transmission) -> Result<Command, WireError> {
        let mut reader = Reader::new(&transmission.body);
        let entity = transmission.entity;
        let recipient_id = || {
            entity
                .map(RecipientId::from)
                .ok_or(WireError::EntityMismatch)
        };
        let link_id = || entity.map(LinkId::from).ok_or(WireError::EntityMismatch);
        let upload_id = || entity.map(UploadId::from).ok_or(WireError::EntityMismatch);
        let download_id = || {
            entity
                .map(DownloadId::from)
                .ok_or(WireError::EntityMismatch)
        };
        let read_id = || {
            entity
                .map(GroupReadId::from)
                .ok_or(WireError::EntityMismatch)
        };
        let admin_id = || {
            entity
                .map(GroupAdminId::from)
                .ok_or(WireError::EntityMismatch)
        };
        let no_entity = || match entity {
            None => Ok(()),
            Some(_) => Err(WireError::EntityMismatch),
        };
        let command = match transmission.tag {
            TAG_NEW => {
                no_entity()?;
                let recipient_auth_key = auth_key(&mut reader)?;
                let recipient_dh_key = DhPublicKey::from(reader.array::<32>()?);
                let password = decode_password(&mut reader)?;
                Command::New {
                    recipient_auth_key,
                    recipient_dh_key,
                    password,
                }
            }
            TAG_KEY => Command::Key {
                recipient_id: recipient_id()?,
                sender_auth_key: auth_key(&mut reader)?,
            },
            TAG_SUB => Command::Sub {
                recipient_id: recipient_id()?,
            },
            TAG_SEND => {
                let sender_id = entity
                    .map(SenderId::from)
                    .ok_or(WireError::EntityMismatch)?;
                if reader.u8()? != 0 {
                    return Err(WireError::ReservedFlags);
                }
                Command::Send {
                    sender_id,
                    send_id: SendId(reader.array()?),
                    body: MessageBody::decode(&mut reader)?,
                }
            }
            TAG_ACK => Command::Ack {
                recipient_id: recipient_id()?,
                message_id: MessageId::from_bytes(reader.array()?),
            },
            TAG_GET => Command::Get {
                recipient_id: recipient_id()?,
            },
            TAG_OFF => Command::Off {
                recipient_id: recipient_id()?,
            },
            TAG_DEL => Command::Del {
                recipient_id: recipient_id()?,
            },
            TAG_PING => {
                no_entity()?;
                Command::Ping
            }
            TAG_LNEW => {
                no_entity()?;
                Command::LinkNew {
                    link_auth_key: auth_key(&mut reader)?,
                    password: decode_password(&mut reader)?,
                    blob: LinkBlob::decode(&mut reader)?,
                }
            }
            TAG_LSET => Command::LinkSet {
                link_id: link_id()?,
                blob: LinkBlob::decode(&mut reader)?,
            },
            TAG_LDEL => Command::LinkDel {
                link_id: link_id()?,
            },
            TAG_LGET => Command::LinkGet {
                link_id: link_id()?,
            },
            TAG_FNEW => {
                no_entity()?;
                Command::FileNew {
                    upload_auth_key: auth_key(&mut reader)?,
                    size: ChunkSize::from_code(reader.u8()?)?,
                    digest: ChunkDigest::from_bytes(reader.array()?),
                    password: decode_password(&mut reader)?,
                    download_keys: DownloadKeys::decode(&mut reader)?,
                }
            }
            TAG_FPUT => Command::FilePut {
                upload_id: upload_id()?,
                offset: reader.u32()?,
                piece: FilePiece::decode(&mut reader)?,
            },
            TAG_FSTAT => Command::FileStat {
                upload_id: upload_id()?,
            },
            TAG_FGET => {
                let download_id = download_id()?;
                let offset = reader.u32()?;
                let len = reader.u32()?;
                if len == 0 || len > MAX_READ_LEN {
                    return Err(WireError::LengthOutOfRange { field: "read_len" });
                }
                Command::FileGet {
                    download_id,
                    offset,
                    len,
                }
            }
            TAG_FDEL => Command::FileDel {
                upload_id: upload_id()?,
            },
            TAG_FACK => Command::FileAck {
                download_id: download_id()?,
            },
            TAG_FLIM => {
                no_entity()?;
                Command::FileLimits
            }
            TAG_GNEW => {
                no_entity()?;
                Command::GroupNew {
                    admin_auth_key: auth_key(&mut reader)?,
                    write_auth_key: auth_key(&mut reader)?,
                    read_auth_key: auth_key(&mut reader)?,
                    password: decode_password(&mut reader)?,
                }
            }
            TAG_GAPP => Command::GroupAppend {
                write_id: entity
                    .map(GroupWriteId::from)
                    .ok_or(WireError::EntityMismatch)?,
                entry: GroupEntry::decode(&mut reader)?,
            },
            TAG_GREAD => Command::GroupRead {
                read_id: read_id()?,
                from: reader.u64()?,
            },
            TAG_GSUB => Command::GroupSub {
                read_id: read_id()?,
            },
            TAG_GUNSUB => Command::GroupUnsub {
                read_id: read_id()?,
            },
            TAG_GKEY => Command::GroupKey {
                admin_id: admin_id()?,
                write_auth_key: auth_key(&mut reader)?,
                read_auth_key: auth_key(&mut reader)?,
            },
            TAG_GDEL => Command::GroupDel {
                admin_id: admin_id()?,
            },
            tag => return Err(WireError::UnknownCommand(tag)),
        };
        reader.finish()?;
        Ok(command)
    }
}

/// Writes `password_len u8 | password` (length 0 for none).
fn encode_password(password: Option<&ServerPassword>, out: &mut Vec<u8>) {
    match password {
        // At most MAX_PASSWORD_LEN bytes, which fits in u8.
        Some(password) => {
            out.push(password.0.len() as u8);
            out.extend_from_slice(&password.0);
        }
        None => out.push(0),
    }
}

/// Reads `password_len u8 | password`.
fn decode_password(reader: &mut Reader<'_>) -> Result<Option<ServerPassword>, WireError> {
    let len = usize::from(reader.u8()?);
    if len > MAX_PASSWORD_LEN {
        return Err(WireError::LengthOutOfRange {
            field: "password_len",
        });
    }
    Ok(match len {
        0 => None,
        _ => Some(ServerPassword::new(reader.take(len)?.to_vec())?),
    })
}

/// Reads an X25519 queue auth key. Every 32 bytes decode; the relay refuses a
/// low-order key when it derives the key's command key.
fn auth_key(reader: &mut Reader<'_>) -> Result<QueueAuthKey, WireError> {
    Ok(QueueAuthKey::from_bytes(reader.array()?))
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;

    pub(crate) fn arb_auth_key() -> impl Strategy<Value = QueueAuthKey> {
        any::<[u8; 32]>().prop_map(|seed| crate::QueueAuthSecret::from_bytes(seed).public_key())
    }

    pub(crate) fn arb_body() -> impl Strategy<Value = MessageBody> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 1..64),
            prop::collection::vec(any::<u8>(), MAX_MESSAGE_BODY..=MAX_MESSAGE_BODY),
        ]
        .prop_map(|bytes| MessageBody::new(bytes).unwrap())
    }

    pub(crate) fn arb_link_blob() -> impl Strategy<Value = LinkBlob> {
        (any::<u8>(), any::<[u8; 32]>()).prop_map(|(fill, head)| {
            let mut bytes = vec![fill; crate::LINK_BLOB_LEN];
            bytes[..32].copy_from_slice(&head);
            LinkBlob::new(bytes).unwrap()
        })
    }

    pub(crate) fn arb_command() -> impl Strategy<Value = Command> {
        let recipient = any::<[u8; 24]>().prop_map(RecipientId::from_bytes);
        prop_oneof![
            (
                arb_auth_key(),
                any::<[u8; 32]>(),
                proptest::option::of(prop::collection::vec(any::<u8>(), 1..=MAX_PASSWORD_LEN))
            )
                .prop_map(|(recipient_auth_key, dh, password)| Command::New {
                    recipient_auth_key,
                    recipient_dh_key: DhPublicKey::from(dh),
                    password: password.map(|p| ServerPassword::new(p).unwrap()),
                }),
            (recipient.clone(), arb_auth_key()).prop_map(|(recipient_id, sender_auth_key)| {
                Command::Key {
                    recipient_id,
                    sender_auth_key,
                }
            }),
            recipient
                .clone()
                .prop_map(|recipient_id| Command::Sub { recipient_id }),
            (any::<[u8; 24]>(), any::<[u8; 16]>(), arb_body()).prop_map(|(id, send_id, body)| {
                Command::Send {
                    sender_id: SenderId::from_bytes(id),
                    send_id: SendId::from_bytes(send_id),
                    body,
                }
            }),
            (recipient.clone(), any::<[u8; 24]>()).prop_map(|(recipient_id, id)| Command::Ack {
                recipient_id,
                message_id: MessageId::from_bytes(id),
            }),
            recipient
                .clone()
                .prop_map(|recipient_id| Command::Get { recipient_id }),
            recipient
                .clone()
                .prop_map(|recipient_id| Command::Off { recipient_id }),
            recipient.prop_map(|recipient_id| Command::Del { recipient_id }),
            Just(Command::Ping),
            (
                arb_auth_key(),
                proptest::option::of(prop::collection::vec(any::<u8>(), 1..=MAX_PASSWORD_LEN)),
                arb_link_blob(),
            )
                .prop_map(|(link_auth_key, password, blob)| Command::LinkNew {
                    link_auth_key,
                    password: password.map(|p| ServerPassword::new(p).unwrap()),
                    blob,
                }),
            (any::<[u8; 24]>(), arb_link_blob()).prop_map(|(id, blob)| Command::LinkSet {
                link_id: LinkId::from_bytes(id),
                blob,
            }),
            any::<[u8; 24]>().prop_map(|id| Command::LinkDel {
                link_id: LinkId::from_bytes(id),
            }),
            any::<[u8; 24]>().prop_map(|id| Command::LinkGet {
                link_id: LinkId::from_bytes(id),
            }),
            arb_file_command(),
            arb_group_command(),
        ]
    }

    pub(crate) fn arb_group_entry() -> impl Strategy<Value = GroupEntry> {
        (any::<u8>(), any::<[u8; 32]>()).prop_map(|(fill, head)| {
            let mut bytes = vec![fill; crate::GROUP_ENTRY_LEN];
            bytes[..32].copy_from_slice(&head);
            GroupEntry::new(bytes).unwrap()
        })
    }

    fn arb_group_command() -> impl Strategy<Value = Command> {
        let id = any::<[u8; 24]>();
        prop_oneof![
            (
                arb_auth_key(),
                arb_auth_key(),
                arb_auth_key(),
                proptest::option::of(prop::collection::vec(any::<u8>(), 1..=MAX_PASSWORD_LEN)),
            )
                .prop_map(|(admin, write, read, password)| Command::GroupNew {
                    admin_auth_key: admin,
                    write_auth_key: write,
                    read_auth_key: read,
                    password: password.map(|p| ServerPassword::new(p).unwrap()),
                }),
            (id, arb_group_entry()).prop_map(|(id, entry)| Command::GroupAppend {
                write_id: GroupWriteId::from_bytes(id),
                entry,
            }),
            (id, any::<u64>()).prop_map(|(id, from)| Command::GroupRead {
                read_id: GroupReadId::from_bytes(id),
                from,
            }),
            id.prop_map(|id| Command::GroupSub {
                read_id: GroupReadId::from_bytes(id),
            }),
            id.prop_map(|id| Command::GroupUnsub {
                read_id: GroupReadId::from_bytes(id),
            }),
            (id, arb_auth_key(), arb_auth_key()).prop_map(|(id, write, read)| {
                Command::GroupKey {
                    admin_id: GroupAdminId::from_bytes(id),
                    write_auth_key: write,
                    read_auth_key: read,
                }
            }),
            id.prop_map(|id| Command::GroupDel {
                admin_id: GroupAdminId::from_bytes(id),
            }),
        ]
    }

    pub(crate) fn arb_piece() -> impl Strategy<Value = FilePiece> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 1..64),
            prop::collection::vec(any::<u8>(), crate::MAX_PIECE_LEN..=crate::MAX_PIECE_LEN),
        ]
        .prop_map(|bytes| FilePiece::new(bytes).unwrap())
    }

    fn arb_file_command() -> impl Strategy<Value = Command> {
        prop_oneof![
            (
                arb_auth_key(),
                0u8..4,
                any::<[u8; 32]>(),
                proptest::option::of(prop::collection::vec(any::<u8>(), 1..=MAX_PASSWORD_LEN)),
                prop::collection::vec(arb_auth_key(), 1..=crate::MAX_DOWNLOADS),
            )
                .prop_map(|(upload_auth_key, size, digest, password, keys)| {
                    Command::FileNew {
                        upload_auth_key,
                        size: ChunkSize::from_code(size).unwrap(),
                        digest: ChunkDigest::from_bytes(digest),
                        password: password.map(|p| ServerPassword::new(p).unwrap()),
                        download_keys: DownloadKeys::new(keys).unwrap(),
                    }
                }),
            (any::<[u8; 24]>(), any::<u32>(), arb_piece()).prop_map(|(id, offset, piece)| {
                Command::FilePut {
                    upload_id: UploadId::from_bytes(id),
                    offset,
                    piece,
                }
            }),
            any::<[u8; 24]>().prop_map(|id| Command::FileStat {
                upload_id: UploadId::from_bytes(id),
            }),
            (any::<[u8; 24]>(), any::<u32>(), 1..=MAX_READ_LEN).prop_map(|(id, offset, len)| {
                Command::FileGet {
                    download_id: DownloadId::from_bytes(id),
                    offset,
                    len,
                }
            }),
            any::<[u8; 24]>().prop_map(|id| Command::FileDel {
                upload_id: UploadId::from_bytes(id),
            }),
            any::<[u8; 24]>().prop_map(|id| Command::FileAck {
                download_id: DownloadId::from_bytes(id),
            }),
            Just(Command::FileLimits),
        ]
    }

    fn key() -> QueueAuthKey {
        crate::QueueAuthSecret::from_bytes([3; 32]).public_key()
    }

    #[test]
    fn new_layout() {
        let command = Command::New {
            recipient_auth_key: key(),
            recipient_dh_key: DhPublicKey::from([4; 32]),
            password: Some(ServerPassword::new(b"pw".to_vec()).unwrap()),
        };
        let body = command.encode_body();
        assert_eq!(&body[..32], key().as_bytes());
        assert_eq!(&body[32..64], &[4; 32]);
        assert_eq!(&body[64..], &[2, b'p', b'w']);
        assert_eq!(command.entity(), None);
        assert_eq!(command.tag(), 0x01);
    }

    #[test]
    fn link_new_layout() {
        let command = Command::LinkNew {
            link_auth_key: key(),
            password: None,
            blob: LinkBlob::new(vec![7; crate::LINK_BLOB_LEN]).unwrap(),
        };
        let body = command.encode_body();
        assert_eq!(&body[..32], key().as_bytes());
        assert_eq!(body[32], 0);
        assert_eq!(&body[33..], &[7; crate::LINK_BLOB_LEN]);
        assert_eq!(body.len(), 33 + crate::LINK_BLOB_LEN);
        assert_eq!(command.entity(), None);
        assert_eq!(command.tag(), 0x0a);
        let get = Command::LinkGet {
            link_id: LinkId::from_bytes([5; 24]),
        };
        assert_eq!(get.encode_body(), Vec::<u8>::new());
        assert_eq!(get.entity(), Some(EntityId::from_bytes([5; 24])));
        assert_eq!(get.tag(), 0x0d);
    }

    #[test]
    fn file_command_layouts() {
        let command = Command::FileNew {
            upload_auth_key: key(),
            size: ChunkSize::Mib1,
            digest: ChunkDigest::from_bytes([8; 32]),
            password: None,
            download_keys: DownloadKeys::new(vec![key(), key()]).unwrap(),
        };
        let body = command.encode_body();
        assert_eq!(&body[..32], key().as_bytes());
        assert_eq!(body[32], 2);
        assert_eq!(&body[33..65], &[8; 32]);
        assert_eq!(&body[65..67], &[0, 2]);
        assert_eq!(body.len(), 67 + 64);
        assert_eq!(command.tag(), 0x0e);
        let put = Command::FilePut {
            upload_id: UploadId::from_bytes([5; 24]),
            offset: 0x0102_0304,
            piece: FilePiece::new(vec![9; 3]).unwrap(),
        };
        assert_eq!(put.encode_body(), vec![1, 2, 3, 4, 0, 3, 9, 9, 9]);
        assert_eq!(put.entity(), Some(EntityId::from_bytes([5; 24])));
        assert_eq!(put.tag(), 0x0f);
        let get = Command::FileGet {
            download_id: DownloadId::from_bytes([6; 24]),
            offset: 16,
            len: 32,
        };
        assert_eq!(get.encode_body(), vec![0, 0, 0, 16, 0, 0, 0, 32]);
        assert_eq!(get.tag(), 0x11);
        assert_eq!(Command::FileLimits.tag(), 0x14);
        assert_eq!(Command::FileLimits.entity(), None);
    }

    #[test]
    fn group_command_layouts() {
        let other = crate::QueueAuthSecret::from_bytes([5; 32]).public_key();
        let command = Command::GroupNew {
            admin_auth_key: key(),
            write_auth_key: other,
            read_auth_key: key(),
            password: Some(ServerPassword::new(b"pw".to_vec()).unwrap()),
        };
        let body = command.encode_body();
        assert_eq!(&body[..32], key().as_bytes());
        assert_eq!(&body[32..64], other.as_bytes());
        assert_eq!(&body[64..96], key().as_bytes());
        assert_eq!(&body[96..], &[2, b'p', b'w']);
        assert_eq!((command.tag(), command.entity()), (0x15, None));
        let append = Command::GroupAppend {
            write_id: GroupWriteId::from_bytes([6; 24]),
            entry: GroupEntry::new(vec![7; crate::GROUP_ENTRY_LEN]).unwrap(),
        };
        assert_eq!(append.encode_body(), vec![7; crate::GROUP_ENTRY_LEN]);
        assert_eq!(append.entity(), Some(EntityId::from_bytes([6; 24])));
        assert_eq!(append.tag(), 0x16);
        let read = Command::GroupRead {
            read_id: GroupReadId::from_bytes([8; 24]),
            from: 0x0102_0304_0506_0708,
        };
        assert_eq!(read.encode_body(), vec![1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(read.tag(), 0x17);
        let rotate = Command::GroupKey {
            admin_id: GroupAdminId::from_bytes([9; 24]),
            write_auth_key: other,
            read_auth_key: key(),
        };
        assert_eq!(&rotate.encode_body()[..32], other.as_bytes());
        assert_eq!(rotate.tag(), 0x1a);
        let tags: Vec<u8> = [
            Command::GroupSub {
                read_id: GroupReadId::from_bytes([1; 24]),
            },
            Command::GroupUnsub {
                read_id: GroupReadId::from_bytes([1; 24]),
            },
            Command::GroupDel {
                admin_id: GroupAdminId::from_bytes([1; 24]),
            },
        ]
        .iter()
        .map(Command::tag)
        .collect();
        assert_eq!(tags, [0x18, 0x19, 0x1b]);
    }

    #[test]
    fn malformed_group_commands_are_refused() {
        let id = Some([1; 24]);
        let cases = [
            (
                transmission(0x15, id, vec![0; 97]),
                WireError::EntityMismatch,
            ),
            (transmission(0x15, None, vec![0; 96]), WireError::Truncated),
            (
                transmission(0x16, None, vec![0; crate::GROUP_ENTRY_LEN]),
                WireError::EntityMismatch,
            ),
            (
                transmission(0x16, id, vec![0; crate::GROUP_ENTRY_LEN - 1]),
                WireError::Truncated,
            ),
            (
                transmission(0x16, id, vec![0; crate::GROUP_ENTRY_LEN + 1]),
                WireError::TrailingBytes,
            ),
            (transmission(0x17, id, vec![0; 7]), WireError::Truncated),
            (transmission(0x17, id, vec![0; 9]), WireError::TrailingBytes),
            (transmission(0x18, None, vec![]), WireError::EntityMismatch),
            (transmission(0x19, id, vec![0]), WireError::TrailingBytes),
            (transmission(0x1a, id, vec![0; 63]), WireError::Truncated),
            (transmission(0x1b, None, vec![]), WireError::EntityMismatch),
            (
                transmission(0x1c, id, vec![]),
                WireError::UnknownCommand(0x1c),
            ),
        ];
        for (transmission, error) in cases {
            assert_eq!(
                Command::from_transmission(&transmission),
                Err(error),
                "{transmission:?}"
            );
        }
    }

    #[test]
    fn malformed_file_commands_are_refused() {
        let id = Some([1; 24]);
        let read = |len: u32| {
            let mut body = vec![0; 4];
            body.extend_from_slice(&len.to_be_bytes());
            body
        };
        let cases = [
            (transmission(0x0e, id, vec![]), WireError::EntityMismatch),
            (transmission(0x0f, None, vec![]), WireError::EntityMismatch),
            (transmission(0x14, id, vec![]), WireError::EntityMismatch),
            (transmission(0x10, id, vec![0]), WireError::TrailingBytes),
            (
                transmission(0x0f, id, vec![0, 0, 0, 0, 0, 0]),
                WireError::LengthOutOfRange { field: "piece_len" },
            ),
            (
                transmission(0x0f, id, {
                    let mut body = vec![0; 4];
                    body.extend_from_slice(&(crate::MAX_PIECE_LEN as u16 + 1).to_be_bytes());
                    body.extend_from_slice(&vec![0; crate::MAX_PIECE_LEN + 1]);
                    body
                }),
                WireError::LengthOutOfRange { field: "piece_len" },
            ),
            (
                transmission(0x11, id, read(0)),
                WireError::LengthOutOfRange { field: "read_len" },
            ),
            (
                transmission(0x11, id, read(MAX_READ_LEN + 1)),
                WireError::LengthOutOfRange { field: "read_len" },
            ),
            (
                transmission(0x0e, None, {
                    let mut body = vec![0; 32];
                    body.push(4);
                    body.extend_from_slice(&[0; 34]);
                    body
                }),
                WireError::LengthOutOfRange {
                    field: "chunk size",
                },
            ),
            (
                transmission(0x0e, None, vec![0; 32 + 1 + 32 + 1 + 1]),
                WireError::LengthOutOfRange {
                    field: "download count",
                },
            ),
        ];
        for (transmission, error) in cases {
            assert_eq!(
                Command::from_transmission(&transmission),
                Err(error),
                "{transmission:?}"
            );
        }
    }

    /// A SEND body: `flags`, a send id, then `rest` (`body_len` and body).
    fn send_body(flags: u8, rest: &[u8]) -> Vec<u8> {
        let mut body = vec![flags];
        body.extend_from_slice(&[0x5d; SEND_ID_LEN]);
        body.extend_from_slice(rest);
        body
    }

    #[test]
    fn send_layout() {
        let command = Command::Send {
            sender_id: SenderId::from_bytes([5; 24]),
            send_id: SendId::from_bytes([0x5d; 16]),
            body: MessageBody::new(vec![0xee; 3]).unwrap(),
        };
        let mut expected = vec![0];
        expected.extend_from_slice(&[0x5d; 16]);
        expected.extend_from_slice(&[0, 3, 0xee, 0xee, 0xee]);
        assert_eq!(command.encode_body(), expected);
        assert_eq!(command.entity(), Some(EntityId::from_bytes([5; 24])));
    }

    #[test]
    fn bounded_values_refuse_out_of_range_lengths() {
        assert!(MessageBody::new(vec![]).is_err());
        assert!(MessageBody::new(vec![0; MAX_MESSAGE_BODY + 1]).is_err());
        assert!(MessageBody::new(vec![0; MAX_MESSAGE_BODY]).is_ok());
        assert!(ServerPassword::new(vec![]).is_err());
        assert!(ServerPassword::new(vec![0; MAX_PASSWORD_LEN + 1]).is_err());
        assert!(ServerPassword::new(vec![0; MAX_PASSWORD_LEN]).is_ok());
    }

    #[test]
    fn secrets_and_bodies_do_not_print() {
        let password = ServerPassword::new(b"hunter2".to_vec()).unwrap();
        assert_eq!(format!("{password:?}"), "ServerPassword(..)");
        let command = Command::New {
            recipient_auth_key: key(),
            recipient_dh_key: DhPublicKey::from([4; 32]),
            password: Some(password),
        };
        assert!(!format!("{command:?}").contains("hunter2"));
        assert!(!format!("{:?}", command.to_transmission(CorrId::PUSH)).contains("104"));
        let body = MessageBody::new(b"secret".to_vec()).unwrap();
        assert_eq!(format!("{body:?}"), "MessageBody(6 bytes)");
    }

    fn transmission(tag: u8, entity: Option<[u8; 24]>, body: Vec<u8>) -> Transmission {
        Transmission {
            authenticator: None,
            corr_id: CorrId::from_bytes([1; 8]),
            entity: entity.map(EntityId::from_bytes),
            tag,
            body,
        }
    }

    #[test]
    fn malformed_commands_are_refused() {
        let id = Some([1; 24]);
        let cases = [
            (transmission(0x00, id, vec![]), WireError::UnknownCommand(0)),
            (
                transmission(0x1c, id, vec![]),
                WireError::UnknownCommand(0x1c),
            ),
            (transmission(0x0a, id, vec![]), WireError::EntityMismatch),
            (transmission(0x0b, None, vec![]), WireError::EntityMismatch),
            (transmission(0x0c, None, vec![]), WireError::EntityMismatch),
            (transmission(0x0d, None, vec![]), WireError::EntityMismatch),
            (transmission(0x0c, id, vec![0]), WireError::TrailingBytes),
            (transmission(0x0d, id, vec![0]), WireError::TrailingBytes),
            (
                transmission(0x0b, id, vec![0; crate::LINK_BLOB_LEN - 1]),
                WireError::Truncated,
            ),
            (
                transmission(0x0b, id, vec![0; crate::LINK_BLOB_LEN + 1]),
                WireError::TrailingBytes,
            ),
            (
                transmission(0x0a, None, vec![0; 33 + crate::LINK_BLOB_LEN - 1]),
                WireError::Truncated,
            ),
            (
                transmission(0x0a, None, vec![0; 33 + crate::LINK_BLOB_LEN + 1]),
                WireError::TrailingBytes,
            ),
            (
                transmission(0x81, None, vec![]),
                WireError::UnknownCommand(0x81),
            ),
            (transmission(0x03, None, vec![]), WireError::EntityMismatch),
            (transmission(0x09, id, vec![]), WireError::EntityMismatch),
            (transmission(0x03, id, vec![0]), WireError::TrailingBytes),
            (transmission(0x09, None, vec![0]), WireError::TrailingBytes),
            (transmission(0x05, id, vec![0; 23]), WireError::Truncated),
            (
                transmission(0x05, id, vec![0; 25]),
                WireError::TrailingBytes,
            ),
            (
                transmission(0x04, id, send_body(1, &[0, 1, 0])),
                WireError::ReservedFlags,
            ),
            (
                transmission(0x04, id, send_body(0, &[0, 0])),
                WireError::LengthOutOfRange { field: "body_len" },
            ),
            (
                transmission(0x04, id, send_body(0, &[0, 2, 0])),
                WireError::Truncated,
            ),
            (
                transmission(0x04, id, send_body(0, &[0, 1, 0, 0])),
                WireError::TrailingBytes,
            ),
            // The send id cut short.
            (transmission(0x04, id, vec![0; 10]), WireError::Truncated),
            (
                transmission(0x04, id, {
                    let mut rest = 16001u16.to_be_bytes().to_vec();
                    rest.extend_from_slice(&[0; 16001]);
                    send_body(0, &rest)
                }),
                WireError::LengthOutOfRange { field: "body_len" },
            ),
        ];
        for (transmission, error) in cases {
            assert_eq!(
                Command::from_transmission(&transmission),
                Err(error),
                "{transmission:?}"
            );
        }

        let mut new = Command::New {
            recipient_auth_key: key(),
            recipient_dh_key: DhPublicKey::from([4; 32]),
            password: None,
        }
        .to_transmission(CorrId::PUSH);
        let good = new.body.clone();
        new.body[64] = 129;
        assert!(Command::from_transmission(&new).is_err());
        new.body[64] = 1;
        assert_eq!(Command::from_transmission(&new), Err(WireError::Truncated));
        for len in 0..good.len() {
            new.body = good[..len].to_vec();
            assert!(Command::from_transmission(&new).is_err());
        }
    }

    #[test]
    fn every_truncation_of_every_command_fails() {
        let commands = [
            Command::Key {
                recipient_id: RecipientId::from_bytes([1; 24]),
                sender_auth_key: key(),
            },
            Command::send(
                SenderId::from_bytes([1; 24]),
                MessageBody::new(vec![7; 10]).unwrap(),
            ),
            Command::Ack {
                recipient_id: RecipientId::from_bytes([1; 24]),
                message_id: MessageId::from_bytes([2; 24]),
            },
            Command::LinkNew {
                link_auth_key: key(),
                password: Some(ServerPassword::new(b"pw".to_vec()).unwrap()),
                blob: LinkBlob::new(vec![9; crate::LINK_BLOB_LEN]).unwrap(),
            },
            Command::LinkSet {
                link_id: LinkId::from_bytes([1; 24]),
                blob: LinkBlob::new(vec![9; crate::LINK_BLOB_LEN]).unwrap(),
            },
        ];
        for command in commands {
            let mut transmission = command.to_transmission(CorrId::PUSH);
            let body = transmission.body.clone();
            for len in 0..body.len() {
                transmission.body = body[..len].to_vec();
                assert!(Command::from_transmission(&transmission).is_err());
            }
        }
    }

    proptest! {
        #[test]
        fn transmission_len_is_the_encoded_length(command in arb_command()) {
            prop_assert_eq!(
                command.transmission_len(),
                command.to_transmission(CorrId::PUSH).encoded_len()
            );
        }

        #[test]
        fn commands_round_trip(command in arb_command(), corr_id in any::<[u8; 8]>()) {
            let transmission = command.to_transmission(CorrId::from_bytes(corr_id));
            let decoded = Transmission::decode(&transmission.encode()).unwrap();
            prop_assert_eq!(Command::from_transmission(&decoded), Ok(command));
        }

        #[test]
        fn every_prefix_and_every_extension_of_a_command_fails(
            command in arb_command(),
            extra in any::<u8>(),
        ) {
            let bytes = command.to_transmission(CorrId::PUSH).encode();
            let decodes = |bytes: &[u8]| {
                Transmission::decode(bytes)
                    .and_then(|transmission| Command::from_transmission(&transmission))
            };
            prop_assert_eq!(decodes(&bytes), Ok(command));
            // Long bodies: check the cuts near each field boundary, not all 16000.
            let cuts = (0..bytes.len()).filter(|len| *len < 200 || bytes.len() - len < 200);
            for len in cuts {
                prop_assert!(decodes(&bytes[..len]).is_err(), "prefix of {} bytes", len);
            }
            let mut longer = bytes.clone();
            longer.push(extra);
            prop_assert!(decodes(&longer).is_err());
        }

        #[test]
        fn authorized_commands_verify(command in arb_command(), seed in any::<[u8; 32]>()) {
            let relay = x25519_dalek::StaticSecret::from([2; 32]);
            let key = CommandKey::for_client(
                &crate::QueueAuthSecret::from_bytes(seed),
                &DhPublicKey::from(&relay),
                &crate::SessionId::from_bytes([9; 32]),
            );
            // A low-order secret is astronomically unlikely from random bytes.
            let Ok(key) = key else { return Ok(()) };
            let transmission = command.to_authorized_transmission(CorrId::PUSH, &key);
            let decoded = Transmission::decode(&transmission.encode()).unwrap();
            prop_assert!(decoded.verify(&key));
        }

        #[test]
        fn decoding_arbitrary_bodies_never_panics(
            tag in 0u8..32,
            entity in proptest::option::of(any::<[u8; 24]>()),
            body in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..100),
                prop::collection::vec(any::<u8>(), 2040..2100),
            ],
        ) {
            let transmission = transmission(tag, entity, body);
            if let Ok(command) = Command::from_transmission(&transmission) {
                prop_assert_eq!(command.to_transmission(transmission.corr_id), transmission);
            }
        }
    }
}
