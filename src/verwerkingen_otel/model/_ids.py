"""Fresh identifiers: random (version 4) UUIDs as text, from the OS's secure random source.

Every recorded action needs two (its verwerkingId when none is given, and the record id that is
its Idempotency-Key), on the request path. `str(uuid.uuid4())` costs a system call plus the UUID
object (~3-7 µs here, measured by benchmarks/capture_overhead.py), so random bytes are fetched
in blocks of 4 KiB and formatted 256 UUIDs at a time; handing one out is a list pop (atomic
under the GIL, so no lock on the way). A forked child starts on a block of its own.
"""

from __future__ import annotations

import os
import threading

__all__ = ["new_uuid4", "new_verwerking_id"]

_RANDOM_BLOCK = 4096
_uuid_pool: list[str] = []
_random_lock = threading.Lock()
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def new_uuid4() -> str:
    """A random (version 4) UUID as text."""
    try:
        return _uuid_pool.pop()
    except IndexError:
        with _random_lock:
            if not _uuid_pool:
                _uuid_pool.extend(_format_uuids(os.urandom(_RANDOM_BLOCK)))
        return new_uuid4()


def new_verwerking_id() -> str:
    """A fresh verwerkingId for a verwerking that has no zaak or verzoek of its own."""
    return new_uuid4()


def _format_uuids(block: bytes) -> list[str]:
    """Version 4, RFC 4122 variant: 122 random bits, the version and variant bits set."""
    texts = [block[i : i + 16].hex() for i in range(0, len(block), 16)]
    return [f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}" for h in texts]


def _fresh_random_block() -> None:
    global _random_lock
    _random_lock = threading.Lock()
    _uuid_pool.clear()


if hasattr(os, "register_at_fork"):  # never hand a child the parent's unused random bytes
    os.register_at_fork(after_in_child=_fresh_random_block)
