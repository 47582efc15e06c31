"""Shipping actions to the verwerkingenlog: the `api` exporter and an OpenTelemetry SpanExporter.

`ApiExporter` is the `api` ActionExporter: one POST /verwerkingsacties per record with the
record's id as Idempotency-Key, the log's answer sorted into the delivery failure kinds
(retryable, auth, permanent). `VerwerkingenlogExporter` wraps the same path as an OpenTelemetry
`SpanExporter`, for teams that build their own OTel pipeline: spans carrying verwerkingen
attributes become POST bodies and go through a delivery (the durable outbox by default).
"""

from __future__ import annotations

import logging
import os
import re
from typing import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .client import TransportError, VerwerkingenlogClient, failure_kind, parse_retry_after
from .delivery_base import (
    AuthFailure,
    Delivery,
    PermanentFailure,
    Record,
    RecordingError,
    RetryableFailure,
)

__all__ = ["ApiExporter", "VerwerkingenlogExporter"]

_DIGITS = re.compile(r"[0-9]{5,}")


def _safe_title(title: object) -> str:
    """The log's problem title for our messages, which reach ordinary logs: another server may
    quote the record in it, so long digit runs (a BSN) are masked and the length is capped.
    The full problem JSON is kept with the dead letter in the owner-only outbox."""
    text = " ".join(str(title or "").split())[:120]
    return _DIGITS.sub("…", text)

logger = logging.getLogger("verwerkingen_otel.exporter")


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
            response = client.send_raw(client.create_request(record.body, record.id))
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
            raise AuthFailure(f"HTTP {status} {title}".strip())
        if kind == "permanent":
            raise PermanentFailure(f"HTTP {status} {title}".strip(), problem=problem)
        # 1xx/3xx: a proxy or a wrong URL in between; not the log's verdict on this record.
        raise RetryableFailure(f"unexpected HTTP {status} from the log")

    def shutdown(self) -> None:
        if self._pid == os.getpid():
            self._client.close()


class VerwerkingenlogExporter(SpanExporter):
    """An OpenTelemetry SpanExporter that records verwerkingen spans in the verwerkingenlog.

    Spans without verwerkingen attributes (or without persons) are skipped. Each action is handed
    to `delivery` — by default an `OutboxDelivery` at `outbox` with an `ApiExporter` — so an
    outage of the log never loses what the pipeline already handed over.
    """

    def __init__(self, api_url: str | None = None, *, client_id: str | None = None,
                 secret: str | None = None, token: str | None = None,
                 outbox: str | os.PathLike[str] | None = None, delivery: Delivery | None = None,
                 timeout: float = 10.0, verify: bool | str = True,
                 cert: str | tuple[str, str] | None = None) -> None:
        if delivery is None:
            # the same settings, env vars and checks as configure(): errors name the setting
            from .config import ConfigurationError, load_settings
            from .delivery import OutboxDelivery

            settings = load_settings({"api_url": api_url, "client_id": client_id, "secret": secret,
                                      "token": token, "outbox": outbox, "timeout": timeout})
            if settings.api_url is None:
                raise ConfigurationError("api_url", "is required (argument or VERWERKINGEN_API_URL)")
            if settings.outbox is None:
                raise ConfigurationError("outbox", "is required (argument or VERWERKINGEN_OUTBOX): "
                                                   "the path of the outbox file")
            exporter = ApiExporter(settings.api_url, client_id=settings.client_id, secret=settings.secret,
                                   token=settings.token, timeout=settings.timeout, verify=verify, cert=cert)
            delivery = OutboxDelivery([exporter], settings.outbox)
        self.delivery = delivery

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        from .attributes import span_to_verwerkingsactie

        result = SpanExportResult.SUCCESS
        for span in spans:
            try:
                actie = span_to_verwerkingsactie(span)
            except Exception as exc:  # a verwerkingen span we cannot read: said loudly, never dropped silently
                logger.error("verwerkingen span %r not recorded: its attributes do not form a valid "
                             "verwerkingsactie (%s)", span.name, type(exc).__name__)
                result = SpanExportResult.FAILURE
                continue
            if actie is None:
                continue
            try:
                self.delivery.submit(actie)
            except RecordingError:
                result = SpanExportResult.FAILURE
        return result

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.delivery.force_flush(timeout_millis / 1000.0)

    def shutdown(self) -> None:
        self.delivery.shutdown(5.0)
