"""examples/fastapi: the documented command, a real uvicorn, the exact actions it prints."""

from __future__ import annotations

import httpx

from .conftest import example_env, free_port, json_lines, readme_command, run_documented

OIN = "00000001234567890000"
SOORT = "verwerkteSoortenGegevens"


def test_fastapi_example_as_documented(service) -> None:
    port = free_port()
    app = service(readme_command("fastapi", replace={"8000": str(port)}), example_env(), port, shell=True)
    headers = {"OIN": OIN, "X-Gebruiker": "medewerker-7", "Vertrouwelijkheid": "vertrouwelijk"}
    assert httpx.get(f"{app.base}/personen/999993653", headers=headers).json()["naam"] == "Suzanne Moulin"
    assert httpx.get(f"{app.base}/personen/999990020").status_code == 404  # nobody by that BSN: still recorded
    assert httpx.get(f"{app.base}/personen/999999999").status_code == 404  # fails the 11-test: a placeholder
    assert [p["bsn"] for p in httpx.get(f"{app.base}/personen", params={"naam": "jansen"}).json()["resultaten"]] == [
        "999995017", "999990019"]
    response = httpx.post(f"{app.base}/verhuizingen", json={"bsn": "999995017", "nieuw_adres": "Dorpsstraat 3, Urk"},
                          headers={"X-Gebruiker": "medewerker-7"})
    assert response.status_code == 201
    verwerking_id = response.json()["verwerking_id"]
    assert httpx.post(f"{app.base}/verhuizingen", json={"nieuw_adres": "x"}).status_code == 422  # validation as ever
    openapi = httpx.get(f"{app.base}/openapi.json").json()
    assert [p["name"] for p in openapi["paths"]["/personen/{bsn}"]["get"]["parameters"]] == ["bsn", "x-gebruiker"]
    out, err = app.stop()

    acties = json_lines(out)
    assert [a["actieNaam"] for a in acties] == [
        "Raadplegen persoon", "Raadplegen persoon", "Raadplegen persoon", "Zoeken personen",
        "Registreren verhuizing"], err
    raadplegen, niet_gevonden, ongeldig, zoeken, verhuizen = acties
    assert {k: v for k, v in raadplegen.items() if k not in ("verwerkingId", "tijdstip")} == {
        "actieNaam": "Raadplegen persoon",
        "verwerkingsactiviteitId": "5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
        "vertrouwelijkheid": "vertrouwelijk",  # the caller's header: the most confidential wins
        "gebruiker": "medewerker-7",
        "soortAfnemerId": "OIN",
        "afnemerId": OIN,
        "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": "999993653",
                               "betrokkenheid": "Ingeschrevene",
                               SOORT: [{"soortGegeven": "Naam"}, {"soortGegeven": "Adres"}]}],
    }
    assert niet_gevonden["verwerkteObjecten"][0]["objectId"] == "999990020"
    assert ongeldig["verwerkteObjecten"] == [{"objecttype": "persoon", "soortObjectId": "ongeldig",
                                              "objectId": "ingehouden", "betrokkenheid": "Ingeschrevene",
                                              SOORT: [{"soortGegeven": "Naam"}, {"soortGegeven": "Adres"}]}]
    assert "persoon('bsn') is not valid (must pass the BSN 11-test); recorded with objectId withheld" in err
    assert "999999999" not in err.replace("/personen/999999999", "")  # only uvicorn's access log has the path
    assert niet_gevonden["vertrouwelijkheid"] == "normaal" and "afnemerId" not in niet_gevonden
    assert [o["objectId"] for o in zoeken["verwerkteObjecten"]] == ["999995017", "999990019"]
    assert {k: v for k, v in verhuizen.items() if k != "tijdstip"} == {
        "actieNaam": "Registreren verhuizing",
        "verwerkingId": verwerking_id,
        "verwerkingsactiviteitId": "7d2c6a51-93b8-4f0e-a6c4-1e8b5d3f9a20",
        "vertrouwelijkheid": "vertrouwelijk",
        "bewaartermijn": "P20Y",
        "gebruiker": "medewerker-7",
        "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": "999995017",
                               "betrokkenheid": "Verhuizer", SOORT: [{"soortGegeven": "Adres"}]}],
    }


def test_fastapi_example_refuses_to_start_on_a_bad_setting() -> None:
    port = free_port()
    command = readme_command("fastapi", replace={"8000": str(port)})
    done = run_documented(command, example_env(VERWERKINGEN_BEWAARTERMIJN="tien jaar"))
    assert done.returncode != 0
    assert "VERWERKINGEN_BEWAARTERMIJN: must be an ISO 8601 duration" in done.stderr
    assert "Application startup failed" in done.stderr
