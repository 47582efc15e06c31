"""Reading request bodies defensively: size (413), media type (415), then JSON (400).

Runs after authentication, so an anonymous caller cannot make the server read a large body.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request

from .errors import ApiError, InvalidParam, validation_error


def _media_type_ok(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_json_body(request: Request, max_bytes: int) -> Any:
    """The parsed JSON body, or an ApiError with the status NOTES §2 prescribes."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise ApiError(400, "invalid_content_length", "Content-Length is geen getal.")
        if int(length) > max_bytes:
            raise ApiError(413, "too_large", f"De body mag hoogstens {max_bytes} bytes zijn.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, "too_large", f"De body mag hoogstens {max_bytes} bytes zijn.")
        chunks.append(chunk)
    if not _media_type_ok(request.headers.get("content-type")):
        raise ApiError(415, "unsupported_media_type", "De body moet application/json zijn.")
    raw = b"".join(chunks)
    try:
        text = raw.decode("utf-8")
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise validation_error(
            [InvalidParam("nonFieldErrors", "parse_error", "De body is geen geldige JSON (UTF-8).")],
            "De body kon niet gelezen worden.",
        ) from None


def unstorable_strings(value: Any, path: str = "") -> list[InvalidParam]:
    """Strings a database cannot hold safely: NUL characters and lone surrogates."""
    found: list[InvalidParam] = []
    if isinstance(value, str):
        if "\x00" in value:
            found.append(InvalidParam(path or "nonFieldErrors", "invalid_characters", "bevat een NUL-teken"))
        else:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                found.append(InvalidParam(path or "nonFieldErrors", "invalid_characters", "bevat ongeldige Unicode"))
    elif isinstance(value, dict):
        for k, v in value.items():
            found.extend(unstorable_strings(v, f"{path}.{k}" if path else str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(unstorable_strings(v, f"{path}.{i}" if path else str(i)))
    return found


def body_hash(body: Any) -> str:
    """Compare bodies as JSON values, not bytes (NOTES §6)."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
