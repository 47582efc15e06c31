"""`/inzage` with `serve --peers`: this log's answer merged with every peer's, each row with its log.

Each peer is asked through its own standard Inzage API (`/verwerkte-objecten`, every page) with its
own credentials (peers.py), so the peer logs the question as an Inzage. The page's role rule holds
whatever a peer returns: rows of a vertrouwelijkheid the user's role may not see, and rows of
another person or outside the period, are left out here. A peer that does not answer, or answers
rows that cannot be read, makes the result partial (`Herkomst.missing`); it is never shown as whole.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any, Sequence

from ...model import InvalidValue, check_datetime
from ..peers import SELF, Peer, PeerAnswer, ask_peers, instant
from ..register_store import RegisterHistory
from .inzage_data import Herkomst, Rij, Verwerking, group, rij

log = logging.getLogger("verwerkingen_otel.server.pages.inzage")

__all__ = ["merged", "query_params", "reden"]


def query_params(bsn: str, begin: date, eind: date) -> list[tuple[str, str]]:
    """The page's period `begin` through `eind` as the Inzage API's (`eindDatum` is exclusive)."""
    return [("objecttype", "persoon"), ("soortObjectId", "BSN"), ("objectId", bsn),
            ("beginDatum", begin.isoformat()), ("eindDatum", (eind + timedelta(days=1)).isoformat())]


def reden(answer: PeerAnswer) -> str:
    """Why a peer's answer is missing, for the privacy officer (Dutch; no URL, no query, no secret)."""
    if answer.unreachable:
        return "niet bereikbaar"
    if answer.timed_out:
        return "geen antwoord binnen de wachttijd"
    if answer.status in (401, 403):
        return f"toegang geweigerd, HTTP {answer.status}"
    if answer.status is not None:
        return f"foutmelding, HTTP {answer.status}"
    return "geen bruikbaar antwoord"


def _moment(tijdstip: str) -> Any:
    try:
        return check_datetime(tijdstip)
    except InvalidValue:
        return instant(tijdstip)


def _peer_rows(name: str, results: list[dict[str, Any]], history: RegisterHistory, bsn: str,
               begin: date, eind: date, levels: frozenset[str]) -> tuple[list[tuple[Any, Rij]], int]:
    """(instant, row) for each result the user may see; and how many results could not be read."""
    found: list[tuple[Any, Rij]] = []
    seen: set[str] = set()
    unreadable = withheld = 0
    for item in results:
        actie = item.get("verwerkingsactie")
        if not isinstance(actie, dict):
            unreadable += 1
            continue
        actie_id, tijdstip, niveau = actie.get("actieId"), actie.get("tijdstip"), actie.get("vertrouwelijkheid")
        try:
            moment = check_datetime(tijdstip)
        except InvalidValue:
            unreadable += 1
            continue
        if not isinstance(actie_id, str) or not actie_id or not isinstance(niveau, str):
            unreadable += 1
            continue
        person = (str(item.get("objecttype", "")).lower(), item.get("soortObjectId"), item.get("objectId"))
        if (person != ("persoon", "BSN", bsn) or niveau not in levels
                or not begin <= moment.date() <= eind):  # the date in the action's own offset, as the API
            withheld += 1
            continue
        if actie_id in seen:  # one action with two objects of this person: one row
            continue
        seen.add(actie_id)
        velden = {k: v for k, v in actie.items() if isinstance(v, str)}
        found.append((moment, rij(actie_id, tijdstip, niveau, velden, history, name)))
    if withheld:  # a peer returned what this page must not show: counted for the operator, never shown
        log.warning("peer %s returned %d result(s) outside the question or the user's role; left out",
                    name, withheld)
    return found, unreadable


async def merged(peers: Sequence[Peer], own: list[Rij], history: RegisterHistory, bsn: str, begin: date,
                 eind: date, levels: frozenset[str]) -> tuple[list[Verwerking], Herkomst]:
    """This log's rows and every peer's, in time order, grouped by verwerking; and which logs answered."""
    answers = await ask_peers(peers, query_params(bsn, begin, eind))
    timed: list[tuple[Any, Rij]] = [(_moment(r.regel.tijdstip), r) for r in own]
    missing: list[tuple[str, str]] = []
    for answer in answers:
        if answer.results is None:
            missing.append((answer.name, reden(answer)))
            continue
        found, unreadable = _peer_rows(answer.name, answer.results, history, bsn, begin, eind, levels)
        timed.extend(found)
        if unreadable:
            log.warning("peer %s returned %d result(s) that are not Inzage results", answer.name, unreadable)
            words = "onleesbaar resultaat" if unreadable == 1 else "onleesbare resultaten"
            missing.append((answer.name, f"{unreadable} {words}"))
    timed.sort(key=lambda pair: pair[0])  # stable: at the same instant this log first, then the peers in order
    return group([r for _, r in timed]), Herkomst((SELF, *(p.name for p in peers)), tuple(missing))
