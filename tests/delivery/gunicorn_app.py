"""A WSGI app for the gunicorn test: configured at import (so `--preload` configures it in the
master, before the workers fork), one recorded action per request."""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable

import verwerkingen_otel as vo

vo.configure()  # everything from VERWERKINGEN_* in the environment


@vo.verwerkingsactie(actie_naam="Raadplegen persoon", verwerkingsactiviteit_id=os.environ["TEST_ACTIVITEIT"],
                     objecten=[vo.persoon("bsn")])
def raadplegen(bsn: str) -> str:
    return f"pid {os.getpid()}"


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = raadplegen("999993653").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
