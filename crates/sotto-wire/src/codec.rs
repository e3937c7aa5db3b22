//! Checked reading of big-endian fields: every read is bounds-checked, so no input
//! can make the decoder panic or read past its end.

use crate::WireError;

/// Writes `len u16 | bytes`; `bytes` is at most `u16::MAX` long (callers
/// bound it far below).
pub(crate) fn write_u16_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// A cursor over untrusted bytes.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// The next `len` bytes.
    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], WireError> {
        let (head, tail) = self
            .bytes
            .split_at_checked(len)
            .ok_or(WireError::Truncated)?;
        self.bytes = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let bytes = self.take(N)?;
        <[u8; N]>::try_from(bytes).map_err(|_| WireError::Truncated)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, WireError> {
        let [byte] = self.array::<1>()?;
        Ok(byte)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// `len u16 | bytes` with `len` in 1..=`max`, checked before the bytes
    /// are read; `field` names the length in the error.
    pub(crate) fn u16_prefixed(
        &mut self,
        max: usize,
        field: &'static str,
    ) -> Result<&'a [u8], WireError> {
        let len = usize::from(self.u16()?);
        if len == 0 || len > max {
            return Err(WireError::LengthOutOfRange { field });
        }
        self.take(len)
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    /// Ends a structure that must be consumed exactly.
    pub(crate) fn finish(self) -> Result<(), WireError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(WireError::TrailingBytes)
        }
    }

    /// Ends a structure followed by zero padding up to the end of the input.
    pub(crate) fn finish_padding(self) -> Result<(), WireError> {
        if self.bytes.iter().all(|&byte| byte == 0) {
            Ok(())
        } else {
            Err(WireError::NonZeroPadding)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_big_endian_and_bounded() {
        let mut reader = Reader::new(&[1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(reader.u8(), Ok(1));
        assert_eq!(reader.u16(), Ok(0x0203));
        assert_eq!(reader.u64(), Ok(0));
        assert_eq!(reader.u16(), Err(WireError::Truncated));
        assert_eq!(reader.u8(), Ok(9));
        assert_eq!(reader.u8(), Err(WireError::Truncated));
        assert_eq!(reader.finish(), Ok(()));
    }

    #[test]
    fn finish_rejects_leftovers_and_padding_must_be_zero() {
        assert_eq!(Reader::new(&[0]).finish(), Err(WireError::TrailingBytes));
        assert_eq!(Reader::new(&[0, 0]).finish_padding(), Ok(()));
        assert_eq!(
            Reader::new(&[0, 1]).finish_padding(),
            Err(WireError::NonZeroPadding)
        );
    }

    #[test]
    fn huge_lengths_do_not_panic() {
        let mut reader = Reader::new(&[1, 2]);
        assert_eq!(reader.take(usize::MAX), Err(WireError::Truncated));
        assert_eq!(reader.take(2), Ok(&[1, 2][..]));
    }
}
