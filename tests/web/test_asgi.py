"""ASGI middleware and FastAPI glue, against real FastAPI apps (in-process and under uvicorn)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Query
from fastapi.responses import StreamingResponse
from starlette.testclient import TestClient

from verwerkingen_otel.web import VerwerkingenMiddleware
from verwerkingen_otel.capture import verwerkingsactie
from verwerkingen_otel.fastapi import instrument_app
from verwerkingen_otel.capture import persoon

from .conftest import uvicorn_server

if sys.version_info < (3, 11):  # the backport anyio uses on 3.10
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup

ACT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
OIN = "00000001234567890000"
OIN2 = "00000009876543210000"
VID = "0b1c6a2e-3b55-4c85-a1b8-5c1f4e0ad001"
AFNEMER_HEADERS = {
    "OIN": OIN,
    "VerwerkingsactiviteitId": "1c7b35c8-8b0c-4a8e-9d0c-3f2a1e6b7d11",
    "VerwerkingsactiviteitUrl": "https://consumer.example/activiteiten/1",
    "VerwerkingId": VID,
    "Vertrouwelijkheid": "vertrouwelijk",
    "Bewaartermijn": "20",
}


def make_app(**options: Any) -> FastAPI:
    app = FastAPI()

    def paging(limit: int = Query(10, ge=1, le=100)) -> int:
        return limit

    @app.get("/personen/{bsn}", summary="Een persoon", response_model=dict)
    @verwerkingsactie(actie_naam="Raadplegen persoon", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    async def get_persoon(bsn: str, limit: int = Depends(paging)) -> dict[str, Any]:
        return {"bsn": bsn, "limit": limit}

    @app.get("/sync/{bsn}")
    @verwerkingsactie(actie_naam="Sync", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    def get_sync(bsn: str) -> dict[str, Any]:
        return {"bsn": bsn}

    @app.get("/stream/{bsn}")
    @verwerkingsactie(actie_naam="Stream", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    async def stream(bsn: str) -> StreamingResponse:
        async def body() -> Any:
            for i in range(3):
                yield f"deel {i} van {bsn}\n".encode()

        return StreamingResponse(body(), media_type="text/plain")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    instrument_app(app, **options)
    return app


def test_afnemer_headers_become_afnemer_fields(verwerkingen: Any) -> None:
    with TestClient(make_app()) as client:
        response = client.get("/personen/999993653", headers=AFNEMER_HEADERS)
    assert response.status_code == 200
    assert response.json() == {"bsn": "999993653", "limit": 10}
    actie = verwerkingen.assert_one(actie_naam="Raadplegen persoon")
    assert actie["soortAfnemerId"] == "OIN"
    assert actie["afnemerId"] == OIN
    assert actie["verwerkingsactiviteitIdAfnemer"] == AFNEMER_HEADERS["VerwerkingsactiviteitId"]
    assert actie["verwerkingsactiviteitUrlAfnemer"] == AFNEMER_HEADERS["VerwerkingsactiviteitUrl"]
    assert actie["verwerkingIdAfnemer"] == VID
    assert actie["vertrouwelijkheid"] == "vertrouwelijk"
    assert actie["bewaartermijn"] == "P20Y"
    assert actie["verwerkteObjecten"][0]["objectId"] == "999993653"


def test_no_headers_no_afnemer_fields(verwerkingen: Any) -> None:
    with TestClient(make_app()) as client:
        assert client.get("/sync/999993653").status_code == 200
    actie = verwerkingen.assert_one(actie_naam="Sync")
    assert not {"afnemerId", "soortAfnemerId", "verwerkingIdAfnemer"} & actie.keys()
    assert actie["vertrouwelijkheid"] == "normaal"


def test_invalid_headers_dropped_request_still_served(verwerkingen: Any, caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(make_app()) as client:
        response = client.get("/sync/999993653", headers={"OIN": "999995017", "VerwerkingId": "x", "Bewaartermijn": "P10Y"})
    assert response.status_code == 200
    actie = verwerkingen.assert_one(actie_naam="Sync")
    assert "afnemerId" not in actie and actie["bewaartermijn"] == "P10Y"
    assert "inbound header OIN dropped: must be an OIN of exactly 20 digits" in caplog.text
    assert "999995017" not in caplog.text


def test_openapi_di_and_validation_unchanged(verwerkingen: Any) -> None:
    plain = FastAPI()

    def paging(limit: int = Query(10, ge=1, le=100)) -> int:
        return limit

    @plain.get("/personen/{bsn}", summary="Een persoon", response_model=dict)
    async def get_persoon(bsn: str, limit: int = Depends(paging)) -> dict[str, Any]:
        return {}

    ours = make_app()
    assert ours.openapi()["paths"]["/personen/{bsn}"] == plain.openapi()["paths"]["/personen/{bsn}"]
    with TestClient(ours) as client:
        assert client.get("/personen/999993653?limit=0").status_code == 422  # validation kept
        assert client.get("/personen/999993653?limit=7").json()["limit"] == 7  # dependency kept


def test_gebruiker_hook(verwerkingen: Any) -> None:
    app = make_app(gebruiker=lambda request: request.headers.get("x-user"))
    with TestClient(app) as client:
        client.get("/sync/999993653", headers={"x-user": "medewerker-42"})
    assert verwerkingen.assert_one(actie_naam="Sync")["gebruiker"] == "medewerker-42"


def test_gebruiker_hook_failure_is_logged_never_raised(verwerkingen: Any, caplog: pytest.LogCaptureFixture) -> None:
    def broken(request: Any) -> str:
        raise KeyError("999993653")

    with TestClient(make_app(gebruiker=broken)) as client:
        assert client.get("/sync/999993653").status_code == 200
    assert "gebruiker" not in verwerkingen.assert_one(actie_naam="Sync")
    assert "gebruiker hook failed with KeyError" in caplog.text
    assert "999993653" not in caplog.text


def test_excluded_path_untouched(verwerkingen: Any) -> None:
    app = make_app(exclude=["/sync/*"])
    with TestClient(app) as client:
        client.get("/sync/999993653", headers={"OIN": OIN})
        client.get("/personen/999993653", headers={"OIN": OIN})
    assert "afnemerId" not in verwerkingen.assert_one(actie_naam="Sync")
    assert verwerkingen.assert_one(actie_naam="Raadplegen persoon")["afnemerId"] == OIN


@pytest.mark.verwerkingen(exporters=["memory", "console"], console_file="/dev/full")
def test_fail_closed_503_when_the_action_cannot_be_recorded(verwerkingen: Any) -> None:
    with TestClient(make_app(), raise_server_exceptions=False) as client:
        response = client.get("/personen/999993653")
        streamed = client.get("/stream/999993653")
        health = client.get("/health")
    for r in (response, streamed):
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["status"] == 503 and problem["code"] == "recording_unavailable"
        assert "999993653" not in r.text
    assert health.status_code == 200  # no action, nothing to record: served


def test_streaming_response_passes_through(verwerkingen: Any) -> None:
    with TestClient(make_app()) as client:
        with client.stream("GET", "/stream/999993653", headers={"OIN": OIN}) as response:
            chunks = list(response.iter_bytes())
    assert b"".join(chunks) == b"deel 0 van 999993653\ndeel 1 van 999993653\ndeel 2 van 999993653\n"
    assert verwerkingen.assert_one(actie_naam="Stream")["afnemerId"] == OIN


def test_websocket_and_lifespan_pass_through_untouched() -> None:
    seen: list[tuple[str, Any]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope["type"], send))
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            message = await receive()
            await send({"type": "websocket.send", "text": "echo " + message["text"]})
            await send({"type": "websocket.close", "code": 1000})

    app = VerwerkingenMiddleware(inner)
    with TestClient(app) as client:
        with client.websocket_connect("/ws") as ws:
            ws.send_text("hallo")
            assert ws.receive_text() == "echo hallo"
    assert [t for t, _ in seen] == ["lifespan", "websocket"]
    # the very send callable of the server reached the app: nothing wrapped
    assert all(getattr(send, "__self__", None) is None or "Verwerkingen" not in type(send.__self__).__name__ for _, send in seen)


def test_concurrent_requests_never_mix_afnemers(verwerkingen: Any) -> None:
    app = FastAPI()
    arrived = 0
    both_in = asyncio.Event()

    @app.get("/personen/{bsn}")
    @verwerkingsactie(actie_naam="Gelijktijdig", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    async def handler(bsn: str) -> dict[str, str]:
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            both_in.set()
        await asyncio.wait_for(both_in.wait(), 5)  # both requests are inside their action now
        return {"bsn": bsn}

    instrument_app(app)

    async def run(base: str) -> None:
        async with httpx.AsyncClient(base_url=base) as client:
            await asyncio.gather(
                client.get("/personen/999993653", headers={"OIN": OIN}),
                client.get("/personen/999995017", headers={"OIN": OIN2}),
            )

    with uvicorn_server(app) as base:
        asyncio.run(run(base))
    by_bsn = {a["verwerkteObjecten"][0]["objectId"]: a["afnemerId"] for a in verwerkingen.acties}
    assert by_bsn == {"999993653": OIN, "999995017": OIN2}


def test_problem_body_is_json() -> None:
    from verwerkingen_otel.web import problem_503

    body, headers = problem_503()
    assert json.loads(body)["status"] == 503
    assert ("content-type", "application/problem+json") in headers


def test_hook_rejects_non_identificator(verwerkingen: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with TestClient(make_app(gebruiker=lambda request: "x" * 41)) as client:
        client.get("/sync/999993653")
    assert "gebruiker" not in verwerkingen.assert_one(actie_naam="Sync")
    assert "gebruiker hook returned no identificator" in caplog.text


@pytest.mark.verwerkingen(exporters=["memory", "console"], console_file="/dev/full")
def test_fail_closed_after_streaming_started_aborts_the_response(verwerkingen: Any) -> None:
    app = FastAPI()

    @app.get("/stream/{bsn}")
    async def stream(bsn: str) -> StreamingResponse:
        async def body() -> Any:
            yield b"begin\n"
            with verwerkingsactie(actie_naam="Laat", verwerkingsactiviteit_id=ACT) as actie:
                actie.add_object(bsn)
                line = f"{bsn}\n".encode()
            yield line  # never reached: recording failed

        return StreamingResponse(body(), media_type="text/plain")

    instrument_app(app)
    received = b""
    with uvicorn_server(app) as base:
        with pytest.raises(httpx.RemoteProtocolError):
            with httpx.stream("GET", base + "/stream/999993653") as response:
                assert response.status_code == 200
                for chunk in response.iter_bytes():
                    received += chunk
    assert b"999993653" not in received


def test_exception_group_is_unwrapped() -> None:
    from verwerkingen_otel.web import recording_error_in
    from verwerkingen_otel.delivery import RecordingError

    error = RecordingError("outbox unavailable")
    assert recording_error_in(BaseExceptionGroup("task group", [ValueError(), ExceptionGroup("inner", [error])])) is error
    assert recording_error_in(ValueError()) is None


def test_mounted_app_of_ours_inside_ours_records_once(verwerkingen: Any) -> None:
    calls: list[str] = []
    outer = FastAPI()
    outer.mount("/v1", make_app(gebruiker=lambda request: calls.append("inner") or "binnen"))
    instrument_app(outer, gebruiker=lambda request: calls.append("outer") or "buiten")
    with TestClient(outer) as client:
        assert client.get("/v1/sync/999993653", headers={"OIN": OIN}).status_code == 200
    actie = verwerkingen.assert_one(actie_naam="Sync")
    assert (actie["afnemerId"], actie["gebruiker"]) == (OIN, "buiten")
    assert calls == ["outer"]  # the inner middleware passed the request on untouched


def test_traceparent_read_whatever_otel_propagators_says(verwerkingen: Any) -> None:
    from opentelemetry import propagate
    from opentelemetry.baggage.propagation import W3CBaggagePropagator
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    verwerkingen.pipeline.provider.add_span_processor(SimpleSpanProcessor(spans))
    previous = propagate.get_global_textmap()
    propagate.set_global_textmap(CompositePropagator([W3CBaggagePropagator()]))  # OTEL_PROPAGATORS=baggage
    try:
        with TestClient(make_app()) as client:
            client.get("/sync/999993653", headers={"traceparent": f"00-{'4b' * 16}-{'00f067aa0ba902b7'}-01"})
            client.get("/sync/999995017", headers={"traceparent": "00-zz-nonsense-01"})
    finally:
        propagate.set_global_textmap(previous)
    first, second = spans.get_finished_spans()
    assert first.context.trace_id == int("4b" * 16, 16)
    assert first.parent is not None and first.parent.span_id == int("00f067aa0ba902b7", 16)
    assert second.parent is None and second.context.trace_id != first.context.trace_id  # invalid: a new trace
