"""Server settings: one immutable object built from the CLI, the environment or code.

Kept apart from the app so that `create_app` can be used as an ASGI factory by any server
(gunicorn, hypercorn, several uvicorn workers) with settings read from the environment.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .auth import ALL_SCOPES, MAX_TOKEN_AGE_SECONDS, MIN_SECRET_BYTES, Client, load_clients
from .errors import ConfigError
from .proxy import check_allow_ips

API_VERSION = "0.9.0"
BASE_PATH = "/api/v1"
DEFAULT_DATABASE = "./verwerkingenlog.db"
MAX_BODY_BYTES = 1024 * 1024
# The server's own verwerkingsactiviteit for logging Inzage calls (a setting; this default
# is a fixed uuid so that every deployment's Inzage logs can be found without configuration).
DEFAULT_INZAGE_ACTIVITEIT = "6c2b1f5e-4b3f-4d7e-9b1a-0e3a1c2d4f5a"
# NOTES §3: the log's own record of an Inzage always keeps this, whatever the caller's headers say.
DEFAULT_INZAGE_BEWAARTERMIJN = "P1Y"

ENV_DATABASE = "VERWERKINGEN_SERVER_DATABASE"
ENV_CLIENTS = "VERWERKINGEN_SERVER_CLIENTS"
ENV_BASE_URL = "VERWERKINGEN_SERVER_BASE_URL"
ENV_PAGE_SIZE = "VERWERKINGEN_SERVER_PAGE_SIZE"
ENV_INZAGE_ACTIVITEIT = "VERWERKINGEN_SERVER_INZAGE_ACTIVITEIT_ID"
ENV_DEV_CLIENT = "VERWERKINGEN_SERVER_DEV_CLIENT"  # "client_id:secret", set by `serve --dev`
ENV_MAX_TOKEN_AGE = "VERWERKINGEN_SERVER_MAX_TOKEN_AGE"
ENV_INZAGE_BEWAARTERMIJN = "VERWERKINGEN_SERVER_INZAGE_BEWAARTERMIJN"
ENV_PROXY_HEADERS = "VERWERKINGEN_SERVER_PROXY_HEADERS"
ENV_FORWARDED_ALLOW_IPS = "VERWERKINGEN_SERVER_FORWARDED_ALLOW_IPS"
# scale (issue 15): bounded counting, retention schedule
ENV_COUNT_LIMIT = "VERWERKINGEN_SERVER_COUNT_LIMIT"
ENV_DEFAULT_BEWAARTERMIJN = "VERWERKINGEN_SERVER_DEFAULT_BEWAARTERMIJN"
ENV_PURGE_INTERVAL = "VERWERKINGEN_SERVER_PURGE_INTERVAL"
DEFAULT_COUNT_LIMIT = 5_000
ENV_REGISTER = "VERWERKINGEN_SERVER_REGISTER"
ENV_STRICT_ACTIVITEITEN = "VERWERKINGEN_SERVER_STRICT_ACTIVITEITEN"
ENV_USERS = "VERWERKINGEN_SERVER_USERS"
ENV_INZAGE_IDLE = "VERWERKINGEN_SERVER_INZAGE_IDLE_TIMEOUT"


@dataclass(frozen=True)
class Settings:
    """Everything the app needs; `database_url` is already a SQLAlchemy URL."""

    database_url: str
    clients: Mapping[str, Client] = field(default_factory=dict)
    base_url: str | None = None  # externally visible `{scheme}://{host}[:port]/api/v1`
    page_size: int = 100
    max_body_bytes: int = MAX_BODY_BYTES
    inzage_verwerkingsactiviteit_id: str | None = DEFAULT_INZAGE_ACTIVITEIT
    systeem: str = "verwerkingen-otel server"
    max_token_age: int = MAX_TOKEN_AGE_SECONDS  # seconds; a token's expiry is at most iat + this
    inzage_bewaartermijn: str = DEFAULT_INZAGE_BEWAARTERMIJN
    # links from Forwarded / X-Forwarded-Proto / X-Forwarded-Host, only from these peers (`*` = any)
    proxy_headers: bool = False
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1",)
    count_limit: int = DEFAULT_COUNT_LIMIT  # `count` exact up to here, a lower bound above
    default_bewaartermijn: str | None = None  # retention of actions without a bewaartermijn; None: kept
    purge_interval: float = 0.0  # seconds between in-server purges; 0: no schedule (use `purge`)
    register_file: str | None = None  # register of processing activities (VAR API, pages)
    strict_activiteiten: bool = False  # POST with an id the register never held → 400
    users_file: str | None = None  # users of the /inzage pages
    session_idle_seconds: float = 900  # /inzage sessions end after this many idle seconds

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings for the ASGI factory (`uvicorn --factory ...:create_app`)."""
        env = os.environ if env is None else env
        clients: dict[str, Client] = {}
        if env.get(ENV_CLIENTS):
            clients.update(load_clients(Path(env[ENV_CLIENTS]), option=ENV_CLIENTS))
        if env.get(ENV_DEV_CLIENT):
            client_id, _, secret = env[ENV_DEV_CLIENT].partition(":")
            if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
                raise ConfigError(f"{ENV_DEV_CLIENT}: client {client_id!r}: `secret` must be at least "
                                  f"{MIN_SECRET_BYTES} bytes")
            clients[client_id] = Client(client_id, secret, ALL_SCOPES)
        page_size = env.get(ENV_PAGE_SIZE, "100")
        if not page_size.isdigit() or int(page_size) < 1:
            raise ConfigError(f"{ENV_PAGE_SIZE} must be a positive integer")
        scale = _scale_from_env(env)
        return cls(
            **scale,
            database_url=database_url(env.get(ENV_DATABASE) or DEFAULT_DATABASE, option=ENV_DATABASE),
            clients=clients,
            base_url=check_base_url(env.get(ENV_BASE_URL), option=ENV_BASE_URL),
            page_size=int(page_size),
            inzage_verwerkingsactiviteit_id=env.get(ENV_INZAGE_ACTIVITEIT, DEFAULT_INZAGE_ACTIVITEIT) or None,
            register_file=env.get(ENV_REGISTER) or None,
            strict_activiteiten=env.get(ENV_STRICT_ACTIVITEITEN, "").lower() in ("1", "true", "yes"),
            users_file=env.get(ENV_USERS) or None,
            session_idle_seconds=_positive_seconds(env.get(ENV_INZAGE_IDLE, "900"), ENV_INZAGE_IDLE),
            max_token_age=check_max_token_age(env.get(ENV_MAX_TOKEN_AGE, str(MAX_TOKEN_AGE_SECONDS)),
                                              option=ENV_MAX_TOKEN_AGE),
            inzage_bewaartermijn=check_inzage_bewaartermijn(
                env.get(ENV_INZAGE_BEWAARTERMIJN) or DEFAULT_INZAGE_BEWAARTERMIJN, option=ENV_INZAGE_BEWAARTERMIJN),
            proxy_headers=check_flag(env.get(ENV_PROXY_HEADERS, ""), option=ENV_PROXY_HEADERS),
            forwarded_allow_ips=check_allow_ips(env.get(ENV_FORWARDED_ALLOW_IPS, "127.0.0.1").split(","),
                                                option=ENV_FORWARDED_ALLOW_IPS),
        )


def _scale_from_env(env: Mapping[str, str]) -> dict[str, object]:
    out: dict[str, object] = {}
    if env.get(ENV_COUNT_LIMIT):
        out["count_limit"] = check_count_limit(env[ENV_COUNT_LIMIT], option=ENV_COUNT_LIMIT)
    if env.get(ENV_DEFAULT_BEWAARTERMIJN):
        out["default_bewaartermijn"] = check_bewaartermijn(env[ENV_DEFAULT_BEWAARTERMIJN],
                                                           option=ENV_DEFAULT_BEWAARTERMIJN)
    if env.get(ENV_PURGE_INTERVAL):
        out["purge_interval"] = check_purge_interval(env[ENV_PURGE_INTERVAL], option=ENV_PURGE_INTERVAL)
    return out


def check_count_limit(value: object, *, option: str = "--count-limit") -> int:
    text = str(value)
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{option} must be a positive integer")
    return int(text)


def check_bewaartermijn(value: str | None, *, option: str = "--default-bewaartermijn") -> str | None:
    from .duration import is_duration
    if value is None:
        return None
    if not is_duration(value):
        raise ConfigError(f"{option} must be an ISO 8601 duration such as P20Y")
    return value


def check_purge_interval(value: object, *, option: str = "--purge-interval") -> float:
    try:
        seconds = float(str(value))
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise ConfigError(f"{option} must be a number of seconds (0 = no schedule)")
    return seconds


def _positive_seconds(value: str, option: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ConfigError(f"{option} must be a positive number of seconds")
    return seconds


def database_url(value: str, *, option: str = "--database") -> str:
    """Translate a user's database URL or bare path into a SQLAlchemy URL.

    `postgresql://` and `postgres://` use psycopg 3; `sqlite:///path` and bare paths a file.
    """
    value = value.strip()
    if not value:
        raise ConfigError(f"{option}: empty database URL")
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if value.startswith(prefix):
            rest = value[len(prefix):]
            if not rest or rest.startswith("/") and len(rest) == 1:
                raise ConfigError(f"{option}: {prefix} URL names no server or database")
            try:
                import psycopg  # noqa: F401 - SQLAlchemy would import it at the first connection
            except ModuleNotFoundError:
                raise ConfigError(f"{option}: PostgreSQL needs the postgres extra (psycopg 3): "
                                  "pip install 'verwerkingen-otel[postgres]'") from None
            return "postgresql+psycopg://" + rest
    if value.startswith("sqlite://"):
        if value in ("sqlite://", "sqlite:///", "sqlite:///:memory:"):
            raise ConfigError(f"{option}: an in-memory SQLite database cannot be shared; give a file")
        if not value.startswith("sqlite:///"):
            raise ConfigError(f"{option}: SQLite URLs look like sqlite:///path/to/file.db")
        path = value[len("sqlite:///"):]
        return "sqlite:///" + _checked_sqlite_path(path, option)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
        raise ConfigError(
            f"{option}: unsupported database URL scheme {value.split('://')[0]!r} "
            "(use postgresql://... or sqlite:///path or a file path)"
        )
    return "sqlite:///" + _checked_sqlite_path(value, option)


def _checked_sqlite_path(path: str, option: str) -> str:
    p = Path(path).expanduser()
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"{option}: directory {str(parent)!r} does not exist")
    if p.exists() and p.is_dir():
        raise ConfigError(f"{option}: {path!r} is a directory, not a database file")
    return str(p)


def check_base_url(value: str | None, *, option: str = "--base-url") -> str | None:
    """The externally visible base URL, without trailing slash, or None to use the request's."""
    if not value:
        return None
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
        raise ConfigError(f"{option}: expected http(s)://host[:port]/path, got {value!r}")
    return value.rstrip("/")


def check_max_token_age(value: str, *, option: str = "--max-token-age") -> int:
    """NOTES §5: the maximum age of a token, in whole seconds (at least 1)."""
    value = value.strip()
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{option} must be a positive whole number of seconds")
    return int(value)


def check_inzage_bewaartermijn(value: str, *, option: str = "--inzage-bewaartermijn") -> str:
    """An ISO 8601 duration such as P1Y, as the standard's `bewaartermijn`."""
    from ..model import InvalidValue, check_duration
    try:
        return check_duration(value.strip())
    except InvalidValue:
        raise ConfigError(f"{option} must be an ISO 8601 duration such as P1Y") from None


def check_flag(value: str, *, option: str) -> bool:
    """`true`/`1`/`yes` or `false`/`0`/`no`/empty."""
    low = value.strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("", "false", "0", "no"):
        return False
    raise ConfigError(f"{option} must be true or false")


def dev_client() -> Client:
    """A throwaway client with every scope, for `serve --dev`."""
    return Client("dev-" + secrets.token_hex(4), secrets.token_urlsafe(32), ALL_SCOPES)


__all__ = [
    "API_VERSION", "BASE_PATH", "ConfigError", "Settings", "database_url", "check_base_url",
    "dev_client",
]
