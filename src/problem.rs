//! Problems that verification reports: every one found, never just the first.

use serde::Serialize;
use std::fmt;

/// What kind of problem was found. The names are part of the JSON contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A listed file is not in the directory.
    MissingFile,
    /// A file in the directory is neither listed nor ignored.
    UnexpectedFile,
    /// A listed file has another size than the manifest says.
    SizeMismatch,
    /// A listed file's bytes do not match its digest.
    HashMismatch,
    /// A symbolic link, which is never followed.
    Symlink,
    /// A FIFO, socket, device node or other non-regular file.
    SpecialFile,
    /// A path that breaks the path rules (see [`crate::paths::check_path`]).
    UnsafePath,
    /// Two paths that collide after Unicode NFC normalisation and case folding.
    DuplicatePath,
    /// A file whose identity, size or mtime changed while it was read.
    ChangedDuringRead,
    /// A file that could not be opened or read.
    UnreadableFile,
    /// A signature entry that does not verify over the current manifest.
    BadSignature,
    /// Fewer valid trusted signatures than the policy's threshold.
    ThresholdNotMet,
    /// A validly signed release older than the policy's pin for its name.
    Rollback,
    /// A weights file that no training run traces.
    UntracedWeights,
    /// A lineage reference that resolves to nothing.
    DanglingReference,
    /// An upstream manifest whose digest is not the one recorded.
    UpstreamMismatch,
    /// An upstream base model or dataset without a signed manifest.
    UpstreamUnsigned,
}

impl ProblemKind {
    /// Every kind, in the order reports sort them.
    pub const ALL: [ProblemKind; 17] = [
        Self::MissingFile,
        Self::UnexpectedFile,
        Self::SizeMismatch,
        Self::HashMismatch,
        Self::Symlink,
        Self::SpecialFile,
        Self::UnsafePath,
        Self::DuplicatePath,
        Self::ChangedDuringRead,
        Self::UnreadableFile,
        Self::BadSignature,
        Self::ThresholdNotMet,
        Self::Rollback,
        Self::UntracedWeights,
        Self::DanglingReference,
        Self::UpstreamMismatch,
        Self::UpstreamUnsigned,
    ];

    /// The kind with this contract name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The contract name, as it appears in JSON (`hash_mismatch`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingFile => "missing_file",
            Self::UnexpectedFile => "unexpected_file",
            Self::SizeMismatch => "size_mismatch",
            Self::HashMismatch => "hash_mismatch",
            Self::Symlink => "symlink",
            Self::SpecialFile => "special_file",
            Self::UnsafePath => "unsafe_path",
            Self::DuplicatePath => "duplicate_path",
            Self::ChangedDuringRead => "changed_during_read",
            Self::UnreadableFile => "unreadable_file",
            Self::BadSignature => "bad_signature",
            Self::ThresholdNotMet => "threshold_not_met",
            Self::Rollback => "rollback",
            Self::UntracedWeights => "untraced_weights",
            Self::DanglingReference => "dangling_reference",
            Self::UpstreamMismatch => "upstream_mismatch",
            Self::UpstreamUnsigned => "upstream_unsigned",
        }
    }

    /// The lowest level that this problem breaks.
    pub fn level(self) -> u8 {
        match self {
            Self::BadSignature | Self::ThresholdNotMet | Self::Rollback => 1,
            Self::UntracedWeights | Self::DanglingReference => 2,
            Self::UpstreamMismatch | Self::UpstreamUnsigned => 3,
            _ => 0,
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem: its kind, the path it concerns, and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The problem kind.
    pub kind: ProblemKind,
    /// The path inside the model directory (or `provenance.sig` for signature problems).
    pub path: String,
    /// What was found, and where it helps, what to do.
    pub message: String,
    /// For a `hash_mismatch` of a sharded file: which shards differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<ShardMismatch>,
}

/// The shards of one file that differ from the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ShardMismatch {
    /// The shard numbers that differ, from 0, ascending.
    pub bad: Vec<u64>,
    /// How many shards the file has.
    pub count: u64,
    /// The shard size in bytes.
    pub shard_size: u64,
}

impl Problem {
    /// A problem of `kind` about `path`.
    pub fn new(kind: ProblemKind, path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            kind,
            path: path.into(),
            message: message.into(),
            shards: None,
        }
    }
}
