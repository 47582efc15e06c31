"""Request-path cost of routing to destinations, side by side in one run.

(1) `OutboxDelivery.submit(actie)` with one exporter and no destinations file (one row);
(2) the same with a destinations file of three destinations and three routes, the action routed to
    one destination by its third route (one row: the cost of routing itself);
(3) the same, the action routed to two destinations (two rows in one transaction);
(4) the routing decision alone (`Router.lanes`, cached after the first action of its kind), as a
    share of (1): the part of (2) - (1) that is not the disk's noise.
Each delivery has its own outbox file and a worker delivering to an in-process exporter. Rounds
alternate between the three so the machine's noise hits them alike. Target: median(2) <= 1.1 x median(1).

    .venv/bin/python benchmarks/routing_overhead.py [--calls N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import tempfile
import time
import uuid

from verwerkingen_otel.delivery import OutboxDelivery, Record, Router, load_destinations
from verwerkingen_otel.model import Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie

BSN = "999993653"  # an official test BSN
ROUTED = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
BOTH = "6f0bef4c-f66f-4311-84a5-19e8bf359eaf"
FILE = f"""
[destinations.centraal]
exporters = ["memory"]
[destinations.sociaal]
exporters = ["memory"]
[destinations.burgerzaken]
exporters = ["memory"]
[[routes]]
vertrouwelijkheid = "vertrouwelijk"
destinations = ["burgerzaken"]
[[routes]]
verwerkingsactiviteit_id = "{BOTH}"
destinations = ["sociaal", "centraal"]
[[routes]]
verwerkingsactiviteit_id = "{ROUTED}"
destinations = ["sociaal"]
[[routes]]
default = true
destinations = ["centraal"]
"""


class NullExporter:
    def __init__(self, name: str) -> None:
        self.name = name

    def export(self, record: Record) -> None:
        pass

    def shutdown(self) -> None:
        pass


def actie(activiteit: str) -> Verwerkingsactie:
    return Verwerkingsactie(
        vertrouwelijkheid=Vertrouwelijkheid.NORMAAL,
        tijdstip=dt.datetime.now(dt.timezone.utc),
        verwerkte_objecten=(VerwerktObject("persoon", "BSN", BSN, "Aanvrager", (VerwerktSoortGegeven("Naam"),)),),
        actie_naam="Raadplegen persoon", verwerking_id=str(uuid.uuid4()), verwerkingsactiviteit_id=activiteit,
        bewaartermijn="P10Y", systeem="benchmark", uitvoerder="00000001821002193000",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "destinations.toml")
        with open(path, "w") as fh:
            fh.write(FILE)
        dests = load_destinations(path)
        lanes = [lane for d in dests.destinations.values() for lane in d.lanes]
        single = OutboxDelivery([NullExporter("api")], os.path.join(tmp, "single.db"))
        routed = OutboxDelivery([NullExporter(lane) for lane in lanes], os.path.join(tmp, "routed.db"))
        routed.route = Router(dests).lanes
        cases = {
            "no destinations, 1 row": (single, actie(ROUTED)),
            "routed (3rd route), 1 row": (routed, actie(ROUTED)),
            "routed to 2 destinations, 2 rows": (routed, actie(BOTH)),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (delivery, a) in cases.items():
                gc.collect()
                for _ in range(args.calls // args.rounds):
                    start = time.perf_counter_ns()
                    delivery.submit(a)
                    samples[name].append((time.perf_counter_ns() - start) / 1000.0)
        for delivery in (single, routed):
            delivery.shutdown(10)
        router, routed_actie = Router(dests), actie(ROUTED)
        start = time.perf_counter_ns()
        for _ in range(100_000):
            router.lanes(routed_actie)
        decision = (time.perf_counter_ns() - start) / 100_000 / 1000.0
    base = statistics.median(samples["no destinations, 1 row"])
    print(f"{'case':36} {'median us':>10} {'p99 us':>10} {'ratio':>7}")
    for name, values in samples.items():
        ordered = sorted(values)
        median = statistics.median(ordered)
        p99 = ordered[int(len(ordered) * 0.99) - 1]
        print(f"{name:36} {median:10.1f} {p99:10.1f} {median / base:7.2f}")
    print(f"routing decision alone: {decision:.2f} us = {decision / base:.5f} x the unrouted submit")


if __name__ == "__main__":
    main()
