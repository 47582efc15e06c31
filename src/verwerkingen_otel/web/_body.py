"""The request body a route rule reads its persons from: read safely, or not at all.

Issue 11: reading a body must never break the request or leave its caller's context behind.
WSGI reads exactly `CONTENT_LENGTH` bytes (reading to end-of-file waits for a keep-alive client
that never closes), chunked input only as far as the server marks its end; at most
`VERWERKINGEN_MAX_BODY` bytes (default 1 MiB) are buffered. A client that goes away mid-body is
passed on to the app as a disconnect — the bytes that came, then the error (WSGI) or the
`http.disconnect` message (ASGI) — never as a complete, shorter body. A body that is too large,
cut off or not JSON means "no person from the body", with a warning naming the rule.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any, Awaitable, Callable, MutableMapping

__all__ = ["ENV_MAX_BODY", "body_cap", "check_max_body", "parse_body", "read_asgi_body", "read_wsgi_body"]

logger = logging.getLogger("verwerkingen_otel.web")

ENV_MAX_BODY = "VERWERKINGEN_MAX_BODY"
_CHUNK = 64 * 1024

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]


def check_max_body(value: int | None) -> int | None:
    """A middleware's `max_body=` argument: None (the setting) or bytes, 0 or more."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        from ..capture import ConfigurationError

        raise ConfigurationError("max_body", "must be a whole number of bytes (0 or more)")
    return value


def body_cap(override: int | None) -> int:
    """The middleware's `max_body=`, else the `max_body` setting (VERWERKINGEN_MAX_BODY, 1 MiB)."""
    if override is not None:
        return override
    from ..capture import get_pipeline  # the pipeline the request's action will use anyway

    return get_pipeline().settings.max_body


def parse_body(body: bytes | None, rule: str) -> Any:
    """The body as JSON, or None (with a warning naming the rule, never the body) — never raises."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        logger.warning("rule %r: the request body is not JSON (or nested too deep); no person from the body", rule)
        return None


class _Replay(io.RawIOBase):
    """What the app reads: the bytes that came, then the client's disconnect as an error."""

    def __init__(self, data: bytes, rest: Any = None, error: BaseException | None = None) -> None:
        self._data, self._pos, self._rest, self._error = data, 0, rest, error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._pos < len(self._data):
            n = min(len(buffer), len(self._data) - self._pos)
            buffer[:n] = self._data[self._pos:self._pos + n]
            self._pos += n
            return n
        if self._error is not None:
            raise self._error
        if self._rest is None:
            return 0
        chunk = self._rest.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)


def _disconnect(cause: BaseException | None = None) -> ConnectionResetError:
    error = ConnectionResetError("the client disconnected before sending the whole request body")
    error.__cause__ = cause
    return error


def read_wsgi_body(environ: dict, cap: int, rule: str) -> bytes | None:
    """The body for the rule, or None; `wsgi.input` is replaced so the app reads the same bytes."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return None
    length_text = (environ.get("CONTENT_LENGTH") or "").strip()
    if length_text:
        if not length_text.isdigit():
            return None  # the server decides what a bad length means; we read nothing
        length = int(length_text)
        if length > cap:
            logger.warning("rule %r: request body of %d bytes is over %s (%d); no person from the body",
                           rule, length, ENV_MAX_BODY, cap)
            return None
        limit, terminated = length, False
    elif environ.get("wsgi.input_terminated"):
        limit, terminated = cap + 1, True  # chunked: the server marks the end
    else:
        return None  # no length and no end marker: there is no body to read
    chunks: list[bytes] = []
    got = 0
    try:
        while got < limit:
            chunk = stream.read(min(_CHUNK, limit - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    except Exception as exc:  # noqa: BLE001 - the client went away (OSError, a server's own error)
        environ["wsgi.input"] = io.BufferedReader(_Replay(b"".join(chunks), error=exc))
        logger.warning("rule %r: the client disconnected mid-body; no person from the body", rule)
        return None
    data = b"".join(chunks)
    if terminated:
        if got > cap:  # too large to buffer: the app reads on from where we stopped
            environ["wsgi.input"] = io.BufferedReader(_Replay(data, rest=stream))
            logger.warning("rule %r: request body is over %s (%d); no person from the body", rule, ENV_MAX_BODY, cap)
            return None
    elif got < limit:
        environ["wsgi.input"] = io.BufferedReader(_Replay(data, error=_disconnect()))
        logger.warning("rule %r: the client disconnected mid-body; no person from the body", rule)
        return None
    environ["wsgi.input"] = io.BytesIO(data)
    return data


async def read_asgi_body(receive: Receive, cap: int, rule: str, declared: int | None) -> tuple[bytes | None, Receive]:
    """(the body for the rule or None, a receive that replays to the app exactly what came)."""
    if declared is not None and declared > cap:
        logger.warning("rule %r: request body of %d bytes is over %s (%d); no person from the body",
                       rule, declared, ENV_MAX_BODY, cap)
        return None, receive
    messages: list[Message] = []
    size = 0
    complete = False
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":  # http.disconnect: passed on as it came
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            complete = True
            break
        if size > cap:
            break

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    if not complete:
        logger.warning("rule %r: %s; no person from the body", rule,
                       "the client disconnected mid-body" if size <= cap else f"request body is over {ENV_MAX_BODY} ({cap})")
        return None, replay
    return b"".join(m.get("body", b"") for m in messages), replay
