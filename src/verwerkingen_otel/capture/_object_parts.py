"""One object of an action, made from a template per kind of object: the typed `VerwerktObject`
(what delivery gets) with its JSON (the span attribute form), so per call only the identifier
is checked and filled in. An invalid identifier becomes the withheld placeholder (or, under
`strict`, a ValidationError): never dropped, never echoed.
"""

from __future__ import annotations

import json
import logging
from typing import Iterable

from ..model import (
    NAAM_MAX,
    FieldError,
    InvalidValue,
    ValidationError,
    VerwerktObject,
    VerwerktSoortGegeven,
    check_bsn,
    check_object_id,
    check_text,
    make_verwerkt_object,
    object_json,
)
from ._errors import ConfigurationError
from ._pipeline import current_pipeline

__all__ = [
    "INGEHOUDEN_OBJECT_ID",
    "ONGELDIG_SOORT_OBJECT_ID",
    "Part",
    "Template",
    "checked_template",
    "invalid_part",
    "render_object",
]

logger = logging.getLogger("verwerkingen_otel.capture")

ONGELDIG_SOORT_OBJECT_ID = "ongeldig"
"""soortObjectId of the placeholder recorded for a value that is no valid identifier."""
INGEHOUDEN_OBJECT_ID = "ingehouden"
"""objectId of that placeholder: the invalid value itself is withheld."""
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

Part = tuple[VerwerktObject, str]
"""One object of an action: the typed object and its JSON (API form) for the span attribute."""


class Template:
    """One kind of object (type, soort, betrokkenheid, soorten): its fields and its JSON with a
    hole for the objectId, so per call only the identifier is checked and filled in."""

    __slots__ = ("soort_object_id", "is_bsn", "fields", "head", "tail", "placeholder", "_open", "_close")

    def __init__(self, objecttype: str, soort_object_id: str, betrokkenheid: str | None, soorten: tuple[str, ...]) -> None:
        self.soort_object_id = soort_object_id
        self.is_bsn = soort_object_id.upper() == "BSN"
        self.fields = {
            "objecttype": objecttype,
            "soort_object_id": soort_object_id,
            "object_id": None,
            "betrokkenheid": betrokkenheid,
            "verwerkte_soorten_gegevens": tuple(VerwerktSoortGegeven(s) for s in soorten),
            "verwerkt_object_id": None,
        }
        self.head = _dumps({"objecttype": objecttype, "soortObjectId": soort_object_id})[:-1] + ',"objectId":'
        tail = ""
        if betrokkenheid is not None:
            tail += ',"betrokkenheid":' + _dumps(betrokkenheid)
        if soorten:
            tail += ',"verwerkteSoortenGegevens":' + _dumps([{"soortGegeven": s} for s in soorten])
        self.tail = tail + "}"
        self._open = self.head + '"'
        self._close = '"' + self.tail
        withheld = dict(self.fields, soort_object_id=ONGELDIG_SOORT_OBJECT_ID, object_id=INGEHOUDEN_OBJECT_ID)
        self.placeholder: Part = (
            VerwerktObject.from_trusted(withheld),
            _dumps({"objecttype": objecttype, "soortObjectId": ONGELDIG_SOORT_OBJECT_ID})[:-1]
            + ',"objectId":"' + INGEHOUDEN_OBJECT_ID + '"' + self.tail,
        )

    def render(self, value: object, label: str, actie_label: str, strict: bool) -> Part | None:
        if value is None:
            return None
        try:
            fields = self.fields.copy()
            if self.is_bsn:  # a valid BSN is nine ASCII digits: nothing to escape
                object_id = fields["object_id"] = check_bsn(value)
                return VerwerktObject.from_trusted(fields), self._open + object_id + self._close
            object_id = fields["object_id"] = check_object_id(self.soort_object_id, value)
            return VerwerktObject.from_trusted(fields), self.head + _dumps(object_id) + self.tail
        except InvalidValue as exc:
            return invalid_part(self.placeholder, label, exc.code, exc.reason, actie_label, strict)


def invalid_part(placeholder: Part, label: str, code: str, reason: str, actie_label: str, strict: bool) -> Part:
    if strict:
        raise ValidationError([FieldError(label, code, reason)])
    logger.warning(
        "verwerkingsactie %s: %s is not valid (%s); recorded with objectId withheld", actie_label, label, reason
    )
    pipeline = current_pipeline()
    if pipeline is not None:
        pipeline.count("invalid_objects")
    return placeholder


def checked_template(
    soort_object_id: object, betrokkenheid: object, soorten_gegevens: Iterable[object], setting: str
) -> Template:
    """Check the static parts of an object by the model's rules; errors name `setting.<part>`."""
    if isinstance(soorten_gegevens, (str, bytes)):
        raise ConfigurationError(f"{setting}.soorten_gegevens", "must be a list of names, not one string")
    soorten = tuple(soorten_gegevens)
    for part, value in (("soort_object_id", soort_object_id), ("betrokkenheid", betrokkenheid)):
        if value is not None or part == "soort_object_id":
            try:
                check_text(value, NAAM_MAX)
            except InvalidValue as exc:
                raise ConfigurationError(f"{setting}.{part}", exc.reason) from None
    for soort in soorten:
        try:
            check_text(soort, NAAM_MAX)
        except InvalidValue as exc:
            raise ConfigurationError(f"{setting}.soorten_gegevens", exc.reason) from None
    return Template("persoon", soort_object_id, betrokkenheid, soorten)  # type: ignore[arg-type]


def render_object(
    object_id: object,
    *,
    objecttype: object,
    soort_object_id: object,
    betrokkenheid: object,
    soorten_gegevens: Iterable[object],
    label: str,
    actie_label: str,
    strict: bool,
) -> Part | None:
    """Validate one object given at run time and render it; invalid → placeholder or, strict, raise."""
    if object_id is None:
        return None
    try:
        obj = make_verwerkt_object(
            object_id,
            objecttype=objecttype,
            soort_object_id=soort_object_id,
            betrokkenheid=betrokkenheid,
            soorten_gegevens=soorten_gegevens,
            path=label,
        )
    except ValidationError as exc:
        if strict:
            raise
        first = exc.errors[0]
        safe_betrokkenheid = betrokkenheid if _is_text(betrokkenheid) else None
        safe_soorten = tuple(s for s in soorten_gegevens if _is_text(s)) if not isinstance(soorten_gegevens, str) else ()
        placeholder = Template("persoon", ONGELDIG_SOORT_OBJECT_ID, safe_betrokkenheid, safe_soorten).placeholder  # type: ignore[arg-type]
        return invalid_part(placeholder, first.name, first.code, first.reason, actie_label, False)
    return obj, object_json(obj)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and len(value) <= NAAM_MAX
