"""Authentication to the log: an HS256 JWT of our own, renewed before it runs out (NOTES §5).

HS256 is signed with the stdlib `hmac` (a dozen lines) rather than making PyJWT a core
dependency; the core install stays opentelemetry + wrapt + httpx. One `httpx.Auth` flow serves
both the blocking and the asyncio client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from typing import Any, Iterator, Mapping

import httpx

__all__ = ["TOKEN_LIFETIME", "jwt_hs256", "make_auth"]

TOKEN_LIFETIME = 300.0
"""Seconds a self-signed JWT is valid; it is renewed once less than a fifth of that is left."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_hs256(claims: Mapping[str, Any], secret: str) -> str:
    """A compact JWT signed HS256 with `secret` (RFC 7519; NOTES §5)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret.encode("utf-8"), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


class _BearerAuth(httpx.Auth):
    """Adds `Authorization: Bearer …`: a ready token, or a JWT renewed before it expires."""

    def __init__(self, *, client_id: str | None, secret: str | None, token: str | None,
                 lifetime: float = TOKEN_LIFETIME) -> None:
        self._client_id = client_id
        self._secret = secret
        self._token = token
        self._lifetime = lifetime
        self._expires = float("inf") if token else 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            now = time.time()
            if self._token is None or now > self._expires - self._lifetime / 5:
                assert self._client_id is not None and self._secret is not None
                iat = int(now)
                self._token = jwt_hs256(
                    {"client_id": self._client_id, "iat": iat, "exp": iat + int(self._lifetime)},
                    self._secret,
                )
                self._expires = iat + self._lifetime
            return self._token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        yield request


def make_auth(client_id: str | None, secret: str | None, token: str | None) -> httpx.Auth | None:
    """Auth from settings; a half-given pair fails here, naming the missing setting."""
    if token:
        return _BearerAuth(client_id=None, secret=None, token=token)
    if client_id or secret:
        if not client_id:
            raise ValueError("client_id is required when secret is set")
        if not secret:
            raise ValueError("secret is required when client_id is set")
        return _BearerAuth(client_id=client_id, secret=secret, token=None)
    return None
