"""Operations: /healthz, /readyz, /metrics (never a BSN or a secret), JSON access logs."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.server.conftest import actie_body, person_params, secret_of
from tests.support.bsn import random_bsn
from tests.support.logserver import LogServer, mint_token
from verwerkingen_otel.server.app import create_app
from verwerkingen_otel.server.settings import Settings


def test_health_ready_and_metrics_by_route_template(api: Any, server: LogServer) -> None:
    assert httpx.get(f"{server.base_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.base_url}/readyz").json() == {"status": "ready", "schema": 2}
    bsn = random_bsn()
    created = api.create(actie_body(bsn))
    assert api.get(f"/verwerkingsacties/{created['actieId']}").status_code == 200
    assert api.get("/verwerkingsacties/" + bsn).status_code == 404  # a BSN in a path
    assert api.list(bsn).status_code == 200  # and in a query string
    assert api.get("/verwerkte-objecten", params=person_params(bsn, beginDatum="2020-01-01",
                                                               eindDatum="2030-01-01")).status_code == 200
    assert api.get("/nergens/" + bsn).status_code == 404
    assert api.post(actie_body(bsn), client=None).status_code == 401
    text = httpx.get(f"{server.base_url}/metrics").text
    for secret in (secret_of(c) for c in ("all", "plain")):
        assert secret not in text
    assert bsn not in text and created["actieId"] not in text
    assert not re.search(r"\d{9}", re.sub(r"\d+\.\d+(e[+-]\d+)?|le=\"[^\"]+\"", "", text)), "a digit run"
    counts = {(m[0], m[1], m[2]): float(m[3]) for m in re.findall(
        r'verwerkingenlog_requests_total\{method="(\w+)",route="([^"]+)",status="(\d+)"\} (\S+)', text)}
    assert counts[("GET", "/api/v1/verwerkingsacties/{actieId}", "404")] >= 1
    assert counts[("GET", "/api/v1/verwerkingsacties", "200")] >= 1
    assert counts[("GET", "/api/v1/verwerkte-objecten", "200")] >= 1
    assert counts[("POST", "/api/v1/verwerkingsacties", "401")] >= 1
    assert counts[("GET", "unmatched", "404")] >= 1
    assert 'verwerkingenlog_request_duration_seconds_bucket{le="0.005",method="GET",route="/healthz"}' in text
    assert re.search(r'verwerkingenlog_db_pool_connections\{state="checkedout"\} \d', text)
    assert "verwerkingenlog_list_cursor_lookups" in text


def test_not_ready_when_the_schema_is_not_current(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    app = create_app(Settings(database_url=f"sqlite:///{db}"))
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM vl_schema_versie")
            conn.execute("INSERT INTO vl_schema_versie (versie) VALUES (1)")
        r = client.get("/readyz")
        assert (r.status_code, r.json()) == (503, {"status": "unavailable",
                                                   "reason": "schema version 1, this server needs 2"})
        assert client.get("/healthz").status_code == 200


def test_json_access_log_lines(tmp_path: Path) -> None:
    secret = "json-access-secret-0123456789abcdef0123456789"
    with LogServer(clients={"app": (secret, ["read:normal"])}, log_path=tmp_path / "server.log",
                   extra_args=["--access-log-format", "json"]) as srv:
        bsn = random_bsn()
        headers = {"Authorization": "Bearer " + mint_token("app", secret)}
        assert httpx.get(f"{srv.api_url}/verwerkingsacties/{bsn}", headers=headers).status_code == 404
        log = srv.wait_for_log('"status": 404')
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    (entry,) = [e for e in lines if e.get("status") == 404]
    assert (entry["method"], entry["path"], entry["level"]) == ("GET", "/api/v1/verwerkingsacties/…", "info")
    assert isinstance(entry["duration_ms"], float) and entry["time"].endswith("+00:00")
    assert bsn not in log and secret not in log


@pytest.mark.parametrize("option, value, message", [
    ("--count-limit", "0", "--count-limit must be a positive integer"),
    ("--default-bewaartermijn", "10 jaar", "--default-bewaartermijn must be an ISO 8601 duration"),
    ("--purge-interval", "-1", "--purge-interval must be a number of seconds"),
])
def test_scale_options_fail_fast(tmp_path: Path, option: str, value: str, message: str) -> None:
    from tests.server.test_cli import run_cli
    from tests.support.logserver import write_clients_file
    clients = write_clients_file(tmp_path / "c.toml", {"a": ("a-secret-that-is-long-enough-0123456789", [])})
    r = run_cli("serve", "--database", str(tmp_path / "x.db"), "--clients", str(clients), option, value)
    assert r.returncode == 2 and message in r.stderr
