"""Request-path cost of adding the ldv exporter: capture with `api,ldv` vs `api` alone, one run.

A decorated call recording one action with one person, in the default outbox delivery (a real
SQLite outbox, synchronous=FULL), with an in-process `api` stand-in that accepts at once (so the
VNG side costs the same in both), and:
(A) `api` alone;
(B) `api` + the real `ldv` exporter sending to an OTLP/HTTP receiver in its own process: on the
    request path the span's ids and times and one more outbox row; the conversion to logregels
    and the OTLP export run in the delivery worker, in this process, at the same time;
(B0) `api` + an ldv stand-in that wants the span but sends nothing: the request-path part alone.
Blocks of calls alternate A, B, B0 (the order rotating each round); the figure is the median of
the per-block medians.
Target: B <= 1.3 x A.

    .venv/bin/python benchmarks/ldv_capture.py [--calls N] [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import verwerkingen_otel as vo  # noqa: E402
from tests.support.logserver import free_port  # noqa: E402
from verwerkingen_otel.delivery import Record, register_exporter, unregister_exporter  # noqa: E402


class NullApi:
    """Stands in for the api exporter: accepts every record at once."""

    name = "api-null"

    def export(self, record: Record) -> None:
        pass

    def shutdown(self) -> None:
        pass


class NullLdv(NullApi):
    name = "ldv-null"
    wants_span = True


def decorated() -> Callable[[str], str]:
    @vo.verwerkingsactie(actie_naam="Raadplegen persoon", verwerkingsactiviteit_id="5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
                         objecten=[vo.persoon("bsn", soorten_gegevens=["Naam"])])
    def raadplegen(bsn: str) -> str:
        return bsn

    return raadplegen


def block(exporters: str, tmp: str, calls: int) -> float:
    """Median µs per call over one block, on a fresh pipeline with its own outbox."""
    log = vo.configure(delivery="outbox", outbox=os.path.join(tmp, f"{exporters}-{time.monotonic_ns()}.db"),
                       exporters=exporters, ldv_key_file=os.path.join(tmp, "ldv.key"), systeem="benchmark")
    fn = decorated()
    for _ in range(50):
        fn("999993653")
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn("999993653")
        times.append(time.perf_counter() - start)
    assert log.force_flush(60.0), "not delivered"
    log.shutdown(10.0)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="ldv-capture-")
    Path(tmp, "ldv.key").write_bytes(os.urandom(32))
    register_exporter("api-null", lambda settings: NullApi())
    register_exporter("ldv-null", lambda settings: NullLdv())
    port = free_port()
    receiver = subprocess.Popen([sys.executable, "-m", "tests.support.otlp_receivers", "http", "--port", str(port)],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True)
    os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = f"http://127.0.0.1:{port}/v1/traces"
    try:
        assert receiver.stdout is not None and receiver.stdout.readline().startswith("listening")
        results: dict[str, list[float]] = {"api-null": [], "api-null,ldv": [], "api-null,ldv-null": []}
        order = list(results)
        for round_ in range(options.rounds):  # the order rotates, so no variant always goes first
            for exporters in order[round_ % 3:] + order[:round_ % 3]:
                results[exporters].append(block(exporters, tmp, options.calls))
    finally:
        receiver.terminate()
        receiver.wait(10)
        unregister_exporter("api-null")
        unregister_exporter("ldv-null")
    a, b, b0 = (statistics.median(results[k]) for k in ("api-null", "api-null,ldv", "api-null,ldv-null"))
    print(f"{options.calls} calls per block, {options.rounds} rounds of A, B, B0 (outbox delivery, synchronous=FULL)")
    print(f"(A)  api alone                                  {a:8.1f} µs per call")
    print(f"(B)  api + ldv (real exporter, worker busy)     {b:8.1f} µs per call")
    print(f"(B0) api + ldv stand-in (request-path part)     {b0:8.1f} µs per call")
    print(f"  ratio B / A    {b / a:5.2f} x   (target <= 1.3)")
    print(f"  ratio B0 / A   {b0 / a:5.2f} x")


if __name__ == "__main__":
    main()
