"""The Starlette application: `create_app(settings)`, usable as an ASGI app factory.

    uvicorn --factory verwerkingen_otel.server.app:create_app   # settings from VERWERKINGEN_SERVER_*

Every response carries `API-version`; every error is problem+json; the access log names
method, path and status only (never query strings, bodies or tokens), with digit runs that
could be a BSN redacted.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import bewerking, federatief, inzage, ldv, pages, register_api, schema
from .auth import Authenticator
from .errors import API_VERSION, ApiError, api_error_response, problem
from .register_runtime import setup_register
from .proxy import refuse_slash_redirects
from .settings import BASE_PATH, Settings
from .state import ServerState
from .storage import Storage

log = logging.getLogger("verwerkingen_otel.server")
access_log = logging.getLogger("verwerkingen_otel.server.access")
_DIGITS = re.compile(r"\d{6,}")
_VERSION_HEADER = (b"api-version", API_VERSION.encode())


class ApiVersionAndAccessLog:
    """Pure ASGI middleware: adds `API-version` and writes one redacted access-log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        started = False

        async def send_with_header(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"api-version" for k, _ in headers):
                    headers.append(_VERSION_HEADER)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a problem response
            # Handled here, not by Starlette's ServerErrorMiddleware, so no traceback (whose
            # messages may quote values, BSNs among them) reaches the server log.
            response = _failure_response(exc)
            if started:  # too late for a response: the client sees a broken connection
                return
            await response(scope, receive, send_with_header)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %d %.1fms", scope.get("method"), _safe_path(scope.get("path", "")),
                                status, (time.perf_counter() - start) * 1000)


def _safe_path(path: str) -> str:
    """The path for a log line: no digit runs (a BSN), no control characters (forged lines)."""
    path = _DIGITS.sub("…", path[:300])
    return "".join(c if c.isprintable() else "?" for c in path)


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return api_error_response(exc)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    detail = {404: "Deze URL bestaat niet.", 405: "Deze methode is hier niet toegestaan."}
    return problem(exc.status_code, codes.get(exc.status_code, "error"),
                   detail.get(exc.status_code, str(exc.detail) or "Fout."),
                   headers=dict(exc.headers or {}))


def _where(exc: BaseException) -> str:
    """The innermost frame of our own code (else the innermost one): enough to find the bug."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "verwerkingen_otel" in f.filename] or frames
    return f"{ours[-1].filename.rsplit('/', 1)[-1]}:{ours[-1].lineno} ({ours[-1].name})" if ours else "?"


async def _server_error(_request: Request, exc: Exception) -> Response:
    return _failure_response(exc)


def _failure_response(exc: Exception) -> Response:
    """500, or 503 when the database is unavailable; the log gets the type and place only."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        # database down, unreachable, locked or overloaded too long: transient, so 503 and a retry hint
        orig = getattr(exc, "orig", None)
        log.error("database unavailable: %s", type(orig).__name__ if orig else type(exc).__name__)
        return problem(503, "database_unavailable", "De database is tijdelijk niet bereikbaar.",
                       headers={"Retry-After": "1"})
    log.error("internal error: %s at %s", type(exc).__name__, _where(exc))
    return problem(500, "server_error", "Er ging iets mis in de server.")


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app; creates the schema on first use of the database."""
    settings = settings if settings is not None else Settings.from_env()
    storage = Storage(settings.database_url, count_limit=settings.count_limit)
    storage.create_schema()
    ldv_store = ldv.create_store(storage)  # Logboek Dataverwerkingen: its own table
    state = ServerState(settings, storage, Authenticator(settings.clients, max_token_age=settings.max_token_age))
    register = setup_register(settings, storage)  # register of processing activities (VAR API)

    routes = [
        *register_api.routes(),
        *pages.routes(settings),
        Mount(BASE_PATH, routes=[
            Route("/verwerkingsacties", bewerking.collection, methods=["GET", "POST", "PATCH"]),
            Route("/verwerkingsacties/{actieId}", bewerking.item, methods=["GET", "PUT", "DELETE"]),
            Route("/verwerkte-objecten", inzage.list_objecten, methods=["GET"]),
            Route("/verwerkte-objecten/{verwerktObjectId}", inzage.read_object, methods=["GET"]),
            Route("/schema", schema.schema_list, methods=["GET"]),
            Route("/schema/{name}", schema.schema_file, methods=["GET"]),
            Route("/inzage/federatief", federatief.list_federatief, methods=["GET"]),  # beyond the standard
        ]),
        *ldv.routes(),  # OTLP ingest (/v1/traces) and the lezen API (/lezen/v1)
    ]

    async def lifespan(_app: Starlette) -> Any:
        register.install_sighup()
        yield
        storage.dispose()

    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.add_middleware(ApiVersionAndAccessLog)
    app.state.verwerkingenlog = state
    app.state.ldv = ldv_store
    app.state.openapi_schemas = schema.load_schemas()
    from .ops import install_ops  # scale: /healthz, /readyz, /metrics, purge schedule
    install_ops(app, state)
    app.state.register = register
    refuse_slash_redirects(app)  # last, so it covers every route added above
    return app
