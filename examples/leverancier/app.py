"""One zaaksysteem, hosted once by a supplier, acting for two gemeenten (see README.md beside it).

    set -a; . examples/leverancier/leverancier.env; set +a
    uvicorn --app-dir examples/leverancier app:app --port 8080 --no-access-log

The code names each activity once, by name (`activiteit="…"`); which gemeente a request is for
comes from its host or the `X-Gemeente` header (tenants.toml), and that gemeente's OIN, its own
activity ids (from its own register), its defaults and its own log (destinations.toml) go with
every action recorded in the request. Nothing about the gemeenten is in this file.

The persons are the official test BSNs; nothing here is real.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

import verwerkingen_otel as vo
from verwerkingen_otel.fastapi import instrument_app

PERSONEN = {
    "999993653": "Suzanne Moulin",
    "999995017": "Jan Jansen",
    "999990019": "Petra Jansen",
}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    vo.configure()  # VERWERKINGEN_DESTINATIONS, VERWERKINGEN_TENANTS, ...: a mistake stops the start
    yield
    vo.shutdown(10.0)  # flush the outbox to every gemeente's log


app = FastAPI(title="Zaaksysteem (leverancier)", lifespan=lifespan)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/personen/{bsn}")
@vo.verwerkingsactie("Raadplegen persoon", activiteit="Raadplegen persoonsgegevens", objecten=[vo.persoon("bsn")])
async def raadplegen(bsn: str) -> dict[str, Any]:
    if bsn not in PERSONEN:
        raise HTTPException(404, "onbekend")  # still recorded: the gemeente's data was consulted
    return {"bsn": bsn, "naam": PERSONEN[bsn], "gemeente": vo.current_tenant()}


class Aanvraag(BaseModel):
    bsn: str
    toelichting: str = ""


@app.post("/bijstandsaanvragen", status_code=201)
@vo.verwerkingsactie("Registreren aanvraag", activiteit="Beoordelen bijstandsaanvraag",
                     objecten=[vo.persoon(from_args=lambda aanvraag: aanvraag.bsn, betrokkenheid="Aanvrager")])
def registreren(aanvraag: Aanvraag) -> dict[str, Any]:
    return {"zaak": vo.current_actie().verwerking_id, "gemeente": vo.current_tenant()}


instrument_app(app)
