"""Transparency pages (server-rendered HTML, Dutch, no JavaScript): `/register` and `/inzage`.

`routes(settings)` gives the Starlette routes; `/inzage` works only with a users file
(`serve --users FILE`, users made by `verwerkingen-otel users add`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

_STATIC = Path(__file__).with_name("static")


async def _stylesheet(_request: Request) -> Response:
    return Response((_STATIC / "style.css").read_bytes(), media_type="text/css",
                    headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


def routes(settings: Any) -> list[BaseRoute]:
    from .inzage_page import InzagePages
    from .register_page import register_page

    inzage = InzagePages(getattr(settings, "users_file", None), getattr(settings, "session_idle_seconds", 900))
    return [
        Route("/register", register_page, methods=["GET"]),
        Route("/pages/style.css", _stylesheet, methods=["GET"]),
        Route("/inzage", inzage.start, methods=["GET"]),
        Route("/inzage/inloggen", inzage.login, methods=["POST"]),
        Route("/inzage/uitloggen", inzage.logout, methods=["POST"]),
        Route("/inzage/zoeken", inzage.search, methods=["POST"]),
        Route("/inzage/download", inzage.download, methods=["POST"]),
    ]


__all__ = ["routes"]
