"""Per-request overhead of verwerkingen-otel next to OpenTelemetry's own web instrumentation.

For Flask and for FastAPI, one run times the same one-route app three ways, in process and
without a network (the WSGI callable and the ASGI callable are called directly, so nothing but
the app stack is measured):

    bare    the app as it is
    ours    + our middleware/extension + one @verwerkingsactie (memory delivery, or --delivery sync)
    otel    + opentelemetry-instrumentation-flask / -asgi, SDK tracer, in-memory span exporter
            behind the matching processor: batch (a thread) next to memory delivery, simple
            (on the request path) next to sync

and prints the overhead over bare of ours and of otel, and their ratio (target: ours <= 0.5x
otel). Run: python benchmarks/request_overhead.py [--requests N] [--delivery memory|sync]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any, Callable

ACT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
HEADERS = {"OIN": "00000001234567890000", "VerwerkingId": "0b1c6a2e-3b55-4c85-a1b8-5c1f4e0ad001"}


def configure_pipeline(delivery: str = "memory") -> Any:
    """`memory`: each action becomes a record queued on the request path and exported to the
    in-memory exporter by the delivery worker thread (its CPU time counts too). `sync`: the
    record goes to the in-memory exporter on the request path, no thread."""
    import verwerkingen_otel.capture as pipeline

    try:
        return pipeline.configure(delivery=delivery, exporters=["memory"])
    except Exception:  # the memory delivery may not be in this build yet
        print(f"delivery={delivery} not available; using sync", file=sys.stderr)
        return pipeline.configure(delivery="sync", exporters=["memory"])


BACKGROUND = True  # set by main(): like-for-like span processing for the otel variant


def otel_provider() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    processor = BatchSpanProcessor(exporter) if BACKGROUND else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    return provider, exporter


# --- Flask ------------------------------------------------------------------------------------


def flask_app(kind: str) -> Callable[..., Any]:
    from flask import Flask

    app = Flask(f"bench_{kind}")
    handler: Callable[..., Any]

    def raadplegen(bsn: str) -> dict[str, str]:
        return {"bsn": bsn, "naam": "Suzanne Moulin"}

    handler = raadplegen
    if kind == "ours":
        from verwerkingen_otel.capture import verwerkingsactie
        from verwerkingen_otel.flask import Verwerkingen
        from verwerkingen_otel.capture import persoon

        Verwerkingen(app)
        handler = verwerkingsactie(actie_naam="Raadplegen persoon", verwerkingsactiviteit_id=ACT,
                                   objecten=[persoon("bsn")])(raadplegen)
    app.add_url_rule("/personen/<bsn>", "raadplegen", handler)
    if kind == "otel":
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        provider, _ = otel_provider()
        FlaskInstrumentor().instrument_app(app, tracer_provider=provider)
    return app


def time_wsgi(app: Callable[..., Any], n: int) -> float:
    environ_base = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/personen/999993653", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http", "wsgi.input": None, "wsgi.errors": sys.stderr,
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "wsgi.version": (1, 0), "REMOTE_ADDR": "127.0.0.1",
        "HTTP_OIN": HEADERS["OIN"], "HTTP_VERWERKINGID": HEADERS["VerwerkingId"],
    }

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        assert status.startswith("200"), status
        return lambda data: None

    import io

    def one() -> None:
        environ = dict(environ_base)
        environ["wsgi.input"] = io.BytesIO(b"")
        result = app(environ, start_response)
        for _ in result:
            pass
        close = getattr(result, "close", None)
        if close:
            close()

    for _ in range(200):
        one()
    start = time.perf_counter()
    for _ in range(n):
        one()
    return (time.perf_counter() - start) / n


# --- FastAPI ----------------------------------------------------------------------------------


def fastapi_app(kind: str) -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    async def raadplegen(bsn: str) -> dict[str, str]:
        return {"bsn": bsn, "naam": "Suzanne Moulin"}

    handler: Any = raadplegen
    if kind == "ours":
        from verwerkingen_otel.capture import verwerkingsactie
        from verwerkingen_otel.fastapi import instrument_app
        from verwerkingen_otel.capture import persoon

        handler = verwerkingsactie(actie_naam="Raadplegen persoon", verwerkingsactiviteit_id=ACT,
                                   objecten=[persoon("bsn")])(raadplegen)
        instrument_app(app)
    app.add_api_route("/personen/{bsn}", handler, methods=["GET"])
    if kind == "otel":
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        provider, _ = otel_provider()
        return OpenTelemetryMiddleware(app, tracer_provider=provider)
    return app


def time_asgi(app: Any, n: int) -> float:
    scope_base = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/personen/999993653", "raw_path": b"/personen/999993653",
        "root_path": "", "query_string": b"", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000),
        "headers": [(b"host", b"127.0.0.1"), (b"oin", HEADERS["OIN"].encode()),
                    (b"verwerkingid", HEADERS["VerwerkingId"].encode())],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message

    async def run() -> float:
        for _ in range(200):
            await app(dict(scope_base), receive, send)
        start = time.perf_counter()
        for _ in range(n):
            await app(dict(scope_base), receive, send)
        return (time.perf_counter() - start) / n

    return asyncio.run(run())


# --- run --------------------------------------------------------------------------------------


def measure(build: Callable[[str], Any], timer: Callable[[Any, int], float], n: int, rounds: int) -> dict[str, float]:
    apps = {kind: build(kind) for kind in ("bare", "ours", "otel")}
    samples: dict[str, list[float]] = {kind: [] for kind in apps}
    for _ in range(rounds):  # interleaved, so drift in machine load hits all three alike
        for kind, app in apps.items():
            samples[kind].append(timer(app, n))
    # the fastest round of each: the one least disturbed by whatever else the machine does
    return {kind: min(values) for kind, values in samples.items()}


def report(name: str, t: dict[str, float]) -> float:
    ours, otel = t["ours"] - t["bare"], t["otel"] - t["bare"]
    ratio = ours / otel if otel > 0 else float("inf")
    print(f"{name}: bare {t['bare'] * 1e6:7.1f} us/request")
    print(f"  ours (middleware + 1 action): +{ours * 1e6:6.1f} us   otel instrumentation: +{otel * 1e6:6.1f} us")
    print(f"  ratio ours/otel = {ratio:.2f}x  (target <= 0.50x)")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per round per variant")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--delivery", choices=["memory", "sync"], default="memory")
    args = parser.parse_args(argv)
    global BACKGROUND
    pipeline = configure_pipeline(args.delivery)
    BACKGROUND = pipeline.settings.delivery != "sync"
    memory = pipeline.exporter("memory")
    flask_t = measure(flask_app, time_wsgi, args.requests, args.rounds)
    if memory is not None:
        memory.clear()
    fastapi_t = measure(fastapi_app, time_asgi, args.requests, args.rounds)
    print(f"delivery={pipeline.settings.delivery} exporters={','.join(pipeline.settings.exporters)} "
          f"(otel: {'batch' if BACKGROUND else 'simple'} span processor); "
          f"{args.rounds} interleaved rounds x {args.requests} requests, fastest round of each")
    ratios = [report("Flask", flask_t), report("FastAPI", fastapi_t)]
    pipeline.shutdown()
    return 0 if all(r <= 0.5 for r in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
