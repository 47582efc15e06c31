"""The log at the scale of a large gemeente: list, GET, PATCH and POST through the real HTTP API.

    python benchmarks/server_scale.py --actions 200000 --database postgresql://user@host/db
    python benchmarks/server_scale.py --actions 2000 --database /tmp/scale.db --samples 20 --posts 200

1. Fills the database with N generated actions (`verwerkingen-otel generate`: COPY on
   PostgreSQL, executemany on SQLite; skewed persons: most 10-30 actions, three with 5,000,
   one with 20,000 all recent, one with 50,000 — scaled down below 200,000 actions). With
   `--reuse` a database that already holds them is used as it is.
2. Starts the real server (`verwerkingen-otel serve`, uvicorn, loopback) on it and measures,
   one request at a time: the Bewerking list and the Inzage list of typical persons (page 1),
   of each heavy person (page 1, then 30 pages following `next`, then 5 pages jumped to by
   number), GET by actieId, PATCH by verwerkingId.
3. POST throughput at concurrency 16 on the filled database vs the same server on an empty
   one (alternating, best of two each), printed as a ratio.

PostgreSQL: the empty database for step 3 is created beside the given one (`<name>_empty`,
dropped after); the role needs CREATEDB, or pass `--empty-database URL`.
Targets (issue 15, at 10,000,000 actions): typical p95 <= 30 ms, heavy persons p95 <= 100 ms
per page, GET by id p95 <= 10 ms, POST >= 0.8x the empty database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.logserver import LogServer, mint_token, write_clients_file  # noqa: E402

SECRET = "scale-benchmark-secret-0123456789abcdef0123456789"
SCOPES = [f"{a}:{lvl}" for a in ("create", "read", "update", "delete") for lvl in ("normal", "confidential")]
CONCURRENCY = 16


def valid_bsn(n: int) -> str:
    """A BSN that passes the 11-test (POST validates it), derived from n."""
    while True:
        head = f"7{n % 10_000_000:07d}"
        last = sum(int(d) * (9 - i) for i, d in enumerate(head)) % 11
        if last < 10:
            return head + str(last)
        n += 1


def post_body(i: int) -> dict[str, Any]:
    return {
        "actieNaam": "Raadplegen persoon", "handelingNaam": "Intake", "verwerkingNaam": "Huwelijk",
        "verwerkingId": str(uuid.uuid4()), "verwerkingsactiviteitId": "5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
        "vertrouwelijkheid": "normaal", "bewaartermijn": "P10Y", "uitvoerder": "00000001821002193000",
        "systeem": "bench", "tijdstip": "2026-04-05T14:35:42+01:00",
        "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": valid_bsn(i),
                               "betrokkenheid": "Getuige", "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}]}],
    }


def quantiles(ms: list[float]) -> tuple[float, float, float]:
    if len(ms) < 2:
        return (ms[0],) * 3 if ms else (0.0, 0.0, 0.0)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return q[49], q[94], q[98]


class Timer:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.samples: dict[str, list[float]] = {}

    def request(self, label: str, method: str, url: str, expect: int, **kw: Any) -> httpx.Response:
        t0 = time.perf_counter()
        r = self.http.request(method, url, **kw)
        elapsed = (time.perf_counter() - t0) * 1000
        if r.status_code != expect:
            raise RuntimeError(f"{label}: {method} -> {r.status_code}: {r.text[:300]}")
        self.samples.setdefault(label, []).append(elapsed)
        return r


def person(pid: str, **extra: str) -> dict[str, str]:
    return {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": pid, **extra}


def measure_reads(api: str, heavy: dict[str, int], typical: int, samples: int, rng: random.Random) -> Timer:
    headers = {"Authorization": "Bearer " + mint_token("bench", SECRET)}
    window = {"beginDatum": "2020-01-01", "eindDatum": "2030-01-01"}
    with httpx.Client(base_url=api, headers=headers, timeout=120) as http:
        t = Timer(http)
        for pid in (f"8{n:08d}" for n in rng.sample(range(1, typical + 1), min(5, typical))):  # warm up
            http.get("/verwerkingsacties", params=person(pid))
        ids: list[str] = []
        verwerkingen: list[str] = []
        for n in rng.sample(range(1, typical + 1), min(samples, typical)):
            pid = f"8{n:08d}"
            page = t.request("list typical (Bewerking)", "GET", "/verwerkingsacties", 200, params=person(pid)).json()
            ids += [a["actieId"] for a in page["results"][:2]]
            verwerkingen += [a["verwerkingId"] for a in page["results"][:1]]
            t.request("list typical (Inzage)", "GET", "/verwerkte-objecten", 200, params=person(pid, **window))
        for pid, n in heavy.items():
            label = {"900020000": "20,000 recent", "900050000": "50,000 spread"}.get(pid, "5,000")
            label = f"heavy {label} ({n:,})"
            page = t.request(f"list {label}: page 1", "GET", "/verwerkingsacties", 200, params=person(pid)).json()
            for _ in range(30):  # follow `next`: the keyset path
                if not page["next"]:
                    break
                page = t.request(f"list {label}: next", "GET", page["next"], 200).json()
            last = max(1, n // 100)
            for number in rng.sample(range(2, last + 1), min(5, max(0, last - 1))):  # jumps: offset over the index
                t.request(f"list {label}: jump", "GET", "/verwerkingsacties", 200,
                          params=person(pid, page=str(number)))
            t.request(f"inzage {label}: page 1", "GET", "/verwerkte-objecten", 200, params=person(pid, **window))
        for actie_id in rng.sample(ids, min(len(ids), samples * 2)):
            t.request("GET by actieId", "GET", f"/verwerkingsacties/{actie_id}", 200)
        for verwerking_id in verwerkingen[: max(1, samples // 2)]:
            t.request("PATCH by verwerkingId", "PATCH", "/verwerkingsacties", 204,
                      params={"verwerkingId": verwerking_id}, json={"bewaartermijn": "P20Y"})
        return t


async def post_rate(api: str, total: int) -> float:
    headers = {"Authorization": "Bearer " + mint_token("bench", SECRET)}
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=api, limits=limits, timeout=120, headers=headers) as client:
        async def worker(it: Any) -> None:
            for i in it:
                r = await client.post("/verwerkingsacties", json=post_body(i))
                if r.status_code != 201:
                    raise RuntimeError(f"POST -> {r.status_code}: {r.text[:200]}")
        await asyncio.gather(*(worker(iter(range(CONCURRENCY * 2))) for _ in range(CONCURRENCY)))  # warm up
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(counter) for _ in range(CONCURRENCY)))
        return total / (time.perf_counter() - t0)


def serve(database: str, clients: Path, log: Path) -> LogServer:
    return LogServer(database, clients, log_path=log, extra_args=["--log-level", "warning"]).start(timeout=120)


def empty_database(url: str, tmp: Path) -> tuple[str, Callable[[], None]]:
    if not url.startswith(("postgresql://", "postgres://")):
        return str(tmp / "empty.db"), lambda: None
    import psycopg
    base, name = url.rsplit("/", 1)
    empty = f"{name.split('?')[0]}_empty"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{empty}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{empty}"')

    def drop() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{empty}" WITH (FORCE)')
    return f"{base}/{empty}", drop


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){mem}, {platform.system()} {platform.release()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, required=True)
    parser.add_argument("--database", required=True, help="database to fill and measure (empty, or --reuse)")
    parser.add_argument("--empty-database", help="database for the POST baseline (default: created beside)")
    parser.add_argument("--reuse", action="store_true", help="the database already holds the generated actions")
    parser.add_argument("--samples", type=int, default=200, help="typical persons measured (default 200)")
    parser.add_argument("--posts", type=int, default=2000, help="POSTs per throughput run (default 2000)")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    from verwerkingen_otel.server.generate import heavy_plan
    from verwerkingen_otel.server.settings import database_url
    from verwerkingen_otel.server.storage import Storage

    print(f"machine: {machine()}")
    storage = Storage(database_url(args.database))
    try:
        if not args.reuse:
            t0 = time.perf_counter()
            rc = subprocess.call([sys.executable, "-m", "verwerkingen_otel.cli", "generate", "--database",
                                  args.database, "--actions", str(args.actions), "--seed", str(args.seed)])
            if rc:
                return rc
            print(f"generated {args.actions:,} actions in {time.perf_counter() - t0:.0f} s")
        versions = storage.count_versions()
        engine = storage.engine.dialect.name
        server_version = storage.engine.dialect.server_version_info
    finally:
        storage.dispose()
    from verwerkingen_otel.server.generate import _persons  # noqa: PLC2701 - the same plan generate used
    plan = heavy_plan(args.actions)
    typical = len({p for p, _ in _persons(args.actions, random.Random(args.seed), plan) if p.startswith("8")})
    heavy = {pid: n for pid, n, _ in plan}
    print(f"database: {engine} {'.'.join(map(str, server_version or ()))}, {versions:,} versions; "
          f"{typical:,} typical persons")

    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        clients = write_clients_file(tmp / "clients.toml", {"bench": (SECRET, SCOPES)})
        with serve(args.database, clients, tmp / "filled.log") as srv:
            timer = measure_reads(srv.api_url, heavy, typical, args.samples, rng)
        empty_url, drop = (args.empty_database, lambda: None) if args.empty_database else empty_database(
            args.database, tmp)
        rates: dict[str, float] = {"filled": 0.0, "empty": 0.0}
        try:
            for kind in ("filled", "empty", "filled", "empty"):
                with serve(args.database if kind == "filled" else empty_url, clients, tmp / f"{kind}.log") as srv:
                    rates[kind] = max(rates[kind], asyncio.run(post_rate(srv.api_url, args.posts)))
        finally:
            drop()

    print(f"\n{'measurement':<50} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for label, ms in timer.samples.items():
        p50, p95, p99 = quantiles(ms)
        print(f"{label:<50} {len(ms):>5} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f}")
    typical_p95 = quantiles(timer.samples["list typical (Bewerking)"])[1]
    heavy_p95 = max(quantiles(ms)[1] for label, ms in timer.samples.items()
                    if label.startswith(("list heavy", "inzage heavy")) and not label.endswith("jump"))
    jump_p95 = max((quantiles(ms)[1] for label, ms in timer.samples.items() if label.endswith("jump")), default=0.0)
    print(f"\nPOST/s at concurrency {CONCURRENCY}: filled {rates['filled']:.0f}, empty {rates['empty']:.0f}: "
          f"ratio {rates['filled'] / rates['empty']:.2f} (target >= 0.8)")
    print(f"ratio heavy-person page p95 / typical list p95: {heavy_p95 / typical_p95:.1f}x "
          f"(typical p95 {typical_p95:.1f} ms, worst heavy p95 {heavy_p95:.1f} ms over page 1 and `next`; "
          f"pages jumped to by number: worst p95 {jump_p95:.1f} ms)")
    print(f"GET by id p95: {quantiles(timer.samples['GET by actieId'])[1]:.1f} ms (target <= 10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
