"""configure(): the dedicated TracerProvider, the span processor and the delivery behind it.

Verwerkingen spans never touch the application's global TracerProvider: they carry BSNs. The
provider here always samples (whatever OTEL_TRACES_SAMPLER says) and does not truncate or drop
attributes. Its one processor maps each finished span to a Verwerkingsactie and submits it
synchronously, before the decorated call returns, so a failure to record fails that call.

Deliveries and exporters are chosen by name from two small registries; names whose code lives
in another module are resolved lazily ("module:function"), so adding one is a registry entry.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence, Union

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, Tracer, TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision, Sampler, SamplingResult

from . import __version__
from .attributes import span_to_verwerkingsactie
from .config import ConfigurationError, Settings, load_settings
from .delivery_base import ActionExporter, Delivery, Record, RecordingError
from .exporters import ConsoleExporter, InMemoryExporter
from .model import Verwerkingsactie

__all__ = [
    "ConfigurationError",
    "Pipeline",
    "SyncDelivery",
    "build_pipeline",
    "configure",
    "current_pipeline",
    "force_flush",
    "get_pipeline",
    "install",
    "register_delivery",
    "register_exporter",
    "set_trusted_attributes",
    "shutdown",
]

logger = logging.getLogger("verwerkingen_otel.pipeline")

ExporterFactory = Callable[[Settings], ActionExporter]
DeliveryFactory = Callable[[Settings, Sequence[ActionExporter]], Delivery]


class SyncDelivery:
    """Calls every exporter before `submit` returns; any failure raises RecordingError.

    Nothing is ever pending, so flushing is immediate. Right for tests, demos and local sinks;
    the durable default is the outbox delivery.
    """

    def __init__(self, exporters: Sequence[ActionExporter]) -> None:
        self.exporters = tuple(exporters)
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings, exporters: Sequence[ActionExporter]) -> SyncDelivery:
        return cls(exporters)

    def submit(self, actie: Verwerkingsactie) -> None:
        if self._closed:
            raise RecordingError("the verwerkingen delivery is shut down; the action was not recorded")
        record = Record.of(actie)
        for exporter in self.exporters:
            try:
                exporter.export(record)
            except Exception as exc:
                raise RecordingError(
                    f"exporter {exporter.name!r} could not record the action ({type(exc).__name__})"
                ) from exc

    def force_flush(self, timeout: float = 5.0) -> bool:
        return True

    def shutdown(self, timeout: float = 5.0) -> bool:
        if not self._closed:
            self._closed = True
            for exporter in self.exporters:
                try:
                    exporter.shutdown()
                except Exception:
                    logger.exception("exporter %r failed to shut down", exporter.name)
        return True


def _fills_directly() -> bool:
    """Whether this SDK's span attributes keep a plain dict we may fill without re-cleaning."""
    probe = BoundedAttributes(None, None, immutable=False, max_value_len=None)
    return type(getattr(probe, "_dict", None)) is dict and hasattr(probe, "_immutable")


_FILL_DIRECTLY = _fills_directly()


def set_trusted_attributes(span: Any, attributes: Mapping[str, str]) -> None:
    """Put text attributes that capture already validated on an unended verwerkingen span.

    The SDK would clean every value again (type checks, copies: ~0.4 µs an attribute, the
    largest single cost of a span); for plain strings under our unlimited SpanLimits that
    cleaning returns them unchanged, so they go straight into the span's attribute dict. Any
    other SDK shape (another attributes class, limits, an ended span) takes the public path.
    """
    bounded = getattr(span, "_attributes", None)
    if (
        _FILL_DIRECTLY
        and type(bounded) is BoundedAttributes
        and bounded.maxlen is None
        and bounded.max_value_len is None
        and not bounded._immutable  # noqa: SLF001
    ):
        bounded._dict.update(attributes)  # noqa: SLF001
    else:
        span.set_attributes(attributes)


class _AlwaysSample(Sampler):
    """ALWAYS_ON, with one shared result for a root span that brings no attributes.

    ALWAYS_ON makes a new result per span, reading the parent's trace state; an action with no
    parent and no caller's trace (an explicitly empty context) has none, so the answer is always
    the same. Anything else is ALWAYS_ON's own answer.
    """

    _ROOT = SamplingResult(Decision.RECORD_AND_SAMPLE)

    def should_sample(self, parent_context: Any, trace_id: int, name: str, kind: Any = None,
                      attributes: Any = None, links: Any = None, trace_state: Any = None) -> SamplingResult:
        if parent_context is not None and not parent_context and not attributes and trace_state is None:
            return self._ROOT
        return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return ALWAYS_ON.get_description()


# --- registries -------------------------------------------------------------------------------

_Entry = Union[Callable[..., Any], str]

def _console_exporter(settings: Settings) -> ConsoleExporter:
    """`exporters=console`; a `console_file` that cannot be opened fails naming the setting."""
    try:
        return ConsoleExporter(settings.console_file)
    except OSError as exc:
        raise settings.error("console_file", f"cannot be opened for appending ({type(exc).__name__})") from None


_EXPORTERS: dict[str, _Entry] = {
    "console": _console_exporter,
    "memory": lambda settings: InMemoryExporter(),
    "api": "verwerkingen_otel.delivery:api_exporter",
}
_DELIVERIES: dict[str, _Entry] = {
    "sync": SyncDelivery.from_settings,
    "outbox": "verwerkingen_otel.delivery:outbox_delivery",
    "memory": "verwerkingen_otel.delivery:memory_delivery",
}


def register_exporter(name: str, factory: ExporterFactory | str) -> None:
    """Make `exporters=name` build `factory(settings)`; a "module:function" string is imported lazily."""
    _EXPORTERS[name.lower()] = factory


def register_delivery(name: str, factory: DeliveryFactory | str) -> None:
    """Make `delivery=name` build `factory(settings, exporters)`; strings are imported lazily."""
    _DELIVERIES[name.lower()] = factory


def _resolve(registry: dict[str, _Entry], name: str, settings: Settings, setting: str) -> Callable[..., Any]:
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


# --- the pipeline -----------------------------------------------------------------------------


class _ActionProcessor(SpanProcessor):
    """Maps each ended verwerkingen span to an action and submits it, on the ending thread."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def on_end(self, span: ReadableSpan) -> None:
        pipeline = self._pipeline
        try:
            actie = span_to_verwerkingsactie(span, lazy=True)  # delivery needs only the body
        except Exception as exc:  # a span we cannot read: not recorded, so fail the call
            pipeline.count("recording_failures")
            raise RecordingError(f"the action could not be read from its span ({type(exc).__name__})") from exc
        if actie is None:
            pipeline.count("not_recorded_no_objects")
            return
        if pipeline.is_shut_down:
            pipeline.count("recording_failures")
            raise RecordingError("the verwerkingen pipeline is shut down; the action was not recorded")
        try:
            pipeline.delivery.submit(actie)
        except RecordingError:
            pipeline.count("recording_failures")
            raise
        except Exception as exc:
            pipeline.count("recording_failures")
            raise RecordingError(f"the action could not be recorded ({type(exc).__name__})") from exc


@dataclass
class Pipeline:
    """One configured pipeline: what `configure()` returns. Timeouts are seconds."""

    settings: Settings
    delivery: Delivery
    exporters: tuple[ActionExporter, ...]
    provider: TracerProvider = field(init=False)
    tracer: Tracer = field(init=False)
    counters: dict[str, int] = field(default_factory=dict)
    base_attributes: Mapping[str, str] = field(init=False)
    is_shut_down: bool = False

    def __post_init__(self) -> None:
        from .attributes import GEGEVENSBRON, SYSTEEM, UITVOERDER

        self._lock = threading.Lock()
        self.strict = self.settings.strict
        self.provider = TracerProvider(
            sampler=_AlwaysSample(),
            resource=Resource.create({"service.name": self.settings.systeem or "verwerkingen-otel"}),
            span_limits=SpanLimits(
                max_span_attributes=SpanLimits.UNSET,
                max_span_attribute_length=SpanLimits.UNSET,
                max_attributes=SpanLimits.UNSET,
                max_attribute_length=SpanLimits.UNSET,
            ),
            shutdown_on_exit=False,
        )
        # OTEL_SDK_DISABLED turns off the application's tracing, never the compliance log.
        self.provider._disabled = False  # noqa: SLF001
        self.provider.add_span_processor(_ActionProcessor(self))
        tracer = self.provider.get_tracer("verwerkingen_otel", __version__)
        assert isinstance(tracer, Tracer)
        self.tracer = tracer
        base = {SYSTEEM: self.settings.systeem, GEGEVENSBRON: self.settings.gegevensbron,
                UITVOERDER: self.settings.uitvoerder}
        self.base_attributes = {k: v for k, v in base.items() if v is not None}

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + n

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


def build_pipeline(settings: Settings) -> Pipeline:
    """Build (but do not install) a pipeline; raises ConfigurationError naming the setting."""
    exporters = []
    for name in settings.exporters:
        factory = _resolve(_EXPORTERS, name, settings, "exporters")
        exporters.append(factory(settings))
    factory = _resolve(_DELIVERIES, settings.delivery, settings, "delivery")
    delivery = factory(settings, tuple(exporters))
    return Pipeline(settings=settings, delivery=delivery, exporters=tuple(exporters))


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
    pipeline = build_pipeline(settings)
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

