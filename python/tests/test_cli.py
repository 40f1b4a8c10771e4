"""The `modelseal` command the wheel installs: the Rust binary, on PATH."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import modelseal
from conftest import FIXTURES, KeyPair, cli_path, run_cli


def test_command_is_the_rust_binary() -> None:
    path = cli_path()
    assert os.access(path, os.X_OK)
    # An ELF executable, not a Python script that wraps something.
    assert path.read_bytes()[:4] == b"\x7fELF"


def test_version_matches_the_package() -> None:
    done = run_cli("--version")
    assert done.stdout.strip() == f"modelseal {modelseal.__version__}"


def test_command_found_on_path_by_name() -> None:
    env = dict(os.environ, PATH=f"{cli_path().parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(
        ["modelseal", "--version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("modelseal ")


def test_cli_verifies_the_demo_model() -> None:
    done = run_cli(
        "verify",
        str(FIXTURES / "demo-model"),
        "--trust",
        str(FIXTURES / "keys" / "trust.toml"),
        "--format",
        "json",
    )
    assert json.loads(done.stdout)["ok"] is True


def test_cli_fails_a_tampered_model(signed_model: Path, keys: KeyPair) -> None:
    (signed_model / "config.json").write_text('{"model_type": "evil"}\n')
    done = run_cli("verify", str(signed_model), "--key", str(keys.pub), check=False)
    assert done.returncode == 1
    assert "FAILED" in done.stdout
    done = run_cli("verify", str(signed_model), check=False)
    assert done.returncode == 2
