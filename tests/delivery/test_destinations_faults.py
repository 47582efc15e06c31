"""Independent lanes: three real logs, one down for the whole run, one refusing every other POST
with 503, one healthy. The healthy one gets everything while the others fail; the flaky one
gets everything exactly once; the stopped one, once back, gets everything exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import verwerkingen_otel as vo
from tests.delivery.conftest import ALL_SCOPES, SECRET
from tests.delivery.faultproxy import FaultProxy
from tests.support.logserver import LogServer, write_clients_file
from tests.support.wait import wait_until
from verwerkingen_otel import capture as pipeline_module
from verwerkingen_otel.client import VerwerkingenlogClient
from verwerkingen_otel.capture import Pipeline
from verwerkingen_otel.delivery import OutboxDelivery, RetryPolicy, Router, build_routed_exporters, load_routing

BSN = "999993653"
ACTIVITEIT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
N = 40


@pytest.fixture()
def three_logs(tmp_path: Path) -> Iterator[tuple[LogServer, LogServer, LogServer, FaultProxy]]:
    clients = write_clients_file(tmp_path / "clients.toml", {"app": (SECRET, ALL_SCOPES)})
    servers = [LogServer(f"sqlite:///{tmp_path}/{name}.db", clients, log_path=tmp_path / f"{name}.log")
               for name in ("down", "flaky", "healthy")]
    down, flaky, healthy = servers
    flaky.start()
    healthy.start()  # `down` is not started: nothing listens on its port
    proxy = FaultProxy(flaky.base_url)
    proxy.fail_every = 2
    try:
        yield down, flaky, healthy, proxy
    finally:
        proxy.close()
        for server in servers:
            server.kill()


pytestmark = pytest.mark.usefixtures("isolated_pipeline")


def stored(server: LogServer) -> list[str]:
    with VerwerkingenlogClient(server.api_url, client_id="app", secret=SECRET) as client:
        return sorted(a.actie_naam or "" for a in client.list(soort_object_id="BSN", object_id=BSN))


def test_a_failing_log_never_delays_the_others(three_logs: tuple[LogServer, LogServer, LogServer, FaultProxy],
                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    down, flaky, healthy, proxy = three_logs
    monkeypatch.setenv("LOG_SECRET", SECRET)
    destinations = tmp_path / "destinations.toml"
    destinations.write_text("".join(
        f'[destinations.{name}]\napi_url = "{url}"\nclient_id = "app"\nsecret_env = "LOG_SECRET"\n'
        for name, url in (("down", down.api_url), ("flaky", proxy.api_url), ("healthy", healthy.api_url))
    ) + '[[routes]]\ndefault = true\ndestinations = ["down", "flaky", "healthy"]\n')
    settings = vo.Settings(destinations=str(destinations), exporters=(), concurrency=4, timeout=5.0)
    dests, _ = load_routing(settings)
    assert dests is not None
    reader = InMemoryMetricReader()
    exporters = build_routed_exporters(settings, dests)
    outbox = OutboxDelivery(exporters, tmp_path / "outbox.db",
                            policy=RetryPolicy(backoff_base=0.05, backoff_max=0.5, retry_after_cap=1.0),
                            meter_provider=MeterProvider(metric_readers=[reader]))
    outbox.route = Router(dests).lanes
    pipeline_module.install(Pipeline(settings=settings, delivery=outbox, exporters=tuple(exporters)))

    for n in range(N):
        with vo.verwerkingsactie(f"actie-{n:03d}", verwerkingsactiviteit_id=ACTIVITEIT) as actie:
            actie.add_object(BSN)
    # The healthy log gets everything while `down` refuses connections and `flaky` 503s every other POST.
    wait_until(lambda: outbox.outbox.pending(["api:healthy"]) == 0, timeout=60, what="the healthy lane to drain")
    assert outbox.outbox.pending(["api:down"]) == N  # nothing of `down` delivered, nothing lost
    assert len(stored(healthy)) == N
    wait_until(lambda: outbox.outbox.pending(["api:flaky"]) == 0, timeout=60, what="the flaky lane to drain")
    assert len(stored(flaky)) == N
    assert sum(1 for s in proxy.posts() if s.status == 503) >= N // 2  # it really refused half
    created = [s.idempotency_key for s in proxy.posts() if s.status == 201]
    assert len(created) == len(set(created)) == N  # each action created exactly once
    assert outbox.outbox.pending(["api:down"]) == N

    down.start()
    wait_until(lambda: outbox.outbox.pending(["api:down"]) == 0, timeout=60, what="the stopped log to catch up")
    assert len(stored(down)) == N
    assert stored(down) == stored(healthy) == stored(flaky)
    assert outbox.outbox.status()["dead_letters"] == 0

    delivered: dict[str, int] = {}
    for metric in reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics:
        if metric.name == "verwerkingen.delivery.delivered":
            for point in metric.data.data_points:
                delivered[point.attributes["exporter"]] = point.value
    assert delivered == {"api:down": N, "api:flaky": N, "api:healthy": N}
