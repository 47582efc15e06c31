"""Bewaartermijn arithmetic: when does an action's retention end (tijdstip + ISO 8601 duration)?

Years and months are calendar steps (31 January + P1M = 28/29 February), the rest is exact
time. Fractions are allowed by the standard's format and spread over the smaller units.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone

from .records import instant_us

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<y>\d+(?:[.,]\d+)?)Y)?(?:(?P<mo>\d+(?:[.,]\d+)?)M)?(?:(?P<w>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<d>\d+(?:[.,]\d+)?)D)?(?:T(?!$)(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<mi>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$"
)
_FAR_FUTURE_US = instant_us(datetime(9999, 12, 31, tzinfo=timezone.utc))


def is_duration(text: str) -> bool:
    return bool(_DURATION.match(text))


def _num(value: str | None) -> float:
    return 0.0 if value is None else float(value.replace(",", "."))


def add_duration(start: datetime, duration: str, sign: int = 1) -> datetime | None:
    """`start` + `duration` (`sign` -1: minus); None when not a duration. Clamps at year 1 / 9999."""
    m = _DURATION.match(duration)
    if m is None:
        return None
    years, months = _num(m["y"]), _num(m["mo"])
    whole_months = sign * (int(years) * 12 + int(months))
    extra_days = (years - int(years)) * 365.2425 + (months - int(months)) * 30.436875
    try:
        year, month0 = divmod(start.month - 1 + whole_months, 12)
        year += start.year
        day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
        moved = start.replace(year=year, month=month0 + 1, day=day)
        return moved + sign * timedelta(weeks=_num(m["w"]), days=_num(m["d"]) + extra_days, hours=_num(m["h"]),
                                        minutes=_num(m["mi"]), seconds=_num(m["s"]))
    except (ValueError, OverflowError):
        return datetime(9999 if sign > 0 else 1, 12 if sign > 0 else 1, 31 if sign > 0 else 1, tzinfo=timezone.utc)


def expiry_us(start: datetime, bewaartermijn: object) -> int | None:
    """The instant (µs since epoch) the retention of an action ends; None without a bewaartermijn."""
    if not isinstance(bewaartermijn, str):
        return None
    end = add_duration(start, bewaartermijn)
    return None if end is None else min(instant_us(end), _FAR_FUTURE_US)


__all__ = ["add_duration", "expiry_us", "is_duration"]
