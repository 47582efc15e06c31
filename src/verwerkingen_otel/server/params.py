"""Query-string validation: every value checked, every failure a 400 with invalidParams.

Values are only ever bound as SQL parameters; this module makes sure they are also sane
(no NUL, bounded lengths, real dates and uuids) so that no query value can cause a 500.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from starlette.requests import Request

from ..model import InvalidValue, Vertrouwelijkheid, check_date, check_uuid
from .errors import InvalidParam
from .records import PersonFilter

T = TypeVar("T")


class Query:
    """Collects errors while reading parameters, so one 400 lists them all."""

    def __init__(self, request: Request) -> None:
        self.values: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            self.values.setdefault(key, []).append(value)
        self.errors: list[InvalidParam] = []

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def one(self, name: str, check: Callable[[str], T], *, required: bool = False) -> T | None:
        values = self.values.get(name)
        if not values:
            if required:
                self.errors.append(InvalidParam(name, "required", "is verplicht"))
            return None
        if len(values) > 1:
            self.errors.append(InvalidParam(name, "duplicate", "mag maar één keer voorkomen"))
            return None
        raw = values[0]
        if "\x00" in raw:
            self.errors.append(InvalidParam(name, "invalid_characters", "bevat een NUL-teken"))
            return None
        try:
            return check(raw)
        except InvalidValue as e:
            self.errors.append(InvalidParam(name, e.code, e.reason))
            return None


def _text(max_length: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not value.strip():
            raise InvalidValue("blank", "mag niet leeg zijn")
        if len(value) > max_length:
            raise InvalidValue("max_length", f"mag hoogstens {max_length} tekens zijn")
        return value
    return check


def _objecttype(value: str) -> str:
    if value.lower() != "persoon":
        raise InvalidValue("choice", "moet persoon zijn")
    return "persoon"


def person_filter(q: Query, *, dates_required: bool) -> PersonFilter | None:
    """The person and window of a list query; None when something is invalid (see q.errors)."""
    objecttype = q.one("objecttype", _objecttype, required=True)
    soort = q.one("soortObjectId", _text(242), required=True)
    object_id = q.one("objectId", _text(40), required=True)
    begin = q.one("beginDatum", check_date, required=dates_required)
    eind = q.one("eindDatum", check_date, required=dates_required)
    activiteit = q.one("verwerkingsactiviteitId", check_uuid)
    if begin is not None and eind is not None and eind < begin:
        q.errors.append(InvalidParam("eindDatum", "invalid_range", "mag niet voor beginDatum liggen"))
    if q.errors or objecttype is None or soort is None or object_id is None:
        return None
    return PersonFilter(objecttype, soort, object_id, begin, eind, activiteit)


def vertrouwelijkheid_filter(q: Query) -> frozenset[str] | None:
    """[R] `vertrouwelijkheid` repeated, as a comma list, or as `vertrouwelijkheid__in`: OR'ed."""
    raw = q.all("vertrouwelijkheid") + q.all("vertrouwelijkheid__in")
    if not raw:
        return None
    levels: set[str] = set()
    for value in raw:
        for part in value.split(","):
            try:
                levels.add(Vertrouwelijkheid.parse(part).value)
            except InvalidValue as e:
                q.errors.append(InvalidParam("vertrouwelijkheid", e.code, e.reason))
                return None
    return frozenset(levels)
