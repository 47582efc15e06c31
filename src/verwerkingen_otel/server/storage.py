"""Append-only storage of verwerkingsacties through SQLAlchemy Core (SQLite or PostgreSQL).

No row of the log is ever updated or deleted (purging expired actions, retention.py, is the one
exception): every change appends a version that shares the hidden `chain_id` of the action and
records the version it replaces in `vl_vervangen_versies`; a logical delete is a version marked
`vervallen`. A unique (chain_id, versie) pair makes two concurrent writers of the same action
collide instead of forking it; the loser retries on the new state. Tables: tables.py; list
queries: reading.py; migrations: migrations.py.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from . import reading
from .cursors import CursorCache
from .duration import expiry_us
from .engine import create_private, make_engine
from .migrations import current_version, migrate
from .records import (
    IdempotencyConflict, ListPage, NewActie, PersonFilter, SchemaTooNew, StoredActie, StoredObject, instant_us,
    now_registratie,
)
from .tables import SCHEMA_VERSION, idempotentie, metadata, objecten, vervangen, versies

DEFAULT_COUNT_LIMIT = 5_000


class Storage:
    """All database access of the server; every method is synchronous and thread-safe."""

    def __init__(self, url: str, *, count_limit: int = DEFAULT_COUNT_LIMIT) -> None:
        if url.startswith("sqlite:///"):
            create_private(url[len("sqlite:///"):])
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.count_limit = count_limit
        self.cursors = CursorCache()
        # In one process, serialise SQLite writers instead of letting them spin on the file lock.
        self._write_lock = threading.Lock() if self.is_sqlite else None

    # -- schema ---------------------------------------------------------------------------------

    def create_schema(self) -> list[int]:
        """Create or migrate the schema (once, safely, when several instances start together)."""
        with self._write() as conn:
            return migrate(conn, postgres=not self.is_sqlite)

    def schema_version(self) -> int | None:
        with self.engine.connect() as conn:
            return current_version(conn)

    def schema_current(self) -> bool:
        return self.schema_version() == SCHEMA_VERSION

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

    def write(self) -> Any:
        """One write transaction (SQLite: the write lock taken up front), for maintenance like purge."""
        return self._write()

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
                message = str(e.orig)
                if not any(m in message for m in ("chain_versie", "chain_id, vl_actie_versies.versie",
                                                  "vl_vervangen_versies")):
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

    def _insert(self, conn: Connection, new: NewActie, chain_id: str, versie: int,
                replaces: int | None = None) -> StoredActie:
        actie_id = str(uuid.uuid4())
        registratie = now_registratie()
        tijdstip_us = instant_us(new.tijdstip_instant)
        datum = new.tijdstip_instant.date().isoformat()
        activiteit = new.velden.get("verwerkingsactiviteitId")
        seq = conn.execute(
            insert(versies).values(
                actie_id=actie_id, chain_id=chain_id, versie=versie, client_id=new.client_id,
                vertrouwelijkheid=new.vertrouwelijkheid, vervallen=new.vervallen,
                verwerking_id=new.velden.get("verwerkingId"), verwerkingsactiviteit_id=activiteit,
                tijdstip=new.tijdstip, tijdstip_us=tijdstip_us, tijdstip_datum=datum,
                tijdstip_registratie=registratie,
                velden=json.dumps(new.velden, ensure_ascii=False, separators=(",", ":")),
                vervalt_us=expiry_us(new.tijdstip_instant, new.velden.get("bewaartermijn")),
            ).returning(versies.c.seq)
        ).scalar_one()
        if replaces is not None:
            conn.execute(insert(vervangen).values(versie_seq=replaces))
        if new.objecten and not new.vervallen:
            seen: set[tuple[str, str, str]] = set()
            rows = []
            for i, o in enumerate(new.objecten):
                rows.append({
                    "versie_seq": seq, "verwerkt_object_id": o.verwerkt_object_id, "positie": i,
                    "objecttype": o.objecttype, "soort_object_id": o.soort_object_id,
                    "object_id": o.object_id, "betrokkenheid": o.betrokkenheid,
                    "soorten_gegevens": None if o.soorten_gegevens is None
                    else json.dumps(list(o.soorten_gegevens), ensure_ascii=False),
                    "tijdstip_us": tijdstip_us, "actie_id": actie_id, "vertrouwelijkheid": new.vertrouwelijkheid,
                    "tijdstip_datum": datum, "verwerkingsactiviteit_id": activiteit,
                    "eerste": o.person() not in seen,
                })
                seen.add(o.person())
            conn.execute(insert(objecten), rows)
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
            return reading.load_acties(conn, rows)[0]

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
            current = reading.current_of_chain(conn, chain_id)
            if current is None:
                return None
            return self._insert(conn, decide(current), current.chain_id, current.versie + 1, current.seq)
        return self._retrying(work)

    def _verwerking_targets(self, conn: Connection, verwerking_id: str) -> list[StoredActie]:
        rows = conn.execute(
            select(versies).where(versies.c.verwerking_id == verwerking_id, reading.not_replaced(versies.c.seq),
                                  versies.c.vervallen.is_(False)).order_by(versies.c.seq)
        ).all()
        return reading.load_acties(conn, rows)

    def patch_verwerking(
        self, verwerking_id: str, decide: Callable[[list[StoredActie]], list[NewActie]]
    ) -> int:
        """New versions of every current action of a verwerking, all or none; returns the count."""
        def work(conn: Connection) -> int:
            self._lock_chain(conn, "verwerking:" + verwerking_id)
            targets = self._verwerking_targets(conn, verwerking_id)
            if not targets:
                return 0
            for chain_id in sorted(t.chain_id for t in targets):
                self._lock_chain(conn, chain_id)
            if not self.is_sqlite:  # re-read under the locks: a PUT may have landed meanwhile
                targets = self._verwerking_targets(conn, verwerking_id)
            news = decide(targets)
            for cur, new in zip(targets, news):
                self._insert(conn, new, cur.chain_id, cur.versie + 1, cur.seq)
            return len(targets)
        return self._retrying(work)

    # -- reading --------------------------------------------------------------------------------

    def get_current(self, actie_id: str) -> StoredActie | None:
        """The current, non-deleted version of the action `actie_id` (any version's id) names."""
        with self._read() as conn:
            chain = select(versies.c.chain_id).where(versies.c.actie_id == actie_id).scalar_subquery()
            return reading.current_of_chain(conn, chain)

    def _page(self, kind: str, flt: PersonFilter, number: int, size: int) -> ListPage:
        cursor_key = (kind, flt.key(), size)
        after, skip = None, 0
        if number > 1:  # the start of this page, else of the nearest earlier page served before
            for start in range(number, max(1, number - 1_000), -1):
                after = self.cursors.peek((*cursor_key, start))
                if after is not None:
                    skip = (number - start) * size
                    break
            self.cursors.count(after is not None and skip == 0)
        with self._read() as conn:
            page, next_key = reading.person_page(conn, flt, one_per_action=kind == "acties", number=number,
                                                 size=size, after=after, skip=skip, count_limit=self.count_limit)
        if next_key is not None:
            self.cursors.put((*cursor_key, number + 1), next_key)
        return page

    def list_acties(self, flt: PersonFilter, number: int, size: int) -> ListPage:
        """Page `number` of the current actions with an object of this person (only theirs loaded)."""
        return self._page("acties", flt, number, size)

    def list_objecten(self, flt: PersonFilter, number: int, size: int) -> ListPage:
        """Inzage: page `number` of this person's object occurrences, each as (object, action)."""
        return self._page("objecten", flt, number, size)

    def get_object(self, verwerkt_object_id: str) -> tuple[StoredObject, StoredActie] | None:
        """The object with this id in the current version of its action, with that action."""
        with self._read() as conn:
            return reading.object_with_actie(conn, verwerkt_object_id)

    def count_versions(self) -> int:
        """Total rows (for tests and operators: the log only ever grows, purges aside)."""
        with self._read() as conn:
            return conn.execute(select(func.count()).select_from(versies)).scalar_one()

    def ping(self) -> None:
        """Raises when the database cannot be reached (readiness)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))


__all__ = [
    "DEFAULT_COUNT_LIMIT", "IdempotencyConflict", "ListPage", "NewActie", "PersonFilter", "SCHEMA_VERSION",
    "SchemaTooNew", "Storage", "StoredActie", "StoredObject", "metadata", "now_registratie",
]
