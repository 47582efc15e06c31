"""Operations endpoints and instruments: /healthz, /readyz, /metrics, the purge schedule, JSON access logs.

- `/healthz`: the process is up (no database call).
- `/readyz`: the database answers and its schema is the one this server writes; else 503.
- `/metrics`: Prometheus text (prometheus-client): requests by route *template* and status,
  latency histograms, the database pool, list cursors, purge progress. Labels are templates
  and codes only: never a path with a BSN in it, never a query string, a token or a secret.
  One registry per app; with `--workers N` each worker reports its own (scrape each, or use
  one worker per instance).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .engine import pool_status
from .tables import SCHEMA_VERSION
from .state import ServerState

log = logging.getLogger("verwerkingen_otel.server.ops")
_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The app's instruments, on a registry of its own."""

    def __init__(self, state: ServerState) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("verwerkingenlog_requests", "HTTP requests by route template, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("verwerkingenlog_request_duration_seconds", "Request latency by route template",
                                 ["route", "method"], buckets=_BUCKETS, registry=self.registry)
        self.purged = Counter("verwerkingenlog_purged_actions", "Actions deleted by the in-server purge",
                              registry=self.registry)
        self.purge_runs = Counter("verwerkingenlog_purge_runs", "In-server purge runs by outcome", ["outcome"],
                                  registry=self.registry)
        self.purge_last = Gauge("verwerkingenlog_purge_last_success_timestamp_seconds",
                                "When the in-server purge last completed", registry=self.registry)
        self.purge_running = Gauge("verwerkingenlog_purge_running", "1 while a purge runs", registry=self.registry)
        self.registry.register(_StateCollector(state))


class _StateCollector:
    """Pool and cursor figures, read at scrape time."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def collect(self) -> Any:
        pool = GaugeMetricFamily("verwerkingenlog_db_pool_connections", "Database pool connections of this process",
                                 labels=["state"])
        for name, value in pool_status(self.state.storage.engine).items():
            pool.add_metric([name], value)
        yield pool
        cursors = GaugeMetricFamily("verwerkingenlog_list_cursor_lookups", "Remembered page positions: hits, misses",
                                    labels=["result"])
        cursors.add_metric(["hit"], self.state.storage.cursors.hits)
        cursors.add_metric(["miss"], self.state.storage.cursors.misses)
        yield cursors


def _templates(app: Starlette) -> dict[Any, str]:
    """endpoint → route template, for every route (mounted ones included)."""
    out: dict[Any, str] = {}
    for route in app.routes:
        if isinstance(route, Mount):
            for sub in route.routes:
                if isinstance(sub, Route):
                    out[sub.endpoint] = route.path + sub.path
        elif isinstance(route, Route):
            out[route.endpoint] = route.path
    return out


class MetricsMiddleware:
    """Pure ASGI: counts and times each request under its route template (never its path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, starlette: Starlette) -> None:
        self.app = app
        self.metrics = metrics
        self.starlette = starlette
        self._templates: dict[Any, str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._record(scope, status, time.perf_counter() - start)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        try:
            if self._templates is None:
                self._templates = _templates(self.starlette)
            endpoint = scope.get("endpoint")
            try:
                route = self._templates.get(endpoint, "unmatched")
            except TypeError:  # a mounted Router (no route matched inside the mount) is unhashable
                route = "unmatched"
            method = scope.get("method", "?") if scope.get("method") in _METHODS else "other"
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(seconds)
        except Exception as e:  # noqa: BLE001 - metrics never break a request
            log.error("metrics: %s", type(e).__name__)


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def install_ops(app: Starlette, state: ServerState) -> Metrics:
    """Add the three endpoints, the metrics middleware and (when set) the purge schedule."""
    metrics = Metrics(state)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        try:
            version = await state.db(state.storage.schema_version)
        except Exception as e:  # noqa: BLE001 - any failure to reach the database means not ready
            return JSONResponse({"status": "unavailable", "reason": f"database unreachable ({type(e).__name__})"},
                                status_code=503)
        if version != SCHEMA_VERSION:
            return JSONResponse({"status": "unavailable",
                                 "reason": f"schema version {version}, this server needs {SCHEMA_VERSION}"},
                                status_code=503)
        return JSONResponse({"status": "ready", "schema": version})

    async def metrics_endpoint(_request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.router.routes += [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"]),
                          Route("/metrics", metrics_endpoint, methods=["GET"])]
    app.add_middleware(MetricsMiddleware, metrics=metrics, starlette=app)
    if state.settings.purge_interval > 0:
        _schedule_purges(app, state, metrics)
    app.state.metrics = metrics
    return metrics


def _schedule_purges(app: Starlette, state: ServerState, metrics: Metrics) -> None:
    """Run `purge` every `purge_interval` seconds in a daemon thread, only while the app serves."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        stop = threading.Event()
        thread = threading.Thread(target=_purge_loop, args=(state, metrics, stop), name="verwerkingenlog-purge",
                                  daemon=True)
        thread.start()
        try:
            async with inner(a) as value:
                yield value
        finally:
            stop.set()
            thread.join(timeout=10)

    app.router.lifespan_context = lifespan


def _purge_loop(state: ServerState, metrics: Metrics, stop: threading.Event,
                clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
    from .retention import purge
    door = f"server schedule {socket.gethostname()}"[:255]
    while not stop.wait(state.settings.purge_interval):
        metrics.purge_running.set(1)
        try:
            result = purge(state.storage, now=clock(), default_bewaartermijn=state.settings.default_bewaartermijn,
                           door=door, advance=metrics.purged.inc, pause=0.01, stop=stop)
            metrics.purge_runs.labels("ok").inc()
            metrics.purge_last.set(time.time())
            if result.acties:
                log.info("purge: %d actions (%d versions) deleted in %d batches, run %s", result.acties,
                         result.versies, result.batches, result.run)
        except Exception as e:  # noqa: BLE001 - the schedule survives a failing run; logged by type only
            metrics.purge_runs.labels("failed").inc()
            log.error("purge failed: %s", type(e).__name__)
        finally:
            metrics.purge_running.set(0)


class JsonAccessFormatter(logging.Formatter):
    """One JSON object per access-log line: the same (redacted) fields as the plain line."""

    def format(self, record: logging.LogRecord) -> str:
        args = record.args if isinstance(record.args, tuple) else ()
        body: dict[str, Any] = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
            timespec="milliseconds"), "level": record.levelname.lower()}
        if len(args) == 4:
            body.update(method=args[0], path=args[1], status=args[2], duration_ms=round(float(args[3]), 1))
        else:
            body["message"] = record.getMessage()
        return json.dumps(body, ensure_ascii=False)


def json_access_log_config(config: dict[str, Any]) -> None:
    """Route the access logger through JsonAccessFormatter in a dictConfig (serve --access-log-format json)."""
    config.setdefault("formatters", {})["json"] = {"()": f"{__name__}.JsonAccessFormatter"}
    config.setdefault("handlers", {})["access_json"] = {"class": "logging.StreamHandler", "formatter": "json"}
    config.setdefault("loggers", {})["verwerkingen_otel.server.access"] = {
        "handlers": ["access_json"], "propagate": False, "level": "INFO"}


__all__ = ["JsonAccessFormatter", "Metrics", "install_ops", "json_access_log_config"]
