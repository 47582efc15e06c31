"""Realistic test data, fast: `verwerkingen-otel generate --database URL --actions N`.

Skewed like a gemeente's log: most persons have 10–30 actions; a few heavy ones have many
(HEAVY: three with 5,000, one with 20,000 all in the last 30 days, one with 50,000 over two
years; scaled down when N < 200,000). Every fifth action has a second person, one in a hundred
has a second version (`updated`), 8% are vertrouwelijk; bewaartermijn P1Y/P5Y/P10Y or none. Times spread
over the last two years, in random order (not in insertion order). Rows go in with COPY on
PostgreSQL and executemany on SQLite, bypassing the API; the ids are fake (prefix 9 / 8).
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

from sqlalchemy import func, select

from .duration import expiry_us
from .records import instant_us
from .tables import objecten, vervangen, versies
from .storage import Storage

BATCH = 5_000
# (objectId, number of actions at N >= 200,000, days back the actions spread over)
def _generated_id(n: int) -> str:
    """A generated person's objectId: 9 followed by n in 8 digits (never a real person's BSN)."""
    return f"9{n:08d}"


HEAVY: tuple[tuple[str, int, int], ...] = (
    (_generated_id(1), 5_000, 730), (_generated_id(2), 5_000, 730), (_generated_id(3), 5_000, 730),
    (_generated_id(20_000), 20_000, 30), (_generated_id(50_000), 50_000, 730),
)
FULL_SCALE = 200_000
TYPICAL_PREFIX = "8"
_V_COLS = ("seq", "actie_id", "chain_id", "versie", "client_id", "vertrouwelijkheid", "vervallen", "verwerking_id",
           "verwerkingsactiviteit_id", "tijdstip", "tijdstip_us", "tijdstip_datum", "tijdstip_registratie",
           "velden", "vervalt_us")
_O_COLS = ("seq", "versie_seq", "verwerkt_object_id", "positie", "objecttype", "soort_object_id", "object_id",
           "betrokkenheid", "soorten_gegevens", "tijdstip_us", "actie_id", "vertrouwelijkheid", "tijdstip_datum",
           "verwerkingsactiviteit_id", "eerste")
_ACTIVITEITEN = ("5f0bef4c-f66f-4311-84a5-19e8bf359eaf", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                 "7e6d5c4b-3a29-4182-a7b6-c5d4e3f2a1b0")
_BEWAARTERMIJN = ("P1Y", "P5Y", "P5Y", "P10Y", "P10Y", None)


@dataclass
class Generated:
    actions: int = 0
    versions: int = 0
    objects: int = 0
    heavy: dict[str, int] = field(default_factory=dict)  # objectId -> actions
    typical_persons: int = 0


def heavy_plan(actions: int) -> list[tuple[str, int, int]]:
    scale = min(1.0, actions / FULL_SCALE)
    return [(pid, max(1, int(n * scale)), days) for pid, n, days in HEAVY]


def _persons(actions: int, rng: random.Random, plan: list[tuple[str, int, int]]) -> Iterator[tuple[str, int]]:
    """(objectId, days back) for each action's main person, shuffled."""
    slots: list[tuple[str, int]] = []
    for pid, n, days in plan:
        slots += [(pid, days)] * n
    slots = slots[:actions]
    person = 0
    while len(slots) < actions:
        person += 1
        slots += [(f"{TYPICAL_PREFIX}{person:08d}", 730)] * rng.randint(10, 30)
    del slots[actions:]
    rng.shuffle(slots)
    return iter(slots)


def _rows(actions: int, seq0: int, oseq0: int, rng: random.Random, now: datetime,
          plan: list[tuple[str, int, int]], result: Generated,
          updated: float) -> Iterator[tuple[list[tuple], list[tuple], list[tuple]]]:
    """Batches of (version rows, object rows, superseded rows) in column order."""
    persons = list(_persons(actions, rng, plan))
    typical = len({p for p, _ in persons if p.startswith(TYPICAL_PREFIX)}) or 1
    result.typical_persons = typical
    for pid, _n, _d in plan:
        result.heavy[pid] = sum(1 for p, _ in persons if p == pid)
    seq, oseq = seq0, oseq0
    registratie = now.isoformat(timespec="microseconds")
    verwerking = str(uuid.uuid4())
    v_rows: list[tuple] = []
    o_rows: list[tuple] = []
    r_rows: list[tuple] = []
    for i, (pid, days) in enumerate(persons):
        if rng.random() < 0.4:
            verwerking = str(uuid.uuid4())
        moment = now - timedelta(seconds=rng.uniform(60, days * 86400))
        moment = moment.astimezone(timezone(timedelta(hours=1)))
        tijdstip = moment.isoformat(timespec="microseconds")
        us, datum = instant_us(moment), moment.date().isoformat()
        activiteit = _ACTIVITEITEN[i % 3]
        termijn = rng.choice(_BEWAARTERMIJN)
        level = "vertrouwelijk" if rng.random() < 0.08 else "normaal"
        velden: dict[str, Any] = {"actieNaam": "Raadplegen persoon", "handelingNaam": "Intake",
                                  "verwerkingNaam": "Aanvraag", "verwerkingId": verwerking,
                                  "verwerkingsactiviteitId": activiteit, "uitvoerder": "00000001821002193000",
                                  "systeem": "generate", "gegevensbron": "BRP"}
        if termijn:
            velden["bewaartermijn"] = termijn
        velden_json = json.dumps(velden, separators=(",", ":"))
        people = [(pid, "Aanvrager")]
        other = f"{TYPICAL_PREFIX}{rng.randint(1, typical):08d}"
        if rng.random() < 0.2 and other != pid:
            people.append((other, "Getuige"))
        chain = str(uuid.uuid4())
        object_ids = [str(uuid.uuid4()) for _ in people]
        versions = 2 if rng.random() < updated else 1
        for versie in range(1, versions + 1):
            seq += 1
            actie_id = str(uuid.uuid4())
            v_rows.append((seq, actie_id, chain, versie, "generate", level, False, verwerking, activiteit, tijdstip,
                           us, datum, registratie, velden_json, expiry_us(moment, termijn)))
            if versie > 1:
                r_rows.append((seq - 1,))
            for pos, ((person, rol), oid) in enumerate(zip(people, object_ids)):
                oseq += 1
                o_rows.append((oseq, seq, oid, pos, "persoon", "BSN", person, rol, '["Naam","Adres"]', us,
                               actie_id, level, datum, activiteit, True))
            result.versions += 1
            result.objects += len(people)
        result.actions += 1
        if len(v_rows) >= BATCH:
            yield v_rows, o_rows, r_rows
            v_rows, o_rows, r_rows = [], [], []
    if v_rows:
        yield v_rows, o_rows, r_rows


def generate(storage: Storage, actions: int, *, seed: int = 15, advance: Callable[[int], None] | None = None,
             now: datetime | None = None, updated: float = 0.01) -> Generated:
    """Append `actions` generated actions to the log behind `storage` (schema created if needed).

    `updated`: the fraction of actions that get a second version.
    """
    storage.create_schema()
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    result = Generated()
    with storage.engine.connect() as conn:
        seq0 = conn.execute(select(func.coalesce(func.max(versies.c.seq), 0))).scalar_one()
        oseq0 = conn.execute(select(func.coalesce(func.max(objecten.c.seq), 0))).scalar_one()
    raw = storage.engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        for v_rows, o_rows, r_rows in _rows(actions, seq0, oseq0, rng, now, heavy_plan(actions), result,
                                          updated):
            if storage.is_sqlite:
                _sqlite_batch(dbapi, v_rows, o_rows, r_rows)
            else:
                _copy_batch(dbapi, v_rows, o_rows, r_rows)
            if advance is not None:
                advance(len({r[2] for r in v_rows}))
        if not storage.is_sqlite:
            with dbapi.cursor() as cur:
                for table in (versies.name, objecten.name):
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'seq'), "
                                f"(SELECT max(seq) FROM {table}))")
            dbapi.commit()
            dbapi.autocommit = True  # VACUUM: sets the visibility map (index-only scans), as autovacuum would
            with dbapi.cursor() as cur:
                for table in (versies.name, objecten.name, vervangen.name):
                    cur.execute(f"VACUUM ANALYZE {table}")
            dbapi.autocommit = False
        else:
            dbapi.execute("ANALYZE")
    finally:
        raw.close()
    return result


def _copy_batch(conn: Any, v_rows: list[tuple], o_rows: list[tuple], r_rows: list[tuple]) -> None:
    with conn.cursor() as cur:
        for table, cols, rows in ((versies.name, _V_COLS, v_rows), (objecten.name, _O_COLS, o_rows),
                                  (vervangen.name, ("versie_seq",), r_rows)):
            if not rows:
                continue
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    conn.commit()


def _sqlite_batch(conn: Any, v_rows: list[tuple], o_rows: list[tuple], r_rows: list[tuple]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table, cols, rows in ((versies.name, _V_COLS, v_rows), (objecten.name, _O_COLS, o_rows),
                                  (vervangen.name, ("versie_seq",), r_rows)):
            if rows:
                conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                 rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


__all__ = ["BATCH", "FULL_SCALE", "Generated", "HEAVY", "TYPICAL_PREFIX", "generate", "heavy_plan"]
