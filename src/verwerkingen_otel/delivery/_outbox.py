"""The durable outbox: a SQLite file that holds every action until its exporter has it.

One row per (action, exporter), so each exporter gets each action exactly once from here; a
row leaves the outbox only when it is delivered or moved to the dead-letter table with the
log's problem JSON. WAL mode, a busy timeout and `BEGIN IMMEDIATE` let several processes
(gunicorn workers) share one file; a row being delivered is *leased* by one process
(`namespace:pid:instance`, see `_outbox_guard`) so two processes do not send it at the same
time, and a lease of a process that died is released at start-up (or when it runs out).

The file holds personal data: it is created readable by its owner only (0600, in a 0700
directory when we create that), never through a symlink. A connection is never used across
`fork()`: the child abandons the inherited one and opens its own.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import weakref
from typing import Any, Iterable, Mapping, Sequence

from ._outbox_tx import Transaction
from ._outbox_guard import check_directory, lease_is_stale, lease_owner, secure_companions
from ._outbox_schema import INSERT, SCHEMA, DeadLetter, OutboxError, OutboxRow, id_filter

__all__ = ["DeadLetter", "Outbox", "OutboxError", "OutboxRow"]

WAL_SIZE_LIMIT = 64 * 1024 * 1024
"""Bytes the WAL file is truncated back to after a checkpoint lets it start over."""

# Connections inherited across fork(): kept referenced so the child never closes (and so
# never checkpoints or unlinks) what belongs to the parent.
_ABANDONED: list[sqlite3.Connection] = []


class Outbox:
    """A SQLite outbox file; thread-safe, fork-safe, shareable between processes."""

    def __init__(self, path: str | os.PathLike[str], *, synchronous: str = "FULL",
                 busy_timeout: float = 5.0, lease: float = 60.0) -> None:
        self.path = os.fspath(path)
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError("outbox synchronous must be OFF, NORMAL, FULL or EXTRA")
        self.synchronous = synchronous.upper()
        self.busy_timeout = busy_timeout
        self.lease = lease
        self.owner = lease_owner(os.getpid())
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint_lock = threading.Lock()
        self._depth = 0  # nesting of _write() blocks (under _lock)
        self.writes = 0  # commits since the last checkpoint (the worker checkpoints by it)
        self._pid = os.getpid()
        self._closed = False
        check_directory(self.path)
        self._create_file()
        secure_companions(self.path)  # before SQLite opens what may already be there
        self._connection()  # fail at start-up, not on the first request
        secure_companions(self.path)
        ref = weakref.ref(self)
        os.register_at_fork(before=lambda: _before_fork(ref),
                            after_in_parent=lambda: _after_fork_in_parent(ref),
                            after_in_child=lambda: _after_fork(ref))

    # --- file and connection ----------------------------------------------------------------

    def _create_file(self) -> None:
        """Create the file 0600 (its WAL and shm files inherit that), refusing symlinks."""
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
            try:
                mode = os.fstat(fd).st_mode & 0o777
                if mode & 0o077:
                    os.fchmod(fd, 0o600)
            finally:
                os.close(fd)
        except OSError as exc:
            raise OutboxError(
                f"cannot create the outbox file {self.path!r}: {exc.strerror or exc}"
            ) from None

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise OutboxError(f"the outbox {self.path!r} is closed")
        if self._pid != os.getpid():  # a forked child: never touch what the parent opened
            if self._conn is not None:
                _ABANDONED.append(self._conn)
            if self._checkpointer is not None:
                _ABANDONED.append(self._checkpointer)
            self._conn = self._checkpointer = None
            self._pid = os.getpid()
            self.owner = lease_owner(self._pid)
        if self._conn is None:
            # The request path never checkpoints (an fsync of the database file would land on
            # one unlucky request); the worker does, on a connection of its own (`checkpoint`).
            self._conn = self._open(autocheckpoint=False)
        return self._conn

    def _open(self, autocheckpoint: bool) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            # Delivered bodies hold BSNs: overwrite deleted rows instead of leaving them in free
            # pages (the default of some SQLite builds only). Old WAL frames still hold them
            # until the WAL restarts; docs/security.md says so.
            conn.execute("PRAGMA secure_delete = ON")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchall()[0][0]
            if str(mode).lower() != "wal":
                raise OutboxError(f"the outbox {self.path!r} cannot use WAL mode")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            if not autocheckpoint:
                conn.execute("PRAGMA wal_autocheckpoint = 0")
            conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
            conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open the outbox {self.path!r}: {exc}") from None
        return conn

    def checkpoint(self) -> None:
        """Copy the WAL into the database (PASSIVE: never blocks writers). Worker side only."""
        with self._checkpoint_lock:
            if self._closed:
                return
            if self._checkpointer is None or self._pid != os.getpid():
                self._connection()  # settles fork state first
                self._checkpointer = self._open(autocheckpoint=True)
            try:
                # The bulk without stopping anyone; then, holding our writers back for the few
                # frames that arrived meanwhile, the rest, so the next write can start the WAL
                # over (under a steady stream of writes a passive checkpoint alone never
                # catches up, and the WAL would grow without end).
                self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                with self._lock:
                    self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.writes = 0
            except sqlite3.Error:
                pass  # busy now; the next one catches up

    def _write(self, relaxed: bool = False) -> Transaction:
        return Transaction(self, relaxed)

    def close(self) -> None:
        with self._checkpoint_lock, self._lock:
            if self._pid == os.getpid():
                for conn in (self._checkpointer, self._conn):
                    if conn is not None:
                        conn.close()
            self._conn = self._checkpointer = None
            self._closed = True

    def _before_fork(self) -> None:
        # SQLite keeps per-process lock bookkeeping per file: a connection that crosses fork()
        # confuses the child's. So no connection crosses: close it (between transactions, under
        # the lock) and let each side reopen on next use.
        self._checkpoint_lock.acquire()
        self._lock.acquire()
        if self._pid == os.getpid():
            for conn in (self._checkpointer, self._conn):
                if conn is not None:
                    try:
                        conn.close()
                    except sqlite3.Error:
                        _ABANDONED.append(conn)
            self._conn = self._checkpointer = None

    def _reset_after_fork(self) -> None:
        self._depth = 0
        self._lock = threading.RLock()
        self._checkpoint_lock = threading.Lock()

    # --- the request path ----------------------------------------------------------------

    def add(self, record_id: str, body: str, exporters: Sequence[str], now: float | None = None,
            bodies: Mapping[str, str] | None = None) -> None:
        """Store one action for each exporter in one transaction; OutboxError if that fails.
        `bodies` gives some exporters a body of their own (one that carries the span)."""
        now = time.time() if now is None else now
        with self._write() as conn:
            if len(exporters) == 1 and not bodies:
                conn.execute(INSERT, (record_id, exporters[0], body, now, now))
            else:
                own = bodies or {}
                conn.executemany(INSERT, [(record_id, e, own.get(e, body), now, now) for e in exporters])

    # --- the worker ------------------------------------------------------------------------

    def claim(self, exporter: str, limit: int, now: float | None = None) -> list[OutboxRow]:
        """Lease up to `limit` due rows of `exporter` for this process, oldest first."""
        now = time.time() if now is None else now
        with self._write() as conn:
            rows = conn.execute(
                "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id IN ("
                " SELECT id FROM outbox WHERE exporter = ? AND next_attempt <= ? AND lease_until <= ?"
                " ORDER BY next_attempt, id LIMIT ?)"
                " RETURNING id, record_id, exporter, body, created, attempts",
                (self.owner, now + self.lease, exporter, now, now, limit),
            ).fetchall()
        rows.sort(key=lambda r: r[0])
        return [OutboxRow(*r) for r in rows]

    def complete(self, delivered: Iterable[int] = (),
                 retry: Iterable[tuple[int, float, str]] = (),
                 dead: Iterable[tuple[int, int | None, str]] = (),
                 release: Iterable[int] = ()) -> None:
        """Apply a batch of outcomes in one transaction.

        delivered: row ids to remove; retry: (row id, next attempt, short reason);
        dead: (row id, HTTP status, problem JSON) to move to the dead-letter table;
        release: row ids leased but not tried (their exporter started failing meanwhile).
        """
        delivered, retry, dead, release = list(delivered), list(retry), list(dead), list(release)
        if not (delivered or retry or dead or release):
            return
        now = time.time()
        with self._write() as conn:
            if release:
                conn.executemany("UPDATE outbox SET lease_owner = NULL, lease_until = 0 WHERE id = ?",
                                 [(i,) for i in release])
            if delivered:
                conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in delivered])
            if retry:
                conn.executemany(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?,"
                    " lease_owner = NULL, lease_until = 0 WHERE id = ?",
                    [(at, reason, i) for i, at, reason in retry],
                )
            for rowid, status, problem in dead:
                conn.execute(
                    "INSERT OR REPLACE INTO dead_letters"
                    " (record_id, exporter, body, created, attempts, status, problem, dead_at)"
                    " SELECT record_id, exporter, body, created, attempts + 1, ?, ?, ?"
                    " FROM outbox WHERE id = ?",
                    (status, problem, now, rowid),
                )
                conn.execute("DELETE FROM outbox WHERE id = ?", (rowid,))

    def cycle(self, delivered: Iterable[int], retry: Iterable[tuple[int, float, str]],
              dead: Iterable[tuple[int, int | None, str]], release: Iterable[int],
              claims: Sequence[tuple[str, int]]) -> dict[str, list[OutboxRow]]:
        """`complete` and then `claim` for each (exporter, limit), in one transaction.

        The worker's whole turn costs the request path one wait for the lock, not several.
        """
        with self._write(relaxed=True):
            self.complete(delivered, retry, dead, release)
            return {exporter: self.claim(exporter, limit) for exporter, limit in claims if limit > 0}

    def release_stale_leases(self) -> int:
        """Free rows leased by processes that are gone (or by an earlier life of our pid)."""
        now = time.time()
        with self._write() as conn:
            owners = [r[0] for r in conn.execute(
                "SELECT DISTINCT lease_owner FROM outbox WHERE lease_until > ? AND lease_owner IS NOT NULL",
                (now,),
            )]
            stale = []
            for owner in owners:
                if lease_is_stale(owner, self.owner):
                    stale.append(owner)
            released = 0
            for owner in stale:
                released += conn.execute(
                    "UPDATE outbox SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ?",
                    (owner,),
                ).rowcount
        return released

    def release_own_leases(self) -> None:
        """Give back rows this process leased but will not finish (shutdown)."""
        with self._write() as conn:
            conn.execute("UPDATE outbox SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ?",
                         (self.owner,))

    def pending(self, exporters: Sequence[str] | None = None) -> int:
        """Rows not yet delivered nor dead-lettered (for these exporters)."""
        with self._lock:
            conn = self._connection()
            try:
                if exporters is None:
                    return conn.execute("SELECT COUNT(*) FROM outbox").fetchall()[0][0]
                marks = ",".join("?" * len(exporters))
                return conn.execute(f"SELECT COUNT(*) FROM outbox WHERE exporter IN ({marks})",
                                    list(exporters)).fetchall()[0][0]
            except sqlite3.Error as exc:
                raise OutboxError(f"cannot read the outbox {self.path!r}: {exc}") from None

    def next_due(self, exporter: str) -> float | None:
        """When the earliest unleased row of `exporter` is due, or None if it has none."""
        with self._lock:
            row = self._connection().execute(
                "SELECT MIN(next_attempt) FROM outbox WHERE exporter = ? AND lease_until <= ?",
                (exporter, time.time()),
            ).fetchall()[0]
        return row[0]

    def exporters(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._connection().execute("SELECT DISTINCT exporter FROM outbox")]

    # --- operations (CLI) ----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Counts per exporter, the oldest waiting action's age, and dead letters."""
        with self._lock:
            conn = self._connection()
            now = time.time()
            per_exporter = {
                exporter: {"pending": count, "oldest_age_seconds": round(now - oldest, 3),
                           "retrying": retrying}
                for exporter, count, oldest, retrying in conn.execute(
                    "SELECT exporter, COUNT(*), MIN(created), SUM(attempts > 0) FROM outbox GROUP BY exporter"
                )
            }
            dead = dict(conn.execute("SELECT exporter, COUNT(*) FROM dead_letters GROUP BY exporter").fetchall())
        return {
            "path": self.path,
            "pending": sum(v["pending"] for v in per_exporter.values()),
            "dead_letters": sum(dead.values()),
            "exporters": per_exporter,
            "dead_letters_by_exporter": dead,
        }

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        with self._lock:
            rows = self._connection().execute(
                "SELECT id, record_id, exporter, body, created, attempts, status, problem, dead_at"
                " FROM dead_letters ORDER BY id LIMIT ?",
                (-1 if limit is None else limit,),
            ).fetchall()
        return [DeadLetter(*r[:7], json.loads(r[7]) if r[7] else {}, r[8]) for r in rows]

    def retry_dead_letters(self, ids: Sequence[int] | None = None) -> int:
        """Move dead letters (all, or these ids) back into the outbox to be sent again."""
        where, params = id_filter(ids)
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO outbox (record_id, exporter, body, created, next_attempt)"
                f" SELECT record_id, exporter, body, created, ? FROM dead_letters {where}",
                (now, *params),
            )
            return conn.execute(f"DELETE FROM dead_letters {where}", params).rowcount

    def purge_dead_letters(self, ids: Sequence[int] | None = None) -> int:
        where, params = id_filter(ids)
        with self._write() as conn:
            return conn.execute(f"DELETE FROM dead_letters {where}", params).rowcount


def _before_fork(ref: weakref.ref[Outbox]) -> None:
    outbox = ref()
    if outbox is not None and not outbox._closed:
        outbox._before_fork()


def _after_fork_in_parent(ref: weakref.ref[Outbox]) -> None:
    outbox = ref()
    if outbox is not None and not outbox._closed:
        outbox._checkpoint_lock.release()
        outbox._lock.release()


def _after_fork(ref: weakref.ref[Outbox]) -> None:
    outbox = ref()
    if outbox is not None:
        outbox._reset_after_fork()
