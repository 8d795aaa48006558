//! Bounds-checked little-endian field access for record payloads. PostgreSQL's desc functions
//! trust their input; ours must not, so every read can fail with the field that was missing.

use super::DescError;

#[derive(Clone, Copy, Debug)]
pub struct Data<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Data<'a> {
    /// `what` names the payload in errors, e.g. "main data" or "block 0 data".
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Data { bytes, what }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn slice(&self, offset: usize, len: usize) -> Result<&'a [u8], DescError> {
        offset
            .checked_add(len)
            .and_then(|end| self.bytes.get(offset..end))
            .ok_or(DescError::Short {
                what: self.what,
                needed: offset.saturating_add(len),
                got: self.bytes.len(),
            })
    }

    /// The bytes from `offset` to the end.
    pub fn rest(&self, offset: usize) -> Result<Data<'a>, DescError> {
        let len = self
            .bytes
            .len()
            .checked_sub(offset)
            .ok_or(DescError::Short {
                what: self.what,
                needed: offset,
                got: self.bytes.len(),
            })?;
        Ok(Data::new(self.slice(offset, len)?, self.what))
    }

    fn array<const N: usize>(&self, offset: usize) -> Result<[u8; N], DescError> {
        let s = self.slice(offset, N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub fn u8(&self, offset: usize) -> Result<u8, DescError> {
        Ok(self.array::<1>(offset)?[0])
    }
    pub fn i8(&self, offset: usize) -> Result<i8, DescError> {
        Ok(self.u8(offset)? as i8)
    }
    pub fn bool(&self, offset: usize) -> Result<bool, DescError> {
        Ok(self.u8(offset)? != 0)
    }
    pub fn u16(&self, offset: usize) -> Result<u16, DescError> {
        Ok(u16::from_le_bytes(self.array(offset)?))
    }
    pub fn i16(&self, offset: usize) -> Result<i16, DescError> {
        Ok(i16::from_le_bytes(self.array(offset)?))
    }
    pub fn u32(&self, offset: usize) -> Result<u32, DescError> {
        Ok(u32::from_le_bytes(self.array(offset)?))
    }
    pub fn i32(&self, offset: usize) -> Result<i32, DescError> {
        Ok(i32::from_le_bytes(self.array(offset)?))
    }
    pub fn u64(&self, offset: usize) -> Result<u64, DescError> {
        Ok(u64::from_le_bytes(self.array(offset)?))
    }
    pub fn i64(&self, offset: usize) -> Result<i64, DescError> {
        Ok(i64::from_le_bytes(self.array(offset)?))
    }

    /// A NUL-terminated string starting at `offset` (the NUL is not included).
    pub fn cstr(&self, offset: usize) -> Result<&'a [u8], DescError> {
        let rest = self.rest(offset)?.bytes;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(DescError::Unterminated { what: self.what })?;
        Ok(&rest[..end])
    }
}
