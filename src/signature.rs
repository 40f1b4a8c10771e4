//! Signatures over the manifest: the DSSE v1 encoding, the `provenance.sig`
//! file, and checking one entry.
//!
//! The signed message is `PAE(type, manifest bytes)`, so a signature over a
//! modelseal manifest can never be replayed as a signature over anything else
//! (another DSSE payload type, or the raw bytes).

use crate::keys;
use crate::source::{self, SourceError};
use crate::timestamp::Timestamp;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The DSSE payload type of a modelseal manifest.
pub const PAYLOAD_TYPE: &str = "application/vnd.modelseal.manifest+toml";
/// The only algorithm format 1 knows.
pub const ALGORITHM: &str = "ed25519";
/// Largest `provenance.sig` accepted, in bytes.
pub const MAX_SIGNATURE_FILE_BYTES: u64 = 1 << 20;
/// Most entries accepted in one `provenance.sig`.
pub const MAX_SIGNATURES: usize = 100;

/// DSSE v1 pre-authentication encoding:
/// `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(body);
    out
}

/// The message an Ed25519 signature over `manifest` signs.
pub fn signed_message(manifest: &[u8]) -> Vec<u8> {
    pae(PAYLOAD_TYPE, manifest)
}

/// One `[[signature]]` entry. Fields are kept as written so that a malformed
/// entry is reported as `bad_signature` rather than hiding the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureEntry {
    /// Lowercase hex SHA-256 of the raw public key.
    pub keyid: String,
    /// Standard base64 of the 32-byte public key.
    pub public_key: String,
    /// Always `ed25519` in format 1.
    pub algorithm: String,
    /// Standard base64 of the 64-byte signature.
    pub signature: String,
    /// Who signed (informational, not signed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// When (informational, not signed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
}

/// Why an entry does not count as a valid signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureFault {
    /// The algorithm is not `ed25519`.
    #[error("algorithm '{0}' is not supported (format 1 knows only ed25519)")]
    UnknownAlgorithm(String),
    /// `public_key` is not base64 of 32 bytes, or not a valid curve point.
    #[error("public_key is not a base64 Ed25519 public key")]
    BadPublicKey,
    /// `keyid` is not the SHA-256 of `public_key`.
    #[error("keyid does not match its public_key")]
    KeyIdMismatch,
    /// `signature` is not base64 of 64 bytes.
    #[error("signature is not base64 of 64 bytes")]
    BadEncoding,
    /// The signature does not verify over the current manifest.
    #[error(
        "the signature does not verify over the current manifest (was it changed after signing?)"
    )]
    DoesNotVerify,
}

impl SignatureEntry {
    /// Makes a new entry: `key` signs `manifest`.
    pub fn sign(manifest: &[u8], key: &SigningKey, signer: Option<String>) -> Self {
        let verifying = key.verifying_key();
        let signature = key.sign(&signed_message(manifest));
        SignatureEntry {
            keyid: keys::keyid(&verifying),
            public_key: BASE64.encode(verifying.as_bytes()),
            algorithm: ALGORITHM.into(),
            signature: BASE64.encode(signature.to_bytes()),
            signer,
            created: Some(Timestamp::now()),
        }
    }

    /// Checks the entry over `manifest` with strict Ed25519 (no small-order
    /// keys, no non-canonical values), returning the key that signed.
    pub fn check(&self, manifest: &[u8]) -> Result<VerifyingKey, SignatureFault> {
        if self.algorithm != ALGORITHM {
            return Err(SignatureFault::UnknownAlgorithm(
                self.algorithm.chars().take(40).collect(),
            ));
        }
        let key_bytes: [u8; 32] = BASE64
            .decode(&self.public_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(SignatureFault::BadPublicKey)?;
        let key = VerifyingKey::from_bytes(&key_bytes).map_err(|_| SignatureFault::BadPublicKey)?;
        if keys::keyid(&key) != self.keyid {
            return Err(SignatureFault::KeyIdMismatch);
        }
        let sig_bytes: [u8; 64] = BASE64
            .decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(SignatureFault::BadEncoding)?;
        let signature = Signature::from_bytes(&sig_bytes);
        key.verify_strict(&signed_message(manifest), &signature)
            .map_err(|_| SignatureFault::DoesNotVerify)?;
        Ok(key)
    }

    /// A short name for people: the signer, else the key id's start.
    pub fn label(&self) -> String {
        match &self.signer {
            Some(s) => format!("{s} ({})", short_keyid(&self.keyid)),
            None => short_keyid(&self.keyid),
        }
    }
}

/// The first 16 characters of a key id, for messages.
pub fn short_keyid(keyid: &str) -> String {
    keyid.chars().take(16).collect()
}

/// The contents of `provenance.sig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    /// The entries, in the order they were added.
    #[serde(default, rename = "signature")]
    pub signatures: Vec<SignatureEntry>,
}

impl SignatureFile {
    /// Reads `path`; a missing file is an empty list of signatures.
    pub fn load(path: &Path) -> Result<SignatureFile, SourceError> {
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(SignatureFile::default());
            }
            _ => {}
        }
        let bytes = source::read_bounded(path, MAX_SIGNATURE_FILE_BYTES, false)?;
        SignatureFile::parse(path, &bytes)
    }

    /// Parses signature file bytes; `file` names them in errors.
    pub fn parse(file: &Path, bytes: &[u8]) -> Result<SignatureFile, SourceError> {
        let text = source::as_text(file, bytes)?;
        let parsed: SignatureFile = source::parse_toml(file, text)?;
        if parsed.signatures.len() > MAX_SIGNATURES {
            return Err(SourceError::at(
                file,
                text,
                0,
                format!(
                    "{} signatures is more than the {MAX_SIGNATURES} accepted",
                    parsed.signatures.len()
                ),
            ));
        }
        Ok(parsed)
    }

    /// The file as TOML text. An error here is a bug, reported rather than
    /// written as an empty signature file.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        let body = toml::to_string(self)?;
        Ok(format!(
            "# modelseal signatures over provenance.toml (see manifests/SPEC.md).\n{body}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn ed25519_matches_rfc8032_test_1() {
        // RFC 8032 section 7.1, TEST 1: empty message.
        let secret: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let key = SigningKey::from_bytes(&secret);
        assert_eq!(
            hex::encode(key.verifying_key().as_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            hex::encode(key.sign(b"").to_bytes()),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }

    #[test]
    fn entries_verify_and_every_fault_is_named() {
        let key = SigningKey::from_bytes(&[1u8; 32]);
        let entry = SignatureEntry::sign(b"manifest", &key, Some("t".into()));
        assert_eq!(entry.check(b"manifest").unwrap(), key.verifying_key());
        assert_eq!(entry.check(b"manifesT"), Err(SignatureFault::DoesNotVerify));

        let mut e = entry.clone();
        e.keyid = "00".repeat(32);
        assert_eq!(e.check(b"manifest"), Err(SignatureFault::KeyIdMismatch));
        let mut e = entry.clone();
        e.signature = BASE64.encode([0u8; 63]);
        assert_eq!(e.check(b"manifest"), Err(SignatureFault::BadEncoding));
        let mut e = entry.clone();
        e.public_key = "not base64!".into();
        assert_eq!(e.check(b"manifest"), Err(SignatureFault::BadPublicKey));
        let mut e = entry;
        e.algorithm = "rsa".into();
        assert!(matches!(
            e.check(b"manifest"),
            Err(SignatureFault::UnknownAlgorithm(_))
        ));
    }

    #[test]
    fn signature_file_round_trips() {
        let key = SigningKey::from_bytes(&[2u8; 32]);
        let file = SignatureFile {
            signatures: vec![SignatureEntry::sign(
                b"m",
                &key,
                Some("Acme \"release\"".into()),
            )],
        };
        let text = file.to_toml().unwrap();
        assert_eq!(
            SignatureFile::parse(Path::new("s"), text.as_bytes()).unwrap(),
            file
        );
    }
}
