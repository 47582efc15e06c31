"""A destination's own delivery settings: `retry_after_max` and `concurrency` in its
[destinations.*] table win over the shared settings, for its lanes only (ARCHITECTURE,
"Delivery settings … apply to every destination unless the destination sets its own").

Two real logs behind fault proxies; configured through `vo.configure(destinations=…)`, the
way a service does it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

import verwerkingen_otel as vo
from tests.delivery.conftest import ALL_SCOPES, SECRET
from tests.delivery.faultproxy import FaultProxy
from tests.support.logserver import LogServer, write_clients_file
from tests.support.wait import wait_until
from verwerkingen_otel.delivery import OutboxDelivery

BSN = "999993653"
ACTIVITEIT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"


@pytest.fixture()
def two_logs(isolated_pipeline: None, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    monkeypatch.setenv("LOG_SECRET", SECRET)
    clients = write_clients_file(tmp_path / "clients.toml", {"app": (SECRET, ALL_SCOPES)})
    servers = [LogServer(f"sqlite:///{tmp_path}/{name}.db", clients, log_path=tmp_path / f"{name}.log")
               for name in ("een", "twee")]
    for server in servers:
        server.start()
    proxies = [FaultProxy(server.base_url) for server in servers]
    try:
        yield proxies[0], proxies[1]
    finally:
        vo.shutdown(1.0)  # before the logs go: nothing left retrying into a closed proxy
        for proxy in proxies:
            proxy.close()
        for server in servers:
            server.kill()


def configure(tmp_path: Path, een: FaultProxy, twee: FaultProxy, een_extra: str, **settings: object) -> OutboxDelivery:
    path = tmp_path / "destinations.toml"
    path.write_text(
        f'[destinations.een]\napi_url = "{een.api_url}"\nclient_id = "app"\nsecret_env = "LOG_SECRET"\n{een_extra}'
        f'[destinations.twee]\napi_url = "{twee.api_url}"\nclient_id = "app"\nsecret_env = "LOG_SECRET"\n'
        '[[routes]]\ndefault = true\ndestinations = ["een", "twee"]\n')
    pipeline = vo.configure(destinations=str(path), outbox=str(tmp_path / "outbox.db"), **settings)
    assert isinstance(pipeline.delivery, OutboxDelivery)
    return pipeline.delivery


def record(n: int) -> None:
    for i in range(n):
        with vo.verwerkingsactie(f"actie-{i:03d}", verwerkingsactiviteit_id=ACTIVITEIT) as actie:
            actie.add_object(BSN)


def created(proxy: FaultProxy) -> list[str | None]:
    return [s.idempotency_key for s in proxy.posts() if s.status == 201]


def test_a_destinations_own_retry_after_max_caps_only_its_own_lane(
        two_logs: tuple[FaultProxy, FaultProxy], tmp_path: Path) -> None:
    een, twee = two_logs
    een.fail_next(1, 503, retry_after="120")
    twee.fail_next(1, 503, retry_after="120")
    delivery = configure(tmp_path, een, twee, "retry_after_max = 0.5\n", retry_after_max=60)
    record(1)
    # `een` caps the log's Retry-After at its own 0.5 s: delivered on the second try.
    wait_until(lambda: len(created(een)) == 1, timeout=30, what="the capped lane's second try")
    assert [s.status for s in een.posts()] == [503, 201]
    # `twee` keeps the shared cap (60 s): one try so far, the next one a minute away.
    assert [s.status for s in twee.posts()] == [503]
    # (the proxy sees the 201 a moment before the outbox commits the row's delete)
    wait_until(lambda: delivery.outbox.pending(["api:een"]) == 0, timeout=10, what="the delivered row's delete")
    assert delivery.outbox.pending(["api:twee"]) == 1
    due = delivery.outbox.next_due("api:twee")
    assert due is not None and due - time.time() > 45


def test_a_destinations_own_concurrency_limits_its_requests_in_flight(
        two_logs: tuple[FaultProxy, FaultProxy], tmp_path: Path) -> None:
    een, twee = two_logs
    een.delay = twee.delay = 0.05  # each answer takes a while: requests overlap when allowed to
    delivery = configure(tmp_path, een, twee, "concurrency = 1\n", concurrency=4)
    record(24)
    assert delivery.force_flush(60)
    assert len(created(een)) == len(set(created(een))) == 24
    assert len(created(twee)) == len(set(created(twee))) == 24
    assert een.max_inflight == 1
    assert twee.max_inflight >= 2  # the shared four senders do overlap where no cap is set
