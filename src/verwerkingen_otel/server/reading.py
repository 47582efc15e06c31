"""Read queries of the log: the person lists (Bewerking, Inzage) and loading stored versions.

Every list narrows to the person's rows through `vl_verwerkte_objecten_persoon_tijd` (person,
then time) and walks them in list order, so its cost depends on the page and the person, not
on the size of the log: never the time index, never a scan of a table. Current-ness is one
primary-key probe into `vl_vervangen_versies`. Counting is bounded (`count_limit`); pages after
the first continue from a remembered position (keyset) when the server has one.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timezone
from typing import Any, Sequence

from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.engine import Connection

from .records import ListPage, PersonFilter, StoredActie, StoredObject, instant_us
from .tables import objecten, vervangen, versies

DAY_US = 86_400_000_000
Key = tuple[int, str, int]  # (tijdstip_us, actie_id, positie) of a row: the list order


def not_replaced(seq_column: Any) -> Any:
    """The version in `seq_column` is the newest of its chain: one primary-key probe per row.

    Written as a correlated count, not NOT EXISTS, on purpose: PostgreSQL turns NOT EXISTS into
    an anti-join and may then hash the whole superseded-versions table; a scalar subquery stays
    a per-row index probe, so the cost follows the rows read, never the table's size.
    """
    # NOT (n > 0) rather than n = 0: PostgreSQL estimates the latter to keep 0.5% of the rows and
    # would then sort the person's rows instead of walking them in index order.
    return ~(select(func.count()).where(vervangen.c.versie_seq == seq_column).scalar_subquery() > 0)


def _day_us(d: date) -> int:
    return instant_us(datetime.combine(d, time(), tzinfo=timezone.utc))


def person_rows_filter(flt: PersonFilter, *, one_per_action: bool) -> list[Any]:
    """Where-clauses on object rows: this person, current versions, the list's filters."""
    o = objecten.c
    where: list[Any] = [o.object_id == flt.object_id, o.soort_object_id == flt.soort_object_id,
                        o.objecttype == flt.objecttype, not_replaced(o.versie_seq)]
    if one_per_action:
        where.append(o.eerste == True)  # noqa: E712 - SQL, not Python
    # The date is in the action's own offset (< 24 h from UTC): a time range on the index
    # narrows it, the date column decides.
    if flt.begin_datum is not None:
        where += [o.tijdstip_us >= _day_us(flt.begin_datum) - DAY_US, o.tijdstip_datum >= flt.begin_datum.isoformat()]
    if flt.eind_datum is not None:
        where += [o.tijdstip_us < _day_us(flt.eind_datum) + DAY_US, o.tijdstip_datum < flt.eind_datum.isoformat()]
    if flt.verwerkingsactiviteit_id is not None:
        where.append(o.verwerkingsactiviteit_id == flt.verwerkingsactiviteit_id)
    if flt.vertrouwelijkheid is not None:
        where.append(o.vertrouwelijkheid.in_(sorted(flt.vertrouwelijkheid)))
    return where


def count_query(flt: PersonFilter, *, one_per_action: bool, limit: int) -> Any:
    inner = select(literal(1).label("x")).where(*person_rows_filter(flt, one_per_action=one_per_action)).limit(limit)
    return select(func.count()).select_from(inner.subquery())


def page_query(flt: PersonFilter, *, one_per_action: bool, size: int, offset: int, after: Key | None,
               skip: int = 0) -> Any:
    """A page: after the position `after` skipping `skip` rows, else from the first row skipping `offset`."""
    o = objecten.c
    q = select(o.tijdstip_us, o.actie_id, o.positie, o.versie_seq, o.verwerkt_object_id).where(
        *person_rows_filter(flt, one_per_action=one_per_action))
    if after is not None:
        q = q.where(tuple_(o.tijdstip_us, o.actie_id, o.positie) > tuple_(*after))
    q = q.order_by(o.tijdstip_us, o.actie_id, o.positie).limit(size + 1)
    rows_to_skip = offset if after is None else skip
    if rows_to_skip:
        q = q.offset(rows_to_skip)
    return q


def person_page(
    conn: Connection, flt: PersonFilter, *, one_per_action: bool, number: int, size: int,
    after: Key | None, count_limit: int, skip: int = 0,
) -> tuple[ListPage, Key | None]:
    """One page of a person's list, and the position after its last row (None: no next page).

    `count` is exact up to `count_limit`; above it a lower bound (exact on the last page).
    """
    offset = (number - 1) * size
    n = conn.execute(count_query(flt, one_per_action=one_per_action, limit=count_limit + 1)).scalar_one()
    exact = n <= count_limit
    if exact and number > 1 and offset >= n:
        return ListPage(n, True, False, []), None
    rows = conn.execute(page_query(flt, one_per_action=one_per_action, size=size, offset=offset,
                                   after=after, skip=skip)).all()
    has_next = len(rows) > size
    rows = rows[:size]
    count = n
    if not exact:
        if has_next:
            count = max(n, offset + len(rows) + 1)
        else:
            count, exact = offset + len(rows), True
    acties = {a.seq: a for a in load_acties(conn, _versions(conn, [r.versie_seq for r in rows]), person=flt)}
    if one_per_action:
        items: list[Any] = [acties[r.versie_seq] for r in rows]
    else:
        items = []
        for r in rows:
            actie = acties[r.versie_seq]
            items.append((next(o for o in actie.objecten if o.verwerkt_object_id == r.verwerkt_object_id), actie))
    last = rows[-1] if rows else None
    key = (last.tijdstip_us, last.actie_id, last.positie) if has_next and last is not None else None
    return ListPage(count, exact, has_next, items), key


def _versions(conn: Connection, seqs: Sequence[int]) -> list[Any]:
    if not seqs:
        return []
    by_seq = {r.seq: r for r in conn.execute(select(versies).where(versies.c.seq.in_(sorted(set(seqs)))))}
    return [by_seq[s] for s in dict.fromkeys(seqs)]


def current_of_chain(conn: Connection, chain_id: Any) -> StoredActie | None:
    """The current, non-deleted version of a chain (a chain id or a scalar subquery)."""
    rows = conn.execute(select(versies).where(versies.c.chain_id == chain_id, not_replaced(versies.c.seq))).all()
    if not rows or rows[0].vervallen:
        return None
    return load_acties(conn, rows)[0]


def object_with_actie(conn: Connection, verwerkt_object_id: str) -> tuple[StoredObject, StoredActie] | None:
    """The object with this id in the current version of its action, with that action."""
    seq = conn.execute(
        select(objecten.c.versie_seq).where(objecten.c.verwerkt_object_id == verwerkt_object_id,
                                            not_replaced(objecten.c.versie_seq)).limit(1)
    ).scalar()
    if seq is None:
        return None
    actie = load_acties(conn, _versions(conn, [seq]))[0]
    obj = next((o for o in actie.objecten if o.verwerkt_object_id == verwerkt_object_id), None)
    return None if obj is None else (obj, actie)


def load_acties(conn: Connection, rows: Sequence[Any], person: PersonFilter | None = None) -> list[StoredActie]:
    """StoredActie per version row, with its objects (only `person`'s when given)."""
    if not rows:
        return []
    seqs = [r.seq for r in rows]
    q = select(objecten).where(objecten.c.versie_seq.in_(seqs))
    if person is not None:
        q = q.where(objecten.c.object_id == person.object_id, objecten.c.soort_object_id == person.soort_object_id,
                    objecten.c.objecttype == person.objecttype)
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


__all__ = [
    "Key", "count_query", "current_of_chain", "load_acties", "not_replaced", "object_with_actie", "page_query",
    "person_page", "person_rows_filter",
]
