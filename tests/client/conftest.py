"""Fixtures for client tests: the real log server on loopback, shared per module."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Iterator

import pytest

from tests.support.bsn import random_bsn
from tests.support.logserver import LogServer, write_clients_file
from verwerkingen_otel.model import Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie

__all__ = ["SECRET", "WEAK_SECRET", "make_actie", "random_bsn"]

ALL_SCOPES = [f"{a}:{lvl}" for a in ("create", "read", "update", "delete") for lvl in ("normal", "confidential")]
SECRET = "client-tests-secret-0123456789abcdef0123456789abcd"
WEAK_SECRET = "client-tests-weak-secret-0123456789abcdef01234567"


def make_actie(activiteit: str, *, bsn: str = "999993653", n: int = 0,
               vertrouwelijkheid: str = "normaal", **changes: object) -> Verwerkingsactie:
    actie = Verwerkingsactie(
        vertrouwelijkheid=Vertrouwelijkheid(vertrouwelijkheid),
        tijdstip=dt.datetime(2024, 4, 5, 14, 35, 42, n % 1_000_000, tzinfo=dt.timezone.utc),
        verwerkte_objecten=(VerwerktObject("persoon", "BSN", bsn, "Getuige",
                                           (VerwerktSoortGegeven("Naam"),)),),
        actie_naam=f"Raadplegen persoon {n}",
        verwerking_id=str(uuid.uuid4()),
        verwerkingsactiviteit_id=activiteit,
        bewaartermijn="P10Y",
    )
    return actie.with_values(**changes) if changes else actie


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
