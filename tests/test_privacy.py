"""A BSN, a secret or a token never reaches an ordinary log, an exception message, a warning or
a repr — tried with every logger at DEBUG through Flask and FastAPI, delivery failures and
server errors."""

from __future__ import annotations

import logging
import uuid
import warnings
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

import verwerkingen_otel as vo
from tests.delivery.faultproxy import FaultProxy
from tests.support.logserver import LogServer, auth_headers, free_port, mint_token

BSN = "999990019"  # an official test BSN, used by no other test module
SECRET = "privacy-secret-of-at-least-32-bytes!!"
ACTIVITEIT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"


pytestmark = pytest.mark.usefixtures("isolated_pipeline")  # tests/conftest.py


@pytest.fixture()
def everything(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG, warnings captured as log records too."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    logging.captureWarnings(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            yield caplog
    finally:
        logging.captureWarnings(False)


def assert_nowhere(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    assert caplog.records, "nothing was logged: the test did not exercise the paths it means to"
    for record in caplog.records:
        if record.name == "httpx" and "http://testserver/" in record.getMessage():
            continue  # the test's own client logging the app's own URL: not our library
        text = record.getMessage() + (record.exc_text or "")
        if record.exc_info and record.exc_info[1] is not None:
            text += repr(record.exc_info[1]) + str(record.exc_info[1])
        for secret in secrets:
            assert secret not in text, (record.name, record.levelname)


def handler() -> Any:
    @vo.verwerkingsactie(actie_naam="Raadplegen persoon", verwerkingsactiviteit_id=ACTIVITEIT,
                         objecten=[vo.persoon("bsn", soorten_gegevens=["Naam"])])
    def raadplegen(bsn: str) -> dict[str, str]:
        return {"bsn": bsn}

    return raadplegen


def test_reprs_hold_no_bsn_and_no_secret() -> None:
    pipeline = vo.configure(delivery="sync", exporters=["memory"], client_id="app", secret=SECRET,
                            api_url="http://127.0.0.1:9/api/v1")
    with vo.verwerkingsactie(actie_naam="Repr") as actie:
        actie.add_object(objecttype="persoon", soort_object_id="BSN", object_id=BSN)
        assert BSN not in repr(actie)
    [record] = pipeline.exporter("memory").records
    obj = vo.VerwerktObject(objecttype="persoon", soort_object_id="BSN", object_id=BSN)
    actie_model = vo.Verwerkingsactie(vertrouwelijkheid=vo.Vertrouwelijkheid.NORMAAL,
                                      tijdstip=__import__("datetime").datetime.now().astimezone(),
                                      verwerkte_objecten=(obj,), soort_afnemer_id="BSN",
                                      afnemer_id=BSN, gebruiker=BSN)
    for value in (record, obj, actie_model, pipeline.settings, pipeline):
        assert BSN not in repr(value), type(value).__name__
        assert SECRET not in repr(value), type(value).__name__


def test_flask_request_with_a_bsn_and_failing_delivery(everything: pytest.LogCaptureFixture) -> None:
    """Sync delivery to a log that is down: the call fails closed (503), and no record, warning or
    exception message names the BSN; an inbound header carrying a BSN is dropped silently too."""
    import flask

    from verwerkingen_otel.flask import Verwerkingen

    vo.configure(delivery="sync", exporters=["api"], api_url=f"http://127.0.0.1:{free_port()}/api/v1",
                 client_id="app", secret=SECRET)
    app = flask.Flask("privacy")
    Verwerkingen(app)
    raadplegen = handler()
    app.add_url_rule("/personen/<bsn>", "persoon", lambda bsn: raadplegen(bsn))
    with app.test_client() as client:
        r = client.get(f"/personen/{BSN}", headers={"OIN": BSN, "VerwerkingId": BSN})
    assert r.status_code == 503
    assert BSN not in r.get_data(as_text=True)
    with pytest.raises(vo.RecordingError) as err:
        raadplegen(BSN)
    assert BSN not in str(err.value) and BSN not in repr(err.value)
    cause = err.value.__cause__
    assert cause is None or (BSN not in str(cause) and SECRET not in str(cause))
    assert_nowhere(everything, BSN, SECRET)


def test_fastapi_request_with_a_bsn_and_bad_values(everything: pytest.LogCaptureFixture) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from verwerkingen_otel.fastapi import instrument_app

    vo.configure(delivery="sync", exporters=["memory"])
    app = FastAPI()
    instrument_app(app)

    @app.get("/personen/{bsn}")
    @vo.verwerkingsactie(actie_naam="Raadplegen", verwerkingsactiviteit_id=ACTIVITEIT,
                         objecten=[vo.persoon("bsn")])
    async def persoon(bsn: str) -> dict[str, str]:
        return {"ok": "ja"}

    with TestClient(app) as client:
        assert client.get(f"/personen/{BSN}", headers={"OIN": BSN, "Bewaartermijn": BSN}).status_code == 200
        # a value that breaks the elfproef is refused leniently (logged by rule, never by value)
        wrong = BSN[:-1] + str((int(BSN[-1]) + 1) % 10)
        assert client.get(f"/personen/{wrong}").status_code == 200
    assert_nowhere(everything, BSN, wrong)


@pytest.fixture(scope="module")
def server() -> Iterator[LogServer]:
    with LogServer(clients={"app": (SECRET, ["create:normal", "read:normal"])}) as s:
        yield s


def test_outbox_delivery_failures_log_no_bsn_no_secret(everything: pytest.LogCaptureFixture, server: LogServer,
                                                       tmp_path: Path) -> None:
    """Retries (503), credentials refused (401) and a dead letter (422 with the BSN echoed in the
    problem's title and detail, as a careless log might) are all logged without the BSN or secret."""
    proxy = FaultProxy(server.base_url)
    try:
        proxy.fail_next(1, 503)
        proxy.fail_next(1, 401)
        vo.configure(api_url=proxy.api_url, client_id="app", secret=SECRET, outbox=str(tmp_path / "o.db"))
        handler()(BSN)
        assert vo.force_flush(10.0) is True
        with proxy.lock:
            proxy.faults.append((422, {}, {"status": 422, "code": "invalid", "title": f"Ongeldig: {BSN}",
                                           "detail": f"objectId {BSN} weigeren wij"}))
        handler()(BSN)
        assert vo.force_flush(10.0) is True
    finally:
        proxy.close()
    assert [p.status for p in proxy.posts()] == [503, 401, 201, 422]
    assert_nowhere(everything, BSN, SECRET)


def test_server_errors_never_log_the_bsn_or_token(server: LogServer) -> None:
    token = mint_token("app", SECRET)
    url = f"{server.api_url}/verwerkingsacties"
    bad = {"actieNaam": "x", "vertrouwelijkheid": "geheim", "tijdstip": "gisteren",
           "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": BSN + "0"}]}
    r = httpx.post(url, json=bad, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400 and BSN not in r.text
    r = httpx.post(url, json=bad, headers={"Authorization": f"Bearer {token}x"})
    assert r.status_code == 401
    r = httpx.get(url, params={"objecttype": "persoon", "soortObjectId": "BSN", "objectId": BSN},
                  headers={**auth_headers("app", SECRET), "OIN": BSN})
    assert r.status_code == 403  # read:normal must ask vertrouwelijkheid=normaal
    key = str(uuid.uuid4())
    ok = {**bad, "vertrouwelijkheid": "normaal", "tijdstip": "2024-05-01T10:00:00+02:00",
          "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": BSN}]}
    for body in (ok, {**ok, "actieNaam": "y"}):  # same key, other body: 422
        httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})
    log = server.wait_for_log("POST /api/v1/verwerkingsacties 422")
    assert "POST /api/v1/verwerkingsacties 422" in log  # the requests above did reach the log's output
    assert BSN not in log and token not in log and SECRET not in log
