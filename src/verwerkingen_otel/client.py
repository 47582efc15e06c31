"""A client for the Verwerkingenlogging API (Bewerking + Inzage), sync and async.

Both twins share one implementation: `_Operations` turns each call into an `httpx.Request`
plus a parser for its response, and `_interpret` turns every error response into a typed
exception. Only `send` differs (a plain call or an `await`), the way httpx itself keeps
`Client` and `AsyncClient` to one set of rules.

The client's own HTTP calls are never traced: they may carry a BSN in a query string, and the
application's tracing backend must not see it. Every send runs with OpenTelemetry's
suppress-instrumentation context key set, and each request carries the extension
`UNTRACED_EXTENSION` so our own httpx instrumentation can skip it too.

JWT: HS256 signed with the stdlib `hmac` (a dozen lines) rather than making PyJWT a core
dependency; the core install stays opentelemetry + wrapt + httpx.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Generic, Iterable, Iterator, Mapping, TypeVar

import httpx
from opentelemetry import context as otel_context

from .model import (
    WRITABLE_KEYS,
    FieldError,
    ValidationError,
    Vertrouwelijkheid,
    VerwerktObject,
    Verwerkingsactie,
    check_datetime,
    parse_verwerkingsactie,
)

__all__ = [
    "ApiError",
    "AsyncVerwerkingenlogClient",
    "ConflictError",
    "ForbiddenError",
    "InvalidResponseError",
    "InzageObject",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "RateLimitedError",
    "ServerError",
    "TransportError",
    "UNTRACED_EXTENSION",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
    "ValidatieFoutError",
    "VastgelegdeActie",
    "VerwerkingenlogClient",
    "VerwerkingenlogError",
    "jwt_hs256",
    "parse_retry_after",
    "untraced",
]

T = TypeVar("T")

UNTRACED_EXTENSION = "verwerkingen.untraced"
"""httpx request extension on every request of ours (the same marker as `httpx.UNTRACED`):
instrumentations must neither trace it nor add verwerkingen headers."""

TOKEN_LIFETIME = 300.0
"""Seconds a self-signed JWT is valid; it is renewed once less than a fifth of that is left."""


# --- errors ------------------------------------------------------------------------------


class VerwerkingenlogError(Exception):
    """Anything that went wrong talking to the log."""


class TransportError(VerwerkingenlogError):
    """No HTTP answer: connection refused or reset, timeout, TLS failure."""


class InvalidResponseError(VerwerkingenlogError):
    """The log answered, but not with what the standard promises."""


class ApiError(VerwerkingenlogError):
    """The log answered with an error status; `problem` is its problem+json (or {})."""

    def __init__(self, status: int, problem: Mapping[str, Any] | None = None) -> None:
        self.status = status
        self.problem: dict[str, Any] = dict(problem or {})
        self.title: str = str(self.problem.get("title") or "")
        self.detail: str = str(self.problem.get("detail") or "")
        self.code: str = str(self.problem.get("code") or "")
        # The server's detail names fields and rules, never values (NOTES §2, our server).
        text = f"{status} {self.title}".strip()
        super().__init__(f"{text}: {self.detail}" if self.detail else text)


class ValidatieFoutError(ApiError):
    """400: the request broke rules; `invalid_params` lists each field and rule."""

    def __init__(self, status: int, problem: Mapping[str, Any] | None = None) -> None:
        super().__init__(status, problem)
        self.invalid_params: list[FieldError] = [
            FieldError(str(p.get("name", "")), str(p.get("code", "")), str(p.get("reason", "")))
            for p in self.problem.get("invalidParams") or []
            if isinstance(p, dict)
        ]


class UnauthorizedError(ApiError):
    """401: no, a malformed, a wrongly signed or an expired token."""


class ForbiddenError(ApiError):
    """403: the client lacks the scope for this action."""


class NotFoundError(ApiError):
    """404: no current resource at that path (or a page past the last)."""


class PayloadTooLargeError(ApiError):
    """413: body over the log's limit."""


class UnsupportedMediaTypeError(ApiError):
    """415: body not sent as JSON."""


class ConflictError(ApiError):
    """409 or 422: e.g. an Idempotency-Key reused with a different body."""


class RateLimitedError(ApiError):
    """429: slow down; `retry_after` in seconds when the log said so."""

    def __init__(self, status: int, problem: Mapping[str, Any] | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(status, problem)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the log failed; `retry_after` in seconds when it said so."""

    def __init__(self, status: int, problem: Mapping[str, Any] | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(status, problem)
        self.retry_after = retry_after


_ERRORS: dict[int, type[ApiError]] = {
    400: ValidatieFoutError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: ConflictError,
}


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def error_for(response: httpx.Response) -> ApiError:
    """The typed exception for an error response, carrying its problem JSON."""
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        return RateLimitedError(status, problem, retry_after)
    if status >= 500:
        return ServerError(status, problem, retry_after)
    return _ERRORS.get(status, ApiError)(status, problem)


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VastgelegdeActie(Verwerkingsactie):
    """A verwerkingsactie as the log holds it: the recorded fields plus what the log set."""

    actie_id: str = ""
    url: str = ""
    tijdstip_registratie: dt.datetime | None = None
    object_urls: tuple[str | None, ...] = ()  # `url` of each verwerkt object, in order

    @classmethod
    def from_api(cls, body: object) -> VastgelegdeActie:
        if not isinstance(body, dict):
            raise InvalidResponseError("expected a verwerkingsactie object")
        try:
            actie = parse_verwerkingsactie(body)
        except ValidationError as exc:
            raise InvalidResponseError(f"verwerkingsactie from the log is invalid: {exc}") from None
        registratie = body.get("tijdstipRegistratie")
        try:
            tijdstip_registratie = check_datetime(registratie) if registratie else None
        except ValueError:
            raise InvalidResponseError("tijdstipRegistratie from the log is invalid") from None
        objecten = body.get("verwerkteObjecten") or []
        values = {name: getattr(actie, name) for name in Verwerkingsactie.__dataclass_fields__}
        return cls(
            **values,
            actie_id=str(body.get("actieId") or ""),
            url=str(body.get("url") or ""),
            tijdstip_registratie=tijdstip_registratie,
            object_urls=tuple(o.get("url") if isinstance(o, dict) else None for o in objecten),
        )


@dataclass(frozen=True)
class InzageObject:
    """One Inzage result: a verwerkt object of the asked person, with its action embedded."""

    verwerkt_object_id: str
    url: str
    object: VerwerktObject
    verwerkingsactie: VastgelegdeActie

    @classmethod
    def from_api(cls, body: object) -> InzageObject:
        if not isinstance(body, dict) or not isinstance(body.get("verwerkingsactie"), dict):
            raise InvalidResponseError("expected a verwerkt object with its verwerkingsactie")
        actie = VastgelegdeActie.from_api(
            {"verwerkteObjecten": [], **body["verwerkingsactie"]}
        )
        try:
            wrapper = parse_verwerkingsactie({
                "vertrouwelijkheid": "normaal",
                "tijdstip": "2000-01-01T00:00:00+00:00",
                "verwerkteObjecten": [{k: v for k, v in body.items() if k != "verwerkingsactie"}],
            })
        except ValidationError as exc:
            raise InvalidResponseError(f"verwerkt object from the log is invalid: {exc}") from None
        obj = wrapper.verwerkte_objecten[0]
        return cls(
            verwerkt_object_id=str(body.get("verwerktObjectId") or obj.verwerkt_object_id or ""),
            url=str(body.get("url") or ""),
            object=obj,
            verwerkingsactie=actie,
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its results, the total count and the next page's URL."""

    count: int
    results: list[T]
    next: str | None = None
    previous: str | None = None


# --- authentication ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_hs256(claims: Mapping[str, Any], secret: str) -> str:
    """A compact JWT signed HS256 with `secret` (RFC 7519; NOTES §5)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret.encode("utf-8"), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


class _BearerAuth(httpx.Auth):
    """Adds `Authorization: Bearer …`: a ready token, or a JWT renewed before it expires."""

    def __init__(self, *, client_id: str | None, secret: str | None, token: str | None,
                 lifetime: float = TOKEN_LIFETIME) -> None:
        self._client_id = client_id
        self._secret = secret
        self._token = token
        self._lifetime = lifetime
        self._expires = float("inf") if token else 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            now = time.time()
            if self._token is None or now > self._expires - self._lifetime / 5:
                assert self._client_id is not None and self._secret is not None
                iat = int(now)
                self._token = jwt_hs256(
                    {"client_id": self._client_id, "iat": iat, "exp": iat + int(self._lifetime)},
                    self._secret,
                )
                self._expires = iat + self._lifetime
            return self._token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        yield request


def make_auth(client_id: str | None, secret: str | None, token: str | None) -> httpx.Auth | None:
    """Auth from settings; a half-given pair fails here, naming the missing setting."""
    if token:
        return _BearerAuth(client_id=None, secret=None, token=token)
    if client_id or secret:
        if not client_id:
            raise ValueError("client_id is required when secret is set")
        if not secret:
            raise ValueError("secret is required when client_id is set")
        return _BearerAuth(client_id=client_id, secret=secret, token=None)
    return None


class untraced:
    """Context manager: OpenTelemetry instrumentations skip HTTP calls made inside it."""

    def __enter__(self) -> None:
        ctx = otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True)
        ctx = otel_context.set_value(otel_context._SUPPRESS_HTTP_INSTRUMENTATION_KEY, True, ctx)
        self._token = otel_context.attach(ctx)

    def __exit__(self, *exc: object) -> None:
        otel_context.detach(self._token)


# --- the shared implementation ------------------------------------------------------------


@dataclass
class _Call(Generic[T]):
    """One request and how to read its successful response."""

    request: httpx.Request
    parse: Callable[[httpx.Response], T]
    expect: tuple[int, ...] = (200,)


def _interpret(call: _Call[T], response: httpx.Response) -> T:
    if response.status_code not in call.expect:
        if response.status_code < 400:
            raise InvalidResponseError(f"unexpected status {response.status_code}")
        raise error_for(response)
    return call.parse(response)


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


def _body(actie: Verwerkingsactie | Mapping[str, Any]) -> dict[str, Any]:
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


class _Operations:
    """Every API operation as a `_Call`; no I/O here."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _request(self, method: str, path_or_url: str, **kwargs: Any) -> httpx.Request:
        url = path_or_url if "://" in path_or_url else f"{self.base_url}{path_or_url}"
        request = httpx.Request(method, url, **kwargs)
        request.extensions[UNTRACED_EXTENSION] = True
        return request

    def create(self, actie: Verwerkingsactie | Mapping[str, Any],
               idempotency_key: str | None) -> _Call[VastgelegdeActie]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        request = self._request("POST", "/verwerkingsacties", json=_body(actie), headers=headers)
        return _Call(request, lambda r: VastgelegdeActie.from_api(_json(r)), (201, 200))

    def list_page(self, params: list[tuple[str, str]], page: int) -> _Call[Page[VastgelegdeActie]]:
        if page != 1:
            params = [*params, ("page", str(page))]
        request = self._request("GET", "/verwerkingsacties", params=params)
        return _Call(request, _page_parser(VastgelegdeActie.from_api))

    def follow(self, url: str, item: Callable[[object], T]) -> _Call[Page[T]]:
        return _Call(self._request("GET", url), _page_parser(item))

    def get(self, actie_id: str) -> _Call[VastgelegdeActie]:
        request = self._request("GET", f"/verwerkingsacties/{actie_id}")
        return _Call(request, lambda r: VastgelegdeActie.from_api(_json(r)))

    def replace(self, actie_id: str, actie: Verwerkingsactie | Mapping[str, Any]) -> _Call[VastgelegdeActie]:
        body = _body(actie)
        if isinstance(actie, Verwerkingsactie):
            # PUT is a full replacement: every writable key present, null where unset; objects
            # read from the log keep their verwerktObjectId, so the log matches them by it.
            body = {key: body.get(key) for key in sorted(WRITABLE_KEYS)}
            for obj, obj_body in zip(actie.verwerkte_objecten, body["verwerkteObjecten"]):
                if obj.verwerkt_object_id:
                    obj_body["verwerktObjectId"] = obj.verwerkt_object_id
        request = self._request("PUT", f"/verwerkingsacties/{actie_id}", json=body)
        return _Call(request, lambda r: VastgelegdeActie.from_api(_json(r)))

    def patch(self, verwerking_id: str, bewaartermijn: str | None,
              vertrouwelijkheid: Vertrouwelijkheid | str | None) -> _Call[None]:
        body: dict[str, str] = {}
        if bewaartermijn is not None:
            body["bewaartermijn"] = bewaartermijn
        if vertrouwelijkheid is not None:
            body["vertrouwelijkheid"] = str(Vertrouwelijkheid.parse(vertrouwelijkheid))
        if not body:
            raise ValueError("patch needs bewaartermijn or vertrouwelijkheid")
        request = self._request("PATCH", "/verwerkingsacties",
                                params={"verwerkingId": verwerking_id}, json=body)
        return _Call(request, lambda r: None, (204, 200))

    def delete(self, actie_id: str) -> _Call[None]:
        request = self._request("DELETE", f"/verwerkingsacties/{actie_id}")
        return _Call(request, lambda r: None, (204, 200))

    def inzage_page(self, params: list[tuple[str, str]], page: int) -> _Call[Page[InzageObject]]:
        if page != 1:
            params = [*params, ("page", str(page))]
        request = self._request("GET", "/verwerkte-objecten", params=params)
        return _Call(request, _page_parser(InzageObject.from_api))

    def inzage_get(self, verwerkt_object_id: str) -> _Call[InzageObject]:
        request = self._request("GET", f"/verwerkte-objecten/{verwerkt_object_id}")
        return _Call(request, lambda r: InzageObject.from_api(_json(r)))


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


@dataclass
class _Settings:
    base_url: str
    auth: httpx.Auth | None
    timeout: httpx.Timeout
    verify: ssl.SSLContext | bool
    headers: dict[str, str] = field(default_factory=dict)


def tls_context(verify: bool | str | ssl.SSLContext = True,
                cert: str | tuple[str, str] | None = None) -> ssl.SSLContext | bool:
    """An SSLContext for `verify` (a CA bundle file or directory) and `cert` (client
    certificate, optionally with its key file); `False` only when verification is off."""
    if isinstance(verify, ssl.SSLContext):
        context = verify
    elif verify is False:
        if cert is None:
            return False
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str):
        if os.path.isdir(verify):
            context = ssl.create_default_context(capath=verify)
        else:
            context = ssl.create_default_context(cafile=verify)
    else:
        context = ssl.create_default_context()
    if cert is not None:
        certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
        context.load_cert_chain(certfile, keyfile)
    return context


def _settings(base_url: str, client_id: str | None, secret: str | None, token: str | None,
              timeout: float, connect_timeout: float | None, verify: bool | str | ssl.SSLContext,
              cert: str | tuple[str, str] | None, headers: Mapping[str, str] | None) -> _Settings:
    if not base_url or "://" not in base_url:
        raise ValueError("base_url must be an absolute URL such as http://127.0.0.1:8000/api/v1")
    return _Settings(
        base_url=base_url,
        auth=make_auth(client_id, secret, token),
        timeout=httpx.Timeout(timeout, connect=connect_timeout if connect_timeout is not None else timeout),
        verify=tls_context(verify, cert),
        headers=dict(headers or {}),
    )


# --- the twins ----------------------------------------------------------------------------------


class VerwerkingenlogClient:
    """Blocking client. Thread-safe; keeps one keep-alive connection pool. Timeouts in seconds."""

    def __init__(self, base_url: str, *, client_id: str | None = None, secret: str | None = None,
                 token: str | None = None, timeout: float = 10.0,
                 connect_timeout: float | None = None, verify: bool | str | ssl.SSLContext = True,
                 cert: str | tuple[str, str] | None = None,
                 headers: Mapping[str, str] | None = None,
                 max_connections: int = 10, transport: httpx.BaseTransport | None = None) -> None:
        s = _settings(base_url, client_id, secret, token, timeout, connect_timeout, verify, cert, headers)
        self._ops = _Operations(s.base_url)
        self._http = httpx.Client(
            auth=s.auth, timeout=s.timeout, verify=s.verify, headers=s.headers,
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            transport=transport,
        )

    def _send(self, call: _Call[T]) -> T:
        try:
            with untraced():
                response = self._http.send(call.request)
        except httpx.TransportError as exc:
            raise TransportError(f"{type(exc).__name__} talking to the log") from exc
        return _interpret(call, response)

    def send_raw(self, request: httpx.Request) -> httpx.Response:
        """Send a prepared request untraced, for the delivery worker; raises TransportError."""
        try:
            with untraced():
                return self._http.send(request)
        except httpx.TransportError as exc:
            raise TransportError(f"{type(exc).__name__} talking to the log") from exc

    def create_request(self, body: Mapping[str, Any], idempotency_key: str) -> httpx.Request:
        """The POST /verwerkingsacties request for `body`, for `send_raw` (the delivery worker)."""
        return self._ops.create(body, idempotency_key).request

    def create(self, actie: Verwerkingsactie | Mapping[str, Any], *,
               idempotency_key: str | None = None) -> VastgelegdeActie:
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


class AsyncVerwerkingenlogClient:
    """The asyncio twin of `VerwerkingenlogClient`: the same operations, awaited."""

    def __init__(self, base_url: str, *, client_id: str | None = None, secret: str | None = None,
                 token: str | None = None, timeout: float = 10.0,
                 connect_timeout: float | None = None, verify: bool | str | ssl.SSLContext = True,
                 cert: str | tuple[str, str] | None = None,
                 headers: Mapping[str, str] | None = None,
                 max_connections: int = 10, transport: httpx.AsyncBaseTransport | None = None) -> None:
        s = _settings(base_url, client_id, secret, token, timeout, connect_timeout, verify, cert, headers)
        self._ops = _Operations(s.base_url)
        self._http = httpx.AsyncClient(
            auth=s.auth, timeout=s.timeout, verify=s.verify, headers=s.headers,
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            transport=transport,
        )

    async def _send(self, call: _Call[T]) -> T:
        try:
            with untraced():
                response = await self._http.send(call.request)
        except httpx.TransportError as exc:
            raise TransportError(f"{type(exc).__name__} talking to the log") from exc
        return _interpret(call, response)

    async def create(self, actie: Verwerkingsactie | Mapping[str, Any], *,
                     idempotency_key: str | None = None) -> VastgelegdeActie:
        return await self._send(self._ops.create(actie, idempotency_key))

    async def list_page(self, *, page: int = 1, **filters: Any) -> Page[VastgelegdeActie]:
        return await self._send(self._ops.list_page(list_params(**filters), page))

    async def list(self, **filters: Any) -> AsyncIterator[VastgelegdeActie]:
        page = await self.list_page(**filters)
        for item in page.results:
            yield item
        while page.next:
            page = await self._send(self._ops.follow(page.next, VastgelegdeActie.from_api))
            for item in page.results:
                yield item

    async def get(self, actie_id: str) -> VastgelegdeActie:
        return await self._send(self._ops.get(actie_id))

    async def replace(self, actie_id: str,
                      actie: Verwerkingsactie | Mapping[str, Any]) -> VastgelegdeActie:
        return await self._send(self._ops.replace(actie_id, actie))

    async def patch(self, verwerking_id: str, *, bewaartermijn: str | None = None,
                    vertrouwelijkheid: Vertrouwelijkheid | str | None = None) -> None:
        return await self._send(self._ops.patch(verwerking_id, bewaartermijn, vertrouwelijkheid))

    async def delete(self, actie_id: str) -> None:
        return await self._send(self._ops.delete(actie_id))

    async def inzage_page(self, *, page: int = 1, **filters: Any) -> Page[InzageObject]:
        return await self._send(self._ops.inzage_page(list_params(**filters), page))

    async def inzage_list(self, **filters: Any) -> AsyncIterator[InzageObject]:
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
