"""The dedicated TracerProvider: always sampled, isolated from the application's tracing, linked."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import verwerkingen_otel as vo
from tests.support.otel_globals import global_tracer_provider
from verwerkingen_otel.testing import RecordedVerwerkingen

from tests.support.values import BSN_A


@pytest.fixture
def app_spans() -> Iterator[InMemorySpanExporter]:
    """The application's own global tracing, recording into memory; put back afterwards."""
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with global_tracer_provider(provider):
        yield exporter
    provider.shutdown()


def test_application_tracing_never_sees_verwerkingen_spans(
    verwerkingen: RecordedVerwerkingen, app_spans: InMemorySpanExporter
) -> None:
    tracer = trace.get_tracer("app")
    with tracer.start_as_current_span("GET /personen") as app_span:
        with vo.verwerkingsactie(actie_naam="Raadplegen") as actie:
            actie.add_object(BSN_A)
            assert trace.get_current_span() is app_span  # ours never becomes the current span
        with tracer.start_as_current_span("child"):
            pass
    names = [s.name for s in app_spans.get_finished_spans()]
    assert names == ["child", "GET /personen"]
    for span in app_spans.get_finished_spans():
        assert not [k for k in span.attributes if k.startswith("verwerkingen.")]
        assert BSN_A not in str(dict(span.attributes))
    child = app_spans.get_finished_spans()[0]
    assert child.parent.span_id == app_span.get_span_context().span_id  # app trace untouched
    verwerkingen.assert_one(actie_naam="Raadplegen")


def test_action_links_to_the_active_application_span(
    verwerkingen: RecordedVerwerkingen, app_spans: InMemorySpanExporter
) -> None:
    ours = InMemorySpanExporter()
    verwerkingen.pipeline.provider.add_span_processor(SimpleSpanProcessor(ours))
    with trace.get_tracer("app").start_as_current_span("handler") as app_span:
        with vo.verwerkingsactie(actie_naam="Gelinkt") as actie:
            actie.add_object(BSN_A)
    with vo.verwerkingsactie(actie_naam="Zonder") as actie:
        actie.add_object(BSN_A)
    linked, alone = ours.get_finished_spans()
    assert [link.context for link in linked.links] == [app_span.get_span_context()]
    assert linked.parent is None and linked.context.trace_id != app_span.get_span_context().trace_id
    assert alone.links == ()


def test_provider_is_not_the_global_one(verwerkingen: RecordedVerwerkingen) -> None:
    assert verwerkingen.pipeline.provider is not trace.get_tracer_provider()


def test_span_carries_the_action_with_its_attributes(verwerkingen: RecordedVerwerkingen) -> None:
    ours = InMemorySpanExporter()
    verwerkingen.pipeline.provider.add_span_processor(SimpleSpanProcessor(ours))
    with vo.verwerkingsactie(actie_naam="Attributen") as actie:
        actie.add_object(BSN_A)
    (span,) = ours.get_finished_spans()
    assert span.name == "Attributen"
    assert span.attributes["verwerkingen.actie_naam"] == "Attributen"
    assert span.start_time == actie.tijdstip_us * 1000


def test_sampler_sdk_switch_and_attribute_limits_from_the_environment_are_ignored() -> None:
    """OTEL_* variables configure the application's tracing, never the compliance log."""
    script = textwrap.dedent(
        """
        import verwerkingen_otel as vo
        handle = vo.configure(delivery="sync", exporters=["memory"])
        with vo.verwerkingsactie(actie_naam="x" * 200) as actie:
            for _ in range(200):
                actie.add_object(999993653, betrokkenheid="Getuige-" + str(_))
        (body,) = handle.exporter("memory").bodies
        assert body["actieNaam"] == "x" * 200, body["actieNaam"]
        assert len(body["verwerkteObjecten"]) == 200
        print("ok")
        """
    )
    env = {
        "OTEL_TRACES_SAMPLER": "always_off",
        "OTEL_SDK_DISABLED": "true",
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "10",
        "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "2",
        "OTEL_ATTRIBUTE_COUNT_LIMIT": "2",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
