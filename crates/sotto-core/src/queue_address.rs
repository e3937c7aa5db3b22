//! A queue address: where a contact sends to us (the relay, pinned by its
//! fingerprint, and the queue's sender id).
//!
//! ```text
//! queue address = relay_len u16 (1..=512) || relay address text || sender id (24)
//! ```
//!
//! The relay address must be in its canonical text (Part I §2: lower-case host,
//! no default port), so each queue address has one encoding.

use sotto_wire::{MAX_ADDRESS_LEN, RelayAddress, SenderId};

use crate::CoreError;
use crate::codec::{Reader, Writer};

/// The relay and sender id of a queue: everything a sender needs to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueAddress {
    /// The relay that holds the queue.
    pub relay: RelayAddress,
    /// The queue's sender id.
    pub sender_id: SenderId,
}

impl QueueAddress {
    pub(crate) fn encode(&self, writer: &mut Writer) {
        writer
            .bytes16(self.relay.to_string().as_bytes())
            .array(self.sender_id.as_bytes());
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<QueueAddress, CoreError> {
        let relay = decode_relay(reader)?;
        let sender_id = SenderId::from_bytes(reader.array()?);
        Ok(QueueAddress { relay, sender_id })
    }
}

pub(crate) fn encode_relay(writer: &mut Writer, relay: &RelayAddress) {
    writer.bytes16(relay.to_string().as_bytes());
}

pub(crate) fn decode_relay(reader: &mut Reader<'_>) -> Result<RelayAddress, CoreError> {
    let text = reader.bytes16(MAX_ADDRESS_LEN)?;
    let text = std::str::from_utf8(text).map_err(|_| CoreError::Malformed("relay address"))?;
    let relay = text.parse::<RelayAddress>()?;
    // Only the canonical spelling: one address, one encoding.
    if relay.to_string() != text {
        return Err(CoreError::Malformed("relay address"));
    }
    Ok(relay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let address = QueueAddress {
            relay: "sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@127.0.0.1:7000"
                .parse()
                .unwrap(),
            sender_id: SenderId::from_bytes([9; 24]),
        };
        let mut writer = Writer::new();
        address.encode(&mut writer);
        let bytes = writer.finish();
        let mut reader = Reader::new(&bytes, "queue address");
        assert_eq!(QueueAddress::decode(&mut reader).unwrap(), address);
        reader.finish().unwrap();
        assert!(QueueAddress::decode(&mut Reader::new(&bytes[..bytes.len() - 1], "q")).is_err());
    }

    #[test]
    fn only_the_canonical_relay_text_is_accepted() {
        for text in [
            "sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@LOCALHOST:7000",
            "sotto://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@relay.example:443",
        ] {
            let mut writer = Writer::new();
            writer.bytes16(text.as_bytes()).array(&[1; 24]);
            let bytes = writer.finish();
            assert!(QueueAddress::decode(&mut Reader::new(&bytes, "q")).is_err());
        }
    }
}
