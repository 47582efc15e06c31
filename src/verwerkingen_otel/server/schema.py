"""Serves the standard's OpenAPI files: `GET /api/v1/schema` (list) and `/api/v1/schema/{name}`.

The files are the published VNG standard, shipped unchanged as package data in `openapi/`
(origin and licence in openapi/README.md), so a user can fetch exactly the contract this server
implements. Public, like the standard itself: no token needed, and none is checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .errors import API_VERSION, ApiError
from .state import state_of

__all__ = ["OPENAPI_DIR", "SCHEMA_NAMES", "YAML_MEDIA_TYPE", "Schema", "load_schemas", "schema_list", "schema_file"]

OPENAPI_DIR = Path(__file__).with_name("openapi")
"""Where the files live inside the installed package."""
SCHEMA_NAMES = ("bewerking-api.yaml", "inzage-api.yaml", "var-api.yaml")
YAML_MEDIA_TYPE = "application/yaml"  # RFC 9512
_INFO_BLOCK = re.compile(r"^info:\n((?:[ \t].*\n|\n)*)", re.MULTILINE)
_INFO_FIELD = re.compile(r"^  (title|version): *(.+?) *$", re.MULTILINE)


@dataclass(frozen=True)
class Schema:
    """One file: its bytes and the `info.title` / `info.version` it declares."""

    name: str
    title: str
    version: str
    content: bytes


def load_schemas(directory: Path = OPENAPI_DIR) -> dict[str, Schema]:
    """Read every file once, at start-up: a package without them fails there, naming the file."""
    schemas = {}
    for name in SCHEMA_NAMES:
        path = directory / name
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise RuntimeError(f"OpenAPI file {name} is missing from the package ({type(exc).__name__})") from exc
        info = _INFO_BLOCK.search(content.decode("utf-8"))
        fields = dict(_INFO_FIELD.findall(info[1] if info else ""))
        schemas[name] = Schema(name, fields.get("title", ""), fields.get("version", ""), content)
    return schemas


def _schemas(request: Request) -> dict[str, Schema]:
    return request.app.state.openapi_schemas


async def schema_list(request: Request) -> Response:
    """`{"results": [{"name", "title", "version", "url"}]}`, in a fixed order."""
    base = state_of(request).base_url(request)
    results = [{"name": s.name, "title": s.title, "version": s.version, "url": f"{base}/schema/{s.name}"}
               for s in _schemas(request).values()]
    return JSONResponse({"results": results}, headers={"API-version": API_VERSION})


async def schema_file(request: Request) -> Response:
    """The file's bytes as YAML; any other name is 404 (the list is the only way in)."""
    schema = _schemas(request).get(request.path_params["name"])
    if schema is None:
        raise ApiError(404, "not_found", "Dit schema bestaat niet; GET /schema geeft de lijst.")
    return Response(schema.content, media_type=YAML_MEDIA_TYPE,
                    headers={"API-version": API_VERSION, "Content-Disposition": f'inline; filename="{schema.name}"'})
