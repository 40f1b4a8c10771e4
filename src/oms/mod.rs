//! OpenSSF Model Signing (OMS) v1.0: the signatures `model_signing` writes
//! (a Sigstore bundle holding a DSSE envelope over an in-toto statement that
//! lists every file's SHA-256), read into the same [`crate::verify::Report`]
//! as our own manifests.
//!
//! The bundle, its statement and every name in it are the attacker's: the
//! signature is checked before any file is read, names go through the same
//! path rules as a manifest's, and links are never followed.

pub mod bundle;
#[cfg(feature = "sigstore")]
pub mod sigstore;
pub mod statement;
pub mod verify;
pub mod write;

use ignore::gitignore::{Gitignore, GitignoreBuilder};

pub use crate::BUNDLE_FILE;

/// Paths model_signing ignores unless told otherwise: git's own files.
pub const DEFAULT_IGNORED: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

/// A matcher for OMS ignore paths: each is a literal path, matching itself
/// and everything under it (model_signing's `is_relative_to`). A path that
/// breaks the path rules (`..`, absolute, `.`) is not honoured: ignoring
/// `.` would ignore the whole model. With `everything`, all names match.
pub fn literal_matcher(
    paths: &[&str],
    everything: bool,
) -> Result<Gitignore, crate::walk::WalkError> {
    let bad = |pattern: &str, e: ignore::Error| crate::walk::WalkError::BadIgnorePattern {
        pattern: pattern.to_string(),
        reason: e.to_string(),
    };
    let mut builder = GitignoreBuilder::new(".");
    for path in paths {
        let path = path.trim_end_matches('/');
        if crate::paths::check_path(path).is_err() {
            continue;
        }
        let pattern = format!("/{}", escape_glob(path));
        builder
            .add_line(None, &pattern)
            .map_err(|e| bad(&pattern, e))?;
    }
    if everything {
        builder.add_line(None, "*").map_err(|e| bad("*", e))?;
    }
    builder.build().map_err(|e| bad(&paths.join(", "), e))
}

/// A literal path as a gitignore pattern: glob characters escaped.
fn escape_glob(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, c) in path.chars().enumerate() {
        let leading = i == 0 && (c == '!' || c == '#');
        // `{a,b}` is an alternation to the glob engine: escaped, or the
        // ignore path `{a.py,notes}` would hide `a.py`.
        if leading || matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    if out.ends_with(' ') {
        out.pop();
        out.push_str("\\ ");
    }
    out
}

/// Errors that stop verification against a bundle before a report can be
/// made (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum OmsVerifyError {
    /// The bundle is malformed.
    #[error(transparent)]
    Bundle(#[from] OmsError),
    /// The bundle is unreadable.
    #[error(transparent)]
    Read(crate::source::SourceError),
    /// The model cannot be walked.
    #[error(transparent)]
    Walk(#[from] crate::walk::WalkError),
    /// Level 1 was asked for without a policy.
    #[error(
        "level 1 needs a trust policy: pass --key PUBLIC.pem, --ca CA.pem or --trust trust.toml (or --level 0 to check only the bytes)"
    )]
    NoPolicy,
    /// Levels 2 and 3 were asked of a bundle, which records no lineage.
    #[error(
        "level {0} needs lineage, which an OMS bundle does not record; verify an OMS bundle at level 0 or 1 (or sign the model with a provenance.toml for levels 2 and 3)"
    )]
    Level(u8),
    /// The copy for `--copy-to` could not be written.
    #[error(transparent)]
    Copy(#[from] crate::staging::CopyError),
    /// The run was cancelled (Ctrl-C) before it finished: no verdict.
    #[error("cancelled before verification finished: no verdict was reached")]
    Cancelled,
}

/// Errors in an OMS bundle that stop verification (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum OmsError {
    /// The bundle is not a Sigstore bundle OMS writes.
    #[error("the bundle {what}")]
    Bundle {
        /// What is wrong.
        what: String,
    },
    /// The signed statement is not an OMS v1.0 statement.
    #[error("the bundle's signed statement {what}")]
    Statement {
        /// What is wrong.
        what: String,
    },
}
