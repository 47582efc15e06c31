"""The parsers of the settings: a raw value (an argument, or an environment string) to the setting's
value, or InvalidValue naming the rule (never the value: it may be a secret). Also the two
checks other modules ask about a setting's value (`host_allowed`, `insecure_http`)."""

from __future__ import annotations

import importlib
import ipaddress
import os
import re
from typing import Any, Callable
from urllib.parse import urlsplit

from ..model import (
    InvalidValue,
    check_duration,
    check_oin,
    check_text,
)

__all__ = ["_function", "DURABILITIES", "host_allowed", "insecure_http", "_bool", "_bytes", "_count", "_durability", "_duration", "_host_patterns", "_http_url", "_name", "_names", "_oin", "_path", "_seconds", "_text", "_word"]

def _text(value: object) -> str | None:
    return check_text(value, 4096).strip() or None


def _name(value: object) -> str | None:
    if isinstance(value, str) and not value.strip():
        return None
    return check_text(value)


def _oin(value: object) -> str | None:
    if isinstance(value, str) and not value.strip():
        return None
    return check_oin(value.strip() if isinstance(value, str) else value)


def _duration(value: object) -> str | None:
    if isinstance(value, str) and not value.strip():
        return None
    return check_duration(value.strip() if isinstance(value, str) else value)


def _http_url(value: object) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", text):
        raise InvalidValue("invalid_url", "must be an absolute http or https URL")
    return text.rstrip("/")


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
    raise InvalidValue("invalid_bool", "must be true or false")


def _seconds(value: object) -> float:
    if isinstance(value, bool):
        raise InvalidValue("invalid_seconds", "must be a number of seconds")
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidValue("invalid_seconds", "must be a number of seconds") from None
    if not number >= 0 or number == float("inf"):
        raise InvalidValue("invalid_seconds", "must be a non-negative, finite number of seconds")
    return number


def _count(value: object) -> int:
    if isinstance(value, bool):
        raise InvalidValue("invalid_count", "must be a positive whole number")
    try:
        number = int(value.strip()) if isinstance(value, str) else int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidValue("invalid_count", "must be a positive whole number") from None
    if number < 1:
        raise InvalidValue("invalid_count", "must be a positive whole number")
    return number


_WORD = re.compile(r"^[a-z][a-z0-9_\-]*$")


def _word(value: object) -> str:
    if not isinstance(value, str) or not _WORD.match(value.strip().lower()):
        raise InvalidValue("invalid_name", "must be a name such as outbox or sync")
    return value.strip().lower()


def _names(value: object) -> tuple[str, ...]:
    """A comma list (env) or a sequence of names; `none` alone means no exporter."""
    if isinstance(value, str):
        items = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise InvalidValue("invalid", "must be a comma-separated list of names")
    names = tuple(dict.fromkeys(_word(item) for item in items))
    if "none" in names:
        if len(names) > 1:
            raise InvalidValue("invalid", "`none` cannot be combined with other exporters")
        return ()
    if not names:
        raise InvalidValue("required", "must name at least one exporter, or `none`")
    return names


def _bytes(value: object) -> int:
    """A size in bytes, 0 or more (0: buffer nothing)."""
    if isinstance(value, bool):
        raise InvalidValue("invalid_bytes", "must be a whole number of bytes (0 or more)")
    try:
        number = int(value.strip()) if isinstance(value, str) else int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidValue("invalid_bytes", "must be a whole number of bytes (0 or more)") from None
    if number < 0:
        raise InvalidValue("invalid_bytes", "must be a whole number of bytes (0 or more)")
    return number


_HOST_PATTERN = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^[0-9a-f:.]+$|^\*$")


def _host_patterns(value: object) -> tuple[str, ...] | None:
    """A comma list (env) or sequence of hosts: `brp.example.nl`, `*.brp.example.nl`, `10.0.0.5`, `*`."""
    if isinstance(value, str):
        items = [part.strip().lower() for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = [str(part).strip().lower() for part in value]
    else:
        raise InvalidValue("invalid", "must be a comma-separated list of host names")
    if not items:
        return None
    for item in items:
        if not _HOST_PATTERN.match(item):
            raise InvalidValue("invalid_host", "must be host names such as brp.example.nl or *.brp.example.nl")
    return tuple(dict.fromkeys(items))


def host_allowed(host: str, patterns: tuple[str, ...] | None) -> bool:
    """Unset: every host. `*.x.nl` matches every name under x.nl (not x.nl itself)."""
    if patterns is None:
        return True
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


def _path(value: object) -> str | None:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise InvalidValue("invalid", "must be a file path")
    return value.strip() or None


DURABILITIES = ("power-loss", "process-crash")


def _durability(value: object) -> str:
    word = value.strip().lower() if isinstance(value, str) else None
    if word not in DURABILITIES:
        raise InvalidValue("choice", "must be power-loss or process-crash")
    return word


def insecure_http(url: str) -> bool:
    """An `http://` URL whose host is not loopback (127.0.0.0/8, ::1, localhost)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").lower()
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def _function(value: object) -> Callable[..., Any] | None:
    """A callable, or "module:function" naming one (the environment's only way to give one)."""
    if callable(value):
        return value  # type: ignore[return-value]
    if isinstance(value, str) and not value.strip():
        return None
    if not isinstance(value, str) or ":" not in value:
        raise InvalidValue("invalid", "must be a function, or \"module:function\" naming one")
    module_name, _, attr = value.strip().partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attr, None)
    except ImportError:
        raise InvalidValue("invalid", "names a module that cannot be imported") from None
    if not callable(found):
        raise InvalidValue("invalid", "names no function of that module")
    return found  # type: ignore[no-any-return]
