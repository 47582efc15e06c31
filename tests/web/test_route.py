"""`http.route`: every action recorded in a request carries the route template, never the path."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from flask import Blueprint, Flask
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from verwerkingen_otel.web import RequestScope
from verwerkingen_otel.web import VerwerkingenMiddleware
from verwerkingen_otel.model import HTTP_ROUTE, span_to_verwerkingsactie, verwerkingsactie_attributes
from verwerkingen_otel.capture import verwerkingsactie
from verwerkingen_otel.capture import current_route, request_var
from verwerkingen_otel.fastapi import instrument_app
from verwerkingen_otel.flask import Verwerkingen
from verwerkingen_otel.capture import persoon
from verwerkingen_otel.web import VerwerkingenWSGIMiddleware

from .conftest import uvicorn_server, werkzeug_server

ACT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
BSN = "999993653"
BSN2 = "999995017"


@pytest.fixture
def spans(verwerkingen: Any) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    verwerkingen.pipeline.provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def routes_by_action(spans: InMemorySpanExporter) -> dict[str, str | None]:
    finished = spans.get_finished_spans()
    for span in finished:  # the route is a template: the concrete path (a BSN here) never gets in
        route = (span.attributes or {}).get(HTTP_ROUTE)
        assert route is None or (BSN not in route and BSN2 not in route), route
    return {span.name: (span.attributes or {}).get(HTTP_ROUTE) for span in finished}


def assert_route_is_not_an_api_field(span: ReadableSpan) -> None:
    """The mapping ignores `http.route`; everything else round-trips losslessly."""
    actie = span_to_verwerkingsactie(span)
    assert actie is not None
    assert "http.route" not in str(actie.to_api())
    attributes = dict(span.attributes or {})
    assert attributes.pop(HTTP_ROUTE) is not None
    assert verwerkingsactie_attributes(actie) == attributes
    assert span_to_verwerkingsactie(span) == actie


# --- Flask ----------------------------------------------------------------------------------


def flask_app() -> Flask:
    app = Flask(__name__)
    Verwerkingen(app)
    v1 = Blueprint("v1", __name__, url_prefix="/v1")
    personen = Blueprint("personen", __name__, url_prefix="/personen")

    @personen.get("/<bsn>")
    @verwerkingsactie(actie_naam="Raadplegen", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    def raadplegen(bsn: str) -> dict[str, str]:
        with verwerkingsactie(actie_naam="Genest", verwerkingsactiviteit_id=ACT) as actie:
            actie.add_object(bsn)
        return {"route": current_route() or ""}

    v1.register_blueprint(personen)
    app.register_blueprint(v1)

    @app.errorhandler(404)
    def not_found(error: Any) -> tuple[str, int]:
        with verwerkingsactie(actie_naam="Niet gevonden", verwerkingsactiviteit_id=ACT) as actie:
            actie.add_object(BSN)
        return "weg", 404

    return app


def test_flask_nested_blueprints_every_action_gets_the_url_rule(spans: InMemorySpanExporter) -> None:
    client = flask_app().test_client()
    response = client.get(f"/v1/personen/{BSN}")
    assert response.status_code == 200
    assert response.get_json() == {"route": "/v1/personen/<bsn>"}
    assert routes_by_action(spans) == {"Genest": "/v1/personen/<bsn>", "Raadplegen": "/v1/personen/<bsn>"}
    for span in spans.get_finished_spans():
        assert_route_is_not_an_api_field(span)


def test_flask_404_has_no_route(spans: InMemorySpanExporter, verwerkingen: Any) -> None:
    client = flask_app().test_client()
    assert client.get(f"/bestaat/niet/{BSN}").status_code == 404
    assert routes_by_action(spans) == {"Niet gevonden": None}
    assert "Niet gevonden" == verwerkingen.assert_one(actie_naam="Niet gevonden")["actieNaam"]


def test_plain_wsgi_middleware_around_flask_reads_the_url_rule(spans: InMemorySpanExporter) -> None:
    app = Flask(__name__)

    @app.get("/zaken/<int:nummer>/personen/<bsn>")
    @verwerkingsactie(actie_naam="Zaak", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    def zaak(nummer: int, bsn: str) -> str:
        return "ok"

    app.wsgi_app = VerwerkingenWSGIMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    assert app.test_client().get(f"/zaken/12/personen/{BSN}").status_code == 200
    assert routes_by_action(spans) == {"Zaak": "/zaken/<int:nummer>/personen/<bsn>"}


def test_flask_two_requests_on_different_routes_at_once(spans: InMemorySpanExporter) -> None:
    app = Flask(__name__)
    Verwerkingen(app)
    barrier = threading.Barrier(2, timeout=5)

    @app.get("/a/<bsn>")
    @verwerkingsactie(actie_naam="A", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    def a(bsn: str) -> str:
        barrier.wait()  # both requests are inside their action before either records
        return current_route() or ""

    @app.get("/b/<bsn>")
    @verwerkingsactie(actie_naam="B", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    def b(bsn: str) -> str:
        barrier.wait()
        return current_route() or ""

    with werkzeug_server(app) as base, ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(httpx.get, f"{base}/a/{BSN}"), pool.submit(httpx.get, f"{base}/b/{BSN2}")]
        assert [f.result().text for f in futures] == ["/a/<bsn>", "/b/<bsn>"]
    assert routes_by_action(spans) == {"A": "/a/<bsn>", "B": "/b/<bsn>"}


# --- FastAPI / Starlette --------------------------------------------------------------------


@verwerkingsactie(actie_naam="Diep", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
def diep(bsn: str) -> str | None:
    return current_route()


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.get("/personen/{bsn}")
    @verwerkingsactie(actie_naam="Raadplegen", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    async def raadplegen(bsn: str) -> dict[str, str | None]:
        return {"route": diep(bsn)}  # a nested action, and a plain function reading the route

    inner = APIRouter(prefix="/personen")
    outer = APIRouter(prefix="/v2")

    @inner.get("/{bsn}/adres")
    def adres(bsn: str) -> dict[str, str | None]:
        return {"route": diep(bsn)}

    outer.include_router(inner)
    app.include_router(outer, prefix="/api")

    gemeente = FastAPI()

    @gemeente.get("/inwoners/{bsn}")
    def inwoner(bsn: str) -> dict[str, str | None]:
        return {"route": diep(bsn)}

    app.mount("/gemeenten/{code}", gemeente)

    async def starlette_view(request: Request) -> PlainTextResponse:
        return PlainTextResponse(diep(request.path_params["bsn"]) or "")

    app.mount("/oud", Starlette(routes=[Mount("/archief/{jaar:int}", routes=[Route("/{bsn}", starlette_view)])]))

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"route": diep(BSN)}, status_code=404)

    app.add_exception_handler(404, not_found)
    gemeente.add_exception_handler(404, not_found)  # a 404 inside the mount: the mount matched, no route

    instrument_app(app)
    return app


@pytest.mark.parametrize(
    ("path", "route"),
    [
        (f"/personen/{BSN}", "/personen/{bsn}"),
        (f"/api/v2/personen/{BSN}/adres", "/api/v2/personen/{bsn}/adres"),
        (f"/gemeenten/0363/inwoners/{BSN}", "/gemeenten/{code}/inwoners/{bsn}"),
        (f"/oud/archief/2020/{BSN}", "/oud/archief/{jaar:int}/{bsn}"),
    ],
)
def test_fastapi_routers_and_mounts(spans: InMemorySpanExporter, path: str, route: str) -> None:
    with TestClient(fastapi_app()) as client:
        response = client.get(path)
    assert response.status_code == 200
    assert response.text in (route, '{"route":"%s"}' % route)
    expected = {"Diep": route} | ({"Raadplegen": route} if path.startswith("/personen") else {})
    assert routes_by_action(spans) == expected
    for span in spans.get_finished_spans():
        assert_route_is_not_an_api_field(span)


@pytest.mark.parametrize("path", [f"/nergens/{BSN}", f"/gemeenten/0363/nergens/{BSN}"])
def test_fastapi_404_has_no_route(spans: InMemorySpanExporter, path: str) -> None:
    with TestClient(fastapi_app()) as client:
        response = client.get(path)
    assert (response.status_code, response.json()) == (404, {"route": None})
    assert routes_by_action(spans) == {"Diep": None}


def test_plain_asgi_middleware_around_starlette(spans: InMemorySpanExporter) -> None:
    async def view(request: Request) -> PlainTextResponse:
        return PlainTextResponse(diep(request.path_params["bsn"]) or "")

    app = VerwerkingenMiddleware(Starlette(routes=[Mount("/m/{x}", routes=[Route("/p/{bsn}", view)])]))
    with TestClient(app) as client:
        assert client.get(f"/m/1/p/{BSN}").text == "/m/{x}/p/{bsn}"
    assert routes_by_action(spans) == {"Diep": "/m/{x}/p/{bsn}"}


def test_plain_asgi_app_without_routes_has_no_route(spans: InMemorySpanExporter) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        diep(BSN)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = TestClient(VerwerkingenMiddleware(app))  # no `with`: this app speaks no lifespan
    assert client.get(f"/p/{BSN}").status_code == 200
    assert routes_by_action(spans) == {"Diep": None}


def test_fastapi_two_requests_on_different_routes_at_once(spans: InMemorySpanExporter) -> None:
    app = FastAPI()
    barrier = threading.Barrier(2, timeout=5)

    @app.get("/a/{bsn}")
    @verwerkingsactie(actie_naam="A", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    def a(bsn: str) -> str | None:
        barrier.wait()  # sync handlers run in worker threads: both inside their action at once
        return current_route()

    @app.get("/b/{bsn}")
    @verwerkingsactie(actie_naam="B", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    def b(bsn: str) -> str | None:
        barrier.wait()
        return current_route()

    instrument_app(app)
    with uvicorn_server(app) as base, ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(httpx.get, f"{base}/a/{BSN}"), pool.submit(httpx.get, f"{base}/b/{BSN2}")]
        assert [f.result().json() for f in futures] == ["/a/{bsn}", "/b/{bsn}"]
    assert routes_by_action(spans) == {"A": "/a/{bsn}", "B": "/b/{bsn}"}


# --- outside a request, and the per-request lookup ------------------------------------------


def test_outside_a_request_no_route(spans: InMemorySpanExporter) -> None:
    assert current_route() is None
    diep(BSN)
    assert routes_by_action(spans) == {"Diep": None}


def test_lookup_is_kept_once_found_retried_while_unknown_and_failsafe() -> None:
    answers: list[Any] = [None, "/p/{bsn}", "/anders"]
    calls = []

    def find() -> Any:
        calls.append(1)
        return answers[len(calls) - 1]

    request = RequestScope(find)
    assert request.route() is None  # not routed yet: asked again next time
    assert request.route() == "/p/{bsn}"
    assert request.route() == "/p/{bsn}"  # kept: one lookup per request
    assert len(calls) == 2

    def broken() -> str:
        raise RuntimeError(BSN)

    assert RequestScope(broken).route() is None
    assert RequestScope(lambda: 42).route() is None  # type: ignore[arg-type, return-value]
    token = request_var.set(RequestScope(broken))
    try:
        assert current_route() is None
    finally:
        request_var.reset(token)
