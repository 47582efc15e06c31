"""Route rules through the ASGI middleware (FastAPI) and the gebruiker hook behind authentication."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.testclient import TestClient

from verwerkingen_otel.fastapi import instrument_app

ACT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
OIN = "00000001234567890000"

RULES = f"""
[[rules]]
name = "raadplegen"
method = "GET"
route = "/personen/{{bsn}}"
actie_naam = "Raadplegen"
verwerkingsactiviteit_id = "{ACT}"
[[rules.objecten]]
from = "path"
name = "bsn"
soorten_gegevens = ["Naam"]

[[rules]]
name = "zoeken"
method = "GET"
route = "/personen"
actie_naam = "Zoeken"
verwerkingsactiviteit_id = "{ACT}"
[[rules.objecten]]
from = "response"
pointer = "/resultaten/*/bsn"
betrokkenheid = "Getoond in zoekresultaat"
betrokkenheid_pointer = "/rol"
[[rules.objecten]]
from = "query"
name = "ouder"
betrokkenheid = "Ouder"

[[rules]]
name = "registreren"
method = "POST"
route = "/huwelijken"
actie_naam = "Registreren"
verwerkingsactiviteit_id = "{ACT}"
vertrouwelijkheid = "vertrouwelijk"
[[rules.objecten]]
from = "body"
pointer = "/partners/*/bsn"
betrokkenheid = "Partner"

[[rules]]
name = "export"
method = "GET"
route = "/export/{{bsn}}"
actie_naam = "Exporteren"
verwerkingsactiviteit_id = "{ACT}"
[[rules.objecten]]
from = "path"
name = "bsn"

[[rules]]
name = "vergeten"
method = "GET"
route = "/bestaat/niet/{{bsn}}"
actie_naam = "Nooit"
verwerkingsactiviteit_id = "{ACT}"
[[rules.objecten]]
from = "path"
name = "bsn"
"""


class HeaderAuth(AuthenticationBackend):
    async def authenticate(self, conn: Any) -> Any:
        user = conn.headers.get("x-medewerker")
        return (AuthCredentials(["authenticated"]), SimpleUser(user)) if user else None


def make_app(tmp_path: Path, **options: Any) -> FastAPI:
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    app = FastAPI()

    @app.get("/personen/{bsn}")
    async def raadplegen(bsn: str) -> Any:
        if bsn == "999990019":
            return JSONResponse({"fout": "niet gevonden"}, status_code=404)
        return {"bsn": bsn}

    @app.get("/personen")
    async def zoeken(naam: str = "") -> dict[str, Any]:
        return {"resultaten": [{"bsn": "999993653", "rol": "Kind"}, {"bsn": "999995017"}, {"bsn": "12345"}]}

    @app.post("/huwelijken")
    async def registreren(request: Request) -> dict[str, Any]:
        body = await request.json()  # the app still gets the whole body after the rule read it
        return {"partners": len(body["partners"])}

    @app.get("/export/{bsn}")
    async def export(bsn: str) -> StreamingResponse:
        async def chunks() -> Any:
            for i in range(3):
                yield f"{i}:{bsn}\n".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    instrument_app(app, rules=str(path), **options)
    return app


@pytest.mark.verwerkingen(strict=False)
def test_rules_from_path_query_body_and_response(verwerkingen: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with TestClient(make_app(tmp_path)) as client:
        assert client.get("/personen/999993653", headers={"OIN": OIN}).json() == {"bsn": "999993653"}
        assert client.get("/personen/999990019").status_code == 404
        assert client.get("/personen?naam=x&ouder=999990019").status_code == 200
        assert client.post("/huwelijken", json={"partners": [{"bsn": "999993653"}, {"bsn": "999995017"}]}).json() == {"partners": 2}
    raadplegen = verwerkingen.assert_one(actie_naam="Raadplegen")
    assert raadplegen["afnemerId"] == OIN
    assert raadplegen["verwerkteObjecten"] == [
        {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": "999993653",
         "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}]}]
    assert [(o["soortObjectId"], o["objectId"], o.get("betrokkenheid")) for o in verwerkingen.objecten(actie_naam="Zoeken")] == [
        ("BSN", "999993653", "Kind"), ("BSN", "999995017", "Getoond in zoekresultaat"),
        ("ongeldig", "ingehouden", "Getoond in zoekresultaat"),  # "12345": recorded as the placeholder, never dropped
        ("BSN", "999990019", "Ouder")]
    assert verwerkingen.pipeline.counters["invalid_objects"] == 1
    registreren = verwerkingen.assert_one(actie_naam="Registreren")
    assert registreren["vertrouwelijkheid"] == "vertrouwelijk"
    assert [o["objectId"] for o in registreren["verwerkteObjecten"]] == ["999993653", "999995017"]
    assert len(verwerkingen) == 3  # the 404 processed no one
    assert ("verwerkingsactie 'Zoeken': rule 'zoeken', objecten[0].objectId is not valid (must be a BSN of 9 digits); "
            "recorded with objectId withheld") in caplog.text
    assert "rule 'vergeten': key 'route': the app has no route /bestaat/niet/{bsn}" in caplog.text
    assert "12345" not in caplog.text


def test_rule_span_names_route_and_rule(verwerkingen: Any, tmp_path: Path) -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    verwerkingen.pipeline.provider.add_span_processor(SimpleSpanProcessor(spans))
    with TestClient(make_app(tmp_path)) as client:
        client.get("/personen/999993653")
    (span,) = spans.get_finished_spans()
    assert span.attributes["http.route"] == "/personen/{bsn}"
    assert span.attributes["verwerkingen.rule"] == "raadplegen"


def test_streaming_on_a_rule_route_is_recorded_before_it_is_sent(verwerkingen: Any, tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        assert client.get("/export/999993653").text == "0:999993653\n1:999993653\n2:999993653\n"
    assert verwerkingen.assert_one(actie_naam="Exporteren")["verwerkteObjecten"][0]["objectId"] == "999993653"


@pytest.mark.verwerkingen(strict=False)
def test_an_invalid_only_person_is_recorded_as_the_placeholder(verwerkingen: Any, tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        assert client.get("/personen/999990020x").json() == {"bsn": "999990020x"}
        assert client.get("/personen?naam=x&ouder=12").status_code == 200
    assert verwerkingen.assert_one(actie_naam="Raadplegen")["verwerkteObjecten"] == [
        {"objecttype": "persoon", "soortObjectId": "ongeldig", "objectId": "ingehouden",
         "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}]}]
    assert [(o["soortObjectId"], o["objectId"], o.get("betrokkenheid")) for o in verwerkingen.objecten(actie_naam="Zoeken")][-1] == (
        "ongeldig", "ingehouden", "Ouder")
    assert verwerkingen.pipeline.counters["invalid_objects"] == 3  # the path value, "12345" in the hits, the query value


def test_strict_an_invalid_person_fails_the_request(verwerkingen: Any, tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path), raise_server_exceptions=False) as client:
        response = client.get("/personen/999990020x")
        assert response.status_code == 500
        assert "999990020x" not in response.text  # the handler's answer was held back, never sent
        assert client.get("/personen/999993653").status_code == 200
    assert [a["verwerkteObjecten"][0]["objectId"] for a in verwerkingen] == ["999993653"]
    assert verwerkingen.pipeline.counters.get("invalid_objects", 0) == 0


@pytest.mark.verwerkingen(exporters=["memory", "console"], console_file="/dev/full", strict=False)
def test_rule_routes_fail_closed(verwerkingen: Any, tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        for response in (client.get("/personen?naam=x"), client.get("/export/999993653")):
            assert response.status_code == 503
            assert response.headers["content-type"] == "application/problem+json"
            assert "999993653" not in response.text
        assert client.get("/personen/999990019").status_code == 404  # nothing to record: served


def test_gebruiker_hook_sees_the_authenticated_user(verwerkingen: Any, tmp_path: Path) -> None:
    app = make_app(tmp_path, gebruiker=lambda request: request.user.display_name if request.user.is_authenticated else None)
    app.add_middleware(AuthenticationMiddleware, backend=HeaderAuth())  # added after us: still outside us
    with TestClient(app) as client:
        client.get("/personen/999993653", headers={"x-medewerker": "mdw-12"})
        client.get("/personen/999995017")
    assert verwerkingen.find(gebruiker="mdw-12")[0]["verwerkteObjecten"][0]["objectId"] == "999993653"
    assert len(verwerkingen.find(gebruiker="mdw-12")) == 1
