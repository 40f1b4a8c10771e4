//! Ed25519 keys: generation, PKCS#8 / SPKI PEM files, key ids.
//!
//! Private keys are PKCS#8 PEM, encrypted (scrypt + AES-256-CBC, PBES2) unless
//! the user opts out, and written 0600. Keys made by
//! `openssl genpkey -algorithm ed25519 [-aes256]` load as they are.

use crate::digest::Sha256Digest;
use crate::ecdsa_key::{Curve, EcPublicKey, EcSigningKey};
use crate::source::{self, SourceError};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Largest key file accepted, in bytes.
pub const MAX_KEY_BYTES: u64 = 64 * 1024;

/// Errors about keys, each naming the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error(transparent)]
    Read(#[from] SourceError),
    /// The file is not a PEM key of the expected kind.
    #[error("{}: {what}", file.display())]
    Malformed {
        /// The key file.
        file: PathBuf,
        /// What is wrong and what was expected.
        what: String,
    },
    /// The private key is encrypted and the passphrase does not open it.
    #[error("{}: the passphrase does not decrypt this key (or the key is not an Ed25519 PKCS#8 key)", .0.display())]
    WrongPassphrase(PathBuf),
    /// The key is encrypted but no passphrase could be had.
    #[error("{}: the key is encrypted; set MODELSEAL_PASSPHRASE or run on a terminal to be asked", .0.display())]
    NoPassphrase(PathBuf),
    /// keygen would overwrite an existing key.
    #[error("{}: already exists; modelseal never overwrites a key (choose another --out)", .0.display())]
    Exists(PathBuf),
    /// A key file could not be written.
    #[error("cannot write {}: {reason}", file.display())]
    Write {
        /// The file.
        file: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The operating system's random source failed.
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),
}

/// The key id: lowercase hex SHA-256 of the 32 raw public key bytes.
pub fn keyid(key: &VerifyingKey) -> String {
    Sha256Digest::of(key.as_bytes()).to_hex()
}

/// A new key from the operating system's random source.
pub fn generate() -> Result<SigningKey, KeyError> {
    let mut secret = Zeroizing::new([0u8; 32]);
    getrandom::fill(secret.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(SigningKey::from_bytes(&secret))
}

/// The kinds of key `keygen` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// Ed25519: signs `provenance.sig`.
    Ed25519,
    /// ECDSA on a NIST curve: signs OMS bundles.
    Ecdsa(Curve),
}

/// A private key of any kind modelseal signs with.
pub enum SecretKey {
    /// Ed25519 (zeroized on drop).
    Ed25519(SigningKey),
    /// ECDSA on P-256, P-384 or P-521.
    Ecdsa(EcSigningKey),
}

impl SecretKey {
    /// A new key of `algorithm` from the operating system's random source.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<SecretKey, KeyError> {
        match algorithm {
            KeyAlgorithm::Ed25519 => generate().map(SecretKey::Ed25519),
            KeyAlgorithm::Ecdsa(curve) => EcSigningKey::generate(curve)
                .map(SecretKey::Ecdsa)
                .map_err(KeyError::Random),
        }
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        match self {
            SecretKey::Ed25519(key) => PublicKey::Ed25519(key.verifying_key()),
            SecretKey::Ecdsa(key) => PublicKey::Ecdsa(key.public_key()),
        }
    }

    /// Unencrypted PKCS#8 DER. Ed25519 is written as PKCS#8 v1 (RFC 5208),
    /// the seed alone: the v2 form with the public key attached is refused
    /// by OpenSSL 3.0 and by Python `cryptography`.
    fn pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, String> {
        match self {
            SecretKey::Ed25519(key) => {
                let v1 = ed25519_dalek::pkcs8::KeypairBytes {
                    secret_key: key.to_bytes(),
                    public_key: None,
                };
                v1.to_pkcs8_der()
                    .map(|d| Zeroizing::new(d.as_bytes().to_vec()))
                    .map_err(|e| e.to_string())
            }
            SecretKey::Ecdsa(key) => key.to_pkcs8_der(),
        }
    }

    /// Reads unencrypted PKCS#8 DER of any supported kind.
    fn from_pkcs8_der(der: &[u8]) -> Option<SecretKey> {
        if let Ok(key) = SigningKey::from_pkcs8_der(der) {
            return Some(SecretKey::Ed25519(key));
        }
        EcSigningKey::from_pkcs8_der(der).map(SecretKey::Ecdsa)
    }
}

/// The files `keygen` wrote.
#[derive(Debug, Clone)]
pub struct KeyPairFiles {
    /// `PREFIX.key`, mode 0600.
    pub private: PathBuf,
    /// `PREFIX.pub`.
    pub public: PathBuf,
    /// The key id.
    pub keyid: String,
}

/// Writes `PREFIX.key` (PKCS#8 PEM, encrypted when `passphrase` is given, mode
/// 0600) and `PREFIX.pub` (SPKI PEM). Refuses to overwrite either.
pub fn write_key_pair(
    prefix: &Path,
    key: &SecretKey,
    passphrase: Option<&[u8]>,
) -> Result<KeyPairFiles, KeyError> {
    let private = with_suffix(prefix, "key");
    let public = with_suffix(prefix, "pub");
    for path in [&private, &public] {
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(KeyError::Exists(path.clone()));
        }
    }
    let malformed = |what: String| KeyError::Malformed {
        file: private.clone(),
        what,
    };
    let der = key
        .pkcs8_der()
        .map_err(|e| malformed(format!("cannot encode the key: {e}")))?;
    let private_pem = private_key_pem(&der, passphrase)
        .map_err(|e| malformed(format!("cannot encrypt the key: {e}")))?;
    let public_key = key.public_key();
    let public_pem = match &public_key {
        PublicKey::Ed25519(k) => k
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| malformed(format!("cannot encode the public key: {e}")))?,
        PublicKey::Ecdsa(k) => k.to_pem(),
    };
    crate::atomic::create_private_file(&private, private_pem.as_bytes()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists(private.clone())
        } else {
            KeyError::Write {
                file: private.clone(),
                reason: e.to_string(),
            }
        }
    })?;
    crate::atomic::create_public_file(&public, public_pem.as_bytes()).map_err(|e| {
        KeyError::Write {
            file: public.clone(),
            reason: e.to_string(),
        }
    })?;
    Ok(KeyPairFiles {
        private,
        public,
        keyid: public_key.keyid(),
    })
}

/// PKCS#8 PEM: encrypted (scrypt, AES-256-CBC) when a passphrase is given.
fn private_key_pem(der: &[u8], passphrase: Option<&[u8]>) -> Result<Zeroizing<String>, String> {
    use pkcs8::der::Decode as _;
    let (label, document) = match passphrase {
        Some(pass) => {
            let info = pkcs8::PrivateKeyInfoRef::from_der(der).map_err(|e| e.to_string())?;
            let encrypted = info.encrypt(pass).map_err(|e| e.to_string())?;
            (
                "ENCRYPTED PRIVATE KEY",
                Zeroizing::new(encrypted.as_bytes().to_vec()),
            )
        }
        None => ("PRIVATE KEY", Zeroizing::new(der.to_vec())),
    };
    pkcs8::der::pem::encode_string(label, LineEnding::LF, &document)
        .map(Zeroizing::new)
        .map_err(|e| e.to_string())
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// A private key loaded for signing, with anything the user should hear about it.
pub struct LoadedSigningKey {
    /// The key (zeroized on drop).
    pub key: SigningKey,
    /// Warnings, such as a key file readable by others.
    pub warnings: Vec<String>,
}

/// Loads an Ed25519 PKCS#8 PEM private key, the kind `provenance.sig` is
/// signed with. `passphrase` is asked for only when the key is encrypted.
pub fn load_signing_key(
    path: &Path,
    passphrase: impl FnOnce() -> Option<Zeroizing<String>>,
) -> Result<LoadedSigningKey, KeyError> {
    let (key, warnings) = load_secret_key(path, passphrase)?;
    match key {
        SecretKey::Ed25519(key) => Ok(LoadedSigningKey { key, warnings }),
        SecretKey::Ecdsa(key) => Err(KeyError::Malformed {
            file: path.to_path_buf(),
            what: format!(
                "is an ECDSA {} key; provenance.sig is signed with Ed25519 (`modelseal keygen`), \
                 ECDSA keys sign OMS bundles (`modelseal bundle`)",
                key.public_key().curve().name()
            ),
        }),
    }
}

/// Loads a private key of any kind modelseal signs with: PKCS#8 PEM
/// (encrypted or not), or an unencrypted SEC1 `EC PRIVATE KEY`, as
/// `openssl ecparam -genkey` writes. Returns it with the warnings to show.
pub fn load_secret_key(
    path: &Path,
    passphrase: impl FnOnce() -> Option<Zeroizing<String>>,
) -> Result<(SecretKey, Vec<String>), KeyError> {
    let bytes = Zeroizing::new(source::read_bounded(path, MAX_KEY_BYTES, true)?);
    let mut warnings = Vec::new();
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            warnings.push(format!(
                "{} is readable by others (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
    let malformed = |what: &str| KeyError::Malformed {
        file: path.to_path_buf(),
        what: what.to_string(),
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| malformed("not a PEM text file"))?;
    let key = if let Some(pem) = pem_block(text, "ENCRYPTED PRIVATE KEY") {
        check_kdf_cost(pem).map_err(|what| malformed(&what))?;
        let pass = passphrase().ok_or_else(|| KeyError::NoPassphrase(path.to_path_buf()))?;
        let der = decrypt_pkcs8(pem, pass.as_bytes())
            .ok_or_else(|| KeyError::WrongPassphrase(path.to_path_buf()))?;
        SecretKey::from_pkcs8_der(&der)
            .ok_or_else(|| KeyError::WrongPassphrase(path.to_path_buf()))?
    } else if let Some(pem) = pem_block(text, "PRIVATE KEY") {
        let (_, der) = pkcs8::der::pem::decode_vec(pem.as_bytes())
            .map_err(|e| malformed(&format!("not a PEM private key ({e})")))?;
        let der = Zeroizing::new(der);
        SecretKey::from_pkcs8_der(&der).ok_or_else(|| {
            malformed("not an Ed25519 or ECDSA P-256/P-384/P-521 PKCS#8 private key")
        })?
    } else if let Some(pem) = pem_block(text, "EC PRIVATE KEY") {
        EcSigningKey::from_sec1_pem(pem)
            .map(SecretKey::Ecdsa)
            .ok_or_else(|| malformed("not a P-256, P-384 or P-521 SEC1 private key"))?
    } else if text.contains("-----BEGIN PUBLIC KEY-----") {
        return Err(malformed(
            "this is a public key; sign needs the private key (PREFIX.key)",
        ));
    } else {
        return Err(malformed(
            "not a PKCS#8 PEM private key (expected -----BEGIN PRIVATE KEY----- or \
             -----BEGIN ENCRYPTED PRIVATE KEY-----; make one with `modelseal keygen`)",
        ));
    };
    Ok((key, warnings))
}

/// The first PEM block with this label, from its BEGIN line to its END
/// line: tools such as certtool write text around it.
fn pem_block<'t>(text: &'t str, label: &str) -> Option<&'t str> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)?;
    let stop = text[start..].find(&end)? + start + end.len();
    Some(&text[start..stop])
}

/// The PKCS#8 DER inside an encrypted PEM key, or `None` when the
/// passphrase does not open it.
fn decrypt_pkcs8(pem: &str, passphrase: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    use pkcs8::der::Decode as _;
    let (_, der) = pkcs8::der::pem::decode_vec(pem.as_bytes()).ok()?;
    let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(&der).ok()?;
    let document = info.decrypt(passphrase).ok()?;
    Some(Zeroizing::new(document.as_bytes().to_vec()))
}

/// Largest key-derivation costs accepted for an encrypted key. The key file
/// names its own KDF parameters, so a hostile file could ask scrypt for 2^40
/// blocks (terabytes of memory) or PBKDF2 for billions of rounds. These caps
/// are far above what `openssl genpkey -aes256` (PBKDF2, 2,048 rounds) or
/// keygen (scrypt, N = 2^15) write.
const MAX_SCRYPT_MEMORY: u64 = 1 << 30;
const MAX_PBKDF2_ROUNDS: u32 = 10_000_000;

/// Refuses an encrypted key whose KDF would cost too much to even try.
fn check_kdf_cost(pem: &str) -> Result<(), String> {
    use pkcs8::der::Decode;
    use pkcs8::pkcs5::{EncryptionScheme, pbes2::Kdf};
    let (_, der) = pkcs8::der::pem::decode_vec(pem.as_bytes())
        .map_err(|e| format!("not a PEM encrypted private key ({e})"))?;
    let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(&der)
        .map_err(|e| format!("not a PKCS#8 encrypted private key ({e})"))?;
    let EncryptionScheme::Pbes2(params) = &info.encryption_algorithm else {
        return Err(
            "uses legacy PBES1 encryption; re-encrypt it (openssl pkcs8 -topk8 -v2 aes-256-cbc)"
                .into(),
        );
    };
    match &params.kdf {
        Kdf::Pbkdf2(p) if p.iteration_count > MAX_PBKDF2_ROUNDS => Err(format!(
            "asks for {} PBKDF2 rounds, more than the {MAX_PBKDF2_ROUNDS} accepted",
            p.iteration_count
        )),
        // pkcs5 0.8 panics on N = 0 (an underflow taking log2): refuse any N
        // scrypt cannot use before it gets there.
        Kdf::Scrypt(p)
            if p.cost_parameter < 2
                || !p.cost_parameter.is_power_of_two()
                || p.block_size == 0
                || p.parallelization == 0 =>
        {
            Err(format!(
                "asks scrypt for invalid parameters N = {}, r = {}, p = {}",
                p.cost_parameter, p.block_size, p.parallelization
            ))
        }
        Kdf::Scrypt(p) => {
            let memory = 128u64
                .saturating_mul(u64::from(p.block_size))
                .saturating_mul(p.cost_parameter);
            if memory > MAX_SCRYPT_MEMORY || p.parallelization > 16 {
                Err(format!(
                    "asks scrypt for N = {}, r = {}, p = {} (over 1 GiB or p > 16), more than accepted",
                    p.cost_parameter, p.block_size, p.parallelization
                ))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// A public key a policy can trust: Ed25519 signs our manifests; ECDSA
/// signs OpenSSF Model Signing bundles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// Ed25519.
    Ed25519(VerifyingKey),
    /// ECDSA on P-256, P-384 or P-521.
    Ecdsa(EcPublicKey),
}

impl PublicKey {
    /// The key id: hex SHA-256 of the 32 raw bytes (Ed25519) or of the DER
    /// SubjectPublicKeyInfo (ECDSA).
    pub fn keyid(&self) -> String {
        match self {
            PublicKey::Ed25519(key) => keyid(key),
            PublicKey::Ecdsa(key) => key.keyid(),
        }
    }

    /// The signature algorithm: `ed25519`, `ecdsa-p256-sha256`, ….
    pub fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "ed25519",
            PublicKey::Ecdsa(key) => key.curve().algorithm(),
        }
    }
}

/// Parses an SPKI PEM public key (`-----BEGIN PUBLIC KEY-----`): Ed25519,
/// or ECDSA on P-256, P-384 or P-521.
pub fn parse_public_key_pem(text: &str) -> Result<PublicKey, String> {
    if text.contains("PRIVATE KEY-----") {
        return Err("this is a private key; give the public key (PREFIX.pub)".into());
    }
    if !text.contains("-----BEGIN PUBLIC KEY-----") {
        return Err("not an SPKI PEM public key (expected -----BEGIN PUBLIC KEY-----)".into());
    }
    if let Ok(key) = VerifyingKey::from_public_key_pem(text.trim()) {
        return Ok(PublicKey::Ed25519(key));
    }
    let (_, der) = pkcs8::der::pem::decode_vec(text.trim().as_bytes())
        .map_err(|e| format!("not a PEM public key ({e})"))?;
    EcPublicKey::from_spki_der(&der).map(PublicKey::Ecdsa).ok_or_else(|| {
        "not an Ed25519 or ECDSA P-256/P-384/P-521 public key (RSA and other curves are not supported)"
            .to_string()
    })
}

/// Loads an SPKI PEM public key file.
pub fn load_public_key(path: &Path) -> Result<PublicKey, KeyError> {
    let bytes = source::read_bounded(path, MAX_KEY_BYTES, true)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| KeyError::Malformed {
        file: path.to_path_buf(),
        what: "not a PEM text file".into(),
    })?;
    parse_public_key_pem(text).map_err(|what| KeyError::Malformed {
        file: path.to_path_buf(),
        what,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_pair_round_trips_plain_and_encrypted() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate().unwrap();
        let secret = SecretKey::Ed25519(key.clone());
        let plain = write_key_pair(&dir.path().join("plain"), &secret, None).unwrap();
        let loaded = load_signing_key(&plain.private, || None).unwrap();
        assert_eq!(loaded.key.to_bytes(), key.to_bytes());
        assert!(loaded.warnings.is_empty());
        assert_eq!(
            load_public_key(&plain.public).unwrap(),
            PublicKey::Ed25519(key.verifying_key())
        );

        let enc = write_key_pair(&dir.path().join("enc"), &secret, Some(b"pw")).unwrap();
        let pass = || Some(Zeroizing::new("pw".to_string()));
        assert_eq!(
            load_signing_key(&enc.private, pass).unwrap().key.to_bytes(),
            key.to_bytes()
        );
        let wrong = || Some(Zeroizing::new("nope".to_string()));
        assert!(matches!(
            load_signing_key(&enc.private, wrong),
            Err(KeyError::WrongPassphrase(_))
        ));
        assert!(matches!(
            load_signing_key(&enc.private, || None),
            Err(KeyError::NoPassphrase(_))
        ));
        assert!(matches!(
            write_key_pair(&dir.path().join("plain"), &secret, None),
            Err(KeyError::Exists(_))
        ));
    }

    #[test]
    fn ecdsa_key_pairs_round_trip_and_refuse_to_sign_provenance() {
        let dir = tempfile::tempdir().unwrap();
        for curve in [Curve::P256, Curve::P384, Curve::P521] {
            let key = SecretKey::generate(KeyAlgorithm::Ecdsa(curve)).unwrap();
            let prefix = dir.path().join(curve.name());
            let files = write_key_pair(&prefix, &key, Some(b"pw")).unwrap();
            let pass = || Some(Zeroizing::new("pw".to_string()));
            let (loaded, _) = load_secret_key(&files.private, pass).unwrap();
            assert_eq!(loaded.public_key(), key.public_key());
            assert_eq!(load_public_key(&files.public).unwrap(), key.public_key());
            assert_eq!(files.keyid, key.public_key().keyid());
            assert!(matches!(
                load_signing_key(&files.private, pass),
                Err(KeyError::Malformed { .. })
            ));
        }
    }

    #[test]
    fn keyid_is_sha256_of_raw_public_key() {
        let key = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        assert_eq!(keyid(&key), Sha256Digest::of(key.as_bytes()).to_hex());
    }
}
