"""Per-call cost of acting for a tenant, in CPU instructions (callgrind; see capture_instructions.py).

The same decorated call (one action, one person, annotated by activity name, delivery=sync to an
in-memory exporter) for a service of one organisation (register file, one log) and for a
service of two gemeenten (tenants file: each gemeente's OIN, its own register, its own log;
the call runs for one of them). The difference is what the tenant adds per call: finding the
tenant, applying its fields (worked out once per tenant and annotation) and routing to its lane.

    .venv/bin/python benchmarks/tenant_instructions.py [--calls N]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from capture_instructions import callgrind_options, instructions  # noqa: E402

CASE = r'''
import json, os, sys
case, n, tmp = sys.argv[1], int(sys.argv[2]), os.environ["TENANT_BENCH_DIR"]
import verwerkingen_otel as vo

if case == "tenant":
    log = vo.configure(delivery="sync", destinations=f"{tmp}/destinations.toml", tenants=f"{tmp}/tenants.toml")
    memory = log.exporter("memory:utrecht")
    acting = vo.use_tenant("utrecht")  # held: the block ends when the object is collected
    acting.__enter__()
else:
    log = vo.configure(delivery="sync", exporters=["memory"], register=f"{tmp}/utrecht.json")
    memory = log.exporter("memory")

def lookup(bsn):
    return bsn

decorated = vo.verwerkingsactie("Raadplegen persoon", activiteit="Raadplegen persoonsgegevens",
                                objecten=[vo.persoon("bsn", betrokkenheid="Aanvrager")])(lookup)
decorated("999993653")
assert len(memory.bodies) == 1, memory.bodies
memory.clear()
fn = (lambda: lookup("999993653")) if case == "undecorated" else (lambda: decorated("999993653"))
for i in range(n):
    fn()
    if i % 500 == 499:
        memory.clear()
'''


def register(id_: str, oin: str) -> dict[str, object]:
    return {"verwerkingsactiviteiten": [{
        "id": id_, "naam": "Raadplegen persoonsgegevens", "doel": "Vaststellen wie de aanvrager is",
        "grondslag": "Publieke taak", "verantwoordelijkeOrganisatie": oin, "bewaartermijnDuur": "P2Y"}]}


def write_files(tmp: str) -> None:
    oins = {"utrecht": "00000001002220647000", "amersfoort": "00000001001234567000"}
    ids = {"utrecht": "0f7d4b0e-8f59-4bd4-9b7e-0c0d31a5c0a1", "amersfoort": "3c9b7a15-2d4e-4f60-9b81-a2c3d4e5f607"}
    tenants = ["[resolver]", 'header = "X-Gemeente"']
    for name, oin in oins.items():
        with open(os.path.join(tmp, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump(register(ids[name], oin), f)
        tenants += [f"[tenants.{name}]", f'oin = "{oin}"', f'destination = "{name}"', f'register = "{name}.json"']
    with open(os.path.join(tmp, "tenants.toml"), "w", encoding="utf-8") as f:
        f.write("\n".join(tenants) + "\n")
    with open(os.path.join(tmp, "destinations.toml"), "w", encoding="utf-8") as f:
        f.write("".join(f'[destinations.{name}]\nexporters = ["memory"]\n' for name in oins))


def main() -> None:
    options = callgrind_options(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as tmp:
        write_files(tmp)
        os.environ["TENANT_BENCH_DIR"] = tmp
        script = os.path.join(tmp, "case.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(CASE)
        start = {case: instructions(script, case, 0) for case in ("undecorated", "one organisation", "tenant")}
        per_call = {case: (instructions(script, case, options.calls) - start[case]) / options.calls
                    for case in ("undecorated", "one organisation", "tenant")}
    for case, count in per_call.items():
        print(f"{case:>16}: {count:10,.0f} instructions/call")
    one = per_call["one organisation"] - per_call["undecorated"]
    tenant = per_call["tenant"] - per_call["undecorated"]
    print(f"tenant / one organisation: {tenant / one:.3f}x (+{tenant - one:,.0f} instructions per call)")


if __name__ == "__main__":
    main()
