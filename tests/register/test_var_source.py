"""A VAR API that misbehaves (a real HTTP server on loopback answering what each test scripts):
the source falls back to its cache with a warning, or fails naming the register and the reason."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.registers import ACTIVITEITEN
from verwerkingen_otel.register import RegisterUnavailable, VarApiSource

VAR_ONLY = [{k: v for k, v in a.items() if k not in ("url", "vertrouwelijkheid", "bewaartermijnDuur")}
            for a in ACTIVITEITEN]


class Scripted:
    """Answers GET {path} with the (status, body) the test put in `pages`."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                outer.requests.append(self.path)
                status, body = outer.pages.get(self.path, (404, b"{}"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def page(self, path: str, body: Any, status: int = 200) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.pages[f"/api/v1{path}"] = (status, raw)


@pytest.fixture
def var() -> Iterator[Scripted]:
    server = Scripted()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def listing(results: list[Any], nxt: str | None = None) -> dict[str, Any]:
    return {"count": len(results), "next": nxt, "previous": None, "results": results}


def test_pages_are_followed_and_extra_fields_tolerated(var: Scripted, tmp_path: Path) -> None:
    var.page("/verwerkingsactiviteiten", listing([dict(VAR_ONLY[0], geldigVanaf="2024-01-01")],
                                                 f"{var.base}/verwerkingsactiviteiten?page=2"))
    var.page("/verwerkingsactiviteiten?page=2", listing(VAR_ONLY[1:]))
    register = VarApiSource(var.base, tmp_path / "cache.json").load()
    assert [a.naam for a in register] == [a["naam"] for a in ACTIVITEITEN]
    assert var.requests == ["/api/v1/verwerkingsactiviteiten", "/api/v1/verwerkingsactiviteiten?page=2"]
    assert register.lookup(ACTIVITEITEN[0]["id"]).url == f"{var.base}/verwerkingsactiviteiten/{ACTIVITEITEN[0]['id']}"
    cached = json.loads((tmp_path / "cache.json").read_text())
    assert [a["naam"] for a in cached["verwerkingsactiviteiten"]] == [a["naam"] for a in ACTIVITEITEN]


@pytest.mark.parametrize("status, body, reason", [
    (500, {"detail": "kapot"}, "RegisterError: {base}: answered 500"),
    (200, b"<html>", "RegisterError: {base}: answered with something that is not JSON"),
    (200, {"items": []}, "RegisterError: {base}: the answer has no `results` list"),
    (200, listing([dict(VAR_ONLY[0], grondslag="Omdat")]), "InvalidRegister: {base}: 1 problem(s) in the register:"),
])
def test_a_broken_answer_uses_the_cache_or_fails_clearly(var: Scripted, tmp_path: Path, status: int, body: Any,
                                                         reason: str, caplog: pytest.LogCaptureFixture) -> None:
    var.page("/verwerkingsactiviteiten", body, status)
    expected = reason.format(base=var.base)
    with pytest.raises(RegisterUnavailable) as info:
        VarApiSource(var.base, tmp_path / "none.json").load()
    assert str(info.value) == (f"register {var.base} cannot be read ({expected}) and there is no cached copy at "
                               f"{tmp_path / 'none.json'}")
    cache = tmp_path / "cache.json"
    cache.write_text(json.dumps({"verwerkingsactiviteiten": ACTIVITEITEN}))
    with caplog.at_level(logging.WARNING, logger="verwerkingen_otel.register"):
        register = VarApiSource(var.base, cache).load()
    assert len(register) == 3 and register.lookup("Beoordelen bijstandsaanvraag").vertrouwelijkheid == "vertrouwelijk"
    assert f"register {var.base} cannot be read ({expected}); using the cached copy {cache}" in caplog.text


def test_a_pagination_loop_is_refused(var: Scripted) -> None:
    var.page("/verwerkingsactiviteiten", listing(VAR_ONLY[:1], f"{var.base}/verwerkingsactiviteiten"))
    with pytest.raises(RegisterUnavailable, match="pagination loops back to a page already read"):
        VarApiSource(var.base).load()


def test_an_unreadable_cache_is_named(var: Scripted, tmp_path: Path) -> None:
    var.page("/verwerkingsactiviteiten", {}, 503)
    cache = tmp_path / "cache.json"
    cache.write_text("{not json")
    with pytest.raises(RegisterUnavailable) as info:
        VarApiSource(var.base, cache).load()
    assert str(info.value).endswith(f"and its cached copy at {cache} is unreadable (JSONDecodeError)")
