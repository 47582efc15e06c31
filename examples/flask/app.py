"""A small Flask service whose endpoints record verwerkingsacties (see README.md beside it).

    VERWERKINGEN_DELIVERY=sync VERWERKINGEN_EXPORTERS=console \
    flask --app examples/flask/app.py run --port 5000

Each call prints the recorded action as one JSON line (the console exporter). There is no
verwerkingen configuration in this file: the pipeline is configured from VERWERKINGEN_* on the
first action. `Verwerkingen(app)` makes the caller (the six VNG headers) and the user known to
every action recorded while a request is handled.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, Request, abort, jsonify, request

import verwerkingen_otel as vo
from verwerkingen_otel.flask import Verwerkingen

ACTIVITEIT_RAADPLEGEN = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
ACTIVITEIT_ZOEKEN = "0c4f0c3b-7f2e-4a55-9a41-6a3d3e2b8f01"
ACTIVITEIT_HUWELIJK = "b3a1d9c2-51e4-4c8e-8f7a-2d9e6c1b0a77"

# A tiny register of made-up people, keyed by official test BSNs.
PERSONEN: dict[str, dict[str, str]] = {
    "999993653": {"naam": "Jan Jansen", "woonplaats": "Utrecht"},
    "999995017": {"naam": "Petra Jansen", "woonplaats": "Utrecht"},
    "999990019": {"naam": "Karel de Vries", "woonplaats": "Zwolle"},
}


def gebruiker(request: Request) -> str | None:
    """The user on whose behalf the request runs; a real app asks its login system."""
    return request.headers.get("X-Gebruiker")


def create_app() -> Flask:
    app = Flask(__name__)
    Verwerkingen(app, exclude=["/health"], gebruiker=gebruiker)

    @app.get("/health")
    def health() -> Any:
        return {"status": "ok"}

    @app.get("/personen/<bsn>")
    @vo.verwerkingsactie(
        actie_naam="Raadplegen persoon",
        handeling_naam="Opvragen persoonsgegevens",
        verwerking_naam="Behandelen aanvraag",
        verwerkingsactiviteit_id=ACTIVITEIT_RAADPLEGEN,
        bewaartermijn="P10Y",
        objecten=[vo.persoon("bsn", betrokkenheid="Aanvrager", soorten_gegevens=["Naam", "Woonplaats"])],
    )
    def raadplegen(bsn: str) -> Any:
        """Look one person up by BSN."""
        persoon = PERSONEN.get(bsn)
        if persoon is None:
            abort(404)
        return jsonify(persoon)

    @app.get("/personen")
    @vo.verwerkingsactie(
        actie_naam="Zoeken personen",
        verwerkingsactiviteit_id=ACTIVITEIT_ZOEKEN,
        objecten=[
            vo.personen_uit_resultaat(
                lambda response: response.get_json()["bsns"],
                betrokkenheid="Getoond in zoekresultaat",
                soorten_gegevens=["Naam"],
            )
        ],
    )
    def zoeken() -> Any:
        """Search by (part of) a name; every hit is a person whose data was shown."""
        deel = request.args.get("naam", "").lower()
        hits = [bsn for bsn, p in PERSONEN.items() if deel and deel in p["naam"].lower()]
        return jsonify({"bsns": hits, "namen": [PERSONEN[b]["naam"] for b in hits]})

    @app.post("/huwelijken")
    def huwelijk_aanvragen() -> Any:
        """One verwerking (the zaak) with two actions: registering the request, checking witnesses."""
        aanvraag = request.get_json()
        zaak = str(uuid.uuid4())
        with vo.verwerking(verwerking_id=zaak, verwerking_naam="Huwelijk", vertrouwelijkheid="vertrouwelijk"):
            registreren(aanvraag["partners"])
            getuigen_controleren(aanvraag["getuigen"])
        return jsonify({"zaak": zaak}), 201

    return app


@vo.verwerkingsactie(
    actie_naam="Registreren aanvraag huwelijk",
    verwerkingsactiviteit_id=ACTIVITEIT_HUWELIJK,
    objecten=[vo.persoon("partners", betrokkenheid="Partner", soorten_gegevens=["Naam", "Burgerlijke staat"])],
)
def registreren(partners: list[str]) -> None:
    """Both partners are objects of this one action."""


@vo.verwerkingsactie(actie_naam="Controleren getuigen", verwerkingsactiviteit_id=ACTIVITEIT_HUWELIJK)
def getuigen_controleren(getuigen: list[str]) -> None:
    """Witnesses become known at run time: added to the current action one by one."""
    actie = vo.current_actie()
    assert actie is not None
    for bsn in getuigen:
        actie.add_object(bsn, betrokkenheid="Getuige", soorten_gegevens=["Naam"])


app = create_app()
