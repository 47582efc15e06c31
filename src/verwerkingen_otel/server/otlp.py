"""OTLP/HTTP traces in and out: decode a request (protobuf or JSON) into logregels, encode answers.

Decoding uses opentelemetry-proto. OTLP/JSON differs from protobuf's own JSON mapping in one
way that matters: trace and span ids are hex, not base64; they are converted before parsing.
Each span is judged on its own: one that cannot become a logregel gives reasons, not a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Union

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from ..ldv import STATUSES, Logregel

__all__ = [
    "JSON", "PROTOBUF", "OtlpDecodeError", "decode_request", "encode_response", "encode_status",
    "media_type", "spans_of",
]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_ID_KEYS = ("traceId", "spanId", "parentSpanId")
MAX_DEPTH = 8  # nested arrays/kvlists in an attribute value

Decoded = Union[Logregel, "list[str]"]


class OtlpDecodeError(ValueError):
    """The body is not an OTLP ExportTraceServiceRequest (the message never quotes the body)."""


def media_type(content_type: str | None) -> str | None:
    """PROTOBUF, JSON, or None for anything else."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return {PROTOBUF: PROTOBUF, "application/protobuf": PROTOBUF, JSON: JSON}.get(media)


def decode_request(body: bytes, kind: str) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    if kind == PROTOBUF:
        try:
            request.ParseFromString(body)
        except (DecodeError, RecursionError, ValueError):
            raise OtlpDecodeError("the body is not a protobuf ExportTraceServiceRequest") from None
        return request
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise OtlpDecodeError("the body is not JSON (UTF-8)") from None
    if not isinstance(data, dict):
        raise OtlpDecodeError("the body is not a JSON object")
    try:
        _hex_ids_to_base64(data)
        json_format.ParseDict(data, request, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, AttributeError, ValueError, RecursionError):
        raise OtlpDecodeError("the body is not an OTLP/JSON ExportTraceServiceRequest") from None
    return request


def _hex_ids_to_base64(data: dict[str, Any]) -> None:
    """OTLP/JSON ids are hex; protobuf's JSON parser expects base64. A bad id becomes empty."""
    for resource_spans in _list(data.get("resourceSpans")):
        for scope_spans in _list(_dict(resource_spans).get("scopeSpans")):
            for span in _list(_dict(scope_spans).get("spans")):
                if not isinstance(span, dict):
                    continue
                for holder in (span, *(link for link in _list(span.get("links")) if isinstance(link, dict))):
                    for key in _ID_KEYS:
                        if isinstance(holder.get(key), str):
                            holder[key] = _hex_to_base64(holder[key])


def _hex_to_base64(text: str) -> str:
    try:
        return base64.b64encode(bytes.fromhex(text)).decode("ascii")
    except ValueError:
        return ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def spans_of(request: ExportTraceServiceRequest) -> list[Decoded]:
    """Every span of the request, in order: a Logregel, or the reasons it cannot be one."""
    out: list[Decoded] = []
    for resource_spans in request.resource_spans:
        try:
            resource = _attributes(resource_spans.resource.attributes)
        except ValueError as e:
            resource_problem: str | None = f"resource: {e}"
        else:
            resource_problem = None
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if resource_problem:
                    out.append([resource_problem])
                    continue
                try:
                    attributes = _attributes(span.attributes)
                except ValueError as e:
                    out.append([str(e)])
                    continue
                code = span.status.code
                out.append(Logregel(
                    trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex() or None, name=span.name,
                    start_time_ns=span.start_time_unix_nano, end_time_ns=span.end_time_unix_nano,
                    status=STATUSES[code] if 0 <= code < len(STATUSES) else f"code {code}",
                    attributes=attributes, resource=resource,
                ))
    return out


def _attributes(key_values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in key_values:
        if kv.key in out:
            raise ValueError(f"attribute {_safe(kv.key)} appears twice")
        out[kv.key] = _value(kv.value, kv.key, 0)
    return out


def _value(value: AnyValue, key: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError(f"attribute {_safe(key)} is nested too deeply")
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v, key, depth + 1) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value, key, depth + 1) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return binascii.hexlify(value.bytes_value).decode("ascii")
    return None if which is None else getattr(value, which)


def _safe(key: str) -> str:
    """An attribute key for a message: printable, short (a key is a name, not personal data)."""
    return "".join(c if c.isprintable() else "?" for c in key[:100])


def encode_response(kind: str, rejected: int, message: str) -> bytes:
    """ExportTraceServiceResponse; partial_success only when something was refused."""
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.CopyFrom(ExportTracePartialSuccess(rejected_spans=rejected, error_message=message))
    if kind == PROTOBUF:
        return response.SerializeToString()
    return json.dumps(json_format.MessageToDict(response), separators=(",", ":")).encode("utf-8")


def encode_status(kind: str, code: int, message: str) -> bytes:
    """A google.rpc.Status (code = gRPC code, message): OTLP/HTTP's error body."""
    if kind == JSON:
        return json.dumps({"code": code, "message": message}, separators=(",", ":")).encode("utf-8")
    text = message.encode("utf-8")
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)
