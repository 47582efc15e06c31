"""The model's exceptions: one value broke one rule, or a body broke several.

    ValueError
     ├── InvalidValue      one value, one rule (code + reason, never the value)
     └── ValidationError   a list of FieldError, one per broken rule of a body or annotation
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

__all__ = ["FieldError", "InvalidValue", "ValidationError"]


class InvalidValue(ValueError):
    """One value broke one rule. Carries a machine code and a reason without the value."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class FieldError(NamedTuple):
    """One entry of a ValidatieFout's invalidParams."""

    name: str
    code: str
    reason: str


class ValidationError(ValueError):
    """A body or annotation broke one or more rules; the message names fields, never values."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.name}: {e.reason}" for e in self.errors))
