"""One write transaction on the outbox: BEGIN IMMEDIATE … COMMIT under the outbox's lock, nesting,
with sqlite3's errors turned into OutboxError at this one border."""

from __future__ import annotations

import sqlite3
from typing import Any

from ._outbox_schema import OutboxError

__all__ = ["Transaction", "rollback"]


class Transaction:
    """`with outbox._write() as conn:` — BEGIN IMMEDIATE … COMMIT under the outbox lock.

    Nests: an inner block joins the outer transaction, which commits (or rolls back) once.
    """

    def __init__(self, outbox: Any, relaxed: bool = False) -> None:
        self.outbox = outbox
        # The worker's own changes (deletes after delivery, leases) need no fsync of their own:
        # losing one to a power cut means a resend the log de-duplicates, and the next
        # request-path commit (FULL) syncs the WAL up to and including them anyway.
        self.relaxed = relaxed and outbox.synchronous in ("FULL", "EXTRA")

    def __enter__(self) -> sqlite3.Connection:
        outbox = self.outbox
        outbox._lock.acquire()
        try:
            conn = outbox._connection()
            if outbox._depth == 0:
                if self.relaxed:
                    conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            outbox._lock.release()
            raise OutboxError(f"cannot write the outbox {outbox.path!r}: {exc}") from None
        except BaseException:
            outbox._lock.release()
            raise
        outbox._depth += 1
        self.conn = conn
        return conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        outbox = self.outbox
        try:
            outbox._depth -= 1
            if outbox._depth > 0:
                return False
            try:
                if exc_type is None:
                    try:
                        self.conn.execute("COMMIT")
                        outbox.writes += 1
                    except sqlite3.Error as error:
                        rollback(self.conn)
                        raise OutboxError(f"cannot write the outbox {outbox.path!r}: {error}") from None
                    return False
                rollback(self.conn)
                if isinstance(exc, sqlite3.Error):
                    raise OutboxError(f"cannot write the outbox {outbox.path!r}: {exc}") from None
                return False
            finally:
                if self.relaxed:
                    try:
                        self.conn.execute(f"PRAGMA synchronous = {outbox.synchronous}")
                    except sqlite3.Error:
                        pass
        finally:
            outbox._lock.release()


def rollback(conn: sqlite3.Connection) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass
