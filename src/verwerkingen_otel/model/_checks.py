"""Single-value rules of NOTES §1: text lengths, uuid, OIN, BSN, duration, URI, date-times.

Each check returns the value in its canonical form or raises InvalidValue naming the rule,
never the value (it may be a BSN).
"""

from __future__ import annotations

import datetime as dt
import re

from ._errors import InvalidValue

__all__ = [
    "IDENTIFICATOR_MAX",
    "NAAM_MAX",
    "URI_MAX",
    "check_afnemer_id",
    "check_bsn",
    "check_date",
    "check_datetime",
    "check_duration",
    "check_object_id",
    "check_oin",
    "check_text",
    "check_uri",
    "check_uuid",
    "format_tijdstip",
]

NAAM_MAX = 242
IDENTIFICATOR_MAX = 40
URI_MAX = 2042

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OIN_RE = re.compile(r"^[0-9]{20}$")
_BSN_RE = re.compile(r"^[0-9]{9}$")
_DURATION_RE = re.compile(
    r"^P(?!$)(?:(?P<y>\d+(?:[.,]\d+)?)Y)?(?:(?P<mo>\d+(?:[.,]\d+)?)M)?(?:(?P<w>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<d>\d+(?:[.,]\d+)?)D)?(?:T(?!$)(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<mi>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$"
)
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")


def _require_str(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue("invalid", "must be a string")
    return value


def check_text(value: object, max_length: int = NAAM_MAX) -> str:
    """A string of at most `max_length` characters."""
    text = _require_str(value)
    if len(text) > max_length:
        raise InvalidValue("max_length", f"must be at most {max_length} characters")
    return text


def check_uuid(value: object) -> str:
    """A UUID in its canonical hyphenated form; returned lowercase."""
    text = _require_str(value)
    if not _UUID_RE.match(text):
        raise InvalidValue("invalid_uuid", "must be a UUID")
    return text.lower()


def check_oin(value: object) -> str:
    """An OIN: exactly 20 digits ([R] the YAML pattern lacks anchors)."""
    text = _require_str(value)
    if not _OIN_RE.match(text):
        raise InvalidValue("invalid_oin", "must be an OIN of exactly 20 digits")
    return text


def check_bsn(value: object) -> str:
    """A BSN: 9 digits passing the 11-test. An int is zero-padded to 9 digits."""
    if type(value) is not str:
        if isinstance(value, bool):
            raise InvalidValue("invalid_bsn", "must be a BSN of 9 digits")
        if isinstance(value, int):
            if not 0 <= value <= 999_999_999:
                raise InvalidValue("invalid_bsn", "must be a BSN of 9 digits")
            value = f"{value:09d}"
        text = _require_str(value)
    else:
        text = value
    if len(text) != 9 or not text.isascii() or not text.isdigit():
        raise InvalidValue("invalid_bsn", "must be a BSN of 9 digits")
    d = text.encode("ascii")  # the 11-test on the digits' code points: sum of weights is 43, so 43 * ord("0")
    if (9 * d[0] + 8 * d[1] + 7 * d[2] + 6 * d[3] + 5 * d[4] + 4 * d[5] + 3 * d[6] + 2 * d[7] - d[8] - 2064) % 11:
        raise InvalidValue("invalid_bsn", "must pass the BSN 11-test")
    if not text.strip("0"):  # all zeros passes the sum, but is no BSN
        raise InvalidValue("invalid_bsn", "must pass the BSN 11-test")
    return text


def check_duration(value: object) -> str:
    """An ISO 8601 duration such as P10Y or P1Y6M ([R] a bare number is rejected)."""
    text = _require_str(value)
    if not _DURATION_RE.match(text):
        raise InvalidValue("invalid_duration", "must be an ISO 8601 duration such as P10Y")
    return text


def check_uri(value: object, max_length: int = URI_MAX) -> str:
    """An absolute URI of at most `max_length` characters."""
    text = check_text(value, max_length)
    if not _URI_RE.match(text):
        raise InvalidValue("invalid_uri", "must be an absolute URI")
    return text


_LOOSE_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})[.,](\d+)([+-]\d{2}):?(\d{2})$|"
    r"^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(?::\d{2})?)([+-]\d{2})(\d{2})$"
)


def _fromisoformat(text: str) -> dt.datetime:
    """`datetime.fromisoformat`, also on Python 3.10 for the RFC 3339 forms it rejects there:
    a fraction of other than 3 or 6 digits (or after a comma) and an offset without a colon.
    Python 3.11 accepts these itself; the result is the same on both."""
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        match = _LOOSE_DATETIME.match(text)
        if match is None:
            raise
        whole, fraction, hours, minutes, short, short_hours, short_minutes = match.groups()
        if whole is not None:
            return dt.datetime.fromisoformat(f"{whole}.{fraction[:6].ljust(6, '0')}{hours}:{minutes}")
        return dt.datetime.fromisoformat(f"{short}{short_hours}:{short_minutes}")


def check_datetime(value: object) -> dt.datetime:
    """An ISO 8601 date-time that carries an offset (`Z` or `+01:00`); returned aware."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = _require_str(value).strip()
        if len(text) < 16 or "T" not in text.upper():
            raise InvalidValue("invalid_datetime", "must be an ISO 8601 date-time with offset")
        try:
            moment = _fromisoformat(text[:-1] + "+00:00" if text[-1] in "zZ" else text)
        except ValueError:
            raise InvalidValue("invalid_datetime", "must be an ISO 8601 date-time with offset") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidValue("no_offset", "must carry a time-zone offset")
    return moment


def check_date(value: object) -> dt.date:
    """A calendar date, YYYY-MM-DD."""
    text = _require_str(value)
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        raise InvalidValue("invalid_date", "must be a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidValue("invalid_date", "must be a date YYYY-MM-DD") from None


def format_tijdstip(moment: dt.datetime) -> str:
    """ISO 8601 with offset and at most microsecond precision (`Z` for UTC is not used)."""
    return moment.isoformat(timespec="microseconds")


def check_object_id(soort_object_id: str, value: object) -> str:
    """An objectId: an identificator, and a valid BSN when soortObjectId is BSN."""
    if soort_object_id.upper() == "BSN":
        return check_bsn(value)
    return check_text(value, IDENTIFICATOR_MAX)


def check_afnemer_id(soort_afnemer_id: str | None, value: object) -> str:
    """[R] afnemerId is validated by soortAfnemerId: OIN → 20 digits, BSN → 9 digits."""
    text = check_text(value, IDENTIFICATOR_MAX)
    kind = (soort_afnemer_id or "").upper()
    if kind == "OIN":
        return check_oin(text)
    if kind == "BSN" and not _BSN_RE.match(text):
        raise InvalidValue("invalid_bsn", "must be a BSN of 9 digits")
    return text
