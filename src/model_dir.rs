//! The model directory: its root, and where each of its paths is read from.
//!
//! One place decides how a model path is opened: the path rules first, then,
//! in a Hugging Face Hub cache snapshot, the blob a link names. The walk, the
//! manifest, the signatures, upstream manifests and the model card all read
//! through it, so a snapshot verifies the same way at every level.

use crate::paths::{UnsafePathReason, check_path};
use std::path::{Path, PathBuf};

/// A Hugging Face Hub cache snapshot, `…/models--ORG--NAME/snapshots/REV/`
/// (or `datasets--`, `spaces--`), whose files are links into the
/// repository's `blobs/`. Such a link is read as the blob it names; any other
/// link stays a `symlink` problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubSnapshot {
    /// The repository's `blobs/` directory, canonical.
    pub blobs: PathBuf,
}

impl HubSnapshot {
    /// The snapshot `root` is in, if it is at or below `REPO/snapshots/REV/`.
    pub fn detect(root: &Path) -> Option<HubSnapshot> {
        let canonical = std::fs::canonicalize(root).ok()?;
        let mut dir = canonical.as_path();
        loop {
            let parent = dir.parent()?;
            if parent.file_name()? == "snapshots" {
                let repo = parent.parent()?;
                let name = repo.file_name()?.to_str()?;
                if ["models--", "datasets--", "spaces--"]
                    .iter()
                    .any(|p| name.starts_with(p))
                {
                    let blobs = std::fs::canonicalize(repo.join("blobs")).ok()?;
                    return Some(HubSnapshot { blobs });
                }
                return None;
            }
            dir = parent;
        }
    }

    /// The blob a link resolves to, with its metadata, when the link resolves
    /// (through any number of links) to a regular file directly in `blobs/`.
    pub fn resolve(&self, link: &Path) -> Option<(PathBuf, std::fs::Metadata)> {
        let target = std::fs::canonicalize(link).ok()?;
        if target.parent()? != self.blobs {
            return None;
        }
        let meta = std::fs::symlink_metadata(&target).ok()?;
        meta.is_file().then_some((target, meta))
    }
}

/// A model directory: its root as given, and the Hub snapshot it is in, if any.
#[derive(Debug, Clone)]
pub struct ModelDir {
    root: PathBuf,
    hub: Option<HubSnapshot>,
}

impl ModelDir {
    /// The model directory at `root`, with its Hub snapshot layout detected.
    pub fn new(root: &Path) -> Self {
        ModelDir {
            root: root.to_path_buf(),
            hub: HubSnapshot::detect(root),
        }
    }

    /// The root, as given.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The Hub snapshot the directory is in, if any.
    pub fn hub(&self) -> Option<&HubSnapshot> {
        self.hub.as_ref()
    }

    /// Where to read the model path `rel` from: refused when it breaks the
    /// path rules; in a Hub snapshot, the blob its link names; else the file
    /// itself (which readers open without following a link).
    pub fn path_to_read(&self, rel: &str) -> Result<PathBuf, UnsafePathReason> {
        check_path(rel)?;
        Ok(self.resolve(self.root.join(rel)))
    }

    /// Where to read `provenance.toml` from.
    pub fn manifest_path(&self) -> PathBuf {
        self.resolve(self.root.join(crate::MANIFEST_FILE))
    }

    /// Where to read `provenance.sig` from.
    pub fn signatures_path(&self) -> PathBuf {
        self.resolve(self.root.join(crate::SIGNATURE_FILE))
    }

    /// Where to read the large form's listing, `provenance.files`, from.
    pub fn listing_path(&self) -> PathBuf {
        self.resolve(self.root.join(crate::LISTING_FILE))
    }

    /// A link that resolves into the snapshot's blobs is read as the blob.
    fn resolve(&self, path: PathBuf) -> PathBuf {
        let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        if is_link && let Some((blob, _)) = self.hub.as_ref().and_then(|h| h.resolve(&path)) {
            return blob;
        }
        path
    }
}
