//! Opening a file that may change under the reader: its identity as `stat`
//! sees it, and an open that never follows a link or blocks on a FIFO.

use std::fs::{File, Metadata};
use std::path::Path;

/// A file's identity as `stat` reports it. Two equal stamps taken before and
/// after a read mean the bytes read are the file's bytes at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Status-change time, nanoseconds since the epoch; no user can set it back.
    pub ctime_ns: i128,
}

impl FileStamp {
    /// The stamp of `meta`.
    #[cfg(unix)]
    pub fn from_metadata(meta: &Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        }
    }

    /// The stamp of `meta`.
    #[cfg(not(unix))]
    pub fn from_metadata(meta: &Metadata) -> Self {
        let nanos = |t: std::io::Result<std::time::SystemTime>| {
            t.ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128)
        };
        FileStamp {
            dev: 0,
            ino: 0,
            size: meta.len(),
            mtime_ns: nanos(meta.modified()),
            ctime_ns: 0,
        }
    }
}

/// Why a file could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadFault {
    /// The file's identity, size or times changed, or it stopped being a regular file.
    #[error("changed while it was read: {0}")]
    Changed(String),
    /// The file could not be opened or read.
    #[error("cannot be read: {0}")]
    Unreadable(String),
}

/// Opens `path` for reading without following a final symlink and without
/// blocking: a FIFO swapped in after the walk would otherwise hang `open(2)`.
pub fn open_no_follow(path: &Path) -> Result<File, ReadFault> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    }
    options.open(path).map_err(|err| {
        #[cfg(unix)]
        if err.raw_os_error() == Some(libc::ELOOP) {
            return ReadFault::Changed("it became a symbolic link".into());
        }
        ReadFault::Unreadable(err.to_string())
    })
}

/// The stamp of an open file, which must be a regular file.
pub fn stamp_of_open(file: &File) -> Result<FileStamp, ReadFault> {
    let meta = file
        .metadata()
        .map_err(|e| ReadFault::Unreadable(e.to_string()))?;
    if !meta.is_file() {
        return Err(ReadFault::Changed("it is no longer a regular file".into()));
    }
    Ok(FileStamp::from_metadata(&meta))
}
