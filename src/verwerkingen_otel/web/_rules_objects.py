"""At request time: the persons a matched rule names, found in the path, query, request or
response body; absent values are no person, present ones are always returned."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from ..model import NAAM_MAX
from ._rules import ObjectSource, Rule

__all__ = ["FoundObject", "find_objects", "parse_json"]

logger = logging.getLogger("verwerkingen_otel.web")


@dataclass(frozen=True)
class FoundObject:
    """One person a rule names, as found: `add_object(**as_kwargs())` checks it.

    The value is not checked here: `add_object` does that by the decorator's rules, so an
    invalid value becomes the same `ongeldig`/`ingehouden` placeholder (warning without the
    value, counter `invalid_objects`, ValidationError under `strict`) and is never dropped.
    """

    soort_object_id: str
    object_id: Any
    betrokkenheid: str | None
    soorten_gegevens: tuple[str, ...]
    label: str  # names the rule and entry in warnings and errors, never the value

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "objecttype": "persoon",
            "soort_object_id": self.soort_object_id,
            "object_id": self.object_id,
            "betrokkenheid": self.betrokkenheid,
            "soorten_gegevens": list(self.soorten_gegevens),
            "label": self.label,
        }


def _walk(doc: Any, pointer: tuple[str, ...]) -> Iterator[tuple[Any, Any]]:
    """Yield (value, parent) for every match of a pointer; `*` fans out over lists."""
    if not pointer:
        yield doc, None
        return
    head, rest = pointer[0], pointer[1:]
    if head == "*" and isinstance(doc, list):
        for item in doc:
            yield from _walk(item, rest)
        return
    if isinstance(doc, dict) and head in doc:
        child = doc[head]
    elif isinstance(doc, list) and head.isdigit() and int(head) < len(doc):
        child = doc[int(head)]
    else:
        return
    if rest:
        yield from _walk(child, rest)
    else:
        yield child, doc


def _lookup(doc: Any, pointer: tuple[str, ...]) -> Any:
    for value, _ in _walk(doc, pointer):
        return value
    return None


def find_objects(
    rule: Rule,
    *,
    path_params: Mapping[str, Any],
    query: Mapping[str, list[str]] | None,
    request_json: Any,
    response_json: Any,
) -> list[FoundObject]:
    """Every person a rule names in this request, valid or not.

    Absent values (no such parameter, a pointer that finds nothing, JSON null) are no person;
    a value that is there is always returned, so `add_object` records it or its placeholder.
    """
    found: list[FoundObject] = []
    for index, spec in enumerate(rule.objecten):
        candidates: list[tuple[Any, Any]] = []
        if spec.source == "path":
            if spec.name in path_params:
                candidates.append((path_params[spec.name], None))
        elif spec.source == "query":
            candidates.extend((v, None) for v in (query or {}).get(spec.name or "", []))
        else:
            doc = request_json if spec.source == "body" else response_json
            candidates.extend(c for c in _walk(doc, spec.pointer) if c[0] is not None)
        if not candidates:
            logger.warning("rule %r, objecten[%d]: no person found in the %s", rule.name, index, spec.source)
        label = f"rule {rule.name!r}, objecten[{index}]"
        for value, parent in candidates:
            found.append(_found(spec, value, parent, label))
    return found


def _found(spec: ObjectSource, value: Any, parent: Any, label: str) -> FoundObject:
    if type(value) is int and spec.soort_object_id.upper() != "BSN":
        value = str(value)  # a JSON number as a non-BSN identifier (a BSN int is zero-padded by the model)
    betrokkenheid = spec.betrokkenheid
    if spec.betrokkenheid_pointer is not None:
        found = _lookup(parent, spec.betrokkenheid_pointer)
        if isinstance(found, str) and 0 < len(found) <= NAAM_MAX:
            betrokkenheid = found
    return FoundObject(spec.soort_object_id, value, betrokkenheid, spec.soorten_gegevens, label)


def parse_json(body: bytes) -> Any:
    """A body as JSON, or None when it is not (a rule then finds no person there)."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
