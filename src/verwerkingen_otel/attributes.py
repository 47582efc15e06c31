"""The span attribute convention for verwerkingsacties, and the one mapping span ⇄ action.

Every field of a `Verwerkingsactie` is one attribute named `verwerkingen.<field>` (snake_case,
as in the model); `tijdstip` is kept as its ISO 8601 text so its offset survives, and the
objects travel as one JSON array in exactly their API form, because OpenTelemetry attributes
cannot hold nested values or missing entries. These spans live on the dedicated verwerkingen
TracerProvider only, so the BSNs inside never reach the application's own tracing backend.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any, Mapping

from opentelemetry.sdk.trace import ReadableSpan

from .model import Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie, format_tijdstip

__all__ = [
    "ACTIE_NAAM",
    "PREFIX",
    "SCALAR_ATTRIBUTES",
    "TIJDSTIP",
    "VERTROUWELIJKHEID",
    "VERWERKTE_OBJECTEN",
    "object_json",
    "objects_json",
    "span_to_verwerkingsactie",
    "verwerkingsactie_attributes",
]

PREFIX = "verwerkingen."

ACTIE_NAAM = "verwerkingen.actie_naam"
HANDELING_NAAM = "verwerkingen.handeling_naam"
VERWERKING_NAAM = "verwerkingen.verwerking_naam"
VERWERKING_ID = "verwerkingen.verwerking_id"
VERWERKINGSACTIVITEIT_ID = "verwerkingen.verwerkingsactiviteit_id"
VERWERKINGSACTIVITEIT_URL = "verwerkingen.verwerkingsactiviteit_url"
VERTROUWELIJKHEID = "verwerkingen.vertrouwelijkheid"
BEWAARTERMIJN = "verwerkingen.bewaartermijn"
UITVOERDER = "verwerkingen.uitvoerder"
SYSTEEM = "verwerkingen.systeem"
GEGEVENSBRON = "verwerkingen.gegevensbron"
GEBRUIKER = "verwerkingen.gebruiker"
SOORT_AFNEMER_ID = "verwerkingen.soort_afnemer_id"
AFNEMER_ID = "verwerkingen.afnemer_id"
VERWERKINGSACTIVITEIT_ID_AFNEMER = "verwerkingen.verwerkingsactiviteit_id_afnemer"
VERWERKINGSACTIVITEIT_URL_AFNEMER = "verwerkingen.verwerkingsactiviteit_url_afnemer"
VERWERKING_ID_AFNEMER = "verwerkingen.verwerking_id_afnemer"
TIJDSTIP = "verwerkingen.tijdstip"
"""ISO 8601 with offset, microseconds: the action's start (equal to the span's start time)."""
VERWERKTE_OBJECTEN = "verwerkingen.verwerkte_objecten"
"""JSON array of the objects in their POST-body form (plus `verwerktObjectId` when known)."""
ERROR_TYPE = "error.type"
"""Qualified name of the exception the wrapped code raised; never its message."""

SCALAR_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("actie_naam", ACTIE_NAAM),
    ("handeling_naam", HANDELING_NAAM),
    ("verwerking_naam", VERWERKING_NAAM),
    ("verwerking_id", VERWERKING_ID),
    ("verwerkingsactiviteit_id", VERWERKINGSACTIVITEIT_ID),
    ("verwerkingsactiviteit_url", VERWERKINGSACTIVITEIT_URL),
    ("bewaartermijn", BEWAARTERMIJN),
    ("uitvoerder", UITVOERDER),
    ("systeem", SYSTEEM),
    ("gegevensbron", GEGEVENSBRON),
    ("gebruiker", GEBRUIKER),
    ("soort_afnemer_id", SOORT_AFNEMER_ID),
    ("afnemer_id", AFNEMER_ID),
    ("verwerkingsactiviteit_id_afnemer", VERWERKINGSACTIVITEIT_ID_AFNEMER),
    ("verwerkingsactiviteit_url_afnemer", VERWERKINGSACTIVITEIT_URL_AFNEMER),
    ("verwerking_id_afnemer", VERWERKING_ID_AFNEMER),
)
"""(Verwerkingsactie field, attribute) for every optional text field."""

_VERTROUWELIJKHEID = {v.value: v for v in Vertrouwelijkheid}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def object_json(obj: VerwerktObject) -> str:
    """One object as compact JSON in its API form (with `verwerktObjectId` when known)."""
    body = obj.to_api()
    if obj.verwerkt_object_id is not None:
        body["verwerktObjectId"] = obj.verwerkt_object_id
    return _dumps(body)


def objects_json(parts: list[str] | tuple[str, ...]) -> str:
    """The VERWERKTE_OBJECTEN value from objects already rendered by `object_json`."""
    return "[" + ",".join(parts) + "]"


def verwerkingsactie_attributes(actie: Verwerkingsactie) -> dict[str, Any]:
    """The span attributes that carry `actie`; `span_to_verwerkingsactie` reads them back."""
    attributes: dict[str, Any] = {
        VERTROUWELIJKHEID: actie.vertrouwelijkheid.value,
        TIJDSTIP: format_tijdstip(actie.tijdstip),
    }
    for field_name, key in SCALAR_ATTRIBUTES:
        value = getattr(actie, field_name)
        if value is not None:
            attributes[key] = value
    attributes[VERWERKTE_OBJECTEN] = objects_json([object_json(o) for o in actie.verwerkte_objecten])
    return attributes


def attributes_to_verwerkingsactie(attributes: Mapping[str, Any]) -> Verwerkingsactie | None:
    """The inverse of `verwerkingsactie_attributes`; None when they carry no action or no objects.

    The values were validated when captured, so they are not checked a second time here.
    """
    vertrouwelijkheid = attributes.get(VERTROUWELIJKHEID)
    raw_objects = attributes.get(VERWERKTE_OBJECTEN)
    if vertrouwelijkheid is None or raw_objects is None or raw_objects == "[]":
        return None
    values = {field_name: attributes.get(key) for field_name, key in SCALAR_ATTRIBUTES}
    values["vertrouwelijkheid"] = _VERTROUWELIJKHEID[vertrouwelijkheid]
    values["tijdstip"] = dt.datetime.fromisoformat(attributes[TIJDSTIP])
    values["verwerkte_objecten"] = tuple([_object(o) for o in json.loads(raw_objects)])
    return _frozen(Verwerkingsactie, values)


def span_to_verwerkingsactie(span: ReadableSpan) -> Verwerkingsactie | None:
    """The action a finished span carries; None for other spans and for actions without objects
    (an action that processed nobody's data is not recorded)."""
    attributes = span.attributes
    if not attributes:
        return None
    # The SDK hands out a read-only proxy whose every lookup runs Python code; read the plain
    # dict underneath when there is one (same content), a copy otherwise.
    plain = getattr(getattr(span, "_attributes", None), "_dict", None)
    return attributes_to_verwerkingsactie(plain if isinstance(plain, dict) else dict(attributes))


def _object(body: dict[str, Any]) -> VerwerktObject:
    soorten = body.get("verwerkteSoortenGegevens")
    return _frozen(
        VerwerktObject,
        {
            "objecttype": body["objecttype"],
            "soort_object_id": body["soortObjectId"],
            "object_id": body["objectId"],
            "betrokkenheid": body.get("betrokkenheid"),
            "verwerkte_soorten_gegevens": tuple([_soort(s["soortGegeven"]) for s in soorten]) if soorten else (),
            "verwerkt_object_id": body.get("verwerktObjectId"),
        },
    )


_soorten: dict[str, VerwerktSoortGegeven] = {}


def _soort(name: str) -> VerwerktSoortGegeven:
    """Shared instances (they are immutable): few distinct kinds recur on every action."""
    soort = _soorten.get(name)
    if soort is None:
        soort = VerwerktSoortGegeven(name)
        if len(_soorten) < 4096:
            _soorten[name] = soort
    return soort


_FILLED_FIELDS = {
    Verwerkingsactie: {name for name, _ in SCALAR_ATTRIBUTES} | {"vertrouwelijkheid", "tijdstip", "verwerkte_objecten"},
    VerwerktObject: {
        "objecttype",
        "soort_object_id",
        "object_id",
        "betrokkenheid",
        "verwerkte_soorten_gegevens",
        "verwerkt_object_id",
    },
}


def _can_fill(cls: type) -> bool:
    return (
        dataclasses.is_dataclass(cls)
        and {f.name for f in dataclasses.fields(cls)} == _FILLED_FIELDS[cls]
        and not hasattr(cls, "__slots__")
        and not hasattr(cls, "__post_init__")
        and all(f.init for f in dataclasses.fields(cls))
    )


_FILLABLE = {cls: _can_fill(cls) for cls in (Verwerkingsactie, VerwerktObject)}


def _frozen(cls: type[Any], values: dict[str, Any]) -> Any:
    """`cls(**values)` for a frozen dataclass, filled directly when it is a plain one.

    This runs for every recorded action; the generated __init__ of a frozen dataclass goes
    through object.__setattr__ once per field, several times slower than one dict update.
    """
    if not _FILLABLE[cls]:
        return cls(**values)
    obj = object.__new__(cls)
    obj.__dict__.update(values)
    return obj
