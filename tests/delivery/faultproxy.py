"""A small faulty HTTP proxy in front of the real log server, for delivery fault tests.

It forwards every request to the upstream log and can, on command: answer the next N
requests itself with a given status (and Retry-After), forward but hold the answer back for a
while (a log slower than the client's timeout), strip the Idempotency-Key header (a log that
ignores it), and it records what it saw (method, path, Idempotency-Key, status).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


@dataclass
class Seen:
    method: str
    path: str
    idempotency_key: str | None
    status: int
    at: float
    headers: dict[str, str] | None = None


class FaultProxy:
    def __init__(self, upstream: str, tls: ssl.SSLContext | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.scheme = "https" if tls else "http"
        self.lock = threading.Lock()
        self.faults: list[tuple[int, dict[str, str], dict]] = []
        self.delay = 0.0
        self.strip_idempotency_key = False
        self.fail_every = 0  # when n > 0, every n-th POST is answered 503 (a log refusing half the time: 2)
        self.posts_arrived = 0
        self.seen: list[Seen] = []
        self.arrivals = 0  # requests received, counted on arrival (seen records them on answering)
        self.inflight = 0  # requests being forwarded right now, and the most there ever were at once
        self.max_inflight = 0
        self.client = httpx.Client(timeout=30.0)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                key = self.headers.get("Idempotency-Key")
                with proxy.lock:
                    proxy.arrivals += 1
                seen_headers = {k.lower(): v for k, v in self.headers.items()}
                with proxy.lock:
                    fault = proxy.faults.pop(0) if proxy.faults else None
                    if self.command == "POST":
                        proxy.posts_arrived += 1
                        if fault is None and proxy.fail_every and proxy.posts_arrived % proxy.fail_every == 0:
                            fault = (503, {}, {"status": 503, "title": "injected fault", "code": "fault"})
                    delay = proxy.delay
                    strip = proxy.strip_idempotency_key
                if fault is not None:
                    status, headers, problem = fault
                    payload = json.dumps(problem).encode()
                    proxy._record(self.command, self.path, key, status, seen_headers)
                    self._reply(status, {"Content-Type": "application/problem+json", **headers}, payload)
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in {"host", "content-length", "connection"}}
                if strip:
                    headers = {k: v for k, v in headers.items() if k.lower() != "idempotency-key"}
                with proxy.lock:
                    proxy.inflight += 1
                    proxy.max_inflight = max(proxy.max_inflight, proxy.inflight)
                try:
                    upstream = proxy.client.request(self.command, proxy.upstream + self.path,
                                                    content=body, headers=headers)
                    if delay:
                        time.sleep(delay)  # deliberate: the fault this proxy injects (a log slower than its client)
                except httpx.TransportError:
                    proxy._record(self.command, self.path, key, 502, seen_headers)
                    self._reply(502, {"Content-Type": "application/problem+json"},
                                b'{"status":502,"title":"Bad Gateway"}')
                    return
                finally:
                    with proxy.lock:
                        proxy.inflight -= 1
                out = {k: v for k, v in upstream.headers.items()
                       if k.lower() not in {"content-length", "connection", "transfer-encoding",
                                            "content-encoding"}}
                # Recorded before the reply, so a test that saw the answer also sees the record.
                proxy._record(self.command, self.path, key, upstream.status_code, seen_headers)
                try:
                    self._reply(upstream.status_code, out, upstream.content)
                except OSError:  # the client gave up waiting
                    pass

            def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:  # terminate TLS here, in front of the plain-HTTP log
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def api_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/api/v1"

    def _record(self, method: str, path: str, key: str | None, status: int,
                headers: dict[str, str] | None = None) -> None:
        with self.lock:
            self.seen.append(Seen(method, path, key, status, time.time(), headers))

    def fail_next(self, n: int, status: int, retry_after: str | None = None) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        problem = {"status": status, "title": "injected fault", "code": "fault"}
        with self.lock:
            self.faults.extend([(status, headers, problem)] * n)

    def received(self) -> int:
        """Requests that have arrived so far, answered or still held back."""
        with self.lock:
            return self.arrivals

    def posts(self) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.method == "POST"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.client.close()
