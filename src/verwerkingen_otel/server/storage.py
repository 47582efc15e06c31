"""Append-only storage of verwerkingsacties through SQLAlchemy Core (SQLite or PostgreSQL).

No row is ever updated or deleted: every change appends a version that shares the hidden
`chain_id` of the action; the current version is the newest row of a chain, and a logical
delete is a version marked `vervallen`. A unique (chain_id, versie) pair makes two concurrent
writers of the same action collide instead of forking it; the loser retries on the new state.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import (
    BigInteger, Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text,
    UniqueConstraint, create_engine, event, exists, func, insert, select, text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

SCHEMA_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only

metadata = MetaData()

schema_versie = Table(
    "vl_schema_versie", metadata,
    Column("versie", Integer, primary_key=True, autoincrement=False),
)

versies = Table(
    "vl_actie_versies", metadata,
    Column("seq", _ID, primary_key=True, autoincrement=True),
    Column("actie_id", String(36), nullable=False, unique=True),
    Column("chain_id", String(36), nullable=False),
    Column("versie", Integer, nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("vertrouwelijkheid", String(16), nullable=False),
    Column("vervallen", Boolean, nullable=False, default=False),
    Column("verwerking_id", String(36)),
    Column("verwerkingsactiviteit_id", String(36)),
    Column("tijdstip", Text, nullable=False),  # exactly as sent
    Column("tijdstip_us", BigInteger, nullable=False),  # the instant, for ordering
    Column("tijdstip_datum", String(10), nullable=False),  # date in the action's own offset
    Column("tijdstip_registratie", Text, nullable=False),
    Column("velden", Text, nullable=False),  # JSON: the other writable fields, camelCase
    UniqueConstraint("chain_id", "versie", name="vl_actie_versies_chain_versie"),
    Index("vl_actie_versies_order", "tijdstip_us", "actie_id"),
    Index("vl_actie_versies_verwerking", "verwerking_id"),
)

objecten = Table(
    "vl_verwerkte_objecten", metadata,
    Column("seq", _ID, primary_key=True, autoincrement=True),
    Column("versie_seq", _ID, ForeignKey("vl_actie_versies.seq"), nullable=False, index=True),
    Column("verwerkt_object_id", String(36), nullable=False, index=True),
    Column("positie", Integer, nullable=False),
    Column("objecttype", String(64), nullable=False),
    Column("soort_object_id", Text, nullable=False),
    Column("object_id", Text, nullable=False),
    Column("betrokkenheid", Text),
    Column("soorten_gegevens", Text),  # JSON list of strings, or null when not sent
    Index("vl_verwerkte_objecten_persoon", "object_id", "soort_object_id", "objecttype"),
)

idempotentie = Table(
    "vl_idempotentie", metadata,
    Column("client_id", String(255), primary_key=True),
    Column("sleutel", String(255), primary_key=True),
    Column("body_hash", String(64), nullable=False),
    Column("actie_id", String(36), nullable=False),
)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before by this client with another body."""


class SchemaTooNew(RuntimeError):
    """The database was written by a newer server version."""


@dataclass(frozen=True)
class StoredObject:
    verwerkt_object_id: str
    objecttype: str
    soort_object_id: str
    object_id: str
    betrokkenheid: str | None = None
    soorten_gegevens: tuple[str, ...] | None = None

    def person(self) -> tuple[str, str, str]:
        return (self.objecttype, self.soort_object_id, self.object_id)


@dataclass(frozen=True)
class StoredActie:
    """One version of an action as stored; `velden` holds the remaining writable API fields."""

    actie_id: str
    chain_id: str
    versie: int
    client_id: str
    vertrouwelijkheid: str
    tijdstip: str
    tijdstip_registratie: str
    velden: dict[str, Any]
    objecten: tuple[StoredObject, ...] = ()
    vervallen: bool = False
    seq: int = 0
    ooit_vertrouwelijk: bool = False  # is or was `vertrouwelijk` in any version (NOTES §2)


@dataclass(frozen=True)
class NewActie:
    """What a caller wants stored as the next version (or first, for a new chain)."""

    client_id: str
    vertrouwelijkheid: str
    tijdstip: str
    tijdstip_instant: datetime
    velden: dict[str, Any]
    objecten: tuple[StoredObject, ...]
    vervallen: bool = False


@dataclass(frozen=True)
class PersonFilter:
    objecttype: str
    soort_object_id: str
    object_id: str
    begin_datum: date | None = None
    eind_datum: date | None = None
    verwerkingsactiviteit_id: str | None = None
    vertrouwelijkheid: frozenset[str] | None = None  # None = any


def now_registratie() -> str:
    """tijdstipRegistratie: UTC with offset, microsecond precision."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _instant_us(dt: datetime) -> int:
    delta = dt - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def make_engine(url: str) -> Engine:
    """An engine with the settings the log needs: WAL + busy timeout on SQLite, pooled psycopg."""
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
    return create_engine(url, hide_parameters=True, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Storage:
    """All database access of the server; every method is synchronous and thread-safe."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            _create_private(url[len("sqlite:///"):])
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # In one process, serialise SQLite writers instead of letting them spin on the file lock.
        self._write_lock = threading.Lock() if self.is_sqlite else None

    # -- schema ---------------------------------------------------------------------------------

    def create_schema(self) -> None:
        """Create tables on first start (safe when several workers start at once)."""
        with self._write() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(7261534)"))
            metadata.create_all(conn, checkfirst=True)
            found = conn.execute(select(func.max(schema_versie.c.versie))).scalar()
            if found is None:
                conn.execute(insert(schema_versie).values(versie=SCHEMA_VERSION))
            elif found > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"database schema version {found} is newer than this server supports ({SCHEMA_VERSION})"
                )

    def schema_version(self) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(func.max(schema_versie.c.versie))).scalar()

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        if self._write_lock is not None:
            with self._write_lock:
                with self.engine.connect().execution_options(write=True) as conn:
                    with conn.begin():
                        yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One snapshot per read (a page's `count` and `results` agree; SQLite does this anyway)."""
        with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def _retrying(self, fn: Callable[[Connection], Any], attempts: int = 20) -> Any:
        """Run a write transaction, retrying when a concurrent writer took the same version."""
        for attempt in range(attempts):
            try:
                with self._write() as conn:
                    return fn(conn)
            except IntegrityError as e:
                if "chain_versie" not in str(e.orig) and "chain_id, vl_actie_versies.versie" not in str(e.orig):
                    raise
                if attempt == attempts - 1:
                    raise
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise AssertionError("unreachable")

    def _lock_chain(self, conn: Connection, chain_id: str) -> None:
        """PostgreSQL: serialise writers of one action (SQLite writers are serialised already)."""
        if not self.is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": chain_id})

    # -- writing --------------------------------------------------------------------------------

    def _insert(self, conn: Connection, new: NewActie, chain_id: str, versie: int) -> StoredActie:
        actie_id = str(uuid.uuid4())
        registratie = now_registratie()
        seq = conn.execute(
            insert(versies).values(
                actie_id=actie_id, chain_id=chain_id, versie=versie, client_id=new.client_id,
                vertrouwelijkheid=new.vertrouwelijkheid, vervallen=new.vervallen,
                verwerking_id=new.velden.get("verwerkingId"),
                verwerkingsactiviteit_id=new.velden.get("verwerkingsactiviteitId"),
                tijdstip=new.tijdstip, tijdstip_us=_instant_us(new.tijdstip_instant),
                tijdstip_datum=new.tijdstip_instant.date().isoformat(),
                tijdstip_registratie=registratie,
                velden=json.dumps(new.velden, ensure_ascii=False, separators=(",", ":")),
            ).returning(versies.c.seq)
        ).scalar_one()
        if new.objecten and not new.vervallen:
            conn.execute(insert(objecten), [
                {
                    "versie_seq": seq, "verwerkt_object_id": o.verwerkt_object_id, "positie": i,
                    "objecttype": o.objecttype, "soort_object_id": o.soort_object_id,
                    "object_id": o.object_id, "betrokkenheid": o.betrokkenheid,
                    "soorten_gegevens": None if o.soorten_gegevens is None
                    else json.dumps(list(o.soorten_gegevens), ensure_ascii=False),
                }
                for i, o in enumerate(new.objecten)
            ])
        return StoredActie(
            actie_id=actie_id, chain_id=chain_id, versie=versie, client_id=new.client_id,
            vertrouwelijkheid=new.vertrouwelijkheid, tijdstip=new.tijdstip,
            tijdstip_registratie=registratie, velden=dict(new.velden), objecten=new.objecten,
            vervallen=new.vervallen, seq=seq,
        )

    def create(self, new: NewActie, idempotency: tuple[str, str] | None = None) -> tuple[StoredActie, bool]:
        """Store a new action; with (key, body_hash) a repeat returns the original and False."""
        if idempotency is None:
            with self._write() as conn:
                return self._insert(conn, new, str(uuid.uuid4()), 1), True
        key, body_hash = idempotency
        for _ in range(3):
            found = self._idempotent_original(new.client_id, key, body_hash)
            if found is not None:
                return found, False
            try:
                with self._write() as conn:
                    stored = self._insert(conn, new, str(uuid.uuid4()), 1)
                    conn.execute(insert(idempotentie).values(
                        client_id=new.client_id, sleutel=key, body_hash=body_hash, actie_id=stored.actie_id))
                    return stored, True
            except IntegrityError:
                continue  # a concurrent request with the same key won; return its result
        raise RuntimeError("idempotency key contention did not settle")

    def _idempotent_original(self, client_id: str, key: str, body_hash: str) -> StoredActie | None:
        with self._read() as conn:
            row = conn.execute(
                select(idempotentie.c.body_hash, idempotentie.c.actie_id)
                .where(idempotentie.c.client_id == client_id, idempotentie.c.sleutel == key)
            ).first()
            if row is None:
                return None
            if row.body_hash != body_hash:
                raise IdempotencyConflict()
            rows = conn.execute(select(versies).where(versies.c.actie_id == row.actie_id)).all()
            return self._load(conn, rows)[0]

    def replace_current(
        self, actie_id: str, decide: Callable[[StoredActie], NewActie]
    ) -> StoredActie | None:
        """Append a new version of the action `actie_id` belongs to; None if unknown or deleted.

        `decide` sees the current version (inside the transaction) and returns the new one, or
        raises to refuse (scope rules that depend on the stored action).
        """
        def work(conn: Connection) -> StoredActie | None:
            chain_id = conn.execute(select(versies.c.chain_id).where(versies.c.actie_id == actie_id)).scalar()
            if chain_id is None:
                return None
            self._lock_chain(conn, chain_id)
            current = self._current_by_actie_id(conn, actie_id)
            if current is None:
                return None
            return self._insert(conn, decide(current), current.chain_id, current.versie + 1)
        return self._retrying(work)

    def patch_verwerking(
        self, verwerking_id: str, decide: Callable[[list[StoredActie]], list[NewActie]]
    ) -> int:
        """New versions of every current action of a verwerking, all or none; returns the count."""
        def work(conn: Connection) -> int:
            self._lock_chain(conn, "verwerking:" + verwerking_id)
            rows = conn.execute(
                select(versies).where(versies.c.verwerking_id == verwerking_id, _is_current(),
                                      versies.c.vervallen.is_(False))
                .order_by(versies.c.seq)
            ).all()
            targets = self._load(conn, rows)
            if not targets:
                return 0
            for chain_id in sorted(t.chain_id for t in targets):
                self._lock_chain(conn, chain_id)
            if not self.is_sqlite:  # re-read under the locks: a PUT may have landed meanwhile
                rows = conn.execute(
                    select(versies).where(versies.c.verwerking_id == verwerking_id, _is_current(),
                                          versies.c.vervallen.is_(False)).order_by(versies.c.seq)
                ).all()
                targets = self._load(conn, rows)
            news = decide(targets)
            for cur, new in zip(targets, news):
                self._insert(conn, new, cur.chain_id, cur.versie + 1)
            return len(targets)
        return self._retrying(work)

    # -- reading --------------------------------------------------------------------------------

    def get_current(self, actie_id: str) -> StoredActie | None:
        """The current, non-deleted version of the action `actie_id` (any version's id) names."""
        with self._read() as conn:
            return self._current_by_actie_id(conn, actie_id)

    def _current_by_actie_id(self, conn: Connection, actie_id: str) -> StoredActie | None:
        chain = select(versies.c.chain_id).where(versies.c.actie_id == actie_id).scalar_subquery()
        rows = conn.execute(select(versies).where(versies.c.chain_id == chain, _is_current())).all()
        if not rows or rows[0].vervallen:
            return None
        return self._load(conn, rows)[0]

    def list_acties(
        self, flt: PersonFilter, offset: int, limit: int
    ) -> tuple[int, list[StoredActie]]:
        """Current actions with an object of this person, only that person's objects loaded."""
        where = _person_action_filter(flt)
        with self._read() as conn:
            count = conn.execute(select(func.count()).select_from(versies).where(*where)).scalar_one()
            if offset >= count:
                return count, []
            rows = conn.execute(
                select(versies).where(*where)
                .order_by(versies.c.tijdstip_us, versies.c.actie_id).offset(offset).limit(limit)
            ).all()
            return count, self._load(conn, rows, person=flt)

    def list_objecten(
        self, flt: PersonFilter, offset: int, limit: int
    ) -> tuple[int, list[tuple[StoredObject, StoredActie]]]:
        """Inzage: this person's object occurrences in current actions, each with its action."""
        where = [*_person_action_filter(flt, with_person=False), *_person_object_filter(flt)]
        with self._read() as conn:
            count = conn.execute(
                select(func.count()).select_from(objecten).join(versies, objecten.c.versie_seq == versies.c.seq)
                .where(*where)
            ).scalar_one()
            if offset >= count:
                return count, []
            page = conn.execute(
                select(objecten.c.verwerkt_object_id, versies)
                .select_from(objecten).join(versies, objecten.c.versie_seq == versies.c.seq)
                .where(*where)
                .order_by(versies.c.tijdstip_us, versies.c.actie_id, objecten.c.positie)
                .offset(offset).limit(limit)
            ).all()
            acties = {a.seq: a for a in self._load(conn, _unique_rows(page), person=flt)}
            out = []
            for row in page:
                actie = acties[row.seq]
                obj = next(o for o in actie.objecten if o.verwerkt_object_id == row.verwerkt_object_id)
                out.append((obj, actie))
            return count, out

    def get_object(self, verwerkt_object_id: str) -> tuple[StoredObject, StoredActie] | None:
        """The object with this id in the current version of its action, with that action."""
        with self._read() as conn:
            chain = (
                select(versies.c.chain_id)
                .join(objecten, objecten.c.versie_seq == versies.c.seq)
                .where(objecten.c.verwerkt_object_id == verwerkt_object_id)
                .limit(1).scalar_subquery()
            )
            rows = conn.execute(select(versies).where(versies.c.chain_id == chain, _is_current())).all()
            if not rows or rows[0].vervallen:
                return None
            actie = self._load(conn, rows)[0]
            obj = next((o for o in actie.objecten if o.verwerkt_object_id == verwerkt_object_id), None)
            if obj is None:
                return None
            return obj, actie

    def count_versions(self) -> int:
        """Total rows (for tests and operators: the log only ever grows)."""
        with self._read() as conn:
            return conn.execute(select(func.count()).select_from(versies)).scalar_one()

    def _load(self, conn: Connection, rows: Sequence[Any], person: PersonFilter | None = None) -> list[StoredActie]:
        if not rows:
            return []
        seqs = [r.seq for r in rows]
        q = select(objecten).where(objecten.c.versie_seq.in_(seqs))
        if person is not None:
            q = q.where(*_person_object_filter(person))
        by_seq: dict[int, list[StoredObject]] = {s: [] for s in seqs}
        for o in conn.execute(q.order_by(objecten.c.versie_seq, objecten.c.positie)):
            by_seq[o.versie_seq].append(StoredObject(
                verwerkt_object_id=o.verwerkt_object_id, objecttype=o.objecttype,
                soort_object_id=o.soort_object_id, object_id=o.object_id, betrokkenheid=o.betrokkenheid,
                soorten_gegevens=None if o.soorten_gegevens is None else tuple(json.loads(o.soorten_gegevens)),
            ))
        chains = list({r.chain_id for r in rows})
        ever = set(conn.execute(
            select(versies.c.chain_id).where(versies.c.chain_id.in_(chains),
                                             versies.c.vertrouwelijkheid == "vertrouwelijk").distinct()
        ).scalars())
        return [
            StoredActie(
                actie_id=r.actie_id, chain_id=r.chain_id, versie=r.versie, client_id=r.client_id,
                vertrouwelijkheid=r.vertrouwelijkheid, tijdstip=r.tijdstip,
                tijdstip_registratie=r.tijdstip_registratie, velden=json.loads(r.velden),
                objecten=tuple(by_seq[r.seq]), vervallen=bool(r.vervallen), seq=r.seq,
                ooit_vertrouwelijk=r.chain_id in ever,
            )
            for r in rows
        ]


def _create_private(path: str) -> None:
    """A new SQLite log is readable by its owner only (SQLite gives -wal/-shm the same mode)."""
    if path and path != ":memory:" and not os.path.exists(path):
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            pass


def _is_current() -> Any:
    newer = versies.alias("newer")
    return ~exists().where(newer.c.chain_id == versies.c.chain_id, newer.c.seq > versies.c.seq)


def _person_object_filter(flt: PersonFilter) -> list[Any]:
    return [
        objecten.c.object_id == flt.object_id,
        objecten.c.soort_object_id == flt.soort_object_id,
        objecten.c.objecttype == flt.objecttype,
    ]


def _person_action_filter(flt: PersonFilter, *, with_person: bool = True) -> list[Any]:
    where: list[Any] = [_is_current(), versies.c.vervallen.is_(False)]
    if with_person:
        where.append(exists().where(objecten.c.versie_seq == versies.c.seq, *_person_object_filter(flt)))
    if flt.begin_datum is not None:
        where.append(versies.c.tijdstip_datum >= flt.begin_datum.isoformat())
    if flt.eind_datum is not None:
        where.append(versies.c.tijdstip_datum < flt.eind_datum.isoformat())
    if flt.verwerkingsactiviteit_id is not None:
        where.append(versies.c.verwerkingsactiviteit_id == flt.verwerkingsactiviteit_id)
    if flt.vertrouwelijkheid is not None:
        where.append(versies.c.vertrouwelijkheid.in_(sorted(flt.vertrouwelijkheid)))
    return where


def _unique_rows(rows: Sequence[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for r in rows:
        seen.setdefault(r.seq, r)
    return list(seen.values())


__all__ = [
    "IdempotencyConflict", "NewActie", "PersonFilter", "SchemaTooNew", "Storage", "StoredActie",
    "StoredObject", "now_registratie",
]
