"""Issue 11 item 8, middleware half: hypothesis drives hostile requests through the WSGI and ASGI
middleware — hostile VNG headers with bodies nested deep, huge, invalid, truncated, or cut off by
a client that goes away — and after EVERY one checks item 1's invariant: a plain request that
follows on the same thread (WSGI) or in the same task (ASGI) is recorded `normaal`, without
afnemer, with the configured bewaartermijn. The middleware itself never raises for a body."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

try:  # the one-way house layout
    from verwerkingen_otel.web import VerwerkingenMiddleware, VerwerkingenWSGIMiddleware
except ImportError:  # pragma: no cover - the layout before it
    from verwerkingen_otel.asgi import VerwerkingenMiddleware
    from verwerkingen_otel.wsgi import VerwerkingenWSGIMiddleware

from tests.web.test_request_isolation import BSN, RULES

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

header_values = st.one_of(
    st.sampled_from(["vertrouwelijk", "Vertrouwelijk", "opgeheven", "P1D", "1", "00000001821002193000",
                     "4b698de3-ffba-45e7-8697-a283ec863db2", "https://a.example/x", ""]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=60),
)
header_names = st.sampled_from(["OIN", "VerwerkingsactiviteitId", "VerwerkingsactiviteitUrl", "VerwerkingId",
                                "Vertrouwelijkheid", "Bewaartermijn", "traceparent", "tracestate"])
hostile_headers = st.lists(st.tuples(header_names, header_values), max_size=8).map(
    lambda pairs: [("Vertrouwelijkheid", "vertrouwelijk"), ("Bewaartermijn", "P1D"),
                   ("OIN", "00000001821002193000"), *pairs])


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, int | None, int | None]:
    """(body bytes, declared Content-Length or None for none, bytes after which the client goes away)."""
    kind = draw(st.sampled_from(["valid", "deep", "deep_dict", "huge", "utf8", "dup", "junk", "empty"]))
    if kind == "valid":
        body = json.dumps({"bsn": BSN}).encode()
    elif kind == "deep":
        depth = draw(st.integers(500, 5000))
        body = b'{"bsn": ' + b"[" * depth + b"]" * depth + b"}"
    elif kind == "deep_dict":
        depth = draw(st.integers(500, 5000))
        body = b'{"a":' * depth + b"1" + b"}" * depth
    elif kind == "huge":
        body = json.dumps({"bsn": BSN, "x": "é" * draw(st.sampled_from([10, 600_000, 1_100_000]))}).encode()
    elif kind == "utf8":
        body = b'{"bsn": "\xff\xfe' + BSN.encode() + b'"}'
    elif kind == "dup":
        body = b'{"bsn": "' + BSN.encode() + b'", "bsn": {"bsn": [1, 2]}}'
    elif kind == "junk":
        body = draw(st.binary(max_size=200))
    else:
        body = b""
    declared = draw(st.one_of(st.just(len(body)), st.none(), st.integers(0, len(body) + 50)))
    cut = draw(st.one_of(st.none(), st.none(), st.integers(0, max(0, len(body) - 1))))
    return body, declared, cut


class Disconnecting(io.RawIOBase):
    """wsgi.input of a client that goes away after `cut` bytes (the server's read raises)."""

    def __init__(self, data: bytes, cut: int | None) -> None:
        self._data, self._cut, self._pos = data, cut, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._cut is not None and self._pos >= self._cut:
            raise ConnectionResetError("client went away")
        end = len(self._data) if self._cut is None else self._cut
        n = min(len(buffer), end - self._pos)
        buffer[:n] = self._data[self._pos:self._pos + n]
        self._pos += n
        return n


def wsgi_app(environ: dict, start_response: Any) -> list[bytes]:
    length = environ.get("CONTENT_LENGTH")
    if length and length.isdigit():
        environ["wsgi.input"].read(int(length))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def asgi_app(scope: dict, receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return  # the client is gone: nothing to answer
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def call_wsgi(app: Any, method: str, path: str, headers: list[tuple[str, str]], body: bytes,
              declared: int | None, cut: int | None) -> None:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BufferedReader(Disconnecting(body, cut)), "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": "application/json",
    }
    if declared is not None:
        environ["CONTENT_LENGTH"] = str(declared)
    for name, value in headers:
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda data: None

    try:
        result = app(environ, start_response)
        try:
            b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
    except ConnectionResetError:
        # only the app's own read of a body cut short may raise: the disconnect, passed on
        assert cut is not None or (declared or 0) > len(body)


async def call_asgi(app: Any, method: str, path: str, headers: list[tuple[str, str]], body: bytes,
                    cut: int | None) -> None:
    chunks = [body[i:i + 4096] for i in range(0, len(body), 4096)] or [b""]
    sent = 0
    messages: list[dict[str, Any]] = []
    for i, chunk in enumerate(chunks):
        if cut is not None and sent + len(chunk) > cut:
            messages.append({"type": "http.request", "body": chunk[:cut - sent], "more_body": True})
            messages.append({"type": "http.disconnect"})
            break
        sent += len(chunk)
        messages.append({"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1})

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(_message: dict[str, Any]) -> None:
        return None

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": b"", "scheme": "http", "http_version": "1.1", "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 5000),
             "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]}
    await app(scope, receive, send)


def check_clean(verwerkingen: Any) -> None:
    actie = verwerkingen.assert_one(actie_naam="Raadplegen persoon")
    assert actie["vertrouwelijkheid"] == "normaal"
    assert actie["bewaartermijn"] == "P10Y"
    for key in ("afnemerId", "soortAfnemerId", "verwerkingIdAfnemer", "verwerkingsactiviteitIdAfnemer"):
        assert key not in actie, key
    verwerkingen.clear()


@pytest.fixture
def rules(tmp_path: Path) -> str:
    path = tmp_path / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    return str(path)


@pytest.mark.verwerkingen(bewaartermijn="P10Y", strict=False)  # invalid ids: placeholders
def test_wsgi_nothing_outlives_its_request(verwerkingen: Any, rules: str) -> None:
    app = VerwerkingenWSGIMiddleware(wsgi_app, rules=rules)

    @FUZZ
    @given(headers=hostile_headers, body=bodies())
    def run(headers: list[tuple[str, str]], body: tuple[bytes, int | None, int | None]) -> None:
        verwerkingen.clear()
        call_wsgi(app, "POST", "/aanvragen", headers, *body)
        verwerkingen.clear()
        call_wsgi(app, "GET", f"/personen/{BSN}", [], b"", None, None)
        check_clean(verwerkingen)

    run()


@pytest.mark.verwerkingen(bewaartermijn="P10Y", strict=False)  # invalid ids: placeholders
def test_asgi_nothing_outlives_its_request(verwerkingen: Any, rules: str) -> None:
    app = VerwerkingenMiddleware(asgi_app, rules=rules)

    @FUZZ
    @given(headers=hostile_headers, body=bodies())
    def run(headers: list[tuple[str, str]], body: tuple[bytes, int | None, int | None]) -> None:
        data, _declared, cut = body

        async def both() -> None:  # one task: whatever the first leaves set, the second sees
            await call_asgi(app, "POST", "/aanvragen", headers, data, cut)
            verwerkingen.clear()
            await call_asgi(app, "GET", f"/personen/{BSN}", [], b"", None)

        asyncio.run(both())
        check_clean(verwerkingen)

    run()
