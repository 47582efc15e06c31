"""Request-path cost of recording an action, side by side in one run.

(1) outbox mode: `OutboxDelivery.submit(actie)` — the whole request-path part of delivery (body,
    record id, one row per exporter, commit) — while its worker delivers to an in-process
    exporter (so deletes compete with the inserts, as in production);
(2) a bare SQLite WAL `INSERT` + `COMMIT` of the same row, same `synchronous` setting;
(3) a whole decorated call in outbox mode and in memory mode (the synchronous `outbox` default;
    `synchronous` applies to (1) and (2)), vs a bare OpenTelemetry span with the same attributes;
(4) issue 10's floor: the decorated call in outbox mode (worker delivering meanwhile) vs
    (a bare span + one raw FULL insert+commit), in interleaved rounds, the ratio of the medians
    per round.
Targets: median(1) <= 2 x median(2); p99(1) <= 10 x median(1); (4) <= 1.5 x.

    .venv/bin/python benchmarks/outbox_write.py [--calls N] [--synchronous FULL|NORMAL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from typing import Callable

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

import verwerkingen_otel as vo
from verwerkingen_otel.model import verwerkingsactie_attributes
from verwerkingen_otel.delivery import MemoryDelivery, OutboxDelivery
from verwerkingen_otel.delivery import Record
from verwerkingen_otel.model import Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie
from verwerkingen_otel.delivery._outbox_schema import SCHEMA as _SCHEMA
from verwerkingen_otel.delivery import register_exporter

BSN = "999993653"  # an official test BSN


class NullExporter:
    """Accepts every record at once: the worker's side costs only the outbox bookkeeping."""

    name = "api"

    def __init__(self) -> None:
        self.count = 0

    def export(self, record: Record) -> None:
        self.count += 1

    def shutdown(self) -> None:
        pass


def actie() -> Verwerkingsactie:
    return Verwerkingsactie(
        vertrouwelijkheid=Vertrouwelijkheid.NORMAAL,
        tijdstip=dt.datetime.now(dt.timezone.utc),
        verwerkte_objecten=(VerwerktObject("persoon", "BSN", BSN, "Aanvrager",
                                           (VerwerktSoortGegeven("Naam"), VerwerktSoortGegeven("Adres"))),),
        actie_naam="Raadplegen persoon", handeling_naam="Opvragen", verwerking_naam="Paspoort",
        verwerking_id=str(uuid.uuid4()), verwerkingsactiviteit_id="5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
        bewaartermijn="P10Y", systeem="benchmark", uitvoerder="00000001821002193000",
    )


def timed(fn: Callable[[], object], calls: int) -> list[float]:
    samples = []
    gc.collect()
    for _ in range(calls):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1000.0)
    return samples


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--synchronous", default="FULL")
    options = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="outbox-bench-")
    the_actie = actie()
    body = json.dumps(the_actie.to_api(), separators=(",", ":"))

    # (2) bare: the same row, the same table, WAL, same synchronous, insert + commit
    bare = sqlite3.connect(os.path.join(tmp, "bare.db"))
    bare.execute("PRAGMA journal_mode = WAL")
    bare.execute(f"PRAGMA synchronous = {options.synchronous}")
    bare.executescript(_SCHEMA)
    now = time.time()

    def bare_insert() -> None:
        bare.execute("INSERT INTO outbox (record_id, exporter, body, created, next_attempt) VALUES (?, ?, ?, ?, ?)",
                     (str(uuid.uuid4()), "api", body, now, now))
        bare.commit()

    # (1) the outbox delivery, its worker delivering meanwhile
    sink = NullExporter()
    delivery = OutboxDelivery([sink], os.path.join(tmp, "outbox.db"), synchronous=options.synchronous)

    def submit() -> None:
        delivery.submit(the_actie)

    for fn in (bare_insert, submit):  # warm up
        timed(fn, 200)
    bare_samples: list[float] = []
    outbox_samples: list[float] = []
    for _ in range(10):  # interleaved rounds: both see the same machine state
        bare_samples += timed(bare_insert, options.calls // 10)
        outbox_samples += timed(submit, options.calls // 10)
    delivery.force_flush(30.0)
    bare_med, bare_p99 = stats(bare_samples)
    out_med, out_p99 = stats(outbox_samples)
    print(f"synchronous={options.synchronous}, {len(outbox_samples)} actions each")
    print(f"bare SQLite WAL insert+commit   median {bare_med:8.1f} us   p99 {bare_p99:8.1f} us")
    print(f"outbox submit (worker running)  median {out_med:8.1f} us   p99 {out_p99:8.1f} us")
    print(f"  ratio median outbox/bare      {out_med / bare_med:6.2f} x   (target <= 2)")
    print(f"  ratio p99/median (outbox)     {out_p99 / out_med:6.2f} x   (target <= 10)")
    print(f"  ratio p99 outbox/median bare  {out_p99 / bare_med:6.2f} x")
    print(f"  (bare's own p99/median        {bare_p99 / bare_med:6.2f} x: the disk's fsync tail)")
    print(f"  delivered by the worker meanwhile: {sink.count}")
    delivery.shutdown(5.0)
    memory = MemoryDelivery([NullExporter()], max_queue=1_000_000)
    timed(lambda: memory.submit(the_actie), 200)
    mem_med, mem_p99 = stats(timed(lambda: memory.submit(the_actie), options.calls))
    print(f"memory submit (worker running)  median {mem_med:8.1f} us   p99 {mem_p99:8.1f} us")
    memory.shutdown(5.0)

    # (3) whole decorated calls: outbox mode, memory mode, vs a bare span with the same attributes
    register_exporter("null", lambda settings: NullExporter())
    decorated_outbox = vo.configure(exporters="null", outbox=os.path.join(tmp, "pipe.db"))
    fn = vo.verwerkingsactie(actie_naam="Raadplegen persoon",
                             verwerkingsactiviteit_id="5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
                             objecten=[vo.persoon("bsn", betrokkenheid="Aanvrager", soorten_gegevens=["Naam"])])(
        lambda bsn: bsn[:3])
    timed(lambda: fn(BSN), 200)
    deco_outbox = timed(lambda: fn(BSN), options.calls)
    decorated_outbox.force_flush(30.0)
    pipeline = vo.configure(exporters="null", delivery="memory", memory_queue=1_000_000)
    timed(lambda: fn(BSN), 200)
    deco_memory = timed(lambda: fn(BSN), options.calls)
    provider = TracerProvider(sampler=ALWAYS_ON, shutdown_on_exit=False)
    tracer = provider.get_tracer("bench")
    attributes = verwerkingsactie_attributes(the_actie)

    def bare_span() -> None:
        with tracer.start_as_current_span("Raadplegen persoon", attributes=attributes):
            BSN[:3]

    timed(bare_span, 200)
    span_samples = timed(bare_span, options.calls)

    # (4) the floor, interleaved: decorated outbox call vs bare span + one raw FULL commit
    floor_outbox = vo.configure(exporters="null", outbox=os.path.join(tmp, "floor.db"))
    full = sqlite3.connect(os.path.join(tmp, "full.db"))
    full.execute("PRAGMA journal_mode = WAL")
    full.execute("PRAGMA synchronous = FULL")
    full.executescript(_SCHEMA)

    def full_insert() -> None:
        full.execute("INSERT INTO outbox (record_id, exporter, body, created, next_attempt) VALUES (?, ?, ?, ?, ?)",
                     (str(uuid.uuid4()), "api", body, now, now))
        full.commit()

    timed(lambda: fn(BSN), 200)
    ratios, deco_all = [], []
    per_round = max(100, options.calls // 10)
    clock = time.perf_counter_ns

    def one(call: Callable[[], object]) -> float:
        start = clock()
        call()
        return (clock() - start) / 1000.0

    for _ in range(10):  # interleaved call by call: the three see the same disk, moment by moment
        d, sp, fu = [], [], []
        for _ in range(per_round):
            d.append(one(lambda: fn(BSN)))
            sp.append(one(bare_span))
            fu.append(one(full_insert))
        deco_all += d
        ratios.append(statistics.median(d) / (statistics.median(sp) + statistics.median(fu)))
    floor_outbox.force_flush(30.0)
    ratios.sort()
    fm, fp = stats(deco_all)
    print(f"decorated call, outbox mode, vs bare span + one raw FULL commit, interleaved call by call,"
          f" 10 blocks of {per_round}:")
    print(f"  ratio of medians per block    {ratios[0]:5.2f}-{ratios[-1]:5.2f} x (median {statistics.median(ratios):.2f})"
          f"   (target <= 1.5)")
    print(f"  decorated call p99/median     {fp / fm:6.2f} x   ({fm:.0f} us median, {fp:.0f} us p99)")
    floor_outbox.shutdown(5.0)
    dm, dp = stats(deco_outbox)
    mm, mp = stats(deco_memory)
    sm, sp = stats(span_samples)
    print(f"decorated call, outbox mode     median {dm:8.1f} us   p99 {dp:8.1f} us")
    print(f"decorated call, memory mode     median {mm:8.1f} us   p99 {mp:8.1f} us")
    print(f"bare OTel span, same attributes median {sm:8.1f} us   p99 {sp:8.1f} us")
    print(f"  ratio memory mode / bare span {mm / sm:6.2f} x")
    print(f"  ratio outbox mode / bare span {dm / sm:6.2f} x")
    pipeline.shutdown(5.0)


if __name__ == "__main__":
    main()
