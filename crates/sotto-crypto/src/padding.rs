//! Fixed-size plaintext padding: every message body has the same length, whatever it says.

use crate::Error;

/// Every plaintext is padded to exactly this many bytes before encryption.
pub const PADDED_PLAINTEXT_LEN: usize = 12_288;
/// Length of the big-endian length prefix inside the padded plaintext.
pub(crate) const LENGTH_PREFIX_LEN: usize = 2;

/// The longest plaintext one message carries.
pub const MAX_PLAINTEXT_LEN: usize = PADDED_PLAINTEXT_LEN - LENGTH_PREFIX_LEN;

/// The plaintext's length as its `u16` prefix, or an error if it does not fit one
/// message (checked before any work is done for it).
pub(crate) fn checked_len(plaintext: &[u8]) -> Result<u16, Error> {
    u16::try_from(plaintext.len())
        .ok()
        .filter(|&len| usize::from(len) <= MAX_PLAINTEXT_LEN)
        .ok_or(Error::PlaintextTooLong {
            len: plaintext.len(),
            max: MAX_PLAINTEXT_LEN,
        })
}

/// Appends `u16 length (big-endian) || plaintext || zero bytes`, exactly
/// [`PADDED_PLAINTEXT_LEN`] bytes, to a message being written; they are then encrypted in
/// place.
pub(crate) fn pad_onto(plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    let len = checked_len(plaintext)?;
    let end = out.len() + PADDED_PLAINTEXT_LEN;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(plaintext);
    out.resize(end, 0);
    Ok(())
}

/// Inverse of [`pad_onto`]: the plaintext inside a decrypted body. The padding must be
/// all zero; it is checked without branching on its bytes (an OR over all of them, which
/// also compiles to wide loads instead of a byte-at-a-time search).
pub(crate) fn unpad(padded: &[u8; PADDED_PLAINTEXT_LEN]) -> Result<&[u8], Error> {
    const MALFORMED: Error = Error::Malformed("padded plaintext");
    let (prefix, rest) = padded.split_at(LENGTH_PREFIX_LEN);
    let len = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
    if len > MAX_PLAINTEXT_LEN {
        return Err(MALFORMED);
    }
    let (plaintext, padding) = rest.split_at(len);
    if padding.iter().fold(0, |any, &byte| any | byte) != 0 {
        return Err(MALFORMED);
    }
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded(plaintext: &[u8]) -> Box<[u8; PADDED_PLAINTEXT_LEN]> {
        let mut out = vec![0xee; 3];
        pad_onto(plaintext, &mut out).unwrap();
        assert_eq!(out.len(), 3 + PADDED_PLAINTEXT_LEN);
        Box::new(out[3..].try_into().unwrap())
    }

    #[test]
    fn round_trip_at_the_edges() {
        for len in [0, 1, 1024, MAX_PLAINTEXT_LEN] {
            let plaintext = vec![0x61; len];
            let padded = padded(&plaintext);
            assert_eq!(padded[..2], (len as u16).to_be_bytes());
            assert!(padded[2 + len..].iter().all(|&byte| byte == 0));
            assert_eq!(unpad(&padded).unwrap(), plaintext);
        }
    }

    #[test]
    fn too_long_is_rejected() {
        let too_long = Error::PlaintextTooLong {
            len: MAX_PLAINTEXT_LEN + 1,
            max: MAX_PLAINTEXT_LEN,
        };
        let plaintext = vec![0; MAX_PLAINTEXT_LEN + 1];
        assert_eq!(checked_len(&plaintext).err(), Some(too_long));
        let mut out = Vec::new();
        assert_eq!(pad_onto(&plaintext, &mut out).err(), Some(too_long));
        assert!(out.is_empty());
    }

    #[test]
    fn bad_padding_is_rejected() {
        let mut bad = padded(b"hi");
        bad[10] = 1;
        assert!(unpad(&bad).is_err());
        let mut bad = padded(b"hi");
        bad[PADDED_PLAINTEXT_LEN - 1] = 0x80;
        assert!(unpad(&bad).is_err());
        let mut bad = padded(b"hi");
        bad[0] = 0xff;
        assert!(unpad(&bad).is_err());
    }
}
