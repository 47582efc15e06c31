"""W3C Trace Context in full, case by case as W3C's own test suite (github.com/w3c/trace-context,
test/test.py) checks a service: our Flask and ASGI integrations around one verwerkingsactie whose
outbound httpx calls reach a callback server. (Its code stays out of the project; these are our
own tests of its 41 cases, and the suite itself passed against the same kind of service.)"""

from __future__ import annotations

import json
import re
import socket
from typing import Any, Iterator

import httpx
import pytest
from flask import Flask, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import verwerkingen_otel as vo
from verwerkingen_otel import httpx as our_httpx
from verwerkingen_otel.fastapi import instrument_app
from verwerkingen_otel.flask import Verwerkingen

from .conftest import uvicorn_server, werkzeug_server

TRACE = "12345678901234567890123456789012"
PARENT = "1234567890123456"
VALID = f"00-{TRACE}-{PARENT}-01"
ACTIVITEIT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


class Callbacks:
    """The harness's side: records the headers of every call the service makes to it."""

    def __init__(self) -> None:
        self.seen: dict[str, list[tuple[str, str]]] = {}

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        headers = [(k[5:].replace("_", "-").lower(), v) for k, v in environ.items() if k.startswith("HTTP_")]
        self.seen[environ["PATH_INFO"].strip("/")] = headers
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


def flask_service() -> Any:
    app = Flask("w3c")
    Verwerkingen(app)
    client = httpx.Client(timeout=5)
    our_httpx.instrument_client(client)

    @app.post("/test")
    def test() -> str:
        with vo.verwerkingsactie(actie_naam="W3C", verwerkingsactiviteit_id=ACTIVITEIT) as actie:
            actie.add_object("999993653")
            for item in request.get_json():
                client.post(item["url"], json=item["arguments"])
        return "ok"

    return app


def asgi_service() -> Any:
    client = httpx.AsyncClient(timeout=5)
    our_httpx.instrument_client(client)

    async def test(req: Request) -> PlainTextResponse:
        with vo.verwerkingsactie(actie_naam="W3C", verwerkingsactiviteit_id=ACTIVITEIT) as actie:
            actie.add_object("999993653")
            for item in await req.json():
                await client.post(item["url"], json=item["arguments"])
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/test", test, methods=["POST"])])
    instrument_app(app)
    return app


def _raw_post(base: str, path: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    """A request written byte for byte: header values with the spaces and tabs W3C's suite sends
    (httpx, rightly, refuses to send those)."""
    host, port = base.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
             f"Content-Length: {len(body)}", "Connection: close", *(f"{k}: {v}" for k, v in headers)]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


class Harness:
    def __init__(self, service: str, callbacks: str, seen: Callbacks) -> None:
        self.service, self.callbacks, self.seen = service, callbacks, seen

    def call(self, headers: list[tuple[str, str]], count: int = 1) -> list[list[tuple[str, str]]]:
        self.seen.seen.clear()
        body = json.dumps([{"url": f"{self.callbacks}/{i}", "arguments": []} for i in range(count)]).encode()
        assert _raw_post(self.service, "/test", headers, body).startswith(b"HTTP/1.1 200")
        return [self.seen.seen[str(i)] for i in range(count)]

    def context(self, headers: list[tuple[str, str]]) -> tuple[tuple[str, str, str, str], dict[str, str], str]:
        """(traceparent parts, tracestate members, tracestate text) of the one callback."""
        (out,) = self.call(headers)
        parents = [v for k, v in out if k == "traceparent"]
        assert len(parents) == 1, out
        match = TRACEPARENT.match(parents[0])
        assert match, parents[0]
        text = ",".join(v for k, v in out if k == "tracestate")
        members = dict(m.split("=", 1) for m in re.split(r"[ \t]*,[ \t]*", text) if m)
        return match.groups(), members, text  # type: ignore[return-value]


@pytest.fixture(scope="module", params=["flask", "asgi"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    log = vo.configure(delivery="memory", exporters="none", systeem="w3c")
    seen = Callbacks()
    app = flask_service() if request.param == "flask" else asgi_service()
    serve = werkzeug_server if request.param == "flask" else uvicorn_server
    try:
        with werkzeug_server(seen.wsgi) as callbacks, serve(app) as service:
            yield Harness(service, callbacks, seen)
    finally:
        log.shutdown(2.0)
        from verwerkingen_otel.capture import install
        install(None)


def inherits(h: Harness, headers: list[tuple[str, str]]) -> None:
    (_, trace_id, parent_id, _), _, _ = h.context(headers)
    assert trace_id == TRACE and parent_id != PARENT


def restarts(h: Harness, headers: list[tuple[str, str]], old: str = TRACE) -> None:
    (_, trace_id, _, _), _, _ = h.context(headers)
    assert trace_id != old and trace_id != "0" * 32


def test_no_trace_context_gives_a_valid_new_one(harness: Harness) -> None:
    (version, trace_id, parent_id, _), members, _ = harness.context([])
    assert version == "00" and trace_id.strip("0") and parent_id.strip("0") and members == {}


@pytest.mark.parametrize("name", ["traceparent", "TraceParent", "TRACEPARENT", "TrAcEpArEnT"])
def test_the_header_name_is_case_insensitive(harness: Harness, name: str) -> None:
    inherits(harness, [(name, VALID)])


@pytest.mark.parametrize("name", ["trace-parent", "trace.parent"])
def test_other_header_names_are_not_traceparent(harness: Harness, name: str) -> None:
    restarts(harness, [(name, VALID)])


def test_two_traceparent_headers_are_invalid(harness: Harness) -> None:
    (_, trace_id, _, _), _, _ = harness.context([("traceparent", f"00-{TRACE[:-1]}1-{PARENT}-01"),
                                                 ("traceparent", VALID)])
    assert trace_id not in (TRACE, TRACE[:-1] + "1")


@pytest.mark.parametrize("value", [
    f"cc-{TRACE}-{PARENT}-01", f"cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like",
    f" {VALID}", f"\t{VALID}", f"{VALID} ", f"{VALID}\t", f"\t {VALID} \t",
])
def test_future_versions_and_optional_whitespace_are_accepted(harness: Harness, value: str) -> None:
    inherits(harness, [("traceparent", value)])


@pytest.mark.parametrize("value", [
    f"{VALID}.", f"{VALID}-what-the-future-will-be-like", f"cc-{TRACE}-{PARENT}-01.what-the-future-will-be-like",
    f"ff-{TRACE}-{PARENT}-01", f".0-{TRACE}-{PARENT}-01", f"0.-{TRACE}-{PARENT}-01", f"000-{TRACE}-{PARENT}-01",
    f"0000-{TRACE}-{PARENT}-01", f"0-{TRACE}-{PARENT}-01",
    f"00-.{TRACE[1:]}-{PARENT}-01", f"00-{TRACE[:-1]}.-{PARENT}-01", f"00-{TRACE}3-{PARENT}-01",
    f"00-{TRACE[:-1]}-{PARENT}-01",
    f"00-{TRACE}-0000000000000000-01", f"00-{TRACE}-.{PARENT[1:]}-01", f"00-{TRACE}-{PARENT[:-1]}.-01",
    f"00-{TRACE}-{PARENT}7-01", f"00-{TRACE}-{PARENT[:-1]}-01",
    f"00-{TRACE}-{PARENT}-.0", f"00-{TRACE}-{PARENT}-0.", f"00-{TRACE}-{PARENT}-001", f"00-{TRACE}-{PARENT}-1",
])
def test_an_invalid_traceparent_starts_a_new_trace(harness: Harness, value: str) -> None:
    restarts(harness, [("traceparent", value)])


def test_an_all_zero_trace_id_starts_a_new_trace(harness: Harness) -> None:
    restarts(harness, [("traceparent", f"00-{'0' * 32}-{PARENT}-01")], old="0" * 32)


def test_tracestate_without_traceparent_is_not_passed_on(harness: Harness) -> None:
    _, one, _ = harness.context([("tracestate", "foo=1")])
    _, two, _ = harness.context([("tracestate", "foo=1,bar=2")])
    assert one == two == {}


def with_state(*lines: str, name: str = "tracestate") -> list[tuple[str, str]]:
    return [("traceparent", f"00-{TRACE}-{PARENT}-00"), *((name, line) for line in lines)]


@pytest.mark.parametrize(("lines", "expected"), [
    (["foo=1,bar=2"], "foo=1,bar=2"),
    (["foo=1", ""], "foo=1"),
    (["", "foo=1"], "foo=1"),
    (["foo=1,bar=2", "rojo=1,congo=2", "baz=3"], "foo=1,bar=2,rojo=1,congo=2,baz=3"),
    (["foo=1 \t , \t bar=2, \t baz=3"], "foo=1,bar=2,baz=3"),
    (["foo=1\t \t,\t \tbar=2,\t \tbaz=3"], "foo=1,bar=2,baz=3"),
    ([" foo=1"], "foo=1"), (["\tfoo=1"], "foo=1"), (["foo=1 "], "foo=1"), (["foo=1\t"], "foo=1"),
    (["\t foo=1 \t"], "foo=1"),
    (["foo=1,foo=1"], "foo=1"), (["foo=1,foo=2"], "foo=1"), (["foo=1", "foo=1"], "foo=1"),
    (["foo=1", "foo=2"], "foo=1"),
    (["foo@=1,bar=2"], "foo@=1,bar=2"), (["foo@@bar=1,bar=2"], "foo@@bar=1,bar=2"),
    (["foo@bar@baz=1,bar=2"], "foo@bar@baz=1,bar=2"),
    (["foo=1", "z" * 256 + "=1"], "foo=1," + "z" * 256 + "=1"),
    (["foo=1", "t" * 241 + "@" + "v" * 14 + "=1"], "foo=1," + "t" * 241 + "@" + "v" * 14 + "=1"),
    (["foo=1", "t" * 242 + "@v=1"], "foo=1," + "t" * 242 + "@v=1"),
    (["foo=1", "t@" + "v" * 15 + "=1"], "foo=1,t@" + "v" * 15 + "=1"),
    ([",".join(f"bar{i:02d}={i:02d}" for i in range(1, 33))], ",".join(f"bar{i:02d}={i:02d}" for i in range(1, 33))),
])
def test_a_valid_tracestate_is_passed_on_unchanged(harness: Harness, lines: list[str], expected: str) -> None:
    (_, trace_id, _, _), _, text = harness.context(with_state(*lines))
    assert trace_id == TRACE and text == expected


@pytest.mark.parametrize("name", ["TraceState", "TRACESTATE", "TrAcEsTaTe"])
def test_the_tracestate_header_name_is_case_insensitive(harness: Harness, name: str) -> None:
    _, members, _ = harness.context(with_state("foo=1", name=name))
    assert members == {"foo": "1"}


@pytest.mark.parametrize(("lines", "name"), [
    (["foo=1"], "trace-state"), (["foo=1"], "trace.state"),
    (["foo =1"], "tracestate"), (["FOO=1"], "tracestate"), (["foo.bar=1"], "tracestate"),
    (["@foo=1,bar=2"], "tracestate"), (["foo=1", "z" * 257 + "=1"], "tracestate"),
    (["foo=bar=baz"], "tracestate"), (["foo=,bar=3"], "tracestate"),
    ([",".join(f"bar{i:02d}={i:02d}" for i in range(1, 34))], "tracestate"),
])
def test_an_invalid_tracestate_is_dropped_whole(harness: Harness, lines: list[str], name: str) -> None:
    (_, trace_id, _, _), members, _ = harness.context(with_state(*lines, name=name))
    assert trace_id == TRACE and members == {}


def test_all_allowed_characters_are_kept(harness: Harness) -> None:
    key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/"
    value = "".join(chr(c) for c in [*range(0x20, 0x2C), *range(0x2D, 0x3D), *range(0x3E, 0x7F)])
    for k in (key, key + "@a-z0-9_-*/"):
        _, _, text = harness.context(with_state(f"{k}={value}"))
        assert text == f"{k}={value}"


@pytest.mark.parametrize("headers", [[("traceparent", VALID)], [], [("traceparent", f"00-{'0' * 32}-{PARENT}-01")]])
def test_each_call_of_one_action_has_its_own_parent_id(harness: Harness, headers: list[tuple[str, str]]) -> None:
    calls = harness.call(headers, count=3)
    parents = [TRACEPARENT.match(dict(c)["traceparent"]).groups() for c in calls]  # type: ignore[union-attr]
    assert len({p[1] for p in parents}) == 1 and len({p[2] for p in parents}) == 3
    if headers and headers[0][1] == VALID:
        assert parents[0][1] == TRACE
    else:
        assert parents[0][1] != "0" * 32
