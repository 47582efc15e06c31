"""One verwerkingsactiviteit of the register: the VAR API 0.1.0 fields plus three of ours.

`parse_activiteit` checks every field rule of the VAR schema (uuid, OIN, the five AVG
grondslagen, lengths) and collects all problems, each naming the activity and the field, so a
privacy officer fixes a register file in one go instead of one error at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..model import InvalidValue, check_duration, check_oin, check_uri, check_uuid
from ._errors import Problem

GRONDSLAGEN: tuple[str, ...] = (
    "Gerechtvaardigd belang", "Publieke taak", "Toestemming betrokkene", "Uitvoering overeenkomst",
    "Wettelijke verplichting",
)
NAAM_MAX = 242
BESCHRIJVING_MAX = 2042
# Our additions to the VAR schema (ARCHITECTURE "Register file"); never served by the VAR API.
EIGEN_VELDEN = ("url", "vertrouwelijkheid", "bewaartermijnDuur")
VERTROUWELIJKHEDEN = ("normaal", "vertrouwelijk")


@dataclass(frozen=True)
class VerwerktPersoonsgegeven:
    naam: str | None = None
    rol_betrokkene: str | None = None


@dataclass(frozen=True)
class Verwerkingsactiviteit:
    """A validated activity; `url` is set when the file gives one or the source derives one."""

    id: str
    naam: str
    doel: str
    grondslag: str
    verantwoordelijke_organisatie: str
    gebaseerd_op: str | None = None
    categorie: str | None = None
    verantwoordelijke_bestuursorgaan: str | None = None
    toelichting_grondslag: str | None = None
    bewaartermijn: str | None = None
    herkomst: str | None = None
    afnemende_internationale_derden: tuple[str, ...] = ()
    afnemende_categorie_ontvangers: tuple[str, ...] = ()
    verwerkte_persoonsgegevens: tuple[VerwerktPersoonsgegeven, ...] = ()
    url: str | None = None
    vertrouwelijkheid: str | None = None
    bewaartermijn_duur: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_api(self) -> dict[str, Any]:
        """The VAR API's `Verwerkingsactiviteit` JSON: its fields only, empty ones left out."""
        body: dict[str, Any] = {}
        for key, attr in _TEXT_FIELDS:
            value = getattr(self, attr)
            if value is not None:
                body[key] = value
        for key, attr in _LIST_FIELDS:
            if getattr(self, attr):
                body[key] = list(getattr(self, attr))
        if self.verwerkte_persoonsgegevens:
            body["verwerktePersoonsgegevens"] = [
                {k: v for k, v in (("rolBetrokkene", p.rol_betrokkene), ("naam", p.naam)) if v is not None}
                for p in self.verwerkte_persoonsgegevens
            ]
        return body

    def to_dict(self) -> dict[str, Any]:
        """The register-file form: the API fields plus ours (for storage and the on-disk cache)."""
        body = self.to_api()
        for key, attr in (("url", "url"), ("vertrouwelijkheid", "vertrouwelijkheid"),
                          ("bewaartermijnDuur", "bewaartermijn_duur")):
            if getattr(self, attr) is not None:
                body[key] = getattr(self, attr)
        return body


_TEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "id"), ("naam", "naam"), ("gebaseerdOp", "gebaseerd_op"), ("categorie", "categorie"),
    ("verantwoordelijkeOrganisatie", "verantwoordelijke_organisatie"),
    ("verantwoordelijkeBestuursorgaan", "verantwoordelijke_bestuursorgaan"), ("doel", "doel"),
    ("grondslag", "grondslag"), ("toelichtingGrondslag", "toelichting_grondslag"),
    ("bewaartermijn", "bewaartermijn"), ("herkomst", "herkomst"),
)
_LIST_FIELDS: tuple[tuple[str, str], ...] = (
    ("afnemendeInternationaleDerden", "afnemende_internationale_derden"),
    ("afnemendeCategorieOntvangers", "afnemende_categorie_ontvangers"),
)
REQUIRED = ("id", "naam", "verantwoordelijkeOrganisatie", "doel", "grondslag")


def _text(max_length: int | None) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidValue("invalid", "must be a string")
        if not value.strip():
            raise InvalidValue("blank", "must not be empty")
        if "\x00" in value:
            raise InvalidValue("invalid_characters", "must not contain a NUL character")
        if max_length is not None and len(value) > max_length:
            raise InvalidValue("max_length", f"must be at most {max_length} characters")
        return value
    return check


def _grondslag(value: Any) -> str:
    _text(NAAM_MAX)(value)
    if value not in GRONDSLAGEN:
        raise InvalidValue("choice", "must be one of the AVG grondslagen: " + ", ".join(GRONDSLAGEN))
    return value


def _vertrouwelijkheid(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in VERTROUWELIJKHEDEN:
        raise InvalidValue("choice", "must be normaal or vertrouwelijk")
    return value.strip().lower()


_CHECKS: dict[str, Callable[[Any], str]] = {
    "id": check_uuid,
    "naam": _text(NAAM_MAX),
    "gebaseerdOp": lambda v: check_uri(v, BESCHRIJVING_MAX),
    "categorie": _text(None),
    "verantwoordelijkeOrganisatie": check_oin,
    "verantwoordelijkeBestuursorgaan": _text(None),
    "doel": _text(BESCHRIJVING_MAX),
    "grondslag": _grondslag,
    "toelichtingGrondslag": _text(BESCHRIJVING_MAX),
    "bewaartermijn": _text(BESCHRIJVING_MAX),
    "herkomst": _text(BESCHRIJVING_MAX),
    "url": lambda v: check_uri(v, BESCHRIJVING_MAX),
    "vertrouwelijkheid": _vertrouwelijkheid,
    "bewaartermijnDuur": check_duration,
}
KNOWN_FIELDS = frozenset(_CHECKS) | {k for k, _ in _LIST_FIELDS} | {"verwerktePersoonsgegevens"}


def label(raw: Any, index: int) -> str:
    """How problems name an activity: its naam when it has a usable one, else its position."""
    naam = raw.get("naam") if isinstance(raw, dict) else None
    if isinstance(naam, str) and naam.strip() and len(naam) <= NAAM_MAX:
        return f"verwerkingsactiviteiten[{index}] {naam!r}"
    return f"verwerkingsactiviteiten[{index}]"


def parse_activiteit(raw: Any, index: int, *, allow_extra: bool = False) -> tuple[Verwerkingsactiviteit | None, list[Problem]]:
    """Check one activity; returns it (None when anything is wrong) and every problem found.

    `allow_extra` keeps unknown keys (a remote VAR API may add fields) instead of refusing them.
    """
    who = label(raw, index)
    if not isinstance(raw, dict):
        return None, [Problem(who, "-", "invalid", "must be a table/object of fields")]
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key in REQUIRED:
        if raw.get(key) is None:
            problems.append(Problem(who, key, "required", "is required"))
    extra = {}
    for key in sorted(raw, key=str):
        value = raw[key]
        if key not in KNOWN_FIELDS:
            if allow_extra:
                extra[key] = value
            else:
                problems.append(Problem(who, str(key), "unknown_field", "is not a field of a verwerkingsactiviteit"))
            continue
        if value is None:
            continue
        try:
            if key in _CHECKS:
                values[key] = _CHECKS[key](value)
            elif key == "verwerktePersoonsgegevens":
                values[key] = _persoonsgegevens(value, who, problems)
            else:
                values[key] = _names(value, key, who, problems)
        except InvalidValue as e:
            problems.append(Problem(who, key, e.code, e.reason))
    if problems:
        return None, problems
    return Verwerkingsactiviteit(
        id=values["id"], naam=values["naam"], doel=values["doel"], grondslag=values["grondslag"],
        verantwoordelijke_organisatie=values["verantwoordelijkeOrganisatie"],
        gebaseerd_op=values.get("gebaseerdOp"), categorie=values.get("categorie"),
        verantwoordelijke_bestuursorgaan=values.get("verantwoordelijkeBestuursorgaan"),
        toelichting_grondslag=values.get("toelichtingGrondslag"), bewaartermijn=values.get("bewaartermijn"),
        herkomst=values.get("herkomst"),
        afnemende_internationale_derden=values.get("afnemendeInternationaleDerden", ()),
        afnemende_categorie_ontvangers=values.get("afnemendeCategorieOntvangers", ()),
        verwerkte_persoonsgegevens=values.get("verwerktePersoonsgegevens", ()),
        url=values.get("url"), vertrouwelijkheid=values.get("vertrouwelijkheid"),
        bewaartermijn_duur=values.get("bewaartermijnDuur"), extra=extra,
    ), []


def _names(value: Any, key: str, who: str, problems: list[Problem]) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidValue("invalid", "must be a list of strings")
    out = []
    for i, item in enumerate(value):
        try:
            out.append(_text(NAAM_MAX)(item))
        except InvalidValue as e:
            problems.append(Problem(who, f"{key}.{i}", e.code, e.reason))
    return tuple(out)


def _persoonsgegevens(value: Any, who: str, problems: list[Problem]) -> tuple[VerwerktPersoonsgegeven, ...]:
    if not isinstance(value, list):
        raise InvalidValue("invalid", "must be a list of {naam, rolBetrokkene} objects")
    out = []
    for i, item in enumerate(value):
        where = f"verwerktePersoonsgegevens.{i}"
        if not isinstance(item, dict):
            problems.append(Problem(who, where, "invalid", "must be an object with naam and/or rolBetrokkene"))
            continue
        for key in sorted(set(item) - {"naam", "rolBetrokkene"}, key=str):
            problems.append(Problem(who, f"{where}.{key}", "unknown_field", "only naam and rolBetrokkene are allowed"))
        checked: dict[str, str | None] = {}
        for key in ("naam", "rolBetrokkene"):
            if item.get(key) is None:
                checked[key] = None
                continue
            try:
                checked[key] = _text(NAAM_MAX)(item[key])
            except InvalidValue as e:
                problems.append(Problem(who, f"{where}.{key}", e.code, e.reason))
        out.append(VerwerktPersoonsgegeven(naam=checked.get("naam"), rol_betrokkene=checked.get("rolBetrokkene")))
    return tuple(out)


__all__ = ["GRONDSLAGEN", "Verwerkingsactiviteit", "VerwerktPersoonsgegeven", "parse_activiteit"]
