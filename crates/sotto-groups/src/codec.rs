//! The byte codec of pickles: big-endian integers, `u32`-length-prefixed byte strings,
//! every length checked against the bytes that remain before anything is allocated.

use crate::Error;

/// Appends fields to a buffer.
pub(crate) struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self { bytes: Vec::new() }
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    /// A length or count as `u32` (every length written is bounded far below 4 GiB by
    /// the pickle limit; larger values saturate and are refused when read back).
    pub(crate) fn u32(&mut self, value: usize) {
        let value = u32::try_from(value).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// `u32 length || bytes`.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.u32(bytes.len());
        self.raw(bytes);
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads fields from a byte slice; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { bytes, what }
    }

    /// The error for anything that does not parse.
    pub(crate) fn malformed(&self) -> Error {
        Error::Malformed(self.what)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let (head, tail) = self
            .bytes
            .split_first_chunk::<N>()
            .ok_or(self.malformed())?;
        self.bytes = tail;
        Ok(*head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        self.array::<1>().map(|[byte]| byte)
    }

    fn u32(&mut self) -> Result<usize, Error> {
        let value = u32::from_be_bytes(self.array()?);
        usize::try_from(value).map_err(|_| self.malformed())
    }

    /// A `u32` count of items of at least `min_item_len` bytes each, refused if the rest
    /// of the input could not hold that many.
    pub(crate) fn count(&mut self, min_item_len: usize) -> Result<usize, Error> {
        let count = self.u32()?;
        if count.saturating_mul(min_item_len.max(1)) > self.bytes.len() {
            return Err(self.malformed());
        }
        Ok(count)
    }

    /// A `u32`-length-prefixed byte string.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], Error> {
        let len = self.u32()?;
        if len > self.bytes.len() {
            return Err(self.malformed());
        }
        let (head, tail) = self.bytes.split_at(len);
        self.bytes = tail;
        Ok(head)
    }

    /// Succeeds only if every byte was read.
    pub(crate) fn finish(self) -> Result<(), Error> {
        match self.bytes.is_empty() {
            true => Ok(()),
            false => Err(self.malformed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let mut out = Writer::new();
        out.u8(7);
        out.bytes(b"abc");
        out.u32(2);
        let bytes = out.into_bytes();
        let mut input = Reader::new(&bytes, "test");
        assert_eq!(input.u8(), Ok(7));
        assert_eq!(input.bytes(), Ok(&b"abc"[..]));
        assert_eq!(input.count(1), Err(Error::Malformed("test")));
        let mut short = Reader::new(&[0, 0, 0, 9, 1], "test");
        assert_eq!(short.bytes(), Err(Error::Malformed("test")));
        assert_eq!(
            Reader::new(&[1], "test").finish(),
            Err(Error::Malformed("test"))
        );
    }
}
