"""The outbox file's tables and the values read from them (rows, dead letters), and its error."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

from ._errors import OutboxError

__all__ = ["DeadLetter", "INSERT", "OutboxError", "OutboxRow", "SCHEMA", "id_filter", "pid_alive"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id           INTEGER PRIMARY KEY,
    record_id    TEXT NOT NULL,
    exporter     TEXT NOT NULL,
    body         TEXT NOT NULL,
    created      REAL NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    lease_owner  TEXT,
    lease_until  REAL NOT NULL DEFAULT 0,
    last_error   TEXT,
    UNIQUE (record_id, exporter)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (exporter, next_attempt);
CREATE TABLE IF NOT EXISTS dead_letters (
    id         INTEGER PRIMARY KEY,
    record_id  TEXT NOT NULL,
    exporter   TEXT NOT NULL,
    body       TEXT NOT NULL,
    created    REAL NOT NULL,
    attempts   INTEGER NOT NULL,
    status     INTEGER,
    problem    TEXT NOT NULL,
    dead_at    REAL NOT NULL,
    UNIQUE (record_id, exporter)
);
"""

INSERT = "INSERT INTO outbox (record_id, exporter, body, created, next_attempt) VALUES (?, ?, ?, ?, ?)"


@dataclass(frozen=True)
class OutboxRow:
    """One action waiting for one exporter."""

    rowid: int
    record_id: str
    exporter: str
    body: str  # the POST body as JSON text
    created: float
    attempts: int


@dataclass(frozen=True)
class DeadLetter:
    """An action the log refused for good, with the log's reason."""

    rowid: int
    record_id: str
    exporter: str
    body: str
    created: float
    attempts: int
    status: int | None
    problem: dict[str, Any]
    dead_at: float


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def id_filter(ids: Sequence[int] | None) -> tuple[str, tuple[int, ...]]:
    if ids is None:
        return "", ()
    ids = tuple(int(i) for i in ids)
    if not ids:
        return "WHERE 0", ()
    return f"WHERE id IN ({','.join('?' * len(ids))})", ids
