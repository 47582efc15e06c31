"""Flask extension and WSGI middleware, against real Flask apps (test client and werkzeug server)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask, Response, stream_with_context

from verwerkingen_otel.capture import current_actie, verwerkingsactie
from verwerkingen_otel.flask import Verwerkingen
from verwerkingen_otel.model import ValidationError
from verwerkingen_otel.capture import persoon
from verwerkingen_otel.web import VerwerkingenWSGIMiddleware

from .conftest import werkzeug_server

ACT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
OIN = "00000001234567890000"
OIN2 = "00000009876543210000"


def make_app(**options: Any) -> Flask:
    app = Flask(__name__)
    Verwerkingen(app, **options)

    @app.get("/personen/<bsn>")
    @verwerkingsactie(actie_naam="Raadplegen persoon", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    def raadplegen(bsn: str) -> dict[str, str]:
        return {"bsn": bsn}

    @app.get("/stream/<bsn>")
    def stream(bsn: str) -> Response:
        @stream_with_context
        def body() -> Any:
            yield b"begin\n"
            with verwerkingsactie(actie_naam="Stream", verwerkingsactiviteit_id=ACT) as actie:
                actie.add_object(bsn)
                line = f"{bsn}\n".encode()
            yield line  # only once the action is recorded

        return Response(body(), mimetype="text/plain")

    @app.get("/stream-first/<bsn>")
    def stream_first(bsn: str) -> Response:
        @stream_with_context
        def body() -> Any:
            with verwerkingsactie(actie_naam="Stream eerst", verwerkingsactiviteit_id=ACT) as actie:
                actie.add_object(bsn)
                line = f"{bsn}\n".encode()
            yield line

        return Response(body(), mimetype="text/plain")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def test_endpoint_names_kept() -> None:
    app = make_app()
    assert app.url_map.bind("x").match("/personen/1") == ("raadplegen", {"bsn": "1"})
    assert "raadplegen" in app.view_functions
    assert app.view_functions["raadplegen"].__name__ == "raadplegen"
    with app.test_request_context():
        from flask import url_for

        assert url_for("raadplegen", bsn="999993653") == "/personen/999993653"


def test_headers_become_afnemer_fields(verwerkingen: Any) -> None:
    client = make_app().test_client()
    response = client.get("/personen/999993653", headers={"oin": OIN, "VERWERKINGID": "0b1c6a2e-3b55-4c85-a1b8-5c1f4e0ad001", "Bewaartermijn": "7"})
    assert response.status_code == 200
    actie = verwerkingen.assert_one(actie_naam="Raadplegen persoon")
    assert (actie["afnemerId"], actie["verwerkingIdAfnemer"], actie["bewaartermijn"]) == (
        OIN, "0b1c6a2e-3b55-4c85-a1b8-5c1f4e0ad001", "P7Y")


def test_gebruiker_hook_gets_flask_request(verwerkingen: Any) -> None:
    client = make_app(gebruiker=lambda request: request.authorization.username if request.authorization else None).test_client()
    client.get("/personen/999993653", auth=("ambtenaar-7", "geheim"))
    assert verwerkingen.assert_one(actie_naam="Raadplegen persoon")["gebruiker"] == "ambtenaar-7"


def test_gebruiker_hook_failure_never_raised(verwerkingen: Any, caplog: pytest.LogCaptureFixture) -> None:
    client = make_app(gebruiker=lambda request: 1 / 0).test_client()
    assert client.get("/personen/999993653").status_code == 200
    assert "gebruiker" not in verwerkingen.assert_one(actie_naam="Raadplegen persoon")
    assert "gebruiker hook failed with ZeroDivisionError" in caplog.text


@pytest.mark.verwerkingen(exporters=["memory", "console"], console_file="/dev/full")
def test_fail_closed_503(verwerkingen: Any) -> None:
    client = make_app().test_client()
    response = client.get("/personen/999993653")
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["code"] == "recording_unavailable"
    assert b"999993653" not in response.data
    assert client.get("/health").status_code == 200


@pytest.mark.verwerkingen(exporters=["memory", "console"], console_file="/dev/full")
def test_fail_closed_after_streaming_started_aborts(verwerkingen: Any) -> None:
    # The action in this generator ends after "begin" went out: the status cannot change any
    # more, so the response is cut off and the BSN line never leaves.
    with werkzeug_server(make_app()) as base:
        with pytest.raises(httpx.RemoteProtocolError):
            with httpx.stream("GET", base + "/stream/999993653") as response:
                assert response.status_code == 200
                b"".join(response.iter_bytes())


@pytest.mark.verwerkingen(exporters=["memory", "console"], console_file="/dev/full")
def test_fail_closed_streaming_before_the_first_chunk_is_503(verwerkingen: Any) -> None:
    with werkzeug_server(make_app()) as base:
        response = httpx.get(base + "/stream-first/999993653")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "999993653" not in response.text


def test_plain_wsgi_fail_closed_before_start(verwerkingen: Any) -> None:
    from verwerkingen_otel.delivery import RecordingError

    def app(environ: dict, start_response: Any) -> list[bytes]:
        raise RecordingError("outbox unavailable")

    statuses: list[str] = []
    body = b"".join(VerwerkingenWSGIMiddleware(app)({"PATH_INFO": "/", "REQUEST_METHOD": "GET"}, lambda s, h, e=None: statuses.append(s)))
    assert statuses == ["503 Service Unavailable"]
    assert b"recording_unavailable" in body


def test_streaming_keeps_context_while_iterating(verwerkingen: Any) -> None:
    with werkzeug_server(make_app()) as base:
        response = httpx.get(base + "/stream/999993653", headers={"OIN": OIN})
    assert response.text == "begin\n999993653\n"
    assert verwerkingen.assert_one(actie_naam="Stream")["afnemerId"] == OIN


def test_excluded(verwerkingen: Any) -> None:
    client = make_app(exclude=["/personen/*"]).test_client()
    client.get("/personen/999993653", headers={"OIN": OIN})
    assert "afnemerId" not in verwerkingen.assert_one(actie_naam="Raadplegen persoon")


def test_init_app_twice_records_once(verwerkingen: Any) -> None:
    app = make_app()
    Verwerkingen().init_app(app)
    app.test_client().get("/personen/999993653", headers={"OIN": OIN})
    assert len(verwerkingen) == 1


def test_concurrent_threads_never_mix_afnemers(verwerkingen: Any) -> None:
    app = Flask(__name__)
    Verwerkingen(app)
    barrier = threading.Barrier(2, timeout=5)

    @app.get("/p/<bsn>")
    @verwerkingsactie(actie_naam="Gelijktijdig", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    def handler(bsn: str) -> dict[str, str]:
        assert current_actie() is not None
        barrier.wait()  # both requests are inside their action at once
        return {"bsn": bsn}

    with werkzeug_server(app) as base, ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(httpx.get, f"{base}/p/999993653", headers={"OIN": OIN}),
            pool.submit(httpx.get, f"{base}/p/999995017", headers={"OIN": OIN2}),
        ]
        assert [f.result().status_code for f in futures] == [200, 200]
    by_bsn = {a["verwerkteObjecten"][0]["objectId"]: a["afnemerId"] for a in verwerkingen.acties}
    assert by_bsn == {"999993653": OIN, "999995017": OIN2}


RULES = f"""
[[rules]]
name = "raadplegen"
method = "GET"
route = "/r/<bsn>"
actie_naam = "Raadplegen via regel"
verwerkingsactiviteit_id = "{ACT}"
[[rules.objecten]]
from = "path"
name = "bsn"

[[rules]]
name = "zoeken"
method = "GET"
route = "/zoek"
actie_naam = "Zoeken via regel"
verwerkingsactiviteit_id = "{ACT}"
[[rules.objecten]]
from = "response"
pointer = "/resultaten/*/bsn"
betrokkenheid = "Getoond in zoekresultaat"
"""


def test_rules_in_flask(verwerkingen: Any, tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    app = Flask(__name__)
    Verwerkingen(app, rules=str(path))

    @app.get("/r/<bsn>")
    def r(bsn: str) -> Any:
        if bsn == "999990019":
            return {"fout": "niet gevonden"}, 404
        return {"bsn": bsn}

    @app.get("/zoek")
    def zoek() -> Any:
        return {"resultaten": [{"bsn": "999993653"}, {"bsn": "999995017"}]}

    client = app.test_client()
    assert client.get("/r/999993653", headers={"OIN": OIN}).get_json() == {"bsn": "999993653"}
    assert client.get("/r/999990019").status_code == 404
    assert client.get("/zoek").status_code == 200
    actie = verwerkingen.assert_one(actie_naam="Raadplegen via regel")
    assert actie["afnemerId"] == OIN and actie["verwerkingsactiviteitId"] == ACT
    assert [o["objectId"] for o in actie["verwerkteObjecten"]] == ["999993653"]
    assert [(o["objectId"], o["betrokkenheid"]) for o in verwerkingen.objecten(actie_naam="Zoeken via regel")] == [
        ("999993653", "Getoond in zoekresultaat"),
        ("999995017", "Getoond in zoekresultaat"),
    ]
    assert len(verwerkingen) == 2  # the 404 processed no one's data


PLAIN_RULES = f"""
[[rules]]
name = "opslaan"
method = "POST"
route = "/dossiers/<int:nummer>"
actie_naam = "Opslaan dossier"
verwerkingsactiviteit_id = "{ACT}"
[[rules.objecten]]
from = "body"
pointer = "/aanvrager/bsn"
betrokkenheid = "Aanvrager"
[[rules.objecten]]
from = "response"
pointer = "/betrokkenen/*/bsn"
betrokkenheid_pointer = "/rol"
"""


def test_plain_wsgi_app_with_rules(verwerkingen: Any, tmp_path: Path) -> None:
    import json

    from werkzeug.test import Client

    path = tmp_path / "rules.toml"
    path.write_text(PLAIN_RULES)
    seen_bodies: list[bytes] = []

    def app(environ: dict, start_response: Any) -> Any:
        seen_bodies.append(environ["wsgi.input"].read())  # the app still reads the whole body

        def body() -> Any:
            yield b'{"betrokkenen": ['
            yield b'{"bsn": "999995017", "rol": "Partner"}, {"bsn": "999990019", "rol": "Kind"}]}'

        start_response("200 OK", [("Content-Type", "application/json")])
        return body()

    client = Client(VerwerkingenWSGIMiddleware(app, rules=str(path)))
    payload = json.dumps({"aanvrager": {"bsn": "999993653"}}).encode()
    response = client.post("/dossiers/12", data=payload, headers={"OIN": OIN, "Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.get_json()["betrokkenen"][0]["rol"] == "Partner"
    assert seen_bodies == [payload]
    actie = verwerkingen.assert_one(actie_naam="Opslaan dossier")
    assert actie["afnemerId"] == OIN
    assert [(o["objectId"], o["betrokkenheid"]) for o in actie["verwerkteObjecten"]] == [
        ("999993653", "Aanvrager"), ("999995017", "Partner"), ("999990019", "Kind")]
    assert client.post("/anders", data=payload).status_code == 200
    assert len(verwerkingen) == 1


def echo_app_with_rules(tmp_path: Path) -> Flask:
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    app = Flask(__name__)
    Verwerkingen(app, rules=str(path))
    app.get("/r/<bsn>")(lambda bsn: {"bsn": bsn})
    return app


@pytest.mark.verwerkingen(strict=False)
def test_rules_in_flask_record_an_invalid_person_as_the_placeholder(verwerkingen: Any, tmp_path: Path) -> None:
    app = echo_app_with_rules(tmp_path)
    assert app.test_client().get("/r/999990020x").status_code == 200
    assert verwerkingen.assert_one(actie_naam="Raadplegen via regel")["verwerkteObjecten"] == [
        {"objecttype": "persoon", "soortObjectId": "ongeldig", "objectId": "ingehouden"}]
    assert verwerkingen.pipeline.counters["invalid_objects"] == 1


def test_rules_in_flask_strict_an_invalid_person_fails_the_request(verwerkingen: Any, tmp_path: Path) -> None:
    app = echo_app_with_rules(tmp_path)
    with pytest.raises(ValidationError) as info:  # the test client re-raises what a server answers with 500
        app.test_client().get("/r/999990020x")
    assert str(info.value) == "rule 'raadplegen', objecten[0].objectId: must be a BSN of 9 digits"
    assert len(verwerkingen) == 0
