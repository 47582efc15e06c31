"""Fixtures for the server's black-box tests: a real server per module, on SQLite and PostgreSQL.

Each module gets its own database (a fresh SQLite file, or a fresh PostgreSQL database) with
triggers that make any UPDATE or DELETE of the log fail, so every test also proves the storage
is append-only. PostgreSQL runs when VERWERKINGEN_TEST_POSTGRES_URL is set (scripts/test sets
it); without it those tests skip locally and FAIL when CI is set.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterator

import httpx
import pytest

from tests.support.bsn import random_bsn
from tests.support.logserver import LogServer, mint_token, write_clients_file
from tests.support.openapi import ResponseValidator
from verwerkingen_otel.server.settings import database_url as to_sqlalchemy_url
from verwerkingen_otel.server.storage import Storage

ALL_SCOPES = [f"{a}:{lvl}" for a in ("create", "read", "update", "delete") for lvl in ("normal", "confidential")]
CLIENTS: dict[str, list[str]] = {
    "all": ALL_SCOPES,
    "plain": [],
    "create-normal": ["create:normal"],
    "create-conf": ["create:confidential"],
    "read-normal": ["read:normal"],
    "read-conf": ["read:confidential"],
    "update-normal": ["update:normal", "read:normal"],
    "update-conf": ["update:confidential", "read:confidential"],
    "delete-normal": ["delete:normal"],
    "delete-conf": ["delete:confidential"],
}
TABLES = ("vl_actie_versies", "vl_verwerkte_objecten", "vl_idempotentie", "vl_schema_versie")


def secret_of(client_id: str) -> str:
    return f"secret-{client_id}-0123456789abcdef0123456789abcdef"


def actie_body(bsn: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid POST body for one person (a fresh BSN unless given)."""
    body: dict[str, Any] = {
        "actieNaam": "Raadplegen persoon",
        "handelingNaam": "Intake",
        "verwerkingNaam": "Huwelijk",
        "verwerkingId": str(uuid.uuid4()),
        "verwerkingsactiviteitId": "5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
        "vertrouwelijkheid": "normaal",
        "bewaartermijn": "P10Y",
        "uitvoerder": "00000001821002193000",
        "systeem": "FooBarApp v2.1",
        "gegevensbron": "FooBar Database Publiekszaken",
        "tijdstip": "2024-04-05T14:35:42+01:00",
        "verwerkteObjecten": [{
            "objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn or random_bsn(),
            "betrokkenheid": "Getuige", "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}],
        }],
    }
    body.update(overrides)
    return body


def person_params(bsn: str, **extra: Any) -> dict[str, Any]:
    return {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn, **extra}


def _guard_sqlite(url: str) -> None:
    import sqlite3
    conn = sqlite3.connect(url[len("sqlite:///"):])
    for table in TABLES:
        for op in ("UPDATE", "DELETE"):
            conn.execute(f"CREATE TRIGGER guard_{op.lower()}_{table} BEFORE {op} ON {table} "
                         "BEGIN SELECT RAISE(ABORT, 'append-only log'); END")
    conn.commit()
    conn.close()


def _guard_postgres(url: str) -> None:
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION vl_guard() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN RAISE EXCEPTION 'append-only log'; END $$")
        for table in TABLES:
            conn.execute(f"CREATE TRIGGER guard_{table} BEFORE UPDATE OR DELETE ON {table} "
                         "FOR EACH STATEMENT EXECUTE FUNCTION vl_guard()")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, guarded database for this module, as `serve --database` accepts it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'log.db'}"
        Storage(to_sqlalchemy_url(url)).create_schema()
        _guard_sqlite(url)
        yield url
        return
    import psycopg
    admin = request.getfixturevalue("postgres_admin_url")
    name = f"vt_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name
    storage = Storage(to_sqlalchemy_url(url))
    storage.create_schema()
    storage.dispose()
    _guard_postgres(url)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def clients_file(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("clients") / "clients.toml"
    return write_clients_file(path, {c: (secret_of(c), scopes) for c, scopes in CLIENTS.items()})


@pytest.fixture(scope="module")
def server(database_url: str, clients_file: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogServer]:
    log_path = tmp_path_factory.mktemp("serverlog") / "server.log"
    srv = LogServer(database_url, clients_file, log_path=log_path, extra_args=["--page-size", "5"])
    srv.start()
    yield srv
    srv.stop()


class Api:
    """httpx client for one server; every response is checked against the VNG OpenAPI files."""

    def __init__(self, server: LogServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.api_url, timeout=30,
                                 event_hooks={"response": [ResponseValidator().as_hook()]})

    def auth(self, client: str = "all", **kwargs: Any) -> dict[str, str]:
        return {"Authorization": "Bearer " + mint_token(client, secret_of(client), **kwargs)}

    def request(self, method: str, path: str, *, client: str | None = "all",
                headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        all_headers = {} if client is None else self.auth(client)
        all_headers.update(headers or {})
        return self.http.request(method, path, headers=all_headers, **kwargs)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, body: Any, **kw: Any) -> httpx.Response:
        return self.request("POST", "/verwerkingsacties", json=body, **kw)

    def create(self, body: dict[str, Any] | None = None, client: str = "all", **kw: Any) -> dict[str, Any]:
        r = self.post(body if body is not None else actie_body(), client=client, **kw)
        assert r.status_code == 201, r.text
        return r.json()

    def put(self, actie_id: str, body: Any, **kw: Any) -> httpx.Response:
        return self.request("PUT", f"/verwerkingsacties/{actie_id}", json=body, **kw)

    def patch(self, verwerking_id: str, body: Any, **kw: Any) -> httpx.Response:
        return self.request("PATCH", "/verwerkingsacties", params={"verwerkingId": verwerking_id}, json=body, **kw)

    def delete(self, actie_id: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", f"/verwerkingsacties/{actie_id}", **kw)

    def list(self, bsn: str, **params: Any) -> httpx.Response:
        client = params.pop("client", "all")
        return self.get("/verwerkingsacties", params=person_params(bsn, **params), client=client)

    def current(self, actie_id: str) -> dict[str, Any]:
        r = self.get(f"/verwerkingsacties/{actie_id}")
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def api(server: LogServer) -> Iterator[Api]:
    client = Api(server)
    yield client
    client.http.close()


@pytest.fixture(scope="module")
def storage(database_url: str) -> Iterator[Storage]:
    s = Storage(to_sqlalchemy_url(database_url))
    yield s
    s.dispose()


def full_put_body(current: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A PUT body from a GET result: every writable key present, read-only ones dropped."""
    body = {k: v for k, v in current.items() if k not in ("url", "actieId", "tijdstipRegistratie")}
    body["verwerkteObjecten"] = [
        {k: v for k, v in o.items() if k != "url"} for o in current["verwerkteObjecten"]
    ]
    body.update(changes)
    return body


@pytest.fixture
def browser(tmp_path: Any) -> Iterator[Any]:
    """A real headless Chromium with a fresh profile (tests/support/browser.py), quit afterwards."""
    from tests.support.browser import Browser

    b = Browser(tmp_path)
    yield b
    b.quit()
