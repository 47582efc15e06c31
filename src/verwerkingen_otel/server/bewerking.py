"""The Bewerking API (`/verwerkingsacties`): NOTES §2, checks in the order the note fixes.

authentication (401) → size (413) → media type (415) → validation (400) → scope (403) →
existence (404) → scope rules that depend on the stored action (403).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..model import (
    InvalidValue, ValidationError, Verwerkingsactie, Vertrouwelijkheid, check_datetime, check_duration,
    check_uuid, parse_verwerkingsactie,
)
from .auth import Principal
from .bodies import body_hash, read_json_body, unstorable_strings
from .common import NORMAAL, OPGEHEVEN, VERTROUWELIJK, forbidden, json_response
from .errors import API_VERSION, ApiError, InvalidParam, validation_error
from .pagination import page_body, page_response, parse_page
from .register_api import check_known_activiteit
from .params import Query, person_filter, vertrouwelijkheid_filter
from .representation import actie_json, match_object_ids, new_actie, stored_objects
from .state import state_of
from .records import IdempotencyConflict, NewActie, StoredActie

_PATCH_KEYS = frozenset({"bewaartermijn", "vertrouwelijkheid"})


def not_found() -> ApiError:
    return ApiError(404, "not_found", "Deze verwerkingsactie bestaat niet (meer).")


def validate_actie(body: Any, *, require_all_keys: bool) -> Verwerkingsactie:
    problems = unstorable_strings(body)
    if problems:
        raise validation_error(problems)
    try:
        return parse_verwerkingsactie(body, require_all_keys=require_all_keys)
    except ValidationError as e:
        raise validation_error(InvalidParam(*fe) for fe in e.errors) from None


def effective_level(requested: str, current: StoredActie) -> str:
    """[R] Once confidential, never plain normal: such a `normaal` is stored as `opgeheven`."""
    if requested == NORMAAL and (current.ooit_vertrouwelijk or current.vertrouwelijkheid == VERTROUWELIJK):
        return OPGEHEVEN
    return requested


async def collection(request: Request) -> Response:
    if request.method == "POST":
        return await create(request)
    if request.method == "PATCH":
        return await patch(request)
    return await list_acties(request)


async def item(request: Request) -> Response:
    if request.method == "PUT":
        return await put(request)
    if request.method == "DELETE":
        return await delete(request)
    return await read(request)


async def create(request: Request) -> Response:
    state = state_of(request)
    principal = state.principal(request)
    body = await read_json_body(request, state.settings.max_body_bytes)
    actie = validate_actie(body, require_all_keys=False)
    await check_known_activiteit(request, actie.verwerkingsactiviteit_id)  # --strict-activiteiten
    key = request.headers.get("idempotency-key")
    if key is not None and not (1 <= len(key) <= 255):
        raise validation_error([InvalidParam("Idempotency-Key", "invalid", "moet 1 tot 255 tekens zijn")])
    level = actie.vertrouwelijkheid.value
    if level == OPGEHEVEN:
        raise forbidden("Een nieuwe verwerkingsactie kan niet 'opgeheven' zijn.")
    if level == VERTROUWELIJK and not principal.has("create:confidential"):
        raise forbidden("Voor een vertrouwelijke verwerkingsactie is create:confidential nodig.")
    new = new_actie(actie, body, principal.client_id, level)
    try:
        stored, _created = await state.db(
            state.storage.create, new, None if key is None else (key, body_hash(body)))
    except IdempotencyConflict:
        raise ApiError(422, "idempotency_key_reused",
                       "Deze Idempotency-Key is eerder gebruikt met een andere body.") from None
    out = actie_json(stored, state.base_url(request))
    return json_response(out, 201, {"Location": out["url"]})


async def list_acties(request: Request) -> Response:
    state = state_of(request)
    principal = state.principal(request)
    q = Query(request)
    flt = person_filter(q, dates_required=False)
    levels = vertrouwelijkheid_filter(q)
    page = parse_page(q.all("page"), state.settings.page_size, q.errors)
    if q.errors or flt is None:
        raise validation_error(q.errors)
    if not principal.has_any("read"):
        raise forbidden("Voor het opvragen is read:normal of read:confidential nodig.")
    if not principal.has("read:confidential") and levels != frozenset({NORMAAL}):
        raise forbidden("Met read:normal moet vertrouwelijkheid=normaal gevraagd worden, en niets anders.")
    flt = dataclasses.replace(flt, vertrouwelijkheid=levels)
    found = await state.db(state.storage.list_acties, flt, page.number, page.size)
    base = state.base_url(request)
    return page_response(page_body(request, base, "/verwerkingsacties", page, found,
                                   [actie_json(a, base) for a in found.items]), found)


def _path_uuid(request: Request, name: str) -> str | None:
    try:
        return check_uuid(request.path_params[name])
    except InvalidValue:
        return None


async def read(request: Request) -> Response:
    state = state_of(request)
    principal = state.principal(request)
    if not principal.has_any("read"):
        raise forbidden("Voor het opvragen is read:normal of read:confidential nodig.")
    actie_id = _path_uuid(request, "actieId")
    current = None if actie_id is None else await state.db(state.storage.get_current, actie_id)
    if current is None:
        raise not_found()
    if current.vertrouwelijkheid != NORMAAL and not principal.has("read:confidential"):
        raise forbidden("Deze verwerkingsactie is niet 'normaal': read:confidential is nodig.")
    return json_response(actie_json(current, state.base_url(request)))


async def put(request: Request) -> Response:
    state = state_of(request)
    principal = state.principal(request)
    body = await read_json_body(request, state.settings.max_body_bytes)
    actie = validate_actie(body, require_all_keys=True)
    if not principal.has_any("update"):
        raise forbidden("Voor wijzigen is update:normal of update:confidential nodig.")
    actie_id = _path_uuid(request, "actieId")
    if actie_id is None:
        raise not_found()
    requested = actie.vertrouwelijkheid.value

    def decide(current: StoredActie) -> NewActie:
        check_update(principal, current.vertrouwelijkheid, requested)
        ids = match_object_ids(current.objecten, actie.verwerkte_objecten)
        objecten = stored_objects(actie.verwerkte_objecten, body, ids)
        return new_actie(actie, body, principal.client_id, effective_level(requested, current), objecten)

    stored = await state.db(state.storage.replace_current, actie_id, decide)
    if stored is None:
        raise not_found()
    return json_response(actie_json(stored, state.base_url(request)))


def check_update(principal: Principal, current: str, requested: str | None) -> None:
    """Scope rules of PUT and PATCH for one action (`requested` None: level not changed)."""
    if principal.has("update:confidential"):
        if requested == OPGEHEVEN and current != OPGEHEVEN:
            raise forbidden("Een verwerkingsactie kan niet met PUT op 'opgeheven' gezet worden.")
        return
    if current != NORMAAL or requested not in (None, NORMAAL):
        raise forbidden("Met update:normal kunnen alleen 'normaal' acties gewijzigd worden, en blijven ze 'normaal'.")


async def patch(request: Request) -> Response:
    state = state_of(request)
    principal = state.principal(request)
    body = await read_json_body(request, state.settings.max_body_bytes)
    q = Query(request)
    verwerking_id = q.one("verwerkingId", check_uuid, required=True)
    errors = list(q.errors)
    changes: dict[str, str] = {}
    if not isinstance(body, dict) or not body:
        errors.append(InvalidParam("nonFieldErrors", "invalid",
                                   "De body moet bewaartermijn en/of vertrouwelijkheid bevatten."))
    else:
        for key in sorted(set(body) - _PATCH_KEYS):
            errors.append(InvalidParam(key, "unknown_field", "alleen bewaartermijn en vertrouwelijkheid zijn toegestaan"))
        for key, check in (("bewaartermijn", check_duration),
                           ("vertrouwelijkheid", lambda v: Vertrouwelijkheid.parse(v).value)):
            if key not in body:
                continue
            try:
                if "\x00" in str(body[key]):
                    raise InvalidValue("invalid_characters", "bevat een NUL-teken")
                changes[key] = check(body[key])
            except InvalidValue as e:
                errors.append(InvalidParam(key, e.code, e.reason))
    if errors:
        raise validation_error(errors)
    if not principal.has_any("update"):
        raise forbidden("Voor wijzigen is update:normal of update:confidential nodig.")
    requested = changes.get("vertrouwelijkheid")

    def decide(targets: list[StoredActie]) -> list[NewActie]:
        news = []
        for t in targets:
            if principal.has("update:confidential"):
                level = t.vertrouwelijkheid if requested is None else effective_level(requested, t)
            else:
                check_update(principal, t.vertrouwelijkheid, requested)
                level = t.vertrouwelijkheid
            velden = dict(t.velden)
            if "bewaartermijn" in changes:
                velden["bewaartermijn"] = changes["bewaartermijn"]
            news.append(NewActie(
                client_id=principal.client_id, vertrouwelijkheid=level, tijdstip=t.tijdstip,
                tijdstip_instant=_instant(t), velden=velden, objecten=t.objecten,
            ))
        return news

    count = await state.db(state.storage.patch_verwerking, verwerking_id, decide)
    if count == 0:
        raise validation_error([InvalidParam("verwerkingId", "not_found",
                                             "geen verwerkingsacties met deze verwerkingId")])
    return Response(status_code=204, headers={"API-version": API_VERSION})


async def delete(request: Request) -> Response:
    state = state_of(request)
    principal = state.principal(request)
    if not principal.has_any("delete"):
        raise forbidden("Voor verwijderen is delete:normal of delete:confidential nodig.")
    actie_id = _path_uuid(request, "actieId")
    if actie_id is None:
        raise not_found()

    def decide(current: StoredActie) -> NewActie:
        if current.vertrouwelijkheid != NORMAAL and not principal.has("delete:confidential"):
            raise forbidden("Met delete:normal kunnen alleen 'normaal' acties verwijderd worden.")
        return NewActie(
            client_id=principal.client_id, vertrouwelijkheid=current.vertrouwelijkheid,
            tijdstip=current.tijdstip, tijdstip_instant=_instant(current), velden=current.velden,
            objecten=current.objecten, vervallen=True,
        )

    stored = await state.db(state.storage.replace_current, actie_id, decide)
    if stored is None:
        raise not_found()
    return Response(status_code=204, headers={"API-version": API_VERSION})


def _instant(a: StoredActie) -> datetime:
    return check_datetime(a.tijdstip)
