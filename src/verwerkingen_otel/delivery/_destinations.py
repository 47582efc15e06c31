"""The destinations file (`VERWERKINGEN_DESTINATIONS`): which logs exist, and the routes to them.

Read once, at start-up, into plain values; every mistake is a `DestinationsError` whose message
names the file, the destination or route, and the key — never a value (it may be a secret).
Secrets are never written in the file itself: `secret_env` names an environment variable and
`secret_file` a file (likewise `token_env` / `token_file`). Each destination becomes one lane
per exporter in the outbox, named `<exporter>:<destination>` (`api:centraal`).
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..model import InvalidValue, Vertrouwelijkheid, check_uuid
from ._errors import DestinationsError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["DESTINATION_EXPORTERS", "Destination", "DestinationsError", "DestinationsFile", "Route",
           "load_destinations", "named_tables", "read_toml"]

DESTINATION_EXPORTERS = ("api", "console", "memory")
"""What a destination can be delivered by; `api` (the log's Bewerking API) when not named."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_DEST_KEYS = frozenset({"api_url", "client_id", "secret_env", "secret_file", "token_env", "token_file",
                        "ca_bundle", "client_cert", "client_key", "timeout", "retry_after_max",
                        "concurrency", "exporters"})
_ROUTE_MATCH = ("activiteit", "verwerkingsactiviteit_id", "vertrouwelijkheid", "tenant")
_ROUTE_KEYS = frozenset(_ROUTE_MATCH) | {"default", "destinations"}


@dataclass(frozen=True)
class Destination:
    """One log: its URL, credentials (already read from their env var or file) and TLS files."""

    name: str
    api_url: str | None = None
    client_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    timeout: float | None = None
    retry_after_max: float | None = None  # this log's own cap on Retry-After (and backoff); None: the setting's
    concurrency: int | None = None  # at most this many requests to this log at once; None: the setting's
    exporters: tuple[str, ...] = ("api",)

    @property
    def lanes(self) -> tuple[str, ...]:
        """The outbox lanes (exporter names) of this destination, e.g. ("api:centraal",)."""
        return tuple(f"{exporter}:{self.name}" for exporter in self.exporters)


@dataclass(frozen=True)
class Route:
    """One `[[routes]]` entry; `number` is its place in the file (1-based) for messages."""

    number: int
    destinations: tuple[str, ...]
    activiteit: str | None = None
    verwerkingsactiviteit_id: str | None = None
    vertrouwelijkheid: str | None = None
    tenant: str | None = None
    default: bool = False

    def describe(self) -> str:
        if self.default:
            return f"routes[{self.number}] (default)"
        keys = ", ".join(f"{k}={getattr(self, k)!r}" for k in _ROUTE_MATCH if getattr(self, k) is not None)
        return f"routes[{self.number}] ({keys})"


@dataclass(frozen=True)
class DestinationsFile:
    path: str
    destinations: Mapping[str, Destination]
    routes: tuple[Route, ...]  # in file order, the default route left out
    default: Route | None = None


def read_toml(path: str, setting: str) -> dict[str, Any]:
    """The TOML document at `path`; DestinationsError naming `setting` and the file when it cannot."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise DestinationsError(path, f"no such file (from {setting})") from None
    except OSError as exc:
        raise DestinationsError(path, f"cannot be read ({type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise DestinationsError(path, f"is not valid TOML ({exc})") from None


def named_tables(path: str, doc: Mapping[str, Any], section: str, sections: tuple[str, str], noun: str,
                 ) -> dict[str, Any]:
    """The `[<section>.<name>]` tables of a file that may hold only `sections` (their spelling in
    messages); DestinationsError for another section, none of these tables, or a bad name."""
    allowed = {s.strip("[]").split(".")[0] for s in sections}
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise DestinationsError(f"{path}: {unknown[0]}", f"unknown section; expected {sections[0]} and {sections[1]}")
    tables = doc.get(section)
    if not isinstance(tables, dict) or not tables:
        raise DestinationsError(f"{path}: {section}", f"the file names no {noun} ([{section}.<name>])")
    for name in tables:
        if not _NAME.match(name):
            raise DestinationsError(f"{path}: [{section}.{name}]", f"a {noun}'s name is letters, digits, "
                                    "`_`, `-` or `.` (at most 64)")
    return tables


def read_secret(where: str, key: str, value: object, environ: Mapping[str, str]) -> str:
    """The secret named by `secret_env` (a variable) or `secret_file` (a file), never echoed."""
    if not isinstance(value, str) or not value.strip():
        raise DestinationsError(f"{where} {key}", "must name an environment variable or a file")
    if key.endswith("_env"):
        secret = environ.get(value)
        if not secret:
            raise DestinationsError(f"{where} {key}", f"environment variable {value} is not set or empty")
        return secret
    try:
        with open(value, encoding="utf-8") as fh:
            secret = fh.read().strip()
    except OSError as exc:
        raise DestinationsError(f"{where} {key}", f"cannot read the file ({type(exc).__name__})") from None
    if not secret:
        raise DestinationsError(f"{where} {key}", "the file is empty")
    return secret


def _text(where: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DestinationsError(where, "must be a non-empty string")
    return value.strip()


def _url(where: str, value: object) -> str:
    text = _text(where, value)
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", text):
        raise DestinationsError(where, "must be an absolute http or https URL")
    return text.rstrip("/")


def _seconds(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value > 0 and math.isfinite(value)):
        raise DestinationsError(where, "must be a positive number of seconds")
    return float(value)


def _file(where: str, value: object) -> str:
    path = _text(where, value)
    if not os.path.isfile(path):
        raise DestinationsError(where, "is not a readable file")
    return path


def credentials(where: str, table: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, str | None]:
    """client_id + secret_env/secret_file, or token_env/token_file; inline `secret`/`token` refused."""
    for inline in ("secret", "token", "password"):
        if inline in table:
            raise DestinationsError(f"{where} {inline}", f"secrets are never written in the file; use "
                                    f"{inline if inline != 'password' else 'secret'}_env or "
                                    f"{inline if inline != 'password' else 'secret'}_file")
    given = {k: table[k] for k in ("secret_env", "secret_file", "token_env", "token_file") if k in table}
    if len(given) > 1:
        raise DestinationsError(f"{where} {' / '.join(given)}", "give one secret_env, secret_file, "
                                "token_env or token_file, not several")
    out: dict[str, str | None] = {"client_id": None, "secret": None, "token": None}
    if "client_id" in table:
        out["client_id"] = _text(f"{where} client_id", table["client_id"])
    for key, value in given.items():
        out["secret" if key.startswith("secret") else "token"] = read_secret(where, key, value, environ)
    if out["client_id"] is not None and out["secret"] is None:
        raise DestinationsError(f"{where} secret_env", "client_id needs secret_env or secret_file")
    if out["secret"] is not None and out["client_id"] is None:
        raise DestinationsError(f"{where} client_id", "is required with secret_env / secret_file")
    if out["token"] is not None and out["client_id"] is not None:
        raise DestinationsError(f"{where} token_env", "cannot be combined with client_id")
    return out


def _destination(where: str, name: str, table: object, environ: Mapping[str, str]) -> Destination:
    if not isinstance(table, dict):
        raise DestinationsError(where, "must be a table")
    creds = credentials(where, table, environ)
    unknown = sorted(set(table) - _DEST_KEYS)
    if unknown:
        raise DestinationsError(f"{where} {unknown[0]}", f"unknown key; expected some of {', '.join(sorted(_DEST_KEYS))}")
    exporters: tuple[str, ...] = ("api",)
    if "exporters" in table:
        raw = table["exporters"]
        if not isinstance(raw, list) or not raw or not all(isinstance(e, str) for e in raw):
            raise DestinationsError(f"{where} exporters", "must be a non-empty list of names")
        exporters = tuple(dict.fromkeys(e.strip().lower() for e in raw))
        for e in exporters:
            if e not in DESTINATION_EXPORTERS:
                raise DestinationsError(f"{where} exporters", f"unknown exporter {e!r}; expected some of "
                                        f"{', '.join(DESTINATION_EXPORTERS)}")
    api_url = _url(f"{where} api_url", table["api_url"]) if "api_url" in table else None
    if "api" in exporters and api_url is None:
        raise DestinationsError(f"{where} api_url", "is required (the log's base URL, ending in /api/v1)")
    timeout = _seconds(f"{where} timeout", table["timeout"]) if "timeout" in table else None
    retry_after_max = (_seconds(f"{where} retry_after_max", table["retry_after_max"])
                       if "retry_after_max" in table else None)
    concurrency = None
    if "concurrency" in table:
        c = table["concurrency"]
        if isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= 256:
            raise DestinationsError(f"{where} concurrency", "must be a whole number from 1 to 256")
        concurrency = c
    files = {k: _file(f"{where} {k}", table[k]) for k in ("ca_bundle", "client_cert", "client_key") if k in table}
    if "client_key" in files and "client_cert" not in files:
        raise DestinationsError(f"{where} client_cert", "is required when client_key is set")
    return Destination(name=name, api_url=api_url, timeout=timeout, retry_after_max=retry_after_max,
                       concurrency=concurrency, exporters=exporters, **creds, **files)


def _route(path: str, number: int, table: object, names: Mapping[str, Destination]) -> Route:
    where = f"{path}: routes[{number}]"
    if not isinstance(table, dict):
        raise DestinationsError(where, "must be a table ([[routes]])")
    unknown = sorted(set(table) - _ROUTE_KEYS)
    if unknown:
        raise DestinationsError(f"{where} {unknown[0]}", f"unknown key; expected some of {', '.join(sorted(_ROUTE_KEYS))}")
    raw = table.get("destinations")
    if not isinstance(raw, list) or not raw or not all(isinstance(d, str) for d in raw):
        raise DestinationsError(f"{where} destinations", "must be a non-empty list of destination names")
    for d in raw:
        if d not in names:
            raise DestinationsError(f"{where} destinations", f"names {d!r}, which is not a [destinations.*] "
                                    "of this file")
    values: dict[str, Any] = {"destinations": tuple(dict.fromkeys(raw))}
    default = table.get("default", False)
    if not isinstance(default, bool):
        raise DestinationsError(f"{where} default", "must be true or false")
    matches = [k for k in _ROUTE_MATCH if k in table]
    if default and matches:
        raise DestinationsError(f"{where} {matches[0]}", "a default route matches every action; it takes no "
                                "other keys")
    if not default and not matches:
        raise DestinationsError(where, f"must match on one of {', '.join(_ROUTE_MATCH)}, or be `default = true`")
    for key in matches:
        value = _text(f"{where} {key}", table[key])
        try:
            if key == "verwerkingsactiviteit_id":
                value = check_uuid(value)
            elif key == "vertrouwelijkheid":
                value = Vertrouwelijkheid.parse(value).value
        except InvalidValue as exc:
            raise DestinationsError(f"{where} {key}", exc.reason) from None
        values[key] = value
    return Route(number=number, default=default, **values)


def load_destinations(path: str, environ: Mapping[str, str] | None = None,
                      setting: str = "VERWERKINGEN_DESTINATIONS") -> DestinationsFile:
    """Read and check the whole file; secrets are read from their env vars / files now."""
    environ = os.environ if environ is None else environ
    doc = read_toml(path, setting)
    tables = named_tables(path, doc, "destinations", ("[destinations.*]", "[[routes]]"), "destination")
    destinations = {name: _destination(f"{path}: [destinations.{name}]", name, table, environ)
                    for name, table in tables.items()}
    raw_routes = doc.get("routes", [])
    if not isinstance(raw_routes, list):
        raise DestinationsError(f"{path}: routes", "must be an array of tables ([[routes]])")
    routes: list[Route] = []
    default: Route | None = None
    for number, table in enumerate(raw_routes, 1):
        route = _route(path, number, table, destinations)
        if route.default:
            if default is not None:
                raise DestinationsError(f"{path}: routes[{number}] default", f"a second default route "
                                        f"(routes[{default.number}] is one already)")
            default = route
        else:
            routes.append(route)
    return DestinationsFile(path=path, destinations=destinations, routes=tuple(routes), default=default)
