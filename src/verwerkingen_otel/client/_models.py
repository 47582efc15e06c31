"""What the log answers, as typed values: a recorded action, an Inzage result, a page.

Each `from_api` reads the log's JSON and turns anything that breaks the standard into an
`InvalidResponseError` that names the field, never its value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..model import ValidationError, VerwerktObject, Verwerkingsactie, check_datetime, parse_verwerkingsactie
from ._errors import InvalidResponseError

__all__ = ["InzageObject", "Page", "VastgelegdeActie"]

T = TypeVar("T")


@dataclass(frozen=True)
class VastgelegdeActie(Verwerkingsactie):
    """A verwerkingsactie as the log holds it: the recorded fields plus what the log set."""

    actie_id: str = ""
    url: str = ""
    tijdstip_registratie: dt.datetime | None = None
    object_urls: tuple[str | None, ...] = ()  # `url` of each verwerkt object, in order

    @classmethod
    def from_api(cls, body: object) -> VastgelegdeActie:
        if not isinstance(body, dict):
            raise InvalidResponseError("expected a verwerkingsactie object")
        try:
            actie = parse_verwerkingsactie(body)
        except ValidationError as exc:
            raise InvalidResponseError(f"verwerkingsactie from the log is invalid: {exc}") from None
        registratie = body.get("tijdstipRegistratie")
        try:
            tijdstip_registratie = check_datetime(registratie) if registratie else None
        except ValueError:
            raise InvalidResponseError("tijdstipRegistratie from the log is invalid") from None
        objecten = body.get("verwerkteObjecten") or []
        values = {name: getattr(actie, name) for name in Verwerkingsactie.__dataclass_fields__}
        return cls(
            **values,
            actie_id=str(body.get("actieId") or ""),
            url=str(body.get("url") or ""),
            tijdstip_registratie=tijdstip_registratie,
            object_urls=tuple(o.get("url") if isinstance(o, dict) else None for o in objecten),
        )


@dataclass(frozen=True)
class InzageObject:
    """One Inzage result: a verwerkt object of the asked person, with its action embedded."""

    verwerkt_object_id: str
    url: str
    object: VerwerktObject
    verwerkingsactie: VastgelegdeActie

    @classmethod
    def from_api(cls, body: object) -> InzageObject:
        if not isinstance(body, dict) or not isinstance(body.get("verwerkingsactie"), dict):
            raise InvalidResponseError("expected a verwerkt object with its verwerkingsactie")
        actie = VastgelegdeActie.from_api(
            {"verwerkteObjecten": [], **body["verwerkingsactie"]}
        )
        try:
            wrapper = parse_verwerkingsactie({
                "vertrouwelijkheid": "normaal",
                "tijdstip": "2000-01-01T00:00:00+00:00",
                "verwerkteObjecten": [{k: v for k, v in body.items() if k != "verwerkingsactie"}],
            })
        except ValidationError as exc:
            raise InvalidResponseError(f"verwerkt object from the log is invalid: {exc}") from None
        obj = wrapper.verwerkte_objecten[0]
        return cls(
            verwerkt_object_id=str(body.get("verwerktObjectId") or obj.verwerkt_object_id or ""),
            url=str(body.get("url") or ""),
            object=obj,
            verwerkingsactie=actie,
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its results, the total count and the next page's URL."""

    count: int
    results: list[T]
    next: str | None = None
    previous: str | None = None
