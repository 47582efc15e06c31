"""Route rules: capture verwerkingsacties of an unmodified app from a TOML file.

A rule maps an HTTP method and a route template to an action definition, and says where the
persons of that action come from: a path or query parameter, a JSON pointer into the request
body, or a JSON pointer into the response body (a `*` segment visits every element of a list,
for searches that log each hit). The file is checked once, at start-up; every error names the
file, the rule and the key, never a value that may be personal data. docs/rules.md is the
reference.

    [[rules]]
    name = "persoon raadplegen"
    method = "GET"
    route = "/personen/{bsn}"
    actie_naam = "Raadplegen persoon"
    verwerkingsactiviteit_id = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"

    [[rules.objecten]]
    from = "path"
    name = "bsn"
    soorten_gegevens = ["Naam", "Adres"]
"""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..model import (
    NAAM_MAX,
    InvalidValue,
    Vertrouwelijkheid,
    check_duration,
    check_text,
    check_uri,
    check_uuid,
)

from ..capture import Annotation, current_pipeline, note_annotation
from ._errors import RulesError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "ENV_VAR",
    "ObjectSource",
    "Rule",
    "RuleMatch",
    "Rules",
    "RulesError",
    "canonical_route",
    "load_path",
    "load_rules",
    "parse_rules",
    "rules_from_env",
    "starlette_routes",
]

logger = logging.getLogger("verwerkingen_otel.web")

ENV_VAR = "VERWERKINGEN_RULES"
SOURCES = ("path", "query", "body", "response")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"}
_ACTION_KEYS: dict[str, Any] = {
    "actie_naam": lambda v: check_text(v, NAAM_MAX),
    "handeling_naam": lambda v: check_text(v, NAAM_MAX),
    "verwerking_naam": lambda v: check_text(v, NAAM_MAX),
    "verwerkingsactiviteit_id": check_uuid,
    "verwerkingsactiviteit_url": check_uri,
    "vertrouwelijkheid": lambda v: Vertrouwelijkheid.parse(v).value,
    "bewaartermijn": check_duration,
    "activiteit": lambda v: check_text(v if isinstance(v, str) and v.strip() else None, NAAM_MAX),
}
_RULE_KEYS = {"name", "method", "route", "objecten", "tenant", *_ACTION_KEYS}
_OBJECT_KEYS = {"from", "name", "pointer", "soort_object_id", "betrokkenheid",
                "betrokkenheid_pointer", "soorten_gegevens"}
# {name}, {name:converter} (Starlette) and <name>, <converter:name> (Flask/werkzeug)
_PARAM = re.compile(r"\{(?P<s>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<sc>[a-z]+))?\}|<(?:(?P<fc>[a-z]+)(?:\([^)]*\))?:)?(?P<f>[A-Za-z_][A-Za-z0-9_]*)>")


@dataclass(frozen=True)
class ObjectSource:
    """Where one action's persons come from."""

    source: str  # path | query | body | response
    name: str | None = None  # path or query parameter
    pointer: tuple[str, ...] = ()  # JSON pointer segments; "*" visits each list element
    soort_object_id: str = "BSN"
    betrokkenheid: str | None = None
    betrokkenheid_pointer: tuple[str, ...] | None = None  # relative to the object holding the id
    soorten_gegevens: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One route mapped to one action definition."""

    name: str
    method: str
    route: str  # canonical form: /personen/{bsn}
    actie: Mapping[str, str]  # keyword arguments for verwerkingsactie(...)
    objecten: tuple[ObjectSource, ...]
    pattern: re.Pattern[str] = field(compare=False, repr=False)
    literal_length: int = 0  # more literal characters = more specific, tried first
    tenant: str | None = None  # the path parameter naming the tenant (tenants file)

    @property
    def needs_request_body(self) -> bool:
        return any(o.source == "body" for o in self.objecten)

    @property
    def needs_response_body(self) -> bool:
        return any(o.source == "response" for o in self.objecten)


@dataclass(frozen=True)
class RuleMatch:
    rule: Rule
    path_params: Mapping[str, str]


def canonical_route(template: str) -> str:
    """`/personen/<int:bsn>` and `/personen/{bsn:int}` both become `/personen/{bsn}`."""
    return _PARAM.sub(lambda m: "{" + (m.group("s") or m.group("f")) + "}", template)


def _compile(template: str) -> tuple[re.Pattern[str], int]:
    parts: list[str] = []
    literal = 0
    pos = 0
    for m in _PARAM.finditer(template):
        parts.append(re.escape(template[pos : m.start()]))
        literal += m.start() - pos
        name = m.group("s") or m.group("f")
        converter = m.group("sc") or m.group("fc")
        parts.append(f"(?P<{name}>.+)" if converter == "path" else f"(?P<{name}>[^/]+)")
        pos = m.end()
    parts.append(re.escape(template[pos:]))
    literal += len(template) - pos
    return re.compile("^" + "".join(parts) + "$"), literal


class Rules:
    """A checked rules file: finds the rule for a request, most specific route first."""

    def __init__(self, rules: list[Rule], source: str = "<rules>") -> None:
        self.source = source
        self.rules = sorted(rules, key=lambda r: -r.literal_length)
        self._by_route = {(r.method, r.route): r for r in rules}

    def __len__(self) -> int:
        return len(self.rules)

    def match(self, method: str, path: str) -> RuleMatch | None:
        """The rule for a request path, by our own template matching (framework-neutral)."""
        for rule in self.rules:
            if rule.method not in (method, "*") and not (method == "HEAD" and rule.method == "GET"):
                continue
            m = rule.pattern.match(path)
            if m:
                return RuleMatch(rule, m.groupdict())
        return None

    def for_route(self, method: str, template: str, path_params: Mapping[str, Any]) -> RuleMatch | None:
        """The rule for a route the framework already resolved (Flask's url_rule)."""
        route = canonical_route(template)
        rule = self._by_route.get((method, route)) or self._by_route.get(("*", route))
        if rule is None and method == "HEAD":
            rule = self._by_route.get(("GET", route))
        if rule is None:
            return None
        return RuleMatch(rule, {k: str(v) for k, v in path_params.items()})

    def check_routes(self, templates: set[str]) -> list[str]:
        """Names of rules whose route the app does not have (a typo never matches)."""
        known = {canonical_route(t) for t in templates}
        return [r.name for r in self.rules if r.route not in known]

    def warn_unknown_routes(self, templates: set[str]) -> None:
        """Once the app's routes are known (first request): say which rules can never match."""
        for name in self.check_routes(templates):
            rule = next(r for r in self.rules if r.name == name)
            logger.warning("rules file %s, rule %r: key 'route': the app has no route %s", self.source, name, rule.route)


def starlette_routes(app: Any) -> set[str] | None:
    """Every route path of a Starlette/FastAPI app (mounts walked), or None for other apps."""
    routes = getattr(app, "routes", None)
    if routes is None:
        return None
    templates: set[str] = set()

    def walk(routes: Any, prefix: str) -> None:
        for route in routes:
            path = getattr(route, "path", None)
            sub = getattr(route, "routes", None)
            if path is None:
                continue
            if sub is not None:
                walk(sub, prefix + path)
            else:
                templates.add(prefix + path)

    walk(routes, "")
    return templates


def load_rules(path: str | os.PathLike[str]) -> Rules:
    """Read and check a rules file; RulesError names file, rule and key of the first mistake."""
    where = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise RulesError(f"rules file {where}: not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"rules file {where}: not valid TOML ({exc})") from None
    return parse_rules(data, where)


def rules_from_env(environ: Mapping[str, str] | None = None) -> Rules | None:
    """The rules file named by VERWERKINGEN_RULES, checked; None when it is not set."""
    value = (environ if environ is not None else os.environ).get(ENV_VAR, "").strip()
    if not value:
        return None
    try:
        return load_rules(value)
    except RulesError as exc:
        raise RulesError(f"{ENV_VAR}: {exc}") from None


def parse_rules(data: Mapping[str, Any], where: str = "<rules>") -> Rules:
    unknown = set(data) - {"rules"}
    if unknown:
        raise RulesError(f"rules file {where}: unknown key {sorted(unknown)[0]!r} (expected [[rules]])")
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise RulesError(f"rules file {where}: key 'rules' must be an array of tables ([[rules]])")
    rules: list[Rule] = []
    seen: dict[tuple[str, str], str] = {}
    for index, raw in enumerate(raw_rules):
        rule = _parse_rule(raw, where, index)
        key = (rule.method, rule.route)
        if key in seen:
            raise RulesError(
                f"rules file {where}, rule {rule.name!r}: key 'route': {rule.method} {rule.route} "
                f"is already mapped by rule {seen[key]!r}"
            )
        seen[key] = rule.name
        rules.append(rule)
    return Rules(rules, where)


def _parse_rule(raw: Any, where: str, index: int) -> Rule:
    label = f"rules[{index}]"
    if not isinstance(raw, dict):
        raise RulesError(f"rules file {where}, rule {label}: must be a table")
    if isinstance(raw.get("name"), str) and raw["name"].strip():
        label = raw["name"]

    def fail(key: str, reason: str) -> RulesError:
        return RulesError(f"rules file {where}, rule {label!r}: key {key!r}: {reason}")

    for key in raw:
        if key not in _RULE_KEYS:
            raise fail(key, "unknown key")
    method = raw.get("method")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise fail("method", f"is required, one of {', '.join(sorted(_METHODS))}")
    route = raw.get("route")
    if not isinstance(route, str) or not route.startswith("/"):
        raise fail("route", "is required and must start with /")
    actie: dict[str, str] = {}
    for key, check in _ACTION_KEYS.items():
        if key in raw:
            try:
                actie[key] = check(raw[key])
            except InvalidValue as exc:
                raise fail(key, exc.reason) from None
    if "activiteit" in actie and ("verwerkingsactiviteit_id" in actie or "verwerkingsactiviteit_url" in actie):
        raise fail("activiteit", "takes id and url from the register: leave out verwerkingsactiviteit_id/_url")
    if "actie_naam" not in actie:
        raise fail("actie_naam", "is required")
    if "verwerkingsactiviteit_id" not in actie and "activiteit" not in actie:
        raise fail("verwerkingsactiviteit_id", "is required (or `activiteit`: a naam or id in the register)")
    pattern, literal = _compile(route)
    params = set(pattern.groupindex)
    raw_objecten = raw.get("objecten")
    if not isinstance(raw_objecten, list) or not raw_objecten:
        raise fail("objecten", "is required: at least one [[rules.objecten]] saying where persons come from")
    objecten = tuple(_parse_object(o, i, params, fail) for i, o in enumerate(raw_objecten))
    tenant = raw.get("tenant")
    if tenant is not None and (not isinstance(tenant, str) or tenant not in params):
        raise fail("tenant", "must name a path parameter of the route (the one that names the tenant)")
    return Rule(
        tenant=tenant,
        name=label,
        method=method.upper(),
        route=canonical_route(route),
        actie=actie,
        objecten=objecten,
        pattern=pattern,
        literal_length=literal,
    )


def _pointer(text: Any, key: str, fail: Any) -> tuple[str, ...]:
    if not isinstance(text, str) or not (text == "" or text.startswith("/")):
        raise fail(key, "must be a JSON pointer such as /bsn or /resultaten/*/bsn")
    if text == "":
        return ()
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in text[1:].split("/"))


def _parse_object(raw: Any, index: int, params: set[str], fail: Any) -> ObjectSource:
    prefix = f"objecten[{index}]."
    if not isinstance(raw, dict):
        raise fail(f"objecten[{index}]", "must be a table")
    for key in raw:
        if key not in _OBJECT_KEYS:
            raise fail(prefix + key, "unknown key")
    source = raw.get("from")
    if source not in SOURCES:
        raise fail(prefix + "from", f"is required, one of {', '.join(SOURCES)}")
    name: str | None = None
    pointer: tuple[str, ...] = ()
    if source in ("path", "query"):
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise fail(prefix + "name", f"is required for from = {source!r}")
        if source == "path" and name not in params:
            raise fail(prefix + "name", "is not a parameter of the route")
        if "pointer" in raw:
            raise fail(prefix + "pointer", f"is not used with from = {source!r}")
    else:
        if "pointer" not in raw:
            raise fail(prefix + "pointer", f"is required for from = {source!r}")
        pointer = _pointer(raw["pointer"], prefix + "pointer", fail)
        if "name" in raw:
            raise fail(prefix + "name", f"is not used with from = {source!r}")
    soort = raw.get("soort_object_id", "BSN")
    try:
        soort = check_text(soort, NAAM_MAX)
    except InvalidValue as exc:
        raise fail(prefix + "soort_object_id", exc.reason) from None
    betrokkenheid = raw.get("betrokkenheid")
    if betrokkenheid is not None:
        try:
            check_text(betrokkenheid, NAAM_MAX)
        except InvalidValue as exc:
            raise fail(prefix + "betrokkenheid", exc.reason) from None
    betrokkenheid_pointer = None
    if "betrokkenheid_pointer" in raw:
        if source not in ("body", "response"):
            raise fail(prefix + "betrokkenheid_pointer", "needs from = 'body' or 'response'")
        betrokkenheid_pointer = _pointer(raw["betrokkenheid_pointer"], prefix + "betrokkenheid_pointer", fail)
    soorten = raw.get("soorten_gegevens", [])
    if not isinstance(soorten, list) or not all(isinstance(s, str) and 0 < len(s) <= NAAM_MAX for s in soorten):
        raise fail(prefix + "soorten_gegevens", f"must be a list of names of at most {NAAM_MAX} characters")
    return ObjectSource(source, name, pointer, soort, betrokkenheid, betrokkenheid_pointer, tuple(soorten))


def load_path(value: str | os.PathLike[str] | Rules | None) -> Rules | None:
    """Accept a Rules object, a path, or None: then the `rules` setting of the current pipeline
    (`configure(rules=...)` or VERWERKINGEN_RULES), or VERWERKINGEN_RULES before any configure().
    An error names the setting the way the caller gave it. Each rule's activity is checked in the
    register now (or at the next configure()): ConfigurationError naming the rule."""
    rules = _load_path(value)
    if rules is not None:
        pipeline = current_pipeline()
        for rule in rules.rules:
            if "activiteit" in rule.actie or "verwerkingsactiviteit_id" in rule.actie:
                note_annotation(rules, Annotation(f"rules file {rules.source}, rule {rule.name!r}",
                                                  rule.actie.get("activiteit"),
                                                  rule.actie.get("verwerkingsactiviteit_id")), pipeline)
    return rules


def _load_path(value: str | os.PathLike[str] | Rules | None) -> Rules | None:
    if isinstance(value, Rules):
        return value
    if value is not None:
        return load_rules(Path(value))
    pipeline = current_pipeline()
    if pipeline is None:
        return rules_from_env()
    if not pipeline.settings.rules:
        return None
    try:
        return load_rules(pipeline.settings.rules)
    except RulesError as exc:
        raise RulesError(f"{pipeline.settings.source('rules')}: {exc}") from None
