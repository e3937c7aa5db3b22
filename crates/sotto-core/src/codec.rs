//! The byte codec of every encoding the core defines (chat messages, links,
//! stored records): big-endian integers, fixed arrays, bounded length-prefixed
//! bytes; every length is checked before allocation and trailing bytes are an
//! error.

use crate::CoreError;

/// Builds an encoding.
#[derive(Default)]
pub(crate) struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Writer {
        Writer::default()
    }

    pub(crate) fn u8(&mut self, value: u8) -> &mut Self {
        self.bytes.push(value);
        self
    }

    pub(crate) fn bool(&mut self, value: bool) -> &mut Self {
        self.u8(u8::from(value))
    }

    pub(crate) fn u16(&mut self, value: u16) -> &mut Self {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn u32(&mut self, value: u32) -> &mut Self {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn u64(&mut self, value: u64) -> &mut Self {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn array(&mut self, value: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(value);
        self
    }

    /// `len u16 || bytes`; callers bound `bytes` to at most `u16::MAX` (the
    /// reader enforces each field's own bound).
    pub(crate) fn bytes16(&mut self, value: &[u8]) -> &mut Self {
        let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
        self.u16(len);
        self.bytes
            .extend_from_slice(value.get(..usize::from(len)).unwrap_or(value));
        self
    }

    /// `len u32 || bytes`, for stored records (session pickles).
    pub(crate) fn bytes32(&mut self, value: &[u8]) -> &mut Self {
        let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.bytes.extend_from_slice(value);
        self
    }

    pub(crate) fn option<T>(
        &mut self,
        value: Option<&T>,
        write: impl FnOnce(&mut Self, &T),
    ) -> &mut Self {
        match value {
            Some(value) => {
                self.u8(1);
                write(self, value);
            }
            None => {
                self.u8(0);
            }
        }
        self
    }

    pub(crate) fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}

/// Reads an encoding; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { bytes, what }
    }

    fn malformed(&self) -> CoreError {
        CoreError::Malformed(self.what)
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], CoreError> {
        if self.bytes.len() < len {
            return Err(self.malformed());
        }
        let (head, tail) = self.bytes.split_at(len);
        self.bytes = tail;
        Ok(head)
    }

    /// Every byte left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], CoreError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, CoreError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn bool(&mut self) -> Result<bool, CoreError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.malformed()),
        }
    }

    pub(crate) fn u16(&mut self) -> Result<u16, CoreError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, CoreError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, CoreError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// `len u16 || bytes` with `len <= max`.
    pub(crate) fn bytes16(&mut self, max: usize) -> Result<&'a [u8], CoreError> {
        let len = usize::from(self.u16()?);
        if len > max {
            return Err(self.malformed());
        }
        self.take(len)
    }

    /// `len u32 || bytes` with `len <= max`.
    pub(crate) fn bytes32(&mut self, max: usize) -> Result<&'a [u8], CoreError> {
        let len = usize::try_from(self.u32()?).map_err(|_| self.malformed())?;
        if len > max {
            return Err(self.malformed());
        }
        self.take(len)
    }

    /// UTF-8 text of at most `max` bytes.
    pub(crate) fn text(&mut self, max: usize) -> Result<String, CoreError> {
        let bytes = self.bytes16(max)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.malformed())
    }

    pub(crate) fn option<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, CoreError>,
    ) -> Result<Option<T>, CoreError> {
        if self.bool()? {
            Ok(Some(read(self)?))
        } else {
            Ok(None)
        }
    }

    pub(crate) fn finish(self) -> Result<(), CoreError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(self.malformed())
        }
    }
}

/// A stored record that does not decode is a damaged profile, not a hostile
/// peer: map the reader's error accordingly.
pub(crate) fn corrupt(what: &'static str) -> impl Fn(CoreError) -> CoreError {
    move |_| CoreError::CorruptRecord(what)
}

/// Every record of a table whose keys are big-endian `u64` ids, decoded in key
/// order; `what` names the record in a [`CoreError::CorruptRecord`].
pub(crate) fn load_table<T>(
    store: &impl crate::Store,
    table: crate::Table,
    what: &'static str,
    decode: impl Fn(u64, &[u8]) -> Result<T, CoreError>,
) -> Result<Vec<T>, CoreError> {
    store
        .range(
            table,
            &crate::KeyRange::all(),
            crate::Direction::Forward,
            usize::MAX,
        )?
        .iter()
        .map(|record| {
            let id = <[u8; 8]>::try_from(record.key.as_slice())
                .map_err(|_| CoreError::CorruptRecord(what))?;
            decode(u64::from_be_bytes(id), &record.value).map_err(corrupt(what))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let bytes = Writer::new()
            .u8(1)
            .u16(2)
            .u64(3)
            .bytes16(b"hello")
            .option(Some(&7u32), |w, v| {
                w.u32(*v);
            })
            .finish();
        let mut reader = Reader::new(&bytes, "test");
        assert_eq!(reader.u8().unwrap(), 1);
        assert_eq!(reader.u16().unwrap(), 2);
        assert_eq!(reader.u64().unwrap(), 3);
        assert_eq!(reader.text(5).unwrap(), "hello");
        assert_eq!(reader.option(|r| r.u32()).unwrap(), Some(7));
        reader.finish().unwrap();

        let mut reader = Reader::new(&bytes[3..], "test");
        reader.u64().unwrap();
        assert!(reader.bytes16(4).is_err());
        assert!(Reader::new(&[2], "test").bool().is_err());
        assert!(Reader::new(&[0, 0], "test").finish().is_err());
    }
}
