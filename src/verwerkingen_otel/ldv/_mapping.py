"""From a VNG verwerkingsactie to Logboek Dataverwerkingen logregels (NOTES, exactly).

One person → one logregel carrying that person; n > 1 persons → the action's logregel without a
subject plus n children (same trace, parent = the action's span, named like the action), one
person each. Each person's identifier leaves only as a keyed pseudonym; every other VNG field
goes outside `dpl.`; gebruiker, vertrouwelijkheid and bewaartermijn are not written.

Whatever the input, no plain BSN leaves: the subjects' identifiers are pseudonymised, and free
text (names, URLs, systeem) has the action's own identifiers and any nine-digit number that
passes the BSN 11-test replaced by `[id]`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..model import InvalidValue, Verwerkingsactie, VerwerktObject, check_bsn, parse_verwerkingsactie
from ._logregel import (
    DATA_SUBJECT_ID, DATA_SUBJECT_ID_TYPE, ERROR, EXCEPTION_TYPE, FOREIGN_PROCESSOR, PROCESSING_ACTIVITY_ID,
    PSEUDONYM_KEY_ID, SERVICE_NAME, SERVICE_VERSION, UNSET, AttributeValue, Logregel,
)
from ._pseudonym import PseudonymKey, canonical_id_type

__all__ = ["ActieSpan", "LogregelMapping", "REDACTED"]

REDACTED = "[id]"
_MIN_KNOWN = 6  # shorter identifiers are not worth hiding (and would mangle every word)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_NINE_DIGITS = re.compile(r"(?<![0-9])[0-9]{9}(?![0-9])")
_PREFIX = "verwerkingen."
# VNG fields written outside `dpl.` under the span convention's names, in this order.
_ACTION_FIELDS = (
    "verwerking_id", "verwerking_naam", "handeling_naam", "uitvoerder", "gegevensbron",
    "verwerkingsactiviteit_id_afnemer", "verwerkingsactiviteit_url_afnemer", "verwerking_id_afnemer",
)


@dataclass(frozen=True)
class ActieSpan:
    """Where and when the action ran: its span's ids (hex) and times (ns since the epoch)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    start_time_ns: int
    end_time_ns: int


@dataclass(frozen=True)
class LogregelMapping:
    """The organisation's choices for the mapping: key, OIN → processor map, service identity."""

    key: PseudonymKey
    processors: Mapping[str, str] = field(default_factory=dict)
    service_name: str = "verwerkingen-otel"  # when an action has no `systeem`
    service_version: str | None = None

    def logregels(self, actie: Verwerkingsactie | Mapping[str, Any], span: ActieSpan | None = None,
                  error_type: str | None = None) -> list[Logregel]:
        """The logregels of one action (a Verwerkingsactie or its POST body).

        `span` None: a new trace and span id, start and end at `tijdstip`. `error_type`: the
        qualified class name of the exception the processing raised (status `Error`).
        """
        if not isinstance(actie, Verwerkingsactie):
            actie = parse_verwerkingsactie(dict(actie))
        if span is None:
            start = _ns(actie)
            span = ActieSpan(os.urandom(16).hex(), os.urandom(8).hex(), None, start, start)
        scrub = _Scrubber(actie)
        persons = [o for o in actie.verwerkte_objecten if o.objecttype.lower() == "persoon"]
        others = [o for o in actie.verwerkte_objecten if o.objecttype.lower() != "persoon"]
        common = self._common(actie, scrub, others, error_type)
        resource: dict[str, AttributeValue] = {SERVICE_NAME: scrub(actie.systeem or self.service_name)}
        if self.service_version is not None:
            resource[SERVICE_VERSION] = scrub(self.service_version)
        name = scrub(actie.actie_naam or "verwerkingsactie")
        status = ERROR if error_type else UNSET

        def regel(span_id: str, parent: str | None, attributes: dict[str, AttributeValue]) -> Logregel:
            return Logregel(span.trace_id, span_id, parent, name, span.start_time_ns, span.end_time_ns,
                            status, attributes, resource)

        if len(persons) == 1:
            return [regel(span.span_id, span.parent_span_id, {**common, **self._person(persons[0], scrub)})]
        out = [regel(span.span_id, span.parent_span_id, dict(common))]
        for index, person in enumerate(persons):
            out.append(regel(_child_span_id(span, index), span.span_id, {**common, **self._person(person, scrub)}))
        return out

    def _common(self, actie: Verwerkingsactie, scrub: _Scrubber, others: list[VerwerktObject],
                error_type: str | None) -> dict[str, AttributeValue]:
        out: dict[str, AttributeValue] = {}
        if actie.verwerkingsactiviteit_url:
            out[PROCESSING_ACTIVITY_ID] = scrub(actie.verwerkingsactiviteit_url)
            if actie.verwerkingsactiviteit_id:
                out[_PREFIX + "verwerkingsactiviteit_id"] = actie.verwerkingsactiviteit_id
        elif actie.verwerkingsactiviteit_id:
            out[PROCESSING_ACTIVITY_ID] = f"urn:uuid:{actie.verwerkingsactiviteit_id}"
        if actie.afnemer_id is not None:
            if (actie.soort_afnemer_id or "").upper() == "OIN":
                out[FOREIGN_PROCESSOR] = self.processors.get(actie.afnemer_id) or f"urn:oin:{actie.afnemer_id}"
                out[_PREFIX + "afnemer_id"] = actie.afnemer_id
            else:  # a caller identified by anything but an OIN may be a person: pseudonymised
                kind = actie.soort_afnemer_id or "onbekend"
                out[_PREFIX + "afnemer_id"] = self.key.pseudonym(kind, actie.afnemer_id)
                out[PSEUDONYM_KEY_ID] = self.key.key_id
            out[_PREFIX + "soort_afnemer_id"] = scrub(actie.soort_afnemer_id or "onbekend")
        for name in _ACTION_FIELDS:
            value = getattr(actie, name)
            if value is not None:
                out[_PREFIX + name] = scrub(str(value))
        if others:
            out[_PREFIX + "objecten"] = json.dumps([
                {"objecttype": scrub(o.objecttype), "soortObjectId": scrub(o.soort_object_id),
                 "objectId": self.key.pseudonym(o.soort_object_id, o.object_id)} for o in others
            ], ensure_ascii=False, separators=(",", ":"))
            out[PSEUDONYM_KEY_ID] = self.key.key_id
        if error_type:
            out[EXCEPTION_TYPE] = scrub(error_type)
        return out

    def _person(self, person: VerwerktObject, scrub: _Scrubber) -> dict[str, AttributeValue]:
        id_type = canonical_id_type(person.soort_object_id)
        out: dict[str, AttributeValue] = {
            DATA_SUBJECT_ID: self.key.pseudonym(id_type, person.object_id),
            DATA_SUBJECT_ID_TYPE: scrub(id_type),
            PSEUDONYM_KEY_ID: self.key.key_id,
        }
        if person.betrokkenheid is not None:
            out[_PREFIX + "betrokkenheid"] = scrub(person.betrokkenheid)
        if person.verwerkte_soorten_gegevens:
            out[_PREFIX + "soorten_gegevens"] = tuple(scrub(s.soort_gegeven) for s in person.verwerkte_soorten_gegevens)
        return out


class _Scrubber:
    """Replaces the action's own identifiers, and any valid-BSN nine-digit run, in free text."""

    def __init__(self, actie: Verwerkingsactie) -> None:
        known = {o.object_id for o in actie.verwerkte_objecten}
        if (actie.soort_afnemer_id or "").upper() != "OIN":
            known.add(actie.afnemer_id or "")
        known.add(actie.gebruiker or "")
        self.known = sorted((k for k in known if len(k) >= _MIN_KNOWN), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self.known:
            if value in text:
                text = text.replace(value, REDACTED)
        return _NINE_DIGITS.sub(_redact_bsn, text) if len(text) >= 9 else text


def _redact_bsn(match: re.Match[str]) -> str:
    try:
        check_bsn(match.group(0))
    except InvalidValue:
        return match.group(0)
    return REDACTED


def _child_span_id(span: ActieSpan, index: int) -> str:
    """Derived, not random: a retried conversion gives the same records (the log de-duplicates)."""
    seed = bytes.fromhex(span.trace_id) + bytes.fromhex(span.span_id) + index.to_bytes(4, "big")
    digest = hashlib.sha256(b"verwerkingen-otel ldv child\0" + seed).digest()
    return (digest[:8] if any(digest[:8]) else digest[8:16]).hex()


def _ns(actie: Verwerkingsactie) -> int:
    delta = actie.tijdstip - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
