//! OpenSSF Model Signing bundles exchanged with the real `model_signing`
//! (PyPI model-signing 1.1.1, installed by .ci/run): what it signs modelseal
//! verifies, what modelseal signs it verifies, and what modelseal must refuse
//! in its bundles is refused for the right reason. Keys and certificate
//! chains come from Python's `cryptography`, never from us.

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use sha2::Digest as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// Makes keys and certificate chains with `cryptography`:
/// `key CURVE PREFIX` writes PREFIX.pem (PKCS#8) and PREFIX.pub.pem (SPKI);
/// `chain PREFIX LEAF_CURVE valid|expired ROOT_CN` writes PREFIX{root,
/// intermediate,leaf,chain}.pem and PREFIXleaf.key.
const MAKE_KEYS: &str = r#"
import datetime, os, sys
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

CURVES = {"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}
NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)

def write_key(key, path):
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(path, 0o600)

def write_pub(key, path):
    with open(path, "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))

def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

def usage(sign, cert_sign):
    return x509.KeyUsage(digital_signature=sign, content_commitment=False,
                         key_encipherment=False, data_encipherment=False,
                         key_agreement=False, key_cert_sign=cert_sign,
                         crl_sign=cert_sign, encipher_only=False, decipher_only=False)

def cert(subject, key, issuer, issuer_key, ca, not_before, not_after):
    b = (x509.CertificateBuilder()
         .subject_name(name(subject)).issuer_name(name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False))
    if ca:
        b = (b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(usage(False, True), critical=True))
    else:
        b = (b.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(usage(True, False), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
              .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("release@example.com")]), critical=False))
    return b.sign(issuer_key, hashes.SHA384())

def pem(c):
    return c.public_bytes(serialization.Encoding.PEM)

if sys.argv[1] == "key":
    key = ec.generate_private_key(CURVES[sys.argv[2]])
    write_key(key, sys.argv[3] + ".pem")
    write_pub(key, sys.argv[3] + ".pub.pem")
else:
    out, leaf_curve, validity, root_cn = sys.argv[2:6]
    root_key = ec.generate_private_key(ec.SECP384R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(CURVES[leaf_curve])
    # The CAs are valid long before and after the leaf.
    root = cert(root_cn, root_key, root_cn, root_key, True, NOW - 400 * DAY, NOW + 3650 * DAY)
    inter = cert("intermediate", inter_key, root_cn, root_key, True, NOW - 400 * DAY, NOW + 3650 * DAY)
    if validity == "expired":
        leaf = cert("leaf", leaf_key, "intermediate", inter_key, False, NOW - 30 * DAY, NOW - DAY)
    else:
        leaf = cert("leaf", leaf_key, "intermediate", inter_key, False, NOW - DAY, NOW + 365 * DAY)
    for part, data in [("root", pem(root)), ("intermediate", pem(inter)),
                       ("leaf", pem(leaf)), ("chain", pem(leaf) + pem(inter))]:
        with open(out + part + ".pem", "wb") as f:
            f.write(data)
    write_key(leaf_key, out + "leaf.key")
"#;

/// Fails, naming how to install it, when `model_signing` is not on PATH.
fn require_model_signing() {
    static FOUND: OnceLock<Result<(), String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let out = std::process::Command::new("model_signing")
            .arg("--version")
            .output();
        match out {
            Ok(o) if o.status.success() => Ok(()),
            _ => Err("model_signing is not installed: `python3 -m pip install \
                      model-signing==1.1.1 pyOpenSSL` (as .ci/run does)"
                .into()),
        }
    });
    if let Err(e) = found {
        panic!("{e}");
    }
}

/// The real `model_signing`, run from `cwd` (it resolves relative paths,
/// `--ignore-paths` among them, against the working directory).
fn model_signing(cwd: &Path) -> assert_cmd::Command {
    require_model_signing();
    let mut cmd = assert_cmd::Command::new("model_signing");
    cmd.current_dir(cwd).timeout(Duration::from_secs(120));
    cmd
}

/// Runs `model_signing ARGS`, which must succeed.
fn model_signing_ok(cwd: &Path, args: &[&str]) {
    let out = model_signing(cwd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "model_signing {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the key-and-chain script with `args`.
fn make_keys(s: &Scratch, args: &[&str]) {
    require_model_signing();
    let script = s.path("make_keys.py");
    if !script.exists() {
        std::fs::write(&script, MAKE_KEYS).unwrap();
    }
    let out = std::process::Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "make_keys.py {args:?}: {} (python3 needs `cryptography`: `python3 -m pip install cryptography`, as .ci/run does)",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// An ECDSA key pair from `cryptography`: (private PEM, public PEM).
fn ec_key(s: &Scratch, name: &str, curve: &str) -> (PathBuf, PathBuf) {
    let prefix = s.path(name);
    make_keys(s, &["key", curve, p(&prefix)]);
    (
        s.path(&format!("{name}.pem")),
        s.path(&format!("{name}.pub.pem")),
    )
}

/// A root CA, an intermediate CA and a code-signing leaf from `cryptography`.
struct Chain {
    root: PathBuf,
    intermediate: PathBuf,
    leaf: PathBuf,
    /// The leaf, then the intermediate.
    chain: PathBuf,
    key: PathBuf,
}

fn chain(s: &Scratch, name: &str, leaf_curve: &str, validity: &str, root_cn: &str) -> Chain {
    let prefix = format!("{}-", p(&s.path(name)));
    make_keys(s, &["chain", &prefix, leaf_curve, validity, root_cn]);
    let part = |n: &str| PathBuf::from(format!("{prefix}{n}"));
    Chain {
        root: part("root.pem"),
        intermediate: part("intermediate.pem"),
        leaf: part("leaf.pem"),
        chain: part("chain.pem"),
        key: part("leaf.key"),
    }
}

/// `model_signing sign key DIR`, writing DIR/model.sig.
fn ms_sign_key(s: &Scratch, dir: &Path, key: &Path, extra: &[&str]) {
    let sig = dir.join("model.sig");
    let mut args = vec!["sign", "key", p(dir), "--signature", p(&sig)];
    args.extend(["--private_key", p(key)]);
    args.extend(extra);
    model_signing_ok(s.temp.path(), &args);
}

/// `model_signing sign certificate DIR`, writing DIR/model.sig.
fn ms_sign_certificate(s: &Scratch, dir: &Path, chain: &Chain) {
    let sig = dir.join("model.sig");
    model_signing_ok(
        s.temp.path(),
        &[
            "sign",
            "certificate",
            p(dir),
            "--signature",
            p(&sig),
            "--private_key",
            p(&chain.key),
            "--signing_certificate",
            p(&chain.leaf),
            "--certificate_chain",
            p(&chain.intermediate),
        ],
    );
}

/// `model_signing verify key DIR`: (success, its output).
fn ms_verify_key(s: &Scratch, dir: &Path, public: &Path, extra: &[&str]) -> (bool, String) {
    let sig = dir.join("model.sig");
    let mut args = vec!["verify", "key", p(dir), "--signature", p(&sig)];
    args.extend(["--public_key", p(public)]);
    args.extend(extra);
    let out = model_signing(s.temp.path()).args(&args).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `modelseal keygen --algorithm ALG`: (private, public).
fn our_key(s: &Scratch, name: &str, algorithm: &str) -> (PathBuf, PathBuf) {
    let prefix = s.path(name);
    modelseal()
        .args([
            "keygen",
            "--no-passphrase",
            "--algorithm",
            algorithm,
            "--out",
        ])
        .arg(&prefix)
        .assert()
        .success();
    (prefix.with_extension("key"), prefix.with_extension("pub"))
}

/// `modelseal bundle DIR --key KEY EXTRA...`, which must succeed.
fn our_bundle(dir: &Path, key: &Path, extra: &[&str]) {
    modelseal()
        .arg("bundle")
        .arg(dir)
        .arg("--key")
        .arg(key)
        .args(extra)
        .assert()
        .success();
}

/// The kinds of a report's problems, in order.
fn kinds(report: &Value) -> Vec<String> {
    problems(report).into_iter().map(|(k, _)| k).collect()
}

/// Asserts a passing OMS verification of the 5-file model.
fn assert_verified(report: &Value, code: i32, method: &str) {
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["format"], "oms", "{report}");
    assert_eq!(report["oms"]["method"], method, "{report}");
    assert_eq!(report["oms"]["serialization"], "files", "{report}");
    assert_eq!(report["level"]["reached"], 1, "{report}");
    assert_eq!(report["files"]["checked"], 5, "{report}");
    assert_eq!(report["signatures"][0]["status"], "valid", "{report}");
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
}

/// Asserts a refusal because the signature does not hold: no content read.
fn assert_signature_refused(report: &Value, code: i32, reason: &str) {
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(
        kinds(report),
        ["bad_signature", "threshold_not_met"],
        "{report}"
    );
    assert_eq!(report["problems"][0]["path"], "model.sig", "{report}");
    let message = report["problems"][0]["message"].as_str().unwrap();
    assert!(message.contains(reason), "{reason:?} not in {message:?}");
    // The signature did not hold, so no byte of the model was read.
    assert_eq!(report["files"]["checked"], 0, "{report}");
    assert_eq!(report["level"]["reached"], Value::Null, "{report}");
}

/// A model with a model_signing key bundle (P-256), and its public key.
fn peer_signed_model(s: &Scratch) -> (PathBuf, PathBuf) {
    let dir = s.model();
    let (key, public) = ec_key(s, "peer", "p256");
    ms_sign_key(s, &dir, &key, &[]);
    (dir, public)
}

/// Reads the bundle, lets `edit` change its decoded in-toto statement, and
/// writes it back re-encoded (the DSSE signature is left as it was).
fn edit_statement(bundle: &Path, edit: impl FnOnce(&mut Value)) {
    let mut json: Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let payload = json["dsseEnvelope"]["payload"].as_str().unwrap();
    let mut statement: Value = serde_json::from_slice(&BASE64.decode(payload).unwrap()).unwrap();
    edit(&mut statement);
    json["dsseEnvelope"]["payload"] =
        Value::String(BASE64.encode(serde_json::to_vec(&statement).unwrap()));
    std::fs::write(bundle, serde_json::to_vec(&json).unwrap()).unwrap();
}

/// The root digest of the files serialization: SHA-256 over the resources'
/// digests in name order (as model_signing computes it).
fn root_digest(statement: &Value) -> String {
    let mut resources: Vec<&Value> = statement["predicate"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    resources.sort_by_key(|r| r["name"].as_str().unwrap().to_string());
    let mut hasher = sha2::Sha256::new();
    for r in resources {
        hasher.update(hex::decode(r["digest"].as_str().unwrap()).unwrap());
    }
    hex::encode(hasher.finalize())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn statement_of(bundle: &Path) -> Value {
    let json: Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let payload = json["dsseEnvelope"]["payload"].as_str().unwrap();
    serde_json::from_slice(&BASE64.decode(payload).unwrap()).unwrap()
}

// ---- A: bundles model_signing makes verify with modelseal ----

#[test]
fn model_signing_key_bundles_verify_with_modelseal_on_every_curve() {
    for curve in ["p256", "p384", "p521"] {
        let s = Scratch::new();
        let dir = s.model();
        let (key, public) = ec_key(&s, "peer", curve);
        ms_sign_key(&s, &dir, &key, &[]);
        let (report, code) = verify_json(&dir, &["--key", p(&public)]);
        assert_verified(&report, code, "key");
        // Its own root digest is the one modelseal reports.
        let statement = statement_of(&dir.join("model.sig"));
        assert_eq!(
            report["oms"]["root_digest"], statement["subject"][0]["digest"]["sha256"],
            "{curve}"
        );
    }
}

#[test]
fn a_path_model_signing_ignores_at_signing_is_not_required_by_modelseal() {
    let s = Scratch::new();
    let dir = s.model();
    write(&dir.join("logs/run.log"), b"step 1\n");
    let (key, public) = ec_key(&s, "peer", "p384");
    let ignored = dir.join("logs/run.log");
    ms_sign_key(&s, &dir, &key, &["--ignore-paths", p(&ignored)]);
    let statement = statement_of(&dir.join("model.sig"));
    let signed_ignores = statement["predicate"]["serialization"]["ignore_paths"].to_string();
    assert!(signed_ignores.contains("logs/run.log"), "{signed_ignores}");

    let (report, code) = verify_json(&dir, &["--key", p(&public)]);
    assert_verified(&report, code, "key");
    // Changed, then gone: still not required.
    write(&ignored, b"step 2\n");
    let (report, code) = verify_json(&dir, &["--key", p(&public)]);
    assert_verified(&report, code, "key");
    std::fs::remove_file(&ignored).unwrap();
    let (report, code) = verify_json(&dir, &["--key", p(&public)]);
    assert_verified(&report, code, "key");
    // Only that path is ignored: another new file in logs/ is not.
    write(&dir.join("logs/other.log"), b"x\n");
    let (report, code) = verify_json(&dir, &["--key", p(&public)]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [("unexpected_file".to_string(), "logs/other.log".to_string())],
        "{report}"
    );
}

#[test]
fn model_signing_certificate_bundles_verify_with_modelseal_against_the_root() {
    for leaf_curve in ["p256", "p384"] {
        let s = Scratch::new();
        let dir = s.model();
        let chain = chain(&s, "pki", leaf_curve, "valid", "root");
        ms_sign_certificate(&s, &dir, &chain);
        let (report, code) = verify_json(&dir, &["--ca", p(&chain.root)]);
        assert_verified(&report, code, "certificate");

        // The leaf's subject, as modelseal writes it, and its SAN pass.
        for identity in ["CN=leaf", "release@example.com"] {
            let (report, code) =
                verify_json(&dir, &["--ca", p(&chain.root), "--cert-identity", identity]);
            assert_verified(&report, code, "certificate");
        }
        // Another identity does not, and no content is read.
        let (report, code) = verify_json(
            &dir,
            &["--ca", p(&chain.root), "--cert-identity", "CN=someone-else"],
        );
        assert_signature_refused(&report, code, "CN=leaf");
    }
}

// ---- B: bundles modelseal makes verify with model_signing ----

#[test]
fn modelseal_key_bundles_verify_with_model_signing_on_every_curve() {
    for algorithm in ["p256", "p384", "p521"] {
        let s = Scratch::new();
        let dir = s.model();
        let (key, public) = our_key(&s, "ours", algorithm);
        our_bundle(&dir, &key, &[]);
        let (ok, out) = ms_verify_key(&s, &dir, &public, &[]);
        assert!(ok, "{algorithm}: model_signing refused: {out}");
        assert!(out.contains("Verification succeeded"), "{algorithm}: {out}");
        // The peer's check is not vacuous: a flipped byte fails it.
        let weights = dir.join("model.safetensors");
        let mut bytes = std::fs::read(&weights).unwrap();
        bytes[100] ^= 1;
        std::fs::write(&weights, &bytes).unwrap();
        let (ok, out) = ms_verify_key(&s, &dir, &public, &[]);
        assert!(
            !ok,
            "{algorithm}: model_signing accepted a flipped byte: {out}"
        );
    }
}

#[test]
fn a_path_modelseal_ignores_at_bundling_is_ignored_by_model_signing() {
    let s = Scratch::new();
    let dir = s.model();
    write(&dir.join("logs/run.log"), b"step 1\n");
    let (key, public) = our_key(&s, "ours", "p256");
    our_bundle(&dir, &key, &["--ignore-path", "logs"]);
    write(&dir.join("logs/run.log"), b"step 2\n");
    let (ok, out) = ms_verify_key(&s, &dir, &public, &[]);
    assert!(ok, "model_signing refused: {out}");
    let (report, code) = verify_json(&dir, &["--key", p(&public)]);
    assert_verified(&report, code, "key");
}

#[test]
fn modelseal_certificate_bundles_verify_with_model_signing() {
    for leaf_curve in ["p256", "p384"] {
        let s = Scratch::new();
        let dir = s.model();
        let chain = chain(&s, "pki", leaf_curve, "valid", "root");
        our_bundle(&dir, &chain.key, &["--certificate", p(&chain.chain)]);
        let sig = dir.join("model.sig");
        let out = model_signing(s.temp.path())
            .args(["verify", "certificate", p(&dir), "--signature", p(&sig)])
            .args(["--certificate_chain", p(&chain.root)])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{leaf_curve}: model_signing refused: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let (report, code) = verify_json(
            &dir,
            &["--ca", p(&chain.root), "--cert-identity", "CN=leaf"],
        );
        assert_verified(&report, code, "certificate");
    }
}

#[test]
fn model_signing_accepts_a_modelseal_bundle_beside_provenance_files() {
    let s = Scratch::new();
    let dir = s.model();
    modelseal()
        .args(["init", "--name", "acme/x", "--version", "1.0.0"])
        .arg(&dir)
        .assert()
        .success();
    let (ed_key, ed_public) = our_key(&s, "ed", "ed25519");
    sign_with(&dir, &ed_key);
    let (key, public) = our_key(&s, "ours", "p256");
    our_bundle(&dir, &key, &[]);

    // modelseal names its own files among the signed ignore paths...
    let statement = statement_of(&dir.join("model.sig"));
    let ignores = &statement["predicate"]["serialization"]["ignore_paths"];
    for name in ["provenance.toml", "provenance.sig", "model.sig"] {
        assert!(
            ignores.as_array().unwrap().iter().any(|p| p == name),
            "{name} not in {ignores}"
        );
    }
    // ...so model_signing, which reads them from the bundle, accepts it.
    let (ok, out) = ms_verify_key(&s, &dir, &public, &[]);
    assert!(ok, "model_signing refused: {out}");
    // And modelseal verifies the manifest and the bundle beside it.
    let (report, code) = verify_json(&dir, &["--key", p(&ed_public), "--key", p(&public)]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["files"]["checked"], 5, "{report}");
}

#[test]
fn init_after_bundle_leaves_model_sig_out_of_the_manifest() {
    let s = Scratch::new();
    let dir = s.model();
    let (key, public) = our_key(&s, "ours", "p256");
    our_bundle(&dir, &key, &[]);
    modelseal()
        .args(["init", "--name", "acme/x", "--version", "1.0.0"])
        .arg(&dir)
        .assert()
        .success();
    let manifest = std::fs::read_to_string(dir.join("provenance.toml")).unwrap();
    assert!(!manifest.contains("model.sig"), "{manifest}");
    let (ed_key, ed_public) = our_key(&s, "ed", "ed25519");
    sign_with(&dir, &ed_key);
    // The bundle from before init still holds for both tools: the
    // provenance files are in its signed ignore paths.
    let (ok, out) = ms_verify_key(&s, &dir, &public, &[]);
    assert!(ok, "model_signing refused: {out}");
    let (report, code) = verify_json(&dir, &["--key", p(&ed_public), "--key", p(&public)]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true, "{report}");
}

// ---- C: what modelseal must refuse in model_signing's bundles ----

#[test]
fn a_flipped_byte_in_a_model_signing_bundle_is_a_hash_mismatch_on_that_path() {
    let s = Scratch::new();
    let (dir, public) = peer_signed_model(&s);
    let notes = dir.join("extra/notes.txt");
    let mut bytes = std::fs::read(&notes).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&notes, bytes).unwrap();
    let (report, code) = verify_json(&dir, &["--key", p(&public)]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(
        problems(&report),
        [("hash_mismatch".to_string(), "extra/notes.txt".to_string())],
        "{report}"
    );
    // The signature itself held.
    assert_eq!(report["signatures"][0]["status"], "valid", "{report}");
}

#[test]
fn an_added_file_is_unexpected_unless_unsigned_files_are_let_pass() {
    let s = Scratch::new();
    let (dir, public) = peer_signed_model(&s);
    write(&dir.join("extra/new.bin"), b"new\n");
    let (report, code) = verify_json(&dir, &["--key", p(&public)]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [("unexpected_file".to_string(), "extra/new.bin".to_string())],
        "{report}"
    );
    // model_signing's --ignore_unsigned_files, the same way.
    let (ok, _) = ms_verify_key(&s, &dir, &public, &[]);
    assert!(!ok, "model_signing accepted an added file");
    let (report, code) = verify_json(&dir, &["--key", p(&public), "--ignore-unsigned-files"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["files"]["checked"], 5, "{report}");
}

#[test]
fn a_removed_file_is_missing() {
    let s = Scratch::new();
    let (dir, public) = peer_signed_model(&s);
    std::fs::remove_file(dir.join("config.json")).unwrap();
    let (report, code) = verify_json(&dir, &["--key", p(&public)]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [("missing_file".to_string(), "config.json".to_string())],
        "{report}"
    );
}

#[test]
fn the_wrong_key_is_a_bad_signature_and_no_content_is_read() {
    let s = Scratch::new();
    let (dir, _) = peer_signed_model(&s);
    let (_, other) = ec_key(&s, "other", "p256");
    let (report, code) = verify_json(&dir, &["--key", p(&other)]);
    assert_signature_refused(&report, code, "ECDSA key");
}

#[test]
fn the_wrong_ca_is_a_bad_signature() {
    let s = Scratch::new();
    let dir = s.model();
    let signer = chain(&s, "pki", "p256", "valid", "root");
    ms_sign_certificate(&s, &dir, &signer);
    // Another root of the same name: the intermediate's signature fails.
    let same_name = chain(&s, "pki2", "p256", "valid", "root");
    let (report, code) = verify_json(&dir, &["--ca", p(&same_name.root)]);
    assert_signature_refused(&report, code, "does not verify");
    // A root of another name: no issuer is found.
    let other_name = chain(&s, "pki3", "p384", "valid", "another root");
    let (report, code) = verify_json(&dir, &["--ca", p(&other_name.root)]);
    assert_signature_refused(&report, code, "no issuer found");
}

#[test]
fn an_expired_leaf_model_signing_signs_with_is_refused() {
    let s = Scratch::new();
    let dir = s.model();
    let expired = chain(&s, "pki", "p256", "expired", "root");
    // model_signing signs with an expired leaf (a gap in 1.1.1)...
    ms_sign_certificate(&s, &dir, &expired);
    // ...modelseal refuses it, saying why.
    let (report, code) = verify_json(&dir, &["--ca", p(&expired.root)]);
    assert_signature_refused(&report, code, "expired");
}

#[test]
fn an_edited_payload_no_longer_verifies() {
    let s = Scratch::new();
    let (dir, public) = peer_signed_model(&s);
    // A consistent forgery: the file, its digest and the root digest all
    // changed together; only the signature tells.
    write(&dir.join("config.json"), b"{\"model_type\": \"evil\"}\n");
    edit_statement(&dir.join("model.sig"), |statement| {
        for r in statement["predicate"]["resources"].as_array_mut().unwrap() {
            if r["name"] == "config.json" {
                r["digest"] = Value::String(sha256_hex(b"{\"model_type\": \"evil\"}\n"));
            }
        }
        statement["subject"][0]["digest"]["sha256"] = Value::String(root_digest(statement));
    });
    let (report, code) = verify_json(&dir, &["--key", p(&public)]);
    assert_signature_refused(&report, code, "altered");
}

#[test]
fn an_edited_digest_alone_is_refused() {
    let s = Scratch::new();
    let (dir, public) = peer_signed_model(&s);
    edit_statement(&dir.join("model.sig"), |statement| {
        statement["predicate"]["resources"][0]["digest"] = Value::String("00".repeat(32));
    });
    let (report, code) = verify_json(&dir, &["--key", p(&public)]);
    // A tampered payload is a bad signature, not a malformed file.
    assert_signature_refused(&report, code, "altered");
}

#[test]
fn a_bad_root_digest_is_refused() {
    let s = Scratch::new();
    let (dir, public) = peer_signed_model(&s);
    edit_statement(&dir.join("model.sig"), |statement| {
        statement["subject"][0]["digest"]["sha256"] = Value::String("00".repeat(32));
    });
    let (report, code) = verify_json(&dir, &["--key", p(&public)]);
    assert_signature_refused(&report, code, "altered");
}

#[test]
fn modelseal_refuses_to_bundle_with_an_expired_leaf() {
    let s = Scratch::new();
    let dir = s.model();
    let expired = chain(&s, "pki", "p256", "expired", "root");
    let out = modelseal()
        .arg("bundle")
        .arg(&dir)
        .arg("--key")
        .arg(&expired.key)
        .arg("--certificate")
        .arg(&expired.chain)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not now; renew it"), "{stderr}");
    assert!(!dir.join("model.sig").exists());
}

#[test]
fn a_truncated_bundle_is_an_input_error() {
    let s = Scratch::new();
    let (dir, public) = peer_signed_model(&s);
    let bundle = dir.join("model.sig");
    let bytes = std::fs::read(&bundle).unwrap();
    std::fs::write(&bundle, &bytes[..bytes.len() / 2]).unwrap();
    let (report, code) = verify_json(&dir, &["--key", p(&public)]);
    assert_eq!(code, 2, "{report}");
    assert_eq!(report["ok"], false, "{report}");
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("bundle"), "{error}");
}
