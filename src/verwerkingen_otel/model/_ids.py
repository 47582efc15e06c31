"""Fresh identifiers: random (version 4) UUIDs as text, from the OS's secure random source.

Every recorded action needs two (its verwerkingId when none is given, and the record id that is
its Idempotency-Key), on the request path. `str(uuid.uuid4())` costs a system call plus the UUID
object (~3-7 µs here, measured by benchmarks/capture_overhead.py), so random bytes are fetched
in blocks and formatted 256 UUIDs at a time; handing one out is a list pop (atomic under the
GIL, so no lock on the way). A forked child starts on a block of its own.

The block is formatted by a few whole-block byte operations, never per UUID in Python: each
random byte becomes one hex digit (its low four bits, `bytes.translate`), the dashes, the version
digit and the separators are written into every UUID's fixed places by extended-slice
assignment, the variant digit is one of `89ab` from its byte's low two bits, and one `split`
makes the texts (about a seventh of the instructions of slicing and formatting each UUID).
"""

from __future__ import annotations

import os
import threading

__all__ = ["new_uuid4", "new_verwerking_id"]

_BATCH = 256
"""UUIDs formatted per block of random bytes."""
_WIDTH = 37
"""One UUID's 36 characters and the newline that separates it from the next."""
_uuid_pool: list[str] = []
_random_lock = threading.Lock()
_HEX_DIGIT = bytes(b"0123456789abcdef"[b & 15] for b in range(256))
"""A random byte -> the hex digit of its low four bits (uniform when the byte is)."""
_VARIANT_DIGIT = bytes(b"89ab"[b & 3] for b in range(256))
"""A random byte -> the RFC 4122 variant digit: 10xx in binary, the low two bits random."""
_FIXED = tuple(
    (position, char * _BATCH) for position, char in ((8, b"-"), (13, b"-"), (14, b"4"), (18, b"-"), (23, b"-"))
)
"""The dashes and the version digit, at their place in every UUID of a block."""
_NEWLINES = b"\n" * (_BATCH - 1)


def new_uuid4() -> str:
    """A random (version 4) UUID as text."""
    try:
        return _uuid_pool.pop()
    except IndexError:
        with _random_lock:
            if not _uuid_pool:
                _uuid_pool.extend(_format_uuids(os.urandom(_WIDTH * _BATCH - 1)))
        return new_uuid4()


def new_verwerking_id() -> str:
    """A fresh verwerkingId for a verwerking that has no zaak or verzoek of its own."""
    return new_uuid4()


def _format_uuids(block: bytes) -> list[str]:
    """Version 4, RFC 4122 variant, 122 random bits each: `_BATCH` UUIDs from `_WIDTH * _BATCH - 1`
    random bytes (a byte per hex digit; the bytes under the fixed places are not used)."""
    text = bytearray(block.translate(_HEX_DIGIT))
    text[19::_WIDTH] = block[19::_WIDTH].translate(_VARIANT_DIGIT)
    for position, chars in _FIXED:
        text[position::_WIDTH] = chars
    text[36::_WIDTH] = _NEWLINES
    return text.decode("ascii").split("\n")


def _fresh_random_block() -> None:
    global _random_lock
    _random_lock = threading.Lock()
    _uuid_pool.clear()


if hasattr(os, "register_at_fork"):  # never hand a child the parent's unused random bytes
    os.register_at_fork(after_in_child=_fresh_random_block)
