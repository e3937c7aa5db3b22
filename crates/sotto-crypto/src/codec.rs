//! Minimal byte codec shared by every encoding in this crate: fixed-size fields read in
//! order, trailing bytes rejected.

use crate::Error;

/// The version byte of invitations and pickles (their layouts are those of version 1).
pub(crate) const FORMAT_VERSION: u8 = 1;
/// The version byte of the answers this implementation writes (answer version 2: the
/// joiner's identity key travels sealed, never in clear).
pub(crate) const ANSWER_VERSION: u8 = 2;
/// The previous answer layout, with the joiner's identity key in clear: still accepted so
/// that an answer in flight across an upgrade is not lost, never written.
pub(crate) const ANSWER_VERSION_1: u8 = 1;
/// The version byte of the messages this implementation writes (format version 2: a
/// small header, a variable-length payload and filler).
pub(crate) const MESSAGE_VERSION: u8 = 2;
/// The previous message format, still read so that messages in flight across an
/// upgrade are not lost.
pub(crate) const MESSAGE_VERSION_1: u8 = 1;

/// The version byte an encoding of `kind` is written with.
pub(crate) fn version_of(kind: u8) -> u8 {
    match kind {
        kind::MESSAGE => MESSAGE_VERSION,
        kind::ANSWER => ANSWER_VERSION,
        _ => FORMAT_VERSION,
    }
}

/// Kind bytes: the second byte of every encoding.
pub(crate) mod kind {
    /// A public invitation.
    pub(crate) const INVITATION: u8 = 0x01;
    /// The joiner's answer to an invitation (key agreement + first message).
    pub(crate) const ANSWER: u8 = 0x02;
    /// A double-ratchet message.
    pub(crate) const MESSAGE: u8 = 0x03;
    /// A pickled session.
    pub(crate) const SESSION_PICKLE: u8 = 0x10;
    /// A pickled pending invitation.
    pub(crate) const INVITATION_PICKLE: u8 = 0x11;
}

/// Reads fixed-size fields from a byte slice; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { bytes, what }
    }

    /// Checks the version and kind bytes that open every encoding.
    pub(crate) fn prefix(&mut self, expected_kind: u8) -> Result<(), Error> {
        self.versioned_prefix(version_of(expected_kind), expected_kind)
    }

    /// Checks the version and kind bytes against an explicit version.
    pub(crate) fn versioned_prefix(
        &mut self,
        expected_version: u8,
        expected_kind: u8,
    ) -> Result<(), Error> {
        let [version, found] = self.array::<2>()?;
        if version != expected_version {
            return Err(Error::UnsupportedVersion(version));
        }
        if found != expected_kind {
            return Err(Error::WrongKind {
                expected: expected_kind,
                found,
            });
        }
        Ok(())
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let (head, tail) = self
            .bytes
            .split_first_chunk::<N>()
            .ok_or(Error::Malformed(self.what))?;
        self.bytes = tail;
        Ok(*head)
    }

    /// Like [`Reader::array`], borrowing the bytes instead of copying them.
    pub(crate) fn array_ref<const N: usize>(&mut self) -> Result<&'a [u8; N], Error> {
        let (head, tail) = self
            .bytes
            .split_first_chunk::<N>()
            .ok_or(Error::Malformed(self.what))?;
        self.bytes = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        let [byte] = self.array::<1>()?;
        Ok(byte)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array::<4>()?))
    }

    /// The rest of the input, consuming it.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.bytes)
    }

    /// Ends the read: trailing bytes are an error.
    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(Error::Malformed(self.what))
        }
    }
}

/// Writes the version and kind bytes that open every encoding.
pub(crate) fn write_prefix(out: &mut Vec<u8>, kind: u8) {
    out.push(version_of(kind));
    out.push(kind);
}

/// A cursor over caller-supplied randomness, handing out fixed-size pieces.
pub(crate) struct Entropy<'a>(&'a [u8]);

impl<'a> Entropy<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    pub(crate) fn take<const N: usize>(&mut self) -> Result<zeroize::Zeroizing<[u8; N]>, Error> {
        let (head, tail) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(Error::InsufficientRandomness)?;
        self.0 = tail;
        Ok(zeroize::Zeroizing::new(*head))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_rejects_short_and_trailing_input() {
        let mut reader = Reader::new(&[1, 2, 3], "test");
        assert_eq!(reader.array::<2>().unwrap(), [1, 2]);
        assert!(reader.u32().is_err());
        let reader = Reader::new(&[1], "test");
        assert_eq!(reader.finish(), Err(Error::Malformed("test")));
    }

    #[test]
    fn prefix_distinguishes_version_and_kind() {
        let mut reader = Reader::new(&[3, kind::MESSAGE], "test");
        assert_eq!(
            reader.prefix(kind::MESSAGE),
            Err(Error::UnsupportedVersion(3))
        );
        let mut reader = Reader::new(&[2, kind::INVITATION], "test");
        assert_eq!(
            reader.prefix(kind::INVITATION),
            Err(Error::UnsupportedVersion(2))
        );
        // Answers are at version 2 (version 1 is read by the answer's own decoder).
        let mut reader = Reader::new(&[1, kind::ANSWER], "test");
        assert_eq!(
            reader.prefix(kind::ANSWER),
            Err(Error::UnsupportedVersion(1))
        );
        let mut reader = Reader::new(&[2, kind::INVITATION], "test");
        assert_eq!(
            reader.prefix(kind::ANSWER),
            Err(Error::WrongKind {
                expected: kind::ANSWER,
                found: kind::INVITATION
            })
        );
    }

    #[test]
    fn entropy_runs_out_cleanly() {
        let bytes = [7u8; 10];
        let mut entropy = Entropy::new(&bytes);
        assert_eq!(*entropy.take::<8>().unwrap(), [7u8; 8]);
        assert_eq!(
            entropy.take::<8>().err(),
            Some(Error::InsufficientRandomness)
        );
    }
}
