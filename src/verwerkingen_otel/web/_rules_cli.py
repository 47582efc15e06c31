"""`verwerkingen-otel check-rules FILE`: check a route rules file as start-up would."""

from __future__ import annotations

import sys
from typing import Any

from ._rules import ENV_VAR, RulesError, load_rules, rules_from_env

__all__ = ["add_rules_parser"]


def add_rules_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check-rules", help="check a route rules file (VERWERKINGEN_RULES) and list its rules",
        description="Check a route rules file as start-up would; exit 1 naming file, rule and key.",
    )
    p.add_argument("file", nargs="?", help=f"the rules file (default: ${ENV_VAR})")
    p.set_defaults(func=_check_rules_command)


def _check_rules_command(args: Any) -> int:
    try:
        rules = load_rules(args.file) if args.file else rules_from_env()
    except RulesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if rules is None:
        print(f"error: no file given and {ENV_VAR} is not set", file=sys.stderr)
        return 1
    print(f"{rules.source}: {len(rules)} rule(s) OK")
    for rule in rules.rules:
        sources = ", ".join(o.source + (f" {o.name}" if o.name else " /" + "/".join(o.pointer)) for o in rule.objecten)
        print(f"  {rule.method} {rule.route} -> {rule.actie['actie_naam']!r} ({sources})")
    return 0
