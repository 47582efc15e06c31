"""Issue 11 item 1: a request's caller context never reaches a later request, and the WSGI
middleware reads exactly the body the request has (keep-alive works).

Run on werkzeug's own server with threaded=False: every request is handled on the same thread,
so anything a request leaves set on that thread is seen by the next one.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from werkzeug.serving import make_server

try:  # the one-way house layout
    from verwerkingen_otel.web import VerwerkingenWSGIMiddleware
except ImportError:  # pragma: no cover - the layout before it
    from verwerkingen_otel.wsgi import VerwerkingenWSGIMiddleware

BSN = "999993653"
HOSTILE = {"Vertrouwelijkheid": "vertrouwelijk", "Bewaartermijn": "P1D", "OIN": "00000001821002193000",
           "VerwerkingId": "4b698de3-ffba-45e7-8697-a283ec863db2"}
RULES = """
[[rules]]
name = "aanvraag"
method = "POST"
route = "/aanvragen"
actie_naam = "Aanvraag ontvangen"
verwerkingsactiviteit_id = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
[[rules.objecten]]
from = "body"
pointer = "/bsn"

[[rules]]
name = "raadplegen"
method = "GET"
route = "/personen/<bsn>"
actie_naam = "Raadplegen persoon"
verwerkingsactiviteit_id = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
[[rules.objecten]]
from = "path"
name = "bsn"
"""


SEEN: list[object] = []  # what the app got from each body: its length, or the error's type


def plain_app(environ: dict, start_response: Any) -> list[bytes]:
    """Reads its body as a WSGI app must (CONTENT_LENGTH bytes) and answers 200."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        body = environ["wsgi.input"].read(length) if length else b""
    except Exception as exc:
        SEEN.append(type(exc))
        raise
    SEEN.append(len(body))
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"gelezen": len(body)}).encode()]


@contextmanager
def single_threaded(app: Any) -> Iterator[tuple[str, int]]:
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server.server_port
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int]]:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    with single_threaded(VerwerkingenWSGIMiddleware(plain_app, rules=str(rules))) as where:
        yield where


def raw(port: int, data: bytes, *, close_after: bool = True, timeout: float = 10.0) -> bytes:
    """Send bytes; with close_after, close without sending the rest (a client that went away)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if close_after:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, socket.timeout):
            pass
    return b"".join(chunks)


def request_bytes(path: str, body: bytes, headers: dict[str, str], *, declared: int | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             f"Content-Length: {len(body) if declared is None else declared}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def assert_plain_request_is_clean(base: str, verwerkingen: Any) -> None:
    verwerkingen.clear()
    r = httpx.get(f"{base}/personen/{BSN}", timeout=10)
    assert r.status_code == 200
    actie = verwerkingen.assert_one(actie_naam="Raadplegen persoon")
    assert actie["vertrouwelijkheid"] == "normaal"
    assert actie["bewaartermijn"] == "P10Y"  # the setting, not a previous caller's P1D
    for key in ("afnemerId", "soortAfnemerId", "verwerkingIdAfnemer"):
        assert key not in actie, key


@pytest.mark.verwerkingen(bewaartermijn="P10Y")
def test_a_body_nested_3000_deep_leaves_nothing_behind(served: tuple[str, int], verwerkingen: Any) -> None:
    base, port = served
    deep = b'{"bsn": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    response = raw(port, request_bytes("/aanvragen", deep, HOSTILE))
    assert_plain_request_is_clean(base, verwerkingen)
    assert response.split(b" ", 2)[1] == b"200", response[:200]  # the app still answers


@pytest.mark.verwerkingen(bewaartermijn="P10Y")
def test_a_client_that_disconnects_mid_body_leaves_nothing_behind(served: tuple[str, int], verwerkingen: Any) -> None:
    base, port = served
    partial = request_bytes("/aanvragen", b'{"bsn": "9999', HOSTILE, declared=200)
    SEEN.clear()
    raw(port, partial, close_after=True)
    assert_plain_request_is_clean(base, verwerkingen)
    # item 7: the app learns that the client went away, never gets 13 bytes as if complete
    assert len(SEEN) == 2 and SEEN[0] != 13 and not isinstance(SEEN[0], int), SEEN


@pytest.mark.verwerkingen(bewaartermijn="P10Y")
def test_an_invalid_body_means_no_person_from_the_body(served: tuple[str, int], verwerkingen: Any) -> None:
    base, port = served
    response = raw(port, request_bytes("/aanvragen", b"\xff{not json", HOSTILE))
    assert response.split(b" ", 2)[1] == b"200", response[:200]
    assert verwerkingen.find(actie_naam="Aanvraag ontvangen") == []  # no person, so no action
    assert_plain_request_is_clean(base, verwerkingen)


def test_keep_alive_post_to_a_body_rule_reads_exactly_content_length(served: tuple[str, int],
                                                                     verwerkingen: Any) -> None:
    """Reading wsgi.input to end-of-file hung here until the client gave up (ReadTimeout)."""
    base, _ = served
    with httpx.Client(base_url=base, timeout=5) as client:  # one keep-alive connection
        for n in range(3):
            started = time.monotonic()
            r = client.post("/aanvragen", json={"bsn": BSN, "n": n})
            assert r.status_code == 200 and r.json() == {"gelezen": len(r.request.content)}
            assert time.monotonic() - started < 5
    assert len(verwerkingen.find(actie_naam="Aanvraag ontvangen")) == 3
    assert verwerkingen.acties[0]["verwerkteObjecten"][0]["objectId"] == BSN


# --- item 7: the body buffered for a rule is capped; a disconnect is passed on as one -----------

def test_a_body_over_max_body_is_not_buffered_and_reaches_the_app_whole(tmp_path: Path, verwerkingen: Any) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    body = json.dumps({"bsn": BSN, "pad": "x" * 300}).encode()
    with single_threaded(VerwerkingenWSGIMiddleware(plain_app, rules=str(rules), max_body=100)) as (base, _):
        r = httpx.post(f"{base}/aanvragen", content=body, headers={"Content-Type": "application/json"}, timeout=5)
        assert r.json() == {"gelezen": len(body)}  # the app still reads all of it
        assert verwerkingen.find(actie_naam="Aanvraag ontvangen") == []  # no person from an unread body
        small = json.dumps({"bsn": BSN}).encode()
        r = httpx.post(f"{base}/aanvragen", content=small, headers={"Content-Type": "application/json"}, timeout=5)
        assert r.json() == {"gelezen": len(small)}
    assert len(verwerkingen.find(actie_naam="Aanvraag ontvangen")) == 1


@pytest.mark.verwerkingen(max_body=100)
def test_the_max_body_setting_applies_to_the_asgi_middleware(tmp_path: Path, verwerkingen: Any) -> None:
    import asyncio

    from verwerkingen_otel.web import VerwerkingenMiddleware

    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    got: list[int] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        got.append(size)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def post(body: bytes) -> None:
        chunks = [body[i:i + 40] for i in range(0, len(body), 40)]
        messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

        async def receive() -> dict:
            return messages.pop(0)

        async def send(_m: dict) -> None:
            return None

        scope = {"type": "http", "method": "POST", "path": "/aanvragen", "root_path": "", "query_string": b"",
                 "headers": []}  # no content-length: chunked, so the cap is found while reading
        await VerwerkingenMiddleware(app, rules=str(rules))(scope, receive, send)

    big = json.dumps({"bsn": BSN, "pad": "x" * 300}).encode()
    asyncio.run(post(big))
    assert got == [len(big)] and verwerkingen.find(actie_naam="Aanvraag ontvangen") == []
    asyncio.run(post(json.dumps({"bsn": BSN}).encode()))
    assert len(verwerkingen.find(actie_naam="Aanvraag ontvangen")) == 1


def test_an_asgi_disconnect_mid_body_reaches_the_app_as_a_disconnect(tmp_path: Path, verwerkingen: Any) -> None:
    """Before: the middleware handed the app the partial body as a complete one (more_body False)."""
    import asyncio

    from verwerkingen_otel.web import VerwerkingenMiddleware

    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    seen: list[dict] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            seen.append(message)
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return

    messages = [{"type": "http.request", "body": b'{"bsn": "9999', "more_body": True}, {"type": "http.disconnect"}]

    async def receive() -> dict:
        return messages.pop(0)

    async def send(_m: dict) -> None:
        raise AssertionError("nothing to send to a client that left")

    scope = {"type": "http", "method": "POST", "path": "/aanvragen", "root_path": "", "query_string": b"",
             "headers": [(b"vertrouwelijkheid", b"vertrouwelijk")]}
    asyncio.run(VerwerkingenMiddleware(app, rules=str(rules))(scope, receive, send))
    assert [m["type"] for m in seen] == ["http.request", "http.disconnect"]
    assert seen[0]["more_body"] is True
    assert verwerkingen.acties == []


@pytest.mark.verwerkingen(bewaartermijn="P10Y")
def test_flask_a_deep_body_gives_no_person_and_no_500(tmp_path: Path, verwerkingen: Any) -> None:
    """Flask's glue parsed the body with get_json(silent=True), which lets RecursionError out (500)."""
    import flask

    from verwerkingen_otel.flask import Verwerkingen

    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    app = flask.Flask("isolation")
    Verwerkingen(app, rules=str(rules))

    @app.post("/aanvragen")
    def aanvraag() -> dict[str, int]:
        return {"gelezen": len(flask.request.get_data())}

    @app.get("/personen/<bsn>")
    def raadplegen(bsn: str) -> dict[str, str]:
        return {"bsn": bsn}

    deep = b'{"bsn": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    with single_threaded(app) as (base, port):
        response = raw(port, request_bytes("/aanvragen", deep, HOSTILE))
        assert_plain_request_is_clean(base, verwerkingen)
        assert response.split(b" ", 2)[1] == b"200", response[:300]
        r = httpx.post(f"{base}/aanvragen", json={"bsn": BSN}, timeout=5)
        assert r.status_code == 200
    assert len(verwerkingen.find(actie_naam="Aanvraag ontvangen")) == 1
