"""Watch, at run time, for files the tests open beside the repository (a fresh clone has none).

`install()` adds an audit hook (PEP 578) that notes every `open` of a path inside the
repository's parent folder but outside the repository itself (a sibling folder or
checkout). The root conftest fails the test during which such a read happened, naming the path.
Elsewhere (the venv, /usr, /proc) is not watched: only siblings of the checkout are a fresh
clone's problem. The temporary directory never counts (a checkout inside it, e.g.
/tmp/fresh-clone, has every test's tmp_path as a "sibling"); there the static checks of
tests/test_selfcontained.py still hold. Audit hooks cannot be removed, so the hook is installed once per process
and only records; it never raises inside the code under test.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path

__all__ = ["ROOT", "beside", "install", "take"]

ROOT = Path(__file__).resolve().parents[2]
_ROOT = str(ROOT) + os.sep
_PARENT = str(ROOT.parent) + os.sep
_TEMP = os.path.realpath(tempfile.gettempdir()) + os.sep
_seen: list[str] = []
_lock = threading.Lock()
_installed = False


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event != "open" or not args:
        return
    path = args[0]
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):  # a file descriptor
        return
    if not os.path.isabs(path):
        path = os.path.join(os.getcwd(), path)
    path = os.path.normpath(path)
    if beside(path):
        with _lock:
            _seen.append(path)


def beside(path: str, root: str = _ROOT, parent: str = _PARENT, temp: str = _TEMP) -> bool:
    """Whether an absolute, normalised `path` is in the checkout's parent folder but not in the
    checkout (`root`) nor in the temporary directory (each folder given with a trailing separator)."""
    return path.startswith(parent) and not (path + os.sep).startswith(root) and not path.startswith(temp)


def install() -> None:
    """Add the hook (once per process)."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True


def take() -> list[str]:
    """The outside paths opened since the last call (and forget them)."""
    with _lock:
        found = list(dict.fromkeys(_seen))
        _seen.clear()
    return found
