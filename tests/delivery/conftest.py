"""Fixtures for delivery tests: the real log server on loopback, a faulty proxy, real outboxes."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.delivery.faultproxy import FaultProxy
from tests.support.actions import make_actie  # noqa: F401 - imported by the tests here
from tests.support.logserver import LogServer, write_clients_file
from verwerkingen_otel.client import VerwerkingenlogClient
from verwerkingen_otel.delivery import RetryPolicy

ALL_SCOPES = [f"{a}:{lvl}" for a in ("create", "read", "update", "delete") for lvl in ("normal", "confidential")]
SECRET = "delivery-tests-secret-0123456789abcdef0123456789"
WEAK_SECRET = "delivery-tests-weak-secret-0123456789abcdef01234"
FAST = RetryPolicy(backoff_base=0.05, backoff_max=0.4, retry_after_cap=2.0)




@pytest.fixture()
def clients_file(tmp_path: Path) -> Path:
    return write_clients_file(tmp_path / "clients.toml", {
        "app": (SECRET, ALL_SCOPES),
        "weak": (WEAK_SECRET, ["create:normal"]),
    })


@pytest.fixture()
def logserver(tmp_path: Path, clients_file: Path) -> Iterator[LogServer]:
    """A fresh real server (own SQLite file) per test: fault tests stop and restart it."""
    server = LogServer(f"sqlite:///{tmp_path}/log.db", clients_file, log_path=tmp_path / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogServer]:
    """One real server per module, for tests that only read and write."""
    tmp = tmp_path_factory.mktemp("shared-log")
    clients = write_clients_file(tmp / "clients.toml", {
        "app": (SECRET, ALL_SCOPES),
        "weak": (WEAK_SECRET, ["create:normal"]),
        "reader": (WEAK_SECRET, ["read:normal"]),
    })
    with LogServer(f"sqlite:///{tmp}/log.db", clients, log_path=tmp / "server.log",
                   extra_args=["--page-size", "3"]) as server:
        yield server


@pytest.fixture()
def proxy(logserver: LogServer) -> Iterator[FaultProxy]:
    p = FaultProxy(logserver.base_url)
    try:
        yield p
    finally:
        p.close()


def actie_namen(api_url: str, activiteit: str, bsn: str = "999993653") -> list[str]:
    """actieNaam of every action the log holds for this activity (every page), via its API."""
    with VerwerkingenlogClient(api_url, client_id="app", secret=SECRET) as client:
        return sorted(a.actie_naam or "" for a in client.list(
            soort_object_id="BSN", object_id=bsn, verwerkingsactiviteit_id=activiteit))
