"""Small OTLP receivers for tests and benchmarks: OTLP/HTTP (protobuf + JSON) and OTLP/gRPC.

No OpenTelemetry Collector can be installed here (the otelcol-contrib release is in no package
registry this project may use), so these stand in for one: they speak the OTLP wire protocol
with opentelemetry-proto and grpcio, keep what they accepted, and can be told to fail.

    with OtlpHttpReceiver() as rx:          # rx.endpoint = "http://127.0.0.1:<port>/v1/traces"
        rx.fail_next(2, 503)                # the next two exports get 503, then OK again
        rx.refuse(400)                      # every export refused permanently (until rx.accept())
        rx.stop(); rx.start()               # down and up again on the same port
        rx.wait_for_spans(3, timeout=10)    # the accepted spans once there are at least 3
    with OtlpGrpcReceiver() as rx:          # rx.endpoint = "http://127.0.0.1:<port>"
        rx.fail_next(1, grpc.StatusCode.UNAVAILABLE)

`python -m tests.support.otlp_receivers http --port N` serves until killed (benchmarks).
"""

from __future__ import annotations

import argparse
import gzip
import socket
import threading
import time
from concurrent import futures
from typing import Any

import grpc
import uvicorn
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.otlp import spans_in
from verwerkingen_otel.server.otlp import OtlpDecodeError, decode_request, encode_status, media_type

__all__ = ["OtlpGrpcReceiver", "OtlpHttpReceiver"]


class _Record:
    """What a receiver accepted, and its failure plan; shared by both kinds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[ExportTraceServiceRequest] = []
        self.attempts = 0
        self._failures: list[Any] = []
        self._refusal: Any = None
        self._refused_names: dict[str, Any] = {}
        self.raw: list[bytes] = []  # every body received, as sent (decompressed)

    def fail_next(self, count: int, status: Any) -> None:
        with self.lock:
            self._failures.extend([status] * count)

    def refuse(self, status: Any) -> None:
        with self.lock:
            self._refusal = status

    def refuse_named(self, name: str, status: Any) -> None:
        """Refuse every export holding a span of this name (other exports are accepted)."""
        with self.lock:
            self._refused_names[name] = status

    def accept(self) -> None:
        with self.lock:
            self._refusal = None
            self._failures.clear()
            self._refused_names.clear()

    def decide(self, request: ExportTraceServiceRequest | None = None) -> Any:
        """None to accept this export, else the status to fail it with."""
        with self.lock:
            self.attempts += 1
            if self._refusal is not None:
                return self._refusal
            if request is not None and self._refused_names:
                for _, span in spans_in(request):
                    if span.name in self._refused_names:
                        return self._refused_names[span.name]
            return self._failures.pop(0) if self._failures else None

    def keep(self, request: ExportTraceServiceRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def spans(self) -> list[tuple[dict[str, Any], Span]]:
        with self.lock:
            return [pair for request in self.requests for pair in spans_in(request)]

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> list[tuple[dict[str, Any], Span]]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.spans()
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


class OtlpHttpReceiver(_Record):
    """OTLP/HTTP on loopback (uvicorn in a thread); `endpoint` is the full /v1/traces URL."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__()
        self.port = port or _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}/v1/traces"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        kind = media_type(headers.get("content-type")) or "application/json"
        if scope["path"] != "/v1/traces":
            await _respond(send, 404, kind, b"")
            return
        try:
            if headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            request = decode_request(body, kind)
        except (OtlpDecodeError, OSError):
            request, status = None, 400
        else:
            status = self.decide(request)
        if status is None and request is not None:
            with self.lock:
                self.raw.append(body)
            self.keep(request)
            answer = ExportTraceServiceResponse()
            raw = (answer.SerializeToString() if kind != "application/json"
                   else json_format.MessageToJson(answer).encode())
            await _respond(send, 200, kind, raw)
            return
        status = status or 400
        await _respond(send, status, kind, encode_status(kind, 14 if status >= 500 else 3, f"receiver says {status}"))

    def start(self) -> OtlpHttpReceiver:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        server = uvicorn.Server(uvicorn.Config(self._app, log_level="warning", lifespan="off", access_log=False,
                                               interface="asgi3"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="otlp-http-rx")
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the OTLP/HTTP receiver did not start")
            time.sleep(0.01)
        self._server, self._thread, self._sock = server, thread, sock
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._sock.close()
            self._server = self._thread = None

    def __enter__(self) -> OtlpHttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _respond(send: Any, status: int, kind: str, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, record: _Record) -> None:
        self.record = record

    def Export(self, request: ExportTraceServiceRequest, context: grpc.ServicerContext) -> ExportTraceServiceResponse:  # noqa: N802
        status = self.record.decide(request)
        if status is not None:
            context.abort(status, f"receiver says {status.name}")
        with self.record.lock:
            self.record.raw.append(request.SerializeToString())
        self.record.keep(request)
        return ExportTraceServiceResponse()


class OtlpGrpcReceiver(_Record):
    """OTLP/gRPC on loopback (grpcio, plaintext); `endpoint` is what the gRPC exporter takes."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__()
        self.port = port or _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server: grpc.Server | None = None

    def start(self) -> OtlpGrpcReceiver:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(self), server)
        if server.add_insecure_port(f"127.0.0.1:{self.port}") != self.port:
            raise RuntimeError("the OTLP/gRPC receiver could not bind its port")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait(10)
            self._server = None

    def __enter__(self) -> OtlpGrpcReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:  # pragma: no cover - used by benchmarks as a separate process
    parser = argparse.ArgumentParser(description="an OTLP receiver on loopback, until killed")
    parser.add_argument("kind", choices=["http", "grpc"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    receiver = (OtlpHttpReceiver if args.kind == "http" else OtlpGrpcReceiver)(args.port).start()
    print(f"listening {receiver.endpoint}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    main()
