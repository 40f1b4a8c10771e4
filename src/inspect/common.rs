//! What the structural inspectors share: a capped list of problems, and a
//! forward-only reader over a [`ByteSource`] with a small window for the
//! formats (GGUF, ONNX protobuf) read field by field: one positional read
//! per window instead of one per field, and payloads skipped by moving the
//! position without reading them.

use std::io;

use super::{ByteSource, ContentProblem, ContentProblemKind};

/// Most problems reported for one file; the rest are counted in one more.
pub(super) const MAX_PROBLEMS: usize = 100;

/// Problems found so far, at most [`MAX_PROBLEMS`] kept, so that a file with
/// millions of bad entries makes a short report.
#[derive(Default)]
pub(super) struct Problems {
    kept: Vec<ContentProblem>,
    dropped: u64,
    last_kind: Option<ContentProblemKind>,
}

impl Problems {
    /// Records a problem.
    pub(super) fn push(&mut self, kind: ContentProblemKind, message: String) {
        self.last_kind = Some(kind);
        if self.kept.len() < MAX_PROBLEMS {
            self.kept.push(ContentProblem { kind, message });
        } else {
            self.dropped += 1;
        }
    }

    /// Records every problem of `more`.
    pub(super) fn extend(&mut self, more: Vec<ContentProblem>) {
        for problem in more {
            self.push(problem.kind, problem.message);
        }
    }

    /// The problems kept, then one counting those dropped.
    pub(super) fn finish(mut self) -> Vec<ContentProblem> {
        if let (true, Some(kind)) = (self.dropped > 0, self.last_kind) {
            self.kept.push(ContentProblem {
                kind,
                message: format!("and {} more problems like these", self.dropped),
            });
        }
        self.kept
    }
}

/// How many bytes one refill reads: enough for thousands of small fields.
const WINDOW_BYTES: u64 = 64 << 10;

/// Why a read stopped.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadError {
    /// The bytes end (at the file's or the enclosing structure's end) before
    /// the field does.
    #[error("the file ends at byte {end} inside a field that starts at byte {at}")]
    Truncated {
        /// Where the field started.
        at: u64,
        /// Where the bytes end.
        end: u64,
    },
    /// The file could not be read.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads forward from a position, never past `end`.
pub(super) struct Forward<'a, S: ByteSource + ?Sized> {
    source: &'a S,
    pos: u64,
    end: u64,
    window: Vec<u8>,
    window_start: u64,
}

impl<'a, S: ByteSource + ?Sized> Forward<'a, S> {
    /// A reader at byte 0 that stops at the source's end.
    pub(super) fn new(source: &'a S) -> Self {
        Forward {
            source,
            pos: 0,
            end: source.len(),
            window: Vec::new(),
            window_start: 0,
        }
    }

    /// The position of the next byte read.
    pub(super) fn pos(&self) -> u64 {
        self.pos
    }

    /// The position reading stops at.
    pub(super) fn end(&self) -> u64 {
        self.end
    }

    /// How many bytes are left before the end.
    pub(super) fn remaining(&self) -> u64 {
        self.end - self.pos
    }

    /// Reads `N` bytes.
    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let mut bytes = [0u8; N];
        self.fill(&mut bytes)?;
        Ok(bytes)
    }

    /// Reads `n` bytes into memory; the caller has bounded `n` already, and
    /// `n` past the end fails before anything is allocated.
    pub(super) fn bytes(&mut self, n: u64) -> Result<Vec<u8>, ReadError> {
        self.check_room(n)?;
        let len = usize::try_from(n).map_err(|_| self.truncated())?;
        let mut bytes = vec![0u8; len];
        self.fill(&mut bytes)?;
        Ok(bytes)
    }

    /// Moves past `n` bytes without reading them.
    pub(super) fn skip(&mut self, n: u64) -> Result<(), ReadError> {
        self.check_room(n)?;
        self.pos += n;
        Ok(())
    }

    fn check_room(&self, n: u64) -> Result<(), ReadError> {
        if n > self.remaining() {
            return Err(self.truncated());
        }
        Ok(())
    }

    fn truncated(&self) -> ReadError {
        ReadError::Truncated {
            at: self.pos,
            end: self.end,
        }
    }

    /// Fills `buf` from the window, refilling it as it runs out.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ReadError> {
        self.check_room(buf.len() as u64)?;
        let mut done = 0;
        while done < buf.len() {
            if !self.window_holds(self.pos) {
                self.refill()?;
            }
            let from = (self.pos - self.window_start) as usize;
            let available = self.window.get(from..).unwrap_or_default();
            let n = available.len().min(buf.len() - done);
            if n == 0 {
                return Err(self.truncated());
            }
            buf[done..done + n].copy_from_slice(&available[..n]);
            done += n;
            self.pos += n as u64;
        }
        Ok(())
    }

    fn window_holds(&self, pos: u64) -> bool {
        pos >= self.window_start && pos - self.window_start < self.window.len() as u64
    }

    fn refill(&mut self) -> Result<(), ReadError> {
        let n = WINDOW_BYTES.min(self.remaining()) as usize;
        self.window.resize(n, 0);
        self.source.read_exact_at(&mut self.window, self.pos)?;
        self.window_start = self.pos;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_across_windows_and_skips_without_reading() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut reader = Forward::new(data.as_slice());
        reader.skip(65_530).unwrap();
        let bytes: [u8; 12] = reader.array().unwrap();
        let expected: Vec<u8> = (65_530..65_542u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(bytes.as_slice(), expected.as_slice());
        assert_eq!(reader.pos(), 65_542);
        assert_eq!(reader.bytes(3).unwrap().len(), 3);
    }

    #[test]
    fn reading_or_skipping_past_the_end_is_truncated() {
        let data = [1u8, 2, 3];
        let mut reader = Forward::new(&data[..]);
        assert!(matches!(reader.skip(4), Err(ReadError::Truncated { .. })));
        assert!(matches!(
            reader.bytes(u64::MAX),
            Err(ReadError::Truncated { at: 0, end: 3 })
        ));
        assert_eq!(reader.array::<3>().unwrap(), [1, 2, 3]);
        assert!(matches!(
            reader.array::<1>(),
            Err(ReadError::Truncated { .. })
        ));
    }
}
