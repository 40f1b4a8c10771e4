//! The stat cache for `check`: (device, inode, size, mtime, ctime, shard
//! size) → digests, kept outside the model directory, so a pre-commit hook
//! re-checks an unchanged multi-GiB model in milliseconds.
//!
//! `verify` never uses it. A cache answers "has this file changed since I
//! last hashed it?", which is the hook's question; a deployment gate's question
//! is "are these the signed bytes?", and only reading the bytes answers that.
//! Anyone who can write to the cache directory can make `check` pass on a
//! changed file; nobody can make `verify` pass that way.

use crate::digest::Sha256Digest;
use crate::hashing::{FileDigests, HashRequest};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Largest cache file read, in bytes; a larger one is ignored.
const MAX_CACHE_BYTES: u64 = 256 << 20;
const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Cached {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    shard_size: u64,
    sha256: Option<Sha256Digest>,
    #[serde(default)]
    shards: Vec<Sha256Digest>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    dir: String,
    entries: HashMap<String, Cached>,
}

/// Digests of one model directory's files, keyed by path and file identity.
#[derive(Debug)]
pub struct DigestCache {
    path: PathBuf,
    file: CacheFile,
    hits: u64,
    dirty: bool,
}

impl DigestCache {
    /// Where caches live: `$MODELSEAL_CACHE_DIR`, else `$XDG_CACHE_HOME/modelseal`,
    /// else `$HOME/.cache/modelseal`.
    pub fn default_dir() -> Option<PathBuf> {
        // An empty variable counts as unset, as the XDG spec says.
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(dir) = var("MODELSEAL_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        if let Some(dir) = var("XDG_CACHE_HOME") {
            return Some(PathBuf::from(dir).join("modelseal"));
        }
        var("HOME").map(|h| PathBuf::from(h).join(".cache/modelseal"))
    }

    /// The cache for `model_dir` under `cache_dir`; empty when there is none
    /// or it cannot be read (a cache is never a reason to fail).
    pub fn open(cache_dir: &Path, model_dir: &Path) -> DigestCache {
        let canonical =
            std::fs::canonicalize(model_dir).unwrap_or_else(|_| model_dir.to_path_buf());
        let key = canonical.to_string_lossy().into_owned();
        let name = format!(
            "stat-v{VERSION}-{}.json",
            &Sha256Digest::of(key.as_bytes()).to_hex()[..32]
        );
        let path = cache_dir.join(name);
        let file = crate::source::read_bounded(&path, MAX_CACHE_BYTES, false)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|f| f.version == VERSION && f.dir == key)
            .unwrap_or(CacheFile {
                version: VERSION,
                dir: key,
                entries: HashMap::new(),
            });
        DigestCache {
            path,
            file,
            hits: 0,
            dirty: false,
        }
    }

    /// The cached digests for `request`, when the file is provably the one hashed.
    pub fn lookup(&mut self, request: &HashRequest) -> Option<FileDigests> {
        let c = self.file.entries.get(&request.path)?;
        let s = &request.stamp;
        let same = c.dev == s.dev
            && c.ino == s.ino
            && c.size == s.size
            && c.mtime_ns == s.mtime_ns
            && c.ctime_ns == s.ctime_ns
            && c.shard_size == request.shard_size;
        let usable = match request.want {
            crate::hashing::Want::Whole => c.sha256.is_some(),
            crate::hashing::Want::Shards => !c.shards.is_empty(),
            crate::hashing::Want::WholeAndShards => c.sha256.is_some(),
        };
        if !(same && usable) {
            return None;
        }
        self.hits += 1;
        Some(FileDigests {
            whole: c.sha256,
            shards: c.shards.clone(),
        })
    }

    /// Remembers what was just hashed. A file changed within the last two
    /// seconds is not remembered: on file systems with coarse timestamps, a
    /// second write in the same tick would leave its stamp unchanged (git's
    /// "racy" entries).
    pub fn record(&mut self, request: &HashRequest, digests: &FileDigests) {
        let s = &request.stamp;
        let now_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        if now_ns - s.mtime_ns.max(s.ctime_ns) < 2_000_000_000 {
            return;
        }
        self.file.entries.insert(
            request.path.clone(),
            Cached {
                dev: s.dev,
                ino: s.ino,
                size: s.size,
                mtime_ns: s.mtime_ns,
                ctime_ns: s.ctime_ns,
                shard_size: request.shard_size,
                sha256: digests.whole,
                shards: digests.shards.clone(),
            },
        );
        self.dirty = true;
    }

    /// How many lookups hit.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Writes the cache back, atomically, if anything changed.
    pub fn save(&self) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let bytes = serde_json::to_vec(&self.file).map_err(std::io::Error::other)?;
        crate::atomic::replace_file(&self.path, &bytes)
    }
}
