"""The WSGI app served by gunicorn.conf.py beside it (see README.md).

`vo.configure()` runs at import: with `preload_app = True` that is once, in the gunicorn master,
before the workers are forked. The delivery is fork-safe by itself (no SQLite or HTTP
connection crosses a fork; each worker starts its own delivery threads on first use), so
no post_fork hook is needed. All settings come from VERWERKINGEN_*.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, abort, jsonify

import verwerkingen_otel as vo
from verwerkingen_otel.flask import Verwerkingen

vo.configure()  # a configuration mistake stops gunicorn before any worker starts

PERSONEN = {
    "999993653": {"naam": "Suzanne Moulin"},
    "999995017": {"naam": "Jan Jansen"},
    "999990019": {"naam": "Petra Jansen"},
}

app = Flask(__name__)
Verwerkingen(app, exclude=["/health"])


@app.get("/health")
def health() -> Any:
    return {"status": "ok"}


@app.get("/personen/<bsn>")
@vo.verwerkingsactie(
    actie_naam="Raadplegen persoon",
    verwerkingsactiviteit_id="5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
    objecten=[vo.persoon("bsn", soorten_gegevens=["Naam"])],
)
def raadplegen(bsn: str) -> Any:
    persoon = PERSONEN.get(bsn)
    if persoon is None:
        abort(404)
    return jsonify({**persoon, "worker": os.getpid()})
