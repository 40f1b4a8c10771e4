"""The package is typed (py.typed, the native module's stubs): mypy --strict
accepts correct use of the API and rejects misuse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent / "typing"


def mypy(file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(file)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_correct_use_passes_mypy_strict() -> None:
    done = mypy(HERE / "example.py")
    assert done.returncode == 0, done.stdout + done.stderr


def test_misuse_fails_mypy_strict() -> None:
    done = mypy(HERE / "wrong.py")
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'incompatible type "str"; expected "int"' in done.stdout
    assert 'Incompatible types in assignment (expression has type "str", variable has type "int")' in done.stdout


def test_installed_package_passes_mypy_strict(tmp_path: Path) -> None:
    # From an empty directory: the package mypy finds is the installed one.
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "-p", "modelseal"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 source files" in done.stdout
