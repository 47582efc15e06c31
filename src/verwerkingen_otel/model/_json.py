"""API JSON in: a POST/PUT body or Python values validated into the model, every broken rule collected."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ._actie import _FIELDS, WRITABLE_KEYS, REQUIRED_KEYS, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie, _text
from ._checks import NAAM_MAX, _require_str, check_afnemer_id, check_object_id, check_text, check_uuid
from ._errors import FieldError, InvalidValue, ValidationError

__all__ = ["make_verwerkt_object", "parse_verwerkingsactie"]


def parse_verwerkingsactie(body: object, *, require_all_keys: bool = False) -> Verwerkingsactie:
    """Validate an API body into a Verwerkingsactie, collecting every broken rule.

    Lenient where NOTES §1 says the server is: any case for vertrouwelijkheid and objecttype,
    `null` as unset, `[]` objects, read-only and unknown keys ignored. `require_all_keys` is
    PUT's full-replacement rule: every writable key present, `null` allowed.
    """
    if not isinstance(body, dict):
        raise ValidationError([FieldError("nonFieldErrors", "invalid", "body must be a JSON object")])
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    if require_all_keys:
        for key in sorted(WRITABLE_KEYS - body.keys()):
            errors.append(FieldError(key, "required", "is required for a full replacement"))
    for spec in _FIELDS:
        raw = body.get(spec.key)
        if raw is None:
            if spec.key in REQUIRED_KEYS:
                if spec.key in body or not require_all_keys:
                    errors.append(FieldError(spec.key, "required", "is required"))
            continue
        try:
            values[spec.attr] = spec.check(raw)
        except InvalidValue as exc:
            errors.append(FieldError(spec.key, exc.code, exc.reason))
    if values.get("afnemer_id") is not None:
        if values.get("soort_afnemer_id") is None:
            errors.append(FieldError("soortAfnemerId", "required", "is required when afnemerId is set"))
        else:
            try:
                check_afnemer_id(values["soort_afnemer_id"], values["afnemer_id"])
            except InvalidValue as exc:
                errors.append(FieldError("afnemerId", exc.code, exc.reason))
    objecten = body.get("verwerkteObjecten")
    parsed_objects: list[VerwerktObject] = []
    if objecten is None:
        if "verwerkteObjecten" in body or not require_all_keys:
            errors.append(FieldError("verwerkteObjecten", "required", "is required"))
    elif not isinstance(objecten, list):
        errors.append(FieldError("verwerkteObjecten", "invalid", "must be an array"))
    else:
        for index, raw_object in enumerate(objecten):
            parsed = _parse_object(raw_object, f"verwerkteObjecten.{index}", errors)
            if parsed is not None:
                parsed_objects.append(parsed)
    if errors:
        raise ValidationError(errors)
    return Verwerkingsactie(verwerkte_objecten=tuple(parsed_objects), **values)


def _parse_object(raw: object, path: str, errors: list[FieldError]) -> VerwerktObject | None:
    if not isinstance(raw, dict):
        errors.append(FieldError(path, "invalid", "must be an object"))
        return None
    before = len(errors)

    def field_value(key: str, check: Callable[[Any], Any], required: bool) -> Any:
        raw_value = raw.get(key)
        if raw_value is None:
            if required:
                errors.append(FieldError(f"{path}.{key}", "required", "is required"))
            return None
        try:
            return check(raw_value)
        except InvalidValue as exc:
            errors.append(FieldError(f"{path}.{key}", exc.code, exc.reason))
            return None

    objecttype = field_value("objecttype", _objecttype, True)
    soort = field_value("soortObjectId", _text(NAAM_MAX), True)
    object_id = field_value(
        "objectId", lambda v: check_object_id(soort or "", v), True
    )
    betrokkenheid = field_value("betrokkenheid", _text(NAAM_MAX), False)
    verwerkt_object_id = field_value("verwerktObjectId", check_uuid, False)
    soorten: list[VerwerktSoortGegeven] = []
    raw_soorten = raw.get("verwerkteSoortenGegevens")
    if raw_soorten is not None:
        if not isinstance(raw_soorten, list):
            errors.append(FieldError(f"{path}.verwerkteSoortenGegevens", "invalid", "must be an array"))
        else:
            for i, item in enumerate(raw_soorten):
                item_path = f"{path}.verwerkteSoortenGegevens.{i}.soortGegeven"
                value = item.get("soortGegeven") if isinstance(item, dict) else None
                if value is None:
                    errors.append(FieldError(item_path, "required", "is required"))
                    continue
                try:
                    soorten.append(VerwerktSoortGegeven(check_text(value, NAAM_MAX)))
                except InvalidValue as exc:
                    errors.append(FieldError(item_path, exc.code, exc.reason))
    if len(errors) > before:
        return None
    return VerwerktObject(
        objecttype=objecttype,
        soort_object_id=soort,
        object_id=object_id,
        betrokkenheid=betrokkenheid,
        verwerkte_soorten_gegevens=tuple(soorten),
        verwerkt_object_id=verwerkt_object_id,
    )


def _objecttype(value: object) -> str:
    text = _require_str(value)
    if text.lower() != "persoon":
        raise InvalidValue("choice", "must be persoon")
    return "persoon"


def make_verwerkt_object(
    object_id: object,
    *,
    objecttype: object = "persoon",
    soort_object_id: object = "BSN",
    betrokkenheid: object = None,
    soorten_gegevens: Iterable[object] = (),
    path: str = "verwerkteObjecten.0",
) -> VerwerktObject:
    """Validate Python values into a VerwerktObject by the same rules as an API body.

    A BSN may be an int (zero-padded to 9 digits). Errors name `path.<apiKey>`, never the value.
    """
    if isinstance(soorten_gegevens, (str, bytes)):
        raise ValidationError([FieldError(f"{path}.verwerkteSoortenGegevens", "invalid", "must be a list")])
    raw: dict[str, Any] = {
        "objecttype": objecttype,
        "soortObjectId": soort_object_id,
        "objectId": object_id,
        "betrokkenheid": betrokkenheid,
        "verwerkteSoortenGegevens": [{"soortGegeven": s} for s in soorten_gegevens],
    }
    errors: list[FieldError] = []
    parsed = _parse_object(raw, path, errors)
    if errors or parsed is None:
        raise ValidationError(errors)
    return parsed
