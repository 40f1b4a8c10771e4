#!/usr/bin/env python3
"""Make the hostile and edge-case certificates for the certificate.rs tests.

Run from anywhere: python3 make_testdata.py. Writes DER files next to this
script. Keys are fresh each run; the tests depend only on the structure.
Every certificate is valid 2025-01-01..2035-01-01 unless its name says
otherwise, so the tests verify at 2026-12-02.
"""
import datetime
import os
import subprocess
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

HERE = os.path.dirname(os.path.abspath(__file__))
START = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
END = datetime.datetime(2035, 1, 1, tzinfo=datetime.timezone.utc)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def usage(cert_sign=False, digital_signature=False, key_encipherment=False):
    return x509.KeyUsage(digital_signature, False, key_encipherment, False, False,
                         cert_sign, cert_sign, False, False)


def make(subject, issuer, key, issuer_key, exts, hash_alg=None, start=START, end=END):
    builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end))
    for ext, critical in exts:
        builder = builder.add_extension(ext, critical)
    if hash_alg is None:
        hash_alg = hashes.SHA256()
    return builder.sign(issuer_key, hash_alg)


def ca_exts(path_len=None, cert_sign=True, ca=True):
    return [(x509.BasicConstraints(ca, path_len if ca else None), True),
            (usage(cert_sign=cert_sign), True)]


def leaf_exts(eku=ExtendedKeyUsageOID.CODE_SIGNING, ku=None):
    return [(x509.BasicConstraints(False, None), True),
            (ku or usage(digital_signature=True), True),
            (x509.ExtendedKeyUsage([eku]), False),
            (x509.SubjectAlternativeName([x509.RFC822Name("signer@example.com"),
                                          x509.UniformResourceIdentifier("https://example.com/signer"),
                                          x509.DNSName("signer.example.com")]), False)]


def save(filename, cert):
    with open(os.path.join(HERE, filename), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.DER))


def pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def save_sha1_leaf(issuer, issuer_key, leaf_key):
    """cryptography refuses to sign with SHA-1, so let the openssl CLI do it.
    Its validity starts at the time the script runs and lasts 10 years."""
    with tempfile.TemporaryDirectory() as tmp:
        files = {"ca.pem": issuer.public_bytes(serialization.Encoding.PEM),
                 "ca-key.pem": pem_key(issuer_key), "key.pem": pem_key(leaf_key),
                 "ext.cnf": b"basicConstraints=critical,CA:FALSE\n"
                            b"keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n"}
        for filename, data in files.items():
            with open(os.path.join(tmp, filename), "wb") as f:
                f.write(data)
        run = lambda *args: subprocess.run(["openssl", *args], cwd=tmp, check=True, capture_output=True)
        run("req", "-new", "-key", "key.pem", "-subj", "/CN=gen-leaf-sha1", "-out", "leaf.csr")
        run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-sha1",
            "-days", "3650", "-extfile", "ext.cnf", "-outform", "DER", "-out", os.path.join(HERE, "leaf-sha1.der"))


def p256():
    return ec.generate_private_key(ec.SECP256R1())


def main():
    root_key, mid_key, leaf_key = p256(), p256(), p256()
    root = make("gen-root", "gen-root", root_key, root_key, ca_exts())
    save("root.der", root)

    # A good three-level chain: P-256 keys, the leaf signed with ecdsa-with-SHA384
    # (hash chosen by the OID, not the curve).
    mid = make("gen-intermediate", "gen-root", mid_key, root_key, ca_exts())
    save("intermediate.der", mid)
    save("leaf.der", make("gen-leaf", "gen-intermediate", leaf_key, mid_key, leaf_exts(), hashes.SHA384()))

    # Non-CA issuer: an end-entity certificate that signs a "leaf".
    not_ca = make("gen-not-ca", "gen-root", mid_key, root_key, ca_exts(ca=False, cert_sign=False))
    save("not-ca-intermediate.der", not_ca)
    save("leaf-under-not-ca.der", make("gen-leaf", "gen-not-ca", leaf_key, mid_key, leaf_exts()))

    # CA:TRUE but keyUsage without keyCertSign.
    no_sign = make("gen-no-certsign", "gen-root", mid_key, root_key, ca_exts(cert_sign=False))
    save("no-certsign-intermediate.der", no_sign)
    save("leaf-under-no-certsign.der", make("gen-leaf", "gen-no-certsign", leaf_key, mid_key, leaf_exts()))

    # pathLenConstraint 0 on the first intermediate, then a second intermediate.
    sub_key = p256()
    save("pathlen0-intermediate.der", make("gen-pathlen0", "gen-root", mid_key, root_key, ca_exts(path_len=0)))
    save("sub-intermediate.der", make("gen-sub", "gen-pathlen0", sub_key, mid_key, ca_exts()))
    save("leaf-under-sub.der", make("gen-leaf", "gen-sub", leaf_key, sub_key, leaf_exts()))

    # Leaf rules.
    save("leaf-server-auth.der",
         make("gen-leaf-tls", "gen-intermediate", leaf_key, mid_key, leaf_exts(eku=ExtendedKeyUsageOID.SERVER_AUTH)))
    save("leaf-key-encipherment.der",
         make("gen-leaf-enc", "gen-intermediate", leaf_key, mid_key, leaf_exts(ku=usage(key_encipherment=True))))
    unknown = x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
    save("leaf-unknown-critical.der",
         make("gen-leaf-crit", "gen-intermediate", leaf_key, mid_key, leaf_exts() + [(unknown, True)]))
    save_sha1_leaf(mid, mid_key, leaf_key)

    # Expired intermediate (the leaf itself is valid).
    old = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    save("expired-intermediate.der", make("gen-old-intermediate", "gen-root", mid_key, root_key, ca_exts(),
                                          start=old, end=old + datetime.timedelta(days=365)))
    save("leaf-under-expired.der", make("gen-leaf", "gen-old-intermediate", leaf_key, mid_key, leaf_exts()))

    # RSA: a 2048-bit intermediate (fine, SHA-512) and a 1024-bit one (refused).
    rsa2048, rsa1024 = (rsa.generate_private_key(public_exponent=65537, key_size=n) for n in (2048, 1024))
    save("rsa2048-intermediate.der", make("gen-rsa2048", "gen-root", rsa2048, root_key, ca_exts()))
    save("leaf-under-rsa2048.der", make("gen-leaf", "gen-rsa2048", leaf_key, rsa2048, leaf_exts(), hashes.SHA512()))
    save("rsa1024-intermediate.der", make("gen-rsa1024", "gen-root", rsa1024, root_key, ca_exts()))
    save("leaf-under-rsa1024.der", make("gen-leaf", "gen-rsa1024", leaf_key, rsa1024, leaf_exts()))

    # Look-alikes: 15 self-issued CAs, same name, same key, each one signs the
    # others, so naive path building would explore 15! paths.
    loop_key = p256()
    for i in range(15):
        save(f"loop-{i:02}.der", make("gen-loop", "gen-loop", loop_key, loop_key, ca_exts()))
    save("leaf-under-loop.der", make("gen-leaf", "gen-loop", leaf_key, loop_key, leaf_exts()))


if __name__ == "__main__":
    main()
