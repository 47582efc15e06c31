"""The organisation's other logs (`serve --peers peers.toml`) and asking them for an Inzage.

Shared by `GET /api/v1/inzage/federatief` (federatief.py) and the `/inzage` page
(pages/inzage_peers.py). Each peer is asked through its own standard Inzage API
(`GET /verwerkte-objecten`, every page) with its own credentials, so the peer logs the question
as an Inzage, as the standard requires. A peer that does not answer is a `PeerAnswer` with
`results=None` and a short `error` that names what happened (`HTTP 503`, `ConnectError`,
`ReadTimeout`) and never a URL, a secret or a query value: the query carries a BSN.

Peers file (TOML); secrets never inline (`secret_env` / `secret_file`, or `token_env` / `token_file`):

    [peers.sociaal]
    api_url = "https://log-sd.gemeente.example/api/v1"
    client_id = "centraal-inzage"
    secret_env = "SOCIAAL_INZAGE_SECRET"
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

import httpx
import jwt

from .errors import ConfigError, PeerAnswerError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["ENV_PEERS", "SELF", "Peer", "PeerAnswer", "ask_peers", "configure_peers", "configured_peers",
           "instant", "load_peers"]

ENV_PEERS = "VERWERKINGEN_SERVER_PEERS"
SELF = "self"
MAX_PAGES = 1000
_KEYS = {"api_url", "client_id", "secret_env", "secret_file", "token_env", "token_file", "ca_bundle", "timeout"}

log = logging.getLogger("verwerkingen_otel.server.peers")


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


def configured_peers() -> tuple[Peer, ...]:
    """The peers of `serve --peers` (empty without it)."""
    path = os.environ.get(ENV_PEERS)
    return load_peers(path) if path else ()


@dataclass(frozen=True)
class PeerAnswer:
    """One peer's answer: every result it gave, or None and why not."""

    name: str
    results: list[dict[str, Any]] | None
    error: str | None = None  # "HTTP 401", "ConnectError", "ReadTimeout", "not an Inzage answer", ...
    status: int | None = None  # the HTTP status when the peer answered with another than 200
    timed_out: bool = False
    unreachable: bool = False  # no connection at all (stopped, wrong address, TLS refused)

    @property
    def answered(self) -> bool:
        return self.results is not None


async def _ask_peer(peer: Peer, params: Sequence[tuple[str, str]], headers: dict[str, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    verify: Any = peer.ca_bundle or True
    async with httpx.AsyncClient(timeout=peer.timeout, verify=verify) as client:
        url = f"{peer.api_url}/verwerkte-objecten"
        for number in range(1, MAX_PAGES + 1):
            # pages by number at the peer's own address: its credentials and the BSN never follow a
            # `next` link elsewhere
            query = [*params, ("page", str(number))] if number > 1 else list(params)
            response = await client.get(url, params=query,
                                        headers={**headers, "Authorization": peer.authorization()})
            if response.status_code != 200:
                raise httpx.HTTPStatusError("not 200", request=response.request, response=response)
            try:
                body = response.json()
            except ValueError:
                raise PeerAnswerError("not an Inzage answer") from None
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                raise PeerAnswerError("not an Inzage answer")
            found.extend(r for r in results if isinstance(r, dict))
            if not body.get("next"):
                return found
        raise PeerAnswerError(f"more than {MAX_PAGES} pages")


def _failed(peer: Peer, exc: BaseException) -> PeerAnswer:
    """What went wrong, by kind only: exception messages may hold the URL, and the URL the BSN."""
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return PeerAnswer(peer.name, None, f"HTTP {status}", status=status)
    if isinstance(exc, PeerAnswerError):
        return PeerAnswer(peer.name, None, str(exc.args[0]))
    if isinstance(exc, httpx.TimeoutException):
        return PeerAnswer(peer.name, None, type(exc).__name__, timed_out=True)
    unreachable = isinstance(exc, (httpx.ConnectError, httpx.RemoteProtocolError, httpx.UnsupportedProtocol))
    return PeerAnswer(peer.name, None, type(exc).__name__, unreachable=unreachable)


async def ask_peers(peers: Sequence[Peer], params: Sequence[tuple[str, str]],
                    headers: dict[str, str] | None = None) -> list[PeerAnswer]:
    """Ask every peer at once (the Inzage query `params`); one PeerAnswer each, in the peers' order."""

    async def one(peer: Peer) -> PeerAnswer:
        try:
            return PeerAnswer(peer.name, await _ask_peer(peer, params, headers or {}))
        except Exception as exc:  # whatever a peer does, the others and this log still answer
            failed = _failed(peer, exc)
            # the operator learns which peer failed and how; never the query (it holds a BSN)
            log.warning("peer %s did not answer the Inzage: %s", peer.name, failed.error)
            return failed

    return list(await asyncio.gather(*(one(p) for p in peers)))


_EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)


def instant(value: object) -> datetime:
    """A tijdstip as an aware instant for ordering (logs may write different offsets)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return _EPOCH
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return _EPOCH
