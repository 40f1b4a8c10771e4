//! The Sigstore bundle (v0.3 JSON) that carries an OMS signature: a DSSE
//! envelope and the verification material (a key hint, a certificate chain,
//! or a Sigstore certificate with transparency-log entries).
//!
//! Unknown fields are allowed, as Sigstore clients add them; the fields read
//! here must have their types, and a field given twice is refused.

use super::OmsError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

/// Largest bundle accepted, in bytes: a million-file model's resources fit.
pub const MAX_BUNDLE_BYTES: u64 = 256 << 20;

/// The media types of the Sigstore bundles that OMS writes.
const MEDIA_TYPES: [&str; 3] = [
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
];

/// The payload type of an in-toto statement in DSSE.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A parsed bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// How the signature is to be checked.
    pub material: Material,
    /// The DSSE envelope.
    pub envelope: Envelope,
}

/// The verification material, which decides the OMS method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Material {
    /// The key method: the verifier brings the public key. Bundles before
    /// model_signing 1.1 carry the key's PEM here; it is never trusted, only
    /// used to tell an untrusted signer from a broken signature.
    PublicKey {
        /// The PEM the bundle carries, if any.
        embedded_pem: Option<String>,
    },
    /// The certificate method: the chain, leaf first, as DER.
    Certificates(Vec<Vec<u8>>),
    /// Sigstore keyless: a Fulcio certificate with transparency-log entries.
    Keyless,
}

impl Material {
    /// The OMS method's name: `key`, `certificate`, `sigstore`.
    pub fn method(&self) -> &'static str {
        match self {
            Material::PublicKey { .. } => "key",
            Material::Certificates(_) => "certificate",
            Material::Keyless => "sigstore",
        }
    }
}

/// A DSSE envelope.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// `payloadType`.
    pub payload_type: String,
    /// The decoded payload: the bytes that are signed (through the PAE).
    pub payload: Vec<u8>,
    /// The decoded signatures.
    pub signatures: Vec<Vec<u8>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleDoc {
    media_type: String,
    verification_material: Option<MaterialDoc>,
    dsse_envelope: Option<EnvelopeDoc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MaterialDoc {
    public_key: Option<PublicKeyDoc>,
    x509_certificate_chain: Option<ChainDoc>,
    certificate: Option<RawBytes>,
    #[serde(default)]
    tlog_entries: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyDoc {
    raw_bytes: Option<String>,
}

#[derive(Deserialize)]
struct ChainDoc {
    certificates: Vec<RawBytes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes {
    raw_bytes: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeDoc {
    payload: String,
    payload_type: String,
    signatures: Vec<SignatureDoc>,
}

#[derive(Deserialize)]
struct SignatureDoc {
    sig: String,
}

/// Most signatures an envelope may carry, and most certificates a chain.
const MAX_SIGNATURES: usize = 16;
const MAX_CERTIFICATES: usize = 16;

impl Bundle {
    /// Parses a bundle's JSON.
    pub fn parse(bytes: &[u8]) -> Result<Bundle, OmsError> {
        let doc: BundleDoc = serde_json::from_slice(bytes).map_err(|e| OmsError::Bundle {
            what: format!("is not a Sigstore bundle JSON: {e}"),
        })?;
        if !MEDIA_TYPES.contains(&doc.media_type.as_str()) {
            return Err(OmsError::Bundle {
                what: format!(
                    "has mediaType '{}'; expected {}",
                    crate::escape::field(&doc.media_type),
                    MEDIA_TYPES[0]
                ),
            });
        }
        let material = doc.verification_material.ok_or_else(|| OmsError::Bundle {
            what: "has no verificationMaterial (the key, certificate or log entries to check the signature with)".into(),
        })?;
        let envelope = doc.dsse_envelope.ok_or_else(|| OmsError::Bundle {
            what: "has no dsseEnvelope; OMS signs an in-toto statement in a DSSE envelope".into(),
        })?;
        Ok(Bundle {
            material: parse_material(material)?,
            envelope: parse_envelope(envelope)?,
        })
    }
}

fn parse_material(doc: MaterialDoc) -> Result<Material, OmsError> {
    let has_log = doc.tlog_entries.as_ref().is_some_and(|e| !e.is_empty());
    match (doc.public_key, doc.x509_certificate_chain, doc.certificate) {
        (Some(key), None, None) => {
            let embedded_pem = match key.raw_bytes {
                Some(raw) => Some(
                    String::from_utf8(decode("publicKey.rawBytes", &raw)?).map_err(|_| {
                        OmsError::Bundle {
                            what: "has a publicKey.rawBytes that is not PEM text".into(),
                        }
                    })?,
                ),
                None => None,
            };
            Ok(Material::PublicKey { embedded_pem })
        }
        (None, Some(chain), None) if !has_log => {
            if chain.certificates.is_empty() || chain.certificates.len() > MAX_CERTIFICATES {
                return Err(OmsError::Bundle {
                    what: format!(
                        "has {} certificates in x509CertificateChain; 1 to {MAX_CERTIFICATES} are accepted",
                        chain.certificates.len()
                    ),
                });
            }
            let certificates = chain
                .certificates
                .iter()
                .map(|c| decode("a certificate's rawBytes", &c.raw_bytes))
                .collect::<Result<_, _>>()?;
            Ok(Material::Certificates(certificates))
        }
        (None, Some(_), None) | (None, None, Some(_)) if has_log => Ok(Material::Keyless),
        (None, None, Some(_)) => Err(OmsError::Bundle {
            what: "carries a Sigstore certificate but no transparency-log entry (tlogEntries); \
                   a keyless signature without its log entry cannot be checked"
                .into(),
        }),
        _ => Err(OmsError::Bundle {
            what: "has verificationMaterial with none, or more than one, of publicKey, x509CertificateChain and certificate".into(),
        }),
    }
}

fn parse_envelope(doc: EnvelopeDoc) -> Result<Envelope, OmsError> {
    if doc.signatures.is_empty() || doc.signatures.len() > MAX_SIGNATURES {
        return Err(OmsError::Bundle {
            what: format!(
                "has {} signatures in its DSSE envelope; 1 to {MAX_SIGNATURES} are accepted",
                doc.signatures.len()
            ),
        });
    }
    Ok(Envelope {
        payload: decode("dsseEnvelope.payload", &doc.payload)?,
        payload_type: doc.payload_type,
        signatures: doc
            .signatures
            .iter()
            .map(|s| decode("a DSSE signature", &s.sig))
            .collect::<Result<_, _>>()?,
    })
}

fn decode(field: &str, text: &str) -> Result<Vec<u8>, OmsError> {
    STANDARD.decode(text).map_err(|e| OmsError::Bundle {
        what: format!("has a {field} that is not standard base64 ({e})"),
    })
}
