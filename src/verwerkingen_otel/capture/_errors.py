"""Capture's exception: a setting or annotation is wrong, reported where it is made.

    ValueError
     └── ConfigurationError   names the setting exactly as the caller wrote it, never its value
"""

from __future__ import annotations

__all__ = ["ConfigurationError"]


class ConfigurationError(ValueError):
    """A setting or annotation is wrong. `setting` is its name as the caller wrote it."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason
