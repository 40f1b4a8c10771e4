//! Trust anchors for the OMS signers that are not a bare key: certificate
//! authorities (the certificate method) and Sigstore identities (keyless).
//!
//! A trust policy lists them beside its keys; each counts as one signer
//! toward the threshold, and expires or is revoked like a key.

use crate::digest::Sha256Digest;
use crate::source;
use crate::timestamp::Timestamp;
use std::path::Path;

/// The root certificates in a PEM file.
pub fn read_pem_certificates(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let bytes =
        source::read_bounded(path, MAX_ANCHOR_FILE_BYTES, true).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: not PEM text", path.display()))?;
    crate::x509::pem_certificates(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A signer the policy trusts through a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustAnchor {
    /// Its name in the policy.
    pub name: String,
    /// A stable id, as reports show it in place of a key id:
    /// `ca:<sha256 of the root certificates>` or `sigstore:<sha256 of the
    /// identity, issuer and trusted root>`.
    pub id: String,
    /// From this instant on, its signatures do not count.
    pub expires: Option<Timestamp>,
    /// A revoked anchor's signatures never count.
    pub revoked: bool,
    /// What it trusts.
    pub kind: AnchorKind,
}

/// What an anchor trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorKind {
    /// Leaf certificates that chain to one of `roots` (DER), whose subject
    /// or a SAN equals `identity` when one is given.
    CertificateAuthority {
        /// The root certificates, DER.
        roots: Vec<Vec<u8>>,
        /// The signer's subject or SAN, when pinned.
        identity: Option<String>,
    },
    /// Sigstore keyless signatures by `identity`, as issued by `issuer`, in
    /// the instance `trusted_root` (a `trusted_root.json`) describes.
    Sigstore {
        /// The `trusted_root.json` bytes.
        trusted_root: Vec<u8>,
        /// The certificate's SAN (an email address or a URI).
        identity: String,
        /// The OIDC issuer.
        issuer: String,
    },
}

/// Largest CA file or `trusted_root.json` accepted, in bytes.
pub const MAX_ANCHOR_FILE_BYTES: u64 = 4 << 20;

impl TrustAnchor {
    /// A certificate authority anchor from a PEM file (`--ca`), named by its path.
    pub fn from_ca_file(path: &Path, identity: Option<String>) -> Result<TrustAnchor, String> {
        let roots = read_pem_certificates(path)?;
        Ok(TrustAnchor::certificate_authority(
            path.display().to_string(),
            roots,
            identity,
        ))
    }

    /// A Sigstore anchor from a `trusted_root.json` file (`--sigstore-root`),
    /// named by its identity.
    pub fn from_sigstore_file(
        path: &Path,
        identity: String,
        issuer: String,
    ) -> Result<TrustAnchor, String> {
        if identity.is_empty() || issuer.is_empty() {
            return Err("a Sigstore identity needs both an identity and an issuer".into());
        }
        let trusted_root =
            source::read_bounded(path, MAX_ANCHOR_FILE_BYTES, true).map_err(|e| e.to_string())?;
        let name = format!("{identity} ({issuer})");
        Ok(TrustAnchor::sigstore(name, trusted_root, identity, issuer))
    }

    /// A certificate authority anchor.
    pub fn certificate_authority(
        name: String,
        roots: Vec<Vec<u8>>,
        identity: Option<String>,
    ) -> TrustAnchor {
        let mut material = Vec::new();
        for root in &roots {
            material.extend_from_slice(&Sha256Digest::of(root).0);
        }
        if let Some(identity) = &identity {
            material.extend_from_slice(identity.as_bytes());
        }
        TrustAnchor {
            name,
            id: format!("ca:{}", Sha256Digest::of(&material).to_hex()),
            expires: None,
            revoked: false,
            kind: AnchorKind::CertificateAuthority { roots, identity },
        }
    }

    /// A Sigstore identity anchor.
    pub fn sigstore(
        name: String,
        trusted_root: Vec<u8>,
        identity: String,
        issuer: String,
    ) -> TrustAnchor {
        let mut material = Sha256Digest::of(&trusted_root).0.to_vec();
        for part in [&identity, &issuer] {
            material.extend_from_slice(&(part.len() as u64).to_be_bytes());
            material.extend_from_slice(part.as_bytes());
        }
        TrustAnchor {
            name,
            id: format!("sigstore:{}", Sha256Digest::of(&material).to_hex()),
            expires: None,
            revoked: false,
            kind: AnchorKind::Sigstore {
                trusted_root,
                identity,
                issuer,
            },
        }
    }
}
