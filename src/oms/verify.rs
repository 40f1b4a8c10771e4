//! Verification of a model against an OMS bundle, into the same report as a
//! manifest's: level 0 compares the directory with the signed resources,
//! level 1 checks the bundle's signature under the trust policy. A bundle
//! records no lineage, so levels 2 and 3 are not reached from one.

use super::bundle::{Bundle, IN_TOTO_PAYLOAD_TYPE, MAX_BUNDLE_BYTES, Material};
use super::statement::{self, Method, SignedContent, SignedModel};
use super::{BUNDLE_FILE, DEFAULT_IGNORED, OmsError, OmsVerifyError, literal_matcher};
use crate::anchor::AnchorKind;
use crate::ecdsa_key::EcPublicKey;
use crate::hashing::Progress;
use crate::intact::{self, Content, Expectation, ExpectedFile, FileCheckOptions};
use crate::keys::PublicKey;
use crate::manifest::Kind;
use crate::model_dir::ModelDir;
use crate::paths;
use crate::signature::{pae, short_keyid};
use crate::source::{self, SourceError};
use crate::staging::Staging;
use crate::timestamp::Timestamp;
use crate::trust::{SignatureCheck, Tally, TrustPolicy};
use crate::verify::{ModelSummary, Report, SignedFormat};
use crate::walk::{self, Entry, EntryKind, Listing, WalkError};
use crate::x509::{ChainPolicy, verify_chain};
use ignore::gitignore::Gitignore;
use std::path::{Path, PathBuf};

/// What to verify against a bundle, and how.
#[derive(Debug, Clone)]
pub struct OmsOptions<'a> {
    /// The bundle; `None` reads `model.sig` in the model directory.
    pub bundle: Option<&'a Path>,
    /// The level that must hold: 0 or 1.
    pub required_level: u8,
    /// The trust policy; needed for level 1.
    pub policy: Option<&'a TrustPolicy>,
    /// Hashing threads.
    pub jobs: usize,
    /// The time against which keys and certificates are judged.
    pub now: Timestamp,
    /// Paths to ignore beside the signed ones (relative to the model).
    pub ignore_paths: &'a [String],
    /// Let files the bundle does not sign pass unreported (model_signing's
    /// `--ignore_unsigned_files`).
    pub ignore_unsigned_files: bool,
    /// Copy the bundle, and each byte hashed, here (`verify --copy-to`).
    pub copy: Option<&'a Staging>,
    /// With `copy`: copy the files too. False beside a manifest, whose
    /// check copies them.
    pub copy_files: bool,
}

/// The model a bundle is checked against: a directory, or one file.
struct Target {
    /// The directory the signed paths are relative to.
    root: PathBuf,
    /// For a single-file model, its name in `root`.
    single: Option<String>,
}

/// Verifies `model` (a directory, or a single file) against an OMS bundle.
pub fn verify(
    model: &Path,
    options: &OmsOptions<'_>,
    progress: &dyn Progress,
) -> Result<Report, OmsVerifyError> {
    if options.required_level > 1 {
        return Err(OmsVerifyError::Level(options.required_level));
    }
    if options.required_level == 1 && options.policy.is_none() {
        return Err(OmsVerifyError::NoPolicy);
    }
    let target = target_of(model)?;
    let model_dir = ModelDir::new(&target.root);
    let (bundle_path, bundle_bytes) = read_bundle(&model_dir, options.bundle)?;
    let bundle = Bundle::parse(&bundle_bytes)?;
    if let Some(copy) = options.copy {
        // The bundle goes where a verify of the copy looks for it.
        let name = path_inside(&bundle_path, &target.root).unwrap_or_else(|| BUNDLE_FILE.into());
        copy.write_file(&name, &bundle_bytes)?;
    }
    let mut signed = signed_statement(&bundle)?;
    let sig_name = display_name(&bundle_path, &target.root);
    let signatures = match (options.policy, options.required_level) {
        (Some(policy), 1) => Some(check_signatures(
            &bundle,
            &bundle_bytes,
            policy,
            options.now,
            &sig_name,
        )),
        _ => None,
    };
    // A statement the signer made inconsistent is an error; one an
    // attacker altered fails its signature first.
    if signatures.as_ref().is_none_or(|s| s.threshold_met) {
        signed.check_root_digest()?;
    }
    let mut listing = list_target(&model_dir, &target, &mut signed)?;
    if matches!(signed.method, Method::Shards(_)) {
        drop_unsigned_empty_files(&mut listing, &signed);
    }
    let ignore = ignore_matcher(&signed, &target, &bundle_path, options)?;
    let expectation = expectation_of(&signed, ignore);
    let read_contents = signatures.as_ref().is_none_or(|s| s.threshold_met);
    let mut file_options = FileCheckOptions {
        jobs: options.jobs,
        lfs_pointers: false,
        cache: None,
        read_contents,
        copy: options.copy.filter(|_| options.copy_files),
    };
    let (mut problems, files) = intact::compare_expected(
        &target.root,
        &expectation,
        listing,
        &mut file_options,
        progress,
    );
    if progress.cancelled() {
        return Err(OmsVerifyError::Cancelled);
    }
    let mut reached = (problems.is_empty() && files.unread == 0).then_some(0);
    let mut outcomes = Vec::new();
    if let Some(check) = signatures {
        if check.problems.is_empty() && reached == Some(0) {
            reached = Some(1);
        }
        problems.extend(check.problems);
        outcomes = check.outcomes;
    }
    Ok(Report {
        model: ModelSummary {
            name: signed.name.clone(),
            version: String::new(),
            kind: Kind::Model,
        },
        format: SignedFormat::Oms {
            method: bundle.material.method(),
            serialization: match signed.method {
                Method::Files => "files",
                Method::Shards(_) => "shards",
            },
            bundle: sig_name,
            root_digest: signed.root_digest,
        },
        required: options.required_level,
        reached,
        files,
        signatures: outcomes,
        problems,
        lineage: Default::default(),
        bundle: None,
        content: None,
        slice: None,
    })
}

/// The bundle's statement, parsed: an in-toto statement that signs at least one file.
fn signed_statement(bundle: &Bundle) -> Result<statement::SignedModel, OmsVerifyError> {
    if bundle.envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(OmsError::Bundle {
            what: format!(
                "has payloadType '{}'; OMS signs {IN_TOTO_PAYLOAD_TYPE}",
                crate::escape::field(&bundle.envelope.payload_type)
            ),
        }
        .into());
    }
    let signed = statement::parse(&bundle.envelope.payload)?;
    if signed.files.is_empty() {
        return Err(OmsError::Statement {
            what: "signs no file: an empty model proves nothing, so it is never verified".into(),
        }
        .into());
    }
    Ok(signed)
}

fn target_of(model: &Path) -> Result<Target, OmsVerifyError> {
    let meta =
        std::fs::metadata(model).map_err(|_| WalkError::NotADirectory(model.to_path_buf()))?;
    if meta.is_dir() {
        return Ok(Target {
            root: model.to_path_buf(),
            single: None,
        });
    }
    let name = model
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| WalkError::NotADirectory(model.to_path_buf()))?;
    let root = match model.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(Target {
        root,
        single: Some(name.to_string()),
    })
}

/// The bundle's bytes: the one given, or `model.sig` in the directory (read
/// without following a link, as every file of the model).
fn read_bundle(
    model: &ModelDir,
    given: Option<&Path>,
) -> Result<(PathBuf, Vec<u8>), OmsVerifyError> {
    let read = |path: &Path, follow| {
        source::read_bounded(path, MAX_BUNDLE_BYTES, follow).map_err(OmsVerifyError::Read)
    };
    match given {
        Some(path) => Ok((path.to_path_buf(), read(path, true)?)),
        None => {
            let path = model.root().join(BUNDLE_FILE);
            if std::fs::symlink_metadata(&path).is_err() {
                return Err(OmsVerifyError::Read(SourceError::Unreadable {
                    file: path,
                    reason: "no such file; give the bundle with --bundle FILE".into(),
                }));
            }
            let from = model.path_to_read(BUNDLE_FILE).map_err(|reason| {
                OmsVerifyError::Read(SourceError::Unreadable {
                    file: path.clone(),
                    reason: format!("a name that {reason}"),
                })
            })?;
            let bytes = read(&from, false)?;
            Ok((path, bytes))
        }
    }
}

/// How problems name the bundle: relative to the model when inside it.
fn display_name(bundle: &Path, root: &Path) -> String {
    path_inside(bundle, root).unwrap_or_else(|| bundle.display().to_string())
}

/// `path` relative to the model root, when it lies inside it.
pub fn path_inside(bundle: &Path, root: &Path) -> Option<String> {
    let bundle = std::path::absolute(bundle).ok()?;
    let root = std::path::absolute(root).ok()?;
    let rel = bundle.strip_prefix(&root).ok()?;
    let rel = rel.to_str()?.replace(std::path::MAIN_SEPARATOR, "/");
    paths::check_path(&rel).is_ok().then_some(rel)
}

/// The directory's listing, or the single file's; a single file's resource
/// is named "." by model_signing before 1.1, and by its name after.
fn list_target(
    model: &ModelDir,
    target: &Target,
    signed: &mut SignedModel,
) -> Result<Listing, OmsVerifyError> {
    let Some(name) = &target.single else {
        return Ok(walk::list_except(model, &[])?);
    };
    for file in &mut signed.files {
        if file.path == "." {
            file.path = name.clone();
        }
    }
    let meta = std::fs::symlink_metadata(model.root().join(name))
        .map_err(|_| WalkError::NotADirectory(model.root().join(name)))?;
    let kind = if meta.file_type().is_symlink() {
        EntryKind::Symlink
    } else if meta.is_file() {
        EntryKind::File(crate::stamp::FileStamp::from_metadata(&meta))
    } else {
        EntryKind::Special("special file")
    };
    Ok(Listing {
        entries: vec![Entry {
            path: name.clone(),
            kind,
            blob: None,
            ignored: false,
            unsafe_reason: paths::check_path(name).err(),
        }],
        problems: Vec::new(),
    })
}

/// Shards mode lists no shard for an empty file, so an empty file the
/// bundle does not name is no problem there. Dropped from the listing, not
/// turned into ignore patterns: a directory of a million empty files would
/// make a matcher of a million globs.
fn drop_unsigned_empty_files(listing: &mut Listing, signed: &SignedModel) {
    let named: std::collections::HashSet<&str> =
        signed.files.iter().map(|f| f.path.as_str()).collect();
    listing.entries.retain(|entry| {
        let empty = matches!(&entry.kind, EntryKind::File(stamp) if stamp.size == 0);
        !empty || entry.unsafe_reason.is_some() || named.contains(entry.path.as_str())
    });
}

/// The names that need not be signed: the signed `ignore_paths` (each a
/// path and everything under it), git's files, the bundle itself, the
/// caller's; everything, when unsigned files are let through.
fn ignore_matcher(
    signed: &SignedModel,
    target: &Target,
    bundle: &Path,
    options: &OmsOptions<'_>,
) -> Result<Gitignore, OmsVerifyError> {
    if target.single.is_some() {
        return Ok(Gitignore::empty());
    }
    let mut paths: Vec<&str> = signed.ignore_paths.iter().map(String::as_str).collect();
    paths.extend(DEFAULT_IGNORED);
    paths.extend(options.ignore_paths.iter().map(String::as_str));
    let bundle_rel = path_inside(bundle, &target.root);
    paths.extend(bundle_rel.as_deref());
    Ok(literal_matcher(&paths, options.ignore_unsigned_files)?)
}

fn expectation_of(signed: &SignedModel, ignore: Gitignore) -> Expectation<'_> {
    let files = signed
        .files
        .iter()
        .map(|file| ExpectedFile {
            path: &file.path,
            size: file.size,
            content: match &file.content {
                SignedContent::Whole(digest) => Content::Whole(digest),
                SignedContent::Shards(shards) => Content::Shards(shards),
            },
            place: file.resource,
        })
        .collect();
    Expectation {
        files,
        ignore,
        shard_size: match signed.method {
            Method::Shards(size) => size,
            Method::Files => u64::MAX,
        },
        place_label: "resource",
        unlisted_fix: "the bundle does not sign it: remove it, re-sign the model, or pass \
                       --ignore-path if it is no part of the model",
    }
}

/// Level 1 for a bundle: each DSSE signature over the PAE, by the method
/// its verification material names.
fn check_signatures(
    bundle: &Bundle,
    bundle_bytes: &[u8],
    policy: &TrustPolicy,
    now: Timestamp,
    sig_name: &str,
) -> SignatureCheck {
    let message = pae(&bundle.envelope.payload_type, &bundle.envelope.payload);
    let mut tally = Tally::new(policy, now, sig_name);
    if let Material::Keyless = &bundle.material {
        record_keyless_signature(&mut tally, policy, bundle, bundle_bytes);
        return tally.finish();
    }
    for (index, signature) in bundle.envelope.signatures.iter().enumerate() {
        match &bundle.material {
            Material::PublicKey { embedded_pem } => {
                record_key_signature(&mut tally, policy, &message, signature, embedded_pem, index);
            }
            Material::Certificates(chain) => {
                let signed = Signed {
                    message: &message,
                    signature,
                    index,
                };
                record_certificate_signature(&mut tally, policy, &signed, chain, now);
            }
            Material::Keyless => {}
        }
    }
    tally.finish()
}

/// One DSSE signature to check.
struct Signed<'a> {
    message: &'a [u8],
    signature: &'a [u8],
    index: usize,
}

/// The certificate method: the chain must lead to a CA the policy names,
/// every certificate valid now, the leaf match the anchor's identity where
/// it pins one, and the leaf's key verify the signature.
fn record_certificate_signature(
    tally: &mut Tally<'_>,
    policy: &TrustPolicy,
    signed: &Signed<'_>,
    chain: &[Vec<u8>],
    now: Timestamp,
) {
    let number = signed.index + 1;
    let mut refusals = Vec::new();
    for anchor in &policy.anchors {
        let AnchorKind::CertificateAuthority { roots, identity } = &anchor.kind else {
            continue;
        };
        match certificate_signer(chain, roots, identity.as_deref(), signed, now) {
            Ok(leaf) => {
                let label = format!(
                    "{} (certificate {})",
                    anchor.name,
                    crate::escape::field(&leaf)
                );
                tally.record(&anchor.id, None, label, Ok(()));
                return;
            }
            Err(why) => refusals.push(format!("{}: {why}", anchor.name)),
        }
    }
    let none_named = "the bundle is signed by the certificate method, and the policy names no \
                      certificate authority (pass --ca CA.pem, or add a [[ca]] to trust.toml)";
    record_refused(tally, &format!("signature {number}"), &refusals, none_named);
}

/// Records a signature no signer of the policy accepted: why each refused
/// it, or, when the policy names none of the method's signers, which to add.
fn record_refused(tally: &mut Tally<'_>, label: &str, refusals: &[String], none_named: &str) {
    let why = if refusals.is_empty() {
        none_named.to_string()
    } else {
        refusals.join("; ")
    };
    tally.record("", None, label.to_string(), Err(format!("{label}: {why}")));
}

/// The leaf's subject when the chain, the identity and the signature hold.
fn certificate_signer(
    chain: &[Vec<u8>],
    roots: &[Vec<u8>],
    identity: Option<&str>,
    signed: &Signed<'_>,
    now: Timestamp,
) -> Result<String, String> {
    let [leaf, intermediates @ ..] = chain else {
        return Err("the bundle carries no certificate".into());
    };
    let policy = ChainPolicy {
        roots,
        at_unix: now.instant().unix_timestamp(),
    };
    let verified = verify_chain(leaf, intermediates, &policy).map_err(|e| e.to_string())?;
    if let Some(identity) = identity
        && verified.subject != identity
        && !verified.sans.iter().any(|san| san == identity)
    {
        return Err(format!(
            "the certificate is for {} ({}), not {identity}",
            verified.subject,
            verified.sans.join(", ")
        ));
    }
    let key = EcPublicKey::from_spki_der(&verified.spki_der)
        .ok_or("the certificate's key is not ECDSA P-256, P-384 or P-521")?;
    if !key.verifies(signed.message, signed.signature) {
        return Err(format!(
            "the signature does not verify with the key of certificate {}: the payload or signature was altered",
            verified.subject
        ));
    }
    Ok(verified.subject)
}

/// Sigstore keyless: the bundle must verify offline against one of the
/// policy's Sigstore identities, and the payload it vouches for must be
/// the one read here.
fn record_keyless_signature(
    tally: &mut Tally<'_>,
    policy: &TrustPolicy,
    bundle: &Bundle,
    bundle_bytes: &[u8],
) {
    let mut refusals = Vec::new();
    for anchor in &policy.anchors {
        let AnchorKind::Sigstore {
            trusted_root,
            identity,
            issuer,
        } = &anchor.kind
        else {
            continue;
        };
        match keyless_signer(bundle, bundle_bytes, trusted_root, identity, issuer) {
            Ok(label) => {
                tally.record(
                    &anchor.id,
                    None,
                    format!("{} ({label})", anchor.name),
                    Ok(()),
                );
                return;
            }
            Err(why) => refusals.push(format!("{}: {why}", anchor.name)),
        }
    }
    let none_named = "the bundle is signed by Sigstore (keyless), and the policy names no \
                      Sigstore identity (pass --sigstore-root trusted_root.json --identity ID \
                      --issuer URL, or add a [[sigstore]] to trust.toml)";
    record_refused(tally, "the keyless signature", &refusals, none_named);
}

#[cfg(feature = "sigstore")]
fn keyless_signer(
    bundle: &Bundle,
    bundle_bytes: &[u8],
    trusted_root: &[u8],
    identity: &str,
    issuer: &str,
) -> Result<String, String> {
    use super::sigstore::{KeylessIdentity, verify_keyless};
    let expected = KeylessIdentity {
        identity: identity.to_string(),
        issuer: issuer.to_string(),
    };
    let (signer, payload_type, payload) =
        verify_keyless(bundle_bytes, trusted_root, &expected).map_err(|e| e.to_string())?;
    // Both parsers read the same bytes; a difference would mean one of them
    // was fooled, so nothing counts.
    if payload_type != bundle.envelope.payload_type || payload != bundle.envelope.payload {
        return Err("the Sigstore verifier read another payload than modelseal did".into());
    }
    Ok(format!(
        "{} via {}, Rekor log index {}",
        crate::escape::field(&signer.identity),
        crate::escape::field(&signer.issuer),
        signer.log_index
    ))
}

#[cfg(not(feature = "sigstore"))]
fn keyless_signer(_: &Bundle, _: &[u8], _: &[u8], _: &str, _: &str) -> Result<String, String> {
    Err("this modelseal was built without the `sigstore` feature, so it cannot check keyless signatures".into())
}

/// The key method: the signature counts for the policy key it verifies
/// with. A key the bundle carries only tells an untrusted signer from a
/// broken signature; it is never trusted.
fn record_key_signature(
    tally: &mut Tally<'_>,
    policy: &TrustPolicy,
    message: &[u8],
    signature: &[u8],
    embedded_pem: &Option<String>,
    index: usize,
) {
    let by_policy = policy.keys.iter().find(|k| match &k.key {
        PublicKey::Ecdsa(key) => key.verifies(message, signature),
        PublicKey::Ed25519(_) => false,
    });
    if let Some(key) = by_policy {
        tally.record(&key.keyid, None, key.name.clone(), Ok(()));
        return;
    }
    let embedded = embedded_pem
        .as_deref()
        .and_then(|pem| crate::keys::parse_public_key_pem(pem).ok())
        .and_then(|key| match key {
            PublicKey::Ecdsa(key) => Some(key),
            PublicKey::Ed25519(_) => None,
        })
        .filter(|key: &EcPublicKey| key.verifies(message, signature));
    if let Some(key) = embedded {
        let keyid = key.keyid();
        let label = format!("the key the bundle carries ({})", short_keyid(&keyid));
        tally.record(&keyid, None, label, Ok(()));
        return;
    }
    let ec_keys = policy
        .keys
        .iter()
        .filter(|k| matches!(k.key, PublicKey::Ecdsa(_)))
        .count();
    let why = if ec_keys == 0 {
        "the bundle is signed by the key method, and the policy names no ECDSA key (pass --key \
         PUBLIC.pem, or add its [[key]] to trust.toml)"
            .to_string()
    } else {
        format!(
            "verifies with none of the policy's {ec_keys} ECDSA key(s): the bundle was signed with \
             another key, or its payload or signature was altered"
        )
    };
    let number = index + 1;
    tally.record(
        "",
        None,
        format!("signature {number}"),
        Err(format!("signature {number}: {why}")),
    );
}
