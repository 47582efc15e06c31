"""Getting recorded actions to their exporters durably: the record, the outbox, the worker, the
retry policy, the metrics, the exporters, and one way to build all of it from the settings.

Imports only `client` and `model` of ours; capture composes it (`build_delivery`).
"""

from __future__ import annotations

from .._exports import publish

from ._cli import add_outbox_parser
from ._deliveries import MemoryDelivery, OutboxDelivery, SyncDelivery
from ._errors import AuthFailure, DeliveryFailure, PermanentFailure, RecordingError, RetryableFailure
from ._factories import (
    DEFAULT_OUTBOX,
    api_exporter,
    build_delivery,
    console_exporter,
    memory_delivery,
    outbox_delivery,
    register_delivery,
    register_exporter,
    registered_names,
    sync_delivery,
    unregister_delivery,
    unregister_exporter,
)
from ._outbox import DeadLetter, Outbox, OutboxError, OutboxRow
from ._policy import RetryPolicy
from ._record import ActionExporter, Delivery, Record, SpanInfo, encode_body, split_span, wants_span, with_span
from .exporters import ApiExporter, ConsoleExporter, InMemoryExporter

__all__ = [
    "DEFAULT_OUTBOX",
    "ActionExporter",
    "ApiExporter",
    "AuthFailure",
    "ConsoleExporter",
    "DeadLetter",
    "Delivery",
    "DeliveryFailure",
    "InMemoryExporter",
    "MemoryDelivery",
    "Outbox",
    "OutboxDelivery",
    "OutboxError",
    "OutboxRow",
    "PermanentFailure",
    "Record",
    "RecordingError",
    "SpanInfo",
    "RetryPolicy",
    "RetryableFailure",
    "SyncDelivery",
    "add_outbox_parser",
    "api_exporter",
    "build_delivery",
    "console_exporter",
    "encode_body",
    "memory_delivery",
    "outbox_delivery",
    "register_delivery",
    "register_exporter",
    "registered_names",
    "split_span",
    "sync_delivery",
    "unregister_delivery",
    "unregister_exporter",
    "wants_span",
    "with_span",
]

publish(globals(), __all__, __name__)  # reprs and docs show the short path
