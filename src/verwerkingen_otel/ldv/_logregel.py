"""The Logboek Dataverwerkingen record (a *logregel*) and its attribute names.

A plain value object shared by the exporter (which writes it as OTLP) and the log server (which
checks and stores it): ids as lowercase hex, times in nanoseconds since the epoch as OTLP has
them (the lezen API shows milliseconds), status as the standard spells it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence, Union

__all__ = [
    "CORE_KEYS", "DATA_SUBJECT_ID", "DATA_SUBJECT_ID_TYPE", "ERROR", "EXCEPTION_TYPE",
    "FOREIGN_PROCESSOR", "Logregel", "OK", "PROCESSING_ACTIVITY_ID", "PSEUDONYM_KEY_ID",
    "REMOVED_KEYS", "SERVICE_NAME", "SERVICE_VERSION", "STATUSES", "UNSET", "AttributeValue",
    "to_otlp_json",
]

PROCESSING_ACTIVITY_ID = "dpl.core.processing_activity_id"
DATA_SUBJECT_ID = "dpl.core.data_subject_id"
DATA_SUBJECT_ID_TYPE = "dpl.core.data_subject_id_type"
FOREIGN_PROCESSOR = "dpl.core.foreign_operation.processor"
CORE_KEYS = frozenset({PROCESSING_ACTIVITY_ID, DATA_SUBJECT_ID, DATA_SUBJECT_ID_TYPE, FOREIGN_PROCESSOR})
"""The only `dpl.*` keys a logregel may carry (extensions are not adopted)."""
REMOVED_KEYS = frozenset({
    "dpl.core.foreign_operation.span_id", "dpl.core.foreign_operation.trace_id",
    "dpl.core.operation_id", "dpl.core.user_id", "dpl.core.confidentiality_level",
})
"""Keys of drafts before 1.0.0 that must not be written."""
PSEUDONYM_KEY_ID = "verwerkingen.pseudonym_key_id"
EXCEPTION_TYPE = "exception.type"
SERVICE_NAME = "service.name"
SERVICE_VERSION = "service.version"

UNSET, OK, ERROR = "Unset", "Ok", "Error"
STATUSES = (UNSET, OK, ERROR)  # index = the OTLP status code

AttributeValue = Union[str, bool, int, float, Sequence[str]]


@dataclass(frozen=True)
class Logregel:
    """One logregel: a processing of at most one data subject."""

    trace_id: str  # 32 lowercase hex
    span_id: str  # 16 lowercase hex
    parent_span_id: str | None
    name: str
    start_time_ns: int
    end_time_ns: int
    status: str = UNSET
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    resource: Mapping[str, AttributeValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The lezen API's `ProcessingActivity` (times in milliseconds)."""
        body: dict[str, Any] = {
            "traceId": self.trace_id,
            "spanId": self.span_id,
            "status": self.status,
            "name": self.name,
            "startTime": self.start_time_ns // 1_000_000,
            "endTime": self.end_time_ns // 1_000_000,
            "attributes": {k: _plain(v) for k, v in self.attributes.items()},
            "resource": {"attributes": {k: _plain(v) for k, v in self.resource.items()}},
        }
        if self.parent_span_id:
            body["parentSpanId"] = self.parent_span_id
        return body


def _plain(value: AttributeValue) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def _any_value(value: AttributeValue) -> dict[str, Any]:
    """OTLP/JSON AnyValue (int64 as a decimal string, as the OTLP JSON mapping writes it)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    return {"arrayValue": {"values": [_any_value(v) for v in value]}}


def _key_values(attributes: Mapping[str, AttributeValue]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _any_value(v)} for k, v in attributes.items()]


def to_otlp_json(logregels: Iterable[Logregel], scope: str = "verwerkingen-otel.ldv") -> bytes:
    """An OTLP/JSON ExportTraceServiceRequest, one resource entry per distinct resource."""
    groups: dict[str, tuple[Mapping[str, AttributeValue], list[dict[str, Any]]]] = {}
    for r in logregels:
        key = json.dumps({k: _plain(v) for k, v in r.resource.items()}, sort_keys=True)
        span: dict[str, Any] = {
            "traceId": r.trace_id, "spanId": r.span_id, "name": r.name, "kind": 1,
            "startTimeUnixNano": str(r.start_time_ns), "endTimeUnixNano": str(r.end_time_ns),
            "attributes": _key_values(r.attributes), "status": {"code": STATUSES.index(r.status)},
        }
        if r.parent_span_id:
            span["parentSpanId"] = r.parent_span_id
        groups.setdefault(key, (r.resource, []))[1].append(span)
    body = {"resourceSpans": [
        {"resource": {"attributes": _key_values(resource)}, "scopeSpans": [{"scope": {"name": scope}, "spans": spans}]}
        for resource, spans in groups.values()
    ]}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
