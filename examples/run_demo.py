"""The first demo: call the example Flask app's endpoints and show the actions they recorded.

The console exporter writes each action as one JSON line (exactly the body a verwerkingenlog
receives) to a file; this script then reads that file back and prints it readably.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import verwerkingen_otel as vo  # noqa: E402
from flask_app import create_app  # noqa: E402

CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/personen/999993653", None),
    ("GET", "/personen?naam=jansen", None),
    ("GET", "/personen?naam=nobody", None),
    ("POST", "/huwelijken", {"partners": ["999993653", "999995017"], "getuigen": ["999990019"]}),
    ("GET", "/personen/123456789", None),
]


def main() -> int:
    # Warnings about bad data (never containing the value) show inline.
    logging.basicConfig(level=logging.WARNING, format="   ! %(levelname)s %(name)s: %(message)s", stream=sys.stdout)
    with tempfile.TemporaryDirectory() as tmp:
        lines_file = Path(tmp) / "verwerkingsacties.jsonl"
        vo.configure(delivery="sync", exporters=["console"], console_file=lines_file,
                     systeem="Demo Burgerzaken", gegevensbron="Demo register")
        client = create_app().test_client()
        seen = 0
        for method, path, payload in CALLS:
            response = client.open(path, method=method, json=payload)
            print(f"\n{method} {path} -> {response.status_code}")
            lines = lines_file.read_text(encoding="utf-8").splitlines()
            new, seen = lines[seen:], len(lines)
            if not new:
                print("   (no verwerkingsactie: no person's data was processed)")
            for line in new:
                show(json.loads(line))
        vo.shutdown()
        print(f"\n{seen} verwerkingsacties recorded, one JSON line each (the POST /verwerkingsacties body).")
    return 0


def show(body: dict[str, Any]) -> None:
    print(f"   * {body.get('actieNaam')}  [{body['vertrouwelijkheid']}"
          f"{', bewaartermijn ' + body['bewaartermijn'] if 'bewaartermijn' in body else ''}]")
    print(f"     verwerking {body.get('verwerkingNaam') or '-'} ({body['verwerkingId']}), tijdstip {body['tijdstip']}")
    for obj in body["verwerkteObjecten"]:
        soorten = ", ".join(s["soortGegeven"] for s in obj.get("verwerkteSoortenGegevens", []))
        print(f"       - {obj['objecttype']} {obj['soortObjectId']} {obj['objectId']}: "
              f"{obj.get('betrokkenheid', '-')}{' (' + soorten + ')' if soorten else ''}")


if __name__ == "__main__":
    raise SystemExit(main())
