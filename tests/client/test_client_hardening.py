"""Issue 11, client side: pagination links are followed only to the log's own origin (item 3),
and an http:// log URL is refused for a host that is not loopback (item 4)."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from typing import Iterator

import pytest

import verwerkingen_otel as vo
from tests.client.conftest import ALL_SCOPES, SECRET, make_actie
from tests.support.bsn import random_bsn
from tests.support.logserver import LogServer, free_port, write_clients_file
from verwerkingen_otel.client import AsyncVerwerkingenlogClient, InvalidResponseError, VerwerkingenlogClient

ACTIVITEIT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"


class Trap:
    """A listener on a loopback port that records whatever a client sends it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received.append(conn.recv(65536))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture()
def foreign_links(tmp_path: Path) -> Iterator[tuple[LogServer, Trap, str]]:
    """A real log whose `next` links name another origin (its --base-url), and a trap there."""
    trap = Trap()
    clients = write_clients_file(tmp_path / "clients.toml", {"app": (SECRET, ALL_SCOPES)})
    server = LogServer(f"sqlite:///{tmp_path}/log.db", clients, log_path=tmp_path / "server.log",
                       extra_args=["--page-size", "1", "--base-url", f"http://127.0.0.1:{trap.port}/api/v1"])
    server.start()
    bsn = random_bsn()
    with VerwerkingenlogClient(server.api_url, client_id="app", secret=SECRET) as client:
        for n in range(2):
            client.create(make_actie(ACTIVITEIT, bsn=bsn, n=n))
    try:
        yield server, trap, bsn
    finally:
        server.kill()
        trap.close()


def test_a_next_link_to_another_origin_is_refused_without_sending_anything(foreign_links):
    server, trap, bsn = foreign_links
    with VerwerkingenlogClient(server.api_url, client_id="app", secret=SECRET) as client:
        with pytest.raises(InvalidResponseError) as err:
            list(client.list(soort_object_id="BSN", object_id=bsn))
        assert f"http://127.0.0.1:{trap.port}" in str(err.value)
        assert bsn not in str(err.value) and "objectId" not in str(err.value)  # never the query
        with pytest.raises(InvalidResponseError):
            list(client.inzage_list(soort_object_id="BSN", object_id=bsn,
                                    begin_datum="2024-01-01", eind_datum="2100-01-01"))
    assert trap.received == []  # the token and the BSN never went there


def test_the_async_client_refuses_it_too(foreign_links):
    server, trap, bsn = foreign_links

    async def main() -> None:
        async with AsyncVerwerkingenlogClient(server.api_url, client_id="app", secret=SECRET) as client:
            with pytest.raises(InvalidResponseError) as err:
                async for _ in client.list(soort_object_id="BSN", object_id=bsn):
                    pass
            assert f"http://127.0.0.1:{trap.port}" in str(err.value) and bsn not in str(err.value)

    asyncio.run(main())
    assert trap.received == []


def test_same_origin_links_are_followed(shared_server):
    bsn = random_bsn()
    with VerwerkingenlogClient(shared_server.api_url, client_id="app", secret=SECRET) as client:
        for n in range(3):
            client.create(make_actie(ACTIVITEIT, bsn=bsn, n=n))
        assert len(list(client.list(soort_object_id="BSN", object_id=bsn))) == 3


# --- item 4, client half: TLS by default ---------------------------------------------------------

@pytest.mark.parametrize("url", ["http://log.gemeente.example/api/v1", "http://10.0.0.5:8000/api/v1",
                                 "http://127.0.0.1.example.nl/api/v1"])
def test_plain_http_to_a_remote_log_is_refused_naming_the_setting(url, monkeypatch, tmp_path, isolated_pipeline):
    monkeypatch.setenv("VERWERKINGEN_API_URL", url)
    with pytest.raises(vo.ConfigurationError) as err:
        vo.configure(client_id="app", secret=SECRET, outbox=str(tmp_path / "o.db"))
    assert err.value.setting == "VERWERKINGEN_API_URL"
    assert "VERWERKINGEN_ALLOW_INSECURE_HTTP" in str(err.value)
    with pytest.raises(vo.ConfigurationError) as err:
        vo.configure(api_url=url, client_id="app", secret=SECRET, outbox=str(tmp_path / "o.db"))
    assert err.value.setting == "api_url"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/api/v1", "http://localhost:9/api/v1", "http://[::1]:9/api/v1",
                                 "http://127.1.2.3:9/api/v1", "https://log.gemeente.example/api/v1"])
def test_loopback_and_https_are_accepted(url, tmp_path, isolated_pipeline):
    log = vo.configure(api_url=url, client_id="app", secret=SECRET, outbox=str(tmp_path / "o.db"))
    log.shutdown(timeout=1)


def test_insecure_http_can_be_allowed_explicitly(monkeypatch, tmp_path, isolated_pipeline):
    monkeypatch.setenv("VERWERKINGEN_ALLOW_INSECURE_HTTP", "true")
    log = vo.configure(api_url="http://log.gemeente.example/api/v1", client_id="app", secret=SECRET,
                       outbox=str(tmp_path / "o.db"))
    log.shutdown(timeout=1)


# --- item 7: the log's problem texts are masked in the client's exceptions ------------------------

def test_problem_texts_are_masked_in_exception_messages() -> None:
    from verwerkingen_otel.client import ApiError, ValidatieFoutError, safe_problem_text

    problem = {"title": "Persoon 999993653 onbekend", "detail": "objectId 999993653 bestaat niet\nregel 2" + "x" * 400}
    for error in (ApiError(404, problem), ValidatieFoutError(400, {**problem, "invalidParams": []})):
        assert "999993653" not in str(error) and "999993653" not in error.detail and "\n" not in str(error)
        assert str(error).startswith(f"{error.status} Persoon … onbekend: objectId … bestaat niet regel 2")
        assert len(error.detail) <= 300 and error.detail.endswith("x")  # capped
        assert error.problem["title"] == "Persoon 999993653 onbekend"  # the answer itself is kept
    assert safe_problem_text("code 1234 ok, 12345 not") == "code 1234 ok, … not"
