"""`VerwerkingenlogExporter`: an OpenTelemetry SpanExporter for teams that build their own pipeline.

It lives with capture because, like `configure()`, it composes a delivery from the settings.

Spans carrying the verwerkingen attributes (the model's span form) become actions and go
through a delivery — the durable outbox with the api exporter by default — so an outage of the
log never loses what the pipeline already handed over.
"""

from __future__ import annotations

import logging
import os
from typing import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ..delivery import ApiExporter, Delivery, OutboxDelivery, RecordingError
from ..model import span_to_verwerkingsactie
from ._errors import ConfigurationError
from ._settings import load_settings

__all__ = ["VerwerkingenlogExporter"]

logger = logging.getLogger("verwerkingen_otel.delivery")


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
            settings = load_settings({"api_url": api_url, "client_id": client_id, "secret": secret,
                                      "token": token, "outbox": outbox, "timeout": timeout})
            if settings.api_url is None:
                raise ConfigurationError("api_url", "is required (argument or VERWERKINGEN_API_URL)")
            if settings.outbox is None:
                raise ConfigurationError("outbox", "is required (argument or VERWERKINGEN_OUTBOX): "
                                                   "the path of the outbox file")
            exporter = ApiExporter(settings.api_url, client_id=settings.client_id, secret=settings.secret,
                                   token=settings.token, timeout=settings.timeout, verify=verify, cert=cert)
            delivery = OutboxDelivery([exporter], settings.outbox, durability=settings.outbox_durability)
        self.delivery = delivery

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
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
