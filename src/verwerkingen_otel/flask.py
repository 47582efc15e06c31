"""Flask: the `Verwerkingen` extension (`Verwerkingen(app)` or `init_app`). Needs the `flask` extra.

The implementation lives in `verwerkingen_otel.web`; this module is its public face.
"""

from __future__ import annotations

try:
    from .web import Verwerkingen
except ModuleNotFoundError as exc:  # Flask itself is not installed: say which extra brings it
    if exc.name != "flask":
        raise
    raise ModuleNotFoundError("verwerkingen_otel.flask needs Flask: pip install 'verwerkingen-otel[flask]'",
                              name=exc.name) from None

__all__ = ["Verwerkingen"]
