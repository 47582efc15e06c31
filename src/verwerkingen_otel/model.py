"""The verwerkingsactie as the VNG standard defines it, its validation and its API JSON.

One place knows every rule of NOTES §1, so the capture side, the exporter and the log server
agree on what a valid action is. Validation errors name the field and the rule, never the
value: a value may be a BSN.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import dataclasses
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Callable, Iterable, NamedTuple

__all__ = [
    "FieldError",
    "InvalidValue",
    "ValidationError",
    "Vertrouwelijkheid",
    "VerwerktObject",
    "VerwerktSoortGegeven",
    "Verwerkingsactie",
    "check_bsn",
    "check_date",
    "check_datetime",
    "check_duration",
    "check_oin",
    "check_text",
    "check_uri",
    "check_uuid",
    "format_tijdstip",
    "make_verwerkt_object",
    "parse_verwerkingsactie",
]

NAAM_MAX = 242
IDENTIFICATOR_MAX = 40
URI_MAX = 2042


class InvalidValue(ValueError):
    """One value broke one rule. Carries a machine code and a reason without the value."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class FieldError(NamedTuple):
    """One entry of a ValidatieFout's invalidParams."""

    name: str
    code: str
    reason: str


class ValidationError(ValueError):
    """A body or annotation broke one or more rules; the message names fields, never values."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.name}: {e.reason}" for e in self.errors))


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


# --- single-value checks -------------------------------------------------------------------

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OIN_RE = re.compile(r"^[0-9]{20}$")
_BSN_RE = re.compile(r"^[0-9]{9}$")
_DURATION_RE = re.compile(
    r"^P(?!$)(?:(?P<y>\d+(?:[.,]\d+)?)Y)?(?:(?P<mo>\d+(?:[.,]\d+)?)M)?(?:(?P<w>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<d>\d+(?:[.,]\d+)?)D)?(?:T(?!$)(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<mi>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$"
)
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")


def _require_str(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue("invalid", "must be a string")
    return value


def check_text(value: object, max_length: int = NAAM_MAX) -> str:
    """A string of at most `max_length` characters."""
    text = _require_str(value)
    if len(text) > max_length:
        raise InvalidValue("max_length", f"must be at most {max_length} characters")
    return text


def check_uuid(value: object) -> str:
    """A UUID in its canonical hyphenated form; returned lowercase."""
    text = _require_str(value)
    if not _UUID_RE.match(text):
        raise InvalidValue("invalid_uuid", "must be a UUID")
    return text.lower()


def check_oin(value: object) -> str:
    """An OIN: exactly 20 digits ([R] the YAML pattern lacks anchors)."""
    text = _require_str(value)
    if not _OIN_RE.match(text):
        raise InvalidValue("invalid_oin", "must be an OIN of exactly 20 digits")
    return text


def check_bsn(value: object) -> str:
    """A BSN: 9 digits passing the 11-test. An int is zero-padded to 9 digits."""
    if type(value) is not str:
        if isinstance(value, bool):
            raise InvalidValue("invalid_bsn", "must be a BSN of 9 digits")
        if isinstance(value, int):
            if not 0 <= value <= 999_999_999:
                raise InvalidValue("invalid_bsn", "must be a BSN of 9 digits")
            value = f"{value:09d}"
        text = _require_str(value)
    else:
        text = value
    if len(text) != 9 or not text.isascii() or not text.isdigit():
        raise InvalidValue("invalid_bsn", "must be a BSN of 9 digits")
    d = text.encode("ascii")  # the 11-test on the digits' code points: sum of weights is 43, so 43 * ord("0")
    if (9 * d[0] + 8 * d[1] + 7 * d[2] + 6 * d[3] + 5 * d[4] + 4 * d[5] + 3 * d[6] + 2 * d[7] - d[8] - 2064) % 11:
        raise InvalidValue("invalid_bsn", "must pass the BSN 11-test")
    if not text.strip("0"):  # all zeros passes the sum, but is no BSN
        raise InvalidValue("invalid_bsn", "must pass the BSN 11-test")
    return text


def check_duration(value: object) -> str:
    """An ISO 8601 duration such as P10Y or P1Y6M ([R] a bare number is rejected)."""
    text = _require_str(value)
    if not _DURATION_RE.match(text):
        raise InvalidValue("invalid_duration", "must be an ISO 8601 duration such as P10Y")
    return text


def check_uri(value: object, max_length: int = URI_MAX) -> str:
    """An absolute URI of at most `max_length` characters."""
    text = check_text(value, max_length)
    if not _URI_RE.match(text):
        raise InvalidValue("invalid_uri", "must be an absolute URI")
    return text


_LOOSE_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})[.,](\d+)([+-]\d{2}):?(\d{2})$|"
    r"^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(?::\d{2})?)([+-]\d{2})(\d{2})$"
)


def _fromisoformat(text: str) -> dt.datetime:
    """`datetime.fromisoformat`, also on Python 3.10 for the RFC 3339 forms it rejects there:
    a fraction of other than 3 or 6 digits (or after a comma) and an offset without a colon.
    Python 3.11 accepts these itself; the result is the same on both."""
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        match = _LOOSE_DATETIME.match(text)
        if match is None:
            raise
        whole, fraction, hours, minutes, short, short_hours, short_minutes = match.groups()
        if whole is not None:
            return dt.datetime.fromisoformat(f"{whole}.{fraction[:6].ljust(6, '0')}{hours}:{minutes}")
        return dt.datetime.fromisoformat(f"{short}{short_hours}:{short_minutes}")


def check_datetime(value: object) -> dt.datetime:
    """An ISO 8601 date-time that carries an offset (`Z` or `+01:00`); returned aware."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = _require_str(value).strip()
        if len(text) < 16 or "T" not in text.upper():
            raise InvalidValue("invalid_datetime", "must be an ISO 8601 date-time with offset")
        try:
            moment = _fromisoformat(text[:-1] + "+00:00" if text[-1] in "zZ" else text)
        except ValueError:
            raise InvalidValue("invalid_datetime", "must be an ISO 8601 date-time with offset") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidValue("no_offset", "must carry a time-zone offset")
    return moment


def check_date(value: object) -> dt.date:
    """A calendar date, YYYY-MM-DD."""
    text = _require_str(value)
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        raise InvalidValue("invalid_date", "must be a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidValue("invalid_date", "must be a date YYYY-MM-DD") from None


def format_tijdstip(moment: dt.datetime) -> str:
    """ISO 8601 with offset and at most microsecond precision (`Z` for UTC is not used)."""
    return moment.isoformat(timespec="microseconds")


def check_object_id(soort_object_id: str, value: object) -> str:
    """An objectId: an identificator, and a valid BSN when soortObjectId is BSN."""
    if soort_object_id.upper() == "BSN":
        return check_bsn(value)
    return check_text(value, IDENTIFICATOR_MAX)


def check_afnemer_id(soort_afnemer_id: str | None, value: object) -> str:
    """[R] afnemerId is validated by soortAfnemerId: OIN → 20 digits, BSN → 9 digits."""
    text = check_text(value, IDENTIFICATOR_MAX)
    kind = (soort_afnemer_id or "").upper()
    if kind == "OIN":
        return check_oin(text)
    if kind == "BSN" and not _BSN_RE.match(text):
        raise InvalidValue("invalid_bsn", "must be a BSN of 9 digits")
    return text


# --- the model ---------------------------------------------------------------------------


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

    @classmethod
    def from_trusted(cls, values: dict[str, Any]) -> VerwerktObject:
        """Build from validated values holding every field, skipping the frozen __init__."""
        return _fill(cls, values, None)

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
        prepared = self.__dict__.pop("_api_body", None)  # see `from_trusted`: handed out once
        if prepared is not None:
            return prepared  # type: ignore[no-any-return]
        values = self.__dict__  # a frozen dataclass without slots: read fields without getattr
        if "_build" in values:  # a `prepared` action whose fields were never read
            self._materialise()
        body: dict[str, Any] = {
            key: (value if type(value) is str else str(value)) if dump is None else dump(value)
            for key, attr, dump in _DUMPS
            if (value := values[attr]) is not None
        }
        body["verwerkteObjecten"] = [o.to_api() for o in self.verwerkte_objecten]
        return body

    def with_values(self, **changes: Any) -> Verwerkingsactie:
        return replace(self, **changes)

    @classmethod
    def from_trusted(cls, values: dict[str, Any], api_body: dict[str, Any] | None = None) -> Verwerkingsactie:
        """Build from values that were validated before (a captured span), for the hot path.

        `values` must hold every field. The per-field checks and the frozen __init__ (one
        object.__setattr__ per field) are skipped. `api_body`, when given, must equal what
        `to_api()` would compute; the first `to_api()` call returns it instead of computing.
        """
        return _fill(cls, values, api_body)

    @classmethod
    def prepared(cls, api_body: dict[str, Any], build: Callable[[], dict[str, Any]]) -> Verwerkingsactie:
        """An action whose POST body is known now and whose fields are built on first read.

        For the request path: delivery needs only the body, so the typed fields (objects,
        datetime, enum) are made only if something reads them. `build()` must return what
        `from_trusted` takes, describing the same action as `api_body`. Reading any field,
        comparing, hashing, repr or `replace` builds them; the action is then an ordinary one.
        """
        obj = object.__new__(cls)
        obj.__dict__["_api_body"] = api_body
        obj.__dict__["_build"] = build
        return obj

    def _materialise(self) -> None:
        # The builder goes only after the fields are in: a second thread reading meanwhile
        # builds the same values again rather than finding neither.
        build = self.__dict__.get("_build")
        if build is not None:
            values = build()
            assert values.keys() == _FIELD_NAMES[Verwerkingsactie], "prepared() needs every field"
            self.__dict__.update(values)
            self.__dict__.pop("_build", None)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle and copy the fields only (a prepared action's builder is a closure)."""
        self._materialise()
        return {name: self.__dict__[name] for name in _FIELD_NAMES[Verwerkingsactie]}

    def __getattr__(self, name: str) -> Any:
        """Reached only for a field of a `prepared` action not yet built (see below)."""
        if "_build" not in self.__dict__ or name.startswith("__"):
            raise AttributeError(name)
        self._materialise()
        return getattr(self, name)


def _fill(cls: type[Any], values: dict[str, Any], api_body: dict[str, Any] | None) -> Any:
    assert values.keys() == _FIELD_NAMES[cls], "from_trusted needs every field"
    if not _FILLABLE[cls]:
        obj = cls(**values)
    else:
        obj = object.__new__(cls)
        obj.__dict__.update(values)
    if api_body is not None:
        obj.__dict__["_api_body"] = api_body
    return obj


_FIELD_NAMES: dict[type, set[str]] = {
    cls: {f.name for f in dataclasses.fields(cls)} for cls in (VerwerktObject, Verwerkingsactie)
}
# Fields with a default are class attributes, which would answer for a `prepared` action's
# fields before `__getattr__` can build them; every instance holds all its fields in __dict__
# (the dataclass __init__ keeps the defaults itself), so they are not needed on the class.
for _name in _FIELD_NAMES[Verwerkingsactie]:
    if _name in Verwerkingsactie.__dict__:
        delattr(Verwerkingsactie, _name)

_FILLABLE: dict[type, bool] = {
    cls: not hasattr(cls, "__slots__") and not hasattr(cls, "__post_init__") for cls in _FIELD_NAMES
}
"""Plain frozen dataclasses can be filled through __dict__; anything else goes through __init__."""


# --- API JSON in ----------------------------------------------------------------------


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


def new_verwerking_id() -> str:
    """A fresh verwerkingId for a verwerking that has no zaak or verzoek of its own."""
    return new_uuid4()


def new_uuid4() -> str:
    """A random (version 4) UUID as text, from the OS's secure random source.

    os.urandom is a system call, costly in some virtual machines, so random bytes are fetched
    in blocks of 4 KiB and formatted 256 UUIDs at a time; handing one out is a list pop (atomic
    under the GIL, so no lock on the way). A forked child starts on a block of its own.
    """
    try:
        return _uuid_pool.pop()
    except IndexError:
        with _random_lock:
            if not _uuid_pool:
                _uuid_pool.extend(_format_uuids(os.urandom(_RANDOM_BLOCK)))
        return new_uuid4()


def _format_uuids(block: bytes) -> list[str]:
    texts = [block[i : i + 16].hex() for i in range(0, len(block), 16)]
    return [f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}" for h in texts]


_RANDOM_BLOCK = 4096
_uuid_pool: list[str] = []
_random_lock = threading.Lock()


def _fresh_random_block() -> None:
    global _random_lock
    _random_lock = threading.Lock()
    _uuid_pool.clear()


if hasattr(os, "register_at_fork"):  # never hand a child the parent's unused random bytes
    os.register_at_fork(after_in_child=_fresh_random_block)


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


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
