//! The fixed-size entries of a relay's group logs (GAPP, GENT).
//!
//! Every entry is exactly [`GROUP_ENTRY_LEN`] bytes, so the relay learns
//! nothing from its size: the end-to-end layer pads what it appends (an MLS
//! message, padded to a multiple of 4096 bytes, with its framing) to the size
//! before the relay sees it.

use std::fmt;

use crate::WireError;
use crate::codec::Reader;

/// The size of every group log entry, in bytes: the largest SEND body, so one
/// entry, like one message, fills one block with its command or response.
pub const GROUP_ENTRY_LEN: usize = 16000;

/// A group log entry: exactly [`GROUP_ENTRY_LEN`] bytes of end-to-end
/// ciphertext. `Debug` prints no byte of it.
#[derive(Clone, PartialEq, Eq)]
pub struct GroupEntry(Box<[u8; GROUP_ENTRY_LEN]>);

impl GroupEntry {
    /// An entry of exactly [`GROUP_ENTRY_LEN`] bytes.
    pub fn new(bytes: Vec<u8>) -> Result<GroupEntry, WireError> {
        let bytes: Box<[u8; GROUP_ENTRY_LEN]> =
            bytes
                .into_boxed_slice()
                .try_into()
                .map_err(|_| WireError::LengthOutOfRange {
                    field: "group entry",
                })?;
        Ok(GroupEntry(bytes))
    }

    /// The entry's bytes.
    pub fn as_bytes(&self) -> &[u8; GROUP_ENTRY_LEN] {
        &self.0
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.0.as_slice());
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<GroupEntry, WireError> {
        GroupEntry::new(reader.take(GROUP_ENTRY_LEN)?.to_vec())
    }
}

impl fmt::Debug for GroupEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GroupEntry(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_fixed_size_is_an_entry() {
        assert!(GroupEntry::new(vec![0; GROUP_ENTRY_LEN]).is_ok());
        assert!(GroupEntry::new(vec![0; GROUP_ENTRY_LEN - 1]).is_err());
        assert!(GroupEntry::new(vec![0; GROUP_ENTRY_LEN + 1]).is_err());
        assert!(GroupEntry::new(vec![]).is_err());
    }

    #[test]
    fn an_entry_does_not_print() {
        let entry = GroupEntry::new(vec![0x41; GROUP_ENTRY_LEN]).unwrap();
        assert_eq!(format!("{entry:?}"), "GroupEntry(..)");
    }
}
