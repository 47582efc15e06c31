"""`verwerking(...)`: defaults (verwerkingId, naam, vertrouwelijkheid, bewaartermijn) for every
action inside the block, kept in a contextvar so they follow threads and tasks like context does."""

from __future__ import annotations

import uuid
from contextvars import ContextVar, Token
from typing import Any

from ..model import Vertrouwelijkheid, new_uuid4
from ._settings import check_annotation

__all__ = ["Verwerking", "current_verwerking", "reset_var", "verwerking", "verwerking_var"]

_VERTROUWELIJK = Vertrouwelijkheid.VERTROUWELIJK


class Verwerking:
    """The verwerking in force inside a `with verwerking(...)` block."""

    __slots__ = ("verwerking_id", "verwerking_naam", "vertrouwelijkheid", "bewaartermijn", "_token")

    def __init__(
        self,
        verwerking_id: str,
        verwerking_naam: str | None,
        vertrouwelijkheid: Vertrouwelijkheid | None,
        bewaartermijn: str | None,
    ) -> None:
        self.verwerking_id = verwerking_id
        self.verwerking_naam = verwerking_naam
        self.vertrouwelijkheid = vertrouwelijkheid
        self.bewaartermijn = bewaartermijn
        self._token: Token[Verwerking | None] | None = None

    def __repr__(self) -> str:
        return f"Verwerking(verwerking_id={self.verwerking_id!r}, verwerking_naam={self.verwerking_naam!r})"


verwerking_var: ContextVar[Verwerking | None] = ContextVar("verwerkingen_verwerking", default=None)


def current_verwerking() -> Verwerking | None:
    """The innermost `verwerking(...)` block in force, if any."""
    return verwerking_var.get()


class verwerking:
    """`with verwerking(verwerking_id=zaak_uuid, ...)`: defaults for every action inside.

    Arguments are checked here, naming the setting on a mistake. Without a `verwerking_id` the
    block gets one new uuid4 (or keeps the one of an enclosing block), shared by its actions.
    In a nested block a value set inside wins, except that the most confidential
    vertrouwelijkheid applies. Works with `with` and `async with`; reusable.
    """

    def __init__(
        self,
        *,
        verwerking_id: str | uuid.UUID | None = None,
        verwerking_naam: str | None = None,
        vertrouwelijkheid: str | Vertrouwelijkheid | None = None,
        bewaartermijn: str | None = None,
    ) -> None:
        self._verwerking_id = check_annotation("verwerking_id", verwerking_id)
        self._verwerking_naam = check_annotation("verwerking_naam", verwerking_naam)
        self._vertrouwelijkheid = check_annotation("vertrouwelijkheid", vertrouwelijkheid)
        self._bewaartermijn = check_annotation("bewaartermijn", bewaartermijn)

    def __enter__(self) -> Verwerking:
        outer = verwerking_var.get()
        vertrouwelijkheid = self._vertrouwelijkheid
        if outer is not None and outer.vertrouwelijkheid is _VERTROUWELIJK:
            vertrouwelijkheid = _VERTROUWELIJK
        frame = Verwerking(
            self._verwerking_id or (outer.verwerking_id if outer else None) or new_uuid4(),
            self._verwerking_naam or (outer.verwerking_naam if outer else None),
            vertrouwelijkheid or (outer.vertrouwelijkheid if outer else None),
            self._bewaartermijn or (outer.bewaartermijn if outer else None),
        )
        frame._token = verwerking_var.set(frame)
        return frame

    def __exit__(self, *exc_info: object) -> None:
        frame = verwerking_var.get()
        if frame is not None and frame._token is not None:
            reset_var(verwerking_var, frame._token, None)

    async def __aenter__(self) -> Verwerking:
        return self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__(*exc_info)


def reset_var(var: ContextVar[Any], token: Token[Any], fallback: Any) -> None:
    """Reset `var`; when the block ended in another context than it began, set `fallback`."""
    try:
        var.reset(token)
    except ValueError:
        var.set(fallback)
