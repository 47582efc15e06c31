r"""A small FastAPI app without a line of verwerkingen code.

Captured only by a route rules file and the instrumentor (from the repository root; the same
command as README.md):

    VERWERKINGEN_RULES=examples/rules_fastapi/rules.toml \
    VERWERKINGEN_DELIVERY=sync VERWERKINGEN_EXPORTERS=console \
    OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none \
      opentelemetry-instrument python -m uvicorn --app-dir examples/rules_fastapi --port 8000 --log-level warning app:app

The persons are the official test BSNs; nothing here is real.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

app = FastAPI(title="Personen (voorbeeld)")

PERSONEN = {
    "999993653": {"bsn": "999993653", "naam": "Suzanne Moulin"},
    "999995017": {"bsn": "999995017", "naam": "Jan Jansen"},
    "999990019": {"bsn": "999990019", "naam": "Anne de Vries"},
}


class Huwelijk(BaseModel):
    partners: list[str]


@app.get("/personen/{bsn}")
async def persoon(bsn: str) -> dict[str, str]:
    if bsn not in PERSONEN:
        raise HTTPException(404)
    return PERSONEN[bsn]


@app.get("/personen")
async def zoeken(naam: str = "") -> dict[str, Any]:
    return {"resultaten": [p for p in PERSONEN.values() if naam.lower() in p["naam"].lower()]}


@app.post("/huwelijken", status_code=201)
async def huwelijk(body: Huwelijk) -> dict[str, Any]:
    return {"id": 1, "partners": body.partners}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
