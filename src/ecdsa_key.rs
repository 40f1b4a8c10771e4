//! ECDSA keys on the NIST curves P-256, P-384 and P-521: the keys OpenSSF
//! Model Signing bundles are signed with.
//!
//! Each curve signs with its own hash (SHA-256, SHA-384, SHA-512), as OMS and
//! `model_signing` do; signatures are DER-encoded. High-S signatures verify:
//! other implementations (OpenSSL, Python `cryptography`) make both.

use crate::digest::Sha256Digest;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use zeroize::Zeroizing;

/// A NIST curve, with the hash OMS pairs with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// P-256 with SHA-256.
    P256,
    /// P-384 with SHA-384.
    P384,
    /// P-521 with SHA-512.
    P521,
}

impl Curve {
    /// The name used on the command line and in reports: `p256`.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "p256",
            Curve::P384 => "p384",
            Curve::P521 => "p521",
        }
    }

    /// The signature algorithm, as reports name it: `ecdsa-p256-sha256`.
    pub fn algorithm(self) -> &'static str {
        match self {
            Curve::P256 => "ecdsa-p256-sha256",
            Curve::P384 => "ecdsa-p384-sha384",
            Curve::P521 => "ecdsa-p521-sha512",
        }
    }
}

/// An ECDSA public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcPublicKey {
    /// P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// P-384.
    P384(p384::ecdsa::VerifyingKey),
    /// P-521.
    P521(p521::ecdsa::VerifyingKey),
}

impl EcPublicKey {
    /// Reads a DER SubjectPublicKeyInfo of any of the three curves.
    pub fn from_spki_der(der: &[u8]) -> Option<Self> {
        if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Some(Self::P256(key));
        }
        if let Ok(key) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Some(Self::P384(key));
        }
        p521::ecdsa::VerifyingKey::from_public_key_der(der)
            .ok()
            .map(Self::P521)
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        let document = match self {
            Self::P256(k) => k.to_public_key_der(),
            Self::P384(k) => k.to_public_key_der(),
            Self::P521(k) => k.to_public_key_der(),
        };
        // Encoding a valid point cannot fail; an empty result would only
        // make the key id unmatched, never trusted.
        document.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }

    /// The SPKI PEM text (`-----BEGIN PUBLIC KEY-----`).
    pub fn to_pem(&self) -> String {
        let der = self.spki_der();
        pkcs8::der::pem::encode_string("PUBLIC KEY", pkcs8::der::pem::LineEnding::LF, &der)
            .unwrap_or_default()
    }

    /// The key id: lowercase hex SHA-256 of the DER SubjectPublicKeyInfo.
    pub fn keyid(&self) -> String {
        Sha256Digest::of(&self.spki_der()).to_hex()
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        match self {
            Self::P256(_) => Curve::P256,
            Self::P384(_) => Curve::P384,
            Self::P521(_) => Curve::P521,
        }
    }

    /// Whether `signature` (DER) is this key's signature of `message`, with
    /// the curve's hash.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::P256(k) => p256::ecdsa::DerSignature::from_bytes(signature)
                .is_ok_and(|s| k.verify(message, &s).is_ok()),
            Self::P384(k) => p384::ecdsa::DerSignature::from_bytes(signature)
                .is_ok_and(|s| k.verify(message, &s).is_ok()),
            Self::P521(k) => p521::ecdsa::DerSignature::from_bytes(signature)
                .is_ok_and(|s| k.verify(message, &s).is_ok()),
        }
    }
}

impl EcPublicKey {
    /// Whether `signature` (DER) is this key's signature of a message whose
    /// digest, by whatever hash the caller's algorithm names, is `prehash`
    /// (an X.509 signature names its hash apart from the curve).
    pub fn verifies_prehash(&self, prehash: &[u8], signature: &[u8]) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
        match self {
            Self::P256(k) => p256::ecdsa::DerSignature::from_bytes(signature)
                .is_ok_and(|s| k.verify_prehash(prehash, &s).is_ok()),
            Self::P384(k) => p384::ecdsa::DerSignature::from_bytes(signature)
                .is_ok_and(|s| k.verify_prehash(prehash, &s).is_ok()),
            Self::P521(k) => p521::ecdsa::DerSignature::from_bytes(signature)
                .is_ok_and(|s| k.verify_prehash(prehash, &s).is_ok()),
        }
    }
}

/// An ECDSA private key (zeroized on drop by the curve crates).
pub enum EcSigningKey {
    /// P-256.
    P256(p256::ecdsa::SigningKey),
    /// P-384.
    P384(p384::ecdsa::SigningKey),
    /// P-521.
    P521(p521::ecdsa::SigningKey),
}

impl EcSigningKey {
    /// A new key from the operating system's random source.
    pub fn generate(curve: Curve) -> Result<Self, String> {
        let failed = |e: getrandom::Error| e.to_string();
        Ok(match curve {
            Curve::P256 => Self::P256(p256::ecdsa::SigningKey::try_generate().map_err(failed)?),
            Curve::P384 => Self::P384(p384::ecdsa::SigningKey::try_generate().map_err(failed)?),
            Curve::P521 => Self::P521(p521::ecdsa::SigningKey::try_generate().map_err(failed)?),
        })
    }

    /// Reads an unencrypted PKCS#8 DER private key of any of the three curves.
    pub fn from_pkcs8_der(der: &[u8]) -> Option<Self> {
        if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Some(Self::P256(key));
        }
        if let Ok(key) = p384::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Some(Self::P384(key));
        }
        p521::ecdsa::SigningKey::from_pkcs8_der(der)
            .ok()
            .map(Self::P521)
    }

    /// Reads an unencrypted SEC1 PEM key (`-----BEGIN EC PRIVATE KEY-----`).
    pub fn from_sec1_pem(pem: &str) -> Option<Self> {
        if let Ok(key) = p256::SecretKey::from_sec1_pem(pem) {
            return Some(Self::P256(key.into()));
        }
        if let Ok(key) = p384::SecretKey::from_sec1_pem(pem) {
            return Some(Self::P384(key.into()));
        }
        p521::SecretKey::from_sec1_pem(pem)
            .ok()
            .map(|key| Self::P521(key.into()))
    }

    /// The unencrypted PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, String> {
        let document = match self {
            Self::P256(k) => k.to_pkcs8_der(),
            Self::P384(k) => k.to_pkcs8_der(),
            Self::P521(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| e.to_string())?;
        Ok(Zeroizing::new(document.as_bytes().to_vec()))
    }

    /// The public half.
    pub fn public_key(&self) -> EcPublicKey {
        match self {
            Self::P256(k) => EcPublicKey::P256(*k.verifying_key()),
            Self::P384(k) => EcPublicKey::P384(*k.verifying_key()),
            Self::P521(k) => EcPublicKey::P521(*k.verifying_key()),
        }
    }

    /// A DER signature of `message`, with the curve's hash (RFC 6979
    /// deterministic nonces, so no random source is needed to sign).
    pub fn sign_der(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(message);
                s.to_der().as_bytes().to_vec()
            }
            Self::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign(message);
                s.to_der().as_bytes().to_vec()
            }
            Self::P521(k) => {
                let s: p521::ecdsa::Signature = k.sign(message);
                s.to_der().as_bytes().to_vec()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_curve_signs_and_verifies_and_refuses_another_message() {
        for curve in [Curve::P256, Curve::P384, Curve::P521] {
            let key = EcSigningKey::generate(curve).unwrap();
            let public = key.public_key();
            let signature = key.sign_der(b"message");
            assert!(public.verifies(b"message", &signature), "{curve:?}");
            assert!(!public.verifies(b"messagf", &signature), "{curve:?}");
            let again = EcPublicKey::from_spki_der(&public.spki_der()).unwrap();
            assert_eq!(again, public);
            assert_eq!(again.curve(), curve);
            let der = key.to_pkcs8_der().unwrap();
            let loaded = EcSigningKey::from_pkcs8_der(&der).unwrap();
            assert_eq!(loaded.public_key(), public);
        }
    }
}
