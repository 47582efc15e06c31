"""`/register`: the organisation's register of processing activities, as a citizen reads it.

Public (no login), filterable by categorie through a plain GET form; it shows the current
version of each activity, the same data the VAR API serves.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..register_runtime import register_of
from ..state import state_of
from .render import render


async def register_page(request: Request) -> Response:
    history = await state_of(request).db(register_of(request).store.history)
    activiteiten = sorted((v.activiteit for v in history.valid() if v.activiteit is not None),
                          key=lambda a: (a.naam, a.id))
    categorieen = sorted({a.categorie for a in activiteiten if a.categorie})
    gekozen = request.query_params.get("categorie") or None
    if gekozen is not None and gekozen not in categorieen:
        gekozen = None
    shown = [a for a in activiteiten if gekozen is None or a.categorie == gekozen]
    return render(request, "register.html", activiteiten=shown, categorieen=categorieen, gekozen=gekozen,
                  totaal=len(activiteiten))


__all__ = ["register_page"]
