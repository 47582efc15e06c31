"""Fixtures for the LDV side of the server: a real server whose logregel table refuses UPDATE and
DELETE (append-only, proved by every test), a client for OTLP and lezen, and the lezen schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.server.conftest import secret_of
from tests.support.logserver import LogServer, mint_token
from tests.support.otlp import protobuf_body
from verwerkingen_otel.ldv import ActieSpan, Logregel, LogregelMapping, PseudonymKey
from verwerkingen_otel.server.ldv_store import LdvStore
from verwerkingen_otel.server.settings import database_url as to_sqlalchemy_url
from verwerkingen_otel.server.storage import Storage

OPENAPI = Path(__file__).resolve().parents[2] / "src/verwerkingen_otel/server/ldv_openapi"
KEY = PseudonymKey.from_bytes(b"ldv-test-key-of-at-least-32-bytes!!", "test-1")
MAPPING = LogregelMapping(KEY, service_version="1.0")
ACTIVITEIT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
INZAGE_ACTIVITEIT = "6c2b1f5e-4b3f-4d7e-9b1a-0e3a1c2d4f5a"


def _guard(url: str) -> None:
    if url.startswith("sqlite:///"):
        import sqlite3
        conn = sqlite3.connect(url[len("sqlite:///"):])
        for op in ("UPDATE", "DELETE"):
            conn.execute(f"CREATE TRIGGER guard_{op.lower()}_vl_ldv_logregels BEFORE {op} ON vl_ldv_logregels "
                         "BEGIN SELECT RAISE(ABORT, 'append-only log'); END")
        conn.commit()
        conn.close()
        return
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:  # vl_guard() exists: the server conftest made it
        conn.execute("CREATE TRIGGER guard_vl_ldv_logregels BEFORE UPDATE OR DELETE ON vl_ldv_logregels "
                     "FOR EACH STATEMENT EXECUTE FUNCTION vl_guard()")


@pytest.fixture(scope="module")
def ldv_server(database_url: str, clients_file: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogServer]:
    storage = Storage(to_sqlalchemy_url(database_url))
    LdvStore(storage).create_schema()
    storage.dispose()
    _guard(database_url)
    srv = LogServer(database_url, clients_file, log_path=tmp_path_factory.mktemp("ldvlog") / "server.log")
    srv.start()
    yield srv
    srv.stop()


class Ldv:
    """httpx against one server's OTLP and lezen endpoints."""

    def __init__(self, server: LogServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, timeout=30)

    def auth(self, client: str | None) -> dict[str, str]:
        return {} if client is None else {"Authorization": "Bearer " + mint_token(client, secret_of(client))}

    def otlp(self, body: bytes, *, client: str | None = "all", content_type: str = "application/x-protobuf",
             headers: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post("/v1/traces", content=body,
                              headers={"Content-Type": content_type, **self.auth(client), **(headers or {})})

    def send(self, regels: list[Logregel], client: str = "all") -> httpx.Response:
        response = self.otlp(protobuf_body(regels), client=client)
        assert response.status_code == 200, response.text
        return response

    def lezen(self, body: Any, *, client: str | None = "all", headers: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post("/lezen/v1/processing-activities", json=body,
                              headers={**self.auth(client), **(headers or {})})

    def found(self, body: Any, client: str = "all") -> list[dict[str, Any]]:
        response = self.lezen(body, client=client)
        assert response.status_code == 200, response.text
        validate_list(response.json())
        return response.json()["processingActivities"]


@pytest.fixture(scope="module")
def ldv(ldv_server: LogServer) -> Iterator[Ldv]:
    client = Ldv(ldv_server)
    yield client
    client.http.close()


def _registry() -> tuple[Registry, str]:
    base = "https://lezen.example/"
    doc = json.loads((OPENAPI / "lezen-openapi.json").read_text(encoding="utf-8"))
    attributes = json.loads((OPENAPI / "attributes.schema.json").read_text(encoding="utf-8"))
    registry = Registry().with_resources([
        (base + "lezen-openapi.json", Resource.from_contents(doc, default_specification=DRAFT202012)),
        (base + "attributes.schema.json", Resource.from_contents(attributes, default_specification=DRAFT202012)),
    ])
    return registry, base + "lezen-openapi.json"


def validate_list(body: Any) -> None:
    """The 200 body against the repository's copy of lezen-openapi.json (ListProcessingActivities)."""
    registry, uri = _registry()
    schema = {"$ref": uri + "#/components/schemas/ListProcessingActivities"}
    jsonschema.Draft202012Validator(schema, registry=registry).validate(body)


def regels_for(*bsns: str, trace: str, span: str = "b7ad6b7169203331", start_ms: int = 1_712_324_142_000,
               parent: str | None = None, **extra: Any) -> list[Logregel]:
    """Logregels of one action for these persons, made by the real mapping."""
    body = {
        "actieNaam": "Raadplegen persoon", "verwerkingsactiviteitId": ACTIVITEIT, "vertrouwelijkheid": "normaal",
        "tijdstip": "2024-04-05T14:35:42+01:00", "systeem": "BRP",
        "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": b} for b in bsns],
    }
    body.update(extra)
    start = start_ms * 1_000_000
    return MAPPING.logregels(body, ActieSpan(trace, span, parent, start, start + 5_000_000))
