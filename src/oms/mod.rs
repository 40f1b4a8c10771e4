//! OpenSSF Model Signing (OMS) v1.0: the signatures `model_signing` writes
//! (a Sigstore bundle holding a DSSE envelope over an in-toto statement that
//! lists every file's SHA-256), read into the same [`crate::verify::Report`]
//! as our own manifests.
//!
//! The bundle, its statement and every name in it are the attacker's: the
//! signature is checked before any file is read, names go through the same
//! path rules as a manifest's, and links are never followed.

pub mod bundle;
pub mod statement;
pub mod verify;

/// The conventional name of an OMS bundle inside a model directory.
pub const BUNDLE_FILE: &str = "model.sig";

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
