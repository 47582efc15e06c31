"""A client's settings checked once: base URL, credentials, timeouts, TLS and the pool size.

Both twins are built from the same `ClientSettings`, so a setting means the same thing to the
blocking and the asyncio client, and a mistake fails in the constructor, naming the parameter.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from typing import Any, Mapping

import httpx

from ._auth import make_auth

__all__ = ["ClientSettings", "tls_context"]


def tls_context(verify: bool | str | ssl.SSLContext = True,
                cert: str | tuple[str, str] | None = None) -> ssl.SSLContext | bool:
    """An SSLContext for `verify` (a CA bundle file or directory) and `cert` (client
    certificate, optionally with its key file); `False` only when verification is off."""
    if isinstance(verify, ssl.SSLContext):
        context = verify
    elif verify is False:
        if cert is None:
            return False
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str):
        if os.path.isdir(verify):
            context = ssl.create_default_context(capath=verify)
        else:
            context = ssl.create_default_context(cafile=verify)
    else:
        context = ssl.create_default_context()
    if cert is not None:
        certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
        context.load_cert_chain(certfile, keyfile)
    return context


@dataclass
class ClientSettings:
    """What a client needs to build its httpx pool, already checked."""

    base_url: str
    auth: httpx.Auth | None
    timeout: httpx.Timeout
    verify: ssl.SSLContext | bool
    limits: httpx.Limits
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, base_url: str, *, client_id: str | None, secret: str | None, token: str | None,
              timeout: float, connect_timeout: float | None, verify: bool | str | ssl.SSLContext,
              cert: str | tuple[str, str] | None, headers: Mapping[str, str] | None,
              max_connections: int) -> ClientSettings:
        if not base_url or "://" not in base_url:
            raise ValueError("base_url must be an absolute URL such as http://127.0.0.1:8000/api/v1")
        return cls(
            base_url=base_url,
            auth=make_auth(client_id, secret, token),
            timeout=httpx.Timeout(timeout, connect=connect_timeout if connect_timeout is not None else timeout),
            verify=tls_context(verify, cert),
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            headers=dict(headers or {}),
        )

    def pool_options(self) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client` / `httpx.AsyncClient`, the transport aside.

        `headers` is not among them: `send` would not add them, so `Operations` puts them on
        each request it builds."""
        return dict(auth=self.auth, timeout=self.timeout, verify=self.verify, limits=self.limits)
