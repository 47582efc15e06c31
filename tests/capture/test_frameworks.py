"""Decorated endpoints inside Flask and FastAPI, which introspect the functions they are given."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

import verwerkingen_otel as vo
from verwerkingen_otel.testing import RecordedVerwerkingen

from tests.support.values import BSN_A, BSN_B, BSN_C

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def flask_client() -> Any:
    """The example app (examples/flask/app.py), loaded by its path: it is not a package."""
    spec = importlib.util.spec_from_file_location("example_flask_app", ROOT / "examples" / "flask" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.create_app().test_client()


def test_example_flask_app(verwerkingen: RecordedVerwerkingen, flask_client: Any) -> None:
    assert flask_client.get(f"/personen/{BSN_A}").get_json() == {"naam": "Jan Jansen", "woonplaats": "Utrecht"}
    assert flask_client.get("/personen?naam=jansen").status_code == 200
    assert flask_client.get("/personen?naam=niemand").status_code == 200
    response = flask_client.post("/huwelijken", json={"partners": [BSN_A, BSN_B], "getuigen": [BSN_C]})
    assert response.status_code == 201
    zaak = response.get_json()["zaak"]

    raadplegen = verwerkingen.assert_one(actie_naam="Raadplegen persoon")
    assert (raadplegen["bewaartermijn"], raadplegen["verwerkingNaam"]) == ("P10Y", "Behandelen aanvraag")
    assert [o["objectId"] for o in verwerkingen.objecten(actie_naam="Zoeken personen")] == [BSN_A, BSN_B]
    registreren = verwerkingen.assert_one(actie_naam="Registreren aanvraag huwelijk")
    getuigen = verwerkingen.assert_one(actie_naam="Controleren getuigen")
    assert registreren["verwerkingId"] == getuigen["verwerkingId"] == zaak
    assert registreren["vertrouwelijkheid"] == getuigen["vertrouwelijkheid"] == "vertrouwelijk"
    assert [o["betrokkenheid"] for o in registreren["verwerkteObjecten"]] == ["Partner", "Partner"]
    assert getuigen["verwerkteObjecten"] == [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": BSN_C,
                                              "betrokkenheid": "Getuige",
                                              "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}]}]
    assert len(verwerkingen.acties) == 4  # the empty search recorded nothing


def test_flask_404_is_still_recorded(verwerkingen: RecordedVerwerkingen, flask_client: Any) -> None:
    assert flask_client.get("/personen/012345611").status_code == 404  # abort(404) raised inside the action
    assert [b["actieNaam"] for b in verwerkingen.for_bsn("012345611")] == ["Raadplegen persoon"]


def test_flask_invalid_bsn_under_strict_is_a_server_error(verwerkingen: RecordedVerwerkingen,
                                                         flask_client: Any) -> None:
    assert flask_client.get(f"/personen/{BSN_B[:-1]}0").status_code == 500
    verwerkingen.assert_none()


def test_fastapi_sees_the_original_signature(verwerkingen: RecordedVerwerkingen) -> None:
    from fastapi import FastAPI, Query
    from fastapi.testclient import TestClient

    api = FastAPI()

    @api.get("/personen/{bsn}")
    @vo.verwerkingsactie(actie_naam="Raadplegen", objecten=[vo.persoon("bsn", betrokkenheid="Aanvrager")])
    async def raadplegen(bsn: str, velden: str = Query("naam")) -> dict[str, str]:
        """FastAPI builds its parameters and docs from this signature."""
        return {"bsn": bsn, "velden": velden}

    @api.get("/sync/{bsn}")
    @vo.verwerkingsactie(actie_naam="Sync", objecten=[vo.persoon("bsn")])
    def sync(bsn: int) -> dict[str, int]:
        return {"bsn": bsn}

    client = TestClient(api)
    assert client.get(f"/personen/{BSN_A}?velden=adres").json() == {"bsn": BSN_A, "velden": "adres"}
    assert client.get(f"/sync/{BSN_B}").json() == {"bsn": int(BSN_B)}
    assert client.get("/sync/geen-getal").status_code == 422  # validation from the annotations
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/personen/{bsn}"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["bsn", "velden"]
    assert operation["description"] == "FastAPI builds its parameters and docs from this signature."
    assert [b["actieNaam"] for b in verwerkingen.acties] == ["Raadplegen", "Sync"]
    assert verwerkingen.acties[1]["verwerkteObjecten"][0]["objectId"] == BSN_B
