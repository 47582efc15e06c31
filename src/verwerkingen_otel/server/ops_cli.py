"""`verwerkingen-otel generate` and `verwerkingen-otel purge`: operations on a log's database.

Both show progress on a terminal (plain periodic lines otherwise) and end with one summary line.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_serve_scale_options(p: argparse.ArgumentParser) -> None:
    """`serve` options of issue 15 (counting, retention schedule, access log format)."""
    p.add_argument("--count-limit", type=int, default=None, metavar="N",
                   help="list `count` is exact up to N matches, a lower bound above (default 5000)")
    p.add_argument("--default-bewaartermijn", metavar="DURATION",
                   help="ISO 8601 retention (e.g. P20Y) for actions without a bewaartermijn; default: keep them")
    p.add_argument("--purge-interval", type=float, default=None, metavar="SECONDS",
                   help="purge expired actions every SECONDS inside the server (default 0: no schedule)")
    p.add_argument("--access-log-format", choices=["plain", "json"], default="plain",
                   help="access log lines as plain text (default) or one JSON object per line")


def add_generate_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "generate", help="fill a log with realistic generated actions (try your own hardware)",
        description="Append N generated actions (skewed persons: most 10-30 actions, a few with thousands) "
                    "to a log database, bypassing the API: COPY on PostgreSQL, executemany on SQLite.",
    )
    p.add_argument("--database", required=True, metavar="URL", help="postgresql://..., sqlite:///path or a file path")
    p.add_argument("--actions", required=True, type=int, metavar="N", help="number of actions to add")
    p.add_argument("--seed", type=int, default=15, help="random seed (default 15)")
    p.set_defaults(func=_generate)


def add_purge_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "purge", help="delete actions whose bewaartermijn has passed (recorded in vl_purge_log)",
        description="Delete every version of each action whose bewaartermijn (counted from tijdstip) has "
                    "passed, with its objects, in short batches; each batch is recorded in vl_purge_log.",
    )
    p.add_argument("--database", required=True, metavar="URL", help="postgresql://..., sqlite:///path or a file path")
    p.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    p.add_argument("--default-bewaartermijn", metavar="DURATION",
                   help="ISO 8601 duration (e.g. P20Y) for actions without a bewaartermijn; default: keep them")
    p.add_argument("--batch", type=int, default=100, help="actions per transaction (default 100)")
    p.set_defaults(func=_purge)


def _open(args: argparse.Namespace, command: str) -> Any:
    from .errors import ConfigError
    from .settings import database_url
    from .storage import Storage
    try:
        storage = Storage(database_url(args.database, option="--database"))
        storage.create_schema()
        return storage
    except ConfigError as e:
        print(f"verwerkingen-otel {command}: {e}", file=sys.stderr)
    except Exception as e:  # noqa: BLE001 - connection refused, bad credentials ...
        print(f"verwerkingen-otel {command}: --database: cannot open the database ({type(e).__name__})",
              file=sys.stderr)
    return None


def _generate(args: argparse.Namespace) -> int:
    from ..progress import Progress
    from .generate import generate
    if args.actions < 1:
        print("verwerkingen-otel generate: --actions must be a positive integer", file=sys.stderr)
        return 2
    storage = _open(args, "generate")
    if storage is None:
        return 2
    try:
        progress = Progress("generate", total=args.actions, unit="actions")
        result = generate(storage, args.actions, seed=args.seed, advance=progress.advance)
        heavy = ", ".join(f"{n:,}" for n in result.heavy.values())
        progress.finish(f"{result.versions:,} versions, {result.objects:,} objects, "
                        f"{result.typical_persons:,} typical persons, heavy persons with {heavy} actions;")
    finally:
        storage.dispose()
    return 0


def _purge(args: argparse.Namespace) -> int:
    from ..progress import Progress
    from .duration import is_duration
    from .retention import count_expired, purge
    if args.default_bewaartermijn is not None and not is_duration(args.default_bewaartermijn):
        print("verwerkingen-otel purge: --default-bewaartermijn must be an ISO 8601 duration such as P20Y",
              file=sys.stderr)
        return 2
    if args.batch < 1:
        print("verwerkingen-otel purge: --batch must be a positive integer", file=sys.stderr)
        return 2
    storage = _open(args, "purge")
    if storage is None:
        return 2
    try:
        from datetime import datetime, timezone
        now = datetime.now(timezone.utc)
        expected = count_expired(storage, now, args.default_bewaartermijn)
        if args.dry_run:
            print(f"purge --dry-run: would delete {expected.acties:,} actions ({expected.versies:,} versions, "
                  f"{expected.objecten:,} objects) from {expected.period()}")
            return 0
        progress = Progress("purge", total=expected.acties, unit="actions")
        result = purge(storage, now=now, default_bewaartermijn=args.default_bewaartermijn, batch=args.batch,
                       advance=progress.advance)
        progress.finish(f"{result.versies:,} versions and {result.objecten:,} objects from {result.period()} "
                        f"in {result.batches} batches (longest {result.longest_batch_ms:.0f} ms), recorded as run "
                        f"{result.run};")
    finally:
        storage.dispose()
    return 0


__all__ = ["add_generate_parser", "add_purge_parser"]
