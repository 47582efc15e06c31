"""MemoryDelivery (bounded, counted drops, loud at start-up) and the delivery metrics."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.delivery.conftest import FAST, SECRET, actie_namen, make_actie
from tests.support.logserver import LogServer
from verwerkingen_otel.delivery import MemoryDelivery, OutboxDelivery
from verwerkingen_otel.delivery import PermanentFailure, Record, RetryableFailure
from verwerkingen_otel.delivery import ApiExporter


def points(reader: InMemoryMetricReader) -> dict[tuple[str, tuple[tuple[str, Any], ...]], Any]:
    found: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for p in metric.data.data_points:
                    key = (metric.name, tuple(sorted(p.attributes.items())))
                    found[key] = getattr(p, "value", None) if hasattr(p, "value") else p.count
    return found


class Flaky:
    """An exporter that fails `fail` times retryably, refuses names starting with 'bad'."""

    def __init__(self, name: str, fail: int = 0) -> None:
        self.name = name
        self.fail = fail
        self.got: list[Record] = []

    def export(self, record: Record) -> None:
        if record.body.get("actieNaam", "").startswith("bad"):
            raise PermanentFailure("HTTP 400 refused", problem={"status": 400, "title": "refused"})
        if self.fail:
            self.fail -= 1
            raise RetryableFailure("HTTP 503", retry_after=None)
        self.got.append(record)

    def shutdown(self) -> None:
        pass


def test_memory_delivery_delivers_to_the_log_and_warns_at_start(logserver: LogServer,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="verwerkingen_otel.delivery")
    activiteit = str(uuid.uuid4())
    delivery = MemoryDelivery([ApiExporter(logserver.api_url, client_id="app", secret=SECRET)], policy=FAST)
    assert any("LOST" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    for i in range(10):
        delivery.submit(make_actie(activiteit, n=i))
    assert delivery.force_flush(10.0) is True
    assert len(actie_namen(logserver.api_url, activiteit)) == 10
    assert delivery.dropped == 0
    assert delivery.shutdown(2.0) is True


def test_memory_delivery_is_bounded_and_counts_drops(logserver: LogServer) -> None:
    logserver.stop()
    delivery = MemoryDelivery([ApiExporter(logserver.api_url, client_id="app", secret=SECRET)],
                              max_queue=5, policy=FAST)
    for i in range(8):
        delivery.submit(make_actie(str(uuid.uuid4()), n=i))  # never raises: memory mode drops
    assert delivery.dropped == 3
    assert delivery.pending() == 5
    assert delivery.force_flush(0.2) is False
    delivery.shutdown(0.2)


def test_each_exporter_gets_each_action_once_and_failures_stay_per_exporter(tmp_path: Path) -> None:
    good, flaky = Flaky("good"), Flaky("flaky", fail=3)
    delivery = OutboxDelivery([good, flaky], tmp_path / "outbox.db", policy=FAST)
    for i in range(5):
        delivery.submit(make_actie(str(uuid.uuid4()), n=i))
    delivery.submit(make_actie(str(uuid.uuid4()), n=9, actie_naam="bad one"))
    assert delivery.force_flush(10.0) is True
    assert sorted(r.body["actieNaam"] for r in good.got) == [f"Raadplegen persoon {i}" for i in range(5)]
    assert sorted(r.id for r in good.got) == sorted(r.id for r in flaky.got)  # same ids, once each
    assert {d.exporter for d in delivery.outbox.dead_letters()} == {"good", "flaky"}
    delivery.shutdown(1.0)


def test_exporter_names_must_be_unique(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exporters"):
        OutboxDelivery([Flaky("a"), Flaky("a")], tmp_path / "outbox.db")


def test_metrics_count_delivered_retried_dead_lettered_depth_and_latency(tmp_path: Path) -> None:
    reader = InMemoryMetricReader()
    exporter = Flaky("metrics-test", fail=2)
    delivery = OutboxDelivery([exporter], tmp_path / "outbox.db", policy=FAST,
                              meter_provider=MeterProvider(metric_readers=[reader]))
    for i in range(4):
        delivery.submit(make_actie(str(uuid.uuid4()), n=i))
    delivery.submit(make_actie(str(uuid.uuid4()), n=5, actie_naam="bad"))
    depth = points(reader)[("verwerkingen.outbox.depth", (("delivery", "outbox"), ("exporter", "metrics-test")))]
    assert 0 < depth <= 5
    assert delivery.force_flush(10.0) is True
    after = points(reader)
    attrs = (("delivery", "outbox"), ("exporter", "metrics-test"))
    assert after[("verwerkingen.delivery.delivered", attrs)] == 4
    assert after[("verwerkingen.delivery.dead_lettered", attrs)] == 1
    assert after[("verwerkingen.delivery.retried", attrs + (("reason", "retry"),))] == 2
    assert after[("verwerkingen.delivery.latency", attrs)] == 4  # one latency per delivery
    assert after[("verwerkingen.outbox.depth", attrs)] == 0
    delivery.shutdown(1.0)
