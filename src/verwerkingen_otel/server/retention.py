"""Retention that deletes: purge every version of an action whose bewaartermijn has passed.

The bewaartermijn counts from `tijdstip` (the current version's bewaartermijn decides; PATCH can
change it). Actions without one follow `default_bewaartermijn` (`--default-bewaartermijn`), or
are kept when none is set. Purging is the one exception to append-only: it runs in bounded
batches, each its own short transaction that takes the same per-action locks as a PUT, deletes
the action's versions, objects and idempotency key, and appends one row to `vl_purge_log`
(counts, the period, who; no personal data) — nothing is deleted unrecorded.
"""

from __future__ import annotations

import getpass
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import and_, delete, func, insert, select, text
from sqlalchemy.engine import Connection

from .duration import add_duration
from .reading import not_replaced
from .records import EPOCH, instant_us
from .tables import idempotentie, objecten, purge_log, vervangen, versies
from .storage import Storage

PURGE_LOCK = 7261535  # at most one purge batch at a time over all instances (PostgreSQL)


@dataclass
class PurgeResult:
    acties: int = 0
    versies: int = 0
    objecten: int = 0
    batches: int = 0
    longest_batch_ms: float = 0.0
    oudste_us: int | None = None
    jongste_us: int | None = None
    run: str = field(default_factory=lambda: str(uuid.uuid4()))

    def period(self) -> str:
        if self.oudste_us is None or self.jongste_us is None:
            return "-"
        return f"{_from_us(self.oudste_us).date()}..{_from_us(self.jongste_us).date()}"


def _from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def who(origin: str = "purge") -> str:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in a container is fine
        user = "?"
    return f"{origin} {user}@{socket.gethostname()}"[:255]


def _expired(now: datetime, default_bewaartermijn: str | None) -> list[Any]:
    """Conditions on current versions, each served by an index (expiry, or time for the default)."""
    conds = [versies.c.vervalt_us < instant_us(now)]
    if default_bewaartermijn:
        cutoff = add_duration(now, default_bewaartermijn, sign=-1)
        if cutoff is None:
            raise ValueError("--default-bewaartermijn must be an ISO 8601 duration such as P20Y")
        conds.append(and_(versies.c.vervalt_us.is_(None), versies.c.tijdstip_us < instant_us(cutoff)))
    return conds


def count_expired(storage: Storage, now: datetime, default_bewaartermijn: str | None) -> PurgeResult:
    """What a purge would remove (the dry run): actions, versions, objects, period."""
    result = PurgeResult()
    with storage.engine.connect() as conn:
        for cond in _expired(now, default_bewaartermijn):
            chains = (select(versies.c.chain_id, versies.c.tijdstip_us)
                      .where(cond, not_replaced(versies.c.seq)).subquery())
            row = conn.execute(select(func.count(), func.min(chains.c.tijdstip_us),
                                      func.max(chains.c.tijdstip_us))).one()
            result.acties += row[0]
            if row[0]:
                result.oudste_us = min(x for x in (result.oudste_us, row[1]) if x is not None)
                result.jongste_us = max(x for x in (result.jongste_us, row[2]) if x is not None)
            all_seqs = select(versies.c.seq).where(versies.c.chain_id.in_(select(chains.c.chain_id)))
            result.versies += conn.execute(select(func.count()).select_from(all_seqs.subquery())).scalar_one()
            result.objecten += conn.execute(
                select(func.count()).where(objecten.c.versie_seq.in_(all_seqs))).scalar_one()
    return result


def _purge_batch(storage: Storage, conn: Connection, cond: Any, batch: int, now: datetime,
                 default_bewaartermijn: str | None, door: str, result: PurgeResult) -> int:
    if not storage.is_sqlite:
        if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PURGE_LOCK}).scalar():
            return -1  # another instance is purging right now
    rows = conn.execute(select(versies.c.chain_id).where(cond, not_replaced(versies.c.seq)).limit(batch)).all()
    chains = sorted({r.chain_id for r in rows})
    if not chains:
        return 0
    if not storage.is_sqlite:  # the locks a PUT/PATCH/DELETE of these actions takes, in sorted order
        conn.execute(text("SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) "
                          "FROM unnest(CAST(:ks AS text[])) AS k"), {"ks": chains})
    # under the locks: only chains whose current version is still expired
    current = conn.execute(select(versies.c.chain_id, versies.c.tijdstip_us).where(
        versies.c.chain_id.in_(chains), cond, not_replaced(versies.c.seq))).all()
    chains = sorted({r.chain_id for r in current})
    if not chains:
        return 0
    version_rows = conn.execute(select(versies.c.seq, versies.c.actie_id).where(versies.c.chain_id.in_(chains))).all()
    seqs = [r.seq for r in version_rows]
    n_obj = conn.execute(delete(objecten).where(objecten.c.versie_seq.in_(seqs))).rowcount
    conn.execute(delete(vervangen).where(vervangen.c.versie_seq.in_(seqs)))
    conn.execute(delete(idempotentie).where(idempotentie.c.actie_id.in_([r.actie_id for r in version_rows])))
    conn.execute(delete(versies).where(versies.c.seq.in_(seqs)))
    oudste, jongste = min(r.tijdstip_us for r in current), max(r.tijdstip_us for r in current)
    conn.execute(insert(purge_log).values(
        run=result.run, moment=datetime.now(timezone.utc), door=door, peilmoment=now,
        standaard_bewaartermijn=default_bewaartermijn, oudste_tijdstip=_from_us(oudste),
        jongste_tijdstip=_from_us(jongste), acties=len(chains), versies=len(seqs), objecten=n_obj))
    result.acties += len(chains)
    result.versies += len(seqs)
    result.objecten += n_obj
    result.oudste_us = oudste if result.oudste_us is None else min(result.oudste_us, oudste)
    result.jongste_us = jongste if result.jongste_us is None else max(result.jongste_us, jongste)
    return len(chains)


def purge(storage: Storage, *, now: datetime | None = None, default_bewaartermijn: str | None = None,
          batch: int = 100, door: str | None = None, advance: Callable[[int], None] | None = None,
          pause: float = 0.0, stop: Any = None) -> PurgeResult:
    """Delete every expired action in batches of at most `batch` actions; returns the totals."""
    now = now or datetime.now(timezone.utc)
    door = door or who()
    result = PurgeResult()
    for cond in _expired(now, default_bewaartermijn):
        while True:
            t0 = time.perf_counter()
            with storage.write() as conn:  # one short write transaction per batch
                done = _purge_batch(storage, conn, cond, batch, now, default_bewaartermijn, door, result)
            if done == -1:
                time.sleep(0.05)
                continue
            result.longest_batch_ms = max(result.longest_batch_ms, (time.perf_counter() - t0) * 1000)
            if done == 0:
                break
            result.batches += 1
            if advance is not None:
                advance(done)
            if stop is not None and stop.is_set():
                return result
            if pause:
                time.sleep(pause)  # leave room for writers between batches
    return result


__all__ = ["PURGE_LOCK", "PurgeResult", "count_expired", "purge", "who"]
