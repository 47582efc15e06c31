"""Fixtures for client tests: the real log server on loopback, shared per module, and a real
HTTP server that answers any status we ask of it."""

from __future__ import annotations

import json
import threading
from typing import Any, Iterator

import pytest

from tests.support.actions import make_actie  # noqa: F401 - imported by the tests here
from tests.support.bsn import random_bsn
from tests.support.logserver import LogServer, write_clients_file
from tests.support.servers import werkzeug_server

__all__ = ["Answering", "SECRET", "WEAK_SECRET", "make_actie", "random_bsn"]

ALL_SCOPES = [f"{a}:{lvl}" for a in ("create", "read", "update", "delete") for lvl in ("normal", "confidential")]
SECRET = "client-tests-secret-0123456789abcdef0123456789abcd"
WEAK_SECRET = "client-tests-weak-secret-0123456789abcdef01234567"




@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogServer]:
    """One real server per module (pages of 3), for tests that only read and write."""
    tmp = tmp_path_factory.mktemp("client-log")
    clients = write_clients_file(tmp / "clients.toml", {
        "app": (SECRET, ALL_SCOPES),
        "weak": (WEAK_SECRET, ["create:normal"]),
    })
    with LogServer(f"sqlite:///{tmp}/log.db", clients, log_path=tmp / "server.log",
                   extra_args=["--page-size", "3"]) as server:
        yield server


class Answering:
    """A real HTTP server on loopback that answers what the request's `X-Answer` header asks
    for, and keeps every request it got (method, path, headers, exact body bytes).

    `X-Answer`: a status code (2xx echoes the posted JSON body back as the stored action, any
    other status answers a problem JSON with `Retry-After: 7`), `gzip-garbage` (200 with a body
    that is not gzip), or `hang` (no answer until the test ends).
    """

    def __init__(self, url: str, seen: list[dict[str, object]], release: threading.Event) -> None:
        self.base_url = url
        self.api_url = f"{url}/api/v1"
        self.seen = seen
        self.release = release


def _answering_app(seen: list[dict[str, object]], release: threading.Event) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        seen.append({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"],
                     "query": environ.get("QUERY_STRING", ""), "headers": headers, "body": body})
        answer = headers.get("x-answer", "201")
        if answer == "hang":
            release.wait(30)
            answer = "204"
        if answer == "gzip-garbage":
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Encoding", "gzip")])
            return [b"this is not gzip at all"]
        status = int(answer)
        if 200 <= status <= 299:
            start_response(f"{status} OK", [("Content-Type", "application/json")])
            return [body or b"{}"]
        problem = {"status": status, "title": "Afgewezen", "detail": "bewaartermijn: invalid_duration"}
        extra = [("Location", "/elders")] if 300 <= status <= 399 else []
        start_response(f"{status} Answer", [("Content-Type", "application/problem+json"),
                                            ("Retry-After", "7"), *extra])
        return [json.dumps(problem).encode()]

    return app


@pytest.fixture(scope="module")
def answering() -> Iterator[Answering]:
    seen: list[dict[str, object]] = []
    release = threading.Event()
    with werkzeug_server(_answering_app(seen, release)) as url:
        yield Answering(url, seen, release)
        release.set()
