"""The `api` exporter: one POST /verwerkingsacties per record, its id as Idempotency-Key.

The log's answer is sorted into the delivery failure kinds (retryable, auth, permanent) that
the worker acts on.
"""

from __future__ import annotations

import logging
import os

from ...client import TransportError, VerwerkingenlogClient, failure_kind, parse_retry_after, safe_problem_text
from .._errors import AuthFailure, PermanentFailure, RetryableFailure
from .._record import Record

__all__ = ["ApiExporter"]

logger = logging.getLogger("verwerkingen_otel.delivery")

def _safe_title(title: object) -> str:
    """The log's problem title for our messages, which reach ordinary logs: masked like the
    client's exceptions. The full problem JSON is kept with the dead letter in the outbox."""
    return safe_problem_text(title)



class ApiExporter:
    """The `api` exporter: POSTs each record to the log over one keep-alive pool."""

    name = "api"

    def __init__(self, api_url: str, *, client_id: str | None = None, secret: str | None = None,
                 token: str | None = None, timeout: float = 10.0, verify: bool | str = True,
                 cert: str | tuple[str, str] | None = None, max_connections: int = 8,
                 name: str = "api") -> None:
        self.name = name
        self._settings = dict(client_id=client_id, secret=secret, token=token, timeout=timeout,
                              verify=verify, cert=cert, max_connections=max_connections)
        self._api_url = api_url
        self._client = VerwerkingenlogClient(api_url, **self._settings)  # fails fast on bad settings
        if client_id is None and token is None and cert is None:  # at configure(): a forgotten secret shows now
            logger.warning("exporter %r sends no credentials to %s: a log that requires a token answers 401 and "
                           "every action waits in the outbox; set VERWERKINGEN_CLIENT_ID and VERWERKINGEN_SECRET, "
                           "or VERWERKINGEN_TOKEN (a destination: client_id with secret_env or secret_file, or "
                           "token_env or token_file)", name, api_url)
        self._pid = os.getpid()

    @property
    def client(self) -> VerwerkingenlogClient:
        """The pool of this process: a forked child never shares the parent's connections."""
        if self._pid != os.getpid():
            self._client = VerwerkingenlogClient(self._api_url, **self._settings)
            self._pid = os.getpid()
        return self._client

    def export(self, record: Record) -> None:
        client = self.client
        try:
            response = client.send_raw(client.create_request(record.content.encode(), record.id))
        except TransportError as exc:
            raise RetryableFailure(str(exc)) from None
        status = response.status_code
        if status in (200, 201):
            return
        try:
            problem = response.json()
        except ValueError:
            problem = None
        if not isinstance(problem, dict):
            problem = {"status": status, "title": response.reason_phrase or f"HTTP {status}"}
        problem.setdefault("status", status)
        title = _safe_title(problem.get("title") or response.reason_phrase)
        kind = failure_kind(status)  # the client's one status mapping
        if kind == "retry":
            raise RetryableFailure(f"HTTP {status} {title}".strip(),
                                   retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if kind == "auth":
            raise AuthFailure(f"HTTP {status} {title}".strip(), status=status, problem=problem)
        if kind == "permanent":
            if status in (404, 405):  # a log never answers its own collection so: the URL is wrong
                title = (f"{title.rstrip('.')}: no verwerkingenlog at {self._api_url}/verwerkingsacties; check the log's "
                         f"base URL (VERWERKINGEN_API_URL, or api_url of the destination), usually ending in /api/v1")
            raise PermanentFailure(f"HTTP {status} {title}".strip(), problem=problem)
        # 1xx/3xx: a proxy or a wrong URL in between; not the log's verdict on this record.
        raise RetryableFailure(f"unexpected HTTP {status} from the log")

    def shutdown(self) -> None:
        if self._pid == os.getpid():
            self._client.close()
