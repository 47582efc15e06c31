"""examples/flask: the documented command, a real Flask server, the exact actions it prints."""

from __future__ import annotations

import httpx

from .conftest import example_env, free_port, json_lines, readme_command

OIN = "00000001234567890000"


def test_flask_example_as_documented(service) -> None:
    port = free_port()
    app = service(readme_command("flask", replace={"5000": str(port)}), example_env(), port, shell=True)
    headers = {"OIN": OIN, "X-Gebruiker": "medewerker-42"}
    assert httpx.get(f"{app.base}/personen/999993653", headers=headers).json() == {
        "naam": "Jan Jansen", "woonplaats": "Utrecht"}
    assert httpx.get(f"{app.base}/personen", params={"naam": "jansen"}).json()["bsns"] == ["999993653", "999995017"]
    assert httpx.get(f"{app.base}/personen", params={"naam": "niemand"}).json()["bsns"] == []
    response = httpx.post(f"{app.base}/huwelijken",
                          json={"partners": ["999993653", "999995017"], "getuigen": ["999990019"]})
    assert response.status_code == 201
    zaak = response.json()["zaak"]
    out, err = app.stop()

    acties = json_lines(out)
    assert [a["actieNaam"] for a in acties] == [
        "Raadplegen persoon", "Zoeken personen", "Registreren aanvraag huwelijk", "Controleren getuigen"], err
    raadplegen, zoeken, registreren, getuigen = acties
    assert {k: v for k, v in raadplegen.items() if k not in ("verwerkingId", "tijdstip")} == {
        "actieNaam": "Raadplegen persoon",
        "handelingNaam": "Opvragen persoonsgegevens",
        "verwerkingNaam": "Behandelen aanvraag",
        "verwerkingsactiviteitId": "5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
        "vertrouwelijkheid": "normaal",
        "bewaartermijn": "P10Y",
        "gebruiker": "medewerker-42",
        "soortAfnemerId": "OIN",
        "afnemerId": OIN,
        "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": "999993653",
                               "betrokkenheid": "Aanvrager",
                               "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}, {"soortGegeven": "Woonplaats"}]}],
    }
    assert [(o["objectId"], o["betrokkenheid"]) for o in zoeken["verwerkteObjecten"]] == [
        ("999993653", "Getoond in zoekresultaat"), ("999995017", "Getoond in zoekresultaat")]
    assert "afnemerId" not in zoeken and "gebruiker" not in zoeken
    assert registreren["verwerkingId"] == getuigen["verwerkingId"] == zaak
    assert registreren["verwerkingNaam"] == getuigen["verwerkingNaam"] == "Huwelijk"
    assert registreren["vertrouwelijkheid"] == getuigen["vertrouwelijkheid"] == "vertrouwelijk"
    assert [(o["objectId"], o["betrokkenheid"]) for o in registreren["verwerkteObjecten"]] == [
        ("999993653", "Partner"), ("999995017", "Partner")]
    assert [(o["objectId"], o["betrokkenheid"]) for o in getuigen["verwerkteObjecten"]] == [("999990019", "Getuige")]
