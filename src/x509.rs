//! Offline X.509 chain verification for the OMS "certificate" method.
//!
//! An OMS certificate bundle carries the signer's certificate (the leaf) and
//! usually the intermediate CAs in `verificationMaterial.x509CertificateChain`.
//! The attacker writes the bundle; the user gives the trusted roots. This
//! module builds a path leaf -> intermediates -> root, checks every
//! certificate on it at the verification time, and hands back the leaf's
//! public key so the caller can check the DSSE signature with it.
//!
//! What it checks, and why:
//! - every certificate on the path (leaf, intermediates and the user's root)
//!   is valid at the verification time (a stolen key of an expired
//!   certificate must not sign new models);
//! - every issuer is a CA: basicConstraints cA=TRUE, keyUsage keyCertSign when
//!   keyUsage is present, pathLenConstraint honoured (an end-entity key must
//!   not mint certificates);
//! - the leaf may sign: keyUsage digitalSignature and extendedKeyUsage
//!   codeSigning (or anyExtendedKeyUsage) when those extensions are present;
//! - a root that claims to be self-signed must verify its own signature (a
//!   corrupted or edited root file is refused, not trusted as is);
//! - unknown critical extensions and duplicate extensions are refused;
//! - signatures are ECDSA P-256/P-384/P-521 or RSA PKCS#1 v1.5 (>= 2048 bits)
//!   with SHA-256/384/512; SHA-1 and MD5 are refused.
//!
//! A leaf that is byte-for-byte one of the user's roots is trusted directly
//! (a pinned, usually self-signed, signing certificate); it still has to meet
//! the leaf rules and be valid at the verification time.
//!
//! It does not check revocation (no CRL or OCSP: it works offline), name
//! constraints or certificate policies (a certificate that marks those
//! critical is refused).

use crate::ecdsa_key::{Curve, EcPublicKey};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::{Decode, Encode, Reader, SliceReader};
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::Verifier;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName,
    SubjectKeyIdentifier,
};

/// The largest DER certificate accepted; real ones are 1 to 3 KiB.
pub const MAX_CERTIFICATE_BYTES: usize = 32 * 1024;
/// The most intermediate certificates a bundle may carry.
pub const MAX_INTERMEDIATES: usize = 15;
/// The most trusted roots a user may give (a system bundle holds about 150).
pub const MAX_ROOTS: usize = 1024;
/// The most certificates on one path, leaf and root included.
pub const MAX_PATH_LEN: usize = 8;
/// The most candidate issuers tried while building a path.
pub const MAX_ISSUER_CHECKS: usize = 64;
/// The largest PEM text [`pem_certificates`] reads.
pub const MAX_PEM_BYTES: usize = 8 * 1024 * 1024;
/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: u32 = 2048;

const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const PEM_END: &str = "-----END CERTIFICATE-----";

/// Extensions this module understands, so it may accept them when critical.
/// Key identifiers only help path building; they never widen what is trusted.
const UNDERSTOOD_EXTENSIONS: [ObjectIdentifier; 6] = [
    rfc5912::ID_CE_BASIC_CONSTRAINTS,
    rfc5912::ID_CE_KEY_USAGE,
    rfc5912::ID_CE_EXT_KEY_USAGE,
    rfc5912::ID_CE_SUBJECT_ALT_NAME,
    rfc5912::ID_CE_SUBJECT_KEY_IDENTIFIER,
    rfc5912::ID_CE_AUTHORITY_KEY_IDENTIFIER,
];

/// Signature algorithms refused by name: collisions can be bought for these.
const WEAK_ALGORITHMS: [(ObjectIdentifier, &str); 6] = [
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.2"),
        "md2WithRSAEncryption",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.4"),
        "md5WithRSAEncryption",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5"),
        "sha1WithRSAEncryption",
    ),
    (
        ObjectIdentifier::new_unwrap("1.3.14.3.2.29"),
        "sha1WithRSASignature",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.10045.4.1"),
        "ecdsa-with-SHA1",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.10040.4.3"),
        "dsa-with-sha1",
    ),
];

/// Why a certificate, a chain or a signature was refused.
///
/// `what` fields name the certificate, e.g. `certificate "CN=root-ca"`.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// The text holds no readable `BEGIN CERTIFICATE` block.
    #[error(
        "no PEM certificate could be read: {reason}; give a file of one or more '-----BEGIN CERTIFICATE-----' blocks"
    )]
    Pem {
        /// What went wrong.
        reason: String,
    },
    /// The bytes are not a DER X.509 certificate.
    #[error(
        "{what} is not a valid DER X.509 certificate ({reason}); the bundle or file is corrupt or holds something else"
    )]
    Malformed {
        /// Which certificate, by position.
        what: String,
        /// The parser's complaint.
        reason: String,
    },
    /// An input is larger than this module accepts.
    #[error("{what} is {size} bytes, more than the {max} accepted; refusing oversized input")]
    TooLarge {
        /// Which input.
        what: String,
        /// Its size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// More certificates than this module accepts.
    #[error("{count} {what} given, more than the {max} accepted; refusing the input")]
    TooMany {
        /// Which list.
        what: &'static str,
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The policy names no trusted root.
    #[error(
        "no trusted root certificate given; pass the CA certificate that issued the signing chain"
    )]
    NoRoots,
    /// A certificate on the path is not valid yet at the verification time.
    #[error(
        "{what} is not valid before {not_before} (verification time {at}); check the clock, or verify at a time inside its validity"
    )]
    NotYetValid {
        /// Which certificate.
        what: String,
        /// Its notBefore, RFC 3339.
        not_before: String,
        /// The verification time, RFC 3339.
        at: String,
    },
    /// A certificate on the path has expired at the verification time.
    #[error(
        "{what} expired at {not_after} (verification time {at}); have the model re-signed with a valid certificate, or verify at a time inside its validity"
    )]
    Expired {
        /// Which certificate.
        what: String,
        /// Its notAfter, RFC 3339.
        not_after: String,
        /// The verification time, RFC 3339.
        at: String,
    },
    /// A certificate has a critical extension this module does not process.
    #[error(
        "{what} has the critical extension {oid}, which this verifier does not understand; RFC 5280 requires refusing it"
    )]
    UnknownCriticalExtension {
        /// Which certificate.
        what: String,
        /// The extension's OID.
        oid: String,
    },
    /// A certificate carries the same extension twice.
    #[error(
        "{what} carries the extension {oid} more than once; refusing the ambiguous certificate"
    )]
    DuplicateExtension {
        /// Which certificate.
        what: String,
        /// The extension's OID.
        oid: String,
    },
    /// A known extension cannot be decoded.
    #[error("{what} has a malformed {extension} extension ({reason}); the certificate is corrupt")]
    BadExtension {
        /// Which certificate.
        what: String,
        /// The extension's name.
        extension: &'static str,
        /// The parser's complaint.
        reason: String,
    },
    /// The signed and unsigned copies of the signature algorithm differ.
    #[error(
        "{what} names one signature algorithm in its signed part and another outside it; the certificate is malformed"
    )]
    AlgorithmMismatch {
        /// Which certificate.
        what: String,
    },
    /// An issuer is not marked as a CA.
    #[error(
        "{what} issued {child} but is not a CA (basicConstraints cA is not TRUE); only a CA may issue certificates"
    )]
    NotCa {
        /// The issuer.
        what: String,
        /// The certificate it signed.
        child: String,
    },
    /// An issuer's keyUsage does not allow signing certificates.
    #[error(
        "{what} issued {child} but its keyUsage lacks keyCertSign; its key may not sign certificates"
    )]
    NoCertSign {
        /// The issuer.
        what: String,
        /// The certificate it signed.
        child: String,
    },
    /// An issuer's pathLenConstraint is shorter than the chain below it.
    #[error(
        "{what} allows {limit} intermediate CA(s) below it (pathLenConstraint), but the chain puts {found} there"
    )]
    PathLenExceeded {
        /// The issuer.
        what: String,
        /// Its pathLenConstraint.
        limit: u8,
        /// The intermediates below it on this path.
        found: usize,
    },
    /// The leaf's keyUsage does not allow signatures.
    #[error("{what}: its keyUsage lacks digitalSignature, so its key may not sign models")]
    LeafKeyUsage {
        /// The leaf.
        what: String,
    },
    /// The leaf's extendedKeyUsage does not allow code signing.
    #[error(
        "{what}: its extendedKeyUsage lacks codeSigning (1.3.6.1.5.5.7.3.3); it was not issued for signing code or models"
    )]
    LeafExtendedKeyUsage {
        /// The leaf.
        what: String,
    },
    /// A signature uses SHA-1, MD5 or MD2.
    #[error(
        "{what} uses the weak signature algorithm {name}; re-issue it with SHA-256 or stronger"
    )]
    WeakAlgorithm {
        /// Which certificate or signature.
        what: String,
        /// The algorithm's name.
        name: &'static str,
    },
    /// A signature algorithm this module does not implement.
    #[error(
        "{what} uses the signature algorithm {oid}, which is not supported; use ECDSA (P-256, P-384, P-521) or RSA PKCS#1 v1.5 with SHA-256/384/512"
    )]
    UnsupportedAlgorithm {
        /// Which certificate or signature.
        what: String,
        /// The algorithm's OID.
        oid: String,
    },
    /// A public key this module cannot use.
    #[error(
        "{what} has an unusable public key ({reason}); use an EC P-256/P-384/P-521 key or RSA of at least 2048 bits"
    )]
    UnsupportedKey {
        /// Whose key.
        what: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A certificate's signature does not verify with its issuer's key.
    #[error(
        "the signature on {what} does not verify with the key of {issuer}; a certificate was altered, or that CA did not issue it"
    )]
    BadCertificateSignature {
        /// The signed certificate.
        what: String,
        /// The issuer tried.
        issuer: String,
    },
    /// No root or bundle certificate issued this certificate.
    #[error(
        "no issuer found for {what}: no trusted root or bundle certificate named \"{issuer}\" signed it; pass the CA that issued the chain as a trusted root"
    )]
    UnknownIssuer {
        /// The certificate without an issuer.
        what: String,
        /// The issuer name it names.
        issuer: String,
    },
    /// The path would be longer than [`MAX_PATH_LEN`].
    #[error("the certificate chain would be longer than {max} certificates; refusing it")]
    PathTooLong {
        /// The limit.
        max: usize,
    },
    /// Path building tried more than [`MAX_ISSUER_CHECKS`] candidates.
    #[error(
        "gave up building the chain after {max} candidate issuers; the bundle holds too many look-alike certificates"
    )]
    TooComplex {
        /// The limit.
        max: usize,
    },
    /// A signature over data does not verify with the given key.
    #[error(
        "the signature does not verify with the key of {what}; the signed data was altered, or another key signed it"
    )]
    BadSignature {
        /// Whose key.
        what: String,
    },
}

/// What the verifier trusts and when it checks.
#[derive(Debug, Clone, Copy)]
pub struct ChainPolicy<'a> {
    /// The CA certificates the user trusts, DER. Never taken from the bundle.
    pub roots: &'a [Vec<u8>],
    /// The verification time, seconds since the Unix epoch (usually now).
    pub at_unix: i64,
}

/// The leaf whose key signed, once its chain holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLeaf {
    /// The leaf's SubjectPublicKeyInfo, DER: check the DSSE signature with it.
    pub spki_der: Vec<u8>,
    /// The leaf's subject, RFC 4514 style, control characters escaped.
    pub subject: String,
    /// The leaf's DNS, email and URI subject alternative names, as text.
    pub sans: Vec<String>,
    /// The leaf's notBefore, seconds since the Unix epoch.
    pub not_before_unix: i64,
    /// The leaf's notAfter, seconds since the Unix epoch.
    pub not_after_unix: i64,
    /// Lowercase hex SHA-256 of the leaf's DER.
    pub sha256_fingerprint: String,
    /// The subject of the trusted root the path ends at.
    pub anchor_subject: String,
}

/// Certificates from PEM text (one or many `BEGIN CERTIFICATE` blocks), as DER.
///
/// Text around the blocks and other PEM blocks (keys) are ignored. Fails when
/// no certificate block is found or a block does not decode.
pub fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, CertificateError> {
    if text.len() > MAX_PEM_BYTES {
        return Err(too_large("the PEM text".into(), text.len(), MAX_PEM_BYTES));
    }
    let mut certificates = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(PEM_BEGIN) {
        let block = &rest[start..];
        let Some(end) = block.find(PEM_END) else {
            return Err(pem_error(
                "a BEGIN CERTIFICATE line has no END CERTIFICATE line",
            ));
        };
        let (block, after) = block.split_at(end + PEM_END.len());
        let (_, der) = der::pem::decode_vec(block.as_bytes()).map_err(|e| {
            pem_error(&format!(
                "certificate block {}: {e}",
                certificates.len() + 1
            ))
        })?;
        certificates.push(der);
        if certificates.len() > MAX_ROOTS {
            return Err(too_many("PEM certificates", certificates.len(), MAX_ROOTS));
        }
        rest = after;
    }
    if certificates.is_empty() {
        return Err(pem_error("the text has no BEGIN CERTIFICATE block"));
    }
    Ok(certificates)
}

/// Verify that `leaf_der` chains to one of `policy.roots` through
/// `intermediates` (any order; copies of roots and of the leaf are ignored),
/// with every certificate valid at `policy.at_unix`.
///
/// Returns the leaf's key and identity. Does not check any signature made
/// with the leaf's key: do that with [`verify_signature_by_oid`].
pub fn verify_chain(
    leaf_der: &[u8],
    intermediates: &[Vec<u8>],
    policy: &ChainPolicy,
) -> Result<VerifiedLeaf, CertificateError> {
    check_input_sizes(leaf_der, intermediates, policy)?;
    let leaf = ParsedCert::parse(leaf_der, "the leaf certificate")?;
    check_common(&leaf, policy.at_unix)?;
    check_leaf_usage(&leaf)?;
    let sans = subject_alt_names(&leaf)?;
    parse_public_key(&leaf.spki_der).map_err(|reason| CertificateError::UnsupportedKey {
        what: leaf.what(),
        reason,
    })?;
    // A pinned leaf: the user trusts this very certificate, no issuer needed.
    if policy.roots.iter().any(|root| root.as_slice() == leaf_der) {
        let anchor = leaf.subject.clone();
        return Ok(leaf.into_verified(anchor, sans));
    }
    let roots = parse_all(policy.roots, "trusted root")?;
    let bundle = parse_intermediates(leaf_der, intermediates, policy.roots)?;
    let mut search = PathSearch {
        roots: &roots,
        intermediates: &bundle,
        at: policy.at_unix,
        checks: 0,
    };
    let anchor = search.find_issuer(&leaf, 0, &mut Vec::new())?;
    Ok(leaf.into_verified(anchor, sans))
}

/// What a signer checks of its own certificate before signing with it:
/// read, not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// The subject, RFC 4514 style, control characters escaped.
    pub subject: String,
    /// The SubjectPublicKeyInfo, DER.
    pub spki_der: Vec<u8>,
    /// notBefore, seconds since the Unix epoch.
    pub not_before_unix: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after_unix: i64,
}

/// Reads a certificate's subject, key and validity, unverified.
pub fn summary(der: &[u8]) -> Result<CertificateSummary, CertificateError> {
    let parsed = ParsedCert::parse(der, "the certificate")?;
    Ok(CertificateSummary {
        subject: parsed.subject.clone(),
        spki_der: parsed.spki_der.clone(),
        not_before_unix: parsed.not_before,
        not_after_unix: parsed.not_after,
    })
}

/// Verify an X.509-style signature of `message` with the key in `spki_der`.
///
/// `algorithm` is the signature algorithm's OID: ecdsa-with-SHA256/384/512
/// (any supported curve; the hash comes from the OID, not the curve) or
/// sha256/384/512WithRSAEncryption. ECDSA signatures are DER encoded.
/// `signer` names the key's owner in errors, e.g. `certificate "CN=alice"`.
pub fn verify_signature_by_oid(
    algorithm: &ObjectIdentifier,
    spki_der: &[u8],
    message: &[u8],
    signature: &[u8],
    signer: &str,
) -> Result<(), CertificateError> {
    let algorithm = signature_algorithm(algorithm, signer)?;
    let key = parse_public_key(spki_der).map_err(|reason| CertificateError::UnsupportedKey {
        what: signer.to_owned(),
        reason,
    })?;
    verify_with_key(&key, algorithm, message, signature, signer, signer)
}

/// The ECDSA algorithm OMS signers use with this key: SHA-256 for P-256,
/// SHA-384 for P-384, SHA-512 for P-521. Fails for other keys.
pub fn ecdsa_algorithm_for_key(spki_der: &[u8]) -> Result<ObjectIdentifier, CertificateError> {
    let unsupported = |reason: String| CertificateError::UnsupportedKey {
        what: "the signing key".into(),
        reason,
    };
    match parse_public_key(spki_der).map_err(unsupported)? {
        PublicKey::Ec(key) => Ok(match key.curve() {
            Curve::P256 => rfc5912::ECDSA_WITH_SHA_256,
            Curve::P384 => rfc5912::ECDSA_WITH_SHA_384,
            Curve::P521 => rfc5912::ECDSA_WITH_SHA_512,
        }),
        PublicKey::Rsa(_) => Err(unsupported("an RSA key, where OMS expects ECDSA".into())),
    }
}

/// One decoded certificate, with the raw bytes its signature covers.
struct ParsedCert<'a> {
    der: &'a [u8],
    tbs_der: &'a [u8],
    cert: Certificate,
    subject: String,
    spki_der: Vec<u8>,
    not_before: i64,
    not_after: i64,
}

impl<'a> ParsedCert<'a> {
    /// Decode `der`; `label` names it in errors until its subject is known.
    fn parse(der: &'a [u8], label: &str) -> Result<Self, CertificateError> {
        let malformed = |reason: String| CertificateError::Malformed {
            what: label.to_owned(),
            reason,
        };
        let cert = Certificate::from_der(der).map_err(|e| malformed(e.to_string()))?;
        let tbs_der = tbs_bytes(der).map_err(|e| malformed(e.to_string()))?;
        let tbs = cert.tbs_certificate();
        let spki_der = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|e| malformed(e.to_string()))?;
        let validity = tbs.validity();
        let not_before = unix_seconds(validity.not_before)
            .ok_or_else(|| malformed("notBefore out of range".into()))?;
        let not_after = unix_seconds(validity.not_after)
            .ok_or_else(|| malformed("notAfter out of range".into()))?;
        let subject = display_name(&tbs.subject().to_string());
        Ok(Self {
            der,
            tbs_der,
            cert,
            subject,
            spki_der,
            not_before,
            not_after,
        })
    }

    /// How errors name this certificate.
    fn what(&self) -> String {
        format!("certificate \"{}\"", self.subject)
    }

    /// Whether `issuer`'s subject is the name this certificate says issued it.
    fn named_issuer_is(&self, issuer: &ParsedCert) -> bool {
        self.cert.tbs_certificate().issuer() == issuer.cert.tbs_certificate().subject()
    }

    fn into_verified(self, anchor_subject: String, sans: Vec<String>) -> VerifiedLeaf {
        VerifiedLeaf {
            sans,
            sha256_fingerprint: hex::encode(Sha256::digest(self.der)),
            spki_der: self.spki_der,
            subject: self.subject,
            not_before_unix: self.not_before,
            not_after_unix: self.not_after,
            anchor_subject,
        }
    }
}

/// The exact tbsCertificate bytes, so the signature is checked over what was
/// sent rather than over a re-encoding of what was parsed.
fn tbs_bytes(der: &[u8]) -> der::Result<&[u8]> {
    let mut reader = SliceReader::new(der)?;
    reader.sequence(|body| {
        let tbs = body.tlv_bytes()?;
        let rest = body.remaining_len();
        body.drain(rest)?;
        Ok(tbs)
    })
}

fn unix_seconds(time: x509_cert::time::Time) -> Option<i64> {
    i64::try_from(time.to_unix_duration().as_secs()).ok()
}

/// Escape control characters so a hostile name cannot drive the terminal.
fn display_name(name: &str) -> String {
    if name.is_empty() {
        return "(empty subject)".into();
    }
    name.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// The leaf's DNS, email and URI names. A malformed extension is an error,
/// not an empty list, so an identity check never runs on a partial view.
fn subject_alt_names(leaf: &ParsedCert) -> Result<Vec<String>, CertificateError> {
    let Some(san) = extension::<SubjectAltName>(leaf, "subjectAltName")? else {
        return Ok(Vec::new());
    };
    Ok(san
        .0
        .iter()
        .filter_map(|name| match name {
            GeneralName::DnsName(s)
            | GeneralName::Rfc822Name(s)
            | GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
            _ => None,
        })
        .collect())
}

fn check_input_sizes(
    leaf_der: &[u8],
    intermediates: &[Vec<u8>],
    policy: &ChainPolicy,
) -> Result<(), CertificateError> {
    if policy.roots.is_empty() {
        return Err(CertificateError::NoRoots);
    }
    if intermediates.len() > MAX_INTERMEDIATES {
        return Err(too_many(
            "intermediate certificates",
            intermediates.len(),
            MAX_INTERMEDIATES,
        ));
    }
    if policy.roots.len() > MAX_ROOTS {
        return Err(too_many("trusted roots", policy.roots.len(), MAX_ROOTS));
    }
    let labelled = std::iter::once(("the leaf certificate".to_owned(), leaf_der))
        .chain(
            intermediates
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("bundle certificate {}", i + 2), d.as_slice())),
        )
        .chain(
            policy
                .roots
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("trusted root {}", i + 1), d.as_slice())),
        );
    for (label, der) in labelled {
        if der.len() > MAX_CERTIFICATE_BYTES {
            return Err(too_large(label, der.len(), MAX_CERTIFICATE_BYTES));
        }
    }
    Ok(())
}

fn parse_all<'a>(
    ders: &'a [Vec<u8>],
    label: &str,
) -> Result<Vec<ParsedCert<'a>>, CertificateError> {
    ders.iter()
        .enumerate()
        .map(|(i, der)| ParsedCert::parse(der, &format!("{label} {}", i + 1)))
        .collect()
}

/// The bundle's intermediates, without copies of the leaf or of a root: the
/// anchor must be the user's certificate, never the bundle's copy.
fn parse_intermediates<'a>(
    leaf_der: &[u8],
    intermediates: &'a [Vec<u8>],
    roots: &[Vec<u8>],
) -> Result<Vec<ParsedCert<'a>>, CertificateError> {
    let mut kept: Vec<ParsedCert<'a>> = Vec::new();
    for (i, der) in intermediates.iter().enumerate() {
        let is_copy = der.as_slice() == leaf_der
            || roots.iter().any(|r| r == der)
            || kept.iter().any(|k| k.der == der.as_slice());
        if !is_copy {
            kept.push(ParsedCert::parse(
                der,
                &format!("bundle certificate {}", i + 2),
            )?);
        }
    }
    Ok(kept)
}

/// Checks every certificate on the path must pass, whatever its role.
fn check_common(cert: &ParsedCert, at: i64) -> Result<(), CertificateError> {
    if cert.cert.signature_algorithm() != cert.cert.tbs_certificate().signature() {
        return Err(CertificateError::AlgorithmMismatch { what: cert.what() });
    }
    // Checked at the verification time, not at notBefore: a certificate that
    // was valid once must not vouch for a signature made after it expired.
    if at < cert.not_before {
        return Err(CertificateError::NotYetValid {
            what: cert.what(),
            not_before: rfc3339(cert.not_before),
            at: rfc3339(at),
        });
    }
    if at > cert.not_after {
        return Err(CertificateError::Expired {
            what: cert.what(),
            not_after: rfc3339(cert.not_after),
            at: rfc3339(at),
        });
    }
    check_extensions(cert)
}

/// Refuse duplicate extensions (two parsers could each pick a different
/// copy) and critical extensions whose meaning this module would ignore.
fn check_extensions(cert: &ParsedCert) -> Result<(), CertificateError> {
    let extensions = cert
        .cert
        .tbs_certificate()
        .extensions()
        .map_or(&[][..], Vec::as_slice);
    for (i, extension) in extensions.iter().enumerate() {
        if extensions[..i]
            .iter()
            .any(|e| e.extn_id == extension.extn_id)
        {
            return Err(CertificateError::DuplicateExtension {
                what: cert.what(),
                oid: extension.extn_id.to_string(),
            });
        }
        if extension.critical && !UNDERSTOOD_EXTENSIONS.contains(&extension.extn_id) {
            return Err(CertificateError::UnknownCriticalExtension {
                what: cert.what(),
                oid: extension.extn_id.to_string(),
            });
        }
    }
    Ok(())
}

fn extension<'c, T>(cert: &'c ParsedCert, name: &'static str) -> Result<Option<T>, CertificateError>
where
    T: der::Decode<'c, Error = der::Error> + const_oid::AssociatedOid,
{
    match cert.cert.tbs_certificate().get_extension::<T>() {
        Ok(found) => Ok(found.map(|(_, value)| value)),
        Err(e) => Err(CertificateError::BadExtension {
            what: cert.what(),
            extension: name,
            reason: e.to_string(),
        }),
    }
}

/// The leaf's key must be meant for signing: a TLS-server or
/// e-mail-encryption certificate from the same CA must not sign models.
fn check_leaf_usage(leaf: &ParsedCert) -> Result<(), CertificateError> {
    let usage = extension::<KeyUsage>(leaf, "keyUsage")?;
    if usage.is_some_and(|u| !u.digital_signature()) {
        return Err(CertificateError::LeafKeyUsage { what: leaf.what() });
    }
    let allowed = [rfc5912::ID_KP_CODE_SIGNING, rfc5912::ANY_EXTENDED_KEY_USAGE];
    let purposes = extension::<ExtendedKeyUsage>(leaf, "extendedKeyUsage")?;
    if purposes.is_some_and(|p| !p.0.iter().any(|oid| allowed.contains(oid))) {
        return Err(CertificateError::LeafExtendedKeyUsage { what: leaf.what() });
    }
    Ok(())
}

/// An issuer must be a CA allowed to sign certificates, with room for the
/// `intermediates_below` CAs between it and the leaf: stops an end-entity
/// key (or a CA limited to issuing leaves) from minting a sub-CA.
fn check_ca(
    issuer: &ParsedCert,
    child: &ParsedCert,
    intermediates_below: usize,
) -> Result<(), CertificateError> {
    let constraints = extension::<BasicConstraints>(issuer, "basicConstraints")?;
    let Some(constraints) = constraints.filter(|c| c.ca) else {
        return Err(CertificateError::NotCa {
            what: issuer.what(),
            child: child.what(),
        });
    };
    let usage = extension::<KeyUsage>(issuer, "keyUsage")?;
    if usage.is_some_and(|u| !u.key_cert_sign()) {
        return Err(CertificateError::NoCertSign {
            what: issuer.what(),
            child: child.what(),
        });
    }
    match constraints.path_len_constraint {
        Some(limit) if intermediates_below > usize::from(limit) => {
            Err(CertificateError::PathLenExceeded {
                what: issuer.what(),
                limit,
                found: intermediates_below,
            })
        }
        _ => Ok(()),
    }
}

/// Depth-first path building with a budget, so look-alike certificates in a
/// hostile bundle cannot make the search explode.
struct PathSearch<'s, 'a> {
    roots: &'s [ParsedCert<'a>],
    intermediates: &'s [ParsedCert<'a>],
    at: i64,
    checks: usize,
}

impl PathSearch<'_, '_> {
    /// Find a path from `child` to a root; returns the root's subject.
    /// `used` holds the intermediates already on the path (no loops).
    fn find_issuer(
        &mut self,
        child: &ParsedCert,
        below: usize,
        used: &mut Vec<usize>,
    ) -> Result<String, CertificateError> {
        // child, the path above it and an issuer must fit in MAX_PATH_LEN.
        if used.len() + 2 > MAX_PATH_LEN {
            return Err(CertificateError::PathTooLong { max: MAX_PATH_LEN });
        }
        let mut first_error = None;
        for root in self.roots.iter().filter(|r| child.named_issuer_is(r)) {
            match self
                .accept_issuer(child, root, below)
                .and_then(|()| check_self_signature(root))
            {
                Ok(()) => return Ok(root.subject.clone()),
                Err(e) => keep_first(&mut first_error, e),
            }
        }
        for (index, candidate) in self.intermediates.iter().enumerate() {
            if used.contains(&index) || !child.named_issuer_is(candidate) {
                continue;
            }
            if let Err(e) = self.accept_issuer(child, candidate, below) {
                keep_first(&mut first_error, e);
                continue;
            }
            used.push(index);
            match self.find_issuer(candidate, below + 1, used) {
                Ok(anchor) => return Ok(anchor),
                Err(e) => keep_first(&mut first_error, e),
            }
            used.pop();
        }
        Err(
            first_error.unwrap_or_else(|| CertificateError::UnknownIssuer {
                what: child.what(),
                issuer: display_name(&child.cert.tbs_certificate().issuer().to_string()),
            }),
        )
    }

    /// Whether `issuer` may have issued `child`, and did sign it.
    fn accept_issuer(
        &mut self,
        child: &ParsedCert,
        issuer: &ParsedCert,
        below: usize,
    ) -> Result<(), CertificateError> {
        self.checks += 1;
        if self.checks > MAX_ISSUER_CHECKS {
            return Err(CertificateError::TooComplex {
                max: MAX_ISSUER_CHECKS,
            });
        }
        check_common(issuer, self.at)?;
        check_ca(issuer, child, below)?;
        verify_certificate_signature(child, issuer)
    }
}

/// A root that claims to be self-signed must carry its own valid signature:
/// it catches a corrupted or hand-edited root file, which would otherwise be
/// trusted as is. A root is taken to claim it unless its name and its
/// authorityKeyIdentifier both point at another CA (the user trusting an
/// intermediate directly).
fn check_self_signature(root: &ParsedCert) -> Result<(), CertificateError> {
    let authority = extension::<AuthorityKeyIdentifier>(root, "authorityKeyIdentifier")?
        .and_then(|aki| aki.key_identifier);
    let own = extension::<SubjectKeyIdentifier>(root, "subjectKeyIdentifier")?.map(|ski| ski.0);
    let issued_by_another = !root.named_issuer_is(root) && authority.is_some() && authority != own;
    if issued_by_another {
        Ok(())
    } else {
        verify_certificate_signature(root, root)
    }
}

/// Keep the first specific reason a path failed; give up at once when the
/// budget runs out rather than reporting a misleading reason.
fn keep_first(slot: &mut Option<CertificateError>, error: CertificateError) {
    let budget_spent = matches!(error, CertificateError::TooComplex { .. });
    if slot.is_none() || budget_spent {
        *slot = Some(error);
    }
}

fn verify_certificate_signature(
    child: &ParsedCert,
    issuer: &ParsedCert,
) -> Result<(), CertificateError> {
    let identifier = child.cert.signature_algorithm();
    let algorithm = signature_algorithm(&identifier.oid, &child.what())?;
    // ECDSA takes no parameters; RSA PKCS#1 v1.5 takes NULL or none.
    let parameters_ok = match (&identifier.parameters, algorithm.scheme) {
        (None, _) => true,
        (Some(p), Scheme::RsaPkcs1) => p.is_null(),
        (Some(_), Scheme::Ecdsa) => false,
    };
    if !parameters_ok {
        return Err(CertificateError::Malformed {
            what: child.what(),
            reason: "unexpected signature algorithm parameters".into(),
        });
    }
    let key =
        parse_public_key(&issuer.spki_der).map_err(|reason| CertificateError::UnsupportedKey {
            what: issuer.what(),
            reason,
        })?;
    let signature =
        child
            .cert
            .signature()
            .as_bytes()
            .ok_or_else(|| CertificateError::Malformed {
                what: child.what(),
                reason: "the signature BIT STRING has unused bits".into(),
            })?;
    verify_with_key(
        &key,
        algorithm,
        child.tbs_der,
        signature,
        &issuer.what(),
        &child.what(),
    )
    .map_err(|e| match e {
        CertificateError::BadSignature { .. } => CertificateError::BadCertificateSignature {
            what: child.what(),
            issuer: issuer.what(),
        },
        other => other,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Ecdsa,
    RsaPkcs1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Debug, Clone, Copy)]
struct SignatureAlgorithm {
    scheme: Scheme,
    hash: HashAlgorithm,
}

/// The scheme and hash an OID names; `what` names the signed object in errors.
fn signature_algorithm(
    oid: &ObjectIdentifier,
    what: &str,
) -> Result<SignatureAlgorithm, CertificateError> {
    let (scheme, hash) = match *oid {
        rfc5912::ECDSA_WITH_SHA_256 => (Scheme::Ecdsa, HashAlgorithm::Sha256),
        rfc5912::ECDSA_WITH_SHA_384 => (Scheme::Ecdsa, HashAlgorithm::Sha384),
        rfc5912::ECDSA_WITH_SHA_512 => (Scheme::Ecdsa, HashAlgorithm::Sha512),
        rfc5912::SHA_256_WITH_RSA_ENCRYPTION => (Scheme::RsaPkcs1, HashAlgorithm::Sha256),
        rfc5912::SHA_384_WITH_RSA_ENCRYPTION => (Scheme::RsaPkcs1, HashAlgorithm::Sha384),
        rfc5912::SHA_512_WITH_RSA_ENCRYPTION => (Scheme::RsaPkcs1, HashAlgorithm::Sha512),
        _ => return Err(unsupported_algorithm(oid, what)),
    };
    Ok(SignatureAlgorithm { scheme, hash })
}

fn unsupported_algorithm(oid: &ObjectIdentifier, what: &str) -> CertificateError {
    match WEAK_ALGORITHMS.iter().find(|(weak, _)| weak == oid) {
        Some((_, name)) => CertificateError::WeakAlgorithm {
            what: what.to_owned(),
            name,
        },
        None => CertificateError::UnsupportedAlgorithm {
            what: what.to_owned(),
            oid: oid.to_string(),
        },
    }
}

/// A public key this module can verify with.
enum PublicKey {
    Ec(EcPublicKey),
    Rsa(rsa::PublicKey),
}

/// Decode a SubjectPublicKeyInfo; the error says why it cannot be used.
fn parse_public_key(spki_der: &[u8]) -> Result<PublicKey, String> {
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| e.to_string())?;
    match spki.algorithm.oid {
        rfc5912::ID_EC_PUBLIC_KEY => parse_ec_key(&spki),
        rfc5912::RSA_ENCRYPTION => parse_rsa_key(spki),
        other => Err(format!("key algorithm {other} is not supported")),
    }
}

fn parse_ec_key(spki: &spki::SubjectPublicKeyInfoRef) -> Result<PublicKey, String> {
    let curve = spki
        .algorithm
        .parameters_oid()
        .map_err(|_| "the EC key names no curve".to_owned())?;
    let der = spki.to_der().map_err(|e| e.to_string())?;
    EcPublicKey::from_spki_der(&der)
        .map(PublicKey::Ec)
        .ok_or_else(|| format!("EC curve {curve} is not supported, or the point is not on it"))
}

fn parse_rsa_key(spki: spki::SubjectPublicKeyInfoRef) -> Result<PublicKey, String> {
    use rsa::traits::PublicKeyParts;
    let key = rsa::PublicKey::try_from(spki).map_err(|e| format!("bad RSA key: {e}"))?;
    let bits = key.n().bit_width();
    // Short moduli can be factored: a 1024-bit CA key is within reach.
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "an RSA key of {bits} bits, fewer than {MIN_RSA_BITS}"
        ));
    }
    Ok(PublicKey::Rsa(key))
}

/// Verify `signature` over `message`; `signer` names the key, `signed` the
/// object, in errors.
fn verify_with_key(
    key: &PublicKey,
    algorithm: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
    signer: &str,
    signed: &str,
) -> Result<(), CertificateError> {
    let verified = match (key, algorithm.scheme) {
        (PublicKey::Rsa(rsa_key), Scheme::RsaPkcs1) => {
            verify_rsa(rsa_key, algorithm.hash, message, signature)
        }
        (PublicKey::Rsa(_), Scheme::Ecdsa) | (_, Scheme::RsaPkcs1) => {
            return Err(CertificateError::UnsupportedKey {
                what: signer.to_owned(),
                reason: format!("its key type does not match the signature algorithm of {signed}"),
            });
        }
        (ec_key, Scheme::Ecdsa) => {
            verify_ecdsa(ec_key, &digest(algorithm.hash, message), signature)
        }
    };
    if verified {
        Ok(())
    } else {
        Err(CertificateError::BadSignature {
            what: signer.to_owned(),
        })
    }
}

fn digest(hash: HashAlgorithm, message: &[u8]) -> Vec<u8> {
    match hash {
        HashAlgorithm::Sha256 => Sha256::digest(message).to_vec(),
        HashAlgorithm::Sha384 => Sha384::digest(message).to_vec(),
        HashAlgorithm::Sha512 => Sha512::digest(message).to_vec(),
    }
}

/// ECDSA over a prehash, so the hash is the one the algorithm OID names.
fn verify_ecdsa(key: &PublicKey, prehash: &[u8], signature: &[u8]) -> bool {
    match key {
        PublicKey::Ec(key) => key.verifies_prehash(prehash, signature),
        PublicKey::Rsa(_) => false,
    }
}

fn verify_rsa(key: &rsa::PublicKey, hash: HashAlgorithm, message: &[u8], signature: &[u8]) -> bool {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    let Ok(signature) = Signature::try_from(signature) else {
        return false;
    };
    let key = key.clone();
    match hash {
        HashAlgorithm::Sha256 => VerifyingKey::<Sha256>::new(key)
            .verify(message, &signature)
            .is_ok(),
        HashAlgorithm::Sha384 => VerifyingKey::<Sha384>::new(key)
            .verify(message, &signature)
            .is_ok(),
        HashAlgorithm::Sha512 => VerifyingKey::<Sha512>::new(key)
            .verify(message, &signature)
            .is_ok(),
    }
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{unix} (Unix time)"))
}

fn pem_error(reason: &str) -> CertificateError {
    CertificateError::Pem {
        reason: reason.to_owned(),
    }
}

fn too_large(what: String, size: usize, max: usize) -> CertificateError {
    CertificateError::TooLarge { what, size, max }
}

fn too_many(what: &'static str, count: usize, max: usize) -> CertificateError {
    CertificateError::TooMany { what, count, max }
}

#[cfg(test)]
mod tests {
    //! Reads the OMS vectors from tests/oms-vectors and the certificates
    //! tests/x509/make_testdata.py generated from tests/x509.
    use super::*;
    use base64::Engine;
    use std::path::PathBuf;

    /// 2026-12-02T00:00:00Z: "now" for the OMS vectors.
    const NOW: i64 = 1_796_169_600;
    /// 2030-01-01T00:00:00Z: inside every generated certificate's validity.
    const GENERATED_AT: i64 = 1_893_456_000;
    /// The vector chain's common validity: 2025-05-02T23:36:28Z..2035-04-30T23:36:28Z.
    const VECTOR_NOT_BEFORE: i64 = 1_746_228_988;
    const VECTOR_NOT_AFTER: i64 = 2_061_588_988;
    const VECTOR_LEAF_SHA256: &str = "da3662b630eb0f58";

    fn vectors() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oms-vectors")
    }

    fn generated(name: &str) -> Vec<u8> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/x509");
        std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn pem_file(relative: &str) -> Vec<Vec<u8>> {
        let text = std::fs::read_to_string(vectors().join(relative)).expect("read PEM");
        pem_certificates(&text).expect("PEM certificates")
    }

    fn ca_roots() -> Vec<Vec<u8>> {
        pem_file("sigstore-model-transparency/scripts/tests/keys/certificate/ca-cert.pem")
    }

    fn bundle(relative: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(vectors().join(relative)).expect("read bundle");
        serde_json::from_str(&text).expect("bundle JSON")
    }

    /// The bundle's certificates, leaf first, from `x509CertificateChain`
    /// (or the single `certificate` form).
    fn bundle_chain(json: &serde_json::Value) -> Vec<Vec<u8>> {
        let material = &json["verificationMaterial"];
        let encoded: Vec<&str> = match material["x509CertificateChain"]["certificates"].as_array() {
            Some(list) => list.iter().filter_map(|c| c["rawBytes"].as_str()).collect(),
            None => material["certificate"]["rawBytes"]
                .as_str()
                .into_iter()
                .collect(),
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        encoded
            .iter()
            .map(|s| b64.decode(s).expect("base64 DER"))
            .collect()
    }

    const POSITIVE_BUNDLES: [&str; 13] = [
        "ossf-model-signing-spec/test-vectors/v1.0/valid/certificate.bundle.json",
        "sigstore-model-transparency/scripts/tests/v0.2.0-certificate/model.sig",
        "sigstore-model-transparency/scripts/tests/v0.3.1-certificate/model.sig",
        "sigstore-model-transparency/scripts/tests/v1.0.0-certificate/model.sig",
        "sigstore-model-transparency/scripts/tests/v1.0.1-certificate/model.sig",
        "sigstore-model-transparency/scripts/tests/v1.1.0-certificate/model.sig",
        "oms-conformance-sampras343/test/test-cases/verify/positive/certificate-simple/bundle.sig",
        "oms-conformance-sampras343/test/test-cases/verify/positive/certificate-simple-go/bundle.sig",
        "oms-conformance-sampras343/test/test-cases/verify/historical/historical-v0.2.0-certificate/bundle.sig",
        "oms-conformance-sampras343/test/test-cases/verify/historical/historical-v0.3.1-certificate/bundle.sig",
        "oms-conformance-sampras343/test/test-cases/verify/historical/historical-v1.0.0-certificate/bundle.sig",
        "oms-conformance-sampras343/test/test-cases/verify/historical/historical-v1.0.1-certificate/bundle.sig",
        "oms-conformance-sampras343/test/test-cases/verify/historical/historical-v1.1.0-certificate/bundle.sig",
    ];

    fn verify_at(
        chain: &[Vec<u8>],
        roots: &[Vec<u8>],
        at_unix: i64,
    ) -> Result<VerifiedLeaf, CertificateError> {
        verify_chain(&chain[0], &chain[1..], &ChainPolicy { roots, at_unix })
    }

    fn generated_chain(
        leaf: &str,
        intermediates: &[&str],
    ) -> Result<VerifiedLeaf, CertificateError> {
        let chain: Vec<Vec<u8>> = std::iter::once(leaf)
            .chain(intermediates.iter().copied())
            .map(generated)
            .collect();
        verify_at(&chain, &[generated("root.der")], GENERATED_AT)
    }

    /// DSSE v1 pre-authentication encoding.
    fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "DSSEv1 {} {} {} ",
            payload_type.len(),
            payload_type,
            payload.len()
        )
        .into_bytes();
        out.extend_from_slice(payload);
        out
    }

    fn verify_dsse(json: &serde_json::Value, leaf: &VerifiedLeaf) -> Result<(), CertificateError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let envelope = &json["dsseEnvelope"];
        let payload = b64
            .decode(envelope["payload"].as_str().expect("payload"))
            .expect("payload base64");
        let signature = b64
            .decode(envelope["signatures"][0]["sig"].as_str().expect("sig"))
            .expect("sig base64");
        let message = pae(
            envelope["payloadType"].as_str().expect("payloadType"),
            &payload,
        );
        let algorithm = ecdsa_algorithm_for_key(&leaf.spki_der)?;
        verify_signature_by_oid(&algorithm, &leaf.spki_der, &message, &signature, "the leaf")
    }

    #[test]
    fn every_positive_vector_chain_and_dsse_verify_now() {
        for path in POSITIVE_BUNDLES {
            let json = bundle(path);
            let chain = bundle_chain(&json);
            assert_eq!(chain.len(), 2, "{path}: leaf and intermediate");
            let leaf =
                verify_at(&chain, &ca_roots(), NOW).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(leaf.subject, "CN=intermediate-ca", "{path}");
            assert_eq!(leaf.anchor_subject, "CN=root-ca", "{path}");
            assert!(
                leaf.sha256_fingerprint.starts_with(VECTOR_LEAF_SHA256),
                "{path}"
            );
            assert_eq!(
                (leaf.not_before_unix, leaf.not_after_unix),
                (VECTOR_NOT_BEFORE, VECTOR_NOT_AFTER)
            );
            assert!(leaf.sans.is_empty(), "{path}");
            // model_signing 0.2 signed something else than the DSSE v1 PAE.
            let dsse = verify_dsse(&json, &leaf);
            if path.contains("v0.2.0") {
                assert!(
                    matches!(dsse, Err(CertificateError::BadSignature { .. })),
                    "{path}: {dsse:?}"
                );
            } else {
                dsse.unwrap_or_else(|e| panic!("{path}: DSSE: {e}"));
            }
        }
    }

    #[test]
    fn vector_chain_holds_from_first_to_last_second_of_its_validity() {
        let chain = bundle_chain(&bundle(POSITIVE_BUNDLES[0]));
        for at in [VECTOR_NOT_BEFORE, VECTOR_NOT_AFTER] {
            assert!(verify_at(&chain, &ca_roots(), at).is_ok(), "at {at}");
        }
        let early = verify_at(&chain, &ca_roots(), VECTOR_NOT_BEFORE - 1);
        assert!(
            matches!(early, Err(CertificateError::NotYetValid { .. })),
            "{early:?}"
        );
        let late = verify_at(&chain, &ca_roots(), VECTOR_NOT_AFTER + 1);
        let Err(CertificateError::Expired { what, .. }) = late else {
            panic!("{late:?}")
        };
        assert_eq!(what, "certificate \"CN=intermediate-ca\"");
    }

    #[test]
    fn vector_leaf_extensions_are_what_the_report_says() {
        let chain = bundle_chain(&bundle(POSITIVE_BUNDLES[0]));
        let leaf = ParsedCert::parse(&chain[0], "leaf").expect("parse");
        let constraints = extension::<BasicConstraints>(&leaf, "bc")
            .expect("bc")
            .expect("present");
        assert!(constraints.ca, "the spec's leaf is marked CA:TRUE");
        let usage = extension::<KeyUsage>(&leaf, "ku")
            .expect("ku")
            .expect("present");
        assert!(usage.digital_signature() && !usage.key_cert_sign());
        let eku = extension::<ExtendedKeyUsage>(&leaf, "eku")
            .expect("eku")
            .expect("present");
        assert_eq!(eku.0, vec![rfc5912::ID_KP_CODE_SIGNING]);
    }

    #[test]
    fn expired_conformance_leaf_is_refused_now_and_at_every_time() {
        let case = "oms-conformance-sampras343/test/test-cases/verify/negative/certificate-expired_fail/bundle.sig";
        let chain = bundle_chain(&bundle(case));
        let now = verify_at(&chain, &ca_roots(), NOW);
        let Err(CertificateError::Expired {
            what, not_after, ..
        }) = now
        else {
            panic!("{now:?}")
        };
        assert_eq!(
            (what.as_str(), not_after.as_str()),
            ("certificate \"CN=expired-signer\"", "2020-01-02T00:00:00Z")
        );
        // Inside the leaf's one day the intermediate (from 2025) was not valid yet.
        let then = verify_at(&chain, &ca_roots(), 1_577_880_000);
        let Err(CertificateError::NotYetValid { what, .. }) = then else {
            panic!("{then:?}")
        };
        assert_eq!(what, "certificate \"CN=intermediate-ca\"");
    }

    #[test]
    fn wrong_ca_is_refused() {
        let case = "oms-conformance-sampras343/test/test-cases/verify/negative/certificate-simple-wrong-ca_fail/bundle.sig";
        let roots = pem_file("oms-conformance-sampras343/test/assets/keys/wrong/wrong-ca-cert.pem");
        let result = verify_at(&bundle_chain(&bundle(case)), &roots, NOW);
        let Err(CertificateError::UnknownIssuer { what, issuer }) = result else {
            panic!("{result:?}")
        };
        assert_eq!(
            (what.as_str(), issuer.as_str()),
            ("certificate \"CN=intermediate-ca\"", "CN=root-ca")
        );
    }

    #[test]
    fn key_bundle_carries_no_certificate() {
        let case = "oms-conformance-sampras343/test/test-cases/verify/negative/key-verify-as-certificate_fail/bundle.sig";
        assert!(bundle_chain(&bundle(case)).is_empty());
    }

    #[test]
    fn a_flipped_byte_in_any_certificate_is_refused() {
        let mut chain = bundle_chain(&bundle(POSITIVE_BUNDLES[0]));
        chain.extend(ca_roots());
        for which in 0..chain.len() {
            for position in 0..chain[which].len() {
                let mut tampered = chain.clone();
                tampered[which][position] ^= 0x01;
                let roots = [tampered[2].clone()];
                let result = verify_at(&tampered[..2], &roots, NOW);
                assert!(
                    result.is_err(),
                    "certificate {which}, byte {position} flipped, still verifies"
                );
            }
        }
    }

    #[test]
    fn an_intermediate_may_be_the_trusted_root() {
        let chain = bundle_chain(&bundle(POSITIVE_BUNDLES[0]));
        let leaf = verify_at(&chain[..1], &chain[1..], NOW).expect("intermediate as anchor");
        assert_eq!(leaf.anchor_subject, "CN=intermediate-ca");
    }

    #[test]
    fn bundle_copy_of_the_root_and_any_order_are_accepted() {
        let chain = bundle_chain(&bundle(POSITIVE_BUNDLES[0]));
        let root = ca_roots().remove(0);
        let shuffled = [root.clone(), chain[1].clone(), root, chain[1].clone()];
        let leaf = verify_chain(
            &chain[0],
            &shuffled,
            &ChainPolicy {
                roots: &ca_roots(),
                at_unix: NOW,
            },
        );
        assert_eq!(leaf.expect("verifies").anchor_subject, "CN=root-ca");
    }

    #[test]
    fn a_chain_missing_its_intermediate_is_refused() {
        let chain = bundle_chain(&bundle(POSITIVE_BUNDLES[0]));
        let result = verify_at(&chain[..1], &ca_roots(), NOW);
        // The leaf names itself "CN=intermediate-ca": without the real
        // intermediate no root of that name exists.
        assert!(
            matches!(result, Err(CertificateError::UnknownIssuer { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn pinned_self_signed_leaf_is_trusted_only_as_its_own_root() {
        let leaf =
            pem_file("oms-conformance-sampras343/test/assets/keys/self-signed/signing-cert.pem");
        let verified = verify_at(&[leaf[0].clone(), leaf[0].clone()], &leaf, NOW).expect("pinned");
        assert_eq!(verified.subject, "CN=self-signed-test");
        let result = verify_at(&leaf, &ca_roots(), NOW);
        assert!(
            matches!(result, Err(CertificateError::UnknownIssuer { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn generated_good_chains_verify() {
        let leaf = generated_chain("leaf.der", &["intermediate.der"]).expect("P-256 with SHA-384");
        assert_eq!(leaf.subject, "CN=gen-leaf");
        assert_eq!(
            leaf.sans,
            [
                "signer@example.com",
                "https://example.com/signer",
                "signer.example.com"
            ]
        );
        generated_chain("leaf-under-rsa2048.der", &["rsa2048-intermediate.der"])
            .expect("RSA-2048 with SHA-512");
    }

    #[test]
    fn non_ca_issuers_are_refused() {
        let result = generated_chain("leaf-under-not-ca.der", &["not-ca-intermediate.der"]);
        let Err(CertificateError::NotCa { what, .. }) = result else {
            panic!("{result:?}")
        };
        assert_eq!(what, "certificate \"CN=gen-not-ca\"");
        let result = generated_chain(
            "leaf-under-no-certsign.der",
            &["no-certsign-intermediate.der"],
        );
        assert!(
            matches!(result, Err(CertificateError::NoCertSign { .. })),
            "{result:?}"
        );
        let result = generated_chain(
            "leaf-under-sub.der",
            &["sub-intermediate.der", "pathlen0-intermediate.der"],
        );
        let Err(CertificateError::PathLenExceeded {
            limit: 0, found: 1, ..
        }) = result
        else {
            panic!("{result:?}")
        };
    }

    #[test]
    fn leaves_not_meant_for_signing_are_refused() {
        let result = generated_chain("leaf-server-auth.der", &["intermediate.der"]);
        assert!(
            matches!(result, Err(CertificateError::LeafExtendedKeyUsage { .. })),
            "{result:?}"
        );
        let result = generated_chain("leaf-key-encipherment.der", &["intermediate.der"]);
        assert!(
            matches!(result, Err(CertificateError::LeafKeyUsage { .. })),
            "{result:?}"
        );
        let result = generated_chain("leaf-unknown-critical.der", &["intermediate.der"]);
        let Err(CertificateError::UnknownCriticalExtension { oid, .. }) = result else {
            panic!("{result:?}")
        };
        assert_eq!(oid, "1.3.6.1.4.1.99999.1");
    }

    #[test]
    fn weak_algorithms_and_keys_are_refused() {
        let result = generated_chain("leaf-sha1.der", &["intermediate.der"]);
        let Err(CertificateError::WeakAlgorithm { name, .. }) = result else {
            panic!("{result:?}")
        };
        assert_eq!(name, "ecdsa-with-SHA1");
        let result = generated_chain("leaf-under-rsa1024.der", &["rsa1024-intermediate.der"]);
        let Err(CertificateError::UnsupportedKey { what, .. }) = result else {
            panic!("{result:?}")
        };
        assert_eq!(what, "certificate \"CN=gen-rsa1024\"");
    }

    #[test]
    fn an_expired_intermediate_is_refused() {
        let result = generated_chain("leaf-under-expired.der", &["expired-intermediate.der"]);
        let Err(CertificateError::Expired { what, .. }) = result else {
            panic!("{result:?}")
        };
        assert_eq!(what, "certificate \"CN=gen-old-intermediate\"");
    }

    #[test]
    fn look_alike_intermediates_cannot_blow_up_the_search() {
        let loops: Vec<String> = (0..15).map(|i| format!("loop-{i:02}.der")).collect();
        let names: Vec<&str> = loops.iter().map(String::as_str).collect();
        let started = std::time::Instant::now();
        let result = generated_chain("leaf-under-loop.der", &names);
        assert!(
            matches!(result, Err(CertificateError::TooComplex { .. })),
            "{result:?}"
        );
        assert!(started.elapsed().as_secs() < 10);
    }

    #[test]
    fn hostile_sizes_and_empty_trust_are_refused() {
        let leaf = generated("leaf.der");
        let none = verify_chain(
            &leaf,
            &[],
            &ChainPolicy {
                roots: &[],
                at_unix: GENERATED_AT,
            },
        );
        assert!(matches!(none, Err(CertificateError::NoRoots)));
        let roots = [generated("root.der")];
        let policy = ChainPolicy {
            roots: &roots,
            at_unix: GENERATED_AT,
        };
        let many = vec![generated("intermediate.der"); MAX_INTERMEDIATES + 1];
        assert!(matches!(
            verify_chain(&leaf, &many, &policy),
            Err(CertificateError::TooMany { .. })
        ));
        let huge = vec![0x30; MAX_CERTIFICATE_BYTES + 1];
        assert!(matches!(
            verify_chain(&huge, &[], &policy),
            Err(CertificateError::TooLarge { .. })
        ));
        let garbage = verify_chain(b"\x30\x03\x02\x01\x00", &[], &policy);
        assert!(
            matches!(garbage, Err(CertificateError::Malformed { .. })),
            "{garbage:?}"
        );
    }

    #[test]
    fn pem_text_is_split_into_certificates() {
        let dir = vectors().join("sigstore-model-transparency/scripts/tests/keys/certificate");
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("read");
        let both = format!("junk\n{}\n{}", read("int-ca-cert.pem"), read("ca-cert.pem"));
        assert_eq!(pem_certificates(&both).expect("two").len(), 2);
        assert!(matches!(
            pem_certificates(&read("signing-key-pub.pem")),
            Err(CertificateError::Pem { .. })
        ));
        let cut = read("ca-cert.pem").replace(PEM_END, "");
        assert!(matches!(
            pem_certificates(&cut),
            Err(CertificateError::Pem { .. })
        ));
    }

    #[test]
    fn signature_by_oid_refuses_altered_messages_and_unknown_algorithms() {
        let chain = bundle_chain(&bundle(POSITIVE_BUNDLES[0]));
        let leaf = ParsedCert::parse(&chain[1], "intermediate").expect("parse");
        let root = ParsedCert::parse(&ca_roots()[0], "root")
            .expect("parse")
            .spki_der;
        let signature = leaf.cert.signature().raw_bytes();
        let oid = rfc5912::SHA_256_WITH_RSA_ENCRYPTION;
        assert!(verify_signature_by_oid(&oid, &root, leaf.tbs_der, signature, "root").is_ok());
        let mut altered = leaf.tbs_der.to_vec();
        altered[10] ^= 1;
        let result = verify_signature_by_oid(&oid, &root, &altered, signature, "root");
        assert!(
            matches!(result, Err(CertificateError::BadSignature { .. })),
            "{result:?}"
        );
        let pss = rfc5912::ID_RSASSA_PSS;
        let result = verify_signature_by_oid(&pss, &root, leaf.tbs_der, signature, "root");
        assert!(
            matches!(result, Err(CertificateError::UnsupportedAlgorithm { .. })),
            "{result:?}"
        );
    }
}
