//! Typed identifiers: queue ids, message ids and correlation ids.
//!
//! Queue ids are what a relay must never log, so their `Debug` prints no bytes.

use std::fmt;

/// Length of a queue id or message id, in bytes.
pub const ID_LEN: usize = 24;

/// Length of a correlation id, in bytes.
pub const CORR_ID_LEN: usize = 8;

macro_rules! queue_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; ID_LEN]);

        impl $name {
            /// The id made of these random bytes.
            pub const fn from_bytes(bytes: [u8; ID_LEN]) -> Self {
                $name(bytes)
            }

            /// The id's bytes, as sent on the wire.
            pub const fn as_bytes(&self) -> &[u8; ID_LEN] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Queue ids must not reach logs.
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }
    };
}

queue_id!(
    /// The id a queue's recipient uses for it (24 random bytes chosen by the relay).
    RecipientId
);
queue_id!(
    /// The id a queue's sender uses for it (24 random bytes, different from the
    /// recipient id, chosen by the relay).
    SenderId
);
queue_id!(
    /// The id of a link blob (24 random bytes chosen by the relay). Whoever holds
    /// it can fetch the blob: it is a capability, and must not reach logs.
    LinkId
);
queue_id!(
    /// The id a file chunk's uploader uses for it (24 random bytes chosen by
    /// the relay), for FPUT, FSTAT and FDEL. It must not reach logs.
    UploadId
);
queue_id!(
    /// One recipient's id for a file chunk (24 random bytes chosen by the
    /// relay, different from the upload id and from the chunk's other
    /// download ids), for FGET and FACK. It must not reach logs.
    DownloadId
);
queue_id!(
    /// The entity id field of a transmission: a recipient id, sender id, link
    /// id, upload id or download id, depending on the command.
    EntityId
);

/// Each id travels in a transmission's entity field, and is read from it.
macro_rules! entity_conversions {
    ($($name:ident),*) => {
        $(
            impl From<$name> for EntityId {
                fn from(id: $name) -> Self {
                    EntityId(id.0)
                }
            }

            impl From<EntityId> for $name {
                fn from(id: EntityId) -> Self {
                    $name(id.0)
                }
            }
        )*
    };
}

entity_conversions!(RecipientId, SenderId, LinkId, UploadId, DownloadId);

/// The id of one message in a queue (24 random bytes chosen by the relay). It is
/// also the nonce that seals the message to the recipient, and lets a recipient
/// drop a message delivered twice.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId([u8; ID_LEN]);

impl MessageId {
    /// The id made of these random bytes.
    pub const fn from_bytes(bytes: [u8; ID_LEN]) -> Self {
        MessageId(bytes)
    }

    /// The id's bytes, as sent on the wire.
    pub const fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MessageId(")?;
        write_hex(f, &self.0)?;
        f.write_str(")")
    }
}

/// A correlation id: chosen by the client for each command and echoed in the
/// relay's response. All-zero marks a relay push.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CorrId([u8; CORR_ID_LEN]);

impl CorrId {
    /// The correlation id of relay pushes (MSG and END not answering a command).
    /// Clients draw their ids at random and should skip this one.
    pub const PUSH: CorrId = CorrId([0; CORR_ID_LEN]);

    /// The id made of these bytes.
    pub const fn from_bytes(bytes: [u8; CORR_ID_LEN]) -> Self {
        CorrId(bytes)
    }

    /// The id's bytes, as sent on the wire.
    pub const fn as_bytes(&self) -> &[u8; CORR_ID_LEN] {
        &self.0
    }

    /// Whether this is the push id (all zero).
    pub fn is_push(&self) -> bool {
        *self == CorrId::PUSH
    }
}

impl fmt::Debug for CorrId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CorrId(")?;
        write_hex(f, &self.0)?;
        f.write_str(")")
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_ids_do_not_print_their_bytes() {
        let id = RecipientId::from_bytes([0xab; ID_LEN]);
        assert_eq!(format!("{id:?}"), "RecipientId(..)");
        let id = SenderId::from_bytes([0xab; ID_LEN]);
        assert_eq!(format!("{id:?}"), "SenderId(..)");
        let id = EntityId::from(id);
        assert_eq!(format!("{id:?}"), "EntityId(..)");
    }

    #[test]
    fn entity_conversions_keep_the_bytes() {
        let recipient = RecipientId::from_bytes([7; ID_LEN]);
        let entity = EntityId::from(recipient);
        assert_eq!(entity.as_bytes(), recipient.as_bytes());
        assert_eq!(RecipientId::from(entity), recipient);
        assert_eq!(SenderId::from(entity).as_bytes(), &[7; ID_LEN]);
    }

    #[test]
    fn corr_id_push_is_all_zero() {
        assert!(CorrId::PUSH.is_push());
        assert!(!CorrId::from_bytes([0, 0, 0, 0, 0, 0, 0, 1]).is_push());
        assert_eq!(
            format!("{:?}", CorrId::from_bytes([1, 2, 3, 4, 5, 6, 7, 0xff])),
            "CorrId(01020304050607ff)"
        );
    }
}
