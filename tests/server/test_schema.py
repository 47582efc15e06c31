"""GET /api/v1/schema and /api/v1/schema/{name}: the standard's OpenAPI files, served as shipped.

Black-box against the real server on loopback (one SQLite server for the module: the route does
not touch the database, so the PostgreSQL run would add time and nothing else).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml

from tests.support.logserver import LogServer
from tests.support.openapi import component, validate_schema
from verwerkingen_otel.server.schema import OPENAPI_DIR, SCHEMA_NAMES, load_schemas

PUBLISHED = {  # name: (info.title, info.version), as VNG publishes them
    "bewerking-api.yaml": ("Bewerking API voor logging van verwerkingen", "0.9.0"),
    "inzage-api.yaml": ("Inzage API voor logging van verwerkingen", "0.9.0"),
    "var-api.yaml": ("VAR API", "0.1.0"),
}


@pytest.fixture(scope="module")
def server() -> Iterator[LogServer]:
    with LogServer(clients={"app": ("secret-app-0123456789abcdef0123456789abcdef", ["read:normal"])}) as srv:
        yield srv


@pytest.fixture(scope="module")
def http(server: LogServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api_url, timeout=30) as client:
        yield client


def published_hashes() -> dict[str, str]:
    """The SHA-256 list in openapi/README.md (where the files' origin is written down)."""
    readme = (OPENAPI_DIR / "README.md").read_text(encoding="utf-8")
    return {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.MULTILINE)}


def test_the_package_holds_exactly_the_published_files_unchanged() -> None:
    assert sorted(p.name for p in OPENAPI_DIR.iterdir()) == ["README.md", *sorted(SCHEMA_NAMES)]
    hashes = published_hashes()
    assert sorted(hashes) == sorted(SCHEMA_NAMES)
    for name in SCHEMA_NAMES:
        assert hashlib.sha256((OPENAPI_DIR / name).read_bytes()).hexdigest() == hashes[name], name


def test_the_list_names_every_file_with_its_title_version_and_url(http: httpx.Client, server: LogServer) -> None:
    r = http.get("/schema")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["API-version"] == "0.9.0"
    assert r.json() == {"results": [
        {"name": name, "title": title, "version": version, "url": f"{server.api_url}/schema/{name}"}
        for name, (title, version) in PUBLISHED.items()]}


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_each_file_is_served_byte_for_byte_as_yaml(http: httpx.Client, name: str) -> None:
    r = http.get(f"/schema/{name}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/yaml"
    assert r.headers["content-disposition"] == f'inline; filename="{name}"'
    assert r.headers["API-version"] == "0.9.0"
    assert r.content == (OPENAPI_DIR / name).read_bytes()
    document = yaml.safe_load(r.content)
    assert document["openapi"] == "3.0.0"
    assert (document["info"]["title"], document["info"]["version"]) == PUBLISHED[name]
    assert document["info"]["license"]["name"] == "EUPL 1.2"


def test_every_url_in_the_list_fetches_its_file(http: httpx.Client) -> None:
    for entry in http.get("/schema").json()["results"]:
        r = httpx.get(entry["url"], timeout=30)
        assert r.status_code == 200 and r.content == (OPENAPI_DIR / entry["name"]).read_bytes(), entry["name"]


def test_no_token_is_needed_and_none_is_checked(http: httpx.Client) -> None:
    """The standard is public: a request without a token, or with a broken one, gets the file."""
    assert http.get("/schema/inzage-api.yaml").status_code == 200
    assert http.get("/schema", headers={"Authorization": "Bearer not-a-jwt"}).status_code == 200
    # the API itself still wants a token: the schema route opened nothing else
    assert http.get("/verwerkingsacties").status_code == 401


def test_head_gives_the_headers_without_the_body(http: httpx.Client) -> None:
    r = http.head("/schema/var-api.yaml")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-type"] == "application/yaml"
    assert int(r.headers["content-length"]) == (OPENAPI_DIR / "var-api.yaml").stat().st_size


@pytest.mark.parametrize("name", [
    "nope.yaml", "bewerking-api.yml", "Bewerking-API.yaml", "README.md", "schema.py", "..%2Fschema.py",
    "%2E%2E%2Fapp.py", "bewerking-api.yaml%00",
])
def test_any_other_name_is_a_404_problem(http: httpx.Client, name: str) -> None:
    r = http.get(f"/schema/{name}")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "not_found" and r.json()["status"] == 404
    validate_schema("bewerking", component("bewerking", "Fout"), r.json())
    assert b"openapi" not in r.content


def test_a_path_below_a_file_is_a_404_problem(http: httpx.Client) -> None:
    r = http.get("/schema/bewerking-api.yaml/extra")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_writing_is_not_allowed(http: httpx.Client) -> None:
    for method, path in [("POST", "/schema"), ("PUT", "/schema/bewerking-api.yaml"),
                         ("DELETE", "/schema/bewerking-api.yaml")]:
        r = http.request(method, path, content=b"x")
        assert r.status_code == 405, (method, path)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "method_not_allowed"


def test_a_package_without_a_file_fails_at_start_naming_it(tmp_path: Path) -> None:
    for name in SCHEMA_NAMES[:2]:
        (tmp_path / name).write_bytes((OPENAPI_DIR / name).read_bytes())
    with pytest.raises(RuntimeError, match=r"^OpenAPI file var-api\.yaml is missing from the package "
                                           r"\(FileNotFoundError\)$"):
        load_schemas(tmp_path)


def test_title_and_version_come_from_the_info_block_only(tmp_path: Path) -> None:
    for name in SCHEMA_NAMES:
        (tmp_path / name).write_text("openapi: 3.0.0\ninfo:\n  title: T\n  contact:\n    title: not this\n"
                                     "  version: 1.2.3\npaths:\n  title: nor this\n", encoding="utf-8")
    schemas = load_schemas(tmp_path)
    assert {(s.title, s.version) for s in schemas.values()} == {("T", "1.2.3")}
