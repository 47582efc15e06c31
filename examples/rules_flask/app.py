r"""A small Flask API without a line of verwerkingen code.

Captured only by a route rules file and the instrumentor (from the repository root; the same
command as README.md):

    VERWERKINGEN_RULES=examples/rules_flask/rules.toml \
    VERWERKINGEN_DELIVERY=sync VERWERKINGEN_EXPORTERS=console \
    OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none \
      PORT=5000 opentelemetry-instrument python examples/rules_flask/app.py

The persons are the official test BSNs; nothing here is real.
"""

from __future__ import annotations

import os

from flask import Flask, abort, jsonify, request

app = Flask(__name__)

PERSONEN = {
    "999993653": {"bsn": "999993653", "naam": "Suzanne Moulin", "rol": "Ingeschrevene"},
    "999995017": {"bsn": "999995017", "naam": "Jan Jansen", "rol": "Ingeschrevene"},
    "999990019": {"bsn": "999990019", "naam": "Anne de Vries", "rol": "Ingeschrevene"},
}


@app.get("/personen/<bsn>")
def persoon(bsn: str):
    if bsn not in PERSONEN:
        abort(404)
    return jsonify(PERSONEN[bsn])


@app.get("/personen")
def zoeken():
    naam = request.args.get("naam", "").lower()
    return jsonify({"resultaten": [p for p in PERSONEN.values() if naam in p["naam"].lower()]})


@app.post("/huwelijken")
def huwelijk():
    body = request.get_json()
    return jsonify({"id": 1, "partners": body["partners"]}), 201


@app.get("/health")
def health():
    return {"status": "ok"}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
