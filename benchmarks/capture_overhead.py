"""Per-call cost of capture, side by side in one run.

Measures (1) a function decorated with @verwerkingsactie recording one action with one object
through the synchronous in-memory delivery (`delivery=sync`, `exporters=memory`), (2) the same
function undecorated, and (3) one bare OpenTelemetry SDK span carrying the same attributes (an
always-on provider with one no-op span processor), and prints the ratios. Target: decorated
overhead (1 - 2) <= 1.5 x the bare span (3).

Also timed: the decorated function under `delivery=memory` (bounded queue + worker thread; the
POST body is made by the worker). Its worker's CPU time counts too: the clock is process CPU
time (all threads), and each batch ends with `force_flush()`, so every action it timed has
reached the exporter inside its window.

And, to see where the time goes: the bare span exported to an InMemorySpanExporter (the
OpenTelemetry equivalent of "recorded in memory"), the decorated function called without a
person (the same span and context work, but no action is built or delivered), and the decorated
call with a delivery that discards what it gets (capture and the typed action, no record).

Everything goes through public APIs only: capture makes its span with `start_span(attributes=…)`
and builds the typed Verwerkingsactie itself (no span attributes are read back).

    .venv/bin/python benchmarks/capture_overhead.py [--calls N] [--rounds R]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from typing import Callable

from opentelemetry.sdk.trace import SpanLimits, SpanProcessor, Tracer, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Status, StatusCode

import verwerkingen_otel as vo
from verwerkingen_otel import capture as pipelines
from verwerkingen_otel.model import VERWERKTE_OBJECTEN, verwerkingsactie_attributes
from verwerkingen_otel.model import parse_verwerkingsactie
from verwerkingen_otel.delivery import register_delivery

BSN = "999993653"  # an official test BSN
BATCH = 500


def lookup(bsn: str | None) -> str | None:
    return bsn[:3] if bsn else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()

    queued = vo.configure(delivery="memory", exporters=["memory"], systeem="benchmark", strict=False,
                          memory_queue=100_000)
    queued_memory = queued.exporter("memory")
    pipeline = pipelines.build_pipeline(pipelines.load_settings(
        {"delivery": "sync", "exporters": ["memory"], "systeem": "benchmark", "strict": False}))
    pipelines.install(pipeline)
    memory = pipeline.exporter("memory")
    assert memory is not None and queued_memory is not None

    decorated = vo.verwerkingsactie(
        actie_naam="Raadplegen persoon",
        verwerkingsactiviteit_id="5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
        handeling_naam="Opvragen",
        objecten=[vo.persoon("bsn", betrokkenheid="Aanvrager", soorten_gegevens=["Naam", "Adres"])],
    )(lookup)

    decorated(BSN)
    recorded = parse_verwerkingsactie(memory.bodies[-1])
    attributes = verwerkingsactie_attributes(recorded)
    objects = attributes.pop(VERWERKTE_OBJECTEN)
    memory.clear()

    provider = TracerProvider(
        sampler=ALWAYS_ON,
        span_limits=SpanLimits(max_span_attributes=SpanLimits.UNSET, max_span_attribute_length=SpanLimits.UNSET),
        shutdown_on_exit=False,
    )
    provider.add_span_processor(SpanProcessor())  # a no-op processor: ours has one processor too
    tracer = provider.get_tracer("benchmark")
    exported = InMemorySpanExporter()
    recording_provider = TracerProvider(
        sampler=ALWAYS_ON,
        span_limits=SpanLimits(max_span_attributes=SpanLimits.UNSET, max_span_attribute_length=SpanLimits.UNSET),
        shutdown_on_exit=False,
    )
    recording_provider.add_span_processor(SimpleSpanProcessor(exported))
    recording_tracer = recording_provider.get_tracer("benchmark")
    ok = Status(StatusCode.OK)

    def span_with(tracer: Tracer) -> None:
        span = tracer.start_span("Raadplegen persoon", attributes=attributes)
        span.set_attribute(VERWERKTE_OBJECTEN, objects)
        span.set_status(ok)
        span.end()

    def bare_span() -> None:
        span_with(tracer)

    def exported_span() -> None:
        span_with(recording_tracer)

    def run_decorated() -> None:
        decorated(BSN)

    def run_queued() -> None:
        decorated(BSN)  # with `queued` installed for the batch (untimed switch, see below)

    def run_without_person() -> None:
        decorated(None)  # same span and context work; no object, so nothing is mapped or delivered

    def run_plain() -> None:
        lookup(BSN)

    class Discard:
        """A delivery that takes each action and keeps nothing: capture's own share."""

        def submit(self, actie: object) -> None:
            pass

        def force_flush(self, timeout: float = 5.0) -> bool:
            return True

        def shutdown(self, timeout: float = 5.0) -> bool:
            return True

    register_delivery("discard", lambda settings, exporters: Discard())
    discarding = pipelines.build_pipeline(pipelines.load_settings(
        {"delivery": "discard", "exporters": ["none"], "systeem": "benchmark", "strict": False}))

    def run_discarded() -> None:
        decorated(BSN)  # with `discarding` installed for the batch: the action is built, not kept

    cases: dict[str, Callable[[], None]] = {
        "undecorated": run_plain,
        "bare span": bare_span,
        "span+memory": exported_span,
        "decorated": run_decorated,
        "no person": run_without_person,
        "memory dlv": run_queued,
        "discarded": run_discarded,
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}

    def clear() -> None:
        memory.clear()  # type: ignore[union-attr]
        queued_memory.clear()  # type: ignore[union-attr]
        exported.clear()

    for _ in range(options.rounds):
        for name, fn in cases.items():
            if fn is run_discarded:
                pipelines.install(discarding)
                samples[name].append(_per_call(fn, options.calls, clear))
                pipelines.install(pipeline)
            elif fn is run_queued:
                pipelines.install(queued)
                samples[name].append(_per_call(fn, options.calls, clear, lambda: queued.force_flush(10.0)))
                pipelines.install(pipeline)
            else:
                samples[name].append(_per_call(fn, options.calls, clear))

    per_call = {name: statistics.median(values) for name, values in samples.items()}
    overhead = per_call["decorated"] - per_call["undecorated"]
    for name, seconds in per_call.items():
        print(f"{name:>12}: {seconds * 1e6:8.2f} µs/call")
    print(f"{'overhead':>12}: {overhead * 1e6:8.2f} µs/call (decorated - undecorated)")
    capture_only = per_call["no person"] - per_call["undecorated"]
    print(f"of which the action and its delivery: {(overhead - capture_only) * 1e6:.2f} µs/call")
    ratio = overhead / per_call["bare span"]
    print(f"ratio overhead / bare span: {ratio:.2f}x (target <= 1.50x)")
    print(f"ratio overhead / span exported to memory: {overhead / per_call['span+memory']:.2f}x")
    print(f"ratio capture without recording / bare span: {capture_only / per_call['bare span']:.2f}x")
    built = per_call["discarded"] - per_call["no person"]
    delivered = per_call["decorated"] - per_call["discarded"]
    print(f"breakdown of the decorated overhead: span and context work {capture_only * 1e6:.2f} µs, "
          f"the person and the typed action {built * 1e6:.2f} µs, record + sync delivery + memory exporter "
          f"{delivered * 1e6:.2f} µs")
    queued_overhead = per_call["memory dlv"] - per_call["undecorated"]
    print(f"delivery=memory (worker CPU included): {queued_overhead * 1e6:.2f} µs/call, "
          f"{queued_overhead / overhead:.2f}x sync, {queued_overhead / per_call['bare span']:.2f}x bare span")
    pipeline.shutdown()
    queued.shutdown()
    discarding.shutdown()


def _per_call(fn: Callable[[], None], calls: int, clear: Callable[[], None],
              flush: Callable[[], object] | None = None) -> float:
    """CPU seconds per call (robust on a shared machine), in batches of BATCH calls.

    The in-memory sinks are emptied between batches (untimed), so the working set stays
    bounded as it would with a real delivery, which writes each record out and lets it go.
    """
    gc.collect()
    gc.disable()
    total = 0.0
    try:
        for _ in range(max(1, calls // BATCH)):
            start = time.process_time()
            for _ in range(BATCH):
                fn()
            if flush is not None:  # the worker's share of these calls lands inside the window
                flush()
            total += time.process_time() - start
            clear()
        return total / (max(1, calls // BATCH) * BATCH)
    finally:
        gc.enable()


if __name__ == "__main__":
    main()
