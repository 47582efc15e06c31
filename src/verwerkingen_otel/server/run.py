"""`verwerkingen-otel serve`: validate options (fail fast, naming the option), then uvicorn."""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import socket
import sys
import time
from pathlib import Path

import jwt

from .auth import load_clients
from .errors import ConfigError
from .security_options import export_security_settings, security_settings
from .federatief import configure_peers
from .settings import (
    ENV_BASE_URL, ENV_CLIENTS, ENV_DATABASE, ENV_DEV_CLIENT, ENV_INZAGE_ACTIVITEIT, ENV_PAGE_SIZE,
    ENV_INZAGE_IDLE, ENV_REGISTER, ENV_STRICT_ACTIVITEITEN, ENV_USERS, Settings, check_base_url, database_url, dev_client,
)


def settings_from_args(args: argparse.Namespace) -> tuple[Settings, str | None]:
    """Settings from CLI options, plus the dev client's `id:secret` when --dev."""
    clients = {}
    if args.clients:
        clients.update(load_clients(Path(args.clients), option="--clients"))
    elif not args.dev:
        raise ConfigError("--clients: a clients file is required (or use --dev for a throwaway client)")
    dev = None
    if args.dev:
        client = dev_client()
        clients[client.client_id] = client
        dev = f"{client.client_id}:{client.secret}"
    if args.page_size < 1:
        raise ConfigError("--page-size must be a positive integer")
    if not 0 < args.port < 65536:
        raise ConfigError("--port must be between 1 and 65535")
    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    activiteit = args.inzage_verwerkingsactiviteit_id
    if activiteit is not None:
        from ..model import InvalidValue, check_uuid
        try:
            activiteit = check_uuid(activiteit)
        except InvalidValue:
            raise ConfigError("--inzage-verwerkingsactiviteit-id must be a UUID") from None
    kwargs = {} if activiteit is None else {"inzage_verwerkingsactiviteit_id": activiteit}
    kwargs.update(security_settings(args))
    kwargs.update(_scale_settings(args))
    kwargs.update(_register_options(args))
    settings = Settings(
        database_url=database_url(args.database, option="--database"),
        clients=clients, base_url=check_base_url(args.base_url, option="--base-url"),
        page_size=args.page_size, **kwargs,
    )
    return settings, dev


def _scale_settings(args: argparse.Namespace) -> dict[str, object]:
    """Issue 15's options (absent when the parser has none of them, e.g. an older caller)."""
    from .settings import check_bewaartermijn, check_count_limit, check_purge_interval
    out: dict[str, object] = {}
    if getattr(args, "count_limit", None) is not None:
        out["count_limit"] = check_count_limit(args.count_limit)
    if getattr(args, "default_bewaartermijn", None) is not None:
        out["default_bewaartermijn"] = check_bewaartermijn(args.default_bewaartermijn)
    if getattr(args, "purge_interval", None) is not None:
        out["purge_interval"] = check_purge_interval(args.purge_interval)
    return out


def _scale_env(settings: Settings) -> None:
    """Issue 15's settings for `--workers N` (each worker builds its app from the environment)."""
    from .settings import ENV_COUNT_LIMIT, ENV_DEFAULT_BEWAARTERMIJN, ENV_PURGE_INTERVAL
    os.environ[ENV_COUNT_LIMIT] = str(settings.count_limit)
    os.environ[ENV_DEFAULT_BEWAARTERMIJN] = settings.default_bewaartermijn or ""
    os.environ[ENV_PURGE_INTERVAL] = str(settings.purge_interval)
def _register_options(args: argparse.Namespace) -> dict[str, object]:
    """--register (checked now: a file with errors is a configuration mistake), --strict-activiteiten,
    --users."""
    register = getattr(args, "register", None)
    strict = bool(getattr(args, "strict_activiteiten", False))
    if register:
        from ..register import FileSource, InvalidRegister, RegisterError, problems_of
        try:
            FileSource(register).load()
        except RegisterError as e:
            if not isinstance(e, InvalidRegister):  # not there, not readable: one line says it
                raise ConfigError(f"--register: {e}") from None
            problems = "\n".join(f"  {p}" for p in problems_of(e))
            raise ConfigError(f"--register: {register} cannot be loaded:\n{problems}") from None
        register = str(Path(register).resolve())
    elif strict:
        raise ConfigError("--strict-activiteiten needs --register FILE")
    users = getattr(args, "users", None)
    idle = getattr(args, "inzage_idle_timeout", 900)
    if not idle > 0:
        raise ConfigError("--inzage-idle-timeout must be a positive number of seconds")
    return {"register_file": register or None, "strict_activiteiten": strict,
            "users_file": str(Path(users).resolve()) if users else None, "session_idle_seconds": idle}


def _check_listen(host: str, port: int) -> None:
    """Fail fast naming --host or --port, instead of uvicorn's bare OSError after start-up."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise ConfigError(f"--host: cannot resolve {host!r} to an address to listen on") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            raise ConfigError(f"--port: cannot listen on {host}:{port} ({e.strerror or e})") from None


def dev_api_url(host: str, port: int) -> str:
    """The URL a client on this machine uses: a wildcard address is no address to connect to (and
    a service refuses http:// to a host that is not loopback), so it becomes the loopback one."""
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/api/v1"


def _print_dev_credentials(dev: str, host: str, port: int) -> None:
    client_id, _, secret = dev.partition(":")
    token = jwt.encode({"client_id": client_id, "iat": int(time.time())}, secret, algorithm="HS256")
    print(
        "verwerkingen-otel serve --dev: throwaway client with every scope (development only)\n"
        f"  VERWERKINGEN_API_URL={dev_api_url(host, port)}\n"
        f"  VERWERKINGEN_CLIENT_ID={client_id}\n"
        f"  VERWERKINGEN_SECRET={secret}\n"
        f"  Authorization: Bearer {token}",
        flush=True,
    )


def _log_config(level: str) -> dict[str, object]:
    """One format for uvicorn's and our lines; uvicorn's own access log stays off (it logs queries)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        # httpx logs each request's URL at INFO: a peer's Inzage URL (serve --peers) holds the BSN
        "loggers": {"uvicorn.access": {"level": "WARNING"}, "httpx": {"level": "WARNING"},
                    "httpcore": {"level": "WARNING"}},
    }


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .storage import SchemaTooNew

    log_config = _log_config(args.log_level)
    if getattr(args, "access_log_format", "plain") == "json":
        from .ops import json_access_log_config
        json_access_log_config(log_config)
    logging.config.dictConfig(log_config)
    try:
        settings, dev = settings_from_args(args)
        configure_peers(getattr(args, "peers", None))  # federatief Inzage (server/federatief.py)
        app = create_app(settings)  # creates the schema once, before any worker starts
    except ConfigError as e:
        print(f"verwerkingen-otel serve: {e}", file=sys.stderr)
        return 2
    except SchemaTooNew as e:
        print(f"verwerkingen-otel serve: --database: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # connection refused, bad credentials, unwritable file ...
        print(f"verwerkingen-otel serve: --database: cannot open the database ({type(e).__name__}: "
              f"{str(e).splitlines()[0] if str(e) else ''})", file=sys.stderr)
        return 2
    try:
        _check_listen(args.host, args.port)
    except ConfigError as e:
        print(f"verwerkingen-otel serve: {e}", file=sys.stderr)
        return 2
    if dev:
        _print_dev_credentials(dev, args.host, args.port)
    # uvicorn applies log_config in every worker process too
    # proxy_headers=False: uvicorn would trust X-Forwarded-Proto from 127.0.0.1 by default; the
    # app reads the proxy headers itself, only with --proxy-headers (proxy.py)
    common = dict(host=args.host, port=args.port, access_log=False, log_level=args.log_level,
                  server_header=False, log_config=log_config, proxy_headers=False)
    if args.workers == 1:
        uvicorn.run(app, **common)
        return 0
    # Several workers need an import string; settings travel through the environment.
    app.state.verwerkingenlog.storage.dispose()
    os.environ[ENV_DATABASE] = settings.database_url
    if args.clients:
        os.environ[ENV_CLIENTS] = str(Path(args.clients).resolve())
    if dev:
        os.environ[ENV_DEV_CLIENT] = dev
    if settings.base_url:
        os.environ[ENV_BASE_URL] = settings.base_url
    os.environ[ENV_PAGE_SIZE] = str(settings.page_size)
    os.environ[ENV_INZAGE_ACTIVITEIT] = settings.inzage_verwerkingsactiviteit_id or ""
    export_security_settings(settings)
    _scale_env(settings)
    os.environ[ENV_REGISTER] = settings.register_file or ""
    os.environ[ENV_STRICT_ACTIVITEITEN] = "true" if settings.strict_activiteiten else ""
    os.environ[ENV_USERS] = settings.users_file or ""
    os.environ[ENV_INZAGE_IDLE] = str(settings.session_idle_seconds)
    uvicorn.run("verwerkingen_otel.server.app:create_app", factory=True, workers=args.workers, **common)
    return 0
