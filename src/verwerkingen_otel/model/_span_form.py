"""The span attribute convention for verwerkingsacties, and the one mapping span ⇄ action.

Every field of a `Verwerkingsactie` is one attribute named `verwerkingen.<field>` (snake_case,
as in the model); `tijdstip` is kept as its ISO 8601 text so its offset survives, and the
objects travel as one JSON array in exactly their API form, because OpenTelemetry attributes
cannot hold nested values or missing entries. These spans live on the dedicated verwerkingen
TracerProvider only, so the BSNs inside never reach the application's own tracing backend.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Mapping, Protocol

from ._actie import Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie
from ._checks import check_datetime, format_tijdstip

__all__ = [
    "ACTIE_NAAM",
    "AFNEMER_ID",
    "BEWAARTERMIJN",
    "ERROR_TYPE",
    "GEBRUIKER",
    "GEGEVENSBRON",
    "HANDELING_NAAM",
    "HTTP_ROUTE",
    "PREFIX",
    "SCALAR_ATTRIBUTES",
    "SOORT_AFNEMER_ID",
    "SYSTEEM",
    "TIJDSTIP",
    "UITVOERDER",
    "VERTROUWELIJKHEID",
    "VERWERKINGSACTIVITEIT_ID",
    "VERWERKINGSACTIVITEIT_ID_AFNEMER",
    "VERWERKINGSACTIVITEIT_URL",
    "VERWERKINGSACTIVITEIT_URL_AFNEMER",
    "VERWERKING_ID",
    "VERWERKING_ID_AFNEMER",
    "VERWERKING_NAAM",
    "VERWERKTE_OBJECTEN",
    "_VERTROUWELIJKHEID",
    "attributes_to_verwerkingsactie",
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
HTTP_ROUTE = "http.route"
"""The route template of the request the action was recorded in (a span attribute only: the API has no field)."""
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


class _HasAttributes(Protocol):
    @property
    def attributes(self) -> Mapping[str, Any] | None: ...


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

    For spans that other code creates (the VerwerkingenlogExporter in a team's own pipeline):
    the values are taken as they are, so a body the log would refuse is refused there and
    dead-lettered with the log's reason, never dropped here.
    """
    vertrouwelijkheid = attributes.get(VERTROUWELIJKHEID)
    raw_objects = attributes.get(VERWERKTE_OBJECTEN)
    if vertrouwelijkheid is None or raw_objects is None or raw_objects == "[]":
        return None
    objects = json.loads(raw_objects)
    enum = _VERTROUWELIJKHEID.get(vertrouwelijkheid) or Vertrouwelijkheid.parse(vertrouwelijkheid)
    get = attributes.get
    values = {field_name: get(key) for field_name, key in SCALAR_ATTRIBUTES}
    values["vertrouwelijkheid"] = enum
    values["tijdstip"] = _tijdstip(attributes[TIJDSTIP])
    values["verwerkte_objecten"] = tuple([_object(o) for o in objects])
    return Verwerkingsactie.from_trusted(values)


def _tijdstip(text: str) -> dt.datetime:
    """Our own form (32 characters) reads fast; any other spelling (`Z`, short fractions — which
    Python 3.10's fromisoformat refuses) through the model's own check."""
    return dt.datetime.fromisoformat(text) if len(text) == 32 else check_datetime(text)


def span_to_verwerkingsactie(span: _HasAttributes) -> Verwerkingsactie | None:
    """The action a finished span carries (read through its public `attributes`); None for
    other spans and for actions without objects (an action that processed nobody's data is
    not recorded)."""
    attributes = span.attributes
    if not attributes:
        return None
    return attributes_to_verwerkingsactie(attributes)


def _object(body: dict[str, Any]) -> VerwerktObject:
    soorten = body.get("verwerkteSoortenGegevens")
    return VerwerktObject.from_trusted(
        {
            "objecttype": body["objecttype"],
            "soort_object_id": body["soortObjectId"],
            "object_id": body["objectId"],
            "betrokkenheid": body.get("betrokkenheid"),
            "verwerkte_soorten_gegevens": tuple([_soort(s["soortGegeven"]) for s in soorten]) if soorten else (),
            "verwerkt_object_id": body.get("verwerktObjectId"),
        }
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
