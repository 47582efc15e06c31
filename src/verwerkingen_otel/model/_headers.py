"""The six VNG headers (NOTES §4): inbound values → `Afnemer`, current verwerking → outbound.

Inbound header values are claims from outside. Each is checked with the model's own rules; an
invalid one is dropped with a warning that names the header and the rule, never the value (it
may be anything, a BSN included). Values are length-capped before any check runs, so a huge
header costs nothing. Parsing never raises: a bad header must never fail the request.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields
from typing import Any, Callable, Iterable, Mapping, Protocol

from ._actie import Vertrouwelijkheid
from ._checks import URI_MAX, check_duration, check_oin, check_uri, check_uuid
from ._errors import InvalidValue

__all__ = [
    "Afnemer",
    "HEADER_NAMES",
    "scan_asgi_headers",
    "VerwerkingValues",
    "afnemer_from_environ",
    "afnemer_from_headers",
    "outbound_headers",
]

logger = logging.getLogger("verwerkingen_otel.model")


@dataclass(frozen=True)
class Afnemer:
    """The caller's side of a request: the six VNG headers, already validated (NOTES §4)."""

    oin: str | None = None
    verwerkingsactiviteit_id: str | None = None
    verwerkingsactiviteit_url: str | None = None
    verwerking_id: str | None = None
    vertrouwelijkheid: Vertrouwelijkheid | None = None
    bewaartermijn: str | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


OIN = "OIN"
VERWERKINGSACTIVITEIT_ID = "VerwerkingsactiviteitId"
VERWERKINGSACTIVITEIT_URL = "VerwerkingsactiviteitUrl"
VERWERKING_ID = "VerwerkingId"
VERTROUWELIJKHEID = "Vertrouwelijkheid"
BEWAARTERMIJN = "Bewaartermijn"

HEADER_NAMES: tuple[str, ...] = (
    OIN,
    VERWERKINGSACTIVITEIT_ID,
    VERWERKINGSACTIVITEIT_URL,
    VERWERKING_ID,
    VERTROUWELIJKHEID,
    BEWAARTERMIJN,
)
"""The header names as NOTES §4 spells them (matching is case-insensitive)."""

_BARE_YEARS = re.compile(r"^[0-9]{1,4}$")
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")  # header values we accept: visible ASCII and space
_DURATION_MAX = 64  # far above any sensible ISO 8601 duration


def _bewaartermijn(value: str) -> str:
    """[R] NOTES §4: a bare number of years in the header becomes `P{n}Y`."""
    if _BARE_YEARS.match(value):
        return f"P{int(value)}Y"
    return check_duration(value)


def _vertrouwelijkheid(value: str) -> Vertrouwelijkheid:
    return Vertrouwelijkheid.parse(value)


# header (lowercase) → (Afnemer field, longest value looked at, check)
_INBOUND: dict[str, tuple[str, int, Callable[[str], Any]]] = {
    "oin": ("oin", 20, check_oin),
    "verwerkingsactiviteitid": ("verwerkingsactiviteit_id", 36, check_uuid),
    "verwerkingsactiviteiturl": ("verwerkingsactiviteit_url", URI_MAX, check_uri),
    "verwerkingid": ("verwerking_id", 36, check_uuid),
    "vertrouwelijkheid": ("vertrouwelijkheid", 13, _vertrouwelijkheid),
    "bewaartermijn": ("bewaartermijn", _DURATION_MAX, _bewaartermijn),
}
_CANONICAL = {name.lower(): name for name in HEADER_NAMES}


def _text(raw: str | bytes) -> str:
    # ASGI gives bytes; latin-1 maps every byte, so decoding cannot fail.
    return raw.decode("latin-1") if isinstance(raw, (bytes, bytearray)) else str(raw)


def afnemer_from_headers(
    headers: Iterable[tuple[str | bytes, str | bytes]] | Mapping[str, str] | None,
) -> Afnemer | None:
    """The caller's Afnemer from inbound headers; None when no valid VNG header came in.

    `headers` is anything that yields (name, value) pairs: an ASGI scope's `headers` list of
    bytes, `httpx.Headers.items()`, a plain dict. A header sent twice with different values is
    ambiguous and dropped.
    """
    try:
        return _validate(_collect(headers))
    except Exception:  # noqa: BLE001 - never fail a request over a header; say nothing of values
        logger.warning("inbound verwerkingen headers ignored: unexpected error while parsing")
        return None


def afnemer_from_environ(environ: Mapping[str, Any]) -> Afnemer | None:
    """The caller's Afnemer from a WSGI environ (headers live there as HTTP_*)."""
    raw: dict[str, str | None] = {}
    for environ_key, key in _ENVIRON_KEYS:
        value = environ.get(environ_key)
        if value is not None:
            raw[key] = _text(value).strip()
    if not raw:
        return None
    try:
        return _validate(raw)
    except Exception:  # noqa: BLE001
        logger.warning("inbound verwerkingen headers ignored: unexpected error while parsing")
        return None


_BY_BYTES = {key.encode(): key for key in _INBOUND}
_W3C_BYTES = {b"traceparent": "traceparent", b"tracestate": "tracestate"}


def scan_asgi_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[Afnemer | None, dict[str, str] | None]:
    """One pass over an ASGI scope's headers (lowercase names, per the ASGI spec): the afnemer,
    and the W3C `traceparent`/`tracestate` pair for the middleware's own trace extraction."""
    raw: dict[str, str | None] = {}
    carrier: dict[str, str] | None = None
    try:
        for name, value in headers:
            key = _BY_BYTES.get(name)
            if key is not None:
                text = value.decode("latin-1").strip()
                raw[key] = None if key in raw and raw[key] != text else text
            elif name in _W3C_BYTES:
                if carrier is None:
                    carrier = {}
                key, text = _W3C_BYTES[name], value.decode("latin-1")
                if key in carrier:  # several tracestate lines are one list; two traceparents, none
                    text = carrier[key] + "," + text if key == "tracestate" else ""
                carrier[key] = text
        return (_validate(raw) if raw else None), carrier
    except Exception:  # noqa: BLE001 - never fail a request over a header; say nothing of values
        logger.warning("inbound verwerkingen headers ignored: unexpected error while parsing")
        return None, carrier
_ENVIRON_KEYS = tuple(("HTTP_" + key.upper(), key) for key in _INBOUND)


def _collect(headers: Iterable[tuple[str | bytes, str | bytes]] | Mapping[str, str] | None) -> dict[str, str | None]:
    """The VNG headers among `headers`, by lowercase name; None marks conflicting duplicates."""
    raw: dict[str, str | None] = {}
    if headers is None:
        return raw
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if isinstance(name, bytes):  # ASGI: names are lowercase bytes already
            key = _BY_BYTES.get(name) or _BY_BYTES.get(name.strip().lower())
        else:
            key = name.strip().lower()
        if key is None or key not in _INBOUND:
            continue
        text = _text(value).strip()
        if key in raw and raw[key] != text:
            raw[key] = None  # conflicting duplicates: dropped below
            continue
        raw[key] = text
    return raw


_cache: dict[tuple[tuple[str, str | None], ...], Afnemer] = {}
_CACHE_MAX = 512  # callers repeat their OIN and activity; verwerkingIds vary, so keep it small


def _validate(raw: dict[str, str | None]) -> Afnemer | None:
    if not raw:
        return None
    key = tuple(raw.items())
    cached = _cache.get(key)
    if cached is not None:
        return cached
    afnemer, all_valid = _check(raw)
    if all_valid and afnemer is not None:  # only clean results: a dropped value warns every time
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = afnemer
    return afnemer


def _check(raw: dict[str, str | None]) -> tuple[Afnemer | None, bool]:
    values: dict[str, Any] = {}
    for key, text in raw.items():
        field, cap, check = _INBOUND[key]
        if text is None:
            logger.warning("inbound header %s dropped: sent more than once with different values", _CANONICAL[key])
            continue
        if text == "":
            continue
        if len(text) > cap:
            logger.warning("inbound header %s dropped: longer than %d characters", _CANONICAL[key], cap)
            continue
        if not _PRINTABLE.match(text):
            logger.warning("inbound header %s dropped: must be printable ASCII", _CANONICAL[key])
            continue
        try:
            values[field] = check(text)
        except InvalidValue as exc:
            logger.warning("inbound header %s dropped: %s", _CANONICAL[key], exc.reason)
    all_valid = len(values) == len(raw)
    if not values:
        return None, all_valid
    return Afnemer(**values), all_valid


class VerwerkingValues(Protocol):
    """What the outbound side needs of the current verwerking (capture's current action)."""

    verwerking_id: str | None
    verwerkingsactiviteit_id: str | None
    verwerkingsactiviteit_url: str | None
    vertrouwelijkheid: Vertrouwelijkheid | str | None
    bewaartermijn: str | None


def outbound_headers(values: VerwerkingValues | None, oin: str | None = None) -> dict[str, str]:
    """The six headers to send for `values` (the current verwerking); empty outside one.

    Outside a verwerking no header is sent: NOTES §4 headers speak for a verwerking, and the
    own OIN alone says nothing about one.
    """
    if values is None:
        return {}
    out: dict[str, str] = {}
    if oin:
        out[OIN] = oin
    for header, attr in (
        (VERWERKINGSACTIVITEIT_ID, "verwerkingsactiviteit_id"),
        (VERWERKINGSACTIVITEIT_URL, "verwerkingsactiviteit_url"),
        (VERWERKING_ID, "verwerking_id"),
        (VERTROUWELIJKHEID, "vertrouwelijkheid"),
        (BEWAARTERMIJN, "bewaartermijn"),
    ):
        value = getattr(values, attr, None)
        if value is None or value == "":
            continue
        out[header] = value.value if isinstance(value, Vertrouwelijkheid) else str(value)
    return out

