//! The trust policy: which keys count, until when, and how many must sign.

use crate::anchor::TrustAnchor;
use crate::inspect::policy::ContentPolicy;
use crate::keys::{self, KeyError, PublicKey};
use crate::manifest::Manifest;
use crate::problem::{Problem, ProblemKind};
use crate::signature::{SignatureFile, short_keyid};
use crate::source::{self, Location, SourceError};
use crate::timestamp::Timestamp;
use crate::{MANIFEST_FILE, SIGNATURE_FILE};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Largest `trust.toml` accepted, in bytes.
pub const MAX_POLICY_BYTES: u64 = 1 << 20;

/// A key the policy names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// Its name in the policy.
    pub name: String,
    /// The key id (hex SHA-256 of the raw key).
    pub keyid: String,
    /// The key.
    pub key: PublicKey,
    /// From this instant on, its signatures do not count.
    pub expires: Option<Timestamp>,
    /// A revoked key's signatures never count.
    pub revoked: bool,
}

/// Which keys are trusted, how many distinct ones must sign, and which
/// releases are too old.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    /// Distinct trusted keys whose valid signatures are required.
    pub threshold: usize,
    /// The keys, one entry per distinct key id.
    pub keys: Vec<TrustedKey>,
    /// Rollback and freeze pins, by model name.
    pub pins: Vec<ReleasePin>,
    /// Certificate authorities and Sigstore identities, for OMS bundles.
    pub anchors: Vec<TrustAnchor>,
    /// Which content problems fail and which warn, and the reviewed files
    /// allowed (`[content]`, SPEC 18.7); the default fails them all.
    pub content: ContentPolicy,
}

/// How the policy regards a key at a given time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStanding {
    /// Trusted and current.
    Trusted,
    /// Not in the policy.
    Untrusted,
    /// In the policy, expired at the given instant.
    Expired(Timestamp),
    /// In the policy, revoked.
    Revoked,
}

/// Errors loading a policy.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The policy file is unreadable or malformed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A key file named by `--key` or the policy could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDoc {
    threshold: Spanned<i64>,
    #[serde(default)]
    key: Vec<Spanned<KeyDoc>>,
    #[serde(default)]
    pin: Vec<ReleasePin>,
    #[serde(default)]
    ca: Vec<Spanned<CaDoc>>,
    #[serde(default)]
    sigstore: Vec<Spanned<SigstoreDoc>>,
    #[serde(default)]
    content: Option<Spanned<ContentPolicy>>,
}

/// A `[[ca]]`: the certificate method's roots, and the signer they vouch for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaDoc {
    name: String,
    /// A PEM file of one or more root certificates, relative to trust.toml,
    /// or the PEM text itself.
    certificates: String,
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    expires: Option<Timestamp>,
    #[serde(default)]
    revoked: bool,
}

/// A `[[sigstore]]`: a keyless signer, by identity and issuer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SigstoreDoc {
    name: String,
    /// The instance's `trusted_root.json`, relative to trust.toml.
    trusted_root: String,
    identity: String,
    issuer: String,
    #[serde(default)]
    expires: Option<Timestamp>,
    #[serde(default)]
    revoked: bool,
}

/// A `[[pin]]`: the oldest release of a model that the policy accepts, after
/// TUF's rollback and freeze attacks. An attacker who replays an older,
/// validly signed release is caught as `rollback`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleasePin {
    /// The manifest `name` the pin applies to.
    pub name: String,
    /// Releases with a lower `version` are refused.
    #[serde(default)]
    pub min_version: Option<String>,
    /// Manifests whose signed `created` time is earlier (or missing) are refused.
    #[serde(default)]
    pub not_before: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyDoc {
    name: String,
    public_key: String,
    #[serde(default)]
    expires: Option<Timestamp>,
    #[serde(default)]
    revoked: bool,
}

impl TrustPolicy {
    /// Reads a `trust.toml`. Key files it names are relative to its directory.
    pub fn load(path: &Path) -> Result<TrustPolicy, TrustError> {
        let bytes = source::read_bounded(path, MAX_POLICY_BYTES, true)?;
        let text = source::as_text(path, &bytes)?;
        let doc: PolicyDoc = source::parse_toml(path, text)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut policy = TrustPolicy {
            threshold: 0,
            keys: Vec::new(),
            pins: doc.pin,
            anchors: Vec::new(),
            content: ContentPolicy::default(),
        };
        if let Some(content) = doc.content {
            let start = content.span().start;
            let content = content.into_inner();
            if let Some(blank) = content.allow.iter().find(|a| a.reason.trim().is_empty()) {
                return Err(SourceError::Invalid {
                    location: Location::at(path, text, start),
                    message: format!(
                        "the [[content.allow]] of sha256 {} gives no reason",
                        blank.sha256
                    ),
                    help: Some(
                        "say who reviewed the file, and where: reason = \"reviewed by ... in ...\""
                            .into(),
                    ),
                }
                .into());
            }
            policy.content = content;
        }
        for spanned in doc.ca {
            let at = |message: String| SourceError::at(path, text, spanned.span().start, message);
            let mut anchor = ca_anchor(spanned.get_ref(), base).map_err(at)?;
            anchor.expires = spanned.get_ref().expires;
            anchor.revoked = spanned.get_ref().revoked;
            policy.add_anchor(anchor);
        }
        for spanned in doc.sigstore {
            let at = |message: String| SourceError::at(path, text, spanned.span().start, message);
            let mut anchor = sigstore_anchor(spanned.get_ref(), base).map_err(at)?;
            anchor.expires = spanned.get_ref().expires;
            anchor.revoked = spanned.get_ref().revoked;
            policy.add_anchor(anchor);
        }
        for spanned in doc.key {
            let span = spanned.span();
            let entry = spanned.into_inner();
            let key = if entry.public_key.trim_start().starts_with("-----BEGIN") {
                keys::parse_public_key_pem(&entry.public_key).map_err(|what| {
                    SourceError::at(
                        path,
                        text,
                        span.start,
                        format!("key '{}': {what}", entry.name),
                    )
                })?
            } else {
                let key_path: PathBuf = base.join(&entry.public_key);
                keys::load_public_key(&key_path).map_err(|e| {
                    SourceError::at(path, text, span.start, format!("key '{}': {e}", entry.name))
                })?
            };
            policy.add(TrustedKey {
                name: entry.name,
                keyid: key.keyid(),
                key,
                expires: entry.expires,
                revoked: entry.revoked,
            });
        }
        for pin in &policy.pins {
            check_pin_version(path, text, pin)?;
        }
        let threshold = *doc.threshold.get_ref();
        let at_threshold = |message: String| -> TrustError {
            SourceError::Invalid {
                location: Location::at(path, text, doc.threshold.span().start),
                message,
                help: Some(
                    "threshold counts distinct signers listed under [[key]], [[ca]] and [[sigstore]]"
                        .into(),
                ),
            }
            .into()
        };
        if threshold < 1 {
            return Err(at_threshold(format!(
                "threshold {threshold} must be at least 1 (a policy must require a signature)"
            )));
        }
        let signers = policy.keys.len() + policy.anchors.len();
        if threshold as u64 > signers as u64 {
            return Err(at_threshold(format!(
                "threshold {threshold} can never be met: the policy lists {signers} distinct signer(s)"
            )));
        }
        policy.threshold = threshold as usize;
        Ok(policy)
    }

    /// A policy of the given public key files with threshold 1 (`--key`).
    pub fn from_key_files(paths: &[PathBuf]) -> Result<TrustPolicy, TrustError> {
        let mut policy = TrustPolicy {
            threshold: 1,
            keys: Vec::new(),
            pins: Vec::new(),
            anchors: Vec::new(),
            content: ContentPolicy::default(),
        };
        policy.add_key_files(paths)?;
        Ok(policy)
    }

    /// Adds `--key` files to this policy; its threshold stands.
    pub fn add_key_files(&mut self, paths: &[PathBuf]) -> Result<(), TrustError> {
        for path in paths {
            let key = keys::load_public_key(path)?;
            self.add(TrustedKey {
                name: path.display().to_string(),
                keyid: key.keyid(),
                key,
                expires: None,
                revoked: false,
            });
        }
        Ok(())
    }

    /// Adds a key. A key listed twice is one key: revoked if any listing
    /// revokes it, expiring at the earliest expiry any listing gives.
    pub fn add(&mut self, key: TrustedKey) {
        if let Some(existing) = self.keys.iter_mut().find(|k| k.keyid == key.keyid) {
            existing.revoked |= key.revoked;
            existing.expires = match (existing.expires, key.expires) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        } else {
            self.keys.push(key);
        }
    }

    /// Adds a certificate authority or Sigstore identity; one listed twice
    /// is one signer, revoked if any listing revokes it.
    pub fn add_anchor(&mut self, anchor: TrustAnchor) {
        if let Some(existing) = self.anchors.iter_mut().find(|a| a.id == anchor.id) {
            existing.revoked |= anchor.revoked;
            existing.expires = match (existing.expires, anchor.expires) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        } else {
            self.anchors.push(anchor);
        }
    }

    /// Why this release is older than the policy accepts, if it is: a version
    /// below a pin's `min_version`, or a signed `created` time before its
    /// `not_before` (or no `created` at all when a `not_before` applies).
    pub fn rollback(&self, name: &str, version: &str, created: Option<Timestamp>) -> Vec<String> {
        let mut why = Vec::new();
        for pin in self.pins.iter().filter(|p| p.name == name) {
            if let Some(min) = &pin.min_version
                && compare_versions(version, min) == std::cmp::Ordering::Less
            {
                why.push(format!(
                    "version {version} is older than {min}, the oldest release of {name} the policy accepts"
                ));
            }
            if let Some(not_before) = pin.not_before {
                match created {
                    Some(created) if created >= not_before => {}
                    Some(created) => why.push(format!(
                        "it was created at {created}, before {not_before}, the earliest the policy accepts for {name}"
                    )),
                    None => why.push(format!(
                        "it records no `created` time, and the policy accepts only releases of {name} created from {not_before}"
                    )),
                }
            }
        }
        why
    }

    /// Why the policy would not count a signature by `keyid` made at `now`,
    /// if it would not: what `sign --trust` refuses.
    pub fn refuses_signer(&self, keyid: &str, now: Timestamp) -> Option<String> {
        match self.standing(keyid, now) {
            (KeyStanding::Trusted, _) => None,
            (KeyStanding::Untrusted, _) => Some(format!(
                "the trust policy does not list key {}",
                short_keyid(keyid)
            )),
            (KeyStanding::Expired(at), name) => Some(format!(
                "the trust policy's key '{}' expired at {at}",
                name.unwrap_or("")
            )),
            (KeyStanding::Revoked, name) => Some(format!(
                "the trust policy revokes key '{}'",
                name.unwrap_or("")
            )),
        }
    }

    /// How the policy regards the key or anchor `id` at `now`, with its
    /// name in the policy.
    pub fn standing(&self, id: &str, now: Timestamp) -> (KeyStanding, Option<&str>) {
        let listed = self
            .keys
            .iter()
            .find(|k| k.keyid == id)
            .map(|k| (k.name.as_str(), k.revoked, k.expires))
            .or_else(|| {
                self.anchors
                    .iter()
                    .find(|a| a.id == id)
                    .map(|a| (a.name.as_str(), a.revoked, a.expires))
            });
        let Some((name, revoked, expires)) = listed else {
            return (KeyStanding::Untrusted, None);
        };
        let standing = if revoked {
            KeyStanding::Revoked
        } else if let Some(expires) = expires.filter(|e| *e <= now) {
            KeyStanding::Expired(expires)
        } else {
            KeyStanding::Trusted
        };
        (standing, Some(name))
    }
}

/// The status of one signature entry, as the JSON report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureStatus {
    /// Verifies, and the key is trusted.
    Valid,
    /// Does not verify.
    Invalid,
    /// Verifies; the key is not in the policy.
    Untrusted,
    /// Verifies; the key expired in the policy.
    Expired,
    /// Verifies; the key is revoked in the policy.
    Revoked,
}

/// One signature entry's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureOutcome {
    /// The entry's key id, as written.
    pub keyid: String,
    /// The entry's `signer`, as written: self-declared and not signed, so
    /// anyone who can edit `provenance.sig` can write any name here.
    pub signer: Option<String>,
    /// The key's name in the trust policy, when the policy lists the key:
    /// the only name that says who signed.
    pub key_name: Option<String>,
    /// The outcome.
    pub status: SignatureStatus,
}

/// What the signatures over one manifest amount to under a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    /// One outcome per entry, in file order.
    pub outcomes: Vec<SignatureOutcome>,
    /// `bad_signature` and `threshold_not_met` problems.
    pub problems: Vec<Problem>,
    /// Whether the threshold of distinct trusted keys signed.
    pub threshold_met: bool,
}

/// Checks each signature entry over the manifest bytes and counts distinct
/// trusted keys against the policy's threshold. `sig_path` names the
/// signature file in problems.
pub fn check_signatures(
    signatures: &SignatureFile,
    sig_path: &str,
    manifest_bytes: &[u8],
    policy: &TrustPolicy,
    now: Timestamp,
) -> SignatureCheck {
    let mut tally = Tally::new(policy, now, sig_path);
    for (index, entry) in signatures.signatures.iter().enumerate() {
        let label = entry.label();
        let verified = entry.check(manifest_bytes).map(|_| ()).map_err(|fault| {
            format!(
                "signature {} by {label}: {fault}; re-sign with `modelseal sign`",
                index + 1
            )
        });
        tally.record(&entry.keyid, entry.signer.clone(), label, verified);
    }
    tally.finish()
}

/// A `[[ca]]` entry's anchor; its certificates are a file relative to
/// `base`, or PEM text.
fn ca_anchor(doc: &CaDoc, base: &Path) -> Result<TrustAnchor, String> {
    let roots = if doc.certificates.trim_start().starts_with("-----BEGIN") {
        crate::x509::pem_certificates(&doc.certificates).map_err(|e| e.to_string())
    } else {
        crate::anchor::read_pem_certificates(&base.join(&doc.certificates))
    }
    .map_err(|e| format!("ca '{}': {e}", doc.name))?;
    Ok(TrustAnchor::certificate_authority(
        doc.name.clone(),
        roots,
        doc.identity.clone(),
    ))
}

/// A `[[sigstore]]` entry's anchor; its trusted root is a file relative to `base`.
fn sigstore_anchor(doc: &SigstoreDoc, base: &Path) -> Result<TrustAnchor, String> {
    if doc.identity.is_empty() || doc.issuer.is_empty() {
        return Err(format!(
            "sigstore '{}': identity and issuer must both be given",
            doc.name
        ));
    }
    let file = base.join(&doc.trusted_root);
    let mut anchor =
        TrustAnchor::from_sigstore_file(&file, doc.identity.clone(), doc.issuer.clone())
            .map_err(|e| format!("sigstore '{}': {e}", doc.name))?;
    anchor.name = doc.name.clone();
    Ok(anchor)
}

/// Signatures counted toward a policy's threshold, one at a time: each is
/// either a problem (it does not verify) or counts by its key's standing.
pub struct Tally<'p> {
    policy: &'p TrustPolicy,
    now: Timestamp,
    sig_path: String,
    outcomes: Vec<SignatureOutcome>,
    problems: Vec<Problem>,
    counted: BTreeSet<String>,
    not_counted: Vec<String>,
}

impl<'p> Tally<'p> {
    /// An empty tally; `sig_path` names the signature file in problems.
    pub fn new(policy: &'p TrustPolicy, now: Timestamp, sig_path: &str) -> Self {
        Tally {
            policy,
            now,
            sig_path: sig_path.to_string(),
            outcomes: Vec::new(),
            problems: Vec::new(),
            counted: BTreeSet::new(),
            not_counted: Vec::new(),
        }
    }

    /// Records one signature by `keyid`: `verified` is `Err` with the
    /// problem's message when it does not verify.
    pub fn record(
        &mut self,
        keyid: &str,
        signer: Option<String>,
        label: String,
        verified: Result<(), String>,
    ) {
        let (standing, key) = self.policy.standing(keyid, self.now);
        let status = match verified {
            Err(message) => {
                self.problems.push(Problem::new(
                    ProblemKind::BadSignature,
                    &self.sig_path,
                    message,
                ));
                self.not_counted.push(format!("{label} does not verify"));
                SignatureStatus::Invalid
            }
            Ok(()) => self.count(keyid, &label, standing),
        };
        self.outcomes.push(SignatureOutcome {
            keyid: keyid.to_string(),
            signer,
            key_name: key.map(str::to_string),
            status,
        });
    }

    fn count(&mut self, keyid: &str, label: &str, standing: KeyStanding) -> SignatureStatus {
        match standing {
            KeyStanding::Trusted => {
                if !self.counted.insert(keyid.to_string()) {
                    self.not_counted
                        .push(format!("{label} signed more than once (counted once)"));
                }
                SignatureStatus::Valid
            }
            KeyStanding::Untrusted => {
                self.not_counted
                    .push(format!("{label} is not in the trust policy"));
                SignatureStatus::Untrusted
            }
            KeyStanding::Expired(at) => {
                self.not_counted.push(format!("{label} expired at {at}"));
                SignatureStatus::Expired
            }
            KeyStanding::Revoked => {
                self.not_counted.push(format!("{label} is revoked"));
                SignatureStatus::Revoked
            }
        }
    }

    /// Whether the threshold is met, with the `threshold_not_met` problem if not.
    pub fn finish(mut self) -> SignatureCheck {
        let threshold_met = self.counted.len() >= self.policy.threshold;
        if !threshold_met {
            self.problems.push(threshold_problem(
                self.policy,
                self.counted.len(),
                self.outcomes.is_empty(),
                &self.not_counted,
                &self.sig_path,
            ));
        }
        SignatureCheck {
            outcomes: self.outcomes,
            problems: self.problems,
            threshold_met,
        }
    }
}

/// The signatures over a release under the policy, with the policy's
/// `[[pin]]`s applied: what level 1 asks, for `verify` and `check` alike.
pub fn check_release(
    signatures: &SignatureFile,
    manifest: &Manifest,
    manifest_bytes: &[u8],
    policy: &TrustPolicy,
    now: Timestamp,
) -> SignatureCheck {
    let mut check = check_signatures(signatures, SIGNATURE_FILE, manifest_bytes, policy, now);
    apply_pins(&mut check, manifest, policy);
    check
}

/// Adds a `rollback` problem for each of the policy's `[[pin]]`s that the
/// manifest's name, version and creation time fall below.
pub fn apply_pins(check: &mut SignatureCheck, manifest: &Manifest, policy: &TrustPolicy) {
    for why in policy.rollback(&manifest.name, &manifest.version, manifest.created) {
        check.problems.push(Problem::new(
            ProblemKind::Rollback,
            MANIFEST_FILE,
            format!("{why}: a replayed older release is refused (see the trust policy's [[pin]])"),
        ));
    }
}

fn threshold_problem(
    policy: &TrustPolicy,
    counted: usize,
    unsigned: bool,
    not_counted: &[String],
    sig_path: &str,
) -> Problem {
    let mut message = format!(
        "{counted} valid signature(s) from trusted keys; the policy requires {}",
        policy.threshold
    );
    if unsigned {
        message.push_str(&format!(
            "; {sig_path} has no signatures (sign with `modelseal sign`)"
        ));
    } else if !not_counted.is_empty() {
        message.push_str(&format!("; not counted: {}", not_counted.join("; ")));
    }
    let trusted: Vec<String> = policy
        .keys
        .iter()
        .map(|k| format!("{} ({})", k.name, short_keyid(&k.keyid)))
        .chain(policy.anchors.iter().map(|a| a.name.clone()))
        .collect();
    message.push_str(&format!("; trusted signers: {}", trusted.join(", ")));
    Problem::new(ProblemKind::ThresholdNotMet, sig_path, message)
}

/// A pin whose `min_version` cannot be ordered would rank below every
/// release and so accept them all: refused when the policy loads.
fn check_pin_version(path: &Path, text: &str, pin: &ReleasePin) -> Result<(), TrustError> {
    let Some(min) = &pin.min_version else {
        return Ok(());
    };
    if version_is_orderable(min) {
        return Ok(());
    }
    let offset = text.find(&format!("\"{min}\"")).unwrap_or(0);
    Err(SourceError::Invalid {
        location: Location::at(path, text, offset),
        message: format!(
            "pin for '{}': min_version '{min}' cannot be ordered, so it would refuse nothing",
            pin.name
        ),
        help: Some(
            "write a version that starts with a digit (an optional 'v' first), such as \"1.4.0\""
                .into(),
        ),
    }
    .into())
}

/// Whether [`compare_versions`] can order `version`: it starts with a digit,
/// after an optional `v`.
pub fn version_is_orderable(version: &str) -> bool {
    version
        .strip_prefix(['v', 'V'])
        .unwrap_or(version)
        .starts_with(|c: char| c.is_ascii_digit())
}

/// Orders versions the way people read them: an optional leading `v` is
/// dropped; runs of digits compare as numbers, other runs as text
/// (`1.10.0` > `1.9.2`); a pre-release (`2.0.0-rc1`) ranks below its release.
/// A version that does not start with a digit cannot be ordered, so it ranks
/// below everything: a pin refuses what it cannot prove new enough.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn split(v: &str) -> Option<(&str, Option<&str>)> {
        let v = v.strip_prefix(['v', 'V']).unwrap_or(v);
        if !v.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        // Build metadata (`+…`) does not order releases.
        let v = v.split('+').next().unwrap_or(v);
        Some(match v.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (v, None),
        })
    }
    fn runs(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    fn compare_runs(a: &str, b: &str) -> Ordering {
        let (ra, rb) = (runs(a), runs(b));
        for (x, y) in ra.iter().zip(&rb) {
            let ord = match (x, y) {
                ((true, x), (true, y)) => {
                    let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
                }
                ((_, x), (_, y)) => x.cmp(y),
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        ra.len().cmp(&rb.len())
    }
    match (split(a), split(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some((core_a, pre_a)), Some((core_b, pre_b))) => {
            compare_runs(core_a, core_b).then_with(|| match (pre_a, pre_b) {
                (None, None) => Ordering::Equal,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(x), Some(y)) => compare_runs(x, y),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_compare_numerically() {
        use super::compare_versions;
        use std::cmp::Ordering::*;
        assert_eq!(compare_versions("1.10.0", "1.9.2"), Greater);
        assert_eq!(compare_versions("1.0.0", "1.0.0"), Equal);
        assert_eq!(compare_versions("0.9", "1.0"), Less);
        assert_eq!(compare_versions("2.0.0-rc1", "2.0.0-rc2"), Less);
        assert_eq!(compare_versions("1.0", "1.0.1"), Less);
        assert_eq!(compare_versions("007", "7"), Equal);
        assert_eq!(compare_versions("", "1"), Less);
        assert_eq!(compare_versions("v1.0.0", "2.0.0"), Less);
        assert_eq!(compare_versions("v2.1", "2.0.0"), Greater);
        assert_eq!(compare_versions("release-1", "2.0.0"), Less);
        assert_eq!(compare_versions("2.0.0-rc1", "2.0.0"), Less);
        assert_eq!(compare_versions("2.0.0", "2.0.0-rc9"), Greater);
        assert_eq!(compare_versions("2.0.0+build5", "2.0.0"), Equal);
    }

    use super::*;
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::EncodePublicKey;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;

    fn pem(seed: u8) -> String {
        SigningKey::from_bytes(&[seed; 32])
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
    }

    fn write_policy(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn loads_inline_and_file_keys_and_merges_duplicates() {
        let (dir, path) = write_policy("");
        std::fs::write(dir.path().join("a.pub"), pem(1)).unwrap();
        let text = format!(
            "threshold = 2\n[[key]]\nname = \"a\"\npublic_key = \"a.pub\"\n\
             [[key]]\nname = \"b\"\npublic_key = \"\"\"\n{}\"\"\"\nexpires = 2030-01-01T00:00:00Z\n\
             [[key]]\nname = \"a again\"\npublic_key = \"a.pub\"\nrevoked = true\n",
            pem(2)
        );
        std::fs::write(&path, text).unwrap();
        let policy = TrustPolicy::load(&path).unwrap();
        assert_eq!(policy.threshold, 2);
        assert_eq!(policy.keys.len(), 2);
        assert!(policy.keys[0].revoked);
        assert!(policy.keys[1].expires.is_some());
    }

    #[test]
    fn rejects_thresholds_that_cannot_or_need_not_be_met() {
        let (_d, path) = write_policy("threshold = 0\n");
        let err = TrustPolicy::load(&path).unwrap_err().to_string();
        assert!(err.contains("at least 1"), "{err}");
        let text = format!(
            "threshold = 2\n[[key]]\nname = \"a\"\npublic_key = \"\"\"\n{}\"\"\"\n",
            pem(1)
        );
        let (_d, path) = write_policy(&text);
        let err = TrustPolicy::load(&path).unwrap_err().to_string();
        assert!(err.contains("can never be met"), "{err}");
    }

    #[test]
    fn rejects_times_without_offset() {
        let text = format!(
            "threshold = 1\n[[key]]\nname = \"a\"\npublic_key = \"\"\"\n{}\"\"\"\nexpires = 2030-01-01T00:00:00\n",
            pem(1)
        );
        let (_d, path) = write_policy(&text);
        let err = TrustPolicy::load(&path).unwrap_err().to_string();
        assert!(err.contains("offset"), "{err}");
    }
}
