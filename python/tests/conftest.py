"""Shared fixtures: the installed `modelseal` command, keys and models made
in temporary directories, and the repository's committed fixtures.

Nothing here uses the network; the Hub is never contacted (HF_HUB_OFFLINE).
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

import pytest

REPO = Path(__file__).resolve().parents[2]
"""The repository root (python/tests/ is two levels below it)."""

FIXTURES = REPO / "fixtures"


@dataclass(frozen=True)
class KeyPair:
    key: Path
    pub: Path


def cli_path() -> Path:
    """The `modelseal` command installed beside this interpreter (the venv's bin/)."""
    path = Path(sys.executable).parent / "modelseal"
    assert path.is_file(), f"no modelseal command at {path}: is the wheel installed?"
    return path


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(cli_path()), *args], capture_output=True, text=True, timeout=120
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"modelseal {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done


def keygen(prefix: Path) -> KeyPair:
    run_cli("keygen", "--no-passphrase", "--out", str(prefix), "-q")
    return KeyPair(key=Path(f"{prefix}.key"), pub=Path(f"{prefix}.pub"))


def write_model(directory: Path) -> List[str]:
    """A small model directory; returns its file names."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "model.safetensors": bytes(range(256)) * 400,
        "config.json": b'{"model_type": "gpt2", "n_layer": 2}\n',
        "tokenizer.json": b'{"version": "1.0"}\n',
    }
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return sorted(files)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return keygen(tmp_path_factory.mktemp("keys") / "release")


@pytest.fixture
def signed_model(tmp_path: Path, keys: KeyPair) -> Path:
    """A model made and signed with the installed command."""
    model = tmp_path / "tiny"
    write_model(model)
    run_cli("init", str(model), "--name", "acme/tiny", "--version", "2.0.0", "-q")
    run_cli("sign", str(model), "--key", str(keys.key), "-q")
    return model


@pytest.fixture(scope="session")
def slow_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A model whose level-0 check reads 8 GiB (4 sparse files of 2 GiB: no
    disk space, but every byte is hashed), so that a run lasts seconds.

    The manifest is written by hand with the right sizes and wrong digests:
    verify reads every byte before it can say hash_mismatch, and no init has
    to hash 8 GiB first. A shard size above the file size means one digest
    per file.
    """
    model = tmp_path_factory.mktemp("slow") / "big"
    model.mkdir()
    size = 2 << 30
    entries = []
    for i in range(4):
        with open(model / f"w{i}.bin", "wb") as f:
            f.truncate(size)
        entries.append(
            f'[[file]]\npath = "w{i}.bin"\nrole = "weights"\nsize = {size}\n'
            f'sha256 = "{"0" * 64}"\n'
        )
    (model / "provenance.toml").write_text(
        "manifest = 1\n"
        'kind = "model"\n'
        'name = "acme/big"\n'
        'version = "1.0.0"\n'
        "ignore = []\n\n"
        "[hashing]\n"
        'algorithm = "sha256"\n'
        f"shard_size = {64 << 30}\n\n" + "\n".join(entries)
    )
    yield model
