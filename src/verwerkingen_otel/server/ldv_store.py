"""Append-only storage of Logboek Dataverwerkingen logregels (SQLite or PostgreSQL).

Its own table, created idempotently at start-up beside the VNG tables. No row is ever updated
or deleted. (trace_id, span_id) is unique: an exporter that retries a batch the log had already
stored is answered as if stored now; a *different* record under ids already used is refused.
"""

from __future__ import annotations

import hashlib
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Sequence

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ..ldv import DATA_SUBJECT_ID, DATA_SUBJECT_ID_TYPE, FOREIGN_PROCESSOR, PROCESSING_ACTIVITY_ID, Logregel
from .storage import Storage

__all__ = ["FILTER_COLUMNS", "LdvFilter", "LdvStore", "MAX_RESULTS", "logregels"]

MAX_RESULTS = 1000
_ID = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData()
logregels = Table(
    "vl_ldv_logregels", metadata,
    Column("seq", _ID, primary_key=True, autoincrement=True),
    Column("trace_id", String(32), nullable=False),
    Column("span_id", String(16), nullable=False),
    Column("parent_span_id", String(16)),
    Column("name", Text, nullable=False),
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    Column("status", String(8), nullable=False),
    Column("processing_activity_id", Text),
    Column("data_subject_id", Text),
    Column("data_subject_id_type", Text),
    Column("foreign_processor", Text),
    Column("attributes", Text, nullable=False),  # JSON object
    Column("resource", Text, nullable=False),  # JSON object
    Column("digest", String(64), nullable=False),  # of the record as received: tells a retry from a clash
    Column("client_id", String(255), nullable=False),
    Column("ontvangen", Text, nullable=False),
    UniqueConstraint("trace_id", "span_id", name="vl_ldv_logregels_ids"),
    Index("vl_ldv_logregels_order", "start_ns", "span_id"),
    Index("vl_ldv_logregels_subject", "data_subject_id"),
    Index("vl_ldv_logregels_activity", "processing_activity_id"),
)

FILTER_COLUMNS = {
    PROCESSING_ACTIVITY_ID: logregels.c.processing_activity_id,
    DATA_SUBJECT_ID: logregels.c.data_subject_id,
    DATA_SUBJECT_ID_TYPE: logregels.c.data_subject_id_type,
    FOREIGN_PROCESSOR: logregels.c.foreign_processor,
}
"""The attributes the lezen API filters on, each with its own indexed column."""


@dataclass(frozen=True)
class LdvFilter:
    """The lezen API's filters; times in nanoseconds (inclusive)."""

    trace_id: str | None = None
    start_from_ns: int | None = None
    end_until_ns: int | None = None
    attributes: tuple[tuple[str, str], ...] = ()


def _canonical(r: Logregel) -> str:
    return json.dumps(r.to_json() | {"startTime": r.start_time_ns, "endTime": r.end_time_ns},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class LdvStore:
    """The logregels of one log; every method is synchronous and thread-safe."""

    def __init__(self, storage: Storage) -> None:
        self.engine = storage.engine
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._lock = threading.Lock() if self.is_sqlite else None

    def create_schema(self) -> None:
        """Create the table on first start (safe when several workers start at once)."""
        with self._write() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(7261535)"))
            metadata.create_all(conn, checkfirst=True)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        if self._lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._lock, self.engine.connect().execution_options(write=True) as conn:
            with conn.begin():
                yield conn

    def append(self, regels: Sequence[Logregel], client_id: str) -> list[int]:
        """Store the records; returns the positions of those refused because their ids were
        already used by a different record. A record stored before unchanged counts as stored."""
        if not regels:
            return []
        now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        rows = [self._row(r, client_id, now) for r in regels]
        dialect_insert = sqlite_insert if self.is_sqlite else pg_insert
        statement = dialect_insert(logregels).on_conflict_do_nothing(index_elements=["trace_id", "span_id"])
        with self._write() as conn:
            conn.execute(statement, rows)
            stored: dict[tuple[str, str], str] = {}
            span_ids = sorted({row["span_id"] for row in rows})
            for start in range(0, len(span_ids), 500):
                for found in conn.execute(
                    select(logregels.c.trace_id, logregels.c.span_id, logregels.c.digest)
                    .where(logregels.c.span_id.in_(span_ids[start:start + 500]))
                ):
                    stored[(found.trace_id, found.span_id)] = found.digest
        return [position for position, row in enumerate(rows)
                if stored.get((row["trace_id"], row["span_id"])) != row["digest"]]

    @staticmethod
    def _row(r: Logregel, client_id: str, now: str) -> dict[str, Any]:
        canonical = _canonical(r)
        shown = r.to_json()
        return {
            "trace_id": r.trace_id, "span_id": r.span_id, "parent_span_id": r.parent_span_id, "name": r.name,
            "start_ns": r.start_time_ns, "end_ns": r.end_time_ns, "status": r.status,
            "processing_activity_id": _text(r.attributes.get(PROCESSING_ACTIVITY_ID)),
            "data_subject_id": _text(r.attributes.get(DATA_SUBJECT_ID)),
            "data_subject_id_type": _text(r.attributes.get(DATA_SUBJECT_ID_TYPE)),
            "foreign_processor": _text(r.attributes.get(FOREIGN_PROCESSOR)),
            "attributes": json.dumps(shown["attributes"], ensure_ascii=False, separators=(",", ":")),
            "resource": json.dumps(shown["resource"]["attributes"], ensure_ascii=False, separators=(",", ":")),
            "digest": hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
            "client_id": client_id, "ontvangen": now,
        }

    def find(self, flt: LdvFilter, limit: int = MAX_RESULTS) -> tuple[list[Logregel], bool]:
        """Matching records ordered by start time, then span id; (at most `limit`, truncated?)."""
        where: list[Any] = []
        if flt.trace_id is not None:
            where.append(logregels.c.trace_id == flt.trace_id)
        if flt.start_from_ns is not None:
            where.append(logregels.c.start_ns >= flt.start_from_ns)
        if flt.end_until_ns is not None:
            where.append(logregels.c.end_ns <= flt.end_until_ns)
        for key, value in flt.attributes:
            where.append(FILTER_COLUMNS[key] == value)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(logregels).where(*where).order_by(logregels.c.start_ns, logregels.c.span_id)
                .limit(limit + 1)
            ).all()
        found = [
            Logregel(trace_id=row.trace_id, span_id=row.span_id, parent_span_id=row.parent_span_id,
                     name=row.name, start_time_ns=row.start_ns, end_time_ns=row.end_ns, status=row.status,
                     attributes=json.loads(row.attributes), resource=json.loads(row.resource))
            for row in rows[:limit]
        ]
        return found, len(rows) > limit

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(logregels)).scalar_one()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
