"""A real server with a register (two versions, one from 2020), users and actions, for the page tests."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from tests.support.logserver import LogServer, mint_token
from verwerkingen_otel.register import load_register, parse_register
from verwerkingen_otel.server.register_store import RegisterStore
from verwerkingen_otel.server.settings import database_url as to_sqlalchemy_url
from verwerkingen_otel.server.storage import Storage

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_REGISTER = ROOT / "examples" / "register" / "register.toml"
BSN = "999993653"
OTHER_BSN = "999995017"
HUWELIJK = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
BIJSTAND = "7a3f1c52-3b0e-4d5c-8f6a-2b9e4c1d7e02"
OUD_DOEL = "Oud doel uit de versie van 2020"
SECRET = "pages-secret-0123456789abcdef0123456789abcdef"
PASSWORDS = {"anna": "anna heeft een lang wachtwoord", "vera": "vera ziet ook vertrouwelijk"}


def add_users(path: Path) -> Path:
    for name, roles in (("anna", []), ("vera", ["--role", "inzage-vertrouwelijk"])):
        done = subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", "users", "add", name, "--users",
                               str(path), *roles, "--password-stdin"], input=PASSWORDS[name] + "\n",
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    return path


def preload_old_register(database: str) -> None:
    """Version 1 of the register, valid from 2020: the huwelijk activity had another doel then."""
    current = load_register(str(EXAMPLE_REGISTER))
    data = {"verwerkingsactiviteiten": [a.to_dict() for a in current]}
    data["verwerkingsactiviteiten"][0]["doel"] = OUD_DOEL
    storage = Storage(to_sqlalchemy_url(database))
    storage.create_schema()
    store = RegisterStore(storage)
    store.create_schema()
    store.load(parse_register(data, "2020"), now=datetime(2020, 1, 1, tzinfo=timezone.utc))
    storage.dispose()


def start_server(tmp: Path, *extra: str) -> LogServer:
    database = f"sqlite:///{tmp / 'log.db'}"
    preload_old_register(database)
    server = LogServer(database, clients={"app": (SECRET, ["create:confidential", "read:confidential"])},
                       log_path=tmp / "server.log",
                       extra_args=["--register", str(EXAMPLE_REGISTER), "--users", str(add_users(tmp / "users.toml")),
                                   *extra])
    return server.start()


def actie(bsn: str, verwerking: tuple[str, str], naam: str, tijdstip: str, activiteit: str,
          vertrouwelijkheid: str = "normaal", **extra: Any) -> dict[str, Any]:
    return {
        "actieNaam": naam, "handelingNaam": "Behandeling", "verwerkingId": verwerking[0],
        "verwerkingNaam": verwerking[1], "verwerkingsactiviteitId": activiteit,
        "vertrouwelijkheid": vertrouwelijkheid, "bewaartermijn": "P20Y", "tijdstip": tijdstip,
        "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn,
                               "betrokkenheid": "Aanvrager"}],
        **extra,
    }


def seed_actions(server: LogServer) -> dict[str, str]:
    """Two verwerkingen of BSN (one action vertrouwelijk), one action before the period, one of someone else.

    Returns the verwerkingId of each verwerking by name ("Huwelijk", "Bijstand")."""
    huwelijk = (str(uuid.uuid4()), "Huwelijk")
    bijstand = (str(uuid.uuid4()), "Bijstand")
    bodies = [
        actie(BSN, huwelijk, "Raadplegen persoon", "2024-03-01T10:00:00+01:00", HUWELIJK,
              soortAfnemerId="OIN", afnemerId="00000001002220647000"),
        actie(BSN, huwelijk, "Controleren getuigen", "2024-03-02T11:30:00+01:00", HUWELIJK),
        actie(BSN, bijstand, "Beoordelen aanvraag", "2024-05-01T09:15:00+02:00", BIJSTAND, "vertrouwelijk"),
        actie(BSN, huwelijk, "Oude raadpleging", "2019-06-01T09:00:00+02:00", HUWELIJK),
        actie(OTHER_BSN, huwelijk, "Raadplegen getuige", "2024-03-01T10:05:00+01:00", HUWELIJK),
    ]
    with log_client(server) as c:
        post_all(c, bodies)
    return {huwelijk[1]: huwelijk[0], bijstand[1]: bijstand[0]}


def log_client(server: LogServer) -> httpx.Client:
    """An httpx client of the log's API as the `app` client (every scope)."""
    return httpx.Client(base_url=server.api_url, headers={"Authorization": "Bearer " + mint_token("app", SECRET)})


def post_all(client: httpx.Client, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        r = client.post("/verwerkingsacties", json=body)
        assert r.status_code == 201, r.text


def inzage_actions(server: LogServer, bsn: str = BSN) -> int:
    """How many Inzage actions the log holds for this person (each look at their log is one)."""
    with httpx.Client(base_url=server.api_url, headers={"Authorization": "Bearer " + mint_token("app", SECRET)}) as c:
        r = c.get("/verwerkingsacties", params={"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn})
        assert r.status_code == 200
        return sum(1 for a in r.json()["results"] if a["actieNaam"] == "Inzage verwerkingenlog")
