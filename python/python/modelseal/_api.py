"""The typed Python API over the native module `modelseal._modelseal`."""

from __future__ import annotations

import json as _json
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import _modelseal
from ._modelseal import ModelsealError

StrPath = Union[str, "os.PathLike[str]"]
"""A path: a `str` or an `os.PathLike` (`pathlib.Path`)."""

Keys = Union[StrPath, Sequence[StrPath], None]
"""One public key file, several, or none."""

_MAX_NAMED_PROBLEMS = 10
"""How many problems a VerificationError's message names."""


@dataclass(frozen=True)
class Problem:
    """One problem verification found.

    `kind` is the contract name (`hash_mismatch`, `bad_signature`, ...; SPEC
    section 7), `path` the path inside the model directory it concerns
    (`provenance.sig` for signature problems), `message` a sentence for people.
    """

    kind: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind} {self.path}: {self.message}"


@dataclass(frozen=True)
class ContentFinding:
    """One content problem inspection found (SPEC section 18).

    `kind` is the problem kind (`unsafe_pickle`, ...), `path` the file inside
    the model directory, `message` what was found. `action` is what the trust
    policy's `[content]` made of it: `fail` (the default: it fails the
    report), `warn`, or `allowed` (a reviewed file pinned by digest), with
    the allowance's reason in `allowed_by`.
    """

    kind: str
    path: str
    message: str
    action: str = "fail"
    allowed_by: Optional[str] = None

    def __str__(self) -> str:
        note = "" if self.action == "fail" else f" ({self.action})"
        return f"{self.kind} {self.path}: {self.message}{note}"


@dataclass(frozen=True)
class Signature:
    """One entry of `provenance.sig` (or the OMS bundle), as verified.

    Only `key_name`, the trust policy's name for the key, says who signed:
    `signer` is the entry's own, unsigned claim.
    """

    keyid: str
    status: str
    key_name: Optional[str]
    signer: Optional[str]


@dataclass(frozen=True)
class Report:
    """What `verify` found: the fields of `modelseal verify --format json`.

    `problems` lists every problem, those of an OMS bundle beside the
    manifest after the manifest's own; `to_dict()` and `json` are exactly
    the CLI's JSON object (SPEC section 10), where the bundle's problems sit
    under `bundle`.
    """

    ok: bool
    path: str
    format: str
    level_required: int
    level_reached: Optional[int]
    model_name: str
    model_version: str
    model_kind: str
    files_checked: int
    bytes_checked: int
    signatures: List[Signature]
    problems: List[Problem]
    bundle: Optional["Report"] = field(default=None, repr=False)
    json: str = field(default="", repr=False, compare=False)
    content: Optional[List[ContentFinding]] = None
    """With `inspect=True` (or a trust policy with `[content] inspect =
    true`): every content problem inspection found (`unsafe_pickle`, ...;
    SPEC section 18), those whose `action` is `fail` failing the report;
    `None` when it did not run."""

    def to_dict(self) -> Dict[str, Any]:
        """The report as the CLI's JSON object, parsed."""
        parsed: Dict[str, Any] = _json.loads(self.json)
        return parsed

    @classmethod
    def _from_json(cls, path: str, text: str) -> "Report":
        return cls._from_dict(path, _json.loads(text), text)

    @classmethod
    def _from_dict(cls, path: str, doc: Dict[str, Any], text: str) -> "Report":
        nested = doc.get("bundle")
        bundle = (
            cls._from_dict(path, nested, _json.dumps(nested, separators=(",", ":"))) if nested is not None else None
        )
        problems = [Problem(p["kind"], p["path"], p["message"]) for p in doc["problems"]]
        if bundle is not None:
            problems.extend(bundle.problems)
        return cls(
            ok=bool(doc["ok"]),
            path=path,
            format=doc["format"],
            level_required=doc["level"]["required"],
            level_reached=doc["level"]["reached"],
            model_name=doc["model"]["name"],
            model_version=doc["model"]["version"],
            model_kind=doc["model"]["kind"],
            files_checked=doc["files"]["checked"],
            bytes_checked=doc["files"]["bytes"],
            signatures=[
                Signature(s["keyid"], s["status"], s.get("key_name"), s.get("signer"))
                for s in doc["signatures"]
            ],
            problems=problems,
            bundle=bundle,
            json=text,
            content=(
                [
                    ContentFinding(c["kind"], c["path"], c["message"], c["action"], c.get("allowed_by"))
                    for c in doc["content"]
                ]
                if "content" in doc
                else None
            ),
        )


class VerificationError(ModelsealError):
    """Verification ran to a verdict, and the verdict is FAILED.

    A subclass of ModelsealError, so `except ModelsealError` refuses a model
    on any failure; catch VerificationError first to tell a model that does
    not verify from an input error. `report` is the full Report, `problems`
    its problems.
    """

    report: Report
    problems: List[Problem]

    def __init__(self, report: Report) -> None:
        self.report = report
        self.problems = list(report.problems)
        super().__init__(_failure_message(report))


def _failure_message(report: Report) -> str:
    reached = "none" if report.level_reached is None else str(report.level_reached)
    head = (
        f"{report.path}: verification FAILED: level {report.level_required} required, "
        f"reached {reached}"
    )
    failing = [c for c in report.content or [] if c.action == "fail"]
    if failing:
        head += ", but content is unsafe to load"
    found: List[Union[Problem, ContentFinding]] = [*report.problems, *failing]
    if not found:
        return head
    named = found[:_MAX_NAMED_PROBLEMS]
    lines = [f"{head}; {len(found)} problem(s):"]
    lines.extend(f"  {p}" for p in named)
    if len(found) > len(named):
        lines.append(f"  ... and {len(found) - len(named)} more (see .problems and .content)")
    return "\n".join(lines)


def _paths(keys: Keys) -> List[StrPath]:
    if keys is None:
        return []
    if isinstance(keys, (str, os.PathLike)):
        return [keys]
    return list(keys)


def verify(
    path: StrPath,
    key: Keys = None,
    trust: Optional[StrPath] = None,
    level: int = 1,
    jobs: Optional[int] = None,
    bundle: Optional[StrPath] = None,
    *,
    check: bool = True,
    inspect: bool = False,
) -> Report:
    """Verifies a model directory, as `modelseal verify` does.

    With `inspect=True`, as `verify --inspect`: every file is also inspected
    for content unsafe to load (a pickle's imports, malformed safetensors, a
    GGUF template, ONNX paths, Keras Lambda layers); what is found is in
    `report.content`, and what the trust policy's `[content]` does not
    warn about or allow fails the report, whatever level holds.

    `path` is the model directory (or its `provenance.toml`); `key` one or
    more public key files, `trust` a trust.toml; from level 1 up one of them
    is needed. `level` is the level that must hold (0 intact, 1 signed,
    2 traced, 3 chained), `jobs` the hashing threads (default: every core),
    `bundle` an OMS bundle to verify against.

    Returns the Report when it holds. When it does not, raises
    VerificationError, or with `check=False` returns the failed Report.
    Raises ModelsealError on an input error (no manifest, bad key, bad level)
    and KeyboardInterrupt on Ctrl-C; the GIL is released while it runs.
    """
    text = _modelseal.verify(
        path,
        _paths(key),
        trust,
        int(level),
        None if jobs is None else int(jobs),
        bundle,
        bool(inspect),
    )
    report = Report._from_json(os.fspath(path), text)
    if check and not report.ok:
        raise VerificationError(report)
    return report


@dataclass(frozen=True)
class InitResult:
    """What `init` wrote."""

    manifest: str
    name: str
    version: str
    kind: str
    files: int
    bytes: int
    large_form: bool
    missing_for_level_2: List[Problem]
    content: List[ContentFinding] = field(default_factory=list)
    """Content problems found in the files listed (SPEC 18.8): loading them
    may be unsafe. `init` lists them all the same, and warns
    (`UserWarning`)."""


@dataclass(frozen=True)
class UpdateResult:
    """What `update` changed. In the large form the lists name at most
    1000 files each; `counts` is (added, changed, removed) in full."""

    added: List[str]
    changed: List[str]
    removed: List[str]
    unchanged: int
    written: bool
    counts: Tuple[int, int, int]


@dataclass(frozen=True)
class SignResult:
    """What `sign` did."""

    keyid: str
    total: int
    replaced: bool
    dropped: List[str]
    warnings: List[str]


def init(
    path: StrPath,
    name: Optional[str] = None,
    version: Optional[str] = None,
    kind: str = "model",
    *,
    force: bool = False,
    jobs: Optional[int] = None,
) -> InitResult:
    """Writes a new `provenance.toml` listing every file, as `modelseal init`.

    `name` defaults to the directory's name, `version` to "0.1.0"; `kind` is
    "model" or "dataset". Refuses (ModelsealError) to replace an existing
    manifest unless `force=True`.
    """
    out = _modelseal.init(
        path,
        name,
        "0.1.0" if version is None else version,
        kind,
        force,
        None if jobs is None else int(jobs),
    )
    content = [ContentFinding(*c) for c in out["content"]]
    if content:
        named = "; ".join(str(c) for c in content[:5])
        more = f" and {len(content) - 5} more" if len(content) > 5 else ""
        warnings.warn(f"{len(content)} content problem(s) in listed files, unsafe to load: {named}{more}", stacklevel=2)
    return InitResult(
        manifest=os.fspath(out["manifest"]),
        name=out["name"],
        version=out["version"],
        kind=out["kind"],
        files=out["files"],
        bytes=out["bytes"],
        large_form=out["large_form"],
        missing_for_level_2=[Problem(*p) for p in out["missing_for_level_2"]],
        content=content,
    )


def update(path: StrPath, *, jobs: Optional[int] = None) -> UpdateResult:
    """Rehashes the directory, adds new files and drops vanished ones, keeping
    everything else in the manifest, as `modelseal update`. Earlier
    signatures no longer verify after a change: sign again."""
    out = _modelseal.update(path, None if jobs is None else int(jobs))
    added, changed, removed = out["counts"]
    return UpdateResult(
        added=out["added"],
        changed=out["changed"],
        removed=out["removed"],
        unchanged=out["unchanged"],
        written=out["written"],
        counts=(added, changed, removed),
    )


def sign(
    path: StrPath,
    key: StrPath,
    signer: Optional[str] = None,
    *,
    trust: Optional[StrPath] = None,
    passphrase: Optional[str] = None,
    jobs: Optional[int] = None,
) -> SignResult:
    """Signs the manifest with an Ed25519 private key, as `modelseal sign`.

    The directory must match the manifest first (else ModelsealError naming
    the differences). An encrypted key is opened with `passphrase`, else
    `$MODELSEAL_PASSPHRASE`; there is no prompt. With `trust`, a key that
    policy does not list, has expired or revokes is refused.
    """
    out = _modelseal.sign(
        path, key, signer, trust, passphrase, None if jobs is None else int(jobs)
    )
    for warning in out["warnings"]:
        warnings.warn(f"modelseal: {warning}", UserWarning, stacklevel=2)
    return SignResult(
        keyid=out["keyid"],
        total=out["total"],
        replaced=out["replaced"],
        dropped=out["dropped"],
        warnings=out["warnings"],
    )
