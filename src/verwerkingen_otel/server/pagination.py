"""[R] Pagination of both list endpoints: `page` (1-based), fixed page size, absolute links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse

from .common import json_response
from .errors import ApiError, InvalidParam
from .records import ListPage

MAX_PAGE = 10_000_000


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def parse_page(values: list[str], size: int, errors: list[InvalidParam]) -> Page:
    """`page` must be one positive integer; errors are collected, not raised."""
    if not values:
        return Page(1, size)
    raw = values[-1]
    if len(values) > 1:
        errors.append(InvalidParam("page", "duplicate", "mag maar één keer voorkomen"))
    elif not raw.isascii() or not raw.isdigit() or int(raw) < 1 or int(raw) > MAX_PAGE:
        errors.append(InvalidParam("page", "invalid", f"moet een positief geheel getal zijn (1..{MAX_PAGE})"))
    else:
        return Page(int(raw), size)
    return Page(1, size)


def page_body(request: Request, base_url: str, prefix: str, page: Page, found: ListPage,
              results: list[Any]) -> dict[str, Any]:
    """`{count, next, previous, results}`; a page past the last one is a 404.

    `count` is exact up to the server's count limit and a lower bound above it (exact on the
    last page); `next` is there exactly when another row follows (docs/server.md, "Counting").
    """
    if page.number > 1 and not found.items:
        raise ApiError(404, "not_found", "Deze pagina bestaat niet.")

    def link(number: int) -> str:
        items = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
        items.append(("page", str(number)))
        return f"{base_url}{prefix}?{urlencode(items)}"

    return {
        "count": found.count,
        "next": link(page.number + 1) if found.has_next else None,
        "previous": link(page.number - 1) if page.number > 1 else None,
        "results": results,
    }


def page_response(body: dict[str, Any], found: ListPage) -> JSONResponse:
    """The list response; `Count-Exact: false` says `count` is a lower bound."""
    return json_response(body, headers={"Count-Exact": "true" if found.exact else "false"})
