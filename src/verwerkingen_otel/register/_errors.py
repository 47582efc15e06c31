"""The register's exceptions; callers catch `RegisterError`.

RegisterError              a register cannot be read, loaded or used
├── InvalidRegister        a register file or response breaks field rules (`.problems`)
├── UnknownActiviteit      a name or id the register does not hold (`.suggestions`)
├── AmbiguousActiviteit    a name the register holds more than once (`.ids`)
└── RegisterUnavailable    a remote register is down and no cached copy exists
"""

from __future__ import annotations

from typing import NamedTuple, Sequence


class Problem(NamedTuple):
    """One broken rule: which activity (its naam, else its position), which field, and why."""

    activiteit: str
    field: str
    code: str
    reason: str

    def __str__(self) -> str:
        return f"{self.activiteit}: {self.field}: {self.reason}"


class RegisterError(ValueError):
    """A register cannot be read, loaded or used; the message names the source and field."""


class InvalidRegister(RegisterError):
    """The register breaks one or more field rules; `problems` lists every one of them."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s) in the register:\n{lines}")


class UnknownActiviteit(RegisterError):
    """No activity has this naam or id; `suggestions` holds the closest names."""

    def __init__(self, key: str, suggestions: Sequence[str]) -> None:
        self.key = key
        self.suggestions = list(suggestions)
        hint = ("; closest names: " + ", ".join(repr(s) for s in self.suggestions)) if self.suggestions else ""
        super().__init__(f"the register holds no verwerkingsactiviteit named or with id {key!r}{hint}")


class AmbiguousActiviteit(RegisterError):
    """More than one activity has this naam (NOTES §8); `ids` are the ones to choose from."""

    def __init__(self, naam: str, ids: Sequence[str]) -> None:
        self.naam = naam
        self.ids = list(ids)
        super().__init__(f"the register holds {len(self.ids)} verwerkingsactiviteiten named {naam!r}; "
                         f"give one of their ids instead: {', '.join(self.ids)}")


class RegisterUnavailable(RegisterError):
    """A remote register could not be fetched and there is no cached copy to fall back on."""


__all__ = [
    "AmbiguousActiviteit", "InvalidRegister", "Problem", "RegisterError", "RegisterUnavailable",
    "UnknownActiviteit",
]
