"""Must NOT pass `mypy --strict`: the stubs catch misuse."""

import modelseal

report = modelseal.verify("m", level="one")
name: int = report.model_name
