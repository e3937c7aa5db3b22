//! The opaque blob a relay keeps under a link id (LNEW, LSET, LGET, LINK).
//!
//! Every blob is exactly [`LINK_BLOB_LEN`] bytes, so the relay learns nothing
//! from its size: the client pads its data before encrypting it, end to end,
//! with a key the relay never sees.

use std::fmt;

use crate::WireError;
use crate::codec::Reader;

/// The size of every link blob, in bytes. It holds an invitation's data (an
/// ML-KEM-768 public key of 1184 bytes, the X25519 keys, a queue address with a
/// relay address of up to 512 bytes) once encrypted with its nonce and tag,
/// with room for a short profile; and it fits in one block with its command.
pub const LINK_BLOB_LEN: usize = 2048;

/// A link blob: exactly [`LINK_BLOB_LEN`] bytes of end-to-end ciphertext.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkBlob(Box<[u8; LINK_BLOB_LEN]>);

impl LinkBlob {
    /// A blob of exactly [`LINK_BLOB_LEN`] bytes.
    pub fn new(bytes: Vec<u8>) -> Result<LinkBlob, WireError> {
        let bytes: Box<[u8; LINK_BLOB_LEN]> = bytes
            .into_boxed_slice()
            .try_into()
            .map_err(|_| WireError::LengthOutOfRange { field: "link blob" })?;
        Ok(LinkBlob(bytes))
    }

    /// The blob's bytes.
    pub fn as_bytes(&self) -> &[u8; LINK_BLOB_LEN] {
        &self.0
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.0.as_slice());
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<LinkBlob, WireError> {
        LinkBlob::new(reader.take(LINK_BLOB_LEN)?.to_vec())
    }
}

impl fmt::Debug for LinkBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkBlob(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_fixed_size_is_a_blob() {
        assert!(LinkBlob::new(vec![0; LINK_BLOB_LEN]).is_ok());
        assert!(LinkBlob::new(vec![0; LINK_BLOB_LEN - 1]).is_err());
        assert!(LinkBlob::new(vec![0; LINK_BLOB_LEN + 1]).is_err());
        assert!(LinkBlob::new(vec![]).is_err());
    }

    #[test]
    fn a_blob_does_not_print() {
        let blob = LinkBlob::new(vec![0x41; LINK_BLOB_LEN]).unwrap();
        assert_eq!(format!("{blob:?}"), "LinkBlob(..)");
    }
}
