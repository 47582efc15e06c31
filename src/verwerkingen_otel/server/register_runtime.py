"""The register inside a running server: loaded at start-up, reloaded on SIGHUP.

A register file with errors is never loaded: the server keeps the version it has and logs each
problem with the activity and the field. At start-up `serve` checks the file first and refuses
to start on errors (a configuration mistake); a worker restarted later (uvicorn restarts every
worker on SIGHUP when there are several) keeps the stored version instead of dying.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ..register import FileSource, RegisterError, problems_of
from .errors import ConfigError
from .register_store import LoadResult, RegisterStore
from .storage import Storage

log = logging.getLogger("verwerkingen_otel.server.register")


@dataclass
class RegisterRuntime:
    store: RegisterStore
    register_file: str | None = None
    strict: bool = False

    def load_file(self) -> LoadResult | None:
        """(Re)load the register file; on errors log them and keep the stored version."""
        if self.register_file is None:
            return None
        try:
            register = FileSource(self.register_file).load()
        except RegisterError as e:
            for p in problems_of(e):
                log.error("register %s: %s (not loaded; the previous version stays)", self.register_file, p)
            return None
        result = self.store.load(register)
        log.info("register %s loaded: %s", self.register_file, result)
        return result

    def install_sighup(self) -> None:
        """Reload on SIGHUP, off the event loop (call from inside the running loop)."""
        if self.register_file is None or not hasattr(signal, "SIGHUP"):
            return
        loop = asyncio.get_running_loop()

        def on_hup() -> None:
            log.info("SIGHUP: reloading register %s", self.register_file)
            loop.run_in_executor(None, self.load_file)

        try:
            loop.add_signal_handler(signal.SIGHUP, on_hup)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests, some servers)
            log.warning("register %s: cannot reload on SIGHUP here; use `verwerkingen-otel register load`",
                        self.register_file)


def setup_register(settings: Any, storage: Storage) -> RegisterRuntime:
    """Create the register table and load `settings.register_file` (when set)."""
    store = RegisterStore(storage)
    store.create_schema()
    runtime = RegisterRuntime(store, getattr(settings, "register_file", None),
                              bool(getattr(settings, "strict_activiteiten", False)))
    if runtime.register_file is not None:
        if runtime.load_file() is None and not store.history():
            raise ConfigError(f"--register: {runtime.register_file} cannot be loaded and the database holds "
                              "no earlier register (see the problems above)")
    return runtime


def register_of(request: Request) -> RegisterRuntime:
    return request.app.state.register


__all__ = ["RegisterRuntime", "register_of", "setup_register"]
