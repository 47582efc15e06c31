"""The externally visible origin of a request, for `url`, `Location` and `next`/`previous`.

Behind a TLS-terminating proxy the server sees plain HTTP from the proxy; the links it returns
must still be the public `https://` ones. The proxy says so in `Forwarded` (RFC 7239) or
`X-Forwarded-Proto`/`X-Forwarded-Host`, but anyone can send those headers: they count only with
`--proxy-headers` and only from a peer in `--forwarded-allow-ips` (uvicorn's options, same
meaning). Otherwise links use the scheme and Host the request came in on, or `--base-url`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterable, Sequence

from .errors import ConfigError

_SCHEMES = ("http", "https")
# a host[:port] as it may appear in a URL: no userinfo, path, query, spaces or quotes
_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?$")


def check_allow_ips(values: Iterable[str], *, option: str = "--forwarded-allow-ips") -> tuple[str, ...]:
    """Addresses or networks (`10.0.0.0/8`), or `*` for any peer; a bad entry fails the start."""
    out = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        if value != "*":
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ConfigError(f"{option}: {value!r} is not an IP address or network") from None
        out.append(value)
    if not out:
        raise ConfigError(f"{option}: give at least one address, network or *")
    return tuple(out)


def _trusted(peer: str | None, allow: Sequence[str]) -> bool:
    if "*" in allow:
        return True
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return peer in allow  # e.g. a unix socket path given literally
    return any(address in ipaddress.ip_network(a, strict=False) for a in allow)


def _last(values: list[str]) -> str:
    """The element the proxy nearest to us added: earlier ones may come from the client."""
    return values[-1].split(",")[-1].strip() if values else ""


def _forwarded_pairs(values: list[str]) -> dict[str, str]:
    """The last element of `Forwarded` as {param: value} (lowercase params, quotes removed)."""
    pairs: dict[str, str] = {}
    for part in _last(values).split(";"):
        key, sep, value = part.partition("=")
        if sep:
            pairs[key.strip().lower()] = value.strip().strip('"')
    return pairs


def forwarded_origin(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """(scheme, host) the proxy reports; None for what it does not say or says wrongly."""
    by_name: dict[bytes, list[str]] = {}
    for name, value in headers:
        by_name.setdefault(name.lower(), []).append(value.decode("latin-1"))
    scheme = host = None
    if b"forwarded" in by_name:
        pairs = _forwarded_pairs(by_name[b"forwarded"])
        scheme, host = pairs.get("proto"), pairs.get("host")
    else:
        scheme = _last(by_name.get(b"x-forwarded-proto", [])) or None
        host = _last(by_name.get(b"x-forwarded-host", [])) or None
    scheme = scheme.lower() if scheme and scheme.lower() in _SCHEMES else None
    host = host if host and _HOST.match(host) else None
    return scheme, host


def external_origin(scope: dict, allow: Sequence[str] | None) -> tuple[str, str] | None:
    """(scheme, host[:port]) from trusted proxy headers, or None to use the request's own.

    `allow` None means proxy headers are off.
    """
    if allow is None:
        return None
    client = scope.get("client")
    if not _trusted(client[0] if client else None, allow):
        return None
    scheme, host = forwarded_origin(scope.get("headers", []))
    if scheme is None and host is None:
        return None
    return scheme or scope.get("scheme", "http"), host or ""


def refuse_slash_redirects(app: Any) -> None:
    """No 307 for a trailing slash: its `Location` is built from the caller's Host header and
    repeats the query string (a BSN) — an API answers a path it does not serve with a 404."""
    from starlette.routing import Mount, Router

    routers = [app.router]
    while routers:
        router = routers.pop()
        router.redirect_slashes = False
        routers.extend(r.app for r in router.routes if isinstance(r, Mount) and isinstance(r.app, Router))
