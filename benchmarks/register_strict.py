"""The cost of `--strict-activiteiten`: POSTs per second with and without the register check.

Both servers load the same register (examples/register/register.toml) and run as uvicorn
subprocesses on SQLite, measured alternately in one run (best of two each, a shared machine is
noisy). The strict server checks every POST's verwerkingsactiviteitId against the register's
history, which it re-reads only when the register table changed. Target: strict >= 0.9x plain.

    python benchmarks/register_strict.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from server_throughput import CONCURRENCY, SECRET, load, start  # noqa: E402

from tests.support.logserver import free_port, mint_token, write_clients_file  # noqa: E402

REGISTER = ROOT / "examples" / "register" / "register.toml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    print(f"POST /verwerkingsacties, concurrency {CONCURRENCY}, {args.requests} requests per measurement, SQLite")
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        clients = write_clients_file(tmp / "clients.toml", {"bench": (SECRET, ["create:normal"])})
        headers = {"Authorization": "Bearer " + mint_token("bench", SECRET)}
        for i, mode in enumerate(("plain", "strict", "plain", "strict")):
            port = free_port()
            cmd = [sys.executable, "-m", "verwerkingen_otel.cli", "serve", "--port", str(port), "--database",
                   f"sqlite:///{tmp}/{mode}-{i}.db", "--clients", str(clients), "--log-level", "warning",
                   "--register", str(REGISTER)] + (["--strict-activiteiten"] if mode == "strict" else [])
            proc = start(cmd, port, tmp / f"{mode}-{i}.log")
            try:
                rate = asyncio.run(load(f"http://127.0.0.1:{port}/api/v1/verwerkingsacties", headers, args.requests))
                results[mode] = max(rate, results.get(mode, 0.0))
            finally:
                proc.terminate()
                proc.wait(15)
    ratio = results["strict"] / results["plain"]
    verdict = "ok" if ratio >= 0.9 else "BELOW TARGET 0.9"
    print(f"plain {results['plain']:7.0f}/s   strict {results['strict']:7.0f}/s   ratio {ratio:.2f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
