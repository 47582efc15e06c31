"""A database that goes away: 503 problem+json with API-version and Retry-After, then recovery."""

from __future__ import annotations

import uuid

import httpx

from tests.server.conftest import actie_body, secret_of, random_bsn
from tests.support.logserver import LogServer, mint_token
from tests.support.openapi import ResponseValidator


def test_postgres_outage_is_503_then_recovers(postgres_admin_url, clients_file, tmp_path):
    import psycopg
    name = f"vt_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_admin_url.rsplit("/", 1)[0] + "/" + name
    headers = {"Authorization": "Bearer " + mint_token("all", secret_of("all"))}
    validator = ResponseValidator()
    with LogServer(url, clients_file, log_path=tmp_path / "s.log") as srv, \
            httpx.Client(base_url=srv.api_url, headers=headers, event_hooks={"response": [validator.as_hook()]}) as http:
        assert http.post("/verwerkingsacties", json=actie_body()).status_code == 201
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        bsn = random_bsn()
        r = http.post("/verwerkingsacties", json=actie_body(bsn))
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1" and r.json()["code"] == "database_unavailable"
        assert bsn not in srv.wait_for_log("POST /api/v1/verwerkingsacties 503")
        assert "database unavailable" in srv.log_text()
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        # an empty database: the tables are gone, so this is a 500, not a hang or a crash
        r = http.get("/verwerkingsacties", params={"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn})
        assert r.status_code in (500, 503)
        log = srv.wait_for_log(f"GET /api/v1/verwerkingsacties {r.status_code}")
        assert "Traceback" not in log and bsn not in log  # failures are logged by type and place only
        assert "internal error: ProgrammingError at " in log or "database unavailable" in log
        srv.restart()  # a restart recreates the schema
        assert http.post("/verwerkingsacties", json=actie_body()).status_code == 201
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
