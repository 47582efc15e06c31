"""`verwerkingen-otel register check|load` and `verwerkingen-otel users add`.

Implementations are imported lazily, so `--help` works without the server extra.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Sequence


def add_register_parser(subparsers: argparse._SubParsersAction,
                        extra: Sequence[Callable[[Any], None]] = ()) -> None:
    """`extra`: functions adding more `register` subcommands (cli.py adds web's `coverage`)."""
    p = subparsers.add_parser("register", help="the register of processing activities: check, load, coverage",
                              description="Check a register file, load it into the server's database, or "
                                          "list which of its activities an app records.")
    sub = p.add_subparsers(dest="register_command", metavar="COMMAND", required=True)
    for add in extra:
        add(sub)
    check = sub.add_parser("check", help="validate a register file (TOML, YAML or JSON) and print every problem")
    check.add_argument("file", metavar="FILE", help="the register file: TOML, YAML or JSON")
    check.set_defaults(func=_check)
    load = sub.add_parser("load", help="load a register file into the server's database as a new version")
    load.add_argument("file", metavar="FILE", help="the register file: TOML, YAML or JSON")
    load.add_argument("--database", required=True, metavar="URL",
                      help="the server's database: postgresql://…, sqlite:///path or a file path")
    load.set_defaults(func=_load)


def _check(args: argparse.Namespace) -> int:
    from ..register import FileSource, InvalidRegister, RegisterError

    try:
        register = FileSource(args.file).load()
    except InvalidRegister as e:
        for p in e.problems:
            print(f"{args.file}: {p}")
        print(f"{len(e.problems)} problem(s); the register cannot be loaded", file=sys.stderr)
        return 1
    except RegisterError as e:
        print(e)
        return 1
    print(f"{args.file}: {len(register)} verwerkingsactiviteiten, no problems")
    return 0


def _load(args: argparse.Namespace) -> int:
    from ..register import FileSource, RegisterError, problems_of
    from .errors import ConfigError
    from .register_store import RegisterStore
    from .settings import database_url
    from .storage import Storage

    try:
        register = FileSource(args.file).load()
    except RegisterError as e:
        for p in problems_of(e):
            print(f"{args.file}: {p}", file=sys.stderr)
        print("verwerkingen-otel register load: not loaded; the database keeps its previous version",
              file=sys.stderr)
        return 1
    try:
        storage = Storage(database_url(args.database, option="--database"))
    except ConfigError as e:
        print(f"verwerkingen-otel register load: {e}", file=sys.stderr)
        return 2
    try:
        storage.create_schema()
        store = RegisterStore(storage)
        store.create_schema()
        result = store.load(register)
    except Exception as e:  # noqa: BLE001 - connection refused, bad credentials ...
        print(f"verwerkingen-otel register load: --database: cannot write the register ({type(e).__name__})",
              file=sys.stderr)
        return 2
    finally:
        storage.dispose()
    print(f"{args.file} loaded: {result}")
    return 0


def add_users_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("users", help="users of the server's /inzage pages: add")
    sub = p.add_subparsers(dest="users_command", metavar="COMMAND", required=True)
    add = sub.add_parser("add", help="add a user (or give one a new password); prompts for the password")
    add.add_argument("name", metavar="NAME", help="the login name (1-64 letters, digits, . _ @ -)")
    add.add_argument("--users", required=True, metavar="FILE", help="users TOML file (created when missing)")
    add.add_argument("--role", action="append", choices=["inzage", "inzage-vertrouwelijk"], dest="roles",
                     help="inzage (always) and inzage-vertrouwelijk (also sees vertrouwelijk actions)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin (for scripts)")
    add.set_defaults(func=_users_add)


def _users_add(args: argparse.Namespace) -> int:
    try:
        from .pages.users import add_command
    except ImportError as e:  # pragma: no cover - depends on installed extras
        print(f"verwerkingen-otel users needs the server extra: pip install 'verwerkingen-otel[server]' ({e})",
              file=sys.stderr)
        return 2
    return add_command(args)


__all__ = ["add_register_parser", "add_users_parser"]
