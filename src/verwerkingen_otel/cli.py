"""`verwerkingen-otel` command line: one small `add_<name>_parser(subparsers)` per subcommand.

Subcommands import their implementation lazily, so `verwerkingen-otel --help` works without
optional extras installed. To add one: write `add_x_parser`, set `func` with `set_defaults`,
and append it to `SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from typing import Callable, Sequence

from ._version import __version__
from .delivery import add_inzage_parser, add_outbox_parser
from .server.security_options import add_security_arguments


def add_serve_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve", help="run the verwerkingenlog server (Bewerking + Inzage API)",
        description="Run the VNG Verwerkingenlogging API server (base path /api/v1).",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--database", default="./verwerkingenlog.db", metavar="URL",
                   help="postgresql://user@host/db, sqlite:///path, or a file path (default ./verwerkingenlog.db)")
    p.add_argument("--clients", metavar="FILE", help="clients TOML file ([clients.<id>] secret, scopes)")
    p.add_argument("--dev", action="store_true",
                   help="development mode: add a throwaway client with every scope and print its credentials")
    p.add_argument("--base-url", metavar="URL",
                   help="externally visible base URL incl. /api/v1 (default: from each request)")
    p.add_argument("--page-size", type=int, default=100, help="results per page (default 100)")
    p.add_argument("--inzage-verwerkingsactiviteit-id", metavar="UUID",
                   help="verwerkingsactiviteitId under which Inzage calls are logged")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    p.add_argument("--peers", metavar="FILE", help="peers TOML file: the organisation's other logs, "
                   "for GET /api/v1/inzage/federatief and the /inzage page ([peers.<name>] api_url, client_id, "
                   "secret_env)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    add_security_arguments(p)
    from .server.ops_cli import add_serve_scale_options  # scale: counting, retention, access log format
    add_serve_scale_options(p)
    p.add_argument("--register", metavar="FILE",
                   help="register of processing activities (TOML, YAML, JSON): VAR API and /register; SIGHUP reloads")
    p.add_argument("--strict-activiteiten", action="store_true",
                   help="refuse (400) a POST whose verwerkingsactiviteitId the register never held")
    p.add_argument("--users", metavar="FILE", help="users file for the /inzage pages (verwerkingen-otel users add)")
    p.add_argument("--inzage-idle-timeout", type=float, default=900, metavar="SECONDS",
                   help="an /inzage session ends after this many idle seconds (default 900)")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    try:
        from .server.run import serve
    except ImportError as e:  # pragma: no cover - depends on installed extras
        print(f"verwerkingen-otel serve needs the server extra: pip install 'verwerkingen-otel[server]' ({e})",
              file=sys.stderr)
        return 2
    return serve(args)


from .server.register_cli import add_register_parser, add_users_parser  # noqa: E402 - server: register, users
from .web import add_coverage_parser, add_rules_parser  # noqa: E402 - web: check-rules, register coverage
from .ldv import add_ldv_parser  # noqa: E402 - Logboek Dataverwerkingen: pseudonym

from .server.ops_cli import add_generate_parser, add_purge_parser  # noqa: E402 - scale: generate, purge

SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [add_serve_parser, add_rules_parser,
                                                                 add_outbox_parser, add_users_parser,
                                                                 lambda sp: add_register_parser(sp, [add_coverage_parser])]
SUBCOMMANDS += [add_generate_parser, add_purge_parser, add_ldv_parser, add_inzage_parser]


DESCRIPTION = ("VNG Verwerkingenlogging for Python services: inspect the outbox, check rules and registers, "
               "run the verwerkingenlog server. `verwerkingen-otel COMMAND --help` describes each command.")

# The extra that provides a module a subcommand imports lazily (the longest matching prefix wins).
EXTRA_OF_MODULE = {
    "sqlalchemy": "server", "jwt": "server", "starlette": "server", "uvicorn": "server", "jinja2": "server",
    "argon2": "server", "multipart": "server", "python_multipart": "server", "yaml": "server",
    "prometheus_client": "server", "google.protobuf": "server", "opentelemetry.proto": "server",
    "psycopg": "postgres", "flask": "flask", "fastapi": "fastapi",
    "opentelemetry.exporter.otlp.proto.http": "ldv", "opentelemetry.exporter.otlp.proto.grpc": "ldv-grpc",
    "grpc": "ldv-grpc", "opentelemetry.instrumentation": "instrument",
}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The extra that would install the module `exc` is about, or None if it is none of ours."""
    name = exc.name or ""
    found = [m for m in EXTRA_OF_MODULE if name == m or name.startswith(m + ".") or m.startswith(name + ".")]
    return EXTRA_OF_MODULE[max(found, key=len)] if found else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="verwerkingen-otel", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(words)
    except SystemExit as exc:
        if exc.code == 2 and words and all(w.replace("-", "").isalpha() and not w.startswith("-") for w in words):
            try:  # `verwerkingen-otel outbox`: after argparse's one-line error, what that command takes
                with contextlib.redirect_stderr(io.StringIO()):  # a word that is no command: said once
                    parser.parse_args([*words, "--help"])
            except SystemExit:
                pass
        raise
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except ModuleNotFoundError as exc:
        extra = missing_extra(exc)
        if extra is None:
            raise
        print(f"verwerkingen-otel {args.command} needs the {extra} extra: "
              f"pip install 'verwerkingen-otel[{extra}]' (no module named {exc.name!r})", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
