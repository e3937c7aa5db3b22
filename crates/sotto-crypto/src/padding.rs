//! Fixed-size plaintext padding: every message body has the same length, whatever it says.

use zeroize::Zeroizing;

use crate::Error;

/// Every plaintext is padded to exactly this many bytes before encryption.
pub const PADDED_PLAINTEXT_LEN: usize = 12_288;
/// Length of the big-endian length prefix inside the padded plaintext.
const LENGTH_PREFIX_LEN: usize = 2;
/// The longest plaintext one message carries.
pub const MAX_PLAINTEXT_LEN: usize = PADDED_PLAINTEXT_LEN - LENGTH_PREFIX_LEN;

/// `u16 length (big-endian) || plaintext || zero bytes` up to [`PADDED_PLAINTEXT_LEN`].
pub(crate) fn pad(plaintext: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let len = u16::try_from(plaintext.len())
        .ok()
        .filter(|&len| usize::from(len) <= MAX_PLAINTEXT_LEN)
        .ok_or(Error::PlaintextTooLong {
            len: plaintext.len(),
            max: MAX_PLAINTEXT_LEN,
        })?;
    let mut padded = Zeroizing::new(Vec::with_capacity(PADDED_PLAINTEXT_LEN));
    padded.extend_from_slice(&len.to_be_bytes());
    padded.extend_from_slice(plaintext);
    padded.resize(PADDED_PLAINTEXT_LEN, 0);
    Ok(padded)
}

/// Inverse of [`pad`]; the padding must be all zero.
pub(crate) fn unpad(padded: &[u8]) -> Result<Vec<u8>, Error> {
    const MALFORMED: Error = Error::Malformed("padded plaintext");
    if padded.len() != PADDED_PLAINTEXT_LEN {
        return Err(MALFORMED);
    }
    let (prefix, rest) = padded.split_at(LENGTH_PREFIX_LEN);
    let len = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
    if len > MAX_PLAINTEXT_LEN {
        return Err(MALFORMED);
    }
    let (plaintext, padding) = rest.split_at(len);
    if padding.iter().any(|&byte| byte != 0) {
        return Err(MALFORMED);
    }
    Ok(plaintext.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_at_the_edges() {
        for len in [0, 1, 1024, MAX_PLAINTEXT_LEN] {
            let plaintext = vec![0x61; len];
            let padded = pad(&plaintext).unwrap();
            assert_eq!(padded.len(), PADDED_PLAINTEXT_LEN);
            assert_eq!(unpad(&padded).unwrap(), plaintext);
        }
    }

    #[test]
    fn too_long_is_rejected() {
        assert_eq!(
            pad(&vec![0; MAX_PLAINTEXT_LEN + 1]).err(),
            Some(Error::PlaintextTooLong {
                len: MAX_PLAINTEXT_LEN + 1,
                max: MAX_PLAINTEXT_LEN
            })
        );
    }

    #[test]
    fn bad_padding_is_rejected() {
        let mut padded = pad(b"hi").unwrap();
        padded[10] = 1;
        assert!(unpad(&padded).is_err());
        let mut padded = pad(b"hi").unwrap();
        padded[0] = 0xff;
        assert!(unpad(&padded).is_err());
    }
}
