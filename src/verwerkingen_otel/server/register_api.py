"""The VAR API 0.1.0 (NOTES §8): the register of processing activities, public and paginated.

`GET /verwerkingsactiviteiten` (filters `categorie`, `naam`, `peildatum`; ordered by naam, id)
and `GET /verwerkingsactiviteiten/{id}` (also at the YAML's singular path). Reads need no token;
a token that is sent must be valid. Every response, errors included, says `API-version: 0.1.0`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..model import InvalidValue, check_date, check_uuid
from .errors import ApiError, InvalidParam, api_error_response, validation_error
from .pagination import page_body, parse_page
from .records import ListPage
from .params import Query
from .register_runtime import RegisterRuntime, register_of
from .settings import BASE_PATH
from .state import state_of

VAR_API_VERSION = "0.1.0"
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _filter_text(value: str) -> str:
    if not value.strip():
        raise InvalidValue("blank", "mag niet leeg zijn")
    if len(value) > 2042:
        raise InvalidValue("max_length", "mag hoogstens 2042 tekens zijn")
    return value


def _var_endpoint(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """GET/HEAD only; optional authentication; every error problem+json with the VAR version."""
    async def endpoint(request: Request) -> Response:
        try:
            if request.method not in ("GET", "HEAD"):
                raise ApiError(405, "method_not_allowed", "Het register kan alleen gelezen worden (GET).",
                               headers={"Allow": "GET, HEAD"})
            if "authorization" in request.headers:
                state_of(request).principal(request)  # a token that is sent must be valid (NOTES §8)
            response = await handler(request)
        except ApiError as e:
            response = api_error_response(e)
        response.headers["API-version"] = VAR_API_VERSION
        return response
    endpoint.__name__ = handler.__name__
    return endpoint


def _json(body: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, headers={"API-version": VAR_API_VERSION, **(headers or {})})


async def list_activiteiten(request: Request) -> Response:
    state = state_of(request)
    runtime = register_of(request)
    q = Query(request)
    page = parse_page(q.all("page"), state.settings.page_size, q.errors)
    categorie = q.one("categorie", _filter_text)
    naam = q.one("naam", _filter_text)
    peildatum = q.one("peildatum", check_date)
    if q.errors:
        raise validation_error(q.errors)
    history = await state.db(runtime.store.history)
    at = None if peildatum is None else history.on(peildatum)
    found = [v.activiteit for v in history.valid(at) if v.activiteit is not None]
    if categorie is not None:
        found = [a for a in found if a.categorie == categorie]
    if naam is not None:
        needle = naam.casefold()
        found = [a for a in found if needle in a.naam.casefold()]
    found.sort(key=lambda a: (a.naam, a.id))
    rows = found[page.offset:page.offset + page.size]
    listed = ListPage(count=len(found), exact=True, has_next=page.offset + page.size < len(found), items=rows)
    body = page_body(request, state.base_url(request), "/verwerkingsactiviteiten", page, listed,
                     [a.to_api() for a in rows])
    return _json(body)


async def read_activiteit(request: Request) -> Response:
    state = state_of(request)
    runtime = register_of(request)
    q = Query(request)
    peildatum: date | None = q.one("peildatum", check_date)
    if q.errors:
        raise validation_error(q.errors)
    raw = next(iter(request.path_params.values()), "")
    try:
        activiteit_id = check_uuid(raw)
    except InvalidValue:
        activiteit_id = None  # a malformed id in a path is a 404 (NOTES §8)
    history = await state.db(runtime.store.history)
    versie = None if activiteit_id is None else history.get(
        activiteit_id, None if peildatum is None else history.on(peildatum))
    if versie is None or versie.activiteit is None:
        raise ApiError(404, "not_found", "Deze verwerkingsactiviteit bestaat niet (op die datum).")
    body = versie.activiteit.to_api()
    etag = '"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32] + '"'
    wanted = request.headers.get("if-none-match", "")
    if etag in [t.strip() for t in wanted.split(",")] or wanted.strip() == "*":
        return Response(status_code=304, headers={"ETag": etag, "API-version": VAR_API_VERSION})
    return _json(body, {"ETag": etag})


def routes() -> list[Route]:
    """Full-path routes, placed before the `/api/v1` mount of the app."""
    return [
        Route(f"{BASE_PATH}/verwerkingsactiviteiten", _var_endpoint(list_activiteiten), methods=_ALL_METHODS),
        Route(f"{BASE_PATH}/verwerkingsactiviteiten/{{verwerkingsactiviteitId}}", _var_endpoint(read_activiteit),
              methods=_ALL_METHODS),
        Route(f"{BASE_PATH}/verwerkingsactiviteit/{{actieId}}", _var_endpoint(read_activiteit), methods=_ALL_METHODS),
    ]


async def check_known_activiteit(request: Request, activiteit_id: str | None) -> None:
    """`--strict-activiteiten`: a POST naming an id the register never held is a 400."""
    runtime: RegisterRuntime | None = getattr(request.app.state, "register", None)
    if runtime is None or not runtime.strict or activiteit_id is None:
        return
    history = await state_of(request).db(runtime.store.history)
    if not history.ever(activiteit_id):
        raise validation_error([InvalidParam(
            "verwerkingsactiviteitId", "unknown", "staat niet in het register van verwerkingsactiviteiten")])


__all__ = ["VAR_API_VERSION", "check_known_activiteit", "routes"]
