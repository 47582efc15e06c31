"""`verwerkingen-otel outbox …`: what ops need to see and do with an outbox file.

    verwerkingen-otel outbox status [--json]
    verwerkingen-otel outbox deadletters list [--limit N] [--json] [--show-body]
    verwerkingen-otel outbox deadletters retry (ID … | --all)
    verwerkingen-otel outbox deadletters purge (ID … | --all) [--yes]

The outbox is `--outbox PATH`, else `VERWERKINGEN_OUTBOX`. Bodies hold personal data, so
`list` shows them only with `--show-body`; `purge` deletes evidence for good and asks first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import Any

from ..client import safe_problem_text

__all__ = ["add_outbox_parser"]


def add_outbox_parser(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--outbox", metavar="PATH", help="outbox file (default: $VERWERKINGEN_OUTBOX)")
    p = subparsers.add_parser("outbox", help="inspect the delivery outbox and its dead letters",
                              description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="outbox_command", metavar="COMMAND", required=True)
    status = sub.add_parser("status", parents=[common], help="actions waiting per exporter, dead letters")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=_status)
    dead = sub.add_parser("deadletters", help="actions the log refused for good")
    dsub = dead.add_subparsers(dest="deadletters_command", metavar="COMMAND", required=True)
    listing = dsub.add_parser("list", parents=[common], help="list dead letters with the log's reason")
    listing.add_argument("--limit", type=int, default=None)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--show-body", action="store_true",
                         help="include each action's body (contains personal data)")
    listing.set_defaults(func=_list)
    for name, helptext, func in (("retry", "move dead letters back into the outbox", _retry),
                                 ("purge", "delete dead letters for good", _purge)):
        cmd = dsub.add_parser(name, parents=[common], help=helptext)
        cmd.add_argument("ids", nargs="*", type=int, metavar="ID",
                         help="dead letter IDs, as `outbox deadletters list` shows them")
        cmd.add_argument("--all", action="store_true", help="every dead letter")
        if name == "purge":
            cmd.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        cmd.set_defaults(func=func)


def _open(args: argparse.Namespace) -> Any:
    from ._outbox import Outbox, OutboxError

    path = args.outbox or os.environ.get("VERWERKINGEN_OUTBOX")
    if not path:
        raise SystemExit("verwerkingen-otel outbox: give --outbox PATH or set VERWERKINGEN_OUTBOX")
    if not os.path.exists(path):
        raise SystemExit(f"verwerkingen-otel outbox: no outbox at {path!r} (--outbox / VERWERKINGEN_OUTBOX)")
    try:
        return Outbox(path)
    except OutboxError as exc:
        raise SystemExit(f"verwerkingen-otel outbox: {exc}") from None


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds")


def _status(args: argparse.Namespace) -> int:
    outbox = _open(args)
    status = outbox.status()
    status["destinations"] = _by_destination(status)
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
        return 0
    print(f"outbox {status['path']}")
    print(f"  pending: {status['pending']}   dead letters: {status['dead_letters']}")
    for name, info in sorted(status["exporters"].items()):
        print(f"  exporter {name}: {info['pending']} waiting ({info['retrying']} retrying), "
              f"oldest {info['oldest_age_seconds']:.0f} s")
    for name, count in sorted(status["dead_letters_by_exporter"].items()):
        print(f"  exporter {name}: {count} dead letter(s)")
    for name, info in sorted(status["destinations"].items()):
        print(f"  destination {name}: {info['pending']} waiting, {info['dead_letters']} dead letter(s)")
    return 0


def _by_destination(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Lanes of a destinations file are named `<exporter>:<destination>` (docs/destinations.md)."""
    out: dict[str, dict[str, Any]] = {}
    for lane in sorted(set(status["exporters"]) | set(status["dead_letters_by_exporter"])):
        if ":" not in lane:
            continue
        info = out.setdefault(lane.split(":", 1)[1], {"lanes": [], "pending": 0, "dead_letters": 0})
        info["lanes"].append(lane)
        info["pending"] += status["exporters"].get(lane, {}).get("pending", 0)
        info["dead_letters"] += status["dead_letters_by_exporter"].get(lane, 0)
    return out


def _list(args: argparse.Namespace) -> int:
    outbox = _open(args)
    letters = outbox.dead_letters(args.limit)
    rows = []
    for d in letters:
        # the log's texts masked like the client's exceptions, unless --show-body asks for values
        text = (lambda v, n=120: v) if args.show_body else safe_problem_text
        params = d.problem.get("invalidParams", [])
        row: dict[str, Any] = {
            "id": d.rowid, "record_id": d.record_id, "exporter": d.exporter, "status": d.status,
            "title": text(d.problem.get("title")), "detail": text(d.problem.get("detail"), 300),
            "invalidParams": [{**p, "reason": text(p.get("reason"))} if isinstance(p, dict) else p
                              for p in (params if isinstance(params, list) else [])],
            "attempts": d.attempts, "recorded": _when(d.created), "dead_at": _when(d.dead_at),
        }
        if args.show_body:
            row["body"] = json.loads(d.body)
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no dead letters")
    for r in rows:
        params = ", ".join(f"{p.get('name')}: {p.get('reason')}" for p in r["invalidParams"] if isinstance(p, dict))
        print(f"{r['id']}  {r['dead_at']}  {r['exporter']}  HTTP {r['status']}  {r['title'] or ''}"
              f"{'  (' + params + ')' if params else ''}  record {r['record_id']}")
        if args.show_body:
            print(f"    {json.dumps(r['body'], ensure_ascii=False)}")
    return 0


def _selection(args: argparse.Namespace) -> list[int] | None:
    if args.all and args.ids:
        raise SystemExit("verwerkingen-otel outbox: give IDs or --all, not both")
    if not args.all and not args.ids:
        raise SystemExit("verwerkingen-otel outbox: give the dead letters' IDs, or --all")
    return None if args.all else list(args.ids)


def _unknown_ids(outbox: Any, ids: list[int] | None) -> bool:
    """Say so when an ID names no dead letter (a typo must not look like `0 moved`); True if any."""
    unknown = [] if ids is None else sorted(set(ids) - {d.rowid for d in outbox.dead_letters()})
    if unknown:
        print(f"verwerkingen-otel outbox: no dead letter with ID {', '.join(map(str, unknown))} "
              "(`verwerkingen-otel outbox deadletters list` shows them); nothing changed", file=sys.stderr)
    return bool(unknown)


def _retry(args: argparse.Namespace) -> int:
    ids = _selection(args)
    outbox = _open(args)
    if _unknown_ids(outbox, ids):
        return 1
    moved = outbox.retry_dead_letters(ids)
    print(f"{moved} dead letter(s) moved back to the outbox; a running delivery sends them")
    return 0


def _purge(args: argparse.Namespace) -> int:
    ids = _selection(args)
    outbox = _open(args)
    if _unknown_ids(outbox, ids):
        return 1
    count = len(outbox.dead_letters()) if ids is None else len(
        [d for d in outbox.dead_letters() if d.rowid in set(ids)])
    if not args.yes:
        print(f"Delete {count} dead letter(s) for good? They are records of processing personal "
              f"data. Type 'yes' to confirm: ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()  # EOF (no terminal, no --yes) reads as a refusal
        if answer.strip().lower() != "yes":
            print("nothing purged", file=sys.stderr)
            return 1
    purged = outbox.purge_dead_letters(ids)
    print(f"{purged} dead letter(s) purged")
    return 0
