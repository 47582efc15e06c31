"""Logregels over OTLP through the official OpenTelemetry span exporters (proto-http or gRPC).

The official exporters answer only SUCCESS or FAILURE; delivery must tell a refusal from an
outage. Over HTTP our own `requests` session (a public parameter of the exporter) carries a
response hook that notes each answer's status, Retry-After and any OTLP partial success, per
thread; on a transient answer (408/425/429/5xx) it also stops the exporter's own retry loop
(which, in older releases, sleeps up to a minute), so the outbox retries, as for the VNG path.
Over gRPC the exporter tells nothing more than FAILURE.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from ...ldv import ERROR, OK, Logregel

__all__ = ["Answer", "Coalescer", "GRPC", "HTTP_PROTOBUF", "OtlpTransport", "readable_span"]

HTTP_PROTOBUF, GRPC = "http/protobuf", "grpc"
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_STATUS = {ERROR: Status(StatusCode.ERROR), OK: Status(StatusCode.OK)}
_UNSET = Status(StatusCode.UNSET)
_TRANSIENT = {408, 425, 429}


class _Answered(Exception):
    """Raised by the response hook to end the exporter's own retries; the answer is noted."""


def readable_span(r: Logregel, resources: dict[Any, Resource], scope: InstrumentationScope) -> ReadableSpan:
    """A logregel as the SDK span the official exporters encode (one Resource per distinct one)."""
    key = tuple(sorted((k, tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in r.resource.items()))
    resource = resources.get(key)
    if resource is None:
        if len(resources) > 1000:  # distinct systemen and versions are few; never grow without bound
            resources.clear()
        resource = resources[key] = Resource(dict(r.resource))
    trace_id = int(r.trace_id, 16)
    parent = SpanContext(trace_id, int(r.parent_span_id, 16), False, _SAMPLED) if r.parent_span_id else None
    return ReadableSpan(
        name=r.name, context=SpanContext(trace_id, int(r.span_id, 16), False, _SAMPLED), parent=parent,
        resource=resource, attributes=dict(r.attributes), kind=SpanKind.INTERNAL,
        status=_STATUS.get(r.status, _UNSET), start_time=r.start_time_ns, end_time=r.end_time_ns,
        instrumentation_scope=scope,
    )


@dataclass(frozen=True)
class Answer:
    """How one export went. `status` is the HTTP status (None: no answer, or gRPC)."""

    ok: bool
    status: int | None = None
    rejected: int = 0
    message: str = ""
    retry_after: str | None = None


class OtlpTransport:
    """One official OTLP span exporter of this process, and what it was last answered."""

    def __init__(self, protocol: str, *, endpoint: str | None = None, timeout: float | None = None,
                 headers: dict[str, str] | None = None, auth: Callable[[Any], Any] | None = None,
                 scope: InstrumentationScope | None = None) -> None:
        self.protocol = protocol
        self._options = dict(endpoint=endpoint, timeout=timeout, headers=headers, auth=auth)
        self._scope = scope or InstrumentationScope("verwerkingen-otel.ldv")
        self._seen = threading.local()
        self._resources: dict[Any, Resource] = {}
        self._lock = threading.Lock()
        self._exporter = self._build()
        self._pid = os.getpid()

    def _build(self) -> Any:
        endpoint, timeout, headers, auth = (self._options[k] for k in ("endpoint", "timeout", "headers", "auth"))
        if self.protocol == GRPC:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

            return GrpcExporter(endpoint=endpoint, timeout=timeout, headers=headers)
        import requests
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        session = requests.Session()
        session.hooks["response"].append(self._on_response)
        if auth is not None:
            session.auth = auth
        return HttpExporter(endpoint=endpoint, timeout=timeout, headers=headers, session=session)

    def _on_response(self, response: Any, *_args: Any, **_kwargs: Any) -> None:
        rejected, message = 0, ""
        if response.status_code == 200 and response.content:
            from google.protobuf.message import DecodeError
            from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

            try:
                partial = ExportTraceServiceResponse.FromString(response.content).partial_success
                rejected, message = partial.rejected_spans, partial.error_message
            except DecodeError:  # a JSON or odd answer to a protobuf request: nothing to read
                pass
        self._seen.answer = Answer(200 <= response.status_code < 300 and not rejected, response.status_code,
                                   rejected, message, response.headers.get("Retry-After"))
        if response.status_code in _TRANSIENT or response.status_code >= 500:
            raise _Answered(f"HTTP {response.status_code}")

    @property
    def exporter(self) -> Any:
        """The exporter of this process: a forked child never shares the parent's connections."""
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._exporter = self._build()
                    self._pid = os.getpid()
        return self._exporter

    def send(self, regels: Sequence[Logregel]) -> Answer:
        """Export the records as one request; what the collector answered."""
        self._seen.answer = None
        spans = [readable_span(r, self._resources, self._scope) for r in regels]
        try:
            result = self.exporter.export(spans)
        except Exception:  # noqa: BLE001 - our hook's stop, or (older releases) a network error
            result = SpanExportResult.FAILURE
        seen: Answer | None = self._seen.answer
        if seen is not None and (seen.rejected or not seen.ok):
            return seen
        if result is SpanExportResult.SUCCESS:
            return seen or Answer(True)
        return Answer(False)

    def shutdown(self) -> None:
        if self._pid == os.getpid():
            self._exporter.shutdown()


class _Slot:
    __slots__ = ("regels", "answer", "batch", "done")

    def __init__(self, regels: Sequence[Logregel]) -> None:
        self.regels = regels
        self.answer: Answer | None = None
        self.batch = 1
        self.done = threading.Event()


class Coalescer:
    """Group commit for exports: records the worker's threads hand in at the same time leave in
    one OTLP request (the official exporters are made for batches); each caller gets that
    request's answer and the batch size, to re-send alone when a verdict may be its own."""

    def __init__(self, transport: OtlpTransport, max_spans: int = 512) -> None:
        self.transport = transport
        self.max_spans = max_spans
        self._lock = threading.Lock()
        self._pending: list[_Slot] = []
        self._busy = False

    def send(self, regels: Sequence[Logregel]) -> tuple[Answer, int]:
        slot = _Slot(regels)
        with self._lock:
            self._pending.append(slot)
            leader = not self._busy
            self._busy = True
        if not leader:
            slot.done.wait()
            assert slot.answer is not None
            return slot.answer, slot.batch
        while True:  # the leader sends what is waiting, until nothing is (its own slot goes first)
            with self._lock:
                batch, spans = [], 0
                while self._pending and (not batch or spans + len(self._pending[0].regels) <= self.max_spans):
                    spans += len(self._pending[0].regels)
                    batch.append(self._pending.pop(0))
                if not batch:
                    self._busy = False
                    break
            try:
                answer = self.transport.send([r for s in batch for r in s.regels])
            except Exception:  # noqa: BLE001 - an exporter bug: every waiting caller hears of it
                answer = Answer(False)
            for s in batch:
                s.answer, s.batch = answer, len(batch)
                s.done.set()
        assert slot.answer is not None
        return slot.answer, slot.batch
