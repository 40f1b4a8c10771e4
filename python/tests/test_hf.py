"""modelseal.hf.snapshot_download over a Hub cache built by hand, offline."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Tuple

import pytest

import modelseal
import modelseal.hf
from conftest import FIXTURES, KeyPair, run_cli, write_model

REVISION = "0123456789abcdef0123456789abcdef01234567"


def hub_cache(root: Path, source: Path) -> Tuple[Path, Path]:
    """`root/models--acme--tiny` laid out as huggingface_hub keeps it:
    blobs/ (LFS files named by their SHA-256, the others by a 40-hex git
    blob id), snapshots/REVISION/ of relative links into blobs/, and
    refs/main naming REVISION. Returns the cache directory and the snapshot."""
    repo = root / "models--acme--tiny"
    blobs = repo / "blobs"
    snapshot = repo / "snapshots" / REVISION
    blobs.mkdir(parents=True)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REVISION)
    for file in sorted(source.iterdir()):
        data = file.read_bytes()
        if file.name.endswith(".safetensors"):
            blob = hashlib.sha256(data).hexdigest()
        else:
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        (blobs / blob).write_bytes(data)
        os.symlink(f"../../blobs/{blob}", snapshot / file.name)
    return root, snapshot


@pytest.fixture
def cache(tmp_path: Path, keys: KeyPair) -> Tuple[Path, Path]:
    source = tmp_path / "release"
    write_model(source)
    run_cli("init", str(source), "--name", "acme/tiny", "-q")
    run_cli("sign", str(source), "--key", str(keys.key), "-q")
    return hub_cache(tmp_path / "hub", source)


def test_signed_snapshot_returns_its_path(cache: Tuple[Path, Path], keys: KeyPair) -> None:
    root, snapshot = cache
    path = modelseal.hf.snapshot_download(
        "acme/tiny", key=keys.pub, cache_dir=root, local_files_only=True
    )
    assert Path(path) == snapshot
    # The snapshot is links into blobs/, which modelseal read through.
    assert (Path(path) / "model.safetensors").is_symlink()


def test_tampered_blob_raises(cache: Tuple[Path, Path], keys: KeyPair) -> None:
    root, snapshot = cache
    blob = (snapshot / "config.json").resolve()
    blob.write_bytes(blob.read_bytes().replace(b"gpt2", b"gpt3"))
    with pytest.raises(modelseal.VerificationError) as caught:
        modelseal.hf.snapshot_download(
            "acme/tiny", key=keys.pub, cache_dir=root, local_files_only=True
        )
    assert ("hash_mismatch", "config.json") in {(p.kind, p.path) for p in caught.value.problems}


def test_tampered_lfs_blob_raises(cache: Tuple[Path, Path], keys: KeyPair) -> None:
    root, snapshot = cache
    blob = (snapshot / "model.safetensors").resolve()
    data = bytearray(blob.read_bytes())
    data[0] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(modelseal.VerificationError) as caught:
        modelseal.hf.snapshot_download(
            "acme/tiny", key=keys.pub, cache_dir=root, local_files_only=True
        )
    assert {p.kind for p in caught.value.problems} == {"hash_mismatch"}
    assert {p.path for p in caught.value.problems} == {"model.safetensors"}


def test_wrong_key_raises(cache: Tuple[Path, Path]) -> None:
    root, _ = cache
    with pytest.raises(modelseal.VerificationError):
        modelseal.hf.snapshot_download(
            "acme/tiny",
            key=FIXTURES / "keys" / "test-release.pub",
            cache_dir=root,
            local_files_only=True,
        )


def test_no_policy_is_an_input_error(cache: Tuple[Path, Path]) -> None:
    root, _ = cache
    with pytest.raises(modelseal.ModelsealError, match="trust policy"):
        modelseal.hf.snapshot_download("acme/tiny", cache_dir=root, local_files_only=True)


def test_committed_hub_fixture(tmp_path: Path) -> None:
    # fixtures/hub: a snapshot signed with the fixtures' test key.
    root = tmp_path / "hub"
    shutil.copytree(FIXTURES / "hub", root, symlinks=True)
    path = modelseal.hf.snapshot_download(
        "acme/tiny-gpt",
        revision="5c2e1a7f0b9d8c3e4a6f1b2d3c4e5f6a7b8c9d0e",
        trust=FIXTURES / "keys" / "trust.toml",
        cache_dir=root,
        local_files_only=True,
    )
    assert Path(path).name == "5c2e1a7f0b9d8c3e4a6f1b2d3c4e5f6a7b8c9d0e"


def test_missing_huggingface_hub_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, keys: KeyPair
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(ImportError, match=r"pip install 'modelseal\[hf\]'"):
        modelseal.hf.snapshot_download("acme/tiny", key=keys.pub)
