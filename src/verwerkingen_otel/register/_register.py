"""A loaded register: lookup by naam or id, closest-name suggestions, and whole-file checks."""

from __future__ import annotations

import difflib
from typing import Any, Iterable, Iterator

from ..model import InvalidValue, check_uuid
from ._activiteit import Verwerkingsactiviteit, parse_activiteit
from ._errors import AmbiguousActiviteit, InvalidRegister, Problem, UnknownActiviteit

TOP_KEY = "verwerkingsactiviteiten"


class Register:
    """An immutable set of activities; names may repeat (NOTES §8), ids may not."""

    def __init__(self, activiteiten: Iterable[Verwerkingsactiviteit], source: str = "register") -> None:
        self.source = source
        self.activiteiten: tuple[Verwerkingsactiviteit, ...] = tuple(activiteiten)
        self._by_id = {a.id: a for a in self.activiteiten}
        if len(self._by_id) != len(self.activiteiten):
            raise ValueError("a register holds each id once")
        self._by_naam: dict[str, list[Verwerkingsactiviteit]] = {}
        for a in self.activiteiten:
            self._by_naam.setdefault(a.naam, []).append(a)

    def __iter__(self) -> Iterator[Verwerkingsactiviteit]:
        return iter(self.activiteiten)

    def __len__(self) -> int:
        return len(self.activiteiten)

    def __contains__(self, activiteit_id: object) -> bool:
        return isinstance(activiteit_id, str) and activiteit_id.lower() in self._by_id

    def get(self, activiteit_id: str) -> Verwerkingsactiviteit | None:
        return self._by_id.get(activiteit_id.lower())

    def names(self) -> list[str]:
        return sorted(self._by_naam)

    def lookup(self, key: str) -> Verwerkingsactiviteit:
        """The activity with this id or (exact) naam.

        Raises UnknownActiviteit with the closest names, or AmbiguousActiviteit listing the ids
        when the name is held more than once.
        """
        try:
            found = self._by_id.get(check_uuid(key))
        except InvalidValue:
            found = None
        if found is not None:
            return found
        same = self._by_naam.get(key, [])
        if len(same) == 1:
            return same[0]
        if len(same) > 1:
            raise AmbiguousActiviteit(key, sorted(a.id for a in same))
        raise UnknownActiviteit(key, self.suggest(key))

    def suggest(self, key: str, n: int = 3) -> list[str]:
        """The names closest to `key` (case-insensitive), best first."""
        lowered = {name.lower(): name for name in self._by_naam}
        close = difflib.get_close_matches(key.lower(), list(lowered), n=n, cutoff=0.5)
        return [lowered[c] for c in close]

    def categorieen(self) -> list[str]:
        return sorted({a.categorie for a in self.activiteiten if a.categorie})


def parse_register(data: Any, source: str, *, allow_extra: bool = False) -> Register:
    """A Register from the file's data (`{"verwerkingsactiviteiten": [...]}`), or InvalidRegister
    listing every problem (each naming the activity and the field)."""
    if not isinstance(data, dict):
        raise InvalidRegister(source, [Problem("register", "-", "invalid",
                                               f"must be a table/object with a list `{TOP_KEY}`")])
    problems: list[Problem] = []
    unknown = sorted(set(data) - {TOP_KEY}, key=str)
    if unknown and not allow_extra:
        problems.extend(Problem("register", str(k), "unknown_field", f"only `{TOP_KEY}` is allowed at the top")
                        for k in unknown)
    items = data.get(TOP_KEY)
    if not isinstance(items, list):
        problems.append(Problem("register", TOP_KEY, "required", "must be a list of activities"))
        raise InvalidRegister(source, problems)
    found: list[Verwerkingsactiviteit] = []
    first_index: dict[str, int] = {}
    for i, raw in enumerate(items):
        activiteit, more = parse_activiteit(raw, i, allow_extra=allow_extra)
        problems.extend(more)
        if activiteit is None:
            continue
        if activiteit.id in first_index:
            problems.append(Problem(f"{TOP_KEY}[{i}] {activiteit.naam!r}", "id", "duplicate",
                                    f"is also the id of {TOP_KEY}[{first_index[activiteit.id]}]"))
            continue
        first_index[activiteit.id] = i
        found.append(activiteit)
    if problems:
        raise InvalidRegister(source, problems)
    return Register(found, source)


__all__ = ["Register", "parse_register"]
