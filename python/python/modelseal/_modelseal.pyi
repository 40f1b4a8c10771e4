# Type stubs of the native module (python/src/lib.rs). The public API is
# modelseal._api, which is typed Python; these are its building blocks.
from typing import Any, Dict, List, Optional, Sequence, Union
import os

_Path = Union[str, "os.PathLike[str]"]

__version__: str

class ModelsealError(Exception):
    """An input, usage or I/O error that stopped modelseal before a verdict."""

def verify(
    path: _Path,
    keys: Sequence[_Path],
    trust: Optional[_Path],
    level: int,
    jobs: Optional[int],
    bundle: Optional[_Path],
    inspect: bool = ...,
) -> str: ...
def init(
    path: _Path,
    name: Optional[str],
    version: str,
    kind: str,
    force: bool,
    jobs: Optional[int],
) -> Dict[str, Any]: ...
def update(path: _Path, jobs: Optional[int]) -> Dict[str, Any]: ...
def sign(
    path: _Path,
    key: _Path,
    signer: Optional[str],
    trust: Optional[_Path],
    passphrase: Optional[str],
    jobs: Optional[int],
) -> Dict[str, Any]: ...
