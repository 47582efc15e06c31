"""Every API operation as a `Call`: the `httpx.Request` to send and how to read its answer.

No I/O here: the twins in `_client` only send. Bodies are encoded to JSON once, here (or
handed over already encoded, as the outbox stores them), and sent as `content=` with
`Content-Type: application/json`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Mapping, TypeVar, Union

import httpx

from ..model import WRITABLE_KEYS, Vertrouwelijkheid, Verwerkingsactie
from ._errors import InvalidResponseError, error_for
from ._models import InzageObject, Page, VastgelegdeActie
from ._status import failure_kind
from ._untraced import UNTRACED_EXTENSION

__all__ = ["ActieBody", "Call", "Operations", "encode_json", "list_params"]

T = TypeVar("T")

ActieBody = Union[Verwerkingsactie, Mapping[str, Any], bytes]
"""A verwerkingsactie to send: typed, as its API JSON object, or that JSON already encoded."""

_JSON_HEADERS = {"Content-Type": "application/json"}


def encode_json(body: object) -> bytes:
    """JSON as sent to the log: UTF-8, compact, no NaN or Infinity (they are not JSON)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


@dataclass
class Call(Generic[T]):
    """One request and how to read its successful response."""

    request: httpx.Request
    parse: Callable[[httpx.Response], T]
    expect: tuple[int, ...] = (200,)

    def read(self, response: httpx.Response) -> T:
        """The parsed answer, or the typed exception its status calls for (see `_status`)."""
        status = response.status_code
        if status in self.expect:
            return self.parse(response)
        if failure_kind(status) in ("ok", "unexpected"):
            raise InvalidResponseError(f"unexpected status {status}")
        raise error_for(response)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise InvalidResponseError("the log's response is not JSON") from None


def _page_parser(item: Callable[[object], T]) -> Callable[[httpx.Response], Page[T]]:
    def parse(response: httpx.Response) -> Page[T]:
        body = _json(response)
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise InvalidResponseError("expected a page {count, next, previous, results}")
        return Page(
            count=int(body.get("count") or 0),
            results=[item(r) for r in body["results"]],
            next=body.get("next"),
            previous=body.get("previous"),
        )

    return parse


def _actie_body(actie: Verwerkingsactie | Mapping[str, Any]) -> dict[str, Any]:
    return actie.to_api() if isinstance(actie, Verwerkingsactie) else dict(actie)


def _date(value: dt.date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value


def _params(**values: Any) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            params.extend((key, str(v)) for v in value)
        else:
            params.append((key, str(value)))
    return params


def list_params(*, soort_object_id: str, object_id: str, objecttype: str = "persoon",
                begin_datum: dt.date | str | None = None, eind_datum: dt.date | str | None = None,
                verwerkingsactiviteit_id: str | None = None,
                vertrouwelijkheid: Iterable[Vertrouwelijkheid | str] | Vertrouwelijkheid | str | None = None,
                ) -> list[tuple[str, str]]:
    """Query parameters of GET /verwerkingsacties (and, without vertrouwelijkheid, Inzage)."""
    if isinstance(vertrouwelijkheid, (str, Vertrouwelijkheid)):
        vertrouwelijkheid = [vertrouwelijkheid]
    return _params(
        objecttype=objecttype, soortObjectId=soort_object_id, objectId=object_id,
        beginDatum=_date(begin_datum), eindDatum=_date(eind_datum),
        verwerkingsactiviteitId=verwerkingsactiviteit_id,
        vertrouwelijkheid=[str(Vertrouwelijkheid.parse(v)) for v in vertrouwelijkheid]
        if vertrouwelijkheid is not None else None,
    )


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in, for comparing origins."""
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme)


def origin_text(url: httpx.URL) -> str:
    scheme, host, port = origin(url)
    return f"{scheme}://{'[' + host + ']' if ':' in host else host}:{port}"


class Operations:
    """Every API operation as a `Call`; no I/O here."""

    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        # the client's own headers go on every request here: httpx's `send` adds none of them
        self.headers = dict(headers or {})

    def _request(self, method: str, path_or_url: str, *, body: bytes | None = None,
                 headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Request:
        url = path_or_url if "://" in path_or_url else f"{self.base_url}{path_or_url}"
        merged = {**self.headers, **(_JSON_HEADERS if body is not None else {}), **(headers or {})}
        if body is not None:
            kwargs["content"] = body
        request = httpx.Request(method, url, headers=merged, **kwargs)
        request.extensions[UNTRACED_EXTENSION] = True
        return request

    def create(self, actie: ActieBody, idempotency_key: str | None) -> Call[VastgelegdeActie]:
        body = bytes(actie) if isinstance(actie, (bytes, bytearray, memoryview)) else encode_json(_actie_body(actie))
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        request = self._request("POST", "/verwerkingsacties", body=body, headers=headers)
        return Call(request, lambda r: VastgelegdeActie.from_api(_json(r)), (201, 200))

    def list_page(self, params: list[tuple[str, str]], page: int) -> Call[Page[VastgelegdeActie]]:
        if page != 1:
            params = [*params, ("page", str(page))]
        request = self._request("GET", "/verwerkingsacties", params=params)
        return Call(request, _page_parser(VastgelegdeActie.from_api))

    def follow(self, url: str, item: Callable[[object], T]) -> Call[Page[T]]:
        """A page's `next`, only on the log's own origin: the request carries the token and a
        query with a BSN, so a link elsewhere is refused, naming its origin, never its query."""
        base = httpx.URL(self.base_url)
        try:
            target = base.join(url)
        except (httpx.InvalidURL, TypeError):
            raise InvalidResponseError("the log's next link is not a URL; not followed") from None
        if origin(target) != origin(base):
            raise InvalidResponseError(f"the log's next link points to another origin ({origin_text(target)}) "
                                       f"than the log ({origin_text(base)}); not followed")
        return Call(self._request("GET", str(target)), _page_parser(item))

    def get(self, actie_id: str) -> Call[VastgelegdeActie]:
        request = self._request("GET", f"/verwerkingsacties/{actie_id}")
        return Call(request, lambda r: VastgelegdeActie.from_api(_json(r)))

    def replace(self, actie_id: str, actie: Verwerkingsactie | Mapping[str, Any]) -> Call[VastgelegdeActie]:
        body = _actie_body(actie)
        if isinstance(actie, Verwerkingsactie):
            # PUT is a full replacement: every writable key present, null where unset; objects
            # read from the log keep their verwerktObjectId, so the log matches them by it.
            body = {key: body.get(key) for key in sorted(WRITABLE_KEYS)}
            for obj, obj_body in zip(actie.verwerkte_objecten, body["verwerkteObjecten"]):
                if obj.verwerkt_object_id:
                    obj_body["verwerktObjectId"] = obj.verwerkt_object_id
        request = self._request("PUT", f"/verwerkingsacties/{actie_id}", body=encode_json(body))
        return Call(request, lambda r: VastgelegdeActie.from_api(_json(r)))

    def patch(self, verwerking_id: str, bewaartermijn: str | None,
              vertrouwelijkheid: Vertrouwelijkheid | str | None) -> Call[None]:
        body: dict[str, str] = {}
        if bewaartermijn is not None:
            body["bewaartermijn"] = bewaartermijn
        if vertrouwelijkheid is not None:
            body["vertrouwelijkheid"] = str(Vertrouwelijkheid.parse(vertrouwelijkheid))
        if not body:
            raise ValueError("patch needs bewaartermijn or vertrouwelijkheid")
        request = self._request("PATCH", "/verwerkingsacties", params={"verwerkingId": verwerking_id},
                                body=encode_json(body))
        return Call(request, lambda r: None, (204, 200))

    def delete(self, actie_id: str) -> Call[None]:
        request = self._request("DELETE", f"/verwerkingsacties/{actie_id}")
        return Call(request, lambda r: None, (204, 200))

    def inzage_page(self, params: list[tuple[str, str]], page: int) -> Call[Page[InzageObject]]:
        if page != 1:
            params = [*params, ("page", str(page))]
        request = self._request("GET", "/verwerkte-objecten", params=params)
        return Call(request, _page_parser(InzageObject.from_api))

    def inzage_get(self, verwerkt_object_id: str) -> Call[InzageObject]:
        request = self._request("GET", f"/verwerkte-objecten/{verwerkt_object_id}")
        return Call(request, lambda r: InzageObject.from_api(_json(r)))
