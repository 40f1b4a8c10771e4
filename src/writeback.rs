//! Background writeback for `verify --copy-to`: the copy's data is synced to
//! disk while hashing goes on, so that publishing waits only for the tail.
//!
//! Copy writers hand a duplicate of their file to one syncing thread every
//! [`SYNC_STEP`] bytes and when a large file is done; the thread calls
//! `fdatasync` on it. The queue is bounded, so a disk slower than hashing
//! slows the writers instead of holding open files without limit. Small
//! files are left to the one `syncfs` before publishing: a `fdatasync` each
//! would be a journal commit per file.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Bytes a writer writes between two syncs it asks for.
pub const SYNC_STEP: u64 = 64 << 20;
/// Files queued for syncing at most; a writer waits beyond that.
const QUEUE: usize = 16;

/// A file to sync, and its path for the error.
type Job = (File, PathBuf);
/// The first sync that failed.
type Failure = Option<(PathBuf, io::Error)>;

/// The syncing thread and the queue to it.
#[derive(Debug)]
pub struct Writeback {
    queue: Mutex<Option<SyncSender<Job>>>,
    thread: Mutex<Option<JoinHandle<Failure>>>,
}

impl Writeback {
    /// Starts the syncing thread.
    pub fn start() -> io::Result<Writeback> {
        let (sender, receiver) = sync_channel::<Job>(QUEUE);
        let thread = std::thread::Builder::new()
            .name("modelseal-writeback".into())
            .spawn(move || sync_all(receiver))?;
        Ok(Writeback {
            queue: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Asks for `file`'s data to be synced. A file that cannot be
    /// duplicated is left to the final `syncfs`.
    pub fn sync_later(&self, file: &File, path: &std::path::Path) {
        let Ok(copy) = file.try_clone() else { return };
        // Cloned out of the lock so that a full queue blocks only this writer.
        let sender = self.queue.lock().ok().and_then(|q| q.clone());
        if let Some(sender) = sender {
            let _ = sender.send((copy, path.to_path_buf()));
        }
    }

    /// Waits for every sync asked for; the first that failed, if any.
    pub fn finish(&self) -> Result<(), (PathBuf, io::Error)> {
        if let Ok(mut queue) = self.queue.lock() {
            queue.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        match thread.map(JoinHandle::join) {
            Some(Ok(Some(failure))) => Err(failure),
            Some(Err(_)) => Err((
                PathBuf::new(),
                io::Error::other("the writeback thread panicked"),
            )),
            _ => Ok(()),
        }
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

fn sync_all(receiver: Receiver<Job>) -> Failure {
    let mut failure = None;
    for (file, path) in receiver {
        if failure.is_none()
            && let Err(e) = file.sync_data()
        {
            failure = Some((path, e));
        }
    }
    failure
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sync_asked_for_is_done_before_finish_returns() {
        let dir = tempfile::tempdir().unwrap();
        let writeback = Writeback::start().unwrap();
        for i in 0..40 {
            let path = dir.path().join(format!("f{i}"));
            let file = File::create(&path).unwrap();
            std::io::Write::write_all(&mut &file, b"data").unwrap();
            writeback.sync_later(&file, &path);
        }
        assert!(writeback.finish().is_ok());
        // Finishing twice, or dropping after, is harmless.
        assert!(writeback.finish().is_ok());
    }

    #[test]
    fn a_sync_after_finish_is_ignored_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let writeback = Writeback::start().unwrap();
        writeback.finish().unwrap();
        let path = dir.path().join("late");
        let file = File::create(&path).unwrap();
        writeback.sync_later(&file, &path);
    }
}
