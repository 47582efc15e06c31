"""Issue 11 item 2: no retry storm on 403. Backoff is per record, by its own attempt count; a 403
for one record while the exporter's others are accepted is that record's grant problem (dead-
lettered after 5 tries with the log's problem JSON); 403 on everything is retried like 401."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from tests.delivery.conftest import FAST, WEAK_SECRET, actie_namen, make_actie
from tests.support.logserver import LogServer
from tests.support.wait import wait_until
from verwerkingen_otel.delivery import ApiExporter, OutboxDelivery, RetryPolicy


def weak_delivery(api_url: str, outbox: Path, policy: RetryPolicy = FAST) -> OutboxDelivery:
    """The client `weak` holds only create:normal: every vertrouwelijk action is refused (403)."""
    return OutboxDelivery([ApiExporter(api_url, client_id="weak", secret=WEAK_SECRET, timeout=5.0)], outbox,
                          policy=policy, concurrency=4)


def attempts(outbox: Path) -> list[int]:
    with sqlite3.connect(outbox) as conn:
        return [r[0] for r in conn.execute("SELECT attempts FROM outbox ORDER BY id")]


def test_one_refused_record_never_holds_up_forty_others(logserver: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    delivery = weak_delivery(logserver.api_url, tmp_path / "outbox.db")
    delivery.submit(make_actie(activiteit, n=999, vertrouwelijkheid="vertrouwelijk"))  # first in line
    for n in range(40):
        delivery.submit(make_actie(activiteit, n=n))
    # the 40 arrive; the refused one is tried a handful of times, then dead-lettered with the problem
    wait_until(lambda: delivery.outbox.status()["dead_letters"] == 1, timeout=30,
               what="the refused record in the dead letters")
    assert delivery.force_flush(10.0) is True
    assert actie_namen(logserver.api_url, activiteit) == sorted(f"Raadplegen persoon {n}" for n in range(40))
    [dead] = delivery.outbox.dead_letters()
    assert (dead.status, dead.attempts) == (403, 5)
    assert dead.problem["status"] == 403 and dead.problem["code"]  # the log's own problem JSON
    refused = logserver.log_text().count("POST /api/v1/verwerkingsacties 403")
    assert refused == 5, refused
    delivery.shutdown(2.0)


def test_403_on_everything_is_retried_like_401_never_dead_lettered(logserver: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    outbox = tmp_path / "outbox.db"
    delivery = weak_delivery(logserver.api_url, outbox)
    for n in range(2):
        delivery.submit(make_actie(activiteit, n=n, vertrouwelijkheid="vertrouwelijk"))
    # beyond the 5 tries of a single refused record, and still waiting, not dead-lettered
    wait_until(lambda: min(attempts(outbox)) >= 6, timeout=60, what="six tries of each record")
    status = delivery.outbox.status()
    assert (status["pending"], status["dead_letters"]) == (2, 0)
    delivery.shutdown(1.0)


def test_backoff_follows_the_records_own_attempts() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=8.0)
    for attempt, (low, high) in {1: (0.5, 1.0), 2: (1.0, 2.0), 3: (2.0, 4.0), 6: (4.0, 8.0)}.items():
        wait = policy.record_retry(attempt, None, now=100.0) - 100.0
        assert low <= wait <= high, (attempt, wait)
    # after an exporter-wide pause the record comes after it, so another record probes first
    assert policy.record_retry(1, None, now=100.0, exporter_pause=3.0) >= 103.5
    assert policy.accepting(last_delivered=50.0, now=100.0) and not policy.accepting(float("-inf"), 100.0)
    assert [policy.dead_letters_forbidden(a) for a in (4, 5)] == [False, True]
