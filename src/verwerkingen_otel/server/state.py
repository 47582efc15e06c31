"""What every handler needs, built once per app: settings, storage, authenticator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from .auth import Authenticator, Principal
from .proxy import external_origin
from .settings import BASE_PATH, Settings
from .storage import Storage

T = TypeVar("T")


@dataclass
class ServerState:
    settings: Settings
    storage: Storage
    authenticator: Authenticator

    def principal(self, request: Request) -> Principal:
        return self.authenticator.authenticate(request.headers.get("authorization"))

    def base_url(self, request: Request) -> str:
        """[R] `{base}`: the configured external URL, else scheme, host and port of the request."""
        if self.settings.base_url:
            return self.settings.base_url
        # inside the Mount, root_path already ends in /api/v1; app_root_path is the server's own
        root = request.scope.get("app_root_path", request.scope.get("root_path", ""))
        scheme, netloc = request.url.scheme, request.url.netloc
        # behind a TLS proxy: its Forwarded / X-Forwarded-* headers, only with --proxy-headers
        origin = external_origin(request.scope, self.settings.forwarded_allow_ips
                                 if self.settings.proxy_headers else None)
        if origin is not None:
            scheme, netloc = origin[0], origin[1] or netloc
        return f"{scheme}://{netloc}{root}{BASE_PATH}"

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking storage call off the event loop."""
        return await run_in_threadpool(fn, *args)


def state_of(request: Request) -> ServerState:
    return request.app.state.verwerkingenlog
