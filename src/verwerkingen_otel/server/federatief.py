"""`GET /api/v1/inzage/federatief`: Inzage across the logs of one organisation (beyond the standard).

`serve --peers peers.toml` names the other logs of the organisation. This endpoint takes the
Inzage query of `/verwerkte-objecten` (objecttype, soortObjectId, objectId, beginDatum,
eindDatum), answers it from this log (all pages; logged as an Inzage like the standard's
endpoint) and asks every peer's own Inzage API with that peer's own credentials (all pages; the
peer logs it as an Inzage, as the standard requires). The answer merges everything in time order,
each result marked with its `log`; a peer that does not answer is named in `missing` and
`complete` is false — a partial answer is never presented as a whole one.

The peers file and the asking live in peers.py (shared with the `/inzage` page).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .bewerking import forbidden, json_response
from .errors import validation_error
from .inzage import log_inzage, visible_levels
from .params import Query, person_filter
from .peers import ENV_PEERS, SELF, Peer, ask_peers, configure_peers, configured_peers, instant, load_peers
from .representation import inzage_json
from .state import state_of

__all__ = ["ENV_PEERS", "Peer", "configure_peers", "list_federatief", "load_peers"]


def _tijdstip(item: dict[str, Any]) -> str:
    actie = item.get("verwerkingsactie")
    value = actie.get("tijdstip") if isinstance(actie, dict) else None
    return value if isinstance(value, str) else ""


async def list_federatief(request: Request) -> Response:
    state = state_of(request)
    principal = state.principal(request)
    q = Query(request)
    flt = person_filter(q, dates_required=True)
    if q.errors or flt is None:
        raise validation_error(q.errors)
    if not principal.has_any("read"):
        raise forbidden("Voor inzage is read:normal of read:confidential nodig.")
    flt = dataclasses.replace(flt, vertrouwelijkheid=visible_levels(principal))
    base = state.base_url(request)
    own: list[dict[str, Any]] = []
    number, size = 1, 500
    while True:  # every page of this log's own results (pages are read by keyset: each costs one page)
        found = await state.db(state.storage.list_objecten, flt, number, size)
        own.extend(inzage_json(o, a, base) for o, a in found.items)
        if not found.has_next or not found.items:
            break
        number += 1
    await log_inzage(state, request, principal, (flt.objecttype, flt.soort_object_id, flt.object_id))
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    forwarded = {k: v for k, v in request.headers.items() if k.lower() in ("oin", "verwerkingsactiviteitid",
                                                                         "verwerkingsactiviteiturl", "verwerkingid")}
    answers = await ask_peers(configured_peers(), params, forwarded)
    logs: dict[str, Any] = {SELF: {"answered": True, "count": len(own)}}
    results = [{"log": SELF, **item} for item in own]
    missing = []
    for answer in answers:
        if answer.results is None:
            logs[answer.name] = {"answered": False, "error": answer.error}
            missing.append(answer.name)
        else:
            logs[answer.name] = {"answered": True, "count": len(answer.results)}
            results.extend({"log": answer.name, **item} for item in answer.results)
    results.sort(key=lambda item: (instant(_tijdstip(item)), item["log"]))
    return json_response({"complete": not missing, "missing": missing, "logs": logs, "count": len(results),
                          "results": results})
