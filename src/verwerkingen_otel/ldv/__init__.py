"""Logboek Dataverwerkingen 1.0.0: the mapping from a VNG verwerkingsactie to logregels.

Pure (the model and the standard library only), so the exporter on the application side and
the log server share one definition of a logregel, its pseudonyms and its checks.

    from verwerkingen_otel.ldv import LogregelMapping, load_key
    mapping = LogregelMapping(load_key("/run/secrets/ldv.key"))
    regels = mapping.logregels(actie, span=ActieSpan(...))
"""

from __future__ import annotations

from ._cli import add_ldv_parser
from ._checks import MAX_NAME, logregel_problems
from ._errors import LdvError, ProcessorMapError, PseudonymKeyError
from ._logregel import (
    CORE_KEYS, DATA_SUBJECT_ID, DATA_SUBJECT_ID_TYPE, ERROR, EXCEPTION_TYPE, FOREIGN_PROCESSOR, OK,
    PROCESSING_ACTIVITY_ID, PSEUDONYM_KEY_ID, REMOVED_KEYS, SERVICE_NAME, SERVICE_VERSION, STATUSES, UNSET,
    AttributeValue, Logregel, to_otlp_json,
)
from ._mapping import REDACTED, ActieSpan, LogregelMapping
from ._pseudonym import (
    MIN_KEY_BYTES, PseudonymKey, canonical_id_type, default_key_id, load_key, load_processor_map,
)

__all__ = [
    "CORE_KEYS", "DATA_SUBJECT_ID", "DATA_SUBJECT_ID_TYPE", "ERROR", "EXCEPTION_TYPE", "FOREIGN_PROCESSOR",
    "MAX_NAME", "MIN_KEY_BYTES", "OK", "PROCESSING_ACTIVITY_ID", "PSEUDONYM_KEY_ID", "REDACTED", "REMOVED_KEYS",
    "SERVICE_NAME", "SERVICE_VERSION", "STATUSES", "UNSET", "ActieSpan", "AttributeValue", "LdvError",
    "add_ldv_parser",
    "Logregel", "LogregelMapping", "ProcessorMapError", "PseudonymKey", "PseudonymKeyError",
    "canonical_id_type", "default_key_id", "load_key", "load_processor_map", "logregel_problems",
    "to_otlp_json",
]

for _name in __all__:
    _value = globals()[_name]
    if getattr(_value, "__module__", "").startswith(__name__ + "._"):
        try:
            _value.__module__ = __name__
        except (AttributeError, TypeError):  # pragma: no cover - builtins
            pass
