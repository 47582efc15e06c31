"""The verwerkingsactie as the VNG standard defines it, and its POST body (`to_api`).

Frozen dataclasses; BSNs and user ids are kept out of reprs. `from_trusted` builds from values
that were validated before (capture's own), skipping the per-field checks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Callable

from ._checks import (
    IDENTIFICATOR_MAX,
    NAAM_MAX,
    check_datetime,
    check_duration,
    check_oin,
    check_text,
    check_uri,
    check_uuid,
    format_tijdstip,
)
from ._errors import InvalidValue

__all__ = [
    "API_KEYS",
    "READ_ONLY_KEYS",
    "REQUIRED_KEYS",
    "WRITABLE_KEYS",
    "Vertrouwelijkheid",
    "VerwerktObject",
    "VerwerktSoortGegeven",
    "Verwerkingsactie",
]


class Vertrouwelijkheid(str, Enum):
    """How confidential an action is; `opgeheven` means confidentiality was lifted later."""

    NORMAAL = "normaal"
    VERTROUWELIJK = "vertrouwelijk"
    OPGEHEVEN = "opgeheven"

    @classmethod
    def parse(cls, value: object) -> Vertrouwelijkheid:
        """Accept any case ([R] NOTES §1); anything else is an InvalidValue."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value.strip().lower())
            except ValueError:
                pass
        raise InvalidValue("choice", "must be one of normaal, vertrouwelijk, opgeheven")

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class VerwerktSoortGegeven:
    """A kind of data processed about an object, e.g. `Naam`."""

    soort_gegeven: str


@dataclass(frozen=True)
class VerwerktObject:
    """A person (or object) whose data an action processed."""

    objecttype: str
    soort_object_id: str
    object_id: str = field(repr=False)  # a BSN: kept out of reprs (tracebacks, debuggers, logs)
    betrokkenheid: str | None = None
    verwerkte_soorten_gegevens: tuple[VerwerktSoortGegeven, ...] = ()
    verwerkt_object_id: str | None = None  # set by the log; used by the server to match on PUT

    # from_trusted(values): build from validated values holding every field, skipping the frozen
    # __init__; set below the class (`_trusted`)

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "objecttype": self.objecttype,
            "soortObjectId": self.soort_object_id,
            "objectId": self.object_id,
        }
        if self.betrokkenheid is not None:
            body["betrokkenheid"] = self.betrokkenheid
        if self.verwerkte_soorten_gegevens:
            body["verwerkteSoortenGegevens"] = [
                {"soortGegeven": s.soort_gegeven} for s in self.verwerkte_soorten_gegevens
            ]
        return body


@dataclass(frozen=True)
class Verwerkingsactie:
    """One verwerkingsactie as a client records it (no fields the log sets)."""

    vertrouwelijkheid: Vertrouwelijkheid
    tijdstip: dt.datetime
    verwerkte_objecten: tuple[VerwerktObject, ...] = ()
    actie_naam: str | None = None
    handeling_naam: str | None = None
    verwerking_naam: str | None = None
    verwerking_id: str | None = None
    verwerkingsactiviteit_id: str | None = None
    verwerkingsactiviteit_url: str | None = None
    bewaartermijn: str | None = None
    uitvoerder: str | None = None
    systeem: str | None = None
    gegevensbron: str | None = None
    gebruiker: str | None = field(default=None, repr=False)  # may identify a person
    soort_afnemer_id: str | None = None
    afnemer_id: str | None = field(default=None, repr=False)  # a BSN when soortAfnemerId is BSN
    verwerkingsactiviteit_id_afnemer: str | None = None
    verwerkingsactiviteit_url_afnemer: str | None = None
    verwerking_id_afnemer: str | None = None

    def to_api(self) -> dict[str, Any]:
        """Exactly the POST /verwerkingsacties body: camelCase, unset fields left out."""
        values = self.__dict__  # a frozen dataclass without slots: read fields without getattr
        body: dict[str, Any] = {
            key: (value if type(value) is str else str(value)) if dump is None else dump(value)
            for key, attr, dump in _DUMPS
            if (value := values[attr]) is not None
        }
        body["verwerkteObjecten"] = [o.to_api() for o in self.verwerkte_objecten]
        return body

    def with_values(self, **changes: Any) -> Verwerkingsactie:
        return replace(self, **changes)

    # from_trusted(values): build from values that were validated before (capture's own), for the
    # request path. `values` must hold every field. The per-field checks and the frozen __init__
    # (one object.__setattr__ per field) are skipped. Set below the class (`_trusted`).


_FIELD_NAMES: dict[type, set[str]] = {
    cls: {f.name for f in dataclasses.fields(cls)} for cls in (VerwerktObject, Verwerkingsactie)
}
_FIELD_COUNTS: dict[type, int] = {cls: len(names) for cls, names in _FIELD_NAMES.items()}
_FILLABLE: dict[type, bool] = {
    cls: not hasattr(cls, "__slots__") and not hasattr(cls, "__post_init__") for cls in _FIELD_NAMES
}
"""Plain frozen dataclasses can be filled through __dict__; anything else goes through __init__."""


def _trusted(cls: type[Any]) -> Callable[[dict[str, Any]], Any]:
    """`cls.from_trusted`: one plain function per class (it runs per action on the request path)."""
    count = _FIELD_COUNTS[cls]
    new = object.__new__

    def from_trusted(values: dict[str, Any]) -> Any:
        if len(values) != count:  # a cheap guard against a field left out (a bug of ours)
            raise TypeError(f"{cls.__name__}.from_trusted needs every field, got {sorted(values)}")
        obj = new(cls)
        obj.__dict__.update(values)
        return obj

    def checked(values: dict[str, Any]) -> Any:
        if len(values) != count:
            raise TypeError(f"{cls.__name__}.from_trusted needs every field, got {sorted(values)}")
        return cls(**values)

    return from_trusted if _FILLABLE[cls] else checked


# a staticmethod, not a ClassVar annotation in the class: that would be one of __dataclass_fields__
VerwerktObject.from_trusted = staticmethod(_trusted(VerwerktObject))  # type: ignore[attr-defined]
Verwerkingsactie.from_trusted = staticmethod(_trusted(Verwerkingsactie))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Field:
    key: str
    attr: str
    check: Callable[[Any], Any]
    dump: Callable[[Any], Any] = str


def _text(max_length: int) -> Callable[[Any], str]:
    return lambda value: check_text(value, max_length)


_FIELDS: tuple[_Field, ...] = (
    _Field("actieNaam", "actie_naam", _text(NAAM_MAX)),
    _Field("handelingNaam", "handeling_naam", _text(NAAM_MAX)),
    _Field("verwerkingNaam", "verwerking_naam", _text(NAAM_MAX)),
    _Field("verwerkingId", "verwerking_id", check_uuid),
    _Field("verwerkingsactiviteitId", "verwerkingsactiviteit_id", check_uuid),
    _Field("verwerkingsactiviteitUrl", "verwerkingsactiviteit_url", check_uri),
    _Field("vertrouwelijkheid", "vertrouwelijkheid", Vertrouwelijkheid.parse, lambda v: v.value),
    _Field("bewaartermijn", "bewaartermijn", check_duration),
    _Field("uitvoerder", "uitvoerder", check_oin),
    _Field("systeem", "systeem", _text(NAAM_MAX)),
    _Field("gebruiker", "gebruiker", _text(IDENTIFICATOR_MAX)),
    _Field("gegevensbron", "gegevensbron", _text(NAAM_MAX)),
    _Field("soortAfnemerId", "soort_afnemer_id", _text(NAAM_MAX)),
    _Field("afnemerId", "afnemer_id", _text(IDENTIFICATOR_MAX)),  # checked again against its kind
    _Field("verwerkingsactiviteitIdAfnemer", "verwerkingsactiviteit_id_afnemer", check_uuid),
    _Field("verwerkingsactiviteitUrlAfnemer", "verwerkingsactiviteit_url_afnemer", check_uri),
    _Field("verwerkingIdAfnemer", "verwerking_id_afnemer", check_uuid),
    _Field("tijdstip", "tijdstip", check_datetime, format_tijdstip),
)
_DUMPS: tuple[tuple[str, str, Callable[[Any], Any] | None], ...] = tuple(
    (f.key, f.attr, None if f.dump is str else f.dump)
    for f in _FIELDS
)
"""(API key, attribute, serialiser or None for text stored as is), for a fast `to_api`."""
API_KEYS: dict[str, str] = {f.attr: f.key for f in _FIELDS} | {"verwerkte_objecten": "verwerkteObjecten"}
"""snake_case attribute → camelCase API key, for every writable field."""

WRITABLE_KEYS: frozenset[str] = frozenset(API_KEYS.values())
READ_ONLY_KEYS: frozenset[str] = frozenset({"url", "actieId", "tijdstipRegistratie"})
REQUIRED_KEYS: frozenset[str] = frozenset({"vertrouwelijkheid", "tijdstip", "verwerkteObjecten"})
