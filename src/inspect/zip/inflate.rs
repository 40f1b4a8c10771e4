//! DEFLATE (RFC 1951) decoding of one zip entry held in memory, with the
//! output bounded: a deflated `config.json` or `.npy` is inspected like a
//! stored one, and a zip bomb stops at the bound.
//!
//! Huffman codes are decoded canonically, one bit at a time: entries that
//! need inflating are small (configs, headers), so simplicity wins here.

/// Why a deflate stream cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// The compressed bytes end before the final block does.
    #[error("the compressed data ends early")]
    Truncated,
    /// The stream is not valid DEFLATE.
    #[error("invalid deflate data: {0}")]
    Invalid(&'static str),
    /// The output would pass the bound.
    #[error("decompresses to more than {0} bytes")]
    TooLarge(usize),
}

/// Bits of the input, least significant first.
struct Bits<'a> {
    input: &'a [u8],
    at: usize,
    bit: u8,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<u16, InflateError> {
        let byte = *self.input.get(self.at).ok_or(InflateError::Truncated)?;
        let b = (byte >> self.bit) & 1;
        self.bit += 1;
        if self.bit == 8 {
            self.bit = 0;
            self.at += 1;
        }
        Ok(u16::from(b))
    }

    /// `n` bits (at most 16), first bit least significant.
    fn bits(&mut self, n: u8) -> Result<u16, InflateError> {
        let mut v = 0u16;
        for i in 0..n {
            v |= self.bit()? << i;
        }
        Ok(v)
    }

    /// Skips to the next byte boundary.
    fn align(&mut self) {
        if self.bit != 0 {
            self.bit = 0;
            self.at += 1;
        }
    }
}

/// A canonical Huffman code: how many codes of each length, and the
/// symbols in code order.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    /// The code for symbols with code `lengths` (0: unused).
    fn new(lengths: &[u8]) -> Result<Huffman, InflateError> {
        let mut counts = [0u16; 16];
        for &l in lengths {
            let slot = counts
                .get_mut(usize::from(l))
                .ok_or(InflateError::Invalid("code length"))?;
            *slot += 1;
        }
        counts[0] = 0;
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (symbol, &l) in lengths.iter().enumerate() {
            if l != 0 {
                let slot = &mut offsets[usize::from(l)];
                if let Some(s) = symbols.get_mut(usize::from(*slot)) {
                    *s = symbol as u16;
                }
                *slot += 1;
            }
        }
        Ok(Huffman { counts, symbols })
    }

    /// The next symbol of `bits`.
    fn decode(&self, bits: &mut Bits<'_>) -> Result<u16, InflateError> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= i32::from(bits.bit()?);
            let count = i32::from(self.counts[len]);
            if code - first < count {
                let at = usize::try_from(index + code - first).unwrap_or(usize::MAX);
                return self
                    .symbols
                    .get(at)
                    .copied()
                    .ok_or(InflateError::Invalid("code"));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(InflateError::Invalid("code"))
    }
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order in which code length code lengths are sent.
const CLEN_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Decodes the raw deflate stream `input` into at most `max_out` bytes.
pub fn inflate(input: &[u8], max_out: usize) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::new();
    decode(input, &mut out, max_out)?;
    Ok(out)
}

/// The first `want` bytes (fewer if the stream or `input` ends first) that
/// `input`, the start of a raw deflate stream, decodes to.
pub fn inflate_prefix(input: &[u8], want: usize) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::new();
    match decode(input, &mut out, want) {
        Ok(()) | Err(InflateError::TooLarge(_) | InflateError::Truncated) => Ok(out),
        Err(e) => Err(e),
    }
}

/// Decodes `input` into `out`, up to `max_out` bytes: past them, `out`
/// holds exactly `max_out` and the error is [`InflateError::TooLarge`].
fn decode(input: &[u8], out: &mut Vec<u8>, max_out: usize) -> Result<(), InflateError> {
    let mut bits = Bits {
        input,
        at: 0,
        bit: 0,
    };
    let out = &mut *out;
    loop {
        let last = bits.bit()? == 1;
        match bits.bits(2)? {
            0 => stored_block(&mut bits, out, max_out)?,
            1 => {
                let (lit, dist) = fixed_codes()?;
                codes_block(&mut bits, out, max_out, &lit, &dist)?;
            }
            2 => {
                let (lit, dist) = dynamic_codes(&mut bits)?;
                codes_block(&mut bits, out, max_out, &lit, &dist)?;
            }
            _ => return Err(InflateError::Invalid("block type 3")),
        }
        if last {
            return Ok(());
        }
    }
}

/// A stored block: LEN, NLEN, then LEN bytes as they are.
fn stored_block(
    bits: &mut Bits<'_>,
    out: &mut Vec<u8>,
    max_out: usize,
) -> Result<(), InflateError> {
    bits.align();
    let header = bits
        .input
        .get(bits.at..bits.at + 4)
        .ok_or(InflateError::Truncated)?;
    let len = u16::from_le_bytes([header[0], header[1]]);
    let nlen = u16::from_le_bytes([header[2], header[3]]);
    if len != !nlen {
        return Err(InflateError::Invalid("stored block length"));
    }
    let start = bits.at + 4;
    let end = start + usize::from(len);
    let data = bits
        .input
        .get(start..end.min(bits.input.len()))
        .unwrap_or(&[]);
    let room = max_out.saturating_sub(out.len());
    out.extend_from_slice(data.get(..room.min(data.len())).unwrap_or(&[]));
    if data.len() > room {
        return Err(InflateError::TooLarge(max_out));
    }
    if end > bits.input.len() {
        return Err(InflateError::Truncated);
    }
    bits.at = end;
    Ok(())
}

/// The fixed literal/length and distance codes.
fn fixed_codes() -> Result<(Huffman, Huffman), InflateError> {
    let mut lengths = [0u8; 288];
    for (i, l) in lengths.iter_mut().enumerate() {
        *l = match i {
            0..=143 => 8,
            144..=255 => 9,
            256..=279 => 7,
            _ => 8,
        };
    }
    Ok((Huffman::new(&lengths)?, Huffman::new(&[5u8; 30])?))
}

/// The literal/length and distance codes a dynamic block sends.
fn dynamic_codes(bits: &mut Bits<'_>) -> Result<(Huffman, Huffman), InflateError> {
    let nlen = usize::from(bits.bits(5)?) + 257;
    let ndist = usize::from(bits.bits(5)?) + 1;
    let ncode = usize::from(bits.bits(4)?) + 4;
    if nlen > 286 || ndist > 30 {
        return Err(InflateError::Invalid("code counts"));
    }
    let mut clen = [0u8; 19];
    for &i in CLEN_ORDER.iter().take(ncode) {
        clen[i] = bits.bits(3)? as u8;
    }
    let clen = Huffman::new(&clen)?;
    let mut lengths = vec![0u8; nlen + ndist];
    let mut i = 0;
    while i < lengths.len() {
        let symbol = clen.decode(bits)?;
        let (value, repeat) = match symbol {
            0..=15 => (symbol as u8, 1),
            16 => {
                let prev = *lengths
                    .get(i.wrapping_sub(1))
                    .ok_or(InflateError::Invalid("repeat"))?;
                (prev, 3 + bits.bits(2)?)
            }
            17 => (0, 3 + bits.bits(3)?),
            _ => (0, 11 + bits.bits(7)?),
        };
        for _ in 0..repeat {
            *lengths
                .get_mut(i)
                .ok_or(InflateError::Invalid("too many lengths"))? = value;
            i += 1;
        }
    }
    let (lit, dist) = lengths.split_at(nlen);
    Ok((Huffman::new(lit)?, Huffman::new(dist)?))
}

/// A block coded with `lit` and `dist`, to its end-of-block symbol.
fn codes_block(
    bits: &mut Bits<'_>,
    out: &mut Vec<u8>,
    max_out: usize,
    lit: &Huffman,
    dist: &Huffman,
) -> Result<(), InflateError> {
    loop {
        let symbol = usize::from(lit.decode(bits)?);
        if symbol < 256 {
            if out.len() >= max_out {
                return Err(InflateError::TooLarge(max_out));
            }
            out.push(symbol as u8);
            continue;
        }
        if symbol == 256 {
            return Ok(());
        }
        let i = symbol - 257;
        let base = *LENGTH_BASE
            .get(i)
            .ok_or(InflateError::Invalid("length symbol"))?;
        let len = usize::from(base + bits.bits(LENGTH_EXTRA[i])?);
        let d = usize::from(dist.decode(bits)?);
        let base = *DIST_BASE
            .get(d)
            .ok_or(InflateError::Invalid("distance symbol"))?;
        let distance = usize::from(base) + usize::from(bits.bits(DIST_EXTRA[d])?);
        if distance > out.len() {
            return Err(InflateError::Invalid("distance before the output's start"));
        }
        let start = out.len() - distance;
        let room = max_out.saturating_sub(out.len());
        for k in 0..len.min(room) {
            let b = out[start + k];
            out.push(b);
        }
        if len > room {
            return Err(InflateError::TooLarge(max_out));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_and_fixed_blocks_decode() {
        // zlib.compressobj(level, DEFLATED, -15) outputs, made with Python;
        // dynamic blocks are decoded in the deflated fixtures' tests.
        assert_eq!(inflate(b"\x01\x03\x00\xfc\xffabc", 10).unwrap(), b"abc");
        assert_eq!(inflate(b"KLJ\x06\x00", 10).unwrap(), b"abc");
    }

    #[test]
    fn bombs_stop_at_the_bound_and_garbage_is_refused() {
        // 100 000 zeros in 114 bytes.
        let mut zeros = b"\xed\xc11\x01\x00\x00\x00\xc2\xa0\xf5Om\r\x0f\xa0".to_vec();
        zeros.extend([0u8; 96]);
        zeros.extend(b"\x80W\x03");
        assert_eq!(inflate(&zeros, 100_000).unwrap(), vec![0u8; 100_000]);
        assert_eq!(inflate_prefix(&zeros, 10).unwrap(), vec![0u8; 10]);
        let part = inflate_prefix(&zeros[..20], 200_000).unwrap();
        assert!(part.iter().all(|&b| b == 0));
        assert!(inflate(&zeros[..20], 200_000).is_err());
        assert_eq!(
            inflate_prefix(b"\x01\x03\x00\xfc\xffab", 10).unwrap(),
            b"ab"
        );
        assert!(matches!(
            inflate(&zeros, 99_999),
            Err(InflateError::TooLarge(99_999))
        ));
        assert!(inflate(b"\x07", 10).is_err());
        assert!(inflate(b"", 10).is_err());
        assert!(inflate(b"\x01\x03\x00\x00\x00abc", 10).is_err());
    }
}
