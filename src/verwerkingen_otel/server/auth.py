"""Authentication (JWT HS256 per registered client) and scope rules of NOTES §5.

The server, not the token, decides what a client may do: a scope claim in the token can only
narrow the grants from the clients file. Tokens and secrets never reach a log line or an error.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import jwt

from .errors import ApiError, ConfigError
from .toml_files import read_toml


log = logging.getLogger("verwerkingen_otel.server.auth")

ACTIONS = ("create", "read", "update", "delete")
ALL_SCOPES: frozenset[str] = frozenset(f"{a}:{lvl}" for a in ACTIONS for lvl in ("normal", "confidential"))
LEEWAY_SECONDS = 30
MAX_TOKEN_AGE_SECONDS = 3600  # NOTES §5: a token without `exp` expires at `iat` + this
MIN_SECRET_BYTES = 32


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
    data = read_toml(path, option)
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
        if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
            # NOTES §5: a short HS256 secret can be brute-forced offline from one token
            raise ConfigError(f"{where}: `secret` must be at least {MIN_SECRET_BYTES} bytes "
                              f"(it has {len(secret.encode('utf-8'))})")
        scopes = entry.get("scopes", [])
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ConfigError(f"{where}: `scopes` must be a list of strings")
        bad = [s for s in scopes if s not in ALL_SCOPES]
        if bad:
            raise ConfigError(f"{where}: unknown scopes {bad} (known: {sorted(ALL_SCOPES)})")
        clients[client_id] = Client(client_id, secret, expand(scopes))
    return clients


# NOTES §5: every 401 has the same body, so a caller cannot tell an unknown client from a bad
# signature or an expired token (and so cannot probe which client ids exist).
UNAUTHORIZED_DETAIL = "Geen geldig token: Authorization moet 'Bearer <JWT>' zijn, ondertekend en niet verlopen."


class _Refused(Exception):
    """Why a token was refused: for the server log (a fixed phrase, never a value)."""


def _unauthorized(reason: str) -> ApiError:
    log.info("401: %s", reason)
    return ApiError(401, "not_authenticated", UNAUTHORIZED_DETAIL,
                    headers={"WWW-Authenticate": 'Bearer realm="verwerkingenlog"'})


class Authenticator:
    """Checks `Authorization: Bearer <JWT>` against the registered clients."""

    CACHE_SIZE = 4096

    def __init__(self, clients: Mapping[str, Client], *, max_token_age: float = MAX_TOKEN_AGE_SECONDS) -> None:
        self._clients = dict(clients)
        self._max_age = max_token_age
        # Verified tokens, so a client reusing its token is not re-verified on every call:
        # token -> (principal, expiry). The same string always verifies the same way; only the
        # time changes, so the expiry (exp, else iat + maximum age) is checked on every hit.
        self._verified: dict[str, tuple[Principal, float]] = {}
        # verified against when the client is unknown, so both refusals cost the same
        self._decoy = secrets.token_bytes(MIN_SECRET_BYTES)

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise _unauthorized("no Authorization header")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("Authorization is not 'Bearer <JWT>'")
        hit = self._verified.get(token)
        if hit is not None:
            principal, expiry = hit
            if time.time() < expiry + LEEWAY_SECONDS:  # PyJWT's rule: expired when exp <= now - leeway
                return principal
            self._verified.pop(token, None)
            raise _unauthorized("token expired")
        try:
            principal, expiry = self._verify(token)
        except _Refused as e:
            raise _unauthorized(str(e)) from None
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (principal, expiry)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _Refused("not a JWT") from None
        if header.get("alg") != "HS256":
            raise _Refused("not HS256")
        client_id = claims.get("client_id", claims.get("iss"))
        client = self._clients.get(client_id) if isinstance(client_id, str) else None
        try:
            verified = jwt.decode(
                token, client.secret if client is not None else self._decoy, algorithms=["HS256"],
                leeway=LEEWAY_SECONDS, options={"verify_aud": False, "verify_iss": False},
            )
        except jwt.ExpiredSignatureError:
            raise _Refused("unknown client" if client is None else "token expired") from None
        except jwt.PyJWTError:
            raise _Refused("unknown client" if client is None else "bad signature or claims") from None
        if client is None:  # pragma: no cover - the decoy secret never verifies
            raise _Refused("unknown client")
        expiry = self._expiry(verified)
        return Principal(client.client_id, _narrow(client.scopes, verified)), expiry

    def _expiry(self, claims: Mapping[str, Any]) -> float:
        """`exp`, else `iat` + the maximum age (NOTES §5); both read as PyJWT validated them."""
        # jwt.decode has checked both: each is present only as something int() accepts
        exp = int(claims["exp"]) if "exp" in claims else None
        iat = int(claims["iat"]) if "iat" in claims else None
        if exp is None and iat is None:
            raise _Refused("token has neither exp nor iat")
        if exp is not None and iat is not None and exp - iat > self._max_age:
            raise _Refused("token lives longer than the maximum token age")
        expiry = float(exp if exp is not None else iat + self._max_age)  # type: ignore[operator]
        if time.time() >= expiry + LEEWAY_SECONDS:
            raise _Refused("token expired")
        return expiry


def _narrow(granted: frozenset[str], claims: Mapping[str, Any]) -> frozenset[str]:
    """A `scope` (space-separated) or `scopes` (list) claim narrows the grants, never widens them."""
    claimed: list[str] | None = None
    if "scope" in claims:
        value = claims["scope"]
        if not isinstance(value, str):
            raise _Refused("claim 'scope' is not a string")
        claimed = value.split()
    elif "scopes" in claims:
        value = claims["scopes"]
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise _Refused("claim 'scopes' is not a list of strings")
        claimed = value
    if claimed is None:
        return granted
    return granted & expand(claimed)
