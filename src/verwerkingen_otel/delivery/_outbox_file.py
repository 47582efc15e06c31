"""The outbox file itself: created owner-only without following a symlink, and each connection's
settings (WAL, synchronous, secure delete, a bounded WAL, the schema)."""

from __future__ import annotations

import os
import sqlite3

from ._outbox_schema import SCHEMA, OutboxError

__all__ = ["WAL_SIZE_LIMIT", "create_file", "open_connection"]

WAL_SIZE_LIMIT = 64 * 1024 * 1024
"""Bytes the WAL file is truncated back to after a checkpoint lets it start over."""


def create_file(path: str) -> None:
    """Create the file 0600 (its WAL and shm files inherit that), refusing symlinks."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            mode = os.fstat(fd).st_mode & 0o777
            if mode & 0o077:
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
    except OSError as exc:
        raise OutboxError(f"cannot create the outbox file {path!r}: {exc.strerror or exc}") from None


def open_connection(path: str, busy_timeout: float, synchronous: str, autocheckpoint: bool) -> sqlite3.Connection:
    """A connection in WAL mode with `synchronous`; the request path's never checkpoints itself."""
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        # Delivered bodies hold BSNs: overwrite deleted rows instead of leaving them in free
        # pages (the default of some SQLite builds only). Old WAL frames still hold them
        # until the WAL restarts; docs/security.md says so.
        conn.execute("PRAGMA secure_delete = ON")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchall()[0][0]
        if str(mode).lower() != "wal":
            raise OutboxError(f"the outbox {path!r} cannot use WAL mode")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        if not autocheckpoint:
            conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        conn.executescript(SCHEMA)
    except sqlite3.Error as exc:
        raise OutboxError(f"cannot open the outbox {path!r}: {exc}") from None
    return conn
