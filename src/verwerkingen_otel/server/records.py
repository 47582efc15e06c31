"""What storage hands out and takes in: stored versions and objects, new versions, list filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


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

    def key(self) -> tuple[Any, ...]:
        """Hashable identity of the query (for remembered page cursors)."""
        levels = None if self.vertrouwelijkheid is None else tuple(sorted(self.vertrouwelijkheid))
        return (self.objecttype, self.soort_object_id, self.object_id, self.begin_datum, self.eind_datum,
                self.verwerkingsactiviteit_id, levels)


@dataclass(frozen=True)
class ListPage:
    """One page of a list: `count` is exact when `exact`, else a lower bound (docs/server.md)."""

    count: int
    exact: bool
    has_next: bool
    items: list[Any]


def now_registratie() -> str:
    """tijdstipRegistratie: UTC with offset, microsecond precision."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def instant_us(dt: datetime) -> int:
    """Microseconds since the epoch (exact integer arithmetic, no float rounding)."""
    delta = dt - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


__all__ = [
    "EPOCH", "IdempotencyConflict", "ListPage", "NewActie", "PersonFilter", "SchemaTooNew", "StoredActie",
    "StoredObject", "instant_us", "now_registratie",
]
