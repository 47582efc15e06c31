"""Getting recorded actions to their exporters durably: the record, the outbox, the worker, the
retry policy, the metrics, the exporters, and one way to build all of it from the settings.

Imports only `client` and `model` of ours; capture composes it (`build_delivery`).
"""

from __future__ import annotations

from .._exports import publish

from ._cli import add_outbox_parser
from ._inzage import InzageResult, add_inzage_parser, inzage_across
from ._deliveries import MemoryDelivery, OutboxDelivery, SyncDelivery
from ._destinations import Destination, DestinationsError, DestinationsFile, Route, load_destinations
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
from ._routing import ActiviteitLookup, Router, build_routed_exporters, load_routing
from ._tenants import Tenant, TenantsFile, current_tenant, load_tenants, tenant_var, use_tenant
from .exporters import ApiExporter, ConsoleExporter, InMemoryExporter

__all__ = [
    "ActiviteitLookup",
    "DEFAULT_OUTBOX",
    "ActionExporter",
    "ApiExporter",
    "AuthFailure",
    "ConsoleExporter",
    "DeadLetter",
    "Delivery",
    "Destination",
    "DestinationsError",
    "DestinationsFile",
    "DeliveryFailure",
    "InMemoryExporter",
    "InzageResult",
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
    "Route",
    "Router",
    "SyncDelivery",
    "Tenant",
    "TenantsFile",
    "add_inzage_parser",
    "add_outbox_parser",
    "api_exporter",
    "build_delivery",
    "build_routed_exporters",
    "console_exporter",
    "current_tenant",
    "encode_body",
    "inzage_across",
    "load_destinations",
    "load_routing",
    "load_tenants",
    "memory_delivery",
    "outbox_delivery",
    "register_delivery",
    "register_exporter",
    "registered_names",
    "split_span",
    "sync_delivery",
    "tenant_var",
    "unregister_delivery",
    "unregister_exporter",
    "wants_span",
    "with_span",
    "use_tenant",
]

publish(globals(), __all__, __name__)  # reprs and docs show the short path
