"""The tables of the log (SQLAlchemy Core) and the schema version this server writes.

The log tables are append-only: a change is a new row. Two things make lists cheap whatever
the size of the log (docs/production.md, "Query plans"):

- every object row carries the immutable fields of its version that lists filter and order on
  (`tijdstip_us`, `actie_id`, `vertrouwelijkheid`, ...), so one index on (person, time) serves
  a person's list in order, without touching the versions table;
- `vl_vervangen_versies` records, append-only, every version that a newer one superseded, so
  "is this version current?" is one primary-key probe.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text,
    UniqueConstraint,
)

SCHEMA_VERSION = 2
ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only

metadata = MetaData()

schema_versie = Table(
    "vl_schema_versie", metadata,
    Column("versie", Integer, primary_key=True, autoincrement=False),
)

versies = Table(
    "vl_actie_versies", metadata,
    Column("seq", ID, primary_key=True, autoincrement=True),
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
    Column("vervalt_us", BigInteger),  # tijdstip + bewaartermijn; null: no bewaartermijn (v2)
    UniqueConstraint("chain_id", "versie", name="vl_actie_versies_chain_versie"),
    Index("vl_actie_versies_order", "tijdstip_us", "actie_id"),
    Index("vl_actie_versies_verwerking", "verwerking_id"),
    Index("vl_actie_versies_vervalt", "vervalt_us"),
)

# Columns from `tijdstip_us` on are copies of the version's own (immutable) fields: v2.
objecten = Table(
    "vl_verwerkte_objecten", metadata,
    Column("seq", ID, primary_key=True, autoincrement=True),
    Column("versie_seq", ID, ForeignKey("vl_actie_versies.seq"), nullable=False, index=True),
    Column("verwerkt_object_id", String(36), nullable=False, index=True),
    Column("positie", Integer, nullable=False),
    Column("objecttype", String(64), nullable=False),
    Column("soort_object_id", Text, nullable=False),
    Column("object_id", Text, nullable=False),
    Column("betrokkenheid", Text),
    Column("soorten_gegevens", Text),  # JSON list of strings, or null when not sent
    Column("tijdstip_us", BigInteger),
    Column("actie_id", String(36)),
    Column("vertrouwelijkheid", String(16)),
    Column("tijdstip_datum", String(10)),
    Column("verwerkingsactiviteit_id", String(36)),
    Column("eerste", Boolean),  # the person's first object in this version (Bewerking lists one row per action)
    # a person's rows in list order; the trailing columns let count and filters stay in the index
    Index("vl_verwerkte_objecten_persoon_tijd", "object_id", "soort_object_id", "objecttype", "tijdstip_us",
          "actie_id", "positie", "versie_seq", "vertrouwelijkheid", "eerste"),
)

vervangen = Table(
    "vl_vervangen_versies", metadata,
    Column("versie_seq", ID, primary_key=True, autoincrement=False),  # a version a newer one replaced
)

idempotentie = Table(
    "vl_idempotentie", metadata,
    Column("client_id", String(255), primary_key=True),
    Column("sleutel", String(255), primary_key=True),
    Column("body_hash", String(64), nullable=False),
    Column("actie_id", String(36), nullable=False),
    Index("vl_idempotentie_actie", "actie_id"),  # v2: purge finds a purged action's key
)

# Purging is the one exception to append-only, and is itself recorded: one row per batch, written
# in the batch's own transaction (so nothing is deleted unrecorded). No personal data here.
purge_log = Table(
    "vl_purge_log", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("run", String(36), nullable=False),  # one purge run = several batches
    Column("moment", DateTime(timezone=True), nullable=False),  # when this batch was committed
    Column("door", String(255), nullable=False),  # "purge user@host" or "server schedule host"
    Column("peilmoment", DateTime(timezone=True), nullable=False),  # expired before this instant
    Column("standaard_bewaartermijn", String(64)),  # for actions without one; null: those are kept
    Column("oudste_tijdstip", DateTime(timezone=True), nullable=False),  # the period the purged actions
    Column("jongste_tijdstip", DateTime(timezone=True), nullable=False),  # happened in
    Column("acties", BigInteger, nullable=False),
    Column("versies", BigInteger, nullable=False),
    Column("objecten", BigInteger, nullable=False),
)

__all__ = [
    "ID", "SCHEMA_VERSION", "idempotentie", "metadata", "objecten", "purge_log", "schema_versie", "vervangen",
    "versies",
]
