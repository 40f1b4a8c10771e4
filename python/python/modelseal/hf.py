"""Hugging Face Hub downloads that are verified before they are used.

    import modelseal.hf
    path = modelseal.hf.snapshot_download("acme/tiny", trust="trust.toml")

Needs `huggingface_hub` (`pip install 'modelseal[hf]'`), imported only when
called. The snapshot's files are links into the cache's `blobs/`; modelseal
reads through them (SPEC 1.1), so a tampered blob fails verification.
"""

from __future__ import annotations

from typing import Any, Optional

from ._api import Keys, StrPath, verify


def snapshot_download(
    repo_id: str,
    *,
    key: Keys = None,
    trust: Optional[StrPath] = None,
    level: int = 1,
    jobs: Optional[int] = None,
    **kwargs: Any,
) -> str:
    """`huggingface_hub.snapshot_download(repo_id, **kwargs)`, then
    `modelseal.verify` of the snapshot directory it returns.

    Returns the snapshot's path only when it verifies at `level` against
    `key` / `trust`; otherwise raises VerificationError (or ModelsealError,
    for instance when the snapshot holds no provenance.toml). The files stay
    in the Hub cache either way: only a returned path is verified.
    `allow_patterns` or `ignore_patterns` that leave out a listed file make
    it fail (missing_file).
    """
    try:
        import huggingface_hub
    except ImportError as err:
        raise ImportError(
            "modelseal.hf.snapshot_download needs huggingface_hub: "
            "pip install 'modelseal[hf]' (or pip install huggingface_hub)"
        ) from err
    path = huggingface_hub.snapshot_download(repo_id, **kwargs)
    verify(path, key=key, trust=trust, level=level, jobs=jobs)
    return str(path)
