"""Capture: `verwerkingsactie(...)` and `verwerking(...)`, the object specs, the request context
they read, the settings, and the pipeline that `configure()` installs.

Builds on delivery (which it composes) and model; web builds on it.
"""

from __future__ import annotations

from .._exports import publish

from ._actie import Actie, actie_var, current_actie
from ._activiteiten import Annotation, annotation_of, note_annotation, separate_annotations
from ._context import (
    AFNEMER_KEY,
    RouteSource,
    afnemer_var,
    current_afnemer,
    current_gebruiker,
    current_inbound_trace,
    current_inbound_tracestate,
    current_route,
    gebruiker_var,
    inbound_trace_var,
    inbound_tracestate_var,
    request_var,
    run_in_context,
    use_afnemer,
    use_gebruiker,
    use_inbound_trace,
)
from ._decorator import verwerkingsactie
from ._errors import ConfigurationError
from ._objects import (
    INGEHOUDEN_OBJECT_ID,
    ONGELDIG_SOORT_OBJECT_ID,
    ObjectSpec,
    Placement,
    personen_uit_resultaat,
    persoon,
)
from ._pipeline import (
    Pipeline,
    build_pipeline,
    configure,
    current_pipeline,
    force_flush,
    get_pipeline,
    install,
    shutdown,
)
from ._setting_values import host_allowed
from ._settings import ENV_PREFIX, SETTINGS, Settings, check_annotation, load_settings
from ._span_exporter import VerwerkingenlogExporter
from ._tenant import current_oin
from ._verwerking import Verwerking, current_verwerking, verwerking

__all__ = [
    "current_oin",
    "AFNEMER_KEY",
    "ENV_PREFIX",
    "SETTINGS",
    "INGEHOUDEN_OBJECT_ID",
    "ONGELDIG_SOORT_OBJECT_ID",
    "Actie",
    "Annotation",
    "ConfigurationError",
    "ObjectSpec",
    "Pipeline",
    "Placement",
    "RouteSource",
    "Settings",
    "Verwerking",
    "VerwerkingenlogExporter",
    "actie_var",
    "annotation_of",
    "afnemer_var",
    "build_pipeline",
    "check_annotation",
    "configure",
    "current_actie",
    "current_afnemer",
    "current_gebruiker",
    "current_inbound_trace",
    "current_inbound_tracestate",
    "current_pipeline",
    "current_route",
    "current_verwerking",
    "force_flush",
    "gebruiker_var",
    "host_allowed",
    "get_pipeline",
    "inbound_trace_var",
    "inbound_tracestate_var",
    "install",
    "load_settings",
    "note_annotation",
    "personen_uit_resultaat",
    "persoon",
    "request_var",
    "run_in_context",
    "separate_annotations",
    "shutdown",
    "use_afnemer",
    "use_gebruiker",
    "use_inbound_trace",
    "verwerking",
    "verwerkingsactie",
]


publish(globals(), __all__, __name__)  # reprs and docs show the short path
