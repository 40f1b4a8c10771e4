"""Checked by test_typing.py with `mypy --strict`: the API as users call it."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import modelseal
import modelseal.hf


def gate(model: Path, trust: Path) -> Optional[int]:
    try:
        report: modelseal.Report = modelseal.verify(model, trust=trust, level=1, jobs=2)
    except modelseal.VerificationError as err:
        problems: List[modelseal.Problem] = err.problems
        content: List[modelseal.ContentFinding] = err.report.content or []
        print(err.report.level_reached, [p.kind for p in problems], [(c.action, c.allowed_by) for c in content])
        return None
    except modelseal.ModelsealError as err:
        print(f"cannot verify: {err}")
        return None
    name: str = report.model_name
    checked: int = report.files_checked
    print(name, checked, report.to_dict()["ok"], report.json)
    return report.level_reached


def release(model: str, key: str) -> str:
    made: modelseal.InitResult = modelseal.init(model, name="acme/x", version="1.0.0")
    changes: modelseal.UpdateResult = modelseal.update(model)
    signed: modelseal.SignResult = modelseal.sign(model, key, signer="ci")
    print(made.files, changes.written)
    return signed.keyid


def download() -> str:
    return modelseal.hf.snapshot_download("acme/tiny", key=["a.pub", Path("b.pub")], revision="main")
