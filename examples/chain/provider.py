"""The provider of the chain: a small BRP-like person register (Flask, served by werkzeug).

    GET /personen/<bsn>            one person               -> "Verstrekken persoonsgegevens"
    GET /personen?achternaam=...   every person of that name -> "Zoeken personen", one object per hit

Each call records a verwerkingsactie of the register itself. The caller's six VNG headers
(OIN, VerwerkingId, Vertrouwelijkheid, ...) become the afnemer fields of that action — the
extension `Verwerkingen(app)` reads them — so the register can account for *who* asked and
*for which of their verwerkingen*.

Configured only by VERWERKINGEN_* environment variables (api_url, client_id, secret, outbox,
systeem, ...); nothing about delivery is in this code. Run it on its own:

    VERWERKINGEN_EXPORTERS=console VERWERKINGEN_DELIVERY=sync VERWERKINGEN_REGISTER=examples/chain/register.toml \\
        python examples/chain/provider.py --port 8081
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any

from flask import Flask, abort, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

import verwerkingen_otel as vo
from verwerkingen_otel.flask import Verwerkingen

# The BRP's own processing activities, by name in its register (VERWERKINGEN_REGISTER).
ACTIVITEIT_VERSTREKKEN = "BRP: verstrekken persoonsgegevens"
ACTIVITEIT_ZOEKEN = "BRP: zoeken personen"

# Made-up people under official test BSNs (they pass the 11-test and belong to nobody).
PERSONEN: dict[str, dict[str, str]] = {
    "999993653": {"voornamen": "Jan", "achternaam": "Jansen", "woonplaats": "Utrecht"},
    "999995017": {"voornamen": "Petra", "achternaam": "Jansen", "woonplaats": "Utrecht"},
    "999990019": {"voornamen": "Kees", "achternaam": "Jansen", "woonplaats": "Amersfoort"},
    "999991905": {"voornamen": "Fatima", "achternaam": "El Amrani", "woonplaats": "Zwolle"},
    "999992004": {"voornamen": "Pieter", "achternaam": "de Vries", "woonplaats": "Utrecht"},
}


def create_app() -> Flask:
    app = Flask("brp")
    Verwerkingen(app, exclude=["/health"])

    @app.get("/health")
    def health() -> Any:
        return {"status": "ok"}

    @app.get("/personen/<bsn>")
    @vo.verwerkingsactie(
        actie_naam="Verstrekken persoonsgegevens",
        handeling_naam="Bevragen persoon",
        activiteit=ACTIVITEIT_VERSTREKKEN,
        objecten=[vo.persoon("bsn", betrokkenheid="Ingeschrevene",
                             soorten_gegevens=["Naam", "Woonplaats"])],
    )
    def persoon_verstrekken(bsn: str) -> Any:
        persoon = PERSONEN.get(bsn)
        if persoon is None:
            abort(404)
        return jsonify({"bsn": bsn, **persoon})

    @app.get("/personen")
    @vo.verwerkingsactie(
        actie_naam="Zoeken personen",
        handeling_naam="Bevragen persoon",
        activiteit=ACTIVITEIT_ZOEKEN,
        objecten=[vo.personen_uit_resultaat(
            lambda response: [p["bsn"] for p in response.get_json()["personen"]],
            betrokkenheid="Getoond in zoekresultaat",
            soorten_gegevens=["Naam", "Woonplaats"],
        )],
    )
    def personen_zoeken() -> Any:
        """Each hit is a person whose data was shown; the search term itself is never logged."""
        achternaam = request.args.get("achternaam", "").strip().lower()
        hits = [{"bsn": bsn, **p} for bsn, p in PERSONEN.items() if achternaam and p["achternaam"].lower() == achternaam]
        return jsonify({"personen": hits})

    return app


class _QuietHandler(WSGIRequestHandler):
    """No access log: request lines carry BSNs, which do not belong in ordinary logs."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="BRP-like provider (Flask on werkzeug)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    vo.configure()  # from VERWERKINGEN_*: a mistake stops the service here, naming the variable
    server = make_server(args.host, args.port, create_app(), threaded=True, request_handler=_QuietHandler)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()  # shutdown() waits for serve_forever

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.info("BRP provider listening on http://%s:%d", args.host, server.server_port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        delivered = vo.shutdown(timeout=10.0)  # hand every recorded action to the log before exiting
        logging.info("stopped; every verwerkingsactie delivered: %s", delivered)
    return 0 if delivered else 1


if __name__ == "__main__":
    sys.exit(main())
