"""The two clients of the Verwerkingenlogging API (Bewerking + Inzage): blocking and asyncio.

Twins on `BaseClient`: each adds its httpx pool, `send_raw` (the one place a request leaves,
untraced, through the error border) and closing; every operation is the same line in both,
awaited in one. Iterating methods follow `next` across every page.
"""

from __future__ import annotations

import ssl
from typing import Any, AsyncIterator, Iterator, Mapping, TypeVar

import httpx

from ..model import Vertrouwelijkheid, Verwerkingsactie
from ._base import BaseClient
from ._errors import translate_httpx_errors
from ._models import InzageObject, Page, VastgelegdeActie
from ._operations import ActieBody, Call, list_params
from ._untraced import untraced

__all__ = ["AsyncVerwerkingenlogClient", "VerwerkingenlogClient"]

T = TypeVar("T")


class VerwerkingenlogClient(BaseClient):
    """Blocking client. Thread-safe; keeps one keep-alive connection pool. Timeouts in seconds."""

    def __init__(self, base_url: str, *, client_id: str | None = None, secret: str | None = None,
                 token: str | None = None, timeout: float = 10.0,
                 connect_timeout: float | None = None, verify: bool | str | ssl.SSLContext = True,
                 cert: str | tuple[str, str] | None = None,
                 headers: Mapping[str, str] | None = None,
                 max_connections: int = 10, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(base_url, client_id=client_id, secret=secret, token=token, timeout=timeout,
                         connect_timeout=connect_timeout, verify=verify, cert=cert, headers=headers,
                         max_connections=max_connections)
        self._http = httpx.Client(**self._pool_options(), transport=transport)

    def send_raw(self, request: httpx.Request) -> httpx.Response:
        """Send a prepared request untraced, for the delivery worker; raises TransportError."""
        with translate_httpx_errors(), untraced():
            return self._http.send(request)

    def _send(self, call: Call[T]) -> T:
        return call.read(self.send_raw(call.request))

    def create(self, actie: ActieBody, *, idempotency_key: str | None = None) -> VastgelegdeActie:
        """POST /verwerkingsacties; with a key, a repeat returns the original record."""
        return self._send(self._ops.create(actie, idempotency_key))

    def list_page(self, *, page: int = 1, **filters: Any) -> Page[VastgelegdeActie]:
        return self._send(self._ops.list_page(list_params(**filters), page))

    def list(self, **filters: Any) -> Iterator[VastgelegdeActie]:
        """GET /verwerkingsacties, following `next` across every page."""
        page = self.list_page(**filters)
        yield from page.results
        while page.next:
            page = self._send(self._ops.follow(page.next, VastgelegdeActie.from_api))
            yield from page.results

    def get(self, actie_id: str) -> VastgelegdeActie:
        return self._send(self._ops.get(actie_id))

    def replace(self, actie_id: str, actie: Verwerkingsactie | Mapping[str, Any]) -> VastgelegdeActie:
        """PUT: a full replacement, answered with the new version (new actieId)."""
        return self._send(self._ops.replace(actie_id, actie))

    def patch(self, verwerking_id: str, *, bewaartermijn: str | None = None,
              vertrouwelijkheid: Vertrouwelijkheid | str | None = None) -> None:
        """PATCH ?verwerkingId=: lift confidentiality or set retention for a whole verwerking."""
        return self._send(self._ops.patch(verwerking_id, bewaartermijn, vertrouwelijkheid))

    def delete(self, actie_id: str) -> None:
        return self._send(self._ops.delete(actie_id))

    def inzage_page(self, *, page: int = 1, **filters: Any) -> Page[InzageObject]:
        return self._send(self._ops.inzage_page(list_params(**filters), page))

    def inzage_list(self, **filters: Any) -> Iterator[InzageObject]:
        """GET /verwerkte-objecten (beginDatum and eindDatum required), every page."""
        page = self.inzage_page(**filters)
        yield from page.results
        while page.next:
            page = self._send(self._ops.follow(page.next, InzageObject.from_api))
            yield from page.results

    def inzage_get(self, verwerkt_object_id: str) -> InzageObject:
        return self._send(self._ops.inzage_get(verwerkt_object_id))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> VerwerkingenlogClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncVerwerkingenlogClient(BaseClient):
    """The asyncio twin of `VerwerkingenlogClient`: the same operations, awaited."""

    def __init__(self, base_url: str, *, client_id: str | None = None, secret: str | None = None,
                 token: str | None = None, timeout: float = 10.0,
                 connect_timeout: float | None = None, verify: bool | str | ssl.SSLContext = True,
                 cert: str | tuple[str, str] | None = None,
                 headers: Mapping[str, str] | None = None,
                 max_connections: int = 10, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(base_url, client_id=client_id, secret=secret, token=token, timeout=timeout,
                         connect_timeout=connect_timeout, verify=verify, cert=cert, headers=headers,
                         max_connections=max_connections)
        self._http = httpx.AsyncClient(**self._pool_options(), transport=transport)

    async def send_raw(self, request: httpx.Request) -> httpx.Response:
        """Send a prepared request untraced, for the delivery worker; raises TransportError."""
        with translate_httpx_errors(), untraced():
            return await self._http.send(request)

    async def _send(self, call: Call[T]) -> T:
        return call.read(await self.send_raw(call.request))

    async def create(self, actie: ActieBody, *, idempotency_key: str | None = None) -> VastgelegdeActie:
        """POST /verwerkingsacties; with a key, a repeat returns the original record."""
        return await self._send(self._ops.create(actie, idempotency_key))

    async def list_page(self, *, page: int = 1, **filters: Any) -> Page[VastgelegdeActie]:
        return await self._send(self._ops.list_page(list_params(**filters), page))

    async def list(self, **filters: Any) -> AsyncIterator[VastgelegdeActie]:
        """GET /verwerkingsacties, following `next` across every page."""
        page = await self.list_page(**filters)
        for item in page.results:
            yield item
        while page.next:
            page = await self._send(self._ops.follow(page.next, VastgelegdeActie.from_api))
            for item in page.results:
                yield item

    async def get(self, actie_id: str) -> VastgelegdeActie:
        return await self._send(self._ops.get(actie_id))

    async def replace(self, actie_id: str, actie: Verwerkingsactie | Mapping[str, Any]) -> VastgelegdeActie:
        """PUT: a full replacement, answered with the new version (new actieId)."""
        return await self._send(self._ops.replace(actie_id, actie))

    async def patch(self, verwerking_id: str, *, bewaartermijn: str | None = None,
                    vertrouwelijkheid: Vertrouwelijkheid | str | None = None) -> None:
        """PATCH ?verwerkingId=: lift confidentiality or set retention for a whole verwerking."""
        return await self._send(self._ops.patch(verwerking_id, bewaartermijn, vertrouwelijkheid))

    async def delete(self, actie_id: str) -> None:
        return await self._send(self._ops.delete(actie_id))

    async def inzage_page(self, *, page: int = 1, **filters: Any) -> Page[InzageObject]:
        return await self._send(self._ops.inzage_page(list_params(**filters), page))

    async def inzage_list(self, **filters: Any) -> AsyncIterator[InzageObject]:
        """GET /verwerkte-objecten (beginDatum and eindDatum required), every page."""
        page = await self.inzage_page(**filters)
        for item in page.results:
            yield item
        while page.next:
            page = await self._send(self._ops.follow(page.next, InzageObject.from_api))
            for item in page.results:
                yield item

    async def inzage_get(self, verwerkt_object_id: str) -> InzageObject:
        return await self._send(self._ops.inzage_get(verwerkt_object_id))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncVerwerkingenlogClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
