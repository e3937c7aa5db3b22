//! Bounds-checked reading of untrusted bytes, shared by the description and
//! the transfer records.

use crate::FileError;

/// A cursor over untrusted bytes: every read is bounds-checked, and a short
/// input is `MalformedDescription(what)`.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader { bytes, what }
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], FileError> {
        let (head, tail) = self
            .bytes
            .split_at_checked(len)
            .ok_or(FileError::MalformedDescription(self.what))?;
        self.bytes = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], FileError> {
        <[u8; N]>::try_from(self.take(N)?).map_err(|_| FileError::MalformedDescription(self.what))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, FileError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, FileError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, FileError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, FileError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}
