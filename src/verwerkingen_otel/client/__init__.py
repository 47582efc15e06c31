"""A client for the Verwerkingenlogging API (Bewerking + Inzage), blocking and asyncio.

This module only re-exports; the work is split the way httpx splits its client:

- `_errors`     the exception tree, and the border where httpx's errors become ours
- `_status`     the one mapping from HTTP status to failure kind (`failure_kind`), Retry-After
- `_auth`       the HS256 JWT and the bearer-token flow
- `_config`     settings checked once: base URL, timeouts, TLS (`tls_context`), pool size
- `_untraced`   keeping the client's own calls out of every trace
- `_models`     what the log answers, as typed values
- `_operations` every API operation as a request plus how to read its answer (no I/O)
- `_base`       what both clients share; `_client` the blocking and the asyncio twin

Names a `_` module lists in its own `__all__` but that are not re-exported here (BaseClient,
Call, Operations, ClientSettings, encode_json, translate_httpx_errors) serve the package only.
"""

from __future__ import annotations

from .._exports import publish


from ._auth import TOKEN_LIFETIME, jwt_hs256, make_auth
from ._client import AsyncVerwerkingenlogClient, VerwerkingenlogClient
from ._config import tls_context
from ._errors import (
    ApiError,
    ConflictError,
    ForbiddenError,
    InvalidResponseError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    RetryableError,
    ServerError,
    TransportError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidatieFoutError,
    VerwerkingenlogError,
    error_for,
    safe_problem_text,
)
from ._models import InzageObject, Page, VastgelegdeActie
from ._operations import list_params
from ._status import FailureKind, failure_kind, parse_retry_after
from ._untraced import UNTRACED_EXTENSION, untraced

__all__ = [
    "ApiError",
    "AsyncVerwerkingenlogClient",
    "ConflictError",
    "FailureKind",
    "ForbiddenError",
    "InvalidResponseError",
    "InzageObject",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "RateLimitedError",
    "RetryableError",
    "ServerError",
    "TOKEN_LIFETIME",
    "TransportError",
    "UNTRACED_EXTENSION",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
    "ValidatieFoutError",
    "VastgelegdeActie",
    "VerwerkingenlogClient",
    "VerwerkingenlogError",
    "error_for",
    "failure_kind",
    "jwt_hs256",
    "list_params",
    "make_auth",
    "parse_retry_after",
    "safe_problem_text",
    "tls_context",
    "untraced",
]

publish(globals(), __all__, __name__)  # reprs and docs show the short path
