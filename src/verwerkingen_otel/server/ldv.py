"""The Logboek Dataverwerkingen side of the log: OTLP/HTTP ingest and the lezen API.

`POST /v1/traces` takes OTLP/HTTP (protobuf or JSON) from clients with `create:normal`, checks
each span against NOTES and stores the good ones append-only; refused spans are answered as an
OTLP partial success naming the rule, never a value. `POST /lezen/v1/processing-activities`
answers clients with a read scope (NOTES "Reading"), and [R] records each read as a logregel of
the log's own before it answers, as Inzage does for the VNG side.
"""

from __future__ import annotations

import logging
import os
import re
import time
import zlib
from pathlib import Path
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from ..ldv import (
    DATA_SUBJECT_ID, DATA_SUBJECT_ID_TYPE, FOREIGN_PROCESSOR, PROCESSING_ACTIVITY_ID, SERVICE_NAME, Logregel,
    logregel_problems,
)
from ..model import InvalidValue, check_bsn, check_oin
from .auth import Principal
from .bodies import read_json_body
from .errors import ApiError, InvalidParam, problem, validation_error
from .ldv_store import FILTER_COLUMNS, LdvFilter, LdvStore
from .otlp import JSON, OtlpDecodeError, decode_request, encode_response, encode_status, media_type, spans_of
from .state import ServerState, state_of
from .storage import Storage

__all__ = ["LEZEN_API_VERSION", "OTLP_MAX_BODY", "create_store", "routes"]

log = logging.getLogger("verwerkingen_otel.server")
LEZEN_API_VERSION = "1.1.0"
LEZEN_PATH = "/lezen/v1"
OTLP_MAX_BODY = 8 * 1024 * 1024
MAX_FILTER_BYTES = 1000  # an indexed column's value (PostgreSQL's btree limit is far above)
MAX_REASONS = 20
READ_NAME = "Lezen logboek dataverwerkingen"
_OPENAPI = Path(__file__).with_name("ldv_openapi")  # kept apart from the VNG files in openapi/
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
# gRPC status codes, as OTLP/HTTP's Status body carries them
_GRPC = {400: 3, 401: 16, 403: 7, 413: 8, 415: 3, 503: 14}


def create_store(storage: Storage) -> LdvStore:
    """The logregel store on the log's database, its table created if missing."""
    store = LdvStore(storage)
    store.create_schema()
    return store


def routes() -> list[Route]:
    return [
        Route("/v1/traces", otlp_traces, methods=["POST"]),
        Route(f"{LEZEN_PATH}/processing-activities", processing_activities, methods=["POST"]),
        Route(f"{LEZEN_PATH}/openapi.json", openapi, methods=["GET"]),
    ]


def _store(request: Request) -> LdvStore:
    return request.app.state.ldv


# --- OTLP ingest ---------------------------------------------------------------------------


def _otlp_error(kind: str, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(encode_status(kind, _GRPC.get(status, 2), message), status_code=status,
                    media_type=kind, headers=headers)


async def otlp_traces(request: Request) -> Response:
    state = state_of(request)
    kind = media_type(request.headers.get("content-type"))
    answer = kind or JSON
    try:
        principal = state.principal(request)
    except ApiError as e:
        return _otlp_error(answer, e.status, e.detail, e.headers)
    if not principal.has("create:normal"):
        return _otlp_error(answer, 403, "Voor het schrijven van logregels is create:normal nodig.")
    if kind is None:
        return _otlp_error(answer, 415, "De body moet application/x-protobuf of application/json zijn.")
    try:
        body = await _read_body(request)
        decoded = spans_of(decode_request(body, kind))
    except ApiError as e:
        return _otlp_error(kind, e.status, e.detail)
    except OtlpDecodeError as e:
        return _otlp_error(kind, 400, str(e))
    reasons: list[tuple[int, str]] = []
    good: list[tuple[int, Logregel]] = []
    for position, item in enumerate(decoded):
        problems = item if isinstance(item, list) else logregel_problems(item) + _unstorable(item)
        if problems:
            reasons.append((position, _reason(position, item, problems)))
        else:
            good.append((position, item))
    try:
        clashes = await state.db(_store(request).append, [r for _, r in good], principal.client_id)
    except (OperationalError, InterfaceError, PoolTimeout) as e:  # transient: the exporter retries
        orig = getattr(e, "orig", None)
        log.error("database unavailable: %s", type(orig).__name__ if orig else type(e).__name__)
        return _otlp_error(kind, 503, "De database is tijdelijk niet bereikbaar.", {"Retry-After": "1"})
    for index in clashes:
        position, regel = good[index]
        reasons.append((position, _reason(position, regel, ["trace_id and span_id are already used by another record"])))
    rejected = len(reasons)
    message = ""
    if rejected:
        shown = [text for _, text in sorted(reasons)[:MAX_REASONS]]
        message = f"{rejected} of {len(decoded)} spans refused: " + "; ".join(shown)
        message += " …" if rejected > MAX_REASONS else ""
    return Response(encode_response(kind, rejected, message), media_type=kind)


async def _read_body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > OTLP_MAX_BODY:
        raise ApiError(413, "too_large", f"De body mag hoogstens {OTLP_MAX_BODY} bytes zijn.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > OTLP_MAX_BODY:
            raise ApiError(413, "too_large", f"De body mag hoogstens {OTLP_MAX_BODY} bytes zijn.")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, OTLP_MAX_BODY + 1)
        except zlib.error:
            raise ApiError(400, "invalid", "De body is geen geldige gzip.") from None
        if len(body) > OTLP_MAX_BODY or inflater.unconsumed_tail:
            raise ApiError(413, "too_large", f"De body mag uitgepakt hoogstens {OTLP_MAX_BODY} bytes zijn.")
    elif encoding not in ("identity", ""):
        raise ApiError(415, "unsupported_encoding", "Content-Encoding moet gzip of identity zijn.")
    return body


def _reason(position: int, item: Logregel | list[str], problems: list[str]) -> str:
    where = f"span {position}" + (f" ({item.span_id})" if isinstance(item, Logregel) else "")
    return f"{where}: " + ", ".join(problems)


def _unstorable(r: Logregel) -> list[str]:
    """What no database column can hold: NUL characters, lone surrogates, too long a filter value."""
    out = []
    for where, value in (("name", r.name), *r.attributes.items(), *(("resource " + k, v) for k, v in r.resource.items())):
        if not _storable_text(value):
            out.append(f"{where} holds characters that cannot be stored")
    for key in FILTER_COLUMNS:
        value = r.attributes.get(key)
        if isinstance(value, str) and len(value.encode("utf-8", "surrogatepass")) > MAX_FILTER_BYTES:
            out.append(f"{key} must be at most {MAX_FILTER_BYTES} bytes")
    return out


def _storable_text(value: Any) -> bool:
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(_storable_text(v) for v in value)
    if isinstance(value, dict):
        return all(_storable_text(k) and _storable_text(v) for k, v in value.items())
    return True


# --- the lezen API -------------------------------------------------------------------------


def _lezen_problem(e: ApiError) -> Response:
    return problem(e.status, e.code, e.detail, e.invalid_params, {**e.headers, "API-version": LEZEN_API_VERSION})


async def processing_activities(request: Request) -> Response:
    started = time.time_ns()
    state = state_of(request)
    try:
        principal = state.principal(request)
        body = await read_json_body(request, state.settings.max_body_bytes)
        flt = parse_filter(body)
        if not principal.has_any("read"):
            raise ApiError(403, "permission_denied", "Voor lezen is read:normal of read:confidential nodig.")
        found, truncated = await state.db(_store(request).find, flt)
        await _record_read(state, request, principal, flt, len(found), started)
    except ApiError as e:
        return _lezen_problem(e)
    answer: dict[str, Any] = {"processingActivities": [r.to_json() for r in found]}
    if truncated:
        answer["truncated"] = True
    return JSONResponse(answer, headers={"API-version": LEZEN_API_VERSION})


async def openapi(_request: Request) -> Response:
    return FileResponse(_OPENAPI / "lezen-openapi.json", media_type="application/json")


_TIMES = ("startTime", "endTime")
_MAX_MS = (2**63 - 1) // 1_000_000


def parse_filter(body: Any) -> LdvFilter:
    """The request body as filters; 400 naming each bad key (at least one filter is needed)."""
    if not isinstance(body, dict):
        raise validation_error([InvalidParam("nonFieldErrors", "invalid", "De body moet een JSON-object zijn.")])
    errors: list[InvalidParam] = []
    known = {"traceId", *_TIMES, *FILTER_COLUMNS}
    for key in sorted(set(body) - known):
        errors.append(InvalidParam(key, "unknown_filter", "Onbekend filter."))
    present = {k: v for k, v in body.items() if k in known and v is not None}
    if not present and not errors:
        errors.append(InvalidParam("nonFieldErrors", "no_filter", "Geef minstens één filter."))
    trace_id = present.get("traceId")
    if trace_id is not None:
        trace_id = trace_id.lower().replace("-", "") if isinstance(trace_id, str) and len(trace_id) in (32, 36) else ""
        if not re.fullmatch(r"[0-9a-f]{32}", trace_id):
            errors.append(InvalidParam("traceId", "invalid", "Moet 32 hexadecimale tekens zijn."))
    times: dict[str, int] = {}
    for key in _TIMES:
        value = present.get(key)
        if value is None:
            continue
        if type(value) is not int or not 0 <= value <= _MAX_MS:
            errors.append(InvalidParam(key, "invalid", "Moet milliseconden sinds 1970 zijn (geheel getal)."))
        else:
            times[key] = value * 1_000_000 + (999_999 if key == "endTime" else 0)
    attributes = []
    for key in sorted(FILTER_COLUMNS):
        value = present.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value or len(value.encode("utf-8", "surrogatepass")) > MAX_FILTER_BYTES:
            errors.append(InvalidParam(key, "invalid", f"Moet een tekst van 1 tot {MAX_FILTER_BYTES} bytes zijn."))
            continue
        attributes.append((key, value))
    subject, kind = present.get(DATA_SUBJECT_ID), present.get(DATA_SUBJECT_ID_TYPE, "BSN")
    if isinstance(subject, str) and isinstance(kind, str) and kind.upper() == "BSN" and _is_bsn(subject):
        errors.append(InvalidParam(DATA_SUBJECT_ID, "plain_bsn",
                                   "Zoek op het pseudoniem (verwerkingen-otel ldv pseudonym), niet op het BSN."))
    if errors:
        raise validation_error(errors)
    return LdvFilter(trace_id=trace_id, start_from_ns=times.get("startTime"), end_until_ns=times.get("endTime"),
                     attributes=tuple(attributes))


def _is_bsn(value: str) -> bool:
    try:
        check_bsn(value.strip())
    except InvalidValue:
        return False
    return True


async def _record_read(state: ServerState, request: Request, principal: Principal, flt: LdvFilter,
                       results: int, started: int) -> None:
    """This read as a logregel of the log's own; if it cannot be stored, the read fails."""
    parent = _TRACEPARENT.match(request.headers.get("traceparent", "").strip().lower())
    valid = parent is not None and parent.group(1) != "ff" and parent.group(2).strip("0") and parent.group(3).strip("0")
    trace_id = parent.group(2) if valid and parent else os.urandom(16).hex()
    attributes: dict[str, Any] = {}
    if state.settings.inzage_verwerkingsactiviteit_id:
        attributes[PROCESSING_ACTIVITY_ID] = f"urn:uuid:{state.settings.inzage_verwerkingsactiviteit_id}"
    filters = dict(flt.attributes)
    if DATA_SUBJECT_ID in filters:
        attributes[DATA_SUBJECT_ID] = filters[DATA_SUBJECT_ID]
        attributes[DATA_SUBJECT_ID_TYPE] = filters.get(DATA_SUBJECT_ID_TYPE, "onbekend")
    try:
        attributes[FOREIGN_PROCESSOR] = "urn:oin:" + check_oin(request.headers.get("oin", "").strip())
    except InvalidValue:
        pass
    attributes["verwerkingen.handeling_naam"] = "Lezen"
    attributes["verwerkingen.aantal_resultaten"] = results
    regel = Logregel(
        trace_id=trace_id, span_id=os.urandom(8).hex(), parent_span_id=parent.group(3) if valid and parent else None,
        name=READ_NAME, start_time_ns=started, end_time_ns=max(time.time_ns(), started), attributes=attributes,
        resource={SERVICE_NAME: state.settings.systeem},
    )
    await state.db(_store(request).append, [regel], principal.client_id)
