//! The `[content]` table of a trust policy (SPEC 18.7): which content
//! problems fail verification and which only warn, and the files a team has
//! reviewed, each pinned by the digest of the bytes reviewed.
//!
//! The default is the safe one: with no `[content]` table, every problem
//! kind fails and nothing is allowed.

use super::ContentProblemKind;
use crate::digest::Sha256Digest;
use std::collections::BTreeSet;

/// What the policy makes of one content problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// It fails verification (and `inspect` exits 1).
    Fail,
    /// It is reported, and fails nothing: its kind is in `warn`.
    Warn,
    /// It is reported, and fails nothing: the file's bytes are a reviewed
    /// file's, allowed by a `[[content.allow]]`.
    Allowed,
}

/// A file a team has reviewed and allows despite its content problems.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowance {
    /// The SHA-256 of the reviewed bytes: any other bytes are not allowed.
    pub sha256: Sha256Digest,
    /// The path, relative to the model directory, the bytes must be at;
    /// absent, the reviewed bytes are allowed at any path.
    #[serde(default)]
    pub path: Option<String>,
    /// The kinds allowed; absent, every kind found in the reviewed bytes.
    #[serde(default)]
    pub kinds: Option<BTreeSet<ContentProblemKind>>,
    /// Why it is allowed (who reviewed it, where), shown in every report.
    pub reason: String,
}

/// The content side of a trust policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentPolicy {
    /// Whether `verify` with this policy inspects content even without
    /// `--inspect`.
    #[serde(default)]
    pub inspect: bool,
    /// Problem kinds that only warn; every other kind fails.
    #[serde(default)]
    pub warn: BTreeSet<ContentProblemKind>,
    /// Reviewed files, by digest.
    #[serde(default)]
    pub allow: Vec<Allowance>,
}

impl ContentPolicy {
    /// Whether any allowance could apply to a file at `path`: only then is
    /// its digest worth computing.
    pub fn may_allow(&self, path: &str) -> bool {
        self.allow
            .iter()
            .any(|a| a.path.as_deref().is_none_or(|p| p == path))
    }

    /// What becomes of a problem of `kind` in the file at `path`, whose bytes
    /// have the digest `sha256` (when computed), and the allowance's reason
    /// when one applies. An allowance is checked before `warn`, so a report
    /// names the review that let a file pass.
    pub fn judge(
        &self,
        kind: ContentProblemKind,
        path: &str,
        sha256: Option<&Sha256Digest>,
    ) -> (Action, Option<&str>) {
        let allowed = sha256.and_then(|digest| {
            self.allow.iter().find(|a| {
                &a.sha256 == digest
                    && a.path.as_deref().is_none_or(|p| p == path)
                    && a.kinds.as_ref().is_none_or(|k| k.contains(&kind))
            })
        });
        match allowed {
            Some(allowance) => (Action::Allowed, Some(allowance.reason.as_str())),
            None if self.warn.contains(&kind) => (Action::Warn, None),
            None => (Action::Fail, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(byte: u8) -> Sha256Digest {
        Sha256Digest::of(&[byte])
    }

    fn policy() -> ContentPolicy {
        ContentPolicy {
            inspect: false,
            warn: [ContentProblemKind::MalformedOnnx].into(),
            allow: vec![
                Allowance {
                    sha256: digest(1),
                    path: Some("legacy/model.bin".into()),
                    kinds: Some([ContentProblemKind::UnsafePickle].into()),
                    reason: "reviewed in SEC-1".into(),
                },
                Allowance {
                    sha256: digest(2),
                    path: None,
                    kinds: None,
                    reason: "reviewed in SEC-2".into(),
                },
            ],
        }
    }

    #[test]
    fn the_default_fails_every_kind() {
        let default = ContentPolicy::default();
        for kind in [
            ContentProblemKind::UnsafePickle,
            ContentProblemKind::MalformedSafetensors,
            ContentProblemKind::KerasLambda,
        ] {
            assert_eq!(
                default.judge(kind, "a", Some(&digest(1))),
                (Action::Fail, None)
            );
        }
    }

    #[test]
    fn an_allowance_needs_its_digest_path_and_kind() {
        let p = policy();
        let pickle = ContentProblemKind::UnsafePickle;
        assert_eq!(
            p.judge(pickle, "legacy/model.bin", Some(&digest(1))),
            (Action::Allowed, Some("reviewed in SEC-1"))
        );
        // Other bytes, another path, another kind, or no digest: not allowed.
        assert_eq!(
            p.judge(pickle, "legacy/model.bin", Some(&digest(3))).0,
            Action::Fail
        );
        assert_eq!(
            p.judge(pickle, "model.bin", Some(&digest(1))).0,
            Action::Fail
        );
        assert_eq!(
            p.judge(
                ContentProblemKind::MalformedPickle,
                "legacy/model.bin",
                Some(&digest(1))
            )
            .0,
            Action::Fail
        );
        assert_eq!(p.judge(pickle, "legacy/model.bin", None).0, Action::Fail);
        // No path and no kinds: those bytes, anywhere, any kind.
        assert_eq!(
            p.judge(
                ContentProblemKind::KerasLambda,
                "x/y.keras",
                Some(&digest(2))
            )
            .0,
            Action::Allowed
        );
    }

    #[test]
    fn warned_kinds_warn_and_others_still_fail() {
        let p = policy();
        assert_eq!(
            p.judge(ContentProblemKind::MalformedOnnx, "m.onnx", None),
            (Action::Warn, None)
        );
        assert_eq!(
            p.judge(ContentProblemKind::UnsafeOnnxExternalData, "m.onnx", None)
                .0,
            Action::Fail
        );
        assert!(p.may_allow("legacy/model.bin"));
        assert!(
            p.may_allow("anything"),
            "the pathless allowance applies anywhere"
        );
    }
}
