"""W3C `tracestate`: read the inbound header lines, and pass them on unchanged when valid.

OpenTelemetry's `TraceState` keeps only keys of the older multi-tenant grammar, so a valid
header such as `foo@=1` would be lost; this module keeps the W3C rules itself: the header lines
are one list; members are split on commas with optional spaces and tabs around them; empty
members are skipped; one invalid member, or more than 32 members, invalidates the whole list
(it is then dropped, never an error); a repeated key keeps its first occurrence.
"""

from __future__ import annotations

import re
from typing import Iterable

__all__ = ["MAX_MEMBERS", "parse_tracestate"]

MAX_MEMBERS = 32
_KEY = r"[0-9a-z][_0-9a-z\-*/@]{0,255}"
_VALUE = r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
_MEMBER = re.compile(f"^({_KEY})=({_VALUE})$")
_SPLIT = re.compile(r"[ \t]*,[ \t]*")


def parse_tracestate(lines: Iterable[str] | str | None) -> str | None:
    """The tracestate to pass on (members joined by ","), or None when absent or invalid."""
    if lines is None:
        return None
    members: list[str] = []
    seen: set[str] = set()
    for line in [lines] if isinstance(lines, str) else lines:
        for member in _SPLIT.split(line.strip(" \t")):
            if not member:
                continue
            match = _MEMBER.match(member)
            if match is None:
                return None
            key = match.group(1)
            if key in seen:
                continue
            seen.add(key)
            members.append(member)
            if len(members) > MAX_MEMBERS:
                return None
    return ",".join(members) or None
