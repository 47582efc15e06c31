"""What the blocking and the asyncio client share: settings, operations and reading answers.

No I/O here. `BaseClient` checks the settings once and builds every request through
`Operations`; each twin in `_client` adds only its httpx pool, `send_raw` and closing, so the
two differ only in `async`/`await`.
"""

from __future__ import annotations

import ssl
from typing import Any, Mapping

import httpx

from ._config import ClientSettings
from ._log_privacy import hide_persons_in_httpx_log
from ._operations import ActieBody, Operations

__all__ = ["BaseClient"]


class BaseClient:
    """Settings and request building for both twins."""

    def __init__(self, base_url: str, *, client_id: str | None, secret: str | None,
                 token: str | None, timeout: float, connect_timeout: float | None,
                 verify: bool | str | ssl.SSLContext, cert: str | tuple[str, str] | None,
                 headers: Mapping[str, str] | None, max_connections: int) -> None:
        self._settings = ClientSettings.build(
            base_url, client_id=client_id, secret=secret, token=token, timeout=timeout,
            connect_timeout=connect_timeout, verify=verify, cert=cert, headers=headers,
            max_connections=max_connections,
        )
        self._ops = Operations(self._settings.base_url, self._settings.headers)
        hide_persons_in_httpx_log()  # list and Inzage URLs name the person: not in httpx's INFO lines

    def _pool_options(self) -> dict[str, Any]:
        return self._settings.pool_options()

    def create_request(self, body: ActieBody, idempotency_key: str) -> httpx.Request:
        """The POST /verwerkingsacties request for `body`, for `send_raw` (the delivery worker).

        `body` may be the JSON already encoded (bytes, as the outbox holds it): it is sent as
        it is, with `Content-Type: application/json`; a dict or Verwerkingsactie is encoded once.
        """
        return self._ops.create(body, idempotency_key).request
