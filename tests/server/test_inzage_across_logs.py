"""Inzage across the logs of one organisation: `verwerkingen-otel inzage --destinations` (the
client side) and `serve --peers` + GET /api/v1/inzage/federatief (the server side). Real
servers on loopback; a log that does not answer makes the result explicitly partial."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.support.logserver import LogServer, auth_headers, free_port, write_clients_file
from verwerkingen_otel.client import VerwerkingenlogClient
from verwerkingen_otel.model import Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie

SECRET = "inzage-across-logs-secret-0123456789abcdef012345"
SCOPES = ["create:normal", "read:normal", "create:confidential", "read:confidential"]
BSN = "999993653"
OTHER_BSN = "999990019"
QUERY = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": BSN,
         "beginDatum": "2024-01-01", "eindDatum": "2024-12-31"}


def actie(naam: str, minute: int, bsn: str = BSN, vertrouwelijkheid: str = "normaal") -> Verwerkingsactie:
    return Verwerkingsactie(
        vertrouwelijkheid=Vertrouwelijkheid(vertrouwelijkheid),
        tijdstip=dt.datetime(2024, 4, 5, 14, minute, 0, tzinfo=dt.timezone.utc),
        verwerkte_objecten=(VerwerktObject("persoon", "BSN", bsn, "Getuige", (VerwerktSoortGegeven("Naam"),)),),
        actie_naam=naam, verwerking_id=str(uuid.uuid4()), bewaartermijn="P10Y",
    )


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LogServer]]:
    """Three logs: `centraal` and `sociaal` hold actions (interleaved in time), `kapot` is never started."""
    tmp = tmp_path_factory.mktemp("logs")
    clients = write_clients_file(tmp / "clients.toml", {"app": (SECRET, SCOPES)})
    servers = {name: LogServer(f"sqlite:///{tmp}/{name}.db", clients, log_path=tmp / f"{name}.log",
                               extra_args=["--page-size", "2"])
               for name in ("centraal", "sociaal", "kapot")}
    for name in ("centraal", "sociaal"):
        servers[name].start()
    for name, minutes in (("centraal", (1, 3, 5, 7)), ("sociaal", (2, 4, 6))):
        with VerwerkingenlogClient(servers[name].api_url, client_id="app", secret=SECRET) as client:
            for minute in minutes:
                client.create(actie(f"{name}-{minute}", minute))
            client.create(actie(f"{name}-ander", 8, bsn=OTHER_BSN))
            client.create(actie(f"{name}-geheim", 9, vertrouwelijkheid="vertrouwelijk"))
    try:
        yield servers
    finally:
        for server in servers.values():
            server.kill()


def destinations_file(tmp_path: Path, logs: dict[str, LogServer], names: tuple[str, ...]) -> Path:
    path = tmp_path / "destinations.toml"
    path.write_text("".join(f'[destinations.{n}]\napi_url = "{logs[n].api_url}"\nclient_id = "app"\n'
                            f'secret_env = "INZAGE_SECRET"\n' for n in names))
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", "inzage", *args], capture_output=True,
                          text=True, env={**os.environ, "INZAGE_SECRET": SECRET}, timeout=120)


def inzage_count(server: LogServer) -> int:
    """How many Inzage calls `server` logged about the person (the standard: reading is processing)."""
    with VerwerkingenlogClient(server.api_url, client_id="app", secret=SECRET) as client:
        return sum(1 for a in client.list(soort_object_id="BSN", object_id=BSN)
                   if a.actie_naam == "Inzage verwerkingenlog")


def test_cli_merges_every_page_of_every_log_in_time_order(logs: dict[str, LogServer], tmp_path: Path) -> None:
    path = destinations_file(tmp_path, logs, ("centraal", "sociaal"))
    before = {n: inzage_count(logs[n]) for n in ("centraal", "sociaal")}
    run = cli("--bsn", BSN, "--from", "2024-01-01", "--to", "2024-12-31", "--destinations", str(path), "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["complete"] is True
    got = [(a["log"], a["actieNaam"]) for a in out["acties"] if a["actieNaam"] != "Inzage verwerkingenlog"]
    assert got == [("centraal", "centraal-1"), ("sociaal", "sociaal-2"), ("centraal", "centraal-3"),
                   ("sociaal", "sociaal-4"), ("centraal", "centraal-5"), ("sociaal", "sociaal-6"),
                   ("centraal", "centraal-7")]
    # every page asked is an Inzage call, logged by that log: 4 and 3 results at 2 a page
    assert {n: inzage_count(logs[n]) for n in ("centraal", "sociaal")} == {n: c + 2 for n, c in before.items()}
    text = cli("--bsn", BSN, "--from", "2024-04-05", "--to", "2024-04-06", "--destinations", str(path))
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert lines[0].startswith("2024-04-05T14:01:00.000000+00:00  [centraal]  centraal-1  verwerking -  (normaal)")
    assert lines[1].startswith("2024-04-05T14:02:00.000000+00:00  [sociaal]  sociaal-2")


def test_cli_a_log_that_does_not_answer_makes_the_result_partial(logs: dict[str, LogServer],
                                                                  tmp_path: Path) -> None:
    path = destinations_file(tmp_path, logs, ("centraal", "sociaal", "kapot"))
    run = cli("--bsn", BSN, "--from", "2024-04-05", "--to", "2024-04-06", "--destinations", str(path), "--json")
    assert run.returncode == 3
    out = json.loads(run.stdout)
    assert out["complete"] is False
    assert out["logs"]["kapot"]["answered"] is False
    assert out["logs"]["centraal"]["answered"] is True
    assert {a["log"] for a in out["acties"]} == {"centraal", "sociaal"}
    assert "PARTIAL RESULT: log 'kapot' did not answer (TransportError: ConnectError)" in run.stderr
    assert BSN not in run.stderr


def test_cli_refuses_bad_arguments_naming_them(tmp_path: Path) -> None:
    assert "--bsn must be 9 digits" in cli("--bsn", "12", "--from", "2024-01-01", "--to", "2024-01-02",
                                           "--destinations", "x.toml").stderr
    bad = tmp_path / "d.toml"
    bad.write_text('[destinations.a]\napi_url = "http://127.0.0.1:9/api/v1"\nclient_id = "a"\nsecret = "x"\n')
    run = cli("--bsn", BSN, "--from", "2024-01-01", "--to", "2024-01-02", "--destinations", str(bad))
    assert run.returncode != 0
    assert f"--destinations {bad}: [destinations.a] secret: secrets are never written in the file" in run.stderr


@pytest.fixture()
def federation(logs: dict[str, LogServer], tmp_path: Path) -> Iterator[LogServer]:
    """A `centraal` front log with peers: `sociaal` (answers) and `kapot` (never runs)."""
    peers = tmp_path / "peers.toml"
    secret_file = tmp_path / "sociaal.secret"
    secret_file.write_text(SECRET + "\n")
    peers.write_text(f'[peers.sociaal]\napi_url = "{logs["sociaal"].api_url}"\nclient_id = "app"\n'
                     f'secret_file = "{secret_file}"\n'
                     f'[peers.kapot]\napi_url = "http://127.0.0.1:{free_port()}/api/v1"\nclient_id = "app"\n'
                     f'secret_env = "PEER_SECRET"\ntimeout = 2\n')
    front = LogServer(logs["centraal"].database, logs["centraal"].clients_file, log_path=tmp_path / "front.log",
                      extra_args=["--peers", str(peers), "--page-size", "2"], env={"PEER_SECRET": SECRET})
    front.start()
    try:
        yield front
    finally:
        front.kill()


def test_federatief_merges_own_and_peers_results_and_flags_the_missing_peer(
        logs: dict[str, LogServer], federation: LogServer) -> None:
    before = inzage_count(logs["sociaal"])
    response = httpx.get(f"{federation.api_url}/inzage/federatief", params=QUERY,
                         headers=auth_headers("app", SECRET), timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert (body["complete"], body["missing"]) == (False, ["kapot"])
    assert body["logs"]["kapot"] == {"answered": False, "error": "ConnectError"}
    named = [(r["log"], r["verwerkingsactie"]["actieNaam"]) for r in body["results"]
             if r["verwerkingsactie"]["actieNaam"] != "Inzage verwerkingenlog"]
    assert named == [("self", "centraal-1"), ("sociaal", "sociaal-2"), ("self", "centraal-3"),
                     ("sociaal", "sociaal-4"), ("self", "centraal-5"), ("sociaal", "sociaal-6"),
                     ("self", "centraal-7")]  # never another person's, never vertrouwelijk
    assert body["count"] == len(body["results"])
    assert inzage_count(logs["sociaal"]) == before + 2  # the peer logged both pages we asked as Inzage calls
    # the peer's failure is logged by kind, and no request URL (it holds the BSN) reaches the log
    assert "peer kapot did not answer the Inzage: ConnectError" in federation.log_text()
    assert BSN not in federation.log_text() and SECRET not in federation.log_text()


def test_federatief_needs_read_scope_and_valid_query(federation: LogServer) -> None:
    assert httpx.get(f"{federation.api_url}/inzage/federatief", params=QUERY).status_code == 401
    bad = httpx.get(f"{federation.api_url}/inzage/federatief", params={**QUERY, "beginDatum": "x"},
                    headers=auth_headers("app", SECRET))
    assert bad.status_code == 400
    assert [p["name"] for p in bad.json()["invalidParams"]] == ["beginDatum"]


def test_serve_refuses_a_bad_peers_file_naming_peer_and_key(tmp_path: Path) -> None:
    peers = tmp_path / "peers.toml"
    peers.write_text('[peers.sociaal]\napi_url = "http://127.0.0.1:9/api/v1"\nclient_id = "a"\nsecret = "x"\n')
    run = subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", "serve", "--dev", "--database",
                          str(tmp_path / "db.sqlite"), "--port", str(free_port()), "--peers", str(peers)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert (f"verwerkingen-otel serve: --peers {peers}: [peers.sociaal] secret: secrets are never written "
            "in the file; use secret_env or secret_file") in run.stderr
