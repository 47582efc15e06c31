"""The errors of the LDV mapping.

    LdvError                 base; callers catch this one
    ├── PseudonymKeyError    the pseudonymisation key file or key id is unusable (start-up)
    └── ProcessorMapError    the OIN → processor URL map is unusable (start-up)

Messages name the setting or file as the caller gave it, never a key byte or an identifier.
"""

from __future__ import annotations

__all__ = ["LdvError", "ProcessorMapError", "PseudonymKeyError"]


class LdvError(ValueError):
    """Something about the Logboek Dataverwerkingen configuration is wrong."""


class PseudonymKeyError(LdvError):
    """Raised when the key file is missing, unreadable or shorter than 32 bytes, or the key id is bad."""


class ProcessorMapError(LdvError):
    """Raised when the OIN → processor map file cannot be read or holds a bad OIN or URL."""
