//! Content inspection: whether loading a file is safe, not only whether its
//! bytes are the signed ones (SPEC section 18).
//!
//! Each format has its own module. A format is recognised by its bytes
//! ([`sniff`]), never by its name alone. Every inspector reads through a
//! [`ByteSource`] at offsets it chooses: headers, and for pickles the opcode
//! stream with large payloads skipped, so inspecting costs no extra pass over
//! the data. Every length, count and offset in a file is attacker-written:
//! inspectors check each against the file's length and the [`limits`] before
//! allocating or seeking, never execute or unpickle anything, and return a
//! problem instead of panicking.

use std::io;

mod common;
pub mod files;
pub mod gguf;
pub mod keras;
pub mod numpy;
pub mod onnx;
pub mod pickle;
pub mod policy;
pub mod safetensors;
pub mod template;
pub mod zip;

/// Limits on what an inspector reads or holds, whatever a file claims.
pub mod limits {
    /// Largest header or embedded config an inspector reads into memory
    /// (safetensors JSON header, GGUF metadata, a Keras config, a zip
    /// central directory, a pickle inside an archive).
    pub const MAX_HEADER_BYTES: u64 = 100 << 20;
    /// Most pickle opcodes walked in one pickle.
    pub const MAX_PICKLE_OPS: u64 = 50_000_000;
    /// Most entries read from one zip archive.
    pub const MAX_ARCHIVE_ENTRIES: u64 = 1_000_000;
    /// Most tensors (safetensors, GGUF) or metadata items (GGUF) in one file.
    pub const MAX_ITEMS: u64 = 10_000_000;
}

/// Positional reads over the bytes of one file: a `File`, or bytes in memory.
pub trait ByteSource {
    /// The length of the bytes, in bytes.
    fn len(&self) -> u64;
    /// Whether there are no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads up to `buf.len()` bytes at `offset`; 0 at the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Reads exactly `buf.len()` bytes at `offset`, or fails with
    /// `UnexpectedEof` when the bytes end first.
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl ByteSource for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(<[u8]>::len(self));
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

/// Bytes in memory as a `&dyn ByteSource` (`[u8]` itself is unsized, so it
/// cannot be one).
pub struct InMemory<'a>(pub &'a [u8]);

impl ByteSource for InMemory<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.0.read_at(buf, offset)
    }
}

/// A file, with the length it had when opened (a file that grows later is
/// inspected up to that length; one that shrinks fails to read).
pub struct FileSource<'a> {
    /// The open file.
    pub file: &'a std::fs::File,
    /// Its length when opened.
    pub len: u64,
}

impl ByteSource for FileSource<'_> {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let room = self.len.saturating_sub(offset);
        let n = (buf.len() as u64).min(room) as usize;
        self.file.read_at(&mut buf[..n], offset)
    }
}

/// The format a file's bytes show it to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A bare pickle stream (`.pkl`, `.bin`, `.pt` of old, joblib's pickle).
    Pickle,
    /// A PyTorch zip checkpoint (`*/data.pkl` and its tensor entries).
    TorchZip,
    /// A numpy `.npy` array.
    Numpy,
    /// A numpy `.npz` archive of arrays.
    NumpyZip,
    /// A Keras v3 `.keras` zip (`config.json`).
    Keras,
    /// An HDF5 file (Keras `.h5`).
    Hdf5,
    /// A safetensors file.
    Safetensors,
    /// A GGUF file.
    Gguf,
    /// An ONNX model (protobuf `ModelProto`).
    Onnx,
    /// Any other zip archive.
    Zip,
    /// Bytes of no format inspected here: reported as uninspected, not failed.
    Unknown,
}

/// The kind of a problem inspection found, as named in the JSON report.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ContentProblemKind {
    /// A pickle imports something outside the allow list: loading it can run code.
    UnsafePickle,
    /// A pickle that cannot be walked to its `STOP`: malformed or truncated.
    MalformedPickle,
    /// A zip archive (torch, npz, keras) whose structure is inconsistent.
    MalformedArchive,
    /// A `.npy` header that is malformed or disagrees with the file.
    MalformedNumpy,
    /// A safetensors header or layout that is malformed or inconsistent.
    MalformedSafetensors,
    /// A GGUF file whose header, metadata or tensor layout is malformed.
    MalformedGguf,
    /// A GGUF chat template that reaches attributes, globals or filters outside the safe set.
    UnsafeGgufTemplate,
    /// An ONNX model whose structure cannot be read.
    MalformedOnnx,
    /// An ONNX external-data location that leaves the model directory.
    UnsafeOnnxExternalData,
    /// A Keras model with a `Lambda` layer (Python bytecode, run on load).
    KerasLambda,
    /// A Keras config that cannot be read.
    MalformedKeras,
}

impl ContentProblemKind {
    /// Every kind, in order.
    pub const ALL: [ContentProblemKind; 11] = [
        ContentProblemKind::UnsafePickle,
        ContentProblemKind::MalformedPickle,
        ContentProblemKind::MalformedArchive,
        ContentProblemKind::MalformedNumpy,
        ContentProblemKind::MalformedSafetensors,
        ContentProblemKind::MalformedGguf,
        ContentProblemKind::UnsafeGgufTemplate,
        ContentProblemKind::MalformedOnnx,
        ContentProblemKind::UnsafeOnnxExternalData,
        ContentProblemKind::KerasLambda,
        ContentProblemKind::MalformedKeras,
    ];

    /// The name in reports and policies (`unsafe_pickle`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ContentProblemKind::UnsafePickle => "unsafe_pickle",
            ContentProblemKind::MalformedPickle => "malformed_pickle",
            ContentProblemKind::MalformedArchive => "malformed_archive",
            ContentProblemKind::MalformedNumpy => "malformed_numpy",
            ContentProblemKind::MalformedSafetensors => "malformed_safetensors",
            ContentProblemKind::MalformedGguf => "malformed_gguf",
            ContentProblemKind::UnsafeGgufTemplate => "unsafe_gguf_template",
            ContentProblemKind::MalformedOnnx => "malformed_onnx",
            ContentProblemKind::UnsafeOnnxExternalData => "unsafe_onnx_external_data",
            ContentProblemKind::KerasLambda => "keras_lambda",
            ContentProblemKind::MalformedKeras => "malformed_keras",
        }
    }
}

/// One problem inspection found in a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContentProblem {
    /// What kind of problem.
    pub kind: ContentProblemKind,
    /// What was found, for people: names the import, offset, tensor or field.
    pub message: String,
}

/// What inspecting one file found.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Inspection {
    /// The format its bytes show; `None` only before sniffing.
    pub format: Option<Format>,
    /// Every problem found, in the order found.
    pub problems: Vec<ContentProblem>,
    /// Every import a pickle makes (`module.name`), allowed or not, sorted, deduplicated.
    pub imports: Vec<String>,
    /// Other files loading this one opens (ONNX external data), as written in the file.
    pub references: Vec<String>,
    /// Why a file of a recognised format was still not inspected, if it was not.
    #[serde(skip)]
    pub not_inspected: Option<&'static str>,
}

/// How many leading bytes [`sniff`] needs to recognise every format.
pub const SNIFF_BYTES: usize = 4096;

/// The format that the first bytes of a file (`head`, up to [`SNIFF_BYTES`])
/// show, for a file of `len` bytes, by magic numbers alone. Formats without
/// a magic number (pickle protocols 0 and 1, ONNX) are recognised by their
/// own modules, from the opcodes or fields they start with; this returns
/// [`Format::Unknown`] for them.
pub fn sniff(head: &[u8], len: u64) -> Format {
    const HDF5: &[u8] = b"\x89HDF\r\n\x1a\n";
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Format::Zip;
    }
    if head.starts_with(b"\x93NUMPY") {
        return Format::Numpy;
    }
    if head.starts_with(HDF5) {
        return Format::Hdf5;
    }
    if head.starts_with(b"GGUF") {
        return Format::Gguf;
    }
    // PROTO 2 to 5: protocols 0 and 1 have no header.
    if let [0x80, 2..=5, ..] = head {
        return Format::Pickle;
    }
    if looks_like_safetensors(head, len) {
        return Format::Safetensors;
    }
    Format::Unknown
}

/// A little-endian u64 header length that fits the file, then `{`.
fn looks_like_safetensors(head: &[u8], len: u64) -> bool {
    let Some((size, rest)) = head.split_first_chunk::<8>() else {
        return false;
    };
    let header = u64::from_le_bytes(*size);
    header >= 2 && header <= len.saturating_sub(8) && rest.first() == Some(&b'{')
}

/// Inspects the bytes of one file: recognises the format by its first bytes,
/// then runs that format's inspector. `Err` only when reading fails; what a
/// hostile file holds comes back as problems. A file of no format inspected
/// here comes back as [`Format::Unknown`], with no problem.
pub fn inspect(src: &dyn ByteSource) -> io::Result<Inspection> {
    let len = src.len();
    let mut head = vec![0u8; len.min(SNIFF_BYTES as u64) as usize];
    src.read_exact_at(&mut head, 0)?;
    let mut out = Inspection::default();
    match sniff(&head, len) {
        Format::Safetensors => return safetensors::inspect(src),
        Format::Gguf => return gguf::inspect(src),
        Format::Zip => zip::inspect_zip(src, &mut out),
        Format::Numpy => {
            out.format = Some(Format::Numpy);
            numpy::inspect_npy(src, 0, len, &mut out);
        }
        Format::Hdf5 => {
            out.format = Some(Format::Hdf5);
            if !keras::inspect_h5(src, &mut out) {
                out.not_inspected =
                    Some("an HDF5 file with no Keras model config in its first 16 MiB");
            }
        }
        Format::Pickle => {
            out.format = Some(Format::Pickle);
            pickle::inspect_pickle(src, 0, len, &mut out);
        }
        Format::Unknown if onnx::looks_like_onnx(&head) => return onnx::inspect(src),
        Format::Unknown if pickle::looks_like_pickle(&head) => {
            out.format = Some(Format::Pickle);
            pickle::inspect_pickle(src, 0, len, &mut out);
        }
        other => out.format = Some(other),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_named_as_serde_names_it() {
        for kind in ContentProblemKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
    }

    #[test]
    fn magic_numbers_name_their_formats() {
        assert_eq!(sniff(b"PK\x03\x04rest", 100), Format::Zip);
        assert_eq!(sniff(b"\x93NUMPY\x01\x00", 100), Format::Numpy);
        assert_eq!(sniff(b"\x89HDF\r\n\x1a\n", 100), Format::Hdf5);
        assert_eq!(sniff(b"GGUF\x03\x00\x00\x00", 100), Format::Gguf);
        assert_eq!(sniff(b"\x80\x04\x95", 100), Format::Pickle);
        let mut st = 2u64.to_le_bytes().to_vec();
        st.extend_from_slice(b"{}");
        assert_eq!(sniff(&st, 10), Format::Safetensors);
    }

    #[test]
    fn raw_floats_and_overlong_headers_are_unknown() {
        let floats: Vec<u8> = (0..64u32).flat_map(|i| (i as f32).to_le_bytes()).collect();
        assert_eq!(sniff(&floats, 256), Format::Unknown);
        // A safetensors-like length larger than the file.
        let mut st = 1000u64.to_le_bytes().to_vec();
        st.extend_from_slice(b"{}");
        assert_eq!(sniff(&st, 10), Format::Unknown);
        assert_eq!(sniff(b"\x80\x09", 100), Format::Unknown);
        assert_eq!(sniff(b"", 0), Format::Unknown);
    }

    #[test]
    fn reads_from_bytes_stop_at_their_end() {
        let bytes: &[u8] = b"abcdef";
        let mut buf = [0u8; 4];
        assert_eq!(bytes.read_at(&mut buf, 4).unwrap(), 2);
        assert_eq!(&buf[..2], b"ef");
        assert_eq!(bytes.read_at(&mut buf, 99).unwrap(), 0);
        let err = bytes.read_exact_at(&mut buf, 4).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
