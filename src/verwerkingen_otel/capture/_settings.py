"""Settings: from `configure(**overrides)` arguments and VERWERKINGEN_* environment variables.

One table lists every setting, its environment variable and its parser, so that a mistake is
reported at start-up naming the setting exactly as the caller wrote it (`api_url` for an
argument, `VERWERKINGEN_API_URL` for the environment). An argument beats the environment.
Messages never echo a value: a value may be a secret or a BSN.
"""

from __future__ import annotations

import difflib
import logging
import os
import uuid
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping

from ..model import (
    InvalidValue,
    Vertrouwelijkheid,
    check_duration,
    check_text,
    check_uri,
    check_uuid,
)
from ._errors import ConfigurationError
from ._setting_values import (
    _function,
    insecure_http,
    _bool,
    _bytes,
    _count,
    _durability,
    _duration,
    _host_patterns,
    _http_url,
    _name,
    _names,
    _oin,
    _path,
    _seconds,
    _text,
    _word,
)

__all__ = ["ENV_PREFIX", "SETTINGS", "Settings", "check_annotation", "load_settings", "name_in"]

logger = logging.getLogger("verwerkingen_otel.capture")

ENV_PREFIX = "VERWERKINGEN_"


@dataclass(frozen=True)
class _Setting:
    name: str
    parse: Callable[[Any], Any]
    default: Any = None

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


_SETTINGS: tuple[_Setting, ...] = (
    _Setting("api_url", _http_url),
    _Setting("client_id", _text),
    _Setting("secret", _text),
    _Setting("token", _text),
    _Setting("outbox", _path),
    _Setting("outbox_durability", _durability, "power-loss"),
    _Setting("delivery", _word, "outbox"),
    _Setting("exporters", _names),  # None: `api` when api_url is set, else `console`
    _Setting("systeem", _name),
    _Setting("gegevensbron", _name),
    _Setting("uitvoerder", _oin),
    _Setting("oin", _oin),
    _Setting("rules", _path),
    _Setting("register", _path),  # a register file, or the base URL of a VAR API
    _Setting("strict", _bool, False),
    _Setting("bewaartermijn", _duration),
    _Setting("console_file", _path),
    _Setting("retry_after_max", _seconds, 60.0),
    # delivery (outbox / memory / api exporter): timeouts in seconds, TLS files, worker size
    _Setting("timeout", _seconds, 10.0),
    _Setting("ca_bundle", _path),
    _Setting("client_cert", _path),
    _Setting("client_key", _path),
    _Setting("concurrency", _count, 4),
    _Setting("memory_queue", _count, 10_000),
    # the ldv exporter (Logboek Dataverwerkingen): pseudonymisation key, its id, OIN -> processor map
    _Setting("ldv_key_file", _path),
    _Setting("ldv_key_id", _text),
    _Setting("ldv_processors", _path),
    # hardening (issue 11): TLS by default, the body a rule buffers, where the six headers go
    _Setting("allow_insecure_http", _bool, False),
    _Setting("max_body", _bytes, 1024 * 1024),
    _Setting("propagate_to", _host_patterns),
    # several logs, several organisations (docs/destinations.md)
    _Setting("destinations", _path),
    _Setting("tenants", _path),
    _Setting("tenant", _function),
)
_BY_NAME = {s.name: s for s in _SETTINGS}
SETTINGS: tuple[tuple[str, str, Any], ...] = tuple((s.name, s.env, s.default) for s in _SETTINGS)
"""Every setting as (name, environment variable, default): for docs, checks and tools."""


@dataclass(frozen=True)
class Settings:
    """Every setting, resolved. `source(name)` says how the caller spelled it (for errors)."""

    api_url: str | None = None
    client_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    outbox: str | None = None
    outbox_durability: str = "power-loss"
    delivery: str = "outbox"
    exporters: tuple[str, ...] = ("console",)
    systeem: str | None = None
    gegevensbron: str | None = None
    uitvoerder: str | None = None
    oin: str | None = None
    rules: str | None = None
    register: str | None = None
    strict: bool = False
    bewaartermijn: str | None = None
    console_file: str | None = None
    retry_after_max: float = 60.0
    timeout: float = 10.0
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    concurrency: int = 4
    memory_queue: int = 10_000
    ldv_key_file: str | None = None
    ldv_key_id: str | None = None
    ldv_processors: str | None = None
    allow_insecure_http: bool = False
    max_body: int = 1024 * 1024
    propagate_to: tuple[str, ...] | None = None
    destinations: str | None = None
    tenants: str | None = None
    tenant: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    sources: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def source(self, name: str) -> str:
        """`api_url` when it came from an argument, `VERWERKINGEN_API_URL` otherwise."""
        return self.sources.get(name, _BY_NAME[name].env if name in _BY_NAME else name)

    def error(self, name: str, reason: str) -> ConfigurationError:
        return ConfigurationError(self.source(name), reason)

    def missing(self, name: str, because_of: str, reason: str) -> ConfigurationError:
        """An error about unset `name`, spelled the way the caller spelled `because_of`."""
        spelled = name if self.sources.get(because_of) == because_of else _BY_NAME[name].env
        return ConfigurationError(spelled, reason)


assert {s.name for s in _SETTINGS} == {f.name for f in fields(Settings)} - {"sources"}


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve every setting: argument, else VERWERKINGEN_* variable, else the default."""
    overrides = dict(overrides or {})
    environ = os.environ if environ is None else environ
    for name in overrides:
        if name not in _BY_NAME:
            raise ConfigurationError(name, "unknown setting")
    _warn_unknown_env(environ)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in _SETTINGS:
        if name_in(overrides, spec.name):
            raw, source = overrides[spec.name], spec.name
        elif spec.env in environ:
            raw, source = environ[spec.env], spec.env
        else:
            values[spec.name] = spec.default
            continue
        sources[spec.name] = source
        try:
            values[spec.name] = spec.parse(raw)
        except InvalidValue as exc:
            raise ConfigurationError(source, exc.reason) from None
    if values["exporters"] is None:  # with a destinations file its logs are the exporters
        values["exporters"] = ("api",) if values["api_url"] else () if values["destinations"] else ("console",)
    settings = Settings(**values, sources=sources)
    _check_together(settings)
    return settings


def name_in(overrides: Mapping[str, Any], name: str) -> bool:
    """An argument counts when given and not None (None leaves the setting to the environment)."""
    return overrides.get(name) is not None


def _check_together(s: Settings) -> None:
    if s.token is not None and s.client_id is not None:  # first: asking for a secret would mislead
        raise s.error("token", f"cannot be combined with {s.source('client_id')}: use one or the other")
    if (s.client_id is None) != (s.secret is None):
        missing = "secret" if s.secret is None else "client_id"
        present = "client_id" if missing == "secret" else "secret"
        raise s.missing(missing, present, f"is required when {s.source(present)} is set")
    if s.destinations is not None:
        if s.api_url is not None:
            raise s.error("api_url", f"cannot be combined with {s.source('destinations')}: name the log as a "
                          "destination in that file")
        if "api" in s.exporters:
            raise s.error("exporters", f"`api` is given per destination in {s.source('destinations')} "
                          "(its `exporters` key)")
    if "api" in s.exporters and s.api_url is None:
        raise s.missing("api_url", "exporters", f"is required by the api exporter ({s.source('exporters')})")
    if "ldv" in s.exporters and s.ldv_key_file is None:
        raise s.missing("ldv_key_file", "exporters", f"is required by the ldv exporter ({s.source('exporters')})")
    if s.api_url is not None and not s.allow_insecure_http and insecure_http(s.api_url):
        raise s.error("api_url", "is http:// to a host that is not loopback: the token and every BSN would "
                                 "cross the network unencrypted; use https://, or set "
                                 "VERWERKINGEN_ALLOW_INSECURE_HTTP=true")


_NOT_OURS = (ENV_PREFIX + "TEST_", ENV_PREFIX + "SERVER_")
"""Prefixes of variables that belong to the test suite and to the log server (server/settings.py)."""


def _warn_unknown_env(environ: Mapping[str, str]) -> None:
    known = {s.env for s in _SETTINGS}
    for key in environ:
        if key.startswith(ENV_PREFIX) and key not in known and not key.startswith(_NOT_OURS):
            n = len(ENV_PREFIX)  # compared without the prefix they all share
            close = difflib.get_close_matches(key[n:], sorted(k[n:] for k in known), n=1, cutoff=0.8)
            logger.warning("%s is not a verwerkingen-otel setting and is ignored%s", key,
                           f"; did you mean {ENV_PREFIX}{close[0]}?" if close else "")


# --- annotation arguments (decorators and verwerking(...)) -------------------------------------


def check_annotation(name: str, value: Any) -> Any:
    """Validate one annotation argument at decoration time; None stays unset.

    A new action is never created `opgeheven`, so that value is refused here.
    """
    if value is None:
        return None
    if name == "actie_naam" and callable(value):  # `@vo.verwerkingsactie` written without its call
        raise ConfigurationError(name, "verwerkingsactie takes its arguments first: write "
                                       "@verwerkingsactie(\"Raadplegen persoon\", …), with parentheses, "
                                       f"above {getattr(value, '__qualname__', 'the function')}")
    try:
        if name in ("verwerking_id", "verwerkingsactiviteit_id"):
            return check_uuid(str(value) if isinstance(value, uuid.UUID) else value)
        if name == "vertrouwelijkheid":
            parsed = Vertrouwelijkheid.parse(value)
            if parsed is Vertrouwelijkheid.OPGEHEVEN:
                raise InvalidValue("choice", "a new action is never created opgeheven; use normaal or vertrouwelijk")
            return parsed
        if name == "bewaartermijn":
            return check_duration(value)
        if name == "verwerkingsactiviteit_url":
            return check_uri(value)
        return check_text(value) or None  # an empty name is no name: unset, like an empty env var
    except InvalidValue as exc:
        raise ConfigurationError(name, exc.reason) from None

