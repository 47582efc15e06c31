"""Delivery through the outbox against the real log server, with real faults.

Every test counts what arrived on the server through its own API, and checks the outbox file
itself: what is left, what was dead-lettered and why.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.delivery.conftest import FAST, SECRET, actie_namen, make_actie
from tests.delivery.faultproxy import FaultProxy
from tests.support.logserver import LogServer
from tests.support.wait import wait_until
from verwerkingen_otel.delivery import OutboxDelivery, RetryPolicy
from verwerkingen_otel.delivery import RecordingError
from verwerkingen_otel.delivery import ApiExporter
from verwerkingen_otel.delivery import Outbox


def delivery_to(api_url: str, outbox: Path, *, secret: str = SECRET, timeout: float = 5.0,
                policy: RetryPolicy = FAST, concurrency: int = 4) -> OutboxDelivery:
    exporter = ApiExporter(api_url, client_id="app", secret=secret, timeout=timeout)
    return OutboxDelivery([exporter], outbox, policy=policy, concurrency=concurrency)


def submit_many(delivery: OutboxDelivery, activiteit: str, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        delivery.submit(make_actie(activiteit, n=i))


def expected(n: int, start: int = 0) -> list[str]:
    return sorted(f"Raadplegen persoon {i}" for i in range(start, start + n))


def test_delivers_every_action_once_and_empties_the_outbox(logserver: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    delivery = delivery_to(logserver.api_url, tmp_path / "outbox.db")
    submit_many(delivery, activiteit, 40)
    assert delivery.force_flush(10.0) is True
    assert delivery.pending() == 0
    assert actie_namen(logserver.api_url, activiteit) == expected(40)
    assert stat.S_IMODE(os.stat(tmp_path / "outbox.db").st_mode) == 0o600
    assert delivery.shutdown(2.0) is True


def test_log_down_at_start_then_up(logserver: LogServer, tmp_path: Path) -> None:
    logserver.stop()
    activiteit = str(uuid.uuid4())
    delivery = delivery_to(logserver.api_url, tmp_path / "outbox.db")
    submit_many(delivery, activiteit, 20)
    started = time.monotonic()
    assert delivery.force_flush(0.5) is False
    assert time.monotonic() - started < 0.8
    assert delivery.pending() == 20
    logserver.start()
    assert delivery.force_flush(15.0) is True
    assert actie_namen(logserver.api_url, activiteit) == expected(20)
    assert delivery.outbox.status()["dead_letters"] == 0
    delivery.shutdown(2.0)


def test_log_stopped_and_restarted_mid_stream(logserver: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    delivery = delivery_to(logserver.api_url, tmp_path / "outbox.db")
    done = threading.Event()

    submitted = [0]

    def produce() -> None:
        for i in range(150):
            delivery.submit(make_actie(activiteit, n=i))
            submitted[0] = i + 1
            time.sleep(0.004)  # deliberate: paces the producer so its stream spans the outage (what is tested)
        done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    wait_until(lambda: actie_namen(logserver.api_url, activiteit), what="the first actions to reach the log")
    logserver.stop()  # mid-stream: some delivered, some in flight, more coming
    while_down = submitted[0]
    wait_until(lambda: submitted[0] >= min(150, while_down + 20) or done.is_set(),
               what="more actions submitted while the log is down")
    logserver.start()
    producer.join()
    assert done.is_set()
    assert delivery.force_flush(20.0) is True
    assert actie_namen(logserver.api_url, activiteit) == expected(150)
    delivery.shutdown(2.0)


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_retried_with_the_same_idempotency_key(status: int, proxy: FaultProxy, logserver: LogServer,
                                                     tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    proxy.fail_next(3, status)
    delivery = delivery_to(proxy.api_url, tmp_path / "outbox.db", concurrency=1)
    submit_many(delivery, activiteit, 5)
    assert delivery.force_flush(15.0) is True
    assert actie_namen(logserver.api_url, activiteit) == expected(5)
    posts = proxy.posts()
    failed = [p.idempotency_key for p in posts if p.status == status]
    stored = [p.idempotency_key for p in posts if p.status == 201]
    assert len(failed) == 3 and len(stored) == len(set(stored)) == 5
    assert set(failed) <= set(stored)  # a failed record came back with the same key
    delivery.shutdown(2.0)


def test_429_retry_after_is_honoured(proxy: FaultProxy, logserver: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    proxy.fail_next(1, 429, retry_after="1")
    delivery = delivery_to(proxy.api_url, tmp_path / "outbox.db", concurrency=1)
    submit_many(delivery, activiteit, 3)
    assert delivery.force_flush(15.0) is True
    posts = proxy.posts()
    assert posts[0].status == 429 and [p.status for p in posts[1:]] == [201] * 3
    assert posts[0].idempotency_key in {p.idempotency_key for p in posts[1:]}
    assert posts[1].at - posts[0].at >= 0.95  # the log waited for; backoff alone is < 0.05 s
    assert actie_namen(logserver.api_url, activiteit) == expected(3)
    delivery.shutdown(2.0)


def test_429_pauses_every_sender_not_just_the_one_refused(proxy: FaultProxy, logserver: LogServer,
                                                         tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    proxy.fail_next(1, 429, retry_after="1")
    delivery = delivery_to(proxy.api_url, tmp_path / "outbox.db", concurrency=4)
    submit_many(delivery, activiteit, 12)
    assert delivery.force_flush(15.0) is True
    posts = proxy.posts()
    refused = next(p for p in posts if p.status == 429)
    too_soon = [p for p in posts if 0 < p.at - refused.at < 0.95]
    assert len(too_soon) <= 3  # only tries already on the wire; rows leased ahead were given back
    assert actie_namen(logserver.api_url, activiteit) == expected(12)
    assert delivery.outbox.status()["exporters"] == {}
    delivery.shutdown(2.0)


def test_retry_after_is_capped(proxy: FaultProxy, logserver: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    proxy.fail_next(1, 503, retry_after="3600")
    policy = RetryPolicy(backoff_base=0.05, backoff_max=0.4, retry_after_cap=0.5)
    delivery = delivery_to(proxy.api_url, tmp_path / "outbox.db", policy=policy, concurrency=1)
    submit_many(delivery, activiteit, 1)
    assert delivery.force_flush(5.0) is True
    posts = proxy.posts()
    assert 0.45 <= posts[1].at - posts[0].at < 2.0
    delivery.shutdown(2.0)


def test_log_slower_than_the_timeout_still_exactly_once(proxy: FaultProxy, logserver: LogServer,
                                                        tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    proxy.delay = 1.0  # the log stores the action, but answers after the client gave up
    delivery = delivery_to(proxy.api_url, tmp_path / "outbox.db", timeout=0.3)
    submit_many(delivery, activiteit, 4)
    assert delivery.force_flush(1.5) is False
    assert delivery.pending() == 4
    proxy.delay = 0.0
    assert delivery.force_flush(15.0) is True
    keys = [p.idempotency_key for p in proxy.posts()]
    assert len(keys) > 4 and len(set(keys)) == 4  # retried, each with its own key
    assert actie_namen(logserver.api_url, activiteit) == expected(4)  # and stored once each
    delivery.shutdown(2.0)


def test_server_ignoring_idempotency_key_gives_at_least_once(proxy: FaultProxy, logserver: LogServer,
                                                             tmp_path: Path) -> None:
    """Documented: without Idempotency-Key support a timed-out try can be stored twice."""
    activiteit = str(uuid.uuid4())
    proxy.strip_idempotency_key = True
    proxy.delay = 0.8
    delivery = delivery_to(proxy.api_url, tmp_path / "outbox.db", timeout=0.3)
    submit_many(delivery, activiteit, 3)
    # a try the log stored although its answer came after the client's timeout: it will be sent again
    wait_until(lambda: actie_namen(logserver.api_url, activiteit), what="a timed-out try stored by the log")
    proxy.delay = 0.0
    assert delivery.force_flush(15.0) is True
    namen = actie_namen(logserver.api_url, activiteit)
    assert set(namen) == set(expected(3))  # every action at least once
    assert len(namen) > 3  # and some more than once
    delivery.shutdown(2.0)


def test_400_dead_letters_that_record_while_later_ones_flow(logserver: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    delivery = delivery_to(logserver.api_url, tmp_path / "outbox.db", concurrency=1)
    delivery.submit(make_actie(activiteit, n=0, actie_naam="x" * 300))  # the log refuses: > 242
    submit_many(delivery, activiteit, 5, start=1)
    assert delivery.force_flush(10.0) is True
    assert actie_namen(logserver.api_url, activiteit) == expected(5, start=1)
    dead = delivery.outbox.dead_letters()
    assert len(dead) == 1
    assert dead[0].status == 400 and dead[0].exporter == "api"
    assert [(p["name"], p["code"]) for p in dead[0].problem["invalidParams"]] == [("actieNaam", "max_length")]
    assert delivery.outbox.status()["pending"] == 0
    delivery.shutdown(2.0)


def test_wrong_credentials_are_retried_loudly_never_dead_lettered(logserver: LogServer, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    activiteit = str(uuid.uuid4())
    wrong = "wrong-secret-0123456789abcdef0123456789abcdef"
    caplog.set_level(logging.ERROR, logger="verwerkingen_otel.delivery")
    delivery = delivery_to(logserver.api_url, tmp_path / "outbox.db", secret=wrong)
    submit_many(delivery, activiteit, 3)
    assert delivery.force_flush(1.0) is False
    status = delivery.outbox.status()
    assert (status["pending"], status["dead_letters"], status["exporters"]["api"]["retrying"]) == (3, 0, 3)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and all("credentials or grants are wrong" in m for m in errors)
    assert all(wrong not in m and "999993653" not in m for m in errors)
    delivery.shutdown(0.5)
    # The same records, with the right credentials, all arrive: nothing was lost.
    fixed = delivery_to(logserver.api_url, tmp_path / "outbox.db")
    assert fixed.force_flush(10.0) is True
    assert actie_namen(logserver.api_url, activiteit) == expected(3)
    fixed.shutdown(2.0)


def test_403_is_retried_then_delivered(proxy: FaultProxy, logserver: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    proxy.fail_next(2, 403)
    delivery = delivery_to(proxy.api_url, tmp_path / "outbox.db", concurrency=1)
    submit_many(delivery, activiteit, 2)
    assert delivery.force_flush(10.0) is True
    assert [p.status for p in proxy.posts()][:3] == [403, 403, 201]
    assert delivery.outbox.dead_letters() == []
    delivery.shutdown(2.0)


def test_flush_and_shutdown_return_within_their_timeout_with_the_log_down(logserver: LogServer,
                                                                          tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    logserver.stop()
    delivery = delivery_to(logserver.api_url, tmp_path / "outbox.db", timeout=30.0)
    submit_many(delivery, activiteit, 10)
    started = time.monotonic()
    assert delivery.force_flush(0.3) is False
    assert delivery.shutdown(0.5) is False
    assert time.monotonic() - started < 1.1
    assert Outbox(tmp_path / "outbox.db").pending() == 10  # left for the next start


def test_shutdown_with_a_hanging_log_returns_in_time(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.delay = 5.0  # requests hang in flight
    delivery = delivery_to(proxy.api_url, tmp_path / "outbox.db", timeout=30.0)
    submit_many(delivery, str(uuid.uuid4()), 3)
    wait_until(lambda: proxy.received() >= 3, what="three requests in flight at the proxy")
    started = time.monotonic()
    assert delivery.shutdown(0.5) is False
    assert time.monotonic() - started < 1.0
    assert Outbox(tmp_path / "outbox.db").pending() == 3


def test_leftovers_are_replayed_at_start_up(logserver: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    logserver.stop()
    first = delivery_to(logserver.api_url, tmp_path / "outbox.db")
    submit_many(first, activiteit, 6)
    first.shutdown(0.2)
    logserver.start()
    second = delivery_to(logserver.api_url, tmp_path / "outbox.db")
    assert second.force_flush(10.0) is True  # flush covers what an earlier run left
    assert actie_namen(logserver.api_url, activiteit) == expected(6)
    second.shutdown(2.0)


def test_unwritable_outbox_path_fails_loudly(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(RecordingError, match="not-a-directory"):
        delivery_to("http://127.0.0.1:9/api/v1", blocker / "outbox.db")


def test_outbox_refuses_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.db").write_text("")
    (tmp_path / "outbox.db").symlink_to(tmp_path / "elsewhere.db")
    with pytest.raises(RecordingError, match="outbox.db"):
        delivery_to("http://127.0.0.1:9/api/v1", tmp_path / "outbox.db")


def test_full_outbox_fails_the_call_with_our_error(tmp_path: Path) -> None:
    delivery = delivery_to("http://127.0.0.1:9/api/v1", tmp_path / "outbox.db")
    conn = delivery.outbox._connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite reports SQLITE_FULL, as for a full disk
    with pytest.raises(RecordingError) as info:
        for i in range(200):
            delivery.submit(make_actie(str(uuid.uuid4()), n=i))
    message = str(info.value)
    assert "could not record the verwerkingsactie" in message and "full" in message
    assert "999993653" not in message
    delivery.shutdown(0.2)


def test_full_disk_fails_the_call(tmp_path: Path) -> None:
    """A real full file system: a 256 KiB tmpfs (needs mount rights; skipped without)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.system(f"mount -t tmpfs -o size=256k,mode=0700 tmpfs {mnt} 2>/dev/null") != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        delivery = delivery_to("http://127.0.0.1:9/api/v1", mnt / "outbox.db")
        with pytest.raises(RecordingError, match="could not record"):
            for i in range(5000):
                delivery.submit(make_actie(str(uuid.uuid4()), n=i))
        delivery.shutdown(0.2)
    finally:
        os.system(f"umount -l {mnt}")
