"""Issue 11 item 2 against the real log: a producer holding only `create:normal` records one
vertrouwelijk action (the log answers 403) among 40 normal ones."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest

from tests.delivery.conftest import FAST, WEAK_SECRET, actie_namen, make_actie
from tests.delivery.faultproxy import FaultProxy
from tests.support.logserver import LogServer
from verwerkingen_otel.delivery import ApiExporter, OutboxDelivery


def test_a_refused_vertrouwelijk_record_is_dead_lettered_and_the_40_others_arrive_once(
        proxy: FaultProxy, logserver: LogServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="verwerkingen_otel.delivery")
    activiteit = str(uuid.uuid4())
    exporter = ApiExporter(proxy.api_url, client_id="weak", secret=WEAK_SECRET, timeout=5.0)
    delivery = OutboxDelivery([exporter], tmp_path / "outbox.db", policy=FAST, concurrency=4)
    delivery.submit(make_actie(activiteit, n=0, vertrouwelijkheid="vertrouwelijk"))  # first: it is tried first
    for i in range(1, 41):
        delivery.submit(make_actie(activiteit, n=i))
    assert delivery.force_flush(20.0) is True  # nothing pending: delivered or dead-lettered
    assert actie_namen(logserver.api_url, activiteit) == sorted(
        f"Raadplegen persoon {i}" for i in range(1, 41))
    posts = proxy.posts()
    refused = [p for p in posts if p.status == 403]
    stored = [p for p in posts if p.status == 201]
    assert len({p.idempotency_key for p in refused}) == 1  # one record refused, by its own key each time
    assert len(refused) == 5  # tried five times, then dead-lettered
    assert len(stored) == len({p.idempotency_key for p in stored}) == 40  # each normal one sent once
    assert len(posts) == 45
    dead, = delivery.outbox.dead_letters()
    assert (dead.status, dead.attempts, dead.exporter) == (403, 5, "api")
    assert json.loads(dead.body)["vertrouwelijkheid"] == "vertrouwelijk"
    assert dead.problem["status"] == 403 and dead.problem["title"]
    assert dead.record_id == refused[0].idempotency_key
    assert delivery.outbox.status()["pending"] == 0
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert sum("for good" in m for m in messages) == 1
    assert all("999993653" not in m and WEAK_SECRET not in m for m in messages)
    delivery.shutdown(2.0)
