"""`verwerkingen-otel inzage`: one person's actions across every log of the organisation.

    verwerkingen-otel inzage --bsn BSN --from DATE --to DATE --destinations destinations.toml [--json]

Every destination of the destinations file (that has the `api` exporter) is asked through its
Inzage API (GET /verwerkte-objecten, every page, with that destination's own credentials and
TLS files); the answers are merged into one list ordered by `tijdstip`, each action marked with
the log it came from. A log that does not answer makes the result explicitly partial: the
missing logs are named and the exit status is 3 — never a silently incomplete answer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

__all__ = ["InzageResult", "add_inzage_parser", "inzage_across"]

PARTIAL_EXIT = 3

_EPOCH = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)


def instant(value: object) -> dt.datetime:
    """A tijdstip as an aware instant for ordering (logs may write different offsets)."""
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return _EPOCH
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    return _EPOCH


@dataclass
class InzageResult:
    """The merged answer: `acties` as (log, action JSON) in time order; `missing` log -> reason."""

    acties: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing


def _query(dest: Any, bsn: str, begin: dt.date, end: dt.date) -> list[dict[str, Any]]:
    from ..client import VerwerkingenlogClient

    cert: Any = (dest.client_cert, dest.client_key) if dest.client_cert and dest.client_key else dest.client_cert
    with VerwerkingenlogClient(dest.api_url, client_id=dest.client_id, secret=dest.secret, token=dest.token,
                               timeout=dest.timeout or 10.0, verify=dest.ca_bundle or True, cert=cert) as client:
        found = []
        for item in client.inzage_list(soort_object_id="BSN", object_id=bsn, begin_datum=begin, eind_datum=end):
            body = item.verwerkingsactie.to_api()
            body["actieId"] = item.verwerkingsactie.actie_id
            body["verwerktObjectId"] = item.verwerkt_object_id
            body["betrokkenheid"] = item.object.betrokkenheid
            body.pop("verwerkteObjecten", None)
            found.append(body)
        return found


def inzage_across(destinations: Any, bsn: str, begin: dt.date, end: dt.date) -> InzageResult:
    """Ask every log (in parallel) and merge; a log that fails is named in `missing`."""
    logs = [d for d in destinations.destinations.values() if "api" in d.exporters and d.api_url]
    result = InzageResult()
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(logs)))) as pool:
        futures = {d.name: pool.submit(_query, d, bsn, begin, end) for d in logs}
        for name, future in futures.items():
            try:
                found = future.result()
            except Exception as exc:  # any failure of one log: named, never hidden
                result.missing[name] = f"{type(exc).__name__}: {exc}"[:300]
                continue
            result.counts[name] = len(found)
            result.acties.extend((name, body) for body in found)
    result.acties.sort(key=lambda pair: (instant(pair[1].get("tijdstip")), pair[0]))
    return result


def add_inzage_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("inzage", help="one person's actions across every log of the destinations file",
                              description=__doc__.splitlines()[0])
    p.add_argument("--bsn", required=True, help="the person's BSN (9 digits)")
    p.add_argument("--from", dest="begin", required=True, type=dt.date.fromisoformat, metavar="DATE",
                   help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", required=True, type=dt.date.fromisoformat, metavar="DATE",
                   help="last day, YYYY-MM-DD")
    p.add_argument("--destinations", required=True, metavar="FILE",
                   help="destinations file naming the logs (default route and routes are not used)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_inzage)


def _inzage(args: argparse.Namespace) -> int:
    from ._destinations import DestinationsError, load_destinations

    bsn = args.bsn.strip()
    if not (bsn.isdigit() and len(bsn) == 9):
        raise SystemExit("verwerkingen-otel inzage: --bsn must be 9 digits")
    if args.end < args.begin:
        raise SystemExit("verwerkingen-otel inzage: --to is before --from")
    try:
        destinations = load_destinations(args.destinations, setting="--destinations")
    except DestinationsError as exc:
        raise SystemExit(f"verwerkingen-otel inzage: --destinations {exc}") from None
    result = inzage_across(destinations, bsn, args.begin, args.end)
    if args.json:
        print(json.dumps({
            "complete": result.complete,
            "logs": {**{n: {"answered": True, "acties": c} for n, c in result.counts.items()},
                     **{n: {"answered": False, "error": r} for n, r in result.missing.items()}},
            "acties": [{"log": log, **body} for log, body in result.acties],
        }, indent=2, ensure_ascii=False))
    else:
        for log, body in result.acties:
            print(f"{body.get('tijdstip', '')}  [{log}]  {body.get('actieNaam') or '(zonder naam)'}"
                  f"  verwerking {body.get('verwerkingNaam') or '-'}  ({body.get('vertrouwelijkheid')})"
                  f"  uitvoerder {body.get('uitvoerder') or '-'}  actie {body.get('actieId')}")
        answered = ", ".join(f"{n} ({c})" for n, c in sorted(result.counts.items())) or "none"
        print(f"{len(result.acties)} action(s) from {len(result.counts)} log(s): {answered}")
    if not result.complete:
        for name, reason in sorted(result.missing.items()):
            print(f"verwerkingen-otel inzage: PARTIAL RESULT: log {name!r} did not answer ({reason})",
                  file=sys.stderr)
        return PARTIAL_EXIT
    return 0
