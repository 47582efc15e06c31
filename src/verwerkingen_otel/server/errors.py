"""Problem responses (Fout / ValidatieFout) and the exceptions that produce them.

One place builds every error body so that each carries `API-version`, a `urn:uuid:` instance
and, for 400, `invalidParams` with dotted names — whatever part of the server raised it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple

from starlette.responses import JSONResponse

API_VERSION = "0.9.0"
PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Ongeldige aanvraag.",
    401: "Niet geauthenticeerd.",
    403: "Geen toestemming.",
    404: "Niet gevonden.",
    405: "Methode niet toegestaan.",
    406: "Niet acceptabel.",
    409: "Conflict.",
    413: "Verzoek te groot.",
    415: "Niet ondersteund mediatype.",
    422: "Niet verwerkbaar.",
    500: "Interne serverfout.",
    503: "Dienst niet beschikbaar.",
}


class ConfigError(ValueError):
    """A setting is wrong; the message names the option as the user wrote it."""


class PeerAnswerError(ValueError):
    """A peer (`serve --peers`) answered 200 with something that is not an Inzage answer."""


class InvalidParam(NamedTuple):
    """One entry of `invalidParams`: dotted camelCase name, machine code, human reason."""

    name: str
    code: str
    reason: str


@dataclass
class ApiError(Exception):
    """Raised anywhere in a request; turned into a problem+json response by the app."""

    status: int
    code: str
    detail: str
    invalid_params: list[InvalidParam] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:  # never includes values sent by the client
        return f"{self.status} {self.code}: {self.detail}"


def validation_error(params: Iterable[InvalidParam | tuple[str, str, str]], detail: str | None = None) -> ApiError:
    """A 400 ValidatieFout from field errors."""
    # The YAML requires a non-empty name; a body key can be "" (name it as a non-field error).
    items = [InvalidParam(name[:512] or "nonFieldErrors", code, reason) for name, code, reason in params]
    return ApiError(400, "invalid", detail or "Een of meer velden zijn ongeldig.", items)


def problem(status: int, code: str, detail: str, invalid_params: list[InvalidParam] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """Build the Fout (or, for 400, ValidatieFout) response."""
    body: dict[str, Any] = {
        "type": f"urn:verwerkingen-otel:fout:{code}",
        "code": code,
        "title": _TITLES.get(status, "Fout."),
        "status": status,
        "detail": detail,
        "instance": f"urn:uuid:{uuid.uuid4()}",
    }
    if status == 400:
        body["invalidParams"] = [p._asdict() for p in invalid_params or []]
    all_headers = {"API-version": API_VERSION}
    all_headers.update(headers or {})
    return JSONResponse(body, status_code=status, headers=all_headers, media_type=PROBLEM_JSON)


def api_error_response(exc: ApiError) -> JSONResponse:
    return problem(exc.status, exc.code, exc.detail, exc.invalid_params, exc.headers)
