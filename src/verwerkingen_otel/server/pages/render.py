"""Jinja2 rendering for the transparency pages, with the headers every page carries.

Templates autoescape; pages need no JavaScript, so the Content-Security-Policy allows none.
Pages that can show personal data are never stored by the browser or a proxy (`no-store`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

_env = Environment(
    loader=PackageLoader("verwerkingen_otel.server.pages", "templates"),
    autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
)

def tijdstip(value: str) -> str:
    """`2024-03-01T10:00:00+01:00` → `01-03-2024 10:00:00 (+01:00)`: Dutch order, the offset kept."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    offset = moment.strftime("%z")
    zone = f" ({offset[:3]}:{offset[3:]})" if offset else ""
    return moment.strftime("%d-%m-%Y %H:%M:%S") + zone


_env.filters["tijdstip"] = tijdstip

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def render(request: Request, template: str, *, status: int = 200, private: bool = False,
           **context: Any) -> HTMLResponse:
    html = _env.get_template(template).render(request=request, **context)
    headers = dict(SECURITY_HEADERS)
    headers["Cache-Control"] = "no-store" if private else "public, max-age=60"
    return HTMLResponse(html, status_code=status, headers=headers)


__all__ = ["SECURITY_HEADERS", "render"]
