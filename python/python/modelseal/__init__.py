"""modelseal: signed provenance manifests for machine-learning models.

    import modelseal
    report = modelseal.verify("models/tiny", trust="trust.toml")   # raises on failure
    print(report.model_name, report.level_reached)

`verify` raises VerificationError (a ModelsealError) when the model does not
verify, and ModelsealError on an input error. `modelseal.hf.snapshot_download`
downloads from the Hugging Face Hub and verifies before returning the path.
The `modelseal` command that the wheel installs is the Rust binary itself.
"""

from . import hf
from ._api import (
    ContentFinding,
    InitResult,
    Problem,
    Report,
    Signature,
    SignResult,
    UpdateResult,
    VerificationError,
    init,
    sign,
    update,
    verify,
)
from ._modelseal import ModelsealError, __version__

__all__ = [
    "ContentFinding",
    "InitResult",
    "ModelsealError",
    "Problem",
    "Report",
    "SignResult",
    "Signature",
    "UpdateResult",
    "VerificationError",
    "__version__",
    "hf",
    "init",
    "sign",
    "update",
    "verify",
]
