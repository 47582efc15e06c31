"""Per-record backoff (ARCHITECTURE "Failures of the log") on a real outbox file, with the worker's
clock injected: the test moves time forward instead of sleeping.

The exporter here is scripted (it answers like the log would for chosen records); the same
behaviour against the real server is in test_refused.py.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from tests.delivery.conftest import make_actie
from tests.support.wait import wait_until
from verwerkingen_otel.delivery import (
    AuthFailure,
    OutboxDelivery,
    Record,
    RetryableFailure,
    RetryPolicy,
)

# jitter 0: a wait is exactly half its step (base·2^(n-1) / 2), so delays can be asserted exactly.
POLICY = RetryPolicy(backoff_base=2.0, backoff_max=16.0, retry_after_cap=30.0, jitter=lambda: 0.0)
PROBLEM = {"type": "about:blank", "title": "Forbidden", "status": 403,
           "detail": "the client may not create a vertrouwelijk action"}


class Clock:
    """Wall time that moves only when told (and by a microsecond per reading, so that order shows)."""

    def __init__(self) -> None:
        self.now = time.time()
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            self.now += 1e-6
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


class Scripted:
    """Answers per record like the log: `refuse` -> 403/401, `down` -> a network error."""

    name = "api"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tries: dict[str, int] = {}
        self.delivered: list[str] = []
        self.refuse: set[str] = set()
        self.refuse_all: int | None = None  # 401 or 403 for every record
        self.down = False

    def export(self, record: Record) -> None:
        with self.lock:
            self.tries[record.id] = self.tries.get(record.id, 0) + 1
        if self.down:
            raise RetryableFailure("ConnectError")
        if self.refuse_all is not None:
            raise AuthFailure(f"HTTP {self.refuse_all} Forbidden", status=self.refuse_all, problem=dict(PROBLEM))
        if record.body["actieNaam"] in self.refuse:
            raise AuthFailure("HTTP 403 Forbidden", status=403, problem=dict(PROBLEM))
        with self.lock:
            self.delivered.append(record.body["actieNaam"])

    def total(self) -> int:
        with self.lock:
            return sum(self.tries.values())

    def shutdown(self) -> None:
        pass


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def sink() -> Scripted:
    return Scripted()


@pytest.fixture()
def delivery(tmp_path: Path, sink: Scripted, clock: Clock) -> Iterator[OutboxDelivery]:
    d = OutboxDelivery([sink], tmp_path / "outbox.db", policy=POLICY, concurrency=4, clock=clock)
    yield d
    d.shutdown(0.5)


def rows(delivery: OutboxDelivery) -> list[tuple[str, int, float]]:
    conn = delivery.outbox._connection()
    return [(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT json_extract(body, '$.actieNaam'), attempts, next_attempt FROM outbox ORDER BY id")]


def step(delivery: OutboxDelivery, clock: Clock, seconds: float) -> None:
    clock.advance(seconds)
    delivery._worker.wake()


def settle(delivery: OutboxDelivery, sink: Scripted) -> None:
    """Every try so far has its outcome in the outbox (moving the clock before would let the
    worker's pause start after the move, and the step would be spent)."""
    def settled() -> bool:
        failed = sum(r[1] for r in rows(delivery)) + sum(d.attempts for d in delivery.outbox.dead_letters())
        return failed + len(sink.delivered) == sink.total() and not delivery._worker._outcomes
    wait_until(settled, what="every try's outcome in the outbox")


def test_a_refused_record_is_dead_lettered_after_five_tries_and_never_holds_up_the_others(
        delivery: OutboxDelivery, sink: Scripted, clock: Clock) -> None:
    activiteit = str(uuid.uuid4())
    sink.refuse = {"Raadplegen persoon 0"}
    for i in range(11):  # the refused one first: its first try comes before the others' 201s
        delivery.submit(make_actie(activiteit, n=i))
    wait_until(lambda: len(sink.delivered) == 10, what="the ten others, without moving the clock")
    assert sorted(sink.delivered) == sorted(f"Raadplegen persoon {i}" for i in range(1, 11))
    assert sorted(sink.tries.values()) == [1] * 11  # nobody was tried twice meanwhile
    for attempt in range(2, 6):
        (name, attempts, due), = wait_until(lambda: [r for r in rows(delivery) if r[1] == attempt - 1],
                                            what=f"the refused record's try {attempt - 1} recorded")
        # its own backoff: base·2^(n-1)/2 = 1, 2, 4, 8 s after its n-th failure
        assert due - clock.now == pytest.approx(2.0 ** (attempt - 2), abs=0.01)
        step(delivery, clock, 2.0 ** (attempt - 2))
        wait_until(lambda: max(sink.tries.values()) == attempt, what=f"try {attempt}")
    wait_until(lambda: delivery.outbox.dead_letters(), what="the dead letter")
    dead, = delivery.outbox.dead_letters()
    assert (dead.status, dead.attempts, dead.problem) == (403, 5, PROBLEM)
    assert delivery.pending() == 0
    assert max(sink.tries.values()) == 5


def test_401_is_retried_by_the_records_own_count_capped_and_never_dead_lettered(
        delivery: OutboxDelivery, sink: Scripted, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    sink.refuse_all = 401
    delivery.submit(make_actie(str(uuid.uuid4())))
    waits = []
    for attempt in range(1, 9):
        (_, _, due), = wait_until(lambda: [r for r in rows(delivery) if r[1] == attempt],
                                  what=f"failure {attempt} recorded")
        waits.append(round(due - clock.now, 2))
        step(delivery, clock, due - clock.now + 0.001)
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0, 8.0]  # base 2, cap 16, half-step without jitter
    assert delivery.outbox.dead_letters() == []
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) >= 8 and all("credentials or grants are wrong" in m for m in errors)


def test_403_on_everything_is_the_grants_retried_like_401_never_dead_lettered(
        delivery: OutboxDelivery, sink: Scripted, clock: Clock) -> None:
    sink.refuse_all = 403
    for i in range(3):
        delivery.submit(make_actie(str(uuid.uuid4()), n=i))
    wait_until(lambda: sink.total() >= 1, what="the first try")
    for _ in range(60):  # every step is past any pause (at most 8 s here): one probe each
        if len(sink.tries) == 3 and min(sink.tries.values()) >= 6:
            break
        settle(delivery, sink)
        before = sink.total()
        step(delivery, clock, 20.0)
        wait_until(lambda: sink.total() > before, what="the next probe")
    assert min(sink.tries.values()) >= 6  # every record refused more than five times
    assert delivery.outbox.dead_letters() == []
    assert delivery.pending() == 3
    # Fixed: the grants are right again; everything arrives.
    sink.refuse_all = None
    settle(delivery, sink)
    step(delivery, clock, 20.0)
    assert wait_until(lambda: len(sink.delivered) == 3, what="all three after the fix")


def test_an_outage_is_probed_one_record_at_a_time_then_everything_resumes(
        delivery: OutboxDelivery, sink: Scripted, clock: Clock) -> None:
    sink.down = True
    for i in range(30):
        delivery.submit(make_actie(str(uuid.uuid4()), n=i))
    wait_until(lambda: sink.total() >= 2, what="the first failures")
    for advanced in range(1, 11):
        settle(delivery, sink)
        before = sink.total()
        step(delivery, clock, 16.0)  # past any exporter pause: one probe is due
        wait_until(lambda: sink.total() > before, what="one probe")
    tries = sink.total()
    # At most the first sends already handed to the senders (concurrency 4, leased 2 each), then
    # one probe per pause: never the 30 waiting records on every step.
    assert tries <= 8 + 10
    assert delivery.pending() == 30
    sink.down = False
    settle(delivery, sink)
    step(delivery, clock, 16.0)
    wait_until(lambda: len(sink.delivered) == 30, what="all 30 after the log is back, at once")
    assert max(sink.tries.values()) <= 4
