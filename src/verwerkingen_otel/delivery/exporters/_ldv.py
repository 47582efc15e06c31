"""`exporters=ldv`: each recorded action as Logboek Dataverwerkingen logregels over OTLP.

Runs in the delivery worker, off the request path: the record's POST body and its span (trace
id, span id, parent, times, exception type; `Record.trace`) become logregels
(`verwerkingen_otel.ldv`), then one export through the official OpenTelemetry OTLP exporter
(proto-http by default, gRPC with OTEL_EXPORTER_OTLP_PROTOCOL=grpc; endpoint, headers, TLS and
timeout from the standard OTEL_EXPORTER_OTLP_* variables). The outbox removes the record only
when the collector acknowledged it. Failures map onto delivery's kinds like the api exporter's:

- HTTP 408/425/429/5xx, a network error: RetryableFailure (Retry-After honoured);
- HTTP 401/403: AuthFailure (retried, reported loudly);
- any other HTTP 4xx, or an OTLP partial success refusing spans: PermanentFailure (dead-lettered
  with the collector's reason);
- gRPC only says "failed": RetryableFailure, unless this record failed REFUSAL_ATTEMPTS times
  while other records of this exporter were accepted meanwhile — then the collector is up and
  refuses this one: PermanentFailure.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Mapping

from ...client import jwt_hs256
from ...ldv import ActieSpan, LdvError, LogregelMapping, load_key, load_processor_map
from ...model import ValidationError
from .._errors import AuthFailure, PermanentFailure, RetryableFailure
from .._record import Record, split_span
from ._otlp import GRPC, HTTP_PROTOBUF, Answer, Coalescer, OtlpTransport

__all__ = ["JwtAuth", "LdvExporter", "REFUSAL_ATTEMPTS", "ldv_exporter"]

logger = logging.getLogger("verwerkingen_otel.delivery")
REFUSAL_ATTEMPTS = 5
_RETRYABLE = {408, 425, 429}
_PROTOCOL_VARS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
_TOKEN_LIFETIME = 300


class LdvExporter:
    """`exporters=ldv`: each record's logregels, in the worker; records handed in at the same
    time by the worker's threads share one OTLP export (a refusal that may be one record's own —
    a partial success, a 4xx, a gRPC failure — is asked again for that record alone)."""

    name = "ldv"
    wants_span = True

    def __init__(self, mapping: LogregelMapping, transport: OtlpTransport, *, name: str = "ldv") -> None:
        self.name = name
        self.mapping = mapping
        self.transport = transport
        self._group = Coalescer(transport)
        self._lock = threading.Lock()
        self._successes = 0
        self._failing: dict[str, tuple[int, int]] = {}  # record id -> (failures, successes at the first)

    def export(self, record: Record) -> None:
        body, span = split_span(record.body)
        ids = None if span is None else ActieSpan(span.trace_id, span.span_id, span.parent_span_id,
                                                  span.start_ns, span.end_ns)
        try:
            regels = self.mapping.logregels(body, ids, error_type=None if span is None else span.error_type)
        except ValidationError as exc:  # never from capture; an outbox row edited by hand
            fields = ", ".join(sorted({e.name for e in exc.errors}))
            raise PermanentFailure(f"ldv: the record is no valid verwerkingsactie ({fields})",
                                   problem={"title": "invalid verwerkingsactie", "fields": fields}) from None
        answer, batch = self._group.send(regels)
        if batch > 1 and not answer.ok and self._maybe_own(answer):
            answer = self.transport.send(regels)  # this record's own verdict
        if answer.ok:
            with self._lock:
                self._successes += 1
                self._failing.pop(record.id, None)
            return
        self._raise(record.id, answer, len(regels))

    def _maybe_own(self, answer: Answer) -> bool:
        """A verdict that may concern some records of a shared export only."""
        status = answer.status
        if answer.rejected or (status is None and self.transport.protocol == GRPC):
            return True
        return status is not None and 400 <= status < 500 and status not in (401, 403, *_RETRYABLE)

    def _raise(self, record_id: str, answer: Answer, count: int) -> None:
        status = answer.status
        if answer.rejected:
            message = f"OTLP partial success: {answer.rejected} of {count} logregels refused"
            raise PermanentFailure(message, problem={"title": message,
                                                     "rejectedSpans": answer.rejected,
                                                     "errorMessage": answer.message[:2000]})
        if status is None:
            if self.transport.protocol == GRPC and self._refused_while_others_pass(record_id):
                raise PermanentFailure(
                    f"OTLP/gRPC export failed {REFUSAL_ATTEMPTS} times while other records were accepted",
                    problem={"title": "refused by the collector (gRPC)", "attempts": REFUSAL_ATTEMPTS})
            raise RetryableFailure("OTLP export failed (no answer from the collector)")
        if status in _RETRYABLE or status >= 500:
            retry_after = float(answer.retry_after) if (answer.retry_after or "").isdigit() else None
            raise RetryableFailure(f"OTLP HTTP {status}", retry_after=retry_after)
        if status in (401, 403):
            raise AuthFailure(f"OTLP HTTP {status}")
        if 400 <= status < 500:
            raise PermanentFailure(f"OTLP HTTP {status}", problem={"status": status, "title": f"OTLP HTTP {status}",
                                                                   "errorMessage": answer.message[:2000]})
        raise RetryableFailure(f"unexpected OTLP HTTP {status}")

    def _refused_while_others_pass(self, record_id: str) -> bool:
        with self._lock:
            failures, since = self._failing.get(record_id, (0, self._successes))
            failures += 1
            if len(self._failing) > 10_000:
                self._failing.clear()
            self._failing[record_id] = (failures, since)
            refused = failures >= REFUSAL_ATTEMPTS and self._successes > since
            if refused:
                self._failing.pop(record_id, None)
            return refused

    def shutdown(self) -> None:
        self.transport.shutdown()


class JwtAuth:
    """requests auth: a fresh HS256 JWT (client_id, iat, exp) before the last one runs out."""

    def __init__(self, client_id: str, secret: str) -> None:
        self._client_id, self._secret = client_id, secret
        self._token, self._expires = "", 0.0
        self._lock = threading.Lock()

    def token(self, lifetime: int | None = _TOKEN_LIFETIME) -> str:
        with self._lock:
            now = time.time()
            if lifetime is None:
                return jwt_hs256({"client_id": self._client_id, "iat": int(now)}, self._secret)
            if now > self._expires - lifetime / 5:
                self._token = jwt_hs256({"client_id": self._client_id, "iat": int(now),
                                         "exp": int(now) + lifetime}, self._secret)
                self._expires = now + lifetime
            return self._token

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


def _protocol(settings: Any, environ: Mapping[str, str]) -> str:
    for var in _PROTOCOL_VARS:
        value = environ.get(var, "").strip().lower()
        if value:
            if value not in (HTTP_PROTOBUF, GRPC):
                raise settings.error(var, "must be http/protobuf or grpc for the ldv exporter")
            return value
    return HTTP_PROTOBUF


def ldv_exporter(settings: Any, environ: Mapping[str, str] | None = None) -> LdvExporter:
    """`exporters=ldv`: key and processor map from the settings; endpoint, headers, TLS and
    timeout from the standard OTEL_EXPORTER_OTLP_* variables (read by the official exporter);
    the verwerkingenlog credentials (`client_id` + `secret`, or `token`) as the bearer token."""
    environ = os.environ if environ is None else environ
    protocol = _protocol(settings, environ)
    try:
        key = load_key(settings.ldv_key_file, settings.ldv_key_id, option=settings.source("ldv_key_file"),
                       id_option=settings.source("ldv_key_id"))
        processors = (load_processor_map(settings.ldv_processors, option=settings.source("ldv_processors"))
                      if settings.ldv_processors else {})
    except LdvError as exc:
        name = str(exc).split(":", 1)[0]
        raise settings.error(name, str(exc).split(": ", 1)[1]) from None
    try:
        if protocol == GRPC:
            import opentelemetry.exporter.otlp.proto.grpc.trace_exporter  # noqa: F401
        else:
            import opentelemetry.exporter.otlp.proto.http.trace_exporter  # noqa: F401
    except ImportError:
        extra = "ldv-grpc" if protocol == GRPC else "ldv"
        raise settings.error("exporters", f"the ldv exporter needs the {extra} extra: "
                                          f"pip install 'verwerkingen-otel[{extra}]'") from None
    from opentelemetry.sdk.resources import Resource

    version = Resource.create().attributes.get("service.version")  # OTEL_RESOURCE_ATTRIBUTES
    mapping = LogregelMapping(key, processors=processors, service_name=settings.systeem or "verwerkingen-otel",
                              service_version=str(version) if version is not None else None)
    auth = headers = None
    if settings.client_id and settings.secret:
        bearer = JwtAuth(settings.client_id, settings.secret)
        if protocol == GRPC:  # gRPC headers are fixed: a token without expiry
            headers = {"authorization": f"Bearer {bearer.token(lifetime=None)}"}
        else:
            auth = bearer
    elif settings.token:
        headers = {"authorization": f"Bearer {settings.token}"}
    transport = OtlpTransport(protocol, timeout=settings.timeout, headers=headers, auth=auth)
    return LdvExporter(mapping, transport)
