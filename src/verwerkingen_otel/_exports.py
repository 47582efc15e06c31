"""Show public names under their package's short path (httpx's habit, STYLE H1).

A package `__init__` re-exports names from its private `_` modules; `publish` sets each public
class's and function's `__module__` to the package, so reprs, tracebacks and docs say
`verwerkingen_otel.model.Verwerkingsactie`, not the private module it lives in. A leaf: it
imports nothing of ours, and every package may import it.
"""

from __future__ import annotations

from types import FunctionType
from typing import Any, Iterable

__all__ = ["publish"]


def publish(namespace: dict[str, Any], names: Iterable[str], module: str) -> None:
    """Set `__module__` of the classes and functions among `names` in `namespace` to `module`."""
    for name in names:
        value = namespace.get(name)
        if isinstance(value, (type, FunctionType)):
            value.__module__ = module
