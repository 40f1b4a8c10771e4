//! A forward cursor over one region of a [`ByteSource`], through a small
//! window: opcodes and short arguments are read, long payloads skipped by
//! moving the position, never read.

use super::WalkError;
use crate::inspect::ByteSource;

/// Bytes read from the source at a time.
const WINDOW: usize = 64 * 1024;

/// A position in `[start, end)` of a source, with a read window.
pub(super) struct Cursor<'a> {
    src: &'a dyn ByteSource,
    pos: u64,
    end: u64,
    window: Vec<u8>,
    window_start: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor over `len` bytes at `offset`, clipped to the source's end.
    pub(super) fn new(src: &'a dyn ByteSource, offset: u64, len: u64) -> Self {
        let end = offset.saturating_add(len).min(src.len());
        Cursor {
            src,
            pos: offset.min(end),
            end,
            window: Vec::new(),
            window_start: 0,
        }
    }

    /// A second cursor at the same position, reading on its own.
    pub(super) fn fork(&self) -> Cursor<'a> {
        Cursor::new(self.src, self.pos, self.remaining())
    }

    /// The absolute offset of the next byte.
    pub(super) fn pos(&self) -> u64 {
        self.pos
    }

    /// The absolute end of the region.
    pub(super) fn end(&self) -> u64 {
        self.end
    }

    /// Bytes left in the region.
    pub(super) fn remaining(&self) -> u64 {
        self.end - self.pos
    }

    /// The window's bytes from the position on, refilled when exhausted;
    /// empty only at the region's end.
    fn available(&mut self) -> Result<&[u8], WalkError> {
        let window_end = self.window_start + self.window.len() as u64;
        if self.pos < self.window_start || self.pos >= window_end {
            let want = self.remaining().min(WINDOW as u64) as usize;
            self.window.resize(want, 0);
            self.src
                .read_exact_at(&mut self.window, self.pos)
                .map_err(|e| WalkError::Io {
                    offset: self.pos,
                    message: e.to_string(),
                })?;
            self.window_start = self.pos;
        }
        let start = (self.pos - self.window_start) as usize;
        Ok(self.window.get(start..).unwrap_or(&[]))
    }

    /// The next byte.
    pub(super) fn byte(&mut self) -> Result<u8, WalkError> {
        let at = self.pos;
        let b = *self
            .available()?
            .first()
            .ok_or(WalkError::Truncated { offset: at })?;
        self.pos += 1;
        Ok(b)
    }

    /// The next `N` bytes.
    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], WalkError> {
        let mut out = [0u8; N];
        for slot in &mut out {
            *slot = self.byte()?;
        }
        Ok(out)
    }

    /// Moves past `n` bytes without reading them.
    pub(super) fn skip(&mut self, n: u64) -> Result<(), WalkError> {
        if n > self.remaining() {
            return Err(WalkError::Truncated { offset: self.end });
        }
        self.pos += n;
        Ok(())
    }

    /// The next `n` bytes when `n <= keep`; otherwise they are skipped and
    /// `None` returned.
    pub(super) fn bytes(&mut self, n: u64, keep: usize) -> Result<Option<Vec<u8>>, WalkError> {
        if n > self.remaining() {
            return Err(WalkError::Truncated { offset: self.end });
        }
        if n > keep as u64 {
            self.pos += n;
            return Ok(None);
        }
        let mut out = Vec::with_capacity(n as usize);
        while (out.len() as u64) < n {
            let need = n as usize - out.len();
            let chunk = self.available()?;
            let take = chunk.len().min(need);
            out.extend_from_slice(chunk.get(..take).unwrap_or(&[]));
            self.pos += take as u64;
        }
        Ok(Some(out))
    }

    /// The bytes up to the next `\n` (consumed, not returned), when there
    /// are at most `keep` of them; a longer line is consumed and `None`
    /// returned. A region that ends before the newline is truncated.
    pub(super) fn line(&mut self, keep: usize) -> Result<Option<Vec<u8>>, WalkError> {
        let mut kept = Some(Vec::new());
        loop {
            let at = self.pos;
            let chunk = self.available()?;
            if chunk.is_empty() {
                return Err(WalkError::Truncated { offset: at });
            }
            let newline = chunk.iter().position(|&b| b == b'\n');
            let part = &chunk[..newline.unwrap_or(chunk.len())];
            let grown = kept.as_ref().map_or(0, Vec::len) + part.len();
            match &mut kept {
                Some(k) if grown <= keep => k.extend_from_slice(part),
                _ => kept = None,
            }
            let consumed = part.len() as u64 + u64::from(newline.is_some());
            self.pos += consumed;
            if newline.is_some() {
                return Ok(kept);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::InMemory;

    #[test]
    fn lines_and_skips_stay_inside_the_region() {
        let bytes: &[u8] = b"xxabc\ndefyy";
        let src = InMemory(bytes);
        let mut c = Cursor::new(&src, 2, 7);
        assert_eq!(c.line(16).unwrap().unwrap(), b"abc");
        assert_eq!(c.line(16).unwrap_err(), WalkError::Truncated { offset: 9 });
        let src = InMemory(bytes);
        let mut c = Cursor::new(&src, 2, 7);
        assert!(c.line(2).unwrap().is_none(), "a line longer than kept");
        assert_eq!(c.pos(), 6);
        assert!(c.skip(4).is_err());
        c.skip(3).unwrap();
        assert_eq!(c.byte().unwrap_err(), WalkError::Truncated { offset: 9 });
    }

    #[test]
    fn long_payloads_are_skipped_not_read() {
        let bytes: &[u8] = &[7u8; 100];
        let src = InMemory(bytes);
        let mut c = Cursor::new(&src, 0, 100);
        assert_eq!(c.bytes(10, 4).unwrap(), None);
        assert_eq!(c.pos(), 10);
        assert_eq!(c.bytes(3, 4).unwrap(), Some(vec![7, 7, 7]));
        assert!(c.bytes(u64::MAX, 4).is_err());
    }
}
