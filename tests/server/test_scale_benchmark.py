"""benchmarks/server_scale.py runs end to end at a small scale (CI never runs the big benchmark)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_scale_benchmark_runs_small(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "server_scale.py"), "--actions", "2000",
         "--database", f"sqlite:///{tmp_path / 'scale.db'}", "--samples", "5", "--posts", "40"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "database: sqlite" in out and "2,016 versions" in out
    for label in ("list typical (Bewerking)", "list typical (Inzage)", "list heavy 50,000 spread (500): page 1",
                  "list heavy 50,000 spread (500): next", "list heavy 50,000 spread (500): jump",
                  "inzage heavy 20,000 recent (200): page 1", "GET by actieId", "PATCH by verwerkingId"):
        assert re.search(rf"^{re.escape(label)}\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+$", out, re.MULTILINE), label
    assert re.search(r"^POST/s at concurrency 16: filled \d+, empty \d+: ratio \d+\.\d\d", out, re.MULTILINE)
    assert "generate: 2,016 versions" in r.stderr  # the progress summary of `generate`
