"""OTLP test helpers: logregels as an OTLP/HTTP protobuf body, and spans back out of a request.

Written with opentelemetry-proto directly (not our exporter), so tests of the log's ingest do
not depend on the code that produces logregels.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from verwerkingen_otel.ldv import STATUSES, Logregel

__all__ = ["any_value", "protobuf_body", "request_of", "spans_in"]


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))


def _kvs(attributes: Any) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def request_of(regels: Iterable[Logregel], *, status_codes: Sequence[int] | None = None) -> ExportTraceServiceRequest:
    """One ResourceSpans per record (simple, and legal OTLP)."""
    request = ExportTraceServiceRequest()
    for i, r in enumerate(regels):
        span = Span(
            trace_id=bytes.fromhex(r.trace_id), span_id=bytes.fromhex(r.span_id),
            parent_span_id=bytes.fromhex(r.parent_span_id) if r.parent_span_id else b"", name=r.name,
            kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=r.start_time_ns, end_time_unix_nano=r.end_time_ns,
            attributes=_kvs(r.attributes),
            status=Status(code=status_codes[i] if status_codes else STATUSES.index(r.status)),
        )
        rs = ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])
        rs.resource.attributes.extend(_kvs(r.resource))
        request.resource_spans.append(rs)
    return request


def protobuf_body(regels: Iterable[Logregel]) -> bytes:
    return request_of(regels).SerializeToString()


def spans_in(request: ExportTraceServiceRequest) -> list[tuple[dict[str, Any], Span]]:
    """(resource attributes as plain values, span) for every span of a request."""
    out = []
    for rs in request.resource_spans:
        resource = {kv.key: _plain(kv.value) for kv in rs.resource.attributes}
        for ss in rs.scope_spans:
            out.extend((resource, span) for span in ss.spans)
    return out


def _plain(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_plain(v) for v in value.array_value.values]
    return None if which is None else getattr(value, which)
