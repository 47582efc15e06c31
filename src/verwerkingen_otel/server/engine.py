"""Database engines with the settings the log needs: WAL + busy timeout on SQLite, pooled psycopg."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

# PostgreSQL pool per process: enough for the threadpool's concurrent storage calls. With N
# processes on one database, N * (POOL_SIZE + MAX_OVERFLOW) must stay below max_connections.
POOL_SIZE = 10
MAX_OVERFLOW = 20


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, hide_parameters=True, pool_size=8, max_overflow=16,
            connect_args={"timeout": 30, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Writers take the lock up front, so two processes never deadlock upgrading a read lock.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

        return engine
    # JIT compiles plans that read many rows; the log's queries read a page's worth, so it only adds latency
    return create_engine(url, hide_parameters=True, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW,
                         pool_pre_ping=True, connect_args={"options": "-c jit=off"})


def create_private(path: str) -> None:
    """A new SQLite log is readable by its owner only (SQLite gives -wal/-shm the same mode)."""
    if path and path != ":memory:" and not os.path.exists(path):
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            pass


def pool_status(engine: Engine) -> dict[str, int]:
    """Connections checked out and idle in this process's pool (for /metrics)."""
    pool: Any = engine.pool
    out = {}
    for name in ("checkedout", "checkedin", "size", "overflow"):
        fn = getattr(pool, name, None)
        if callable(fn):
            out[name] = int(fn())
    return out


__all__ = ["MAX_OVERFLOW", "POOL_SIZE", "create_private", "make_engine", "pool_status"]
