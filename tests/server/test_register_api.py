"""The VAR API of a real server started with --register (NOTES §8), on SQLite and PostgreSQL.

Every response is checked against var-api.yaml by the Api client's hook (tests/support/openapi.py).
"""

from __future__ import annotations

import copy
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from tests.server.conftest import Api, actie_body
from tests.support.logserver import LogServer, free_port
from tests.support.registers import ACTIVITEITEN, register_data, write_register
from verwerkingen_otel.register import RegisterUnavailable, VarApiSource
from verwerkingen_otel.server.register_store import RegisterStore
from verwerkingen_otel.server.settings import database_url as to_sqlalchemy_url
from verwerkingen_otel.server.storage import Storage

NAMEN = sorted(a["naam"] for a in ACTIVITEITEN)
ID = {a["naam"]: a["id"] for a in ACTIVITEITEN}
VAR_ONLY = [{k: v for k, v in a.items() if k not in ("url", "vertrouwelijkheid", "bewaartermijnDuur")}
            for a in ACTIVITEITEN]


@pytest.fixture(scope="module")
def register_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_register(tmp_path_factory.mktemp("register") / "register.yaml", register_data())


def guard_register_table(database_url: str) -> None:
    """Like the log's tables (conftest): any UPDATE or DELETE of the register's versions fails."""
    storage = Storage(to_sqlalchemy_url(database_url))
    RegisterStore(storage).create_schema()
    storage.dispose()
    if database_url.startswith("sqlite:///"):
        import sqlite3
        conn = sqlite3.connect(database_url[len("sqlite:///"):])
        for op in ("UPDATE", "DELETE"):
            conn.execute(f"CREATE TRIGGER guard_{op.lower()}_register BEFORE {op} ON vl_register_versies "
                         "BEGIN SELECT RAISE(ABORT, 'append-only register'); END")
        conn.commit()
        conn.close()
        return
    import psycopg
    with psycopg.connect(database_url, autocommit=True) as conn:  # vl_guard() is made by the conftest
        conn.execute("CREATE TRIGGER guard_register BEFORE UPDATE OR DELETE ON vl_register_versies "
                     "FOR EACH STATEMENT EXECUTE FUNCTION vl_guard()")


@pytest.fixture(scope="module")
def server(database_url: str, clients_file: Any, register_path: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogServer]:
    guard_register_table(database_url)
    log_path = tmp_path_factory.mktemp("serverlog") / "server.log"
    srv = LogServer(database_url, clients_file, log_path=log_path, extra_args=[
        "--page-size", "2", "--register", str(register_path), "--strict-activiteiten"])
    srv.start()
    yield srv
    srv.stop()


def results(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, r.text
    return [a["naam"] for a in r.json()["results"]]


def test_the_list_is_public_paginated_and_ordered_by_naam(api: Api) -> None:
    r = api.get("/verwerkingsactiviteiten", client=None)
    assert r.headers["API-version"] == "0.1.0"
    body = r.json()
    assert (body["count"], results(r), body["previous"]) == (3, NAMEN[:2], None)
    assert body["next"] == f"{api.server.api_url}/verwerkingsactiviteiten?page=2"
    r2 = api.http.get(body["next"])
    assert results(r2) == NAMEN[2:] and r2.json()["next"] is None
    assert r2.json()["previous"] == f"{api.server.api_url}/verwerkingsactiviteiten?page=1"
    assert r.json()["results"][0] == next(a for a in VAR_ONLY if a["naam"] == NAMEN[0])
    r3 = api.get("/verwerkingsactiviteiten", params={"page": 3}, client=None)
    assert (r3.status_code, r3.json()["code"]) == (404, "not_found")


def test_filters(api: Api) -> None:
    assert results(api.get("/verwerkingsactiviteiten", params={"categorie": "Parkeren"}, client=None)) == [
        "Verstrekken parkeervergunning"]
    assert results(api.get("/verwerkingsactiviteiten", params={"categorie": "parkeren"}, client=None)) == []
    assert results(api.get("/verwerkingsactiviteiten", params={"naam": "GESLACHTS"}, client=None)) == [
        "Wijzigen van geslachtsnaam"]
    r = api.get("/verwerkingsactiviteiten", params={"naam": "e", "categorie": "Burgerzaken"}, client=None)
    assert results(r) == ["Wijzigen van geslachtsnaam"]


@pytest.mark.parametrize("params, name", [
    ({"page": "0"}, "page"), ({"page": "x"}, "page"), ({"peildatum": "2024-13-01"}, "peildatum"),
    ({"naam": ""}, "naam"), ({"categorie": ["a", "b"]}, "categorie"),
])
def test_bad_parameters_are_400(api: Api, params: dict[str, Any], name: str) -> None:
    r = api.get("/verwerkingsactiviteiten", params=params, client=None)
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert [p["name"] for p in r.json()["invalidParams"]] == [name]


def test_read_at_both_paths_with_etag(api: Api) -> None:
    activiteit_id = ID["Wijzigen van geslachtsnaam"]
    plural = api.get(f"/verwerkingsactiviteiten/{activiteit_id}", client=None)
    singular = api.get(f"/verwerkingsactiviteit/{activiteit_id.upper()}", client=None)
    assert plural.status_code == singular.status_code == 200
    assert plural.json() == singular.json() == VAR_ONLY[0]
    etag = plural.headers["ETag"]
    assert etag == singular.headers["ETag"] and etag.startswith('"')
    r = api.get(f"/verwerkingsactiviteiten/{activiteit_id}", client=None, headers={"If-None-Match": etag})
    assert (r.status_code, r.content, r.headers["API-version"]) == (304, b"", "0.1.0")


@pytest.mark.parametrize("path", ["/verwerkingsactiviteiten/not-a-uuid", "/verwerkingsactiviteit/123",
                                  "/verwerkingsactiviteiten/00000000-0000-4000-8000-000000000000"])
def test_unknown_or_malformed_ids_are_404(api: Api, path: str) -> None:
    r = api.get(path, client=None)
    assert (r.status_code, r.json()["code"], r.headers["API-version"]) == (404, "not_found", "0.1.0")


def test_a_valid_token_is_ignored_an_invalid_one_refused(api: Api) -> None:
    assert results(api.get("/verwerkingsactiviteiten", client="plain")) == NAMEN[:2]
    r = api.get("/verwerkingsactiviteiten", client=None, headers={"Authorization": "Bearer nonsense"})
    assert (r.status_code, r.headers["API-version"]) == (401, "0.1.0")
    r = api.get(f"/verwerkingsactiviteiten/{ID[NAMEN[0]]}", client=None, headers={"Authorization": "Basic x"})
    assert r.status_code == 401


def test_the_register_is_read_only(api: Api) -> None:
    for method in ("POST", "PUT", "DELETE"):
        r = api.request(method, "/verwerkingsactiviteiten", client="all", json={})
        assert (r.status_code, r.headers["API-version"], r.headers["Allow"]) == (405, "0.1.0", "GET, HEAD")


def test_peildatum_before_the_register_existed(api: Api) -> None:
    r = api.get(f"/verwerkingsactiviteiten/{ID[NAMEN[0]]}", params={"peildatum": "2001-01-01"}, client=None)
    assert r.status_code == 404
    assert api.get("/verwerkingsactiviteiten", params={"peildatum": "2001-01-01"}, client=None).json()["count"] == 0


def test_strict_activiteiten_refuses_unknown_ids(api: Api) -> None:
    bsn_body = actie_body(verwerkingsactiviteitId="00000000-0000-4000-8000-000000000000")
    r = api.post(bsn_body)
    assert r.status_code == 400
    assert r.json()["invalidParams"] == [{"name": "verwerkingsactiviteitId", "code": "unknown",
                                          "reason": "staat niet in het register van verwerkingsactiviteiten"}]
    bsn = bsn_body["verwerkteObjecten"][0]["objectId"]
    assert api.list(bsn).json()["count"] == 0  # nothing stored
    assert api.post(actie_body(verwerkingsactiviteitId=ID[NAMEN[0]].upper())).status_code == 201
    body = actie_body()
    del body["verwerkingsactiviteitId"]
    assert api.post(body).status_code == 201  # the field is optional in the standard


def _wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.05)


def test_sighup_reloads_and_a_broken_file_keeps_the_previous_version(api: Api, register_path: Path) -> None:
    server = api.server
    activiteit_id = ID["Wijzigen van geslachtsnaam"]
    data = register_data()
    data["verwerkingsactiviteiten"][0]["doel"] = "Nieuw doel"
    del data["verwerkingsactiviteiten"][2]  # Verstrekken parkeervergunning leaves the register
    try:
        write_register(register_path, data)
        os.kill(server.pid, signal.SIGHUP)
        _wait_for(lambda: api.get(f"/verwerkingsactiviteiten/{activiteit_id}", client=None).json()["doel"] == "Nieuw doel")
        assert results(api.get("/verwerkingsactiviteiten", params={"page": 1}, client=None)) == NAMEN[:1] + NAMEN[2:]
        gone = ID["Verstrekken parkeervergunning"]
        assert api.get(f"/verwerkingsactiviteiten/{gone}", client=None).status_code == 404
        assert "register" in server.wait_for_log("1 gewijzigd, 1 vervallen")

        broken = copy.deepcopy(data)
        broken["verwerkingsactiviteiten"][1]["grondslag"] = "Omdat het kan"
        broken["verwerkingsactiviteiten"][0]["doel"] = "Nooit geladen"
        write_register(register_path, broken)
        os.kill(server.pid, signal.SIGHUP)
        log = server.wait_for_log("the previous version stays")
        assert ("verwerkingsactiviteiten[1] 'Beoordelen bijstandsaanvraag': grondslag: must be one of the AVG "
                "grondslagen") in log
        assert api.get(f"/verwerkingsactiviteiten/{activiteit_id}", client=None).json()["doel"] == "Nieuw doel"
        assert server.running
    finally:
        write_register(register_path, register_data())
        os.kill(server.pid, signal.SIGHUP)
        _wait_for(lambda: api.get("/verwerkingsactiviteiten", client=None).json()["count"] == 3)


def test_register_load_from_the_cli_is_seen_by_the_running_server(api: Api, database_url: str, tmp_path: Path) -> None:
    data = register_data()
    data["verwerkingsactiviteiten"][1]["doel"] = "Doel via de CLI"
    path = write_register(tmp_path / "nieuw.json", data)
    done = subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", "register", "load", str(path),
                           "--database", database_url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{path} loaded: 0 nieuw, 1 gewijzigd, 0 vervallen, 2 ongewijzigd\n"
    r = api.get(f"/verwerkingsactiviteiten/{ID['Beoordelen bijstandsaanvraag']}", client=None)
    assert r.json()["doel"] == "Doel via de CLI"
    again = subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", "register", "load", str(path),
                            "--database", database_url], capture_output=True, text=True, timeout=60)
    assert again.stdout.endswith("0 nieuw, 0 gewijzigd, 0 vervallen, 3 ongewijzigd\n")


def test_a_service_reads_the_register_from_the_var_api_with_a_cache(api: Api, tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "outbox.register.json"
    register = VarApiSource(api.server.api_url, cache).load()  # page size 2: follows `next`
    assert sorted(a.naam for a in register) == NAMEN
    a = register.lookup("Wijzigen van geslachtsnaam")
    assert a.url == f"{api.server.api_url}/verwerkingsactiviteiten/{a.id}"
    assert cache.is_file()
    down = f"http://127.0.0.1:{free_port()}/api/v1"
    with caplog.at_level(logging.WARNING, logger="verwerkingen_otel.register"):
        cached = VarApiSource(down, cache, timeout=2).load()
    assert [x.to_dict() for x in cached] == [x.to_dict() for x in register]
    assert f"register {down} cannot be read (ConnectError); using the cached copy {cache}" in caplog.text
    with pytest.raises(RegisterUnavailable) as info:
        VarApiSource(down, tmp_path / "none.json", timeout=2).load()
    assert str(info.value) == (f"register {down} cannot be read (ConnectError) and there is no cached copy at "
                               f"{tmp_path / 'none.json'}")
