"""`GET /api/v1/inzage/federatief`: Inzage across the logs of one organisation (beyond the standard).

`serve --peers peers.toml` names the other logs of the organisation. This endpoint takes the
Inzage query of `/verwerkte-objecten` (objecttype, soortObjectId, objectId, beginDatum,
eindDatum), answers it from this log (all pages; logged as an Inzage like the standard's
endpoint) and asks every peer's own Inzage API with that peer's own credentials (all pages; the
peer logs it as an Inzage, as the standard requires). The answer merges everything in time order,
each result marked with its `log`; a peer that does not answer is named in `missing` and
`complete` is false — a partial answer is never presented as a whole one.

Peers file (TOML); secrets never inline (`secret_env` / `secret_file`, or `token_env` / `token_file`):

    [peers.sociaal]
    api_url = "https://log-sd.gemeente.example/api/v1"
    client_id = "centraal-inzage"
    secret_env = "SOCIAAL_INZAGE_SECRET"
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
import dataclasses
import functools
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from starlette.requests import Request
from starlette.responses import Response

from .bewerking import forbidden, json_response
from .errors import ConfigError, validation_error
from .inzage import log_inzage, visible_levels
from .params import Query, person_filter
from .representation import inzage_json
from .state import state_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["ENV_PEERS", "Peer", "configure_peers", "list_federatief", "load_peers"]

ENV_PEERS = "VERWERKINGEN_SERVER_PEERS"
SELF = "self"
MAX_PAGES = 1000
_KEYS = {"api_url", "client_id", "secret_env", "secret_file", "token_env", "token_file", "ca_bundle", "timeout"}


@dataclass(frozen=True)
class Peer:
    name: str
    api_url: str
    client_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    timeout: float = 10.0

    def authorization(self) -> str:
        if self.token is not None:
            return f"Bearer {self.token}"
        token = jwt.encode({"client_id": self.client_id, "iat": int(time.time())}, self.secret or "",
                           algorithm="HS256")
        return f"Bearer {token}"


def _read_secret(where: str, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} {key}: must name an environment variable or a file")
    if key.endswith("_env"):
        secret = os.environ.get(value, "")
        if not secret:
            raise ConfigError(f"{where} {key}: environment variable {value} is not set or empty")
        return secret
    try:
        with open(value, encoding="utf-8") as fh:
            secret = fh.read().strip()
    except OSError as exc:
        raise ConfigError(f"{where} {key}: cannot read the file ({type(exc).__name__})") from None
    if not secret:
        raise ConfigError(f"{where} {key}: the file is empty")
    return secret


def _peer(where: str, name: str, table: Any) -> Peer:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    for inline in ("secret", "token"):
        if inline in table:
            raise ConfigError(f"{where} {inline}: secrets are never written in the file; use "
                              f"{inline}_env or {inline}_file")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where} {unknown[0]}: unknown key; expected some of {', '.join(sorted(_KEYS))}")
    url = table.get("api_url")
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/?#]+[^\s]*$", url.strip()):
        raise ConfigError(f"{where} api_url: is required, an absolute http or https URL ending in /api/v1")
    given = [k for k in ("secret_env", "secret_file", "token_env", "token_file") if k in table]
    if len(given) != 1:
        raise ConfigError(f"{where} secret_env: give exactly one of secret_env, secret_file, token_env, token_file")
    secret = _read_secret(where, given[0], table[given[0]])
    client_id = table.get("client_id")
    if given[0].startswith("secret") and (not isinstance(client_id, str) or not client_id.strip()):
        raise ConfigError(f"{where} client_id: is required with {given[0]}")
    ca = table.get("ca_bundle")
    if ca is not None and (not isinstance(ca, str) or not os.path.isfile(ca)):
        raise ConfigError(f"{where} ca_bundle: is not a readable file")
    timeout = table.get("timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ConfigError(f"{where} timeout: must be a positive number of seconds")
    is_secret = given[0].startswith("secret")
    return Peer(name=name, api_url=url.strip().rstrip("/"), client_id=client_id if is_secret else None,
                secret=secret if is_secret else None, token=None if is_secret else secret, ca_bundle=ca,
                timeout=float(timeout))


@functools.lru_cache(maxsize=4)
def load_peers(path: str) -> tuple[Peer, ...]:
    """Read and check the peers file; ConfigError naming `--peers`, the file, the peer and the key."""
    where = f"--peers {path}"
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read ({type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: is not valid TOML ({exc})") from None
    peers = doc.get("peers")
    if set(doc) - {"peers"} or not isinstance(peers, dict) or not peers:
        raise ConfigError(f"{where}: expected one or more [peers.<name>] tables and nothing else")
    if SELF in peers:
        raise ConfigError(f"{where}: [peers.{SELF}]: `{SELF}` names this log itself; choose another name")
    return tuple(_peer(f"{where}: [peers.{name}]", name, table) for name, table in peers.items())


def configure_peers(path: str | None) -> None:
    """From `serve --peers`: checked now (start-up), handed to the app (and its workers) by path."""
    if not path:
        return
    path = os.path.abspath(path)
    load_peers(path)
    os.environ[ENV_PEERS] = path


def _peers() -> tuple[Peer, ...]:
    path = os.environ.get(ENV_PEERS)
    return load_peers(path) if path else ()


async def _ask_peer(peer: Peer, params: list[tuple[str, str]], headers: dict[str, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    verify: Any = peer.ca_bundle or True
    async with httpx.AsyncClient(timeout=peer.timeout, verify=verify) as client:
        url: str | None = f"{peer.api_url}/verwerkte-objecten"
        query: Any = params
        for _ in range(MAX_PAGES):
            if url is None:
                return found
            response = await client.get(url, params=query,
                                        headers={**headers, "Authorization": peer.authorization()})
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}")
            body = response.json()
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                raise RuntimeError("not an Inzage answer")
            found.extend(r for r in results if isinstance(r, dict))
            url, query = body.get("next"), None
        raise RuntimeError(f"more than {MAX_PAGES} pages")


_EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)


def _instant(value: object) -> datetime:
    """A tijdstip as an aware instant for ordering (logs may write different offsets)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return _EPOCH
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return _EPOCH


def _tijdstip(item: dict[str, Any]) -> str:
    actie = item.get("verwerkingsactie")
    value = actie.get("tijdstip") if isinstance(actie, dict) else None
    return value if isinstance(value, str) else ""


async def list_federatief(request: Request) -> Response:
    state = state_of(request)
    principal = state.principal(request)
    q = Query(request)
    flt = person_filter(q, dates_required=True)
    if q.errors or flt is None:
        raise validation_error(q.errors)
    if not principal.has_any("read"):
        raise forbidden("Voor inzage is read:normal of read:confidential nodig.")
    flt = dataclasses.replace(flt, vertrouwelijkheid=visible_levels(principal))
    base = state.base_url(request)
    own: list[dict[str, Any]] = []
    number, size = 1, 500
    while True:  # every page of this log's own results (pages are read by keyset: each costs one page)
        found = await state.db(state.storage.list_objecten, flt, number, size)
        own.extend(inzage_json(o, a, base) for o, a in found.items)
        if not found.has_next or not found.items:
            break
        number += 1
    await log_inzage(state, request, principal, (flt.objecttype, flt.soort_object_id, flt.object_id))
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    forwarded = {k: v for k, v in request.headers.items() if k.lower() in ("oin", "verwerkingsactiviteitid",
                                                                         "verwerkingsactiviteiturl", "verwerkingid")}
    peers = _peers()
    answers = await asyncio.gather(*(_ask_peer(p, params, forwarded) for p in peers), return_exceptions=True)
    logs: dict[str, Any] = {SELF: {"answered": True, "count": len(own)}}
    results = [{"log": SELF, **item} for item in own]
    missing = []
    for peer, answer in zip(peers, answers):
        if isinstance(answer, BaseException):
            reason = str(answer) if isinstance(answer, RuntimeError) else type(answer).__name__
            logs[peer.name] = {"answered": False, "error": reason}
            missing.append(peer.name)
        else:
            logs[peer.name] = {"answered": True, "count": len(answer)}
            results.extend({"log": peer.name, **item} for item in answer)
    results.sort(key=lambda item: (_instant(_tijdstip(item)), item["log"]))
    return json_response({"complete": not missing, "missing": missing, "logs": logs, "count": len(results),
                          "results": results})
