"""configure(): the dedicated TracerProvider and the delivery behind it, installed once per process.

Verwerkingen spans never touch the application's global TracerProvider: they carry BSNs. The
provider here always samples (whatever OTEL_TRACES_SAMPLER says) and does not truncate or drop
attributes. Capture builds each action itself and hands it to `Pipeline.record`, which submits
it synchronously before the decorated call returns, so a failure to record fails that call.
Which delivery and exporters a pipeline gets is the delivery package's business
(`build_delivery`): capture only composes.
"""

from __future__ import annotations

import atexit
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

from .._version import __version__
from ..delivery import (
    DEFAULT_OUTBOX,
    ActionExporter,
    Delivery,
    DestinationsFile,
    RecordingError,
    SpanInfo,
    TenantsFile,
    build_delivery,
    load_routing,
    wants_span,
)
from ..model import GEGEVENSBRON, SYSTEEM, UITVOERDER, Verwerkingsactie
from ..register import Register
from ._activiteiten import check_annotations, load_register_setting, tenant_registers_of
from ._settings import Settings, load_settings
from ._tenant import load_tenant_registers

__all__ = [
    "Pipeline",
    "build_pipeline",
    "configure",
    "current_pipeline",
    "force_flush",
    "get_pipeline",
    "install",
    "shutdown",
]

logger = logging.getLogger("verwerkingen_otel.capture")

_UNLIMITED = SpanLimits(
    max_span_attributes=SpanLimits.UNSET,
    max_span_attribute_length=SpanLimits.UNSET,
    max_attributes=SpanLimits.UNSET,
    max_attribute_length=SpanLimits.UNSET,
)


@dataclass
class Pipeline:
    """One configured pipeline: what `configure()` returns. Timeouts are seconds.

    With `OTEL_SDK_DISABLED=true` the provider hands out non-recording spans (the SDK's own
    rule, which we do not override): the actions are still recorded, since capture builds them
    itself, but they carry no span ids of their own.
    """

    settings: Settings
    delivery: Delivery
    exporters: tuple[ActionExporter, ...]
    provider: TracerProvider = field(init=False)
    tracer: trace.Tracer = field(init=False)
    counters: dict[str, int] = field(default_factory=dict)
    register: Register | None = None  # the `register` setting's register of processing activities
    base_attributes: Mapping[str, str] = field(init=False)
    is_shut_down: bool = False
    tenants: TenantsFile | None = None  # the tenants file, when the service acts for several organisations
    tenant_registers: Mapping[str, Register] = field(default_factory=dict)  # each tenant's own register

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.strict = self.settings.strict
        self.provider = TracerProvider(
            sampler=ALWAYS_ON,
            resource=Resource.create({"service.name": self.settings.systeem or "verwerkingen-otel"}),
            span_limits=_UNLIMITED,
            shutdown_on_exit=False,
        )
        self.tracer = self.provider.get_tracer("verwerkingen_otel", __version__)
        base = {SYSTEEM: self.settings.systeem, GEGEVENSBRON: self.settings.gegevensbron,
                UITVOERDER: self.settings.uitvoerder}
        self.base_attributes = {k: v for k, v in base.items() if v is not None}
        self.wants_span = any(wants_span(e) for e in self.exporters)
        """Some exporter (ldv) writes spans of its own: capture hands it each action's span."""
        self.own_registers_only = self.tenants is not None and all(
            name in self.tenant_registers for name in self.tenants.tenants)
        """Every tenant has its own register: the `register` setting's plays no part in an action."""

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + n

    def record(self, actie: Verwerkingsactie, span: SpanInfo | None = None) -> None:
        """Hand one finished action to the delivery; RecordingError when it cannot be recorded.
        `span` (where and when it ran) is passed on only when given (`wants_span`)."""
        if self.is_shut_down:
            self.count("recording_failures")
            raise RecordingError("the verwerkingen pipeline is shut down; the action was not recorded")
        try:
            if span is None:
                self.delivery.submit(actie)
            else:
                self.delivery.submit(actie, span)
        except RecordingError:
            self.count("recording_failures")
            raise
        except Exception as exc:
            self.count("recording_failures")
            raise RecordingError(f"the action could not be recorded ({type(exc).__name__})") from exc

    def exporter(self, name: str) -> ActionExporter | None:
        """The configured exporter of that name, e.g. `pipeline.exporter("memory").bodies`."""
        return next((e for e in self.exporters if e.name == name), None)

    def force_flush(self, timeout: float = 5.0) -> bool:
        """Wait until nothing is pending or `timeout` seconds passed; True when all went out."""
        return self.delivery.force_flush(timeout)

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Flush, then stop; afterwards recording an action raises RecordingError."""
        if self.is_shut_down:
            return True
        self.is_shut_down = True
        try:
            return self.delivery.shutdown(timeout)
        finally:
            self.provider.shutdown()


@dataclass(frozen=True)
class Sources:
    """What a pipeline is built from besides its settings, read (and checked) before any delivery
    starts: the register, the destinations and tenants files, each tenant's own register."""

    register: Register | None
    routing: tuple[DestinationsFile | None, TenantsFile | None]
    tenant_registers: Mapping[str, Register]


def read_sources(settings: Settings) -> Sources:
    """Read the register and the routing files that `settings` name; ConfigurationError naming
    the setting when one cannot be had."""
    outbox = settings.outbox or DEFAULT_OUTBOX
    register = load_register_setting(settings, outbox)
    routing = load_routing(settings)
    return Sources(register, routing, load_tenant_registers(settings, routing[1], outbox))


def build_pipeline(settings: Settings, register: Register | None = None, sources: Sources | None = None) -> Pipeline:
    """Build (but do not install) a pipeline; raises ConfigurationError naming the setting.

    The registers and files are read first (`sources`, else from the settings), so an error in
    them leaves no delivery running.
    """
    if sources is None:
        sources = read_sources(settings) if register is None else Sources(
            register, load_routing(settings), {})
    registers = ([] if sources.register is None else [sources.register]) + list(sources.tenant_registers.values())
    # `activiteit` routes of a destinations file resolve through the registers
    delivery, exporters = build_delivery(settings, sources.routing, _activiteit_ids(registers) if registers else None)
    return Pipeline(settings=settings, delivery=delivery, exporters=exporters, register=sources.register,
                    tenants=sources.routing[1], tenant_registers=sources.tenant_registers)


def _activiteit_ids(registers: list[Register]) -> Any:
    """The registers' name -> ids lookup for routing: one name may be a different id in each
    tenant's register; None when no register knows it (unknown, or held twice in one)."""

    def lookup(naam: str) -> frozenset[str] | None:
        ids = set()
        for register in registers:
            try:
                ids.add(register.lookup(naam).id)
            except Exception:  # unknown or held more than once: the router names the route and key
                continue
        return frozenset(ids) or None

    return lookup


_lock = threading.RLock()
_current: Pipeline | None = None
_pinned: Pipeline | None = None
_atexit_registered = False


def configure(**overrides: Any) -> Pipeline:
    """Install a pipeline built from `overrides` and VERWERKINGEN_* (arguments win).

    The previous pipeline, if any, is flushed and shut down once the new one is built; a
    configuration error leaves the previous one in place.
    """
    global _current, _atexit_registered
    settings = load_settings(overrides)
    pinned = _pinned
    if pinned is not None:  # inside the pytest fixture: check the arguments, keep the test's pipeline
        logger.debug("configure() inside the verwerkingen fixture: the test's pipeline stays installed")
        return pinned
    sources = read_sources(settings)
    # every `activiteit` (and id) annotated so far, in each register that applies, named in one error
    check_annotations(sources.register, tenant_registers_of(sources.routing[1], sources.tenant_registers))
    pipeline = build_pipeline(settings, sources=sources)
    with _lock:
        previous, _current = _current, None
        try:
            if previous is not None:
                previous.shutdown()
        except Exception:  # the old pipeline's trouble must not keep the new one out
            logger.exception("the previous verwerkingen pipeline failed to shut down")
        finally:
            _current = pipeline
        if not _atexit_registered:
            atexit.register(_shutdown_at_exit)
            _atexit_registered = True
    return pipeline


def install(pipeline: Pipeline | None, *, pin: bool = False) -> Pipeline | None:
    """Make `pipeline` current without shutting down the one it replaces (which it returns).

    For the pytest plugin: a test's pipeline is swapped in and the previous one restored. A
    pinned pipeline stays current when the code under test calls `configure()` (an app factory
    often does): its arguments are still checked, but the test keeps seeing every action.
    """
    global _current, _pinned
    with _lock:
        previous, _current = _current, pipeline
        _pinned = pipeline if pin else None
    return previous


def current_pipeline() -> Pipeline | None:
    """The installed pipeline, or None before the first `configure()` or action."""
    return _current


def get_pipeline() -> Pipeline:
    """The installed pipeline; on first use, one configured from the environment."""
    pipeline = _current
    if pipeline is not None:
        return pipeline
    with _lock:
        if _current is None:
            configure()
        assert _current is not None
        return _current


def force_flush(timeout: float = 5.0) -> bool:
    """Flush the current pipeline (True when there is none)."""
    pipeline = _current
    return True if pipeline is None else pipeline.force_flush(timeout)


def shutdown(timeout: float = 5.0) -> bool:
    """Shut down the current pipeline; later actions fail with RecordingError until configure()."""
    pipeline = _current
    return True if pipeline is None else pipeline.shutdown(timeout)


def _shutdown_at_exit() -> None:
    try:
        shutdown(5.0)
    except Exception:  # never let the compliance log break interpreter exit
        logger.exception("verwerkingen pipeline failed to shut down at exit")

