"""Validate real HTTP responses against the published VNG OpenAPI files (the package's copies).

The files are read from the installed package (src/verwerkingen_otel/server/openapi/), the same
ones the server serves at /api/v1/schema: never from outside the repository.

`ResponseValidator().check(response)` asserts: the `API-version: 0.9.0` header; a status the
YAML lists for that operation (or one of our documented deviations, see docs/server.md); the
declared content type; and the body against the YAML's schema, with `null` values removed
first (our documented deviation: unsent fields come back as null). Use `as_hook()` as an
httpx response event hook to check every response a test client receives.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import httpx
import jsonschema
import yaml

from verwerkingen_otel.server.schema import OPENAPI_DIR

SPEC_DIR: Path = OPENAPI_DIR
SPEC_FILES = {"bewerking": SPEC_DIR / "bewerking-api.yaml", "inzage": SPEC_DIR / "inzage-api.yaml"}
BASE_PATH = "/api/v1"
# Deliberate deviations (docs/server.md): status codes our server adds to an operation.
DEVIATIONS: dict[tuple[str, str], set[int]] = {
    ("post", "/verwerkingsacties"): {413, 422},
    ("put", "/verwerkingsacties/{actieId}"): {413},
    ("patch", "/verwerkingsacties"): {413},
    ("get", "/verwerkingsacties"): {404},  # page past the last one
    ("get", "/verwerkte-objecten"): {404},
}


@lru_cache(maxsize=None)
def load_spec(name: str) -> dict[str, Any]:
    with open(SPEC_FILES[name], encoding="utf-8") as f:
        return yaml.safe_load(f)


def strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?!$)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
format_checker = jsonschema.FormatChecker(formats=())


@format_checker.checks("uuid", raises=ValueError)
def _uuid(value: object) -> bool:
    return not isinstance(value, str) or str(uuid.UUID(value)) == value.lower()


@format_checker.checks("date-time")
def _datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATETIME.match(value):
        return False
    from verwerkingen_otel.model import InvalidValue, check_datetime

    try:  # the model's reader: Python 3.10's fromisoformat refuses fractions of other lengths than 3 or 6
        check_datetime(value)
    except InvalidValue:
        return False
    return True


@format_checker.checks("date", raises=ValueError)
def _date(value: object) -> bool:
    return not isinstance(value, str) or bool(dt.date.fromisoformat(value))


@format_checker.checks("uri")
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and (bool(parts.netloc) or parts.scheme not in ("http", "https"))


@format_checker.checks("duration")
def _duration(value: object) -> bool:
    return not isinstance(value, str) or bool(_DURATION.match(value))


def validate_schema(spec_name: str, schema: dict[str, Any], instance: Any) -> None:
    """Validate `instance` (nulls removed) against `schema` resolved inside the spec."""
    root = {**schema, "components": load_spec(spec_name)["components"]}
    validator = jsonschema.Draft7Validator(root, format_checker=format_checker)
    errors = sorted(validator.iter_errors(strip_nulls(instance)), key=lambda e: list(e.path))
    if errors:
        raise AssertionError("schema violation: " + "; ".join(
            f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]))


def component(spec_name: str, name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


class ResponseValidator:
    """Checks responses of both VNG APIs; see the module docstring."""

    def __init__(self) -> None:
        self.routes: list[tuple[re.Pattern[str], str, str]] = []
        for name in SPEC_FILES:
            for template in load_spec(name)["paths"]:
                pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
                self.routes.append((re.compile(f"^{pattern}$"), template, name))

    def operation(self, path: str) -> tuple[str, str] | None:
        for pattern, template, name in self.routes:
            if pattern.match(path):
                return template, name
        return None

    def check(self, response: httpx.Response) -> None:
        request = response.request
        assert response.headers.get("API-version") == "0.9.0", (
            f"{request.method} {request.url.path}: API-version header missing or wrong")
        path = request.url.path
        found = self.operation(path[len(BASE_PATH):]) if path.startswith(BASE_PATH) else None
        method = request.method.lower()
        if found is None or method not in load_spec(found[1])["paths"][found[0]]:
            assert response.status_code in (404, 405), f"{method} {path}: {response.status_code}"
            self._check_problem(response, "bewerking")
            return
        template, name = found
        responses = load_spec(name)["paths"][template][method]["responses"]
        status = str(response.status_code)
        if status not in responses:
            assert response.status_code in DEVIATIONS.get((method, template), set()), (
                f"{method.upper()} {template}: status {status} is not in the YAML nor a documented deviation")
            self._check_problem(response, name)
            return
        content = responses[status].get("content")
        if not content:
            assert response.content == b"", f"{method.upper()} {template} {status}: expected no body"
            return
        declared, media = next(iter(content.items()))
        actual = response.headers.get("content-type", "").split(";")[0].strip()
        assert actual == declared, f"{method.upper()} {template} {status}: content type {actual!r} != {declared!r}"
        validate_schema(name, media["schema"], json.loads(response.content))

    def _check_problem(self, response: httpx.Response, name: str) -> None:
        assert response.headers.get("content-type", "").startswith("application/problem+json")
        schema = "ValidatieFout" if response.status_code == 400 else "Fout"
        validate_schema(name, component(name, schema), json.loads(response.content))

    def as_hook(self) -> Callable[[httpx.Response], None]:
        def hook(response: httpx.Response) -> None:
            response.read()
            self.check(response)
        return hook
