"""Flask: the `Verwerkingen` extension (`Verwerkingen(app)` or `init_app`). Needs the `flask` extra.

The implementation lives in `verwerkingen_otel.web`; this module is its public face.
"""

from __future__ import annotations

from .web import Verwerkingen

__all__ = ["Verwerkingen"]
