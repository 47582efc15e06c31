"""A FastAPI service whose path operations record verwerkingsacties (see README.md beside it).

    VERWERKINGEN_DELIVERY=sync VERWERKINGEN_EXPORTERS=console \
    uvicorn --app-dir examples/fastapi app:app --port 8000

`@vo.verwerkingsactie(...)` sits *under* `@app.get(...)` and keeps the function's signature, so
FastAPI's dependency injection, validation and OpenAPI schema work exactly as without it. The
pipeline is configured from VERWERKINGEN_* in the lifespan: a configuration mistake stops the
start-up, naming the variable, and shutting down flushes what is still pending.

The persons are the official test BSNs; nothing here is real.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel

import verwerkingen_otel as vo
from verwerkingen_otel.fastapi import instrument_app

ACTIVITEIT_RAADPLEGEN = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
ACTIVITEIT_ZOEKEN = "0c4f0c3b-7f2e-4a55-9a41-6a3d3e2b8f01"
ACTIVITEIT_VERHUIZEN = "7d2c6a51-93b8-4f0e-a6c4-1e8b5d3f9a20"


class Register:
    """Stands in for a database: a dependency, so tests could swap it (app.dependency_overrides)."""

    def __init__(self) -> None:
        self.personen: dict[str, dict[str, str]] = {
            "999993653": {"bsn": "999993653", "naam": "Suzanne Moulin", "adres": "Stationsplein 1, Utrecht"},
            "999995017": {"bsn": "999995017", "naam": "Jan Jansen", "adres": "Markt 2, Zwolle"},
            "999990019": {"bsn": "999990019", "naam": "Petra Jansen", "adres": "Markt 2, Zwolle"},
        }


_register = Register()


def get_register() -> Register:
    return _register


async def medewerker(x_gebruiker: str | None = Header(default=None)) -> AsyncIterator[str | None]:
    """The user on whose behalf the request runs, recorded as `gebruiker` in every action.

    An *async* yield dependency: its context is the one the path operation runs in.
    """
    with vo.use_gebruiker(x_gebruiker):
        yield x_gebruiker


class Verhuizing(BaseModel):
    bsn: str
    nieuw_adres: str


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    log = vo.configure()  # every setting from VERWERKINGEN_*; a mistake stops start-up here
    yield
    log.shutdown(timeout=10.0)  # flush what is pending before the process exits


app = FastAPI(title="Personen (voorbeeld)", lifespan=lifespan)
instrument_app(app, exclude=["/health"])  # the caller's six VNG headers, 503 when not recordable


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/personen/{bsn}")
@vo.verwerkingsactie(
    actie_naam="Raadplegen persoon",
    verwerkingsactiviteit_id=ACTIVITEIT_RAADPLEGEN,
    objecten=[vo.persoon("bsn", betrokkenheid="Ingeschrevene", soorten_gegevens=["Naam", "Adres"])],
)
async def raadplegen(bsn: str, register: Register = Depends(get_register),
                     gebruiker: str | None = Depends(medewerker)) -> dict[str, str]:
    """One person by BSN (recorded even when the answer is 404: the register was searched)."""
    persoon = register.personen.get(bsn)
    if persoon is None:
        raise HTTPException(status_code=404)
    return persoon


@app.get("/personen")
@vo.verwerkingsactie(
    actie_naam="Zoeken personen",
    verwerkingsactiviteit_id=ACTIVITEIT_ZOEKEN,
    objecten=[vo.personen_uit_resultaat(lambda result: [p["bsn"] for p in result["resultaten"]],
                                        betrokkenheid="Getoond in zoekresultaat", soorten_gegevens=["Naam"])],
)
def zoeken(naam: str = "", register: Register = Depends(get_register)) -> dict[str, Any]:
    """A search: every hit is one object; a search without hits records nothing."""
    deel = naam.lower()
    hits = [{"bsn": p["bsn"], "naam": p["naam"]} for p in register.personen.values() if deel and deel in p["naam"].lower()]
    return {"resultaten": hits}


@app.post("/verhuizingen", status_code=201)
@vo.verwerkingsactie(
    actie_naam="Registreren verhuizing",
    verwerkingsactiviteit_id=ACTIVITEIT_VERHUIZEN,
    vertrouwelijkheid="vertrouwelijk",
    bewaartermijn="P20Y",
    objecten=[vo.persoon(from_args=lambda verhuizing, **_: verhuizing.bsn, betrokkenheid="Verhuizer",
                         soorten_gegevens=["Adres"])],
)
async def verhuizen(verhuizing: Verhuizing, register: Register = Depends(get_register),
                    gebruiker: str | None = Depends(medewerker)) -> dict[str, str]:
    """A body model: the BSN comes from it (persoon(from_args=...)); the action is confidential."""
    persoon = register.personen.get(verhuizing.bsn)
    if persoon is None:
        raise HTTPException(status_code=404)
    persoon["adres"] = verhuizing.nieuw_adres
    actie = vo.current_actie()
    assert actie is not None
    return {"verwerking_id": actie.verwerking_id}
