"""Pseudonyms for data subjects: HMAC-SHA256 with the organisation's key (NOTES [R]).

`dpl.core.data_subject_id` is the lowercase hex of HMAC-SHA256(key, "{type}:{id}"). The same
person under the same key always gets the same pseudonym, so the lezen API can search by it;
the key's id travels with each record (`verwerkingen.pseudonym_key_id`) so keys can rotate
while old records keep theirs. The key never appears in a repr, a message or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..model import InvalidValue, check_oin, check_uri
from ._errors import ProcessorMapError, PseudonymKeyError

if sys.version_info >= (3, 11):  # pragma: no cover - depends on interpreter
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "MIN_KEY_BYTES", "PseudonymKey", "canonical_id_type", "default_key_id", "load_key",
    "load_processor_map",
]

MIN_KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def canonical_id_type(id_type: str) -> str:
    """`BSN` in any case is written `BSN`, so one person has one pseudonym; other types as given."""
    return "BSN" if id_type.strip().upper() == "BSN" else id_type


def default_key_id(secret: bytes) -> str:
    """The first 8 hex digits of the key's SHA-256 (ARCHITECTURE's settings table)."""
    return hashlib.sha256(secret).hexdigest()[:8]


@dataclass(frozen=True)
class PseudonymKey:
    """An organisation-held key of at least 32 bytes and its id."""

    secret: bytes = field(repr=False)
    key_id: str

    @classmethod
    def from_bytes(cls, secret: bytes, key_id: str | None = None, *, option: str = "key") -> PseudonymKey:
        """Check the length and the id; `option` names the setting in the error."""
        if len(secret) < MIN_KEY_BYTES:
            raise PseudonymKeyError(f"{option}: the key must be at least {MIN_KEY_BYTES} bytes")
        if key_id is None or key_id == "":
            key_id = default_key_id(secret)
        elif not _KEY_ID.match(key_id):
            raise PseudonymKeyError(f"{option}: the key id must be 1-64 characters of A-Z a-z 0-9 . _ : -")
        return cls(secret, key_id)

    def pseudonym(self, id_type: str, value: str) -> str:
        """Lowercase hex HMAC-SHA256 of "{type}:{id}" (the type canonicalised, see above)."""
        message = f"{canonical_id_type(id_type)}:{value}".encode("utf-8")
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


def load_key(path: str | Path, key_id: str | None = None, *, option: str = "key file",
             id_option: str = "key id") -> PseudonymKey:
    """The key from a file of raw bytes (used exactly as stored: no trimming, no decoding)."""
    try:
        secret = Path(path).read_bytes()
    except FileNotFoundError:
        raise PseudonymKeyError(f"{option}: file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise PseudonymKeyError(f"{option}: {str(path)!r} is a directory") from None
    except OSError as e:
        raise PseudonymKeyError(f"{option}: cannot read {str(path)!r}: {e.strerror}") from None
    if len(secret) < MIN_KEY_BYTES:
        raise PseudonymKeyError(f"{option}: the key in {str(path)!r} must be at least {MIN_KEY_BYTES} bytes")
    return PseudonymKey.from_bytes(secret, key_id, option=id_option)


def load_processor_map(path: str | Path, *, option: str = "processors") -> Mapping[str, str]:
    """`[processors]` of a TOML file: caller OIN (20 digits) → URL of its application."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProcessorMapError(f"{option}: file {str(path)!r} does not exist") from None
    except OSError as e:
        raise ProcessorMapError(f"{option}: cannot read {str(path)!r}: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ProcessorMapError(f"{option}: {str(path)!r} is not valid TOML: {e}") from None
    table = data.get("processors")
    if not isinstance(table, dict):
        raise ProcessorMapError(f"{option}: {str(path)!r} has no [processors] table")
    out: dict[str, str] = {}
    for oin, url in table.items():
        try:
            check_oin(oin)
        except InvalidValue:
            raise ProcessorMapError(f"{option}: a key of [processors] is not an OIN of 20 digits") from None
        try:
            out[oin] = check_uri(url)
        except InvalidValue:
            raise ProcessorMapError(f"{option}: [processors] {oin} must be an absolute URL") from None
    return out
