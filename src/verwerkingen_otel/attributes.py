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
import json.scanner
from typing import Any, Callable, Mapping

from opentelemetry.sdk.trace import ReadableSpan

from .model import (
    API_KEYS,
    Vertrouwelijkheid,
    VerwerktObject,
    VerwerktSoortGegeven,
    Verwerkingsactie,
    check_datetime,
    format_tijdstip,
)

__all__ = [
    "ACTIE_NAAM",
    "PREFIX",
    "SCALAR_ATTRIBUTES",
    "TIJDSTIP",
    "VERTROUWELIJKHEID",
    "VERWERKTE_OBJECTEN",
    "body_plan",
    "hand_over",
    "object_json",
    "objects_json",
    "register_bsn_object_form",
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
_ATTRIBUTE_OF = dict(SCALAR_ATTRIBUTES) | {"vertrouwelijkheid": VERTROUWELIJKHEID, "tijdstip": TIJDSTIP}
_API_ORDER: tuple[tuple[str, str], ...] = tuple(
    (_ATTRIBUTE_OF[field_name], api_key) for field_name, api_key in API_KEYS.items() if field_name in _ATTRIBUTE_OF
)
"""(attribute, API key) in the order `Verwerkingsactie.to_api` writes them."""
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def _load_json(text: str) -> Any:
    """json.loads for the compact JSON this module wrote itself (no surrounding whitespace)."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        end = -1
    return value if end == len(text) else json.loads(text)


_object_id_at = '"objectId":"'
_BSN_FORMS: dict[tuple[str, str], Callable[[str], dict[str, Any]]] = {}


def register_bsn_object_form(
    opening: str, closing: str, objecttype: str, soort_object_id: str, betrokkenheid: str | None,
    soorten: tuple[str, ...],
) -> None:
    """Declare that `opening + bsn + closing` is the JSON of this object with objectId `bsn`.

    objects.py renders each person from such a template; an action with one person is then
    read back by rebuilding the object from the template instead of parsing its JSON (about a
    quarter of the cost, and the constant keys and values are shared, not allocated per call).
    """
    if len(_BSN_FORMS) >= 4096 or (opening, closing) in _BSN_FORMS:
        return
    static = {"objecttype": objecttype, "soortObjectId": soort_object_id}

    def build(bsn: str) -> dict[str, Any]:
        obj = static.copy()
        obj["objectId"] = bsn
        if betrokkenheid is not None:
            obj["betrokkenheid"] = betrokkenheid
        if soorten:
            obj["verwerkteSoortenGegevens"] = [{"soortGegeven": s} for s in soorten]
        return obj

    _BSN_FORMS[(opening, closing)] = build


def _load_objects(text: str) -> list[dict[str, Any]]:
    """The VERWERKTE_OBJECTEN value parsed: fresh dicts equal to `json.loads(text)`.

    One person rendered from a registered template (`[` opening, nine ASCII digits, closing
    `]`, matched exactly) is rebuilt from that template; anything else is parsed.
    """
    at = text.find(_object_id_at)
    if at > 0:
        start = at + 12
        end = start + 9
        build = _BSN_FORMS.get((text[1:start], text[end:-1]))
        if build is not None and text[0] == "[" and text[-1] == "]":
            bsn = text[start:end]
            if bsn.isascii() and bsn.isdigit():
                return [build(bsn)]
    return _load_json(text)  # type: ignore[no-any-return]


def object_json(obj: VerwerktObject) -> str:
    """One object as compact JSON in its API form (with `verwerktObjectId` when known)."""
    body = obj.to_api()
    if obj.verwerkt_object_id is not None:
        body["verwerktObjectId"] = obj.verwerkt_object_id
    return _dumps(body)


def objects_json(parts: list[str] | tuple[str, ...]) -> str:
    """The VERWERKTE_OBJECTEN value from objects already rendered by `object_json`."""
    return "[" + ",".join(parts) + "]"


# --- the hand-over: the body capture prepared, used only while the span still says the same ----

_handover_key = "_verwerkingen_handover"  # lowercase: not one of the attribute-name constants
_BEFORE_ID = frozenset({ACTIE_NAAM, HANDELING_NAAM, VERWERKING_NAAM})
_PER_CALL = frozenset({VERWERKING_ID, VERWERKING_NAAM, TIJDSTIP})
BodyPlan = tuple[dict[str, str], dict[str, str]]


def body_plan(base: Mapping[str, str]) -> BodyPlan:
    """The constant part of the POST body of every action made from `base`, in API order.

    `base` holds the attributes a decorated function's actions share (annotation, settings);
    the plan is the body keys before `verwerkingId` and those after it up to `tijdstip`. Valid
    for an action whose only other attributes are verwerking_id, verwerking_naam and tijdstip.
    """
    prefix: dict[str, str] = {}
    suffix: dict[str, str] = {}
    for key, api_key in _API_ORDER:
        value = base.get(key)
        if value is not None and key not in _PER_CALL:
            (prefix if key in _BEFORE_ID else suffix)[api_key] = value
    if VERWERKING_NAAM in base:
        prefix["verwerkingNaam"] = base[VERWERKING_NAAM]
    return prefix, suffix


def hand_over(span: Any, written: dict[str, Any], plan: BodyPlan) -> None:
    """Attach to an unended span the body its attributes `written` map to (objects aside).

    `written` must be every attribute capture put on the span and must carry no other
    verwerkingen field than `plan` covers. The processor uses the body only if the span's
    attributes still equal `written` when it ends (`span_to_verwerkingsactie`).
    """
    prefix, suffix = plan
    body = prefix.copy()
    naam = written.get(VERWERKING_NAAM)
    if naam is not None:  # the last key of the prefix: set here it keeps the API order
        body["verwerkingNaam"] = naam
    body["verwerkingId"] = written[VERWERKING_ID]
    body.update(suffix)
    body["tijdstip"] = written[TIJDSTIP]
    try:  # on the attributes object: the SDK hands processors a ReadableSpan sharing it
        span._attributes.__dict__[_handover_key] = (written, body)
    except AttributeError:  # another span or attributes class: the processor maps the attributes
        pass


def _take_handover(span: Any, attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """The handed-over body, once; None when there is none or the span's attributes changed since."""
    try:
        handover = span._attributes.__dict__.pop(_handover_key, None)
    except AttributeError:
        return None
    if handover is None or handover[0] != attributes:
        return None
    return handover[1]  # type: ignore[no-any-return]


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


def attributes_to_verwerkingsactie(
    attributes: Mapping[str, Any], *, lazy: bool = False, body: dict[str, Any] | None = None
) -> Verwerkingsactie | None:
    """The inverse of `verwerkingsactie_attributes`; None when they carry no action or no objects.

    The values were validated when captured, so they are not checked a second time, and the
    API body is assembled here at the same time (attribute and API values are the same text).
    `lazy`: only the body is made now; the typed fields are built from the same attributes if
    something reads them (`Verwerkingsactie.prepared`) — delivery on the request path needs
    only the body. `body`: the body capture handed over for exactly these attributes, objects
    aside (see `hand_over`); it is completed and used instead of being assembled again.
    """
    vertrouwelijkheid = attributes.get(VERTROUWELIJKHEID)
    raw_objects = attributes.get(VERWERKTE_OBJECTEN)
    if vertrouwelijkheid is None or raw_objects is None or raw_objects == "[]":
        return None
    objects = _load_objects(raw_objects)
    enum = _VERTROUWELIJKHEID.get(vertrouwelijkheid) or Vertrouwelijkheid.parse(vertrouwelijkheid)
    if body is None:
        get = attributes.get
        body = {api_key: value for key, api_key in _API_ORDER if (value := get(key)) is not None}
        body["vertrouwelijkheid"] = enum.value
        text = body["tijdstip"]
        if len(text) != 32 or text[10] != "T":  # not already in the form to_api writes
            body["tijdstip"] = format_tijdstip(_tijdstip(text))
    if lazy:
        frozen = dict(attributes)  # the builder reads this copy, not something changed later
        build = lambda: _values(frozen, enum, _load_objects(raw_objects))  # noqa: E731
        actie = Verwerkingsactie.prepared(body, build)
    else:
        actie = Verwerkingsactie.from_trusted(_values(attributes, enum, objects), body)
    if '"verwerktObjectId"' in raw_objects:  # read-only: never in a POST body
        for o in objects:
            o.pop("verwerktObjectId", None)
    body["verwerkteObjecten"] = objects
    return actie


def _tijdstip(text: str) -> dt.datetime:
    """Our own form (32 characters) reads fast; any other spelling (`Z`, short fractions — which
    Python 3.10's fromisoformat refuses) through the model's own check."""
    return dt.datetime.fromisoformat(text) if len(text) == 32 else check_datetime(text)


def _values(attributes: Mapping[str, Any], enum: Vertrouwelijkheid, objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Every Verwerkingsactie field from the attributes (objects already parsed from their JSON)."""
    get = attributes.get
    values = {field_name: get(key) for field_name, key in SCALAR_ATTRIBUTES}
    values["vertrouwelijkheid"] = enum
    values["tijdstip"] = _tijdstip(attributes[TIJDSTIP])
    values["verwerkte_objecten"] = tuple([_object(o) for o in objects])
    return values


def span_to_verwerkingsactie(span: ReadableSpan, *, lazy: bool = False) -> Verwerkingsactie | None:
    """The action a finished span carries; None for other spans and for actions without objects
    (an action that processed nobody's data is not recorded). `lazy`: see
    `attributes_to_verwerkingsactie`. A body capture handed over is used (once) while the
    span's attributes are still exactly what capture wrote; otherwise they are mapped."""
    # The SDK hands out a read-only proxy whose every lookup runs Python code; read the plain
    # dict underneath when there is one (same content), a copy otherwise.
    try:
        plain = span._attributes._dict  # type: ignore[union-attr]
    except AttributeError:
        plain = None
    if type(plain) is not dict:
        attributes = span.attributes
        if not attributes:
            return None
        plain = dict(attributes)
    return attributes_to_verwerkingsactie(plain, lazy=lazy, body=_take_handover(span, plain))


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
