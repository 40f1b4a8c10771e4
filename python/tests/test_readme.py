"""The repository README's Python example runs as written, from the
repository root, with the installed wheel, and prints what it says."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO


def readme_python_blocks() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_example_verifies_the_demo_model() -> None:
    blocks = readme_python_blocks()
    assert len(blocks) == 1, "the README should hold exactly one Python example"
    example = blocks[0]
    assert len(example.strip().splitlines()) == 3, "the README promises three lines"
    done = subprocess.run(
        [sys.executable, "-c", example], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    name, version, word, level = done.stdout.split()
    assert (word, level) == ("level", "1")
    assert (name, version) == ("acme/tiny-gpt", "1.0.0")
