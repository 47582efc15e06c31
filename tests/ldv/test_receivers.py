"""The test receivers speak OTLP as the official exporters expect, and fail when told to
(they stand in for an OpenTelemetry Collector, which no package registry here offers)."""

from __future__ import annotations

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import SpanContext, TraceFlags

from tests.support.otlp_receivers import OtlpGrpcReceiver, OtlpHttpReceiver


def spans(n: int) -> list[ReadableSpan]:
    return [ReadableSpan(name=f"s{i}", context=SpanContext(0xABC, i + 1, False, TraceFlags(1)),
                         resource=Resource({"service.name": "t"}), attributes={"i": i},
                         start_time=1_000 + i, end_time=2_000 + i) for i in range(n)]


def test_http_receiver_accepts_fails_and_refuses() -> None:
    with OtlpHttpReceiver() as rx:
        exporter = HttpExporter(endpoint=rx.endpoint, timeout=5)
        assert exporter.export(spans(3)) is SpanExportResult.SUCCESS
        assert [s.name for _, s in rx.spans()] == ["s0", "s1", "s2"]
        assert rx.spans()[0][0] == {"service.name": "t"}
        rx.fail_next(1, 503)
        assert exporter.export(spans(1)) is SpanExportResult.SUCCESS  # the exporter retried once
        assert rx.attempts == 3
        rx.refuse(400)
        assert exporter.export(spans(1)) is SpanExportResult.FAILURE
        assert rx.attempts == 4 and len(rx.spans()) == 4
        exporter.shutdown()


def test_http_receiver_down_and_up_on_the_same_port() -> None:
    rx = OtlpHttpReceiver().start()
    rx.stop()
    exporter = HttpExporter(endpoint=rx.endpoint, timeout=1)
    assert exporter.export(spans(1)) is SpanExportResult.FAILURE
    rx.start()
    try:
        assert exporter.export(spans(1)) is SpanExportResult.SUCCESS
        assert len(rx.spans()) == 1
    finally:
        rx.stop()
        exporter.shutdown()


@pytest.mark.timeout(60)
def test_grpc_receiver_accepts_fails_and_refuses() -> None:
    with OtlpGrpcReceiver() as rx:
        exporter = GrpcExporter(endpoint=rx.endpoint, insecure=True, timeout=5)
        assert exporter.export(spans(2)) is SpanExportResult.SUCCESS
        assert [s.name for _, s in rx.wait_for_spans(2)] == ["s0", "s1"]
        rx.fail_next(1, grpc.StatusCode.UNAVAILABLE)
        assert exporter.export(spans(1)) is SpanExportResult.SUCCESS
        rx.refuse(grpc.StatusCode.INVALID_ARGUMENT)
        assert exporter.export(spans(1)) is SpanExportResult.FAILURE
        assert len(rx.spans()) == 3
        exporter.shutdown()
