"""What makes a logregel acceptable to the log (NOTES "The log record" and "Core attributes").

Each broken rule is one reason naming the field, never its value: the value may be a BSN.
"""

from __future__ import annotations

import re

from ..model import InvalidValue, check_bsn, check_uri
from ._logregel import (
    CORE_KEYS, DATA_SUBJECT_ID, DATA_SUBJECT_ID_TYPE, FOREIGN_PROCESSOR, PROCESSING_ACTIVITY_ID,
    REMOVED_KEYS, STATUSES, Logregel,
)

__all__ = ["MAX_NAME", "MAX_TIME_NS", "logregel_problems"]

MAX_NAME = 1000
MAX_TIME_NS = 2**63 - 1  # OTLP's fixed64 may hold more than a signed 64-bit column can
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")


def logregel_problems(r: Logregel) -> list[str]:
    """Every rule the record breaks; empty when it may be stored."""
    out: list[str] = []
    if not _HEX32.match(r.trace_id) or not r.trace_id.strip("0"):
        out.append("trace_id must be 16 bytes, not all zero")
    if not _HEX16.match(r.span_id) or not r.span_id.strip("0"):
        out.append("span_id must be 8 bytes, not all zero")
    if r.parent_span_id is not None and (not _HEX16.match(r.parent_span_id) or not r.parent_span_id.strip("0")):
        out.append("parent_span_id must be empty or 8 bytes, not all zero")
    if not r.name.strip():
        out.append("name is required")
    elif len(r.name) > MAX_NAME:
        out.append(f"name must be at most {MAX_NAME} characters")
    if r.start_time_ns <= 0 or r.end_time_ns <= 0:
        out.append("start_time and end_time are required")
    elif max(r.start_time_ns, r.end_time_ns) > MAX_TIME_NS:
        out.append("start_time and end_time must be before the year 2262")
    elif r.end_time_ns < r.start_time_ns:
        out.append("end_time must not be before start_time")
    if r.status not in STATUSES:
        out.append("status must be Unset, Ok or Error")
    for key in sorted(r.attributes):
        if key in REMOVED_KEYS:
            out.append(f"{key} was removed from the standard and must not be written")
        elif key.startswith("dpl.") and key not in CORE_KEYS:
            out.append(f"{key} is not a dpl.core attribute (extensions are not adopted)")
        elif key in CORE_KEYS and (not isinstance(r.attributes[key], str) or not r.attributes[key]):
            out.append(f"{key} must be a non-empty string")
    out.extend(_subject_problems(r))
    for key in (PROCESSING_ACTIVITY_ID, FOREIGN_PROCESSOR):
        value = r.attributes.get(key)
        if isinstance(value, str) and value:
            try:
                check_uri(value)
            except InvalidValue:
                out.append(f"{key} must be an absolute URI")
    return out


def _subject_problems(r: Logregel) -> list[str]:
    subject = r.attributes.get(DATA_SUBJECT_ID)
    kind = r.attributes.get(DATA_SUBJECT_ID_TYPE)
    if subject is None and kind is None:
        return []
    out = []
    if subject is None:
        out.append(f"{DATA_SUBJECT_ID_TYPE} is set without {DATA_SUBJECT_ID}")
    if kind is None:
        out.append(f"{DATA_SUBJECT_ID} is set without {DATA_SUBJECT_ID_TYPE}")
    if PROCESSING_ACTIVITY_ID not in r.attributes:
        out.append(f"{PROCESSING_ACTIVITY_ID} is required when personal data is processed")
    if isinstance(subject, str) and isinstance(kind, str) and kind.strip().upper() == "BSN" and _is_bsn(subject):
        out.append(f"{DATA_SUBJECT_ID} is a plain BSN: it must be pseudonymised")
    return out


def _is_bsn(value: str) -> bool:
    try:
        check_bsn(value.strip())
    except InvalidValue:
        return False
    return True
