"""The Inzage API (`/verwerkte-objecten`): what a citizen may see, and logging each look.

Only the asked person's objects are shown, never `vertrouwelijk` actions, and never the
fields citizens are not meant to read. [R] Reading the log is a processing too: each
successful call is recorded as a verwerkingsactie of the server's own before it is answered.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import Response

from ..model import Afnemer, afnemer_from_headers
from ..model import InvalidValue, Vertrouwelijkheid, check_uuid, format_tijdstip
from .auth import Principal
from .common import NORMAAL, OPGEHEVEN, VERTROUWELIJK, forbidden, json_response
from .errors import ApiError, validation_error
from .pagination import page_body, page_response, parse_page
from .params import Query, person_filter
from .representation import inzage_json
from .state import ServerState, state_of
from .records import NewActie, StoredObject


def visible_levels(principal: Principal) -> frozenset[str]:
    """`vertrouwelijk` never; `opgeheven` only with read:confidential."""
    if principal.has("read:confidential"):
        return frozenset({NORMAAL, OPGEHEVEN})
    return frozenset({NORMAAL})


def _require_read(principal: Principal) -> None:
    if not principal.has_any("read"):
        raise forbidden("Voor inzage is read:normal of read:confidential nodig.")


async def list_objecten(request: Request) -> Response:
    state = state_of(request)
    principal = state.principal(request)
    q = Query(request)
    flt = person_filter(q, dates_required=True)
    page = parse_page(q.all("page"), state.settings.page_size, q.errors)
    if q.errors or flt is None:
        raise validation_error(q.errors)
    _require_read(principal)
    flt = dataclasses.replace(flt, vertrouwelijkheid=visible_levels(principal))
    found = await state.db(state.storage.list_objecten, flt, page.number, page.size)
    base = state.base_url(request)
    body = page_body(request, base, "/verwerkte-objecten", page, found,
                     [inzage_json(o, a, base) for o, a in found.items])
    await log_inzage(state, request, principal, (flt.objecttype, flt.soort_object_id, flt.object_id))
    return page_response(body, found)


async def read_object(request: Request) -> Response:
    state = state_of(request)
    principal = state.principal(request)
    _require_read(principal)
    try:
        object_id = check_uuid(request.path_params["verwerktObjectId"])
    except InvalidValue:
        object_id = None
    found = None if object_id is None else await state.db(state.storage.get_object, object_id)
    if found is None or found[1].vertrouwelijkheid not in visible_levels(principal):
        raise ApiError(404, "not_found", "Dit verwerkte object bestaat niet of is niet zichtbaar.")
    obj, actie = found
    person = obj.person()
    shown = dataclasses.replace(actie, objecten=tuple(o for o in actie.objecten if o.person() == person))
    body = inzage_json(obj, shown, state.base_url(request))
    await log_inzage(state, request, principal, person)
    return json_response(body)


log = logging.getLogger("verwerkingen_otel.server.inzage")


async def log_inzage(state: ServerState, request: Request, principal: Principal,
                     person: tuple[str, str, str]) -> None:
    """Record this Inzage call as a verwerkingsactie; if that fails, the call fails."""
    # §4: the same checks as inbound middleware (headers.py): invalid values dropped with a
    # warning naming the header only, bare years in Bewaartermijn → P{n}Y, never an error.
    afnemer = afnemer_from_headers(request.headers.raw) or Afnemer()
    velden: dict[str, str] = {
        "actieNaam": "Inzage verwerkingenlog",
        "handelingNaam": "Inzage",
        "verwerkingNaam": "Inzage in verwerkingen",
        "verwerkingId": str(uuid.uuid4()),
        "systeem": state.settings.systeem,
    }
    if state.settings.inzage_verwerkingsactiviteit_id:
        velden["verwerkingsactiviteitId"] = state.settings.inzage_verwerkingsactiviteit_id
    # NOTES §3: the record of a read is the citizen's, not the reader's: it keeps the server's
    # bewaartermijn, and stays visible unless a client allowed to create confidential actions
    # asks otherwise (a reader may not hide or shorten the record of its own read).
    velden["bewaartermijn"] = state.settings.inzage_bewaartermijn
    vertrouwelijk = afnemer.vertrouwelijkheid is Vertrouwelijkheid.VERTROUWELIJK
    if vertrouwelijk and not principal.has("create:confidential"):
        log.warning("inbound header Vertrouwelijkheid ignored on an Inzage call: the client lacks "
                    "create:confidential; its record is normaal")
        vertrouwelijk = False
    if afnemer.bewaartermijn is not None:
        log.warning("inbound header Bewaartermijn ignored on an Inzage call: its record keeps the "
                    "server's bewaartermijn")
    optional = {
        "afnemerId": afnemer.oin,
        "verwerkingsactiviteitIdAfnemer": afnemer.verwerkingsactiviteit_id,
        "verwerkingsactiviteitUrlAfnemer": afnemer.verwerkingsactiviteit_url,
        "verwerkingIdAfnemer": afnemer.verwerking_id,
    }
    velden.update({k: v for k, v in optional.items() if v is not None})
    if "afnemerId" in velden:
        velden["soortAfnemerId"] = "OIN"
    now = datetime.now(timezone.utc)
    new = NewActie(
        client_id=principal.client_id,
        # a new action is never created `opgeheven`
        vertrouwelijkheid=VERTROUWELIJK if vertrouwelijk else NORMAAL,
        tijdstip=format_tijdstip(now), tijdstip_instant=now, velden=velden,
        objecten=(StoredObject(str(uuid.uuid4()), *person),),
    )
    await state.db(state.storage.create, new, None)
