"""The delivery metrics, through the OpenTelemetry metrics API (a no-op without a MeterProvider)."""

from __future__ import annotations

import threading
import weakref
from typing import Any, Iterable

from opentelemetry import metrics

__all__ = ["Instruments", "LIVE_WORKERS", "get_instruments"]


class Instruments:
    """The delivery metrics (OpenTelemetry metrics API; a no-op without a MeterProvider)."""

    def __init__(self, meter_provider: metrics.MeterProvider | None = None,
                 workers: Any = None) -> None:
        meter = metrics.get_meter("verwerkingen_otel.delivery", meter_provider=meter_provider)
        self._workers = workers
        self.delivered = meter.create_counter(
            "verwerkingen.delivery.delivered", unit="{action}", description="actions delivered")
        self.retried = meter.create_counter(
            "verwerkingen.delivery.retried", unit="{attempt}", description="failed tries that will be retried")
        self.dead_lettered = meter.create_counter(
            "verwerkingen.delivery.dead_lettered", unit="{action}", description="actions refused for good")
        self.dropped = meter.create_counter(
            "verwerkingen.delivery.dropped", unit="{action}", description="actions dropped (memory delivery, queue full)")
        self.latency = meter.create_histogram(
            "verwerkingen.delivery.latency", unit="s", description="from recording to delivery")
        meter.create_observable_gauge(
            "verwerkingen.outbox.depth", callbacks=[self._observe_depth], unit="{action}",
            description="actions waiting for delivery")

    def _observe_depth(self, options: Any) -> Iterable[metrics.Observation]:
        for worker in list(self._workers if self._workers is not None else LIVE_WORKERS):
            for name, depth in worker.depths().items():
                yield metrics.Observation(depth, {"exporter": name, "delivery": worker.kind})


LIVE_WORKERS: weakref.WeakSet[Any] = weakref.WeakSet()
_instruments: Instruments | None = None
_instruments_lock = threading.Lock()


def get_instruments(worker: Any, meter_provider: metrics.MeterProvider | None) -> Instruments:
    """The global provider's instruments are shared; an explicit provider gets its own."""
    global _instruments
    if meter_provider is not None:
        return Instruments(meter_provider, weakref.WeakSet([worker]))
    with _instruments_lock:
        if _instruments is None:
            _instruments = Instruments()
        return _instruments
