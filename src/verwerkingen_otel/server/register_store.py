"""The register in the database: every version of every activity, append-only, with valid-from.

A load compares the new register with the current versions and appends a row for each activity
that is new or changed, and a `vervallen` row for each one that left the register. Nothing is
ever updated or deleted, so an action is always explained by the activity as it was at its
`tijdstip` (NOTES §8). Readers keep one in-memory `RegisterHistory`, rebuilt only when the
table grew (a `register load` from the CLI or another worker is seen on the next request).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable

from sqlalchemy import (
    BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text, func, insert, select, text,
)

from ..register import Register, Verwerkingsactiviteit, parse_activiteit
from .storage import Storage

_ID = BigInteger().with_variant(Integer, "sqlite")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LOCK_KEY = 7261535  # PostgreSQL advisory lock: one register load at a time

metadata = MetaData()

register_versies = Table(
    "vl_register_versies", metadata,
    Column("seq", _ID, primary_key=True, autoincrement=True),
    Column("activiteit_id", String(36), nullable=False),
    Column("naam", Text, nullable=False),
    Column("geldig_vanaf", Text, nullable=False),  # ISO 8601, UTC
    Column("geldig_vanaf_us", BigInteger, nullable=False),  # the instant, for comparisons
    Column("vervallen", Boolean, nullable=False, default=False),  # left the register at that moment
    Column("data", Text, nullable=False),  # JSON: the register-file form of the activity
    Index("vl_register_versies_activiteit", "activiteit_id", "seq"),
)


def _us(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True)
class Versie:
    """One version of one activity; `activiteit` is None for the version that removed it."""

    seq: int
    activiteit_id: str
    geldig_vanaf: datetime
    geldig_vanaf_us: int
    activiteit: Verwerkingsactiviteit | None


@dataclass(frozen=True)
class LoadResult:
    added: int
    changed: int
    removed: int
    unchanged: int

    def __str__(self) -> str:
        return (f"{self.added} nieuw, {self.changed} gewijzigd, {self.removed} vervallen, "
                f"{self.unchanged} ongewijzigd")


class RegisterHistory:
    """Every version, grouped per activity, oldest first; answers 'which version at instant t?'."""

    def __init__(self, versies: Iterable[Versie]) -> None:
        self.by_id: dict[str, list[Versie]] = {}
        for v in sorted(versies, key=lambda v: v.seq):
            self.by_id.setdefault(v.activiteit_id, []).append(v)

    def __bool__(self) -> bool:
        return bool(self.by_id)

    def get(self, activiteit_id: str, at: datetime | None = None) -> Versie | None:
        """The version valid at `at` (now when None); None when absent or vervallen then."""
        chain = self.by_id.get(activiteit_id.lower())
        if not chain:
            return None
        if at is None:
            found: Versie | None = chain[-1]
        else:
            limit = _us(at)
            found = None
            for v in chain:
                if v.geldig_vanaf_us > limit:
                    break
                found = v
        return found if found is not None and found.activiteit is not None else None

    def on(self, peildatum: date) -> datetime:
        """The instant that stands for a date: its end (UTC), so changes made that day count."""
        return datetime.combine(peildatum + timedelta(days=1), time(0), timezone.utc) - timedelta(microseconds=1)

    def valid(self, at: datetime | None = None) -> list[Versie]:
        """Every activity's version valid at `at` (now when None)."""
        out = [self.get(i, at) for i in self.by_id]
        return [v for v in out if v is not None]

    def ever(self, activiteit_id: str) -> bool:
        """True when any version of this id was ever in the register (not counting removals)."""
        return any(v.activiteit is not None for v in self.by_id.get(activiteit_id.lower(), ()))

    def current_register(self) -> Register:
        return Register((v.activiteit for v in self.valid() if v.activiteit is not None), "database")


class RegisterStore:
    """Reads and appends register versions through the server's engine."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.engine = storage.engine
        self._lock = threading.Lock()
        self._cached: tuple[tuple[int, int], RegisterHistory] | None = None

    def create_schema(self) -> None:
        """Create the table if missing (safe when several workers start at once)."""
        with self._begin_write() as conn:
            if not self.storage.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            metadata.create_all(conn, checkfirst=True)

    def _begin_write(self) -> Any:
        # execution option `write` makes the server's SQLite engine BEGIN IMMEDIATE (storage.py)
        return _WriteTx(self.engine)

    def load(self, register: Register, now: datetime | None = None) -> LoadResult:
        """Append the versions that make `register` the current one; returns what changed."""
        now = now or datetime.now(timezone.utc)
        with self._lock, self._begin_write() as conn:
            if not self.storage.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            history = RegisterHistory(self._versies(conn))
            last = conn.execute(select(func.max(register_versies.c.geldig_vanaf_us))).scalar()
            moment = now if last is None or _us(now) > last else _EPOCH + timedelta(microseconds=last + 1)
            rows: list[dict[str, Any]] = []
            added = changed = unchanged = 0
            seen: set[str] = set()
            for a in register:
                seen.add(a.id)
                current = history.get(a.id)
                data = a.to_dict()
                if current is not None and current.activiteit is not None and current.activiteit.to_dict() == data:
                    unchanged += 1
                    continue
                if history.ever(a.id):
                    changed += 1
                else:
                    added += 1
                rows.append(self._row(a.id, a.naam, moment, False, data))
            removed = 0
            for v in history.valid():
                if v.activiteit_id not in seen and v.activiteit is not None:
                    removed += 1
                    rows.append(self._row(v.activiteit_id, v.activiteit.naam, moment, True, v.activiteit.to_dict()))
            if rows:
                conn.execute(insert(register_versies), rows)
            self._cached = None
            return LoadResult(added, changed, removed, unchanged)

    @staticmethod
    def _row(activiteit_id: str, naam: str, moment: datetime, vervallen: bool, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "activiteit_id": activiteit_id, "naam": naam, "geldig_vanaf": moment.isoformat(timespec="microseconds"),
            "geldig_vanaf_us": _us(moment), "vervallen": vervallen,
            "data": json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        }

    def history(self) -> RegisterHistory:
        """The whole history; re-read only when the table changed since the last call."""
        with self.engine.connect() as conn:
            marker = tuple(conn.execute(
                select(func.count(), func.coalesce(func.max(register_versies.c.seq), 0))
                .select_from(register_versies)).one())
            cached = self._cached
            if cached is not None and cached[0] == marker:
                return cached[1]
            history = RegisterHistory(self._versies(conn))
        self._cached = ((int(marker[0]), int(marker[1])), history)
        return history

    @staticmethod
    def _versies(conn: Any) -> list[Versie]:
        out = []
        for r in conn.execute(select(register_versies).order_by(register_versies.c.seq)):
            activiteit = None
            if not r.vervallen:
                activiteit, problems = parse_activiteit(json.loads(r.data), 0)
                if activiteit is None:  # stored by this code after the same checks: cannot happen
                    raise RuntimeError(f"register version {r.seq} does not validate: {problems[0].field}")
            moment = datetime.fromisoformat(r.geldig_vanaf)
            out.append(Versie(r.seq, r.activiteit_id, moment, r.geldig_vanaf_us, activiteit))
        return out


class _WriteTx:
    """A write transaction on the server's engine (BEGIN IMMEDIATE on SQLite)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def __enter__(self) -> Any:
        self._conn = self.engine.connect().execution_options(write=True)
        self._tx = self._conn.begin()
        return self._conn

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        try:
            if exc_type is None:
                self._tx.commit()
            else:
                self._tx.rollback()
        finally:
            self._conn.close()


__all__ = ["LoadResult", "RegisterHistory", "RegisterStore", "Versie", "register_versies"]
