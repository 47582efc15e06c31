"""The answer to an AVG art. 15 request: a person's actions, grouped by verwerking, explained.

Each action gets the doel and grondslag of the register version valid at its `tijdstip` — the
activity as it was when the processing happened, not as it reads today. JSON and CSV downloads
carry the same rows.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from ...model import InvalidValue, check_datetime
from ..register_store import RegisterHistory
from ..storage import PersonFilter, StoredActie, Storage

BATCH = 500
MAX_ACTIES = 100_000


@dataclass
class Regel:
    """One action as the privacy officer reads it."""

    actie_id: str
    actie_naam: str | None
    tijdstip: str
    afnemer: str
    vertrouwelijkheid: str
    verwerkingsactiviteit_id: str | None
    activiteit_naam: str | None
    doel: str | None
    grondslag: str | None
    toelichting_grondslag: str | None
    bewaartermijn: str | None


@dataclass
class Verwerking:
    verwerking_id: str | None
    verwerking_naam: str | None
    acties: list[Regel] = field(default_factory=list)


def levels_for(vertrouwelijk: bool) -> frozenset[str]:
    """`inzage` sees normaal and opgeheven; `inzage-vertrouwelijk` also vertrouwelijk."""
    return frozenset({"normaal", "opgeheven", "vertrouwelijk"} if vertrouwelijk else {"normaal", "opgeheven"})


def query(storage: Storage, history: RegisterHistory, bsn: str, begin: date, eind: date,
          levels: frozenset[str]) -> list[Verwerking]:
    """Every current action of this person from `begin` through `eind` (inclusive), grouped."""
    flt = PersonFilter("persoon", "BSN", bsn, begin, eind + timedelta(days=1), None, levels)
    acties: list[StoredActie] = []
    number = 1
    while len(acties) < MAX_ACTIES:
        page = storage.list_acties(flt, number, BATCH)
        acties.extend(page.items)
        if not page.has_next:
            break
        number += 1
    groups: dict[str, Verwerking] = {}
    for a in acties:
        key = a.velden.get("verwerkingId") or f"actie:{a.actie_id}"
        group = groups.setdefault(key, Verwerking(a.velden.get("verwerkingId"), a.velden.get("verwerkingNaam")))
        group.acties.append(_regel(a, history))
    return list(groups.values())


def _afnemer(velden: dict[str, Any]) -> str:
    afnemer = velden.get("afnemerId")
    if not afnemer:
        return "eigen organisatie"
    soort = velden.get("soortAfnemerId")
    return f"{soort} {afnemer}" if soort else str(afnemer)


def _regel(a: StoredActie, history: RegisterHistory) -> Regel:
    activiteit_id = a.velden.get("verwerkingsactiviteitId")
    versie = None
    if activiteit_id:
        try:
            versie = history.get(activiteit_id, check_datetime(a.tijdstip))
        except InvalidValue:
            versie = None
    act = versie.activiteit if versie is not None else None
    return Regel(
        actie_id=a.actie_id, actie_naam=a.velden.get("actieNaam"), tijdstip=a.tijdstip,
        afnemer=_afnemer(a.velden), vertrouwelijkheid=a.vertrouwelijkheid,
        verwerkingsactiviteit_id=activiteit_id, activiteit_naam=act.naam if act else None,
        doel=act.doel if act else None, grondslag=act.grondslag if act else None,
        toelichting_grondslag=act.toelichting_grondslag if act else None,
        bewaartermijn=a.velden.get("bewaartermijn"),
    )


def as_json(bsn: str, begin: date, eind: date, groups: list[Verwerking]) -> bytes:
    body = {
        "betrokkene": {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn},
        "periode": {"van": begin.isoformat(), "totEnMet": eind.isoformat()},
        "verwerkingen": [asdict(g) for g in groups],
    }
    return json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")


CSV_COLUMNS = ("verwerking_id", "verwerking_naam", *Regel.__dataclass_fields__)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # a spreadsheet must not run a formula from the log (CSV injection)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(groups: list[Verwerking]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for g in groups:
        for r in g.acties:
            writer.writerow([_cell(v) for v in (g.verwerking_id, g.verwerking_naam, *asdict(r).values())])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: spreadsheets read it as UTF-8


__all__ = ["Regel", "Verwerking", "as_csv", "as_json", "levels_for", "query"]
