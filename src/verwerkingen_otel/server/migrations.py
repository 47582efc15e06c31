"""Versioned schema migrations: each runs once, under a lock, when a server (or CLI) starts.

`vl_schema_versie` holds one row per schema version the database went through. Start-up takes
a PostgreSQL advisory lock (SQLite: the write lock) for the whole check-and-migrate
transaction, so several instances starting together migrate once and the others wait, then
find the schema current. A database newer than this server is refused (SchemaTooNew).
"""

from __future__ import annotations

import json
from typing import Callable

from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.engine import Connection

from ..model import check_datetime
from .duration import expiry_us
from .records import SchemaTooNew
from .tables import SCHEMA_VERSION, metadata, schema_versie, versies

MIGRATION_LOCK = 7261534  # pg_advisory_xact_lock key of schema start-up


def _to_2(conn: Connection) -> None:
    """v1 → v2: list fields copied onto object rows, the superseded-versions table, expiry instants."""
    for column, kind in (("tijdstip_us", "BIGINT"), ("actie_id", "VARCHAR(36)"), ("vertrouwelijkheid", "VARCHAR(16)"),
                         ("tijdstip_datum", "VARCHAR(10)"), ("verwerkingsactiviteit_id", "VARCHAR(36)"),
                         ("eerste", "BOOLEAN")):
        conn.execute(text(f"ALTER TABLE vl_verwerkte_objecten ADD COLUMN {column} {kind}"))
    conn.execute(text("ALTER TABLE vl_actie_versies ADD COLUMN vervalt_us BIGINT"))
    columns = "tijdstip_us, actie_id, vertrouwelijkheid, tijdstip_datum, verwerkingsactiviteit_id"
    conn.execute(text(  # one pass over the object rows (row-value assignment: PostgreSQL, SQLite >= 3.15)
        f"UPDATE vl_verwerkte_objecten SET ({columns}) = "
        f"(SELECT v.{columns.replace(', ', ', v.')} FROM vl_actie_versies v "
        f"WHERE v.seq = vl_verwerkte_objecten.versie_seq)"))
    conn.execute(text(
        "UPDATE vl_verwerkte_objecten SET eerste = (positie = (SELECT min(o2.positie) FROM vl_verwerkte_objecten o2 "
        "WHERE o2.versie_seq = vl_verwerkte_objecten.versie_seq AND o2.object_id = vl_verwerkte_objecten.object_id "
        "AND o2.soort_object_id = vl_verwerkte_objecten.soort_object_id "
        "AND o2.objecttype = vl_verwerkte_objecten.objecttype))"))
    metadata.create_all(conn, checkfirst=True)  # vl_vervangen_versies, vl_purge_log
    conn.execute(text(
        "INSERT INTO vl_vervangen_versies (versie_seq) SELECT v.seq FROM vl_actie_versies v WHERE EXISTS "
        "(SELECT 1 FROM vl_actie_versies n WHERE n.chain_id = v.chain_id AND n.seq > v.seq)"))
    last = 0
    while True:  # expiry instants, in batches (bewaartermijn lives in the JSON fields)
        rows = conn.execute(select(versies.c.seq, versies.c.tijdstip, versies.c.velden)
                            .where(versies.c.seq > last).order_by(versies.c.seq).limit(5000)).all()
        if not rows:
            break
        last = rows[-1].seq
        updates = []
        for r in rows:
            end = expiry_us(check_datetime(r.tijdstip), json.loads(r.velden).get("bewaartermijn"))
            if end is not None:
                updates.append({"s": r.seq, "v": end})
        if updates:
            conn.execute(text("UPDATE vl_actie_versies SET vervalt_us = :v WHERE seq = :s"), updates)
    conn.execute(text("DROP INDEX IF EXISTS vl_verwerkte_objecten_persoon"))
    for table in (versies, metadata.tables["vl_verwerkte_objecten"], metadata.tables["vl_idempotentie"]):
        existing = {i["name"] for i in inspect(conn).get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in existing:
                index.create(conn)


# version reached → the step that reaches it from the one before
MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _to_2}


def migrate(conn: Connection, *, postgres: bool) -> list[int]:
    """Bring the schema to SCHEMA_VERSION inside the caller's write transaction; returns steps run."""
    if postgres:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
    fresh = not inspect(conn).has_table(schema_versie.name)
    found = None if fresh else conn.execute(select(func.max(schema_versie.c.versie))).scalar()
    if found is None:
        metadata.create_all(conn, checkfirst=True)
        conn.execute(insert(schema_versie).values(versie=SCHEMA_VERSION))
        return []
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(f"database schema version {found} is newer than this server supports ({SCHEMA_VERSION})")
    ran = []
    for version in range(found + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[version](conn)
        conn.execute(insert(schema_versie).values(versie=version))
        ran.append(version)
    metadata.create_all(conn, checkfirst=True)
    return ran


def current_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table(schema_versie.name):
        return None
    return conn.execute(select(func.max(schema_versie.c.versie))).scalar()


__all__ = ["MIGRATIONS", "MIGRATION_LOCK", "current_version", "migrate"]
