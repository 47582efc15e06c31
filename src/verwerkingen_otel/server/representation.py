"""API JSON out (Verwerkingsactie, VerwerktObject, the Inzage view) and model → storage in.

Unset fields come back as `null` ([R] NOTES §2); the Inzage view leaves out `systeem`,
`gebruiker` and `gegevensbron` because citizens are not meant to see them.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Sequence

from ..model import Verwerkingsactie, VerwerktObject, format_tijdstip
from .records import NewActie, StoredActie, StoredObject

# Writable fields other than vertrouwelijkheid, tijdstip and verwerkteObjecten, in API order.
VELDEN: tuple[str, ...] = (
    "actieNaam", "handelingNaam", "verwerkingNaam", "verwerkingId", "verwerkingsactiviteitId",
    "verwerkingsactiviteitUrl", "bewaartermijn", "uitvoerder", "systeem", "gebruiker",
    "gegevensbron", "soortAfnemerId", "afnemerId", "verwerkingsactiviteitIdAfnemer",
    "verwerkingsactiviteitUrlAfnemer", "verwerkingIdAfnemer",
)
_NOT_FOR_CITIZENS = frozenset({"systeem", "gebruiker", "gegevensbron"})
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)


def object_json(o: StoredObject, base: str) -> dict[str, Any]:
    return {
        "url": f"{base}/verwerkte-objecten/{o.verwerkt_object_id}",
        "verwerktObjectId": o.verwerkt_object_id,
        "objecttype": o.objecttype,
        "soortObjectId": o.soort_object_id,
        "objectId": o.object_id,
        "betrokkenheid": o.betrokkenheid,
        "verwerkteSoortenGegevens": None if o.soorten_gegevens is None
        else [{"soortGegeven": s} for s in o.soorten_gegevens],
    }


def actie_json(a: StoredActie, base: str, *, beperkt: bool = False) -> dict[str, Any]:
    """The stored version as the API returns it; `beperkt` is the Inzage view."""
    body: dict[str, Any] = {"url": f"{base}/verwerkingsacties/{a.actie_id}", "actieId": a.actie_id}
    for key in VELDEN:
        if beperkt and key in _NOT_FOR_CITIZENS:
            continue
        body[key] = a.velden.get(key)
    body["vertrouwelijkheid"] = a.vertrouwelijkheid
    body["tijdstip"] = a.tijdstip
    body["tijdstipRegistratie"] = a.tijdstip_registratie
    body["verwerkteObjecten"] = [object_json(o, base) for o in a.objecten]
    return body


def inzage_json(o: StoredObject, a: StoredActie, base: str) -> dict[str, Any]:
    body = object_json(o, base)
    body["verwerkingsactie"] = actie_json(a, base, beperkt=True)
    return body


def tijdstip_as_sent(raw: Any, actie: Verwerkingsactie) -> str:
    """NOTES §1: tijdstip is returned as sent — when what was sent is plain RFC 3339."""
    if isinstance(raw, str) and _RFC3339.match(raw):
        return raw
    return format_tijdstip(actie.tijdstip)


def velden_from_model(actie: Verwerkingsactie) -> dict[str, Any]:
    api = actie.to_api()
    return {k: api[k] for k in VELDEN if k in api}


def new_actie(
    actie: Verwerkingsactie, body: dict[str, Any], client_id: str, vertrouwelijkheid: str,
    objecten: Sequence[StoredObject] | None = None,
) -> NewActie:
    """A NewActie from a validated body; objects get fresh ids unless `objecten` is given."""
    if objecten is None:
        objecten = stored_objects(actie.verwerkte_objecten, body, ids=None)
    return NewActie(
        client_id=client_id, vertrouwelijkheid=vertrouwelijkheid,
        tijdstip=tijdstip_as_sent(body.get("tijdstip"), actie), tijdstip_instant=actie.tijdstip,
        velden=velden_from_model(actie), objecten=tuple(objecten),
    )


def stored_objects(
    parsed: Sequence[VerwerktObject], body: dict[str, Any], ids: Sequence[str] | None
) -> list[StoredObject]:
    raw_list = body.get("verwerkteObjecten") or []
    out = []
    for i, o in enumerate(parsed):
        raw = raw_list[i] if i < len(raw_list) and isinstance(raw_list[i], dict) else {}
        soorten = None if raw.get("verwerkteSoortenGegevens") is None else tuple(
            s.soort_gegeven for s in o.verwerkte_soorten_gegevens)
        out.append(StoredObject(
            verwerkt_object_id=ids[i] if ids is not None else str(uuid.uuid4()),
            objecttype=o.objecttype, soort_object_id=o.soort_object_id, object_id=o.object_id,
            betrokkenheid=o.betrokkenheid, soorten_gegevens=soorten,
        ))
    return out


def match_object_ids(current: Sequence[StoredObject], parsed: Sequence[VerwerktObject]) -> list[str]:
    """[R] PUT: keep an object's id when matched by the id sent, else by (type, soort, id)."""
    free = {o.verwerkt_object_id: o for o in current}
    ids: list[str | None] = [None] * len(parsed)
    for i, p in enumerate(parsed):
        if p.verwerkt_object_id is not None and p.verwerkt_object_id in free:
            ids[i] = p.verwerkt_object_id
            del free[p.verwerkt_object_id]
    for i, p in enumerate(parsed):
        if ids[i] is not None:
            continue
        key = (p.objecttype, p.soort_object_id, p.object_id)
        match = next((o for o in free.values() if o.person() == key), None)
        if match is not None:
            ids[i] = match.verwerkt_object_id
            del free[match.verwerkt_object_id]
        else:
            ids[i] = str(uuid.uuid4())
    return [i for i in ids if i is not None]
