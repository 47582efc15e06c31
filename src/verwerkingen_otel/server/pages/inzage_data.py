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
    log: str | None = None  # with `serve --peers`: the log it came from (`self` or a peer's name)


@dataclass
class Verwerking:
    verwerking_id: str | None
    verwerking_naam: str | None
    acties: list[Regel] = field(default_factory=list)


def levels_for(vertrouwelijk: bool) -> frozenset[str]:
    """`inzage` sees normaal and opgeheven; `inzage-vertrouwelijk` also vertrouwelijk."""
    return frozenset({"normaal", "opgeheven", "vertrouwelijk"} if vertrouwelijk else {"normaal", "opgeheven"})


@dataclass(frozen=True)
class Rij:
    """One action before grouping: the key of its verwerking and the Regel."""

    key: str
    verwerking_id: str | None
    verwerking_naam: str | None
    regel: Regel


def rows(storage: Storage, history: RegisterHistory, bsn: str, begin: date, eind: date,
         levels: frozenset[str], log: str | None = None) -> list[Rij]:
    """Every current action of this person from `begin` through `eind` (inclusive), in time order."""
    flt = PersonFilter("persoon", "BSN", bsn, begin, eind + timedelta(days=1), None, levels)
    acties: list[StoredActie] = []
    number = 1
    while len(acties) < MAX_ACTIES:
        page = storage.list_acties(flt, number, BATCH)
        acties.extend(page.items)
        if not page.has_next:
            break
        number += 1
    return [rij(a.actie_id, a.tijdstip, a.vertrouwelijkheid, a.velden, history, log) for a in acties]


def group(found: list[Rij]) -> list[Verwerking]:
    """Rows grouped by verwerking, each group where its first row is (rows keep their order)."""
    groups: dict[str, Verwerking] = {}
    for r in found:
        groups.setdefault(r.key, Verwerking(r.verwerking_id, r.verwerking_naam)).acties.append(r.regel)
    return list(groups.values())


def query(storage: Storage, history: RegisterHistory, bsn: str, begin: date, eind: date,
          levels: frozenset[str]) -> list[Verwerking]:
    """This log's answer, grouped (the page without peers)."""
    return group(rows(storage, history, bsn, begin, eind, levels))


def _afnemer(velden: dict[str, Any]) -> str:
    afnemer = velden.get("afnemerId")
    if not afnemer:
        return "eigen organisatie"
    soort = velden.get("soortAfnemerId")
    return f"{soort} {afnemer}" if soort else str(afnemer)


def rij(actie_id: str, tijdstip: str, vertrouwelijkheid: str, velden: dict[str, Any], history: RegisterHistory,
        log: str | None = None) -> Rij:
    """An action (this log's or a peer's) as a row, with the register version valid at its tijdstip."""
    activiteit_id = velden.get("verwerkingsactiviteitId")
    versie = None
    if activiteit_id:
        try:
            versie = history.get(activiteit_id, check_datetime(tijdstip))
        except InvalidValue:
            versie = None
    act = versie.activiteit if versie is not None else None
    regel = Regel(
        actie_id=actie_id, actie_naam=velden.get("actieNaam"), tijdstip=tijdstip,
        afnemer=_afnemer(velden), vertrouwelijkheid=vertrouwelijkheid,
        verwerkingsactiviteit_id=activiteit_id, activiteit_naam=act.naam if act else None,
        doel=act.doel if act else None, grondslag=act.grondslag if act else None,
        toelichting_grondslag=act.toelichting_grondslag if act else None,
        bewaartermijn=velden.get("bewaartermijn"), log=log,
    )
    verwerking_id = velden.get("verwerkingId")
    key = verwerking_id or (f"actie:{actie_id}" if log is None else f"actie:{log}:{actie_id}")
    return Rij(key, verwerking_id, velden.get("verwerkingNaam"), regel)


@dataclass(frozen=True)
class Herkomst:
    """With `serve --peers`: the logs asked and those whose answer is missing (from all or part)."""

    logs: tuple[str, ...]  # every log asked: `self` first, then the peers in file order
    missing: tuple[tuple[str, str], ...]  # (log, reden in Dutch) for each log that did not fully answer

    @property
    def complete(self) -> bool:
        return not self.missing

    def csv_line(self) -> str:
        """The first line of the CSV download: whether the answer is whole, and if not, what is missing."""
        if self.complete:
            return "# VOLLEDIG: alle logs hebben geantwoord: " + ", ".join(self.logs)
        return "# ONVOLLEDIG: geen (volledig) antwoord van: " + "; ".join(f"{n} ({r})" for n, r in self.missing)


def _acties(g: Verwerking, herkomst: Herkomst | None) -> list[dict[str, Any]]:
    return [asdict(r) if herkomst else {k: v for k, v in asdict(r).items() if k != "log"} for r in g.acties]


def as_json(bsn: str, begin: date, eind: date, groups: list[Verwerking], herkomst: Herkomst | None = None) -> bytes:
    body: dict[str, Any] = {
        "betrokkene": {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn},
        "periode": {"van": begin.isoformat(), "totEnMet": eind.isoformat()},
    }
    if herkomst is not None:  # a partial answer says so in the file itself
        redenen = dict(herkomst.missing)
        body["complete"] = herkomst.complete
        body["missing"] = [n for n, _ in herkomst.missing]
        body["logs"] = {n: {"complete": n not in redenen, **({"reden": redenen[n]} if n in redenen else {})}
                        for n in herkomst.logs}
    body["verwerkingen"] = [{"verwerking_id": g.verwerking_id, "verwerking_naam": g.verwerking_naam,
                             "acties": _acties(g, herkomst)} for g in groups]
    return json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")


CSV_COLUMNS = ("verwerking_id", "verwerking_naam", *(f for f in Regel.__dataclass_fields__ if f != "log"))


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # a spreadsheet must not run a formula from the log (CSV injection)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(groups: list[Verwerking], herkomst: Herkomst | None = None) -> bytes:
    """One row per action; with peers a `log` column first and a first line `# VOLLEDIG…`/`# ONVOLLEDIG…`."""
    out = io.StringIO()
    if herkomst is not None:
        out.write(herkomst.csv_line() + "\r\n")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("log", *CSV_COLUMNS) if herkomst else CSV_COLUMNS)
    for g in groups:
        for r in g.acties:
            values = [g.verwerking_id, g.verwerking_naam, *(getattr(r, c) for c in CSV_COLUMNS[2:])]
            writer.writerow([_cell(v) for v in ([r.log, *values] if herkomst else values)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: spreadsheets read it as UTF-8


__all__ = ["Herkomst", "Regel", "Rij", "Verwerking", "as_csv", "as_json", "group", "levels_for", "query", "rij",
           "rows"]
