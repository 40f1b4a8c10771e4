//! Interoperability with outside implementations: keys from openssl, and
//! signatures made by openssl and by Python's `cryptography`, never by us.

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::path::Path;
use std::process::Command as Process;

const PAYLOAD_TYPE: &str = "application/vnd.modelseal.manifest+toml";

/// The DSSE v1 PAE of the manifest, written independently of the library.
fn pae(manifest: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        PAYLOAD_TYPE.len(),
        PAYLOAD_TYPE,
        manifest.len()
    )
    .into_bytes();
    out.extend_from_slice(manifest);
    out
}

fn run(cmd: &mut Process) -> Vec<u8> {
    let out = cmd.output().expect("tool runs");
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Writes a provenance.sig holding one entry made from raw key and signature bytes.
fn write_sig(dir: &Path, public_raw: &[u8], signature: &[u8], signer: &str) {
    let text = format!(
        "[[signature]]\nkeyid = \"{}\"\npublic_key = \"{}\"\nalgorithm = \"ed25519\"\nsignature = \"{}\"\nsigner = \"{signer}\"\n",
        sha256_hex(public_raw),
        BASE64.encode(public_raw),
        BASE64.encode(signature)
    );
    std::fs::write(dir.join("provenance.sig"), text).unwrap();
}

#[test]
fn openssl_keys_sign_and_verify() {
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    let key = s.path("ossl.pem");
    let public = s.path("ossl.pub");
    run(Process::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&key));
    run(Process::new("openssl")
        .arg("pkey")
        .arg("-in")
        .arg(&key)
        .arg("-pubout")
        .arg("-out")
        .arg(&public));
    sign_with(&dir, &key);
    modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .assert()
        .success();
}

#[test]
fn openssl_encrypted_keys_sign_with_the_passphrase() {
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    let key = s.path("ossl-enc.pem");
    let public = s.path("ossl-enc.pub");
    run(Process::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "ed25519",
            "-aes256",
            "-pass",
            "pass:s3cret",
            "-out",
        ])
        .arg(&key));
    run(Process::new("openssl")
        .arg("pkey")
        .arg("-in")
        .arg(&key)
        .args(["-passin", "pass:s3cret", "-pubout", "-out"])
        .arg(&public));
    modelseal()
        .env("MODELSEAL_PASSPHRASE", "s3cret")
        .arg("sign")
        .arg(&dir)
        .arg("--key")
        .arg(&key)
        .assert()
        .success();
    modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .assert()
        .success();
}

#[test]
fn signature_made_by_openssl_pkeyutl_verifies() {
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    let key = s.path("ossl.pem");
    let public = s.path("ossl.pub");
    run(Process::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&key));
    run(Process::new("openssl")
        .arg("pkey")
        .arg("-in")
        .arg(&key)
        .arg("-pubout")
        .arg("-out")
        .arg(&public));
    let der = run(Process::new("openssl")
        .arg("pkey")
        .arg("-pubin")
        .arg("-in")
        .arg(&public)
        .args(["-outform", "DER"]));
    let raw_public = &der[der.len() - 32..];
    let message = s.path("message.bin");
    std::fs::write(
        &message,
        pae(&std::fs::read(dir.join("provenance.toml")).unwrap()),
    )
    .unwrap();
    let signature = run(Process::new("openssl")
        .args(["pkeyutl", "-sign", "-rawin", "-inkey"])
        .arg(&key)
        .arg("-in")
        .arg(&message));
    assert_eq!(signature.len(), 64);
    write_sig(&dir, raw_public, &signature, "openssl");
    let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["signatures"][0]["status"], "valid");

    // The same signature over the raw manifest (no PAE) must not verify.
    let raw = run(Process::new("openssl")
        .args(["pkeyutl", "-sign", "-rawin", "-inkey"])
        .arg(&key)
        .arg("-in")
        .arg(dir.join("provenance.toml")));
    write_sig(&dir, raw_public, &raw, "openssl");
    let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(report["signatures"][0]["status"], "invalid");
}

#[test]
fn signature_made_by_python_cryptography_verifies() {
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    let message = s.path("message.bin");
    std::fs::write(
        &message,
        pae(&std::fs::read(dir.join("provenance.toml")).unwrap()),
    )
    .unwrap();
    let public_pem = s.path("py.pub");
    let script = r#"
import sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
key = Ed25519PrivateKey.generate()
msg = open(sys.argv[1], "rb").read()
pub = key.public_key()
open(sys.argv[2], "wb").write(pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
sys.stdout.write(raw.hex() + " " + key.sign(msg).hex())
"#;
    let out = run(Process::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&message)
        .arg(&public_pem));
    let out = String::from_utf8(out).unwrap();
    let (raw_public, signature) = out.trim().split_once(' ').unwrap();
    write_sig(
        &dir,
        &hex::decode(raw_public).unwrap(),
        &hex::decode(signature).unwrap(),
        "python",
    );
    let (report, code) = verify_json(&dir, &["--key", public_pem.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
}

/// `modelseal keygen` keys, plain and encrypted, are read by openssl and by
/// Python `cryptography`, which derive the same public key from them.
#[test]
fn keygen_keys_are_read_by_openssl_and_python_cryptography() {
    let s = Scratch::new();
    let plain = s.path("plain");
    let enc = s.path("enc");
    modelseal()
        .args(["keygen", "--no-passphrase", "--out"])
        .arg(&plain)
        .assert()
        .success();
    modelseal()
        .env("MODELSEAL_PASSPHRASE", "pw")
        .args(["keygen", "--out"])
        .arg(&enc)
        .assert()
        .success();
    for (prefix, pass) in [(&plain, None), (&enc, Some("pw"))] {
        let key = prefix.with_extension("key");
        let ours = std::fs::read_to_string(prefix.with_extension("pub")).unwrap();
        let mut openssl = Process::new("openssl");
        openssl.args(["pkey", "-pubout", "-in"]).arg(&key);
        if let Some(pass) = pass {
            openssl.args(["-passin", &format!("pass:{pass}")]);
        }
        assert_eq!(String::from_utf8_lossy(&run(&mut openssl)), ours);
        let script = "import sys\n\
            from cryptography.hazmat.primitives import serialization as s\n\
            pw = sys.argv[2].encode() or None\n\
            k = s.load_pem_private_key(open(sys.argv[1], 'rb').read(), pw)\n\
            sys.stdout.write(k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo).decode())\n";
        let python = run(Process::new("python3")
            .args(["-c", script])
            .arg(&key)
            .arg(pass.unwrap_or("")));
        assert_eq!(String::from_utf8_lossy(&python), ours);
    }
}

/// Keys written by Python `cryptography` (plain and encrypted PKCS#8) sign.
#[test]
fn python_cryptography_keys_sign_and_verify() {
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    let script = "import sys\n\
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey\n\
        from cryptography.hazmat.primitives import serialization as s\n\
        k = Ed25519PrivateKey.generate()\n\
        enc = s.BestAvailableEncryption(b'pw') if sys.argv[2] == 'enc' else s.NoEncryption()\n\
        open(sys.argv[1] + '.key', 'wb').write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, enc))\n\
        open(sys.argv[1] + '.pub', 'wb').write(k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))\n";
    for mode in ["plain", "enc"] {
        let prefix = s.path(&format!("py-{mode}"));
        run(Process::new("python3")
            .args(["-c", script])
            .arg(&prefix)
            .arg(mode));
        modelseal()
            .env("MODELSEAL_PASSPHRASE", "pw")
            .arg("sign")
            .arg(&dir)
            .arg("--key")
            .arg(prefix.with_extension("key"))
            .assert()
            .success();
        modelseal()
            .arg("verify")
            .arg(&dir)
            .arg("--key")
            .arg(prefix.with_extension("pub"))
            .assert()
            .success();
    }
}
