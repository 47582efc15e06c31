"""Authentication (JWT HS256 per registered client) and scope rules of NOTES §5.

The server, not the token, decides what a client may do: a scope claim in the token can only
narrow the grants from the clients file. Tokens and secrets never reach a log line or an error.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import jwt

from .errors import ApiError, ConfigError

if sys.version_info >= (3, 11):  # pragma: no cover - depends on interpreter
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ACTIONS = ("create", "read", "update", "delete")
ALL_SCOPES: frozenset[str] = frozenset(f"{a}:{lvl}" for a in ACTIONS for lvl in ("normal", "confidential"))
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class Client:
    """A registered client: its HS256 secret and granted scopes (never printed by repr)."""

    client_id: str
    secret: str
    scopes: frozenset[str]

    def __repr__(self) -> str:
        return f"Client({self.client_id!r}, scopes={sorted(self.scopes)})"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller with its effective (expanded, narrowed) scopes."""

    client_id: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def has_any(self, action: str) -> bool:
        return f"{action}:normal" in self.scopes or f"{action}:confidential" in self.scopes


def expand(scopes: Iterable[str]) -> frozenset[str]:
    """`*:confidential` includes `*:normal`."""
    out = set(scopes)
    for s in list(out):
        action, _, level = s.partition(":")
        if level == "confidential":
            out.add(f"{action}:normal")
    return frozenset(out)


def load_clients(path: Path, *, option: str = "--clients") -> dict[str, Client]:
    """Read the clients TOML file (`[clients.<id>] secret=…, scopes=[…]`); errors name `option`."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{option}: file {str(path)!r} does not exist") from None
    except OSError as e:
        raise ConfigError(f"{option}: cannot read {str(path)!r}: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{option}: {str(path)!r} is not valid TOML: {e}") from None
    table = data.get("clients")
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{option}: {str(path)!r} defines no [clients.<id>] tables")
    clients: dict[str, Client] = {}
    for client_id, entry in table.items():
        where = f"{option}: client {client_id!r}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a table")
        unknown = set(entry) - {"secret", "scopes"}
        if unknown:
            raise ConfigError(f"{where} has unknown keys {sorted(unknown)}")
        secret = entry.get("secret")
        if not isinstance(secret, str) or not secret:
            raise ConfigError(f"{where} needs a non-empty string `secret`")
        scopes = entry.get("scopes", [])
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ConfigError(f"{where}: `scopes` must be a list of strings")
        bad = [s for s in scopes if s not in ALL_SCOPES]
        if bad:
            raise ConfigError(f"{where}: unknown scopes {bad} (known: {sorted(ALL_SCOPES)})")
        clients[client_id] = Client(client_id, secret, expand(scopes))
    return clients


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, "not_authenticated", detail, headers={"WWW-Authenticate": 'Bearer realm="verwerkingenlog"'})


class Authenticator:
    """Checks `Authorization: Bearer <JWT>` against the registered clients."""

    CACHE_SIZE = 4096

    def __init__(self, clients: Mapping[str, Client]) -> None:
        self._clients = dict(clients)
        # Verified tokens, so a client reusing its token is not re-verified on every call:
        # token -> (principal, exp or None). The same string always verifies the same way;
        # only `exp` changes with time, so it is checked on every hit.
        self._verified: dict[str, tuple[Principal, float | None]] = {}

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise _unauthorized("Authorization header ontbreekt (Bearer JWT verwacht).")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("Authorization header moet 'Bearer <JWT>' zijn.")
        hit = self._verified.get(token)
        if hit is not None:
            principal, exp = hit
            if exp is None or time.time() <= exp + LEEWAY_SECONDS:
                return principal
            self._verified.pop(token, None)
            raise _unauthorized("Token is verlopen.")
        principal, exp = self._verify(token)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (principal, exp)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float | None]:
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _unauthorized("Token is geen geldige JWT.") from None
        if header.get("alg") != "HS256":
            raise _unauthorized("Token moet met HS256 ondertekend zijn.")
        client_id = claims.get("client_id", claims.get("iss"))
        client = self._clients.get(client_id) if isinstance(client_id, str) else None
        if client is None:
            raise _unauthorized("Onbekende client.")
        try:
            verified = jwt.decode(
                token, client.secret, algorithms=["HS256"], leeway=LEEWAY_SECONDS,
                options={"verify_aud": False, "verify_iss": False},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("Token is verlopen.") from None
        except jwt.PyJWTError:
            raise _unauthorized("Token is ongeldig of verkeerd ondertekend.") from None
        exp = verified.get("exp")
        return Principal(client.client_id, _narrow(client.scopes, verified)), (
            float(exp) if isinstance(exp, (int, float)) else None)


def _narrow(granted: frozenset[str], claims: Mapping[str, Any]) -> frozenset[str]:
    """A `scope` (space-separated) or `scopes` (list) claim narrows the grants, never widens them."""
    claimed: list[str] | None = None
    if "scope" in claims:
        value = claims["scope"]
        if not isinstance(value, str):
            raise _unauthorized("Claim 'scope' moet een string zijn.")
        claimed = value.split()
    elif "scopes" in claims:
        value = claims["scopes"]
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise _unauthorized("Claim 'scopes' moet een lijst van strings zijn.")
        claimed = value
    if claimed is None:
        return granted
    return granted & expand(claimed)
