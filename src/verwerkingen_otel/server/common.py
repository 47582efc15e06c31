"""What the Bewerking and Inzage handlers share: the vertrouwelijkheid levels, 403s, JSON replies."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from ..model import Vertrouwelijkheid
from .errors import API_VERSION, ApiError

NORMAAL = Vertrouwelijkheid.NORMAAL.value
VERTROUWELIJK = Vertrouwelijkheid.VERTROUWELIJK.value
OPGEHEVEN = Vertrouwelijkheid.OPGEHEVEN.value


def forbidden(detail: str) -> ApiError:
    return ApiError(403, "permission_denied", detail)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"API-version": API_VERSION, **(headers or {})})


__all__ = ["NORMAAL", "OPGEHEVEN", "VERTROUWELIJK", "forbidden", "json_response"]
