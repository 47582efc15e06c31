"""Per-call cost of capture in CPU instructions (valgrind's callgrind), immune to a busy machine.

capture_overhead.py times the calls; on a shared 2-core machine those times move with the load
of everything else. Instruction counts do not: callgrind counts what the process executes, the
same on every run of the same code and inputs. Each case runs in its own process under
callgrind, once with N calls and once with none; the difference divided by N is the cost per
call, start-up and imports cancelled out. The cases are those of capture_overhead.py: the bare
OpenTelemetry SDK span with the same attributes (always-on provider, no-op processor), the
undecorated call, the decorated call recording one action with one object (delivery=sync,
exporters=memory), and the decorated call without a person (span and context work only).

Prints instructions per call and the ratio (decorated - undecorated) / bare span; target <= 1.5.
Needs valgrind (Debian's package); takes about a minute (Python runs ~50x slower under it).

    .venv/bin/python benchmarks/capture_instructions.py [--calls N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

CASE = r'''
import sys
case, n = sys.argv[1], int(sys.argv[2])
import verwerkingen_otel as vo
from opentelemetry.sdk.trace import SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Status, StatusCode
from verwerkingen_otel.model import VERWERKTE_OBJECTEN, parse_verwerkingsactie, verwerkingsactie_attributes

log = vo.configure(delivery="sync", exporters=["memory"], systeem="benchmark", strict=False)
memory = log.exporter("memory")

def lookup(bsn):
    return bsn

decorated = vo.verwerkingsactie(
    actie_naam="Raadplegen persoon", verwerkingsactiviteit_id="5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
    handeling_naam="Opvragen",
    objecten=[vo.persoon("bsn", betrokkenheid="Aanvrager", soorten_gegevens=["Naam", "Adres"])],
)(lookup)
decorated("999993653")
attributes = verwerkingsactie_attributes(parse_verwerkingsactie(memory.bodies[0]))
objects = attributes.pop(VERWERKTE_OBJECTEN)
memory.clear()
provider = TracerProvider(sampler=ALWAYS_ON, shutdown_on_exit=False, span_limits=SpanLimits(
    max_span_attributes=SpanLimits.UNSET, max_span_attribute_length=SpanLimits.UNSET))
provider.add_span_processor(SpanProcessor())
tracer = provider.get_tracer("benchmark")
ok = Status(StatusCode.OK)

def bare():
    span = tracer.start_span("Raadplegen persoon", attributes=attributes)
    span.set_attribute(VERWERKTE_OBJECTEN, objects)
    span.set_status(ok)
    span.end()

fn = {"bare span": bare, "undecorated": lambda: lookup("999993653"),
      "decorated": lambda: decorated("999993653"), "no person": lambda: decorated(None)}[case]
for i in range(n):
    fn()
    if i % 500 == 499:
        memory.clear()
'''


def instructions(script: str, case: str, calls: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
                               script, case, str(calls)], capture_output=True, text=True, timeout=900)
        match = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or match is None:
            raise SystemExit(f"{case}: callgrind failed:\n{done.stderr[-2000:]}")
        return int(match.group(1))


def callgrind_options(description: str) -> argparse.Namespace:
    """`--calls N`; stops at once, saying how to install it, when valgrind is missing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--calls", type=int, default=2000)
    options = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    return options


def main() -> None:
    options = callgrind_options(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "case.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(CASE)
        start = instructions(script, "undecorated", 0)
        per_call = {case: (instructions(script, case, options.calls) - start) / options.calls
                    for case in ("undecorated", "bare span", "decorated", "no person")}
    for case, count in per_call.items():
        print(f"{case:>12}: {count:10,.0f} instructions/call")
    overhead = per_call["decorated"] - per_call["undecorated"]
    print(f"ratio overhead / bare span: {overhead / per_call['bare span']:.2f}x (target <= 1.50x)")
    print(f"ratio capture without a person / bare span: "
          f"{(per_call['no person'] - per_call['undecorated']) / per_call['bare span']:.2f}x")


if __name__ == "__main__":
    main()
