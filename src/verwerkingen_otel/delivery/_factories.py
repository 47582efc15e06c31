"""One way to build each delivery and exporter from the settings, chosen by name.

`build_delivery(settings)` is what `configure()` calls. Deliveries and exporters live in small
registries; a "module:function" string is imported lazily, so adding one is a registry entry.
`settings` is capture's Settings, used only through its attributes and `error(name, reason)`
(which makes the ConfigurationError that names the setting as the caller wrote it).
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Callable, Sequence, Union

from ..client import tls_context
from ._deliveries import MemoryDelivery, OutboxDelivery, SyncDelivery
from ._destinations import DestinationsError
from ._errors import RecordingError
from ._policy import RetryPolicy
from ._record import ActionExporter, Delivery
from ._routing import ActiviteitLookup, build_routed_exporters, load_routing, make_router
from .exporters import ApiExporter, ConsoleExporter, InMemoryExporter

__all__ = [
    "DEFAULT_OUTBOX",
    "api_exporter",
    "build_delivery",
    "console_exporter",
    "memory_delivery",
    "outbox_delivery",
    "register_delivery",
    "register_exporter",
    "registered_names",
    "sync_delivery",
    "unregister_delivery",
    "unregister_exporter",
]

DEFAULT_OUTBOX = "verwerkingen-outbox.db"
"""The outbox file when `outbox` / VERWERKINGEN_OUTBOX is not set: in the working directory."""


def _policy(settings: Any) -> RetryPolicy:
    return RetryPolicy.capped(settings.retry_after_max)


def api_exporter(settings: Any) -> ActionExporter:
    """`exporters=api`: POST to `api_url` with the JWT or token, TLS files and timeout."""
    cert: str | tuple[str, str] | None = settings.client_cert
    if settings.client_key and not settings.client_cert:  # named the way client_key was given
        raise settings.missing("client_cert", "client_key", f"is required when {settings.source('client_key')} is set")
    if settings.client_cert and settings.client_key:
        cert = (settings.client_cert, settings.client_key)
    for name in ("ca_bundle", "client_cert", "client_key"):
        path = getattr(settings, name)
        if path and not os.path.isfile(path):
            raise settings.error(name, "is not a readable file")
    try:
        tls_context(settings.ca_bundle or True)
    except (OSError, ValueError):
        raise settings.error("ca_bundle", "cannot be loaded: not a PEM file of CA certificates") from None
    try:
        tls_context(True, cert)
    except (OSError, ValueError):
        raise settings.error("client_cert", "cannot be loaded with its key: not a PEM certificate and key") from None
    try:
        return ApiExporter(settings.api_url, client_id=settings.client_id, secret=settings.secret,
                           token=settings.token, timeout=settings.timeout,
                           verify=settings.ca_bundle or True, cert=cert,
                           max_connections=settings.concurrency)
    except ValueError as exc:
        raise settings.error("api_url", str(exc)) from None


def outbox_delivery(settings: Any, exporters: Sequence[ActionExporter]) -> OutboxDelivery:
    """`delivery=outbox` (the default): the durable outbox at `outbox`, as durable as
    `outbox_durability` says (checked by the settings)."""
    path = settings.outbox or DEFAULT_OUTBOX
    try:
        return OutboxDelivery(exporters, path, concurrency=settings.concurrency, policy=_policy(settings),
                              durability=settings.outbox_durability)
    except RecordingError as exc:  # the message starts "outbox: "; the setting's own name replaces it
        raise settings.error("outbox", str(exc).removeprefix("outbox: ")) from None


def memory_delivery(settings: Any, exporters: Sequence[ActionExporter]) -> MemoryDelivery:
    """`delivery=memory`: bounded in-memory queue of `memory_queue` actions; can lose records."""
    return MemoryDelivery(exporters, max_queue=settings.memory_queue, concurrency=settings.concurrency,
                          policy=_policy(settings))


def console_exporter(settings: Any) -> ConsoleExporter:
    """`exporters=console`; a `console_file` that cannot be opened fails naming the setting."""
    try:
        return ConsoleExporter(settings.console_file)
    except OSError as exc:
        raise settings.error("console_file", f"cannot be opened for appending ({type(exc).__name__})") from None


def sync_delivery(settings: Any, exporters: Sequence[ActionExporter]) -> SyncDelivery:
    """`delivery=sync`: every exporter called before the decorated call returns."""
    return SyncDelivery(exporters)


ExporterFactory = Callable[[Any], ActionExporter]
DeliveryFactory = Callable[[Any, Sequence[ActionExporter]], Delivery]
_Entry = Union[Callable[..., Any], str]

_EXPORTERS: dict[str, _Entry] = {
    "console": console_exporter,
    "memory": lambda settings: InMemoryExporter(),
    "api": api_exporter,
    "ldv": "verwerkingen_otel.delivery.exporters._ldv:ldv_exporter",  # Logboek Dataverwerkingen over OTLP
}
_DELIVERIES: dict[str, _Entry] = {
    "sync": sync_delivery,
    "outbox": outbox_delivery,
    "memory": memory_delivery,
}


def register_exporter(name: str, factory: ExporterFactory | str) -> None:
    """Make `exporters=name` build `factory(settings)`; a "module:function" string is imported lazily."""
    _EXPORTERS[name.lower()] = factory


def register_delivery(name: str, factory: DeliveryFactory | str) -> None:
    """Make `delivery=name` build `factory(settings, exporters)`; strings are imported lazily."""
    _DELIVERIES[name.lower()] = factory


def unregister_exporter(name: str) -> None:
    """Forget `exporters=name` (a no-op for a name never registered)."""
    _EXPORTERS.pop(name.lower(), None)


def unregister_delivery(name: str) -> None:
    """Forget `delivery=name` (a no-op for a name never registered)."""
    _DELIVERIES.pop(name.lower(), None)


def registered_names() -> tuple[frozenset[str], frozenset[str]]:
    """The exporter names and the delivery names that can be configured now."""
    return frozenset(_EXPORTERS), frozenset(_DELIVERIES)


def _resolve(registry: dict[str, _Entry], name: str, settings: Any, setting: str) -> Callable[..., Any]:
    entry = registry.get(name)
    if entry is None:
        known = ", ".join(sorted(registry))
        raise settings.error(setting, f"unknown value; expected one of {known}")
    if callable(entry):
        return entry
    module_name, _, attr = entry.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise settings.error(setting, f"{name!r} is not available yet in this version") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise settings.error(setting, f"{name!r} is not available yet in this version")
    return factory  # type: ignore[no-any-return]


def build_delivery(settings: Any, routing: tuple[Any, Any] | None = None,
                   activiteit_ids: ActiviteitLookup | None = None,
                   ) -> tuple[Delivery, tuple[ActionExporter, ...]]:
    """The delivery and exporters `settings` name; raises the settings' ConfigurationError.

    With a destinations file (`routing`, else read from `settings.destinations`) every
    destination adds its lanes (`api:centraal`) and the delivery routes each action to its own;
    `activiteit` routes resolve through `activiteit_ids` (the registers' lookup).
    """
    if routing is None:
        routing = load_routing(settings) if getattr(settings, "destinations", None) else (None, None)
    dests, tenants = routing
    router = None
    if dests is not None:
        router = make_router(settings, dests, tenants, [name for name in settings.exporters], activiteit_ids)
    exporters = tuple(_resolve(_EXPORTERS, name, settings, "exporters")(settings) for name in settings.exporters)
    if dests is not None:
        try:
            exporters = tuple(build_routed_exporters(settings, dests)) + exporters
        except DestinationsError as exc:
            for exporter in exporters:
                exporter.shutdown()
            raise settings.error("destinations", str(exc)) from None
    delivery = _resolve(_DELIVERIES, settings.delivery, settings, "delivery")(settings, exporters)
    if router is not None:
        if not hasattr(delivery, "route"):
            delivery.shutdown(0)
            raise settings.error("delivery", "this delivery cannot route to several destinations")
        delivery.route = router.lanes  # type: ignore[attr-defined]
        _lane_settings(delivery, dests)
    return delivery, exporters


def _lane_settings(delivery: Delivery, dests: Any) -> None:
    """A destination's own `retry_after_max` / `concurrency` on each of its lanes (a delivery
    without a worker, `sync`, has no retries or queue for them to shape)."""
    set_lane = getattr(delivery, "set_lane", None)
    if set_lane is None:
        return
    for dest in dests.destinations.values():
        if dest.retry_after_max is None and dest.concurrency is None:
            continue
        policy = RetryPolicy.capped(dest.retry_after_max) if dest.retry_after_max is not None else None
        for lane in dest.lanes:
            set_lane(lane, policy=policy, limit=dest.concurrency)
