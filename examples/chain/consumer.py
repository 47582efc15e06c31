"""The consumer of the chain: a gemeente's zaak system (FastAPI, served by uvicorn).

    GET  /burgers?achternaam=...   search the BRP          -> "Zoeken burger", one object per hit
    GET  /burgers/{bsn}            look one person up       -> "Raadplegen burger"
    POST /zaken {zaaktype, bsn}    open a zaak: the zaak id is the verwerkingId; an
                                   `adresonderzoek` is confidential     -> "Aanmaken zaak"

Every handler asks the BRP provider (BRP_API_URL) over httpx. `verwerkingen_otel.httpx` puts
the current action's six VNG headers (OIN, VerwerkingsactiviteitId/-Url, VerwerkingId,
Vertrouwelijkheid, Bewaartermijn) and a W3C traceparent on those calls, so the provider's own
action names this gemeente as afnemer, carries the zaak id as verwerkingIdAfnemer, and is as
confidential as the zaak.

Configured only by VERWERKINGEN_* environment variables, plus BRP_API_URL for the provider;
VERWERKINGEN_REGISTER names the register in which the activities below are looked up:

    BRP_API_URL=http://127.0.0.1:8081 VERWERKINGEN_EXPORTERS=console VERWERKINGEN_DELIVERY=sync \\
        VERWERKINGEN_OIN=00000001999999999000 VERWERKINGEN_REGISTER=examples/chain/register.toml \\
        python -m uvicorn --app-dir examples/chain consumer:app --port 8080 --no-access-log

(`--no-access-log`: request lines such as `GET /burgers/<bsn>` carry BSNs, which do not belong
in ordinary logs.)
"""

from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

import verwerkingen_otel as vo
from verwerkingen_otel import httpx as vo_httpx
from verwerkingen_otel.fastapi import instrument_app

# The gemeente's processing activities, by their name in its register (VERWERKINGEN_REGISTER):
# configure() resolves each to its id and url, and fails naming the function if one is unknown.
BURGERZAKEN = "Burgerzaken: raadplegen basisregistratie"
ZAKEN = "Zaakgericht werken: behandelen van zaken"

# Zaaktypes: name, confidentiality and retention of the verwerking a zaak of that type is.
ZAAKTYPES: dict[str, tuple[str, str, str]] = {
    "verhuizing": ("Verhuizing binnen de gemeente", "normaal", "P10Y"),
    "adresonderzoek": ("Onderzoek adreskwaliteit", "vertrouwelijk", "P20Y"),
}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    vo.configure()            # from VERWERKINGEN_*: a mistake stops start-up, naming the variable
    vo_httpx.instrument()     # outbound: the six headers + traceparent on every httpx call
    async with httpx.AsyncClient(base_url=os.environ["BRP_API_URL"], timeout=10.0) as brp:
        app.state.brp = brp
        yield
    vo.shutdown(timeout=10.0)  # hand every recorded action to the log before the process exits


app = FastAPI(title="Zaaksysteem gemeente Voorbeeldstad", lifespan=lifespan)
instrument_app(app, exclude=["/health"])


class Zaak(BaseModel):
    zaaktype: str
    bsn: str


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _brp_get(request: Request, path: str, **params: str) -> Any:
    response = await request.app.state.brp.get(path, params=params)
    if response.status_code == 404:
        raise HTTPException(404, "not in the BRP")
    response.raise_for_status()
    return response.json()


@app.get("/burgers")
@vo.verwerkingsactie(
    actie_naam="Zoeken burger",
    handeling_naam="Zoeken in de BRP",
    activiteit=BURGERZAKEN,
    objecten=[vo.personen_uit_resultaat(lambda result: [p["bsn"] for p in result["personen"]],
                                        betrokkenheid="Getoond in zoekresultaat", soorten_gegevens=["Naam"])],
)
async def burgers_zoeken(request: Request, achternaam: str) -> dict[str, Any]:
    found = await _brp_get(request, "/personen", achternaam=achternaam)
    return {"personen": [{"bsn": p["bsn"], "naam": f"{p['voornamen']} {p['achternaam']}"} for p in found["personen"]]}


@app.get("/burgers/{bsn}")
@vo.verwerkingsactie(
    actie_naam="Raadplegen burger",
    handeling_naam="Inzien persoonsgegevens",
    activiteit=BURGERZAKEN,
    objecten=[vo.persoon("bsn", betrokkenheid="Betrokkene", soorten_gegevens=["Naam", "Woonplaats"])],
)
async def burger_raadplegen(request: Request, bsn: str) -> dict[str, Any]:
    return await _brp_get(request, f"/personen/{bsn}")


@app.post("/zaken", status_code=201)
async def zaak_aanmaken(request: Request, zaak: Zaak) -> dict[str, Any]:
    """One zaak is one verwerking: its id is the verwerkingId of every action for it."""
    if zaak.zaaktype not in ZAAKTYPES:
        raise HTTPException(422, "unknown zaaktype")
    naam, vertrouwelijkheid, bewaartermijn = ZAAKTYPES[zaak.zaaktype]
    zaak_id = str(uuid.uuid4())
    with vo.verwerking(verwerking_id=zaak_id, verwerking_naam=naam,
                       vertrouwelijkheid=vertrouwelijkheid, bewaartermijn=bewaartermijn):
        aanvrager = await aanvrager_vastleggen(request, zaak.bsn)
    return {"zaak": zaak_id, "zaaktype": zaak.zaaktype, "aanvrager": aanvrager["voornamen"]}


@vo.verwerkingsactie(
    actie_naam="Aanmaken zaak",
    handeling_naam="Registreren zaak",
    activiteit=ZAKEN,
    objecten=[vo.persoon("bsn", betrokkenheid="Aanvrager", soorten_gegevens=["Naam", "Adres"])],
)
async def aanvrager_vastleggen(request: Request, bsn: str) -> Any:
    return await _brp_get(request, f"/personen/{bsn}")
