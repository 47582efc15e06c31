"""`verwerkingen-otel ldv pseudonym`: the pseudonym to search the lezen API by.

    verwerkingen-otel ldv pseudonym --key-file /run/secrets/ldv.key --bsn BSN
    printf 'BSN\\n' | verwerkingen-otel ldv pseudonym --key-file ldv.key --bsn -

Prints one pseudonym per line, in the order given. `--bsn -` reads BSNs from standard input,
one per line, so they stay out of the shell history and the process list.
"""

from __future__ import annotations

import argparse
import sys

from ..model import InvalidValue, check_bsn
from ._errors import LdvError
from ._pseudonym import load_key

__all__ = ["add_ldv_parser"]


def add_ldv_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("ldv", help="Logboek Dataverwerkingen helpers (pseudonyms)",
                              description="Logboek Dataverwerkingen helpers.")
    sub = p.add_subparsers(dest="ldv_command", metavar="COMMAND")
    ps = sub.add_parser("pseudonym", help="print the pseudonym of a BSN under a key",
                        description="Print dpl.core.data_subject_id for a person: HMAC-SHA256 with the "
                                    "organisation's key, the value the lezen API is searched by.")
    ps.add_argument("--key-file", required=True, metavar="FILE", help="the pseudonymisation key (raw, >= 32 bytes)")
    ps.add_argument("--bsn", action="append", required=True, metavar="BSN",
                    help="a BSN (repeatable); '-' reads BSNs from standard input, one per line")
    ps.set_defaults(func=_pseudonym)
    p.set_defaults(func=lambda _args: (p.print_help(), 2)[1])


def _pseudonym(args: argparse.Namespace) -> int:
    try:
        key = load_key(args.key_file, option="--key-file")
    except LdvError as e:
        print(f"verwerkingen-otel ldv pseudonym: {e}", file=sys.stderr)
        return 2
    values: list[str] = []
    for given in args.bsn:
        values.extend(line.strip() for line in sys.stdin if line.strip()) if given == "-" else values.append(given)
    out = []
    for position, value in enumerate(values, 1):
        try:
            bsn = check_bsn(value.strip())
        except InvalidValue as e:  # the message names the position, never the value
            print(f"verwerkingen-otel ldv pseudonym: --bsn (number {position}): {e.reason}", file=sys.stderr)
            return 2
        out.append(key.pseudonym("BSN", bsn))
    print("\n".join(out))
    return 0
