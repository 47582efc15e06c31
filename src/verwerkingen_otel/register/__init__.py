"""The register of processing activities (AVG art. 30): file and VAR API sources, lookup.

    from verwerkingen_otel.register import load_register
    register = load_register("register.toml")          # or a VAR API base URL, cache=path
    activiteit = register.lookup("Wijzigen van geslachtsnaam")   # by naam or id
    activiteit.id, activiteit.url, activiteit.vertrouwelijkheid, activiteit.bewaartermijn_duur

Imports only `verwerkingen_otel.model` and the standard library (httpx and PyYAML when used),
so both capture and the server can use it.
"""

from __future__ import annotations

from ._activiteit import GRONDSLAGEN, Verwerkingsactiviteit, VerwerktPersoonsgegeven, parse_activiteit
from ._errors import (
    AmbiguousActiviteit, InvalidRegister, Problem, RegisterError, RegisterUnavailable, UnknownActiviteit,
)
from ._register import Register, parse_register
from ._sources import (
    FileSource, RegisterSource, VarApiSource, is_url, load_register, open_source, problems_of,
    read_register_data,
)

__all__ = [
    "AmbiguousActiviteit", "FileSource", "GRONDSLAGEN", "InvalidRegister", "Problem", "Register",
    "RegisterError", "RegisterSource", "RegisterUnavailable", "UnknownActiviteit", "VarApiSource",
    "Verwerkingsactiviteit", "VerwerktPersoonsgegeven", "is_url", "load_register", "open_source",
    "parse_activiteit", "parse_register", "problems_of", "read_register_data",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and getattr(_obj, "__module__", "").startswith(__name__ + "._"):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):  # pragma: no cover - builtins
            pass
