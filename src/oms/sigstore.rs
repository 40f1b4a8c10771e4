//! Offline verification of the OMS "Sigstore keyless" method.
//!
//! A keyless OMS bundle is a Sigstore bundle whose content is a DSSE envelope,
//! signed with a short-lived Fulcio certificate and logged in Rekor. This
//! module checks it against a `trusted_root.json` supplied by the caller and
//! never touches the network: there is no TUF update and no Rekor lookup.
//!
//! The cryptography is delegated to `sigstore-verify`, which checks, in the
//! code path used here ([`sigstore_verify::Verifier::verify`] with a
//! [`sigstore_verify::VerificationPolicy`] requiring identity and issuer):
//!
//! - the Fulcio chain to the root's certificate authorities, with the
//!   code-signing EKU, at every verified signing time (the SET-authenticated
//!   integrated time and each RFC 3161 timestamp), and the authority's
//!   `validFor` window at that time;
//! - the embedded SCT against the root's CT logs;
//! - the Rekor inclusion proof, the checkpoint's signed note and the SET;
//! - any RFC 3161 timestamp against the root's timestamp authorities;
//! - the SAN and the Fulcio issuer extension against the expected values;
//! - that the `dsse`/`intoto` log entry records this envelope's payload
//!   hash, signature and certificate;
//! - the DSSE signature over the PAE with the leaf key.
//!
//! This module adds what the crate leaves open: exactly one log entry, and
//! an inclusion proof on it (the crate asks for a proof on *some* entry);
//! a certificate, not a key; a DSSE envelope of in-toto payload type;
//! non-empty expectations; that the result reports chain, SCT and log as
//! checked; and a second comparison of identity and issuer on the result.
//!
//! Not checked, knowingly: the `envelopeHash` of a `dsse` v0.0.1 entry (it
//! hashes the client's own JSON serialisation, which differs between
//! model_signing releases; the payload hash, signature and certificate in
//! the entry are compared instead, as sigstore-python does); the
//! checkpoint's origin line (its signature by a trusted log key is
//! checked); revocation (Sigstore has none); whether the SAN is an email or
//! a URI (the string must match exactly).

use sha2::{Digest as _, Sha256};
use sigstore_verify::types::bundle::VerificationMaterialContent;
use sigstore_verify::types::{Bundle, DsseEnvelope, Sha256Hash, SignatureContent, Statement};
use sigstore_verify::{IdentityMatcher, VerificationPolicy, VerificationResult, Verifier};

/// The only DSSE payload type OMS uses (and the only one the crate binds).
const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Who must have signed: the certificate identity (SAN: email or URI) and the OIDC issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeylessIdentity {
    /// The SAN the certificate must carry, compared byte for byte (an email
    /// address or a URI such as a CI workflow reference).
    pub identity: String,
    /// The OIDC issuer recorded by Fulcio in the certificate, compared byte for byte.
    pub issuer: String,
}

/// What a verified keyless signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeylessSigner {
    /// The certificate's SAN (email or URI).
    pub identity: String,
    /// The certificate's OIDC issuer extension.
    pub issuer: String,
    /// When the signature is proven to have existed, in Unix seconds: the
    /// Rekor integrated time authenticated by the SET, or, for a log entry
    /// that has none (Rekor v2), the earliest verified RFC 3161 time.
    pub integrated_time_unix: i64,
    /// The entry's index in the transparency log.
    pub log_index: u64,
    /// SHA-256 of the leaf certificate's DER, in lowercase hex.
    pub certificate_sha256: String,
}

/// Why a keyless bundle was refused.
#[derive(Debug, thiserror::Error)]
pub enum SigstoreError {
    /// The bundle is not a Sigstore bundle that can be read.
    #[error(
        "the Sigstore bundle cannot be read: {0}; check that the file is the OMS signature, not the model"
    )]
    MalformedBundle(String),
    /// The trusted root is not a `trusted_root.json` that can be read.
    #[error(
        "the trusted root cannot be read: {0}; pass the trusted_root.json of the Sigstore instance that issued the certificate"
    )]
    MalformedTrustedRoot(String),
    /// The bundle is valid Sigstore but not the OMS keyless form.
    #[error(
        "the bundle is not an OMS keyless bundle: {0}; verify it with the method it was signed with"
    )]
    NotKeyless(String),
    /// The DSSE payload is not an in-toto statement.
    #[error(
        "the DSSE payload type is {0:?}, not \"application/vnd.in-toto+json\"; an OMS signature signs an in-toto statement"
    )]
    UnsupportedPayloadType(String),
    /// The caller's expectation is empty.
    #[error("the expected {0} is empty; give the signer's identity and OIDC issuer")]
    EmptyExpectation(&'static str),
    /// The bundle has no transparency-log entry, or more than one.
    #[error(
        "the bundle has {0} transparency-log entries, expected exactly one; a keyless signature must be logged in Rekor, so re-sign with a client that uploads to the log"
    )]
    TlogEntryCount(usize),
    /// The log entry has no inclusion proof.
    #[error(
        "the transparency-log entry has no inclusion proof; offline verification needs one, so re-fetch the bundle from a client that records it"
    )]
    MissingInclusionProof,
    /// The certificate names someone else.
    #[error(
        "the signing certificate's identity is {actual:?}, not the expected {expected:?}; check who signed, or pass the right identity"
    )]
    IdentityMismatch {
        /// The identity the caller asked for.
        expected: String,
        /// The identity in the certificate, if any.
        actual: Option<String>,
    },
    /// The certificate was issued for another OIDC issuer.
    #[error(
        "the signing certificate's OIDC issuer is {actual:?}, not the expected {expected:?}; check the identity provider, or pass the right issuer"
    )]
    IssuerMismatch {
        /// The issuer the caller asked for.
        expected: String,
        /// The issuer in the certificate, if any.
        actual: Option<String>,
    },
    /// The certificate, its chain, its validity or its SCT did not verify.
    #[error(
        "the signing certificate does not verify: {0}; the bundle was altered or the trusted root is not the one of the signing instance"
    )]
    Certificate(String),
    /// The inclusion proof, checkpoint, SET or entry binding did not verify.
    #[error(
        "the transparency-log evidence does not verify: {0}; the bundle was altered or the trusted root lacks the log's key"
    )]
    TransparencyLog(String),
    /// An RFC 3161 timestamp did not verify, or there is no verified time.
    #[error(
        "the signing time cannot be established: {0}; the bundle was altered or the trusted root lacks the timestamp authority"
    )]
    Timestamp(String),
    /// The DSSE signature does not match the envelope.
    #[error(
        "the DSSE signature does not verify: {0}; the signed statement or the signature was altered"
    )]
    Signature(String),
    /// The verifier stopped short of a check this module requires.
    #[error("verification was incomplete: {0}; this is a bug in modelseal, please report it")]
    Incomplete(&'static str),
}

/// Verifies a Sigstore bundle (v0.3 JSON, DSSE envelope) offline against a
/// trusted_root.json, and returns the signer and the DSSE (payload_type,
/// payload bytes) that the signature covers.
///
/// The payload is authenticated but not interpreted: the caller must check
/// its payload type, predicate and subject against the model. The crate
/// requires an artifact bound to the in-toto subject; the subject's own
/// digest is supplied, so that binding is vacuous here by design.
pub fn verify_keyless(
    bundle_json: &[u8],
    trusted_root_json: &[u8],
    expected: &KeylessIdentity,
) -> Result<(KeylessSigner, String, Vec<u8>), SigstoreError> {
    check_expectation(expected)?;
    let bundle = parse_bundle(bundle_json)?;
    let envelope = check_shape(&bundle)?;
    let root = parse_trusted_root(trusted_root_json)?;
    let verifier = Verifier::new(&root).map_err(map_error)?;
    let policy = VerificationPolicy::new(
        IdentityMatcher::Exact(expected.identity.clone()),
        expected.issuer.clone(),
    );
    let subject = subject_sha256(envelope)?;
    let result = verifier
        .verify(subject, &bundle, &policy)
        .map_err(map_error)?;
    let signer = signer_from(&bundle, &result, expected)?;
    Ok((
        signer,
        envelope.payload_type.clone(),
        envelope.payload.as_bytes().to_vec(),
    ))
}

/// An empty identity would make the policy say nothing.
fn check_expectation(expected: &KeylessIdentity) -> Result<(), SigstoreError> {
    if expected.identity.is_empty() {
        return Err(SigstoreError::EmptyExpectation("identity"));
    }
    if expected.issuer.is_empty() {
        return Err(SigstoreError::EmptyExpectation("OIDC issuer"));
    }
    Ok(())
}

fn parse_bundle(bundle_json: &[u8]) -> Result<Bundle, SigstoreError> {
    let text = std::str::from_utf8(bundle_json)
        .map_err(|e| SigstoreError::MalformedBundle(format!("not UTF-8: {e}")))?;
    Bundle::from_json(text).map_err(|e| SigstoreError::MalformedBundle(e.to_string()))
}

fn parse_trusted_root(
    trusted_root_json: &[u8],
) -> Result<sigstore_verify::trust_root::TrustedRoot, SigstoreError> {
    let text = std::str::from_utf8(trusted_root_json)
        .map_err(|e| SigstoreError::MalformedTrustedRoot(format!("not UTF-8: {e}")))?;
    sigstore_verify::trust_root::TrustedRoot::from_json(text)
        .map_err(|e| SigstoreError::MalformedTrustedRoot(e.to_string()))
}

/// Refuses what the OMS keyless method does not allow before any
/// cryptography: the crate would accept several log entries with only one
/// of them carrying an inclusion proof.
fn check_shape(bundle: &Bundle) -> Result<&DsseEnvelope, SigstoreError> {
    let envelope = match &bundle.content {
        SignatureContent::DsseEnvelope(envelope) => envelope,
        _ => {
            return Err(SigstoreError::NotKeyless(
                "its content is a message signature, not a DSSE envelope".into(),
            ));
        }
    };
    match &bundle.verification_material.content {
        VerificationMaterialContent::Certificate(_)
        | VerificationMaterialContent::X509CertificateChain { .. } => {}
        _ => {
            return Err(SigstoreError::NotKeyless(
                "it carries a public key, not a Fulcio certificate".into(),
            ));
        }
    }
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(SigstoreError::UnsupportedPayloadType(
            envelope.payload_type.clone(),
        ));
    }
    let entries = &bundle.verification_material.tlog_entries;
    if entries.len() != 1 {
        return Err(SigstoreError::TlogEntryCount(entries.len()));
    }
    if entries.iter().any(|entry| entry.inclusion_proof.is_none()) {
        return Err(SigstoreError::MissingInclusionProof);
    }
    Ok(envelope)
}

/// The crate only verifies a DSSE bundle together with an artifact that one
/// of the statement's subjects names; OMS binds the model in the predicate,
/// which the caller checks, so the subject's own digest is handed back.
fn subject_sha256(envelope: &DsseEnvelope) -> Result<Sha256Hash, SigstoreError> {
    let statement: Statement =
        serde_json::from_slice(envelope.payload.as_bytes()).map_err(|e| {
            SigstoreError::MalformedBundle(format!("the payload is not an in-toto statement: {e}"))
        })?;
    statement
        .subject
        .iter()
        .find_map(|subject| subject.digest.sha256)
        .ok_or_else(|| {
            SigstoreError::MalformedBundle("the in-toto statement has no sha256 subject".into())
        })
}

/// Builds the signer from a successful result, refusing a result in which
/// any required check did not run, and comparing the claims a second time.
fn signer_from(
    bundle: &Bundle,
    result: &VerificationResult,
    expected: &KeylessIdentity,
) -> Result<KeylessSigner, SigstoreError> {
    if !result.certificate_verified() {
        return Err(SigstoreError::Incomplete(
            "the certificate chain was not checked",
        ));
    }
    if !result.sct_verified() {
        return Err(SigstoreError::Incomplete("the SCT was not checked"));
    }
    if !result.tlog_verified() {
        return Err(SigstoreError::Incomplete(
            "the transparency log was not checked",
        ));
    }
    let identity = result.identity().map(|san| san.as_str().to_string());
    if identity.as_deref() != Some(expected.identity.as_str()) {
        return Err(SigstoreError::IdentityMismatch {
            expected: expected.identity.clone(),
            actual: identity,
        });
    }
    let issuer = result.issuer().map(str::to_string);
    if issuer.as_deref() != Some(expected.issuer.as_str()) {
        return Err(SigstoreError::IssuerMismatch {
            expected: expected.issuer.clone(),
            actual: issuer,
        });
    }
    let certificate = bundle
        .signing_certificate()
        .ok_or(SigstoreError::Incomplete("the bundle lost its certificate"))?;
    let log_index = bundle
        .verification_material
        .tlog_entries
        .first()
        .map(|entry| entry.log_index.get())
        .ok_or(SigstoreError::Incomplete("the bundle lost its log entry"))?;
    Ok(KeylessSigner {
        identity: expected.identity.clone(),
        issuer: expected.issuer.clone(),
        integrated_time_unix: signed_time(result)?,
        log_index,
        certificate_sha256: hex::encode(Sha256::digest(certificate.as_bytes())),
    })
}

/// The SET-authenticated integrated time, else the earliest verified time.
fn signed_time(result: &VerificationResult) -> Result<i64, SigstoreError> {
    result
        .integrated_time()
        .or_else(|| result.verified_timestamps().iter().min().copied())
        .map(|time| time.as_second())
        .ok_or(SigstoreError::Incomplete("no verified signing time"))
}

/// Sorts the crate's errors into what the user must act on.
fn map_error(error: sigstore_verify::Error) -> SigstoreError {
    use sigstore_verify::Error as E;
    match error {
        E::IdentityMismatch { expected, actual } => SigstoreError::IdentityMismatch {
            expected: expected.to_string(),
            actual: actual.map(|san| san.as_str().to_string()),
        },
        E::IssuerMismatch { expected, actual } => {
            SigstoreError::IssuerMismatch { expected, actual }
        }
        E::SignatureInvalid(detail) => SigstoreError::Signature(detail),
        E::Certificate(inner) => SigstoreError::Certificate(inner.to_string()),
        E::TransparencyLog(inner) => SigstoreError::TransparencyLog(inner.to_string()),
        E::Timestamp(inner) => SigstoreError::Timestamp(inner.to_string()),
        E::UnsupportedBundle(detail) | E::UnsupportedArtifact(detail) => {
            SigstoreError::NotKeyless(detail)
        }
        E::InvalidTrustRoot(_) | E::TrustRoot(_) | E::TrustedCertificate(_) => {
            SigstoreError::MalformedTrustedRoot(error.to_string())
        }
        other => SigstoreError::MalformedBundle(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::Value;

    fn read(relative: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/oms-vectors/{relative}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn production_root() -> Vec<u8> {
        read("sigstore-python-4.5.1-embedded/production/trusted_root.json")
    }

    fn spec_bundle() -> Vec<u8> {
        read("ossf-model-signing-spec/test-vectors/v1.0/valid/sigstore.bundle.json")
    }

    fn stefanb() -> KeylessIdentity {
        KeylessIdentity {
            identity: "stefanb@us.ibm.com".into(),
            issuer: "https://sigstore.verify.ibm.com/oauth2".into(),
        }
    }

    fn verify(bundle: &[u8]) -> Result<(KeylessSigner, String, Vec<u8>), SigstoreError> {
        verify_keyless(bundle, &production_root(), &stefanb())
    }

    /// Applies `edit` to the bundle's JSON and serialises it again.
    fn edited(bundle: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut value: Value = serde_json::from_slice(bundle).unwrap();
        edit(&mut value);
        serde_json::to_vec(&value).unwrap()
    }

    /// Flips the last bit of byte `index` (negative: from the end) of a base64 field.
    fn flip_base64(field: &mut Value, index: isize) {
        let mut bytes = STANDARD.decode(field.as_str().unwrap()).unwrap();
        let at = if index < 0 {
            bytes.len() - index.unsigned_abs()
        } else {
            index as usize
        };
        bytes[at] ^= 1;
        *field = Value::String(STANDARD.encode(bytes));
    }

    fn entry(value: &mut Value) -> &mut Value {
        &mut value["verificationMaterial"]["tlogEntries"][0]
    }

    #[test]
    fn spec_vector_verifies() {
        let (signer, payload_type, payload) = verify(&spec_bundle()).unwrap();
        assert_eq!(signer.identity, "stefanb@us.ibm.com");
        assert_eq!(signer.issuer, "https://sigstore.verify.ibm.com/oauth2");
        assert_eq!(signer.log_index, 598_151_086);
        assert_eq!(signer.integrated_time_unix, 1_760_062_340);
        assert_eq!(
            signer.certificate_sha256,
            "22c8c013f730328f079699a46018ee71c42ce3308a177e24092273c229f01f2f"
        );
        assert_eq!(payload_type, "application/vnd.in-toto+json");
        let statement: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(
            statement["predicateType"],
            "https://model_signing/signature/v1.0"
        );
    }

    #[test]
    fn wrong_identity_is_refused() {
        let expected = KeylessIdentity {
            identity: "stefanb@us.ibm.co".into(),
            ..stefanb()
        };
        let err = verify_keyless(&spec_bundle(), &production_root(), &expected).unwrap_err();
        assert!(
            matches!(err, SigstoreError::IdentityMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn wrong_issuer_is_refused() {
        let expected = KeylessIdentity {
            issuer: "https://accounts.google.com".into(),
            ..stefanb()
        };
        let err = verify_keyless(&spec_bundle(), &production_root(), &expected).unwrap_err();
        assert!(matches!(err, SigstoreError::IssuerMismatch { .. }), "{err}");
    }

    #[test]
    fn empty_expectation_is_refused() {
        let expected = KeylessIdentity {
            identity: String::new(),
            ..stefanb()
        };
        let err = verify_keyless(&spec_bundle(), &production_root(), &expected).unwrap_err();
        assert!(matches!(err, SigstoreError::EmptyExpectation(_)), "{err}");
    }

    #[test]
    fn flipped_payload_is_refused() {
        // A digit inside the statement, so that it stays valid JSON.
        let bundle = edited(&spec_bundle(), |v| {
            let field = &mut v["dsseEnvelope"]["payload"];
            let text =
                String::from_utf8(STANDARD.decode(field.as_str().unwrap()).unwrap()).unwrap();
            let text = text.replacen("f6310066", "f6310067", 1);
            *field = Value::String(STANDARD.encode(text));
        });
        let err = verify(&bundle).unwrap_err();
        assert!(matches!(err, SigstoreError::Signature(_)), "{err}");
    }

    #[test]
    fn flipped_payload_type_is_refused() {
        let bundle = edited(&spec_bundle(), |v| {
            v["dsseEnvelope"]["payloadType"] = "application/vnd.in-toto+jsoN".into();
        });
        let err = verify(&bundle).unwrap_err();
        assert!(
            matches!(err, SigstoreError::UnsupportedPayloadType(_)),
            "{err}"
        );
    }

    #[test]
    fn flipped_signature_is_refused() {
        // The spec vector has an RFC 3161 timestamp over the signature, so that fails first.
        let bundle = edited(&spec_bundle(), |v| {
            flip_base64(&mut v["dsseEnvelope"]["signatures"][0]["sig"], -1);
        });
        let err = verify(&bundle).unwrap_err();
        assert!(matches!(err, SigstoreError::Timestamp(_)), "{err}");
    }

    #[test]
    fn flipped_signature_without_timestamp_is_refused() {
        // v1.0.0 has no RFC 3161 timestamp: the DSSE check itself refuses it.
        let original = read("sigstore-model-transparency/scripts/tests/v1.0.0-sigstore/model.sig");
        let bundle = edited(&original, |v| {
            flip_base64(&mut v["dsseEnvelope"]["signatures"][0]["sig"], -1);
        });
        let err = verify(&bundle).unwrap_err();
        assert!(matches!(err, SigstoreError::Signature(_)), "{err}");
    }

    #[test]
    fn flipped_inclusion_proof_is_refused() {
        let bundle = edited(&spec_bundle(), |v| {
            flip_base64(&mut entry(v)["inclusionProof"]["hashes"][0], 0);
        });
        let err = verify(&bundle).unwrap_err();
        assert!(matches!(err, SigstoreError::TransparencyLog(_)), "{err}");
    }

    #[test]
    fn flipped_checkpoint_signature_is_refused() {
        let bundle = edited(&spec_bundle(), |v| {
            let field = &mut entry(v)["inclusionProof"]["checkpoint"]["envelope"];
            let text = field.as_str().unwrap().to_string();
            // The note's last line is "— <name> <base64(keyhint || signature)>".
            let (head, sig) = text.trim_end().rsplit_once(' ').unwrap();
            let mut bytes = STANDARD.decode(sig).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            *field = Value::String(format!("{head} {}\n", STANDARD.encode(bytes)));
        });
        let err = verify(&bundle).unwrap_err();
        assert!(matches!(err, SigstoreError::TransparencyLog(_)), "{err}");
    }

    #[test]
    fn flipped_set_is_refused() {
        let bundle = edited(&spec_bundle(), |v| {
            flip_base64(
                &mut entry(v)["inclusionPromise"]["signedEntryTimestamp"],
                -1,
            );
        });
        let err = verify(&bundle).unwrap_err();
        assert!(matches!(err, SigstoreError::TransparencyLog(_)), "{err}");
    }

    #[test]
    fn moved_integrated_time_is_refused() {
        let bundle = edited(&spec_bundle(), |v| {
            entry(v)["integratedTime"] = "1760062341".into();
        });
        let err = verify(&bundle).unwrap_err();
        assert!(matches!(err, SigstoreError::TransparencyLog(_)), "{err}");
    }

    #[test]
    fn flipped_log_body_is_refused() {
        let bundle = edited(&spec_bundle(), |v| {
            flip_base64(&mut entry(v)["canonicalizedBody"], -3);
        });
        assert!(verify(&bundle).is_err());
    }

    #[test]
    fn flipped_log_body_without_set_is_refused_by_the_inclusion_proof() {
        // Without the SET, the RFC 3161 timestamp gives the time and the proof must fail.
        let bundle = edited(&spec_bundle(), |v| {
            entry(v).as_object_mut().unwrap().remove("inclusionPromise");
            flip_base64(&mut entry(v)["canonicalizedBody"], -3);
        });
        let err = verify(&bundle).unwrap_err();
        assert!(matches!(err, SigstoreError::TransparencyLog(_)), "{err}");
        assert!(err.to_string().contains("inclusion proof"), "{err}");
    }

    #[test]
    fn rfc3161_timestamp_stands_in_for_a_missing_set() {
        let bundle = edited(&spec_bundle(), |v| {
            entry(v).as_object_mut().unwrap().remove("inclusionPromise");
        });
        let (signer, _, _) = verify(&bundle).unwrap();
        // The TSA time, a few seconds from the (now unauthenticated) integrated time.
        assert!((signer.integrated_time_unix - 1_760_062_340).abs() < 60);
    }

    #[test]
    fn no_set_and_no_timestamp_is_refused() {
        let original = read("sigstore-model-transparency/scripts/tests/v1.0.0-sigstore/model.sig");
        let bundle = edited(&original, |v| {
            entry(v).as_object_mut().unwrap().remove("inclusionPromise");
        });
        let err = verify(&bundle).unwrap_err();
        assert!(matches!(err, SigstoreError::Timestamp(_)), "{err}");
    }

    #[test]
    fn flipped_certificate_is_refused() {
        // The last byte is inside the CA's signature value: the DER stays valid.
        let bundle = edited(&spec_bundle(), |v| {
            flip_base64(
                &mut v["verificationMaterial"]["certificate"]["rawBytes"],
                -1,
            );
        });
        let err = verify(&bundle).unwrap_err();
        assert!(matches!(err, SigstoreError::Certificate(_)), "{err}");
    }

    #[test]
    fn missing_tlog_entries_is_refused() {
        let bundle = read(
            "ossf-model-signing-spec/test-vectors/v1.0/invalid/missing-tlog-entries.bundle.json",
        );
        let err = verify(&bundle).unwrap_err();
        assert!(matches!(err, SigstoreError::TlogEntryCount(0)), "{err}");
    }

    #[test]
    fn missing_inclusion_proof_is_refused() {
        let bundle = edited(&spec_bundle(), |v| {
            entry(v).as_object_mut().unwrap().remove("inclusionProof");
        });
        let err = verify(&bundle).unwrap_err();
        assert!(matches!(err, SigstoreError::MissingInclusionProof), "{err}");
    }

    #[test]
    fn two_tlog_entries_are_refused() {
        let bundle = edited(&spec_bundle(), |v| {
            let copy = entry(v).clone();
            v["verificationMaterial"]["tlogEntries"]
                .as_array_mut()
                .unwrap()
                .push(copy);
        });
        let err = verify(&bundle).unwrap_err();
        assert!(matches!(err, SigstoreError::TlogEntryCount(2)), "{err}");
    }

    #[test]
    fn other_invalid_spec_vectors_are_refused() {
        for name in ["empty", "missing-envelope", "missing-verification-material"] {
            let bundle = read(&format!(
                "ossf-model-signing-spec/test-vectors/v1.0/invalid/{name}.bundle.json"
            ));
            let err = verify(&bundle).unwrap_err();
            eprintln!("invalid/{name}: {err}");
        }
    }

    #[test]
    fn staging_root_refuses_a_production_bundle() {
        let root = read("sigstore-python-4.5.1-embedded/staging/trusted_root.json");
        let err = verify_keyless(&spec_bundle(), &root, &stefanb()).unwrap_err();
        eprintln!("staging root: {err}");
    }

    #[test]
    fn garbage_trusted_root_is_refused() {
        let err = verify_keyless(&spec_bundle(), b"{}", &stefanb()).unwrap_err();
        assert!(
            matches!(err, SigstoreError::MalformedTrustedRoot(_)),
            "{err}"
        );
    }

    #[test]
    fn released_model_signing_bundles_verify() {
        for version in ["v0.3.1", "v1.0.0", "v1.0.1", "v1.1.0"] {
            let bundle = read(&format!(
                "sigstore-model-transparency/scripts/tests/{version}-sigstore/model.sig"
            ));
            let (signer, _, _) = verify(&bundle).unwrap_or_else(|e| panic!("{version}: {e}"));
            eprintln!(
                "{version}: log index {}, time {}",
                signer.log_index, signer.integrated_time_unix
            );
        }
    }

    /// Reads a conformance case's bundle and expected identity.
    fn conformance(case: &str) -> (Vec<u8>, KeylessIdentity) {
        let dir = format!("oms-conformance-sampras343/test/test-cases/verify/{case}");
        let config: Value = serde_json::from_slice(&read(&format!("{dir}/config.json"))).unwrap();
        let expected = KeylessIdentity {
            identity: config["verify"]["identity"].as_str().unwrap().into(),
            issuer: config["verify"]["identity_provider"]
                .as_str()
                .unwrap()
                .into(),
        };
        (read(&format!("{dir}/bundle.sig")), expected)
    }

    #[test]
    fn historical_conformance_bundles_verify() {
        for version in ["v0.3.1", "v1.0.0", "v1.0.1", "v1.1.0"] {
            let (bundle, expected) =
                conformance(&format!("historical/historical-{version}-sigstore"));
            let outcome = verify_keyless(&bundle, &production_root(), &expected);
            assert!(outcome.is_ok(), "historical {version}: {:?}", outcome.err());
        }
    }

    #[test]
    fn conformance_wrong_identity_and_issuer_are_refused() {
        let (bundle, expected) = conformance("negative/sigstore-wrong-identity_fail");
        let err = verify_keyless(&bundle, &production_root(), &expected).unwrap_err();
        assert!(
            matches!(err, SigstoreError::IdentityMismatch { .. }),
            "{err}"
        );
        let (bundle, expected) = conformance("negative/sigstore-wrong-issuer_fail");
        let err = verify_keyless(&bundle, &production_root(), &expected).unwrap_err();
        assert!(
            matches!(err, SigstoreError::IdentityMismatch { .. }),
            "{err}"
        );
        // With the right identity, only the issuer is wrong.
        let expected = KeylessIdentity {
            issuer: expected.issuer,
            ..stefanb()
        };
        let err = verify_keyless(&bundle, &production_root(), &expected).unwrap_err();
        assert!(matches!(err, SigstoreError::IssuerMismatch { .. }), "{err}");
    }

    #[test]
    fn tampered_content_bundle_is_genuine_at_this_layer() {
        // The tampering is in the model, which the OMS layer checks, not here.
        let (bundle, expected) = conformance("negative/sigstore-tampered-content_fail");
        assert!(verify_keyless(&bundle, &production_root(), &expected).is_ok());
    }
}
