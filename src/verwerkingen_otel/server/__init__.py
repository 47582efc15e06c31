"""The verwerkingenlog server (optional extra `server`): Bewerking + Inzage API of VNG 0.9.0.

`create_app(settings)` builds the Starlette app; `verwerkingen-otel serve` runs it under uvicorn.
"""

from __future__ import annotations

__all__ = ["create_app", "Settings"]


def __getattr__(name: str) -> object:  # lazy: importing the package must not need the extra
    if name == "create_app":
        from .app import create_app
        return create_app
    if name == "Settings":
        from .settings import Settings
        return Settings
    raise AttributeError(name)
