//! modelseal: signed provenance manifests for machine-learning models.
//!
//! A manifest (`provenance.toml`) records the SHA-256 of every file of a model
//! directory and the lineage behind its weights; Ed25519 signatures in
//! `provenance.sig` cover the manifest's exact bytes. [`verify::verify`] walks a
//! directory and reports, in one pass, whether the bytes are the signed ones, who
//! signed them, and how far the lineage can be traced.
//!
//! The library never prints: every operation returns a value (a report, a list of
//! changes) that the binary renders.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod anchor;
pub mod atomic;
pub mod audit;
pub mod cache;
pub mod card;
pub mod check;
pub mod digest;
pub mod ecdsa_key;
pub mod escape;
pub mod export;
mod file_tables;
pub mod gate;
pub mod hashing;
pub mod inspect;
pub mod intact;
pub mod keys;
pub mod lfs;
pub mod lineage;
pub mod listing;
pub mod manifest;
pub mod merge;
pub mod model_dir;
pub mod oms;
pub mod partition;
pub mod paths;
pub mod problem;
pub mod record;
pub mod release;
pub mod report;
pub mod scan;
pub mod seal;
pub mod signature;
pub mod source;
pub mod staging;
pub mod stamp;
pub mod stream;
pub mod svg;
pub mod timestamp;
pub mod trace;
pub mod trust;
pub mod verify;
pub mod walk;
pub mod writeback;
pub mod x509;

/// File name of the manifest inside a model directory.
pub const MANIFEST_FILE: &str = "provenance.toml";
/// File name of the large form's listing of files, pinned by the manifest.
pub const LISTING_FILE: &str = "provenance.files";
/// File name of the signatures over the manifest.
pub const SIGNATURE_FILE: &str = "provenance.sig";
/// File name of an OpenSSF Model Signing bundle beside the model's files.
/// A manifest never needs to list it (it is verified on its own), as an OMS
/// bundle that modelseal writes never signs our two files.
pub const BUNDLE_FILE: &str = "model.sig";
