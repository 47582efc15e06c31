"""Every exception the client raises, and the one border where httpx's errors become ours.

The tree (catch `VerwerkingenlogError` for "anything went wrong talking to the log"):

* VerwerkingenlogError
  + TransportError ............. no HTTP answer: refused, reset, timeout, TLS failure
  + InvalidResponseError ....... an answer, but not what the standard promises
  + ApiError ................... an error status; `status`, `problem`, `kind` (see _status)
    - ValidatieFoutError ....... 400, with `invalid_params`
    - UnauthorizedError ........ 401
    - ForbiddenError ........... 403
    - NotFoundError ............ 404
    - ConflictError ............ 409, 422
    - PayloadTooLargeError ..... 413
    - UnsupportedMediaTypeError  415
    - RetryableError ........... 408, 425 (and the two below); `retry_after`
      - RateLimitedError ....... 429
      - ServerError ............ 5xx

Messages never hold a value from the request: a transport error says only httpx's type name
(its own text may quote a URL whose query string holds a BSN), and an API error only the
status, title and detail of the log, masked by `safe_problem_text` (digit runs of five or more
replaced, length capped) in case a log quotes the record.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator, Mapping

import httpx

from ..model import FieldError
from ._status import FailureKind, failure_kind, parse_retry_after

__all__ = [
    "ApiError",
    "ConflictError",
    "ForbiddenError",
    "InvalidResponseError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "RetryableError",
    "ServerError",
    "TransportError",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
    "ValidatieFoutError",
    "VerwerkingenlogError",
    "error_for",
    "safe_problem_text",
    "translate_httpx_errors",
]


_DIGITS = re.compile(r"[0-9]{5,}")


def safe_problem_text(value: object, limit: int = 120) -> str:
    """A text of the log's problem JSON (title, detail, reason) fit for messages and ordinary
    logs: one line, at most `limit` characters, runs of five or more digits (a BSN) masked."""
    text = " ".join(str(value or "").split())[:limit]
    return _DIGITS.sub("…", text)


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
        # Masked (safe_problem_text): our server's texts name fields and rules, never values, but
        # another log may quote the record, and these end up in ordinary logs. `problem` keeps
        # the log's answer as it came.
        self.title: str = safe_problem_text(self.problem.get("title"))
        self.detail: str = safe_problem_text(self.problem.get("detail"), 300)
        self.code: str = str(self.problem.get("code") or "")
        text = f"{status} {self.title}".strip()
        super().__init__(f"{text}: {self.detail}" if self.detail else text)

    @property
    def kind(self) -> FailureKind:
        """"retry", "auth" or "permanent": what sending the same request again would do."""
        return failure_kind(self.status)


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


class RetryableError(ApiError):
    """408, 425, 429 or 5xx: the same request may succeed later; `retry_after` in seconds
    when the log said so."""

    def __init__(self, status: int, problem: Mapping[str, Any] | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(status, problem)
        self.retry_after = retry_after


class RateLimitedError(RetryableError):
    """429: slow down; `retry_after` in seconds when the log said so."""


class ServerError(RetryableError):
    """5xx: the log failed; `retry_after` in seconds when it said so."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: ValidatieFoutError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: ConflictError,
}


def error_for(response: httpx.Response) -> ApiError:
    """The typed exception for an error response (a "retry", "auth" or "permanent" status),
    carrying its problem JSON."""
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    status = response.status_code
    if failure_kind(status) == "retry":
        cls: type[RetryableError] = (
            RateLimitedError if status == 429 else ServerError if status >= 500 else RetryableError
        )
        return cls(status, problem, parse_retry_after(response.headers.get("Retry-After")))
    return _BY_STATUS.get(status, ApiError)(status, problem)


@contextlib.contextmanager
def translate_httpx_errors() -> Iterator[None]:
    """The border: httpx's request errors leave as ours, chained, named by type only.

    A body httpx cannot decode is an answer we cannot read (InvalidResponseError); any other
    request error means no answer at all (TransportError).
    """
    try:
        yield
    except httpx.DecodingError as exc:
        raise InvalidResponseError(type(exc).__name__) from exc
    except httpx.RequestError as exc:
        raise TransportError(type(exc).__name__) from exc
