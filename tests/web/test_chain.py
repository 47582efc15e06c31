"""A real two-service chain on loopback: FastAPI consumer (uvicorn) → httpx → Flask provider (werkzeug).

The provider's action must carry the consumer's OIN, activity id and url, verwerkingId,
vertrouwelijkheid and bewaartermijn as afnemer fields, and both actions share one trace id.
"""

from __future__ import annotations

from typing import Any, Iterator

import httpx
import pytest
from fastapi import FastAPI
from flask import Flask
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from verwerkingen_otel import httpx as our_httpx
from verwerkingen_otel.capture import verwerkingsactie
from verwerkingen_otel.fastapi import instrument_app
from verwerkingen_otel.flask import Verwerkingen
from verwerkingen_otel.capture import persoon

from .conftest import uvicorn_server, werkzeug_server

CONSUMER_OIN = "00000001821002193000"
CONSUMER_ACT = "1c7b35c8-8b0c-4a8e-9d0c-3f2a1e6b7d11"
CONSUMER_URL = "https://consumer.example/register/activiteiten/1c7b35c8"
PROVIDER_ACT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
ZAAK = "0b1c6a2e-3b55-4c85-a1b8-5c1f4e0ad001"


@pytest.fixture
def instrumented_httpx() -> Iterator[None]:
    was = our_httpx.is_instrumented()
    our_httpx.instrument()
    yield
    if not was:
        our_httpx.uninstrument()


def provider_app() -> Flask:
    app = Flask("provider")
    Verwerkingen(app)

    @app.get("/personen/<bsn>")
    @verwerkingsactie(actie_naam="Verstrekken persoonsgegevens", verwerkingsactiviteit_id=PROVIDER_ACT,
                      objecten=[persoon("bsn", soorten_gegevens=["Naam"])])
    def persoon_opvragen(bsn: str) -> dict[str, str]:
        return {"bsn": bsn, "naam": "Suzanne Moulin"}

    return app


def consumer_app(provider: str) -> FastAPI:
    app = FastAPI()

    @app.post("/aanvragen/{bsn}")
    @verwerkingsactie(
        actie_naam="Aanvraag behandelen",
        verwerkingsactiviteit_id=CONSUMER_ACT,
        verwerkingsactiviteit_url=CONSUMER_URL,
        verwerking_id=ZAAK,
        vertrouwelijkheid="vertrouwelijk",
        bewaartermijn="P20Y",
        objecten=[persoon("bsn")],
    )
    async def behandelen(bsn: str) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=provider) as client:
            response = await client.get(f"/personen/{bsn}")
        return {"status": response.status_code, "persoon": response.json()}

    instrument_app(app)
    return app


@pytest.mark.verwerkingen(oin=CONSUMER_OIN)
def test_consumer_to_provider_chain(verwerkingen: Any, instrumented_httpx: None) -> None:
    spans = InMemorySpanExporter()
    verwerkingen.pipeline.provider.add_span_processor(SimpleSpanProcessor(spans))
    with werkzeug_server(provider_app()) as provider, uvicorn_server(consumer_app(provider)) as consumer:
        response = httpx.post(f"{consumer}/aanvragen/999993653")
    assert response.status_code == 200
    assert response.json() == {"status": 200, "persoon": {"bsn": "999993653", "naam": "Suzanne Moulin"}}

    provided = verwerkingen.assert_one(actie_naam="Verstrekken persoonsgegevens")
    consumed = verwerkingen.assert_one(actie_naam="Aanvraag behandelen")
    assert provided["soortAfnemerId"] == "OIN"
    assert provided["afnemerId"] == CONSUMER_OIN
    assert provided["verwerkingsactiviteitIdAfnemer"] == CONSUMER_ACT
    assert provided["verwerkingsactiviteitUrlAfnemer"] == CONSUMER_URL
    assert provided["verwerkingIdAfnemer"] == ZAAK
    assert provided["vertrouwelijkheid"] == "vertrouwelijk"
    assert provided["bewaartermijn"] == "P20Y"
    assert provided["verwerkingsactiviteitId"] == PROVIDER_ACT  # never from a header
    assert provided["verwerkingId"] != ZAAK  # the provider's own verwerking
    assert consumed["verwerkingId"] == ZAAK and "afnemerId" not in consumed

    by_name = {s.name: s for s in spans.get_finished_spans()}
    consumer_span = by_name["Aanvraag behandelen"]
    provider_span = by_name["Verstrekken persoonsgegevens"]
    assert provider_span.context.trace_id == consumer_span.context.trace_id
    # each outbound call has a short client span of its own (W3C: its id is the parent-id sent)
    client_span = by_name["HTTP GET"]
    assert client_span.kind is SpanKind.CLIENT and client_span.parent.span_id == consumer_span.context.span_id
    assert dict(client_span.attributes) == {"http.request.method": "GET"}
    assert provider_span.parent is not None and provider_span.parent.span_id == client_span.context.span_id
    assert provider_span.parent.is_remote


@pytest.mark.verwerkingen(oin=CONSUMER_OIN)
def test_untraced_marker_and_outside_an_action(verwerkingen: Any, instrumented_httpx: None) -> None:
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    client.get("http://log.example/")  # outside any action: nothing added
    with verwerkingsactie(actie_naam="Uitgaand", verwerkingsactiviteit_id=CONSUMER_ACT) as actie:
        actie.add_object("999993653")
        client.get("http://provider.example/")
        client.get("http://log.example/", extensions={our_httpx.UNTRACED: True})
        from opentelemetry.instrumentation.utils import suppress_instrumentation

        with suppress_instrumentation():
            client.get("http://log.example/")
        our_httpx.instrument_client(client)  # both ways at once: still one header each
        client.get("http://provider.example/", headers={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"})
    assert "oin" not in seen[0] and "traceparent" not in seen[0]
    assert seen[1]["OIN"] == CONSUMER_OIN
    assert seen[1]["VerwerkingsactiviteitId"] == CONSUMER_ACT
    assert seen[1]["Vertrouwelijkheid"] == "normaal"
    assert seen[1]["traceparent"].startswith("00-")
    assert "oin" not in seen[2] and "traceparent" not in seen[2]
    assert "oin" not in seen[3] and "traceparent" not in seen[3]
    assert seen[4].get_list("OIN") == [CONSUMER_OIN]
    assert seen[4].get_list("traceparent") == ["00-" + "a" * 32 + "-" + "b" * 16 + "-01"]


@pytest.mark.verwerkingen(oin=CONSUMER_OIN)
async def test_async_client_instrumented_per_client(verwerkingen: Any) -> None:
    seen: list[httpx.Headers] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        our_httpx.instrument_client(client)
        our_httpx.instrument_client(client)
        assert len(client.event_hooks["request"]) == 1
        with verwerkingsactie(actie_naam="Uitgaand", verwerkingsactiviteit_id=CONSUMER_ACT,
                              bewaartermijn="P5Y") as actie:
            actie.add_object("999993653")
            await client.get("http://provider.example/")
    assert seen[0]["OIN"] == CONSUMER_OIN and seen[0]["Bewaartermijn"] == "P5Y"
