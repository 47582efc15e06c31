"""`verwerkingsactie(...)`: record one verwerkingsactie per call (decorator) or per block.

Each call is one span on the dedicated verwerkingen TracerProvider (`_pipeline`), made and
ended through OpenTelemetry's public API, and one typed `Verwerkingsactie` that capture builds
itself from what it collected and hands to the pipeline's delivery before the call returns.
Everything that can be known when the decorator is applied is validated and precomputed then,
so a mistake fails at import time and the per-call path only reads contextvars, checks the BSN
and starts and ends one span.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from typing import Any, Callable, Sequence

import wrapt
from opentelemetry.trace import Link, Status, StatusCode
from opentelemetry.context import get_current as _get_current_context
from opentelemetry.trace import get_current_span as _get_current_span

from ..model import (
    ACTIE_NAAM,
    AFNEMER_ID,
    BEWAARTERMIJN,
    ERROR_TYPE,
    GEBRUIKER,
    HANDELING_NAAM,
    HTTP_ROUTE,
    IDENTIFICATOR_MAX,
    SOORT_AFNEMER_ID,
    TIJDSTIP,
    VERTROUWELIJKHEID,
    VERWERKING_ID,
    VERWERKING_ID_AFNEMER,
    VERWERKING_NAAM,
    VERWERKINGSACTIVITEIT_ID,
    VERWERKINGSACTIVITEIT_ID_AFNEMER,
    VERWERKINGSACTIVITEIT_URL,
    VERWERKINGSACTIVITEIT_URL_AFNEMER,
    VERWERKTE_OBJECTEN,
    Afnemer,
    Vertrouwelijkheid,
    new_uuid4,
    objects_json,
)
from ._actie import Actie, actie_var
from ._activiteiten import activity_of, note_function, register_defaults
from ._clock import next_tijdstip_us, tijdstip_text
from ._context import current_afnemer, gebruiker_var, request_var
from ._errors import ConfigurationError
from ._objects import ObjectSpec, Part, Placement
from ._recording import (
    action_values,
    bad_gebruiker,
    build_verwerkingsactie,
    error_type,
    root_context,
    signature_of,
    span_info,
)
from ._pipeline import Pipeline, current_pipeline, get_pipeline
from ._settings import check_annotation
from ._tenant import TenantFields, tenant_fields, tenant_of
from ._verwerking import Verwerking, verwerking_var

__all__ = ["verwerkingsactie"]

logger = logging.getLogger("verwerkingen_otel.capture")

_NORMAAL = Vertrouwelijkheid.NORMAAL
_VERTROUWELIJK = Vertrouwelijkheid.VERTROUWELIJK
_OK = Status(StatusCode.OK)
_ERROR = Status(StatusCode.ERROR)


class verwerkingsactie:
    """Record a verwerkingsactie: a decorator for sync and async functions, or a context manager.

    Every argument is checked now, so a bad annotation fails at decoration time naming the
    setting. `objecten` lists where the persons come from (`persoon(...)`,
    `personen_uit_resultaat(...)`); more can be added at run time with `add_object`.
    """

    def __init__(
        self,
        actie_naam: str | None = None,
        *,
        verwerkingsactiviteit_id: str | uuid.UUID | None = None,
        verwerkingsactiviteit_url: str | None = None,
        handeling_naam: str | None = None,
        verwerking_naam: str | None = None,
        verwerking_id: str | uuid.UUID | None = None,
        vertrouwelijkheid: str | Vertrouwelijkheid | None = None,
        bewaartermijn: str | None = None,
        objecten: Sequence[ObjectSpec] = (),
        activiteit: str | None = None,
    ) -> None:
        self.actie_naam = check_annotation("actie_naam", actie_naam)
        self._activiteit = check_annotation("activiteit", activiteit)
        if self._activiteit is not None and (verwerkingsactiviteit_id or verwerkingsactiviteit_url) is not None:
            raise ConfigurationError("activiteit", "takes id and url from the register: "
                                     "leave out verwerkingsactiviteit_id/_url")
        self._handeling_naam = check_annotation("handeling_naam", handeling_naam)
        self._verwerking_naam = check_annotation("verwerking_naam", verwerking_naam)
        self._verwerking_id = check_annotation("verwerking_id", verwerking_id)
        self._activiteit_id = check_annotation("verwerkingsactiviteit_id", verwerkingsactiviteit_id)
        self._activiteit_url = check_annotation("verwerkingsactiviteit_url", verwerkingsactiviteit_url)
        self._vertrouwelijkheid = check_annotation("vertrouwelijkheid", vertrouwelijkheid)
        self._bewaartermijn = check_annotation("bewaartermijn", bewaartermijn)
        if isinstance(objecten, ObjectSpec) or not isinstance(objecten, (list, tuple)):
            raise ConfigurationError("objecten", "must be a list of persoon(...) / personen_uit_resultaat(...)")
        for spec in objecten:
            if not isinstance(spec, ObjectSpec):
                raise ConfigurationError("objecten", "must be a list of persoon(...) / personen_uit_resultaat(...)")
        self._specs = tuple(objecten)
        static: dict[str, str] = {}
        for key, value in (
            (ACTIE_NAAM, self.actie_naam),
            (HANDELING_NAAM, self._handeling_naam),
            (VERWERKINGSACTIVITEIT_ID, self._activiteit_id),
            (VERWERKINGSACTIVITEIT_URL, self._activiteit_url),
        ):
            if value is not None:
                static[key] = value
        self._static = static
        self._cached: tuple[Pipeline, dict[str, str], bool, dict[str, Any]] | None = None
        self._tenants_cached: tuple[Pipeline, dict[str, tuple[TenantFields, dict[str, Any]]]] | None = None
        self._label = repr(self.actie_naam) if self.actie_naam else "verwerkingsactie"

    # -- decorator ----------------------------------------------------------------------------

    def __call__(self, fn: Callable[..., Any]) -> Any:
        if not callable(fn):
            raise TypeError("verwerkingsactie(...) decorates a function")
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise TypeError(
                "verwerkingsactie(...) cannot decorate a generator function (the call returns before the "
                "work is done); use `with verwerkingsactie(...)` inside it"
            )
        if self._activiteit is not None or self._activiteit_id is not None:  # checked now, or at configure()
            note_function(self, fn, self._activiteit, self._activiteit_id, current_pipeline())
        signature = signature_of(fn)
        placements = tuple(spec.place(signature) for spec in self._specs)
        before = tuple(p for p in placements if not p.from_result)
        after = tuple(p for p in placements if p.from_result)
        name = self.actie_naam or getattr(fn, "__qualname__", None) or "verwerkingsactie"
        begin, end = self._begin, self._end

        if inspect.iscoroutinefunction(fn):

            async def async_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
                actie = begin(name, before, instance, args, kwargs)
                try:
                    result = await wrapped(*args, **kwargs)
                except BaseException as exc:
                    end(actie, after, exc, None)
                    raise
                end(actie, after, None, result)
                return result

            return wrapt.FunctionWrapper(fn, async_wrapper)

        def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            actie = begin(name, before, instance, args, kwargs)
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as exc:
                end(actie, after, exc, None)
                raise
            end(actie, after, None, result)
            return result

        return wrapt.FunctionWrapper(fn, wrapper)

    # -- context manager ----------------------------------------------------------------------

    def __enter__(self) -> Actie:
        for spec in self._specs:
            if spec.needs_call:
                raise ConfigurationError(
                    "objecten",
                    f"{spec.label} reads the decorated call; in a with-block use actie.add_object(...)",
                )
        return self._begin(self.actie_naam or "verwerkingsactie", (), None, (), {})

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        actie = actie_var.get()
        if actie is None:  # the block ended in another context than it began in: say so loudly
            logger.error("verwerkingsactie %s: the block ended in another context; its action is lost", self._label)
            pipeline = current_pipeline()
            if pipeline is not None:
                pipeline.count("recording_failures")
            return
        self._end(actie, (), exc, None)

    async def __aenter__(self) -> Actie:
        return self.__enter__()

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.__exit__(exc_type, exc, tb)

    # -- the per-call path --------------------------------------------------------------------

    def _base(self, pipeline: Pipeline) -> tuple[dict[str, str], bool, dict[str, Any]]:
        """The attributes every call shares under `pipeline` (annotation, register, settings,
        defaults), whether the annotated activity is missing from the register, and the typed
        action's fields those attributes give (`action_values`)."""
        cached = self._cached
        if cached is not None and cached[0] is pipeline:
            return cached[1], cached[2], cached[3]
        base = dict(self._static)
        base.update(pipeline.base_attributes)
        if self._verwerking_id is not None:
            base[VERWERKING_ID] = self._verwerking_id
        if self._verwerking_naam is not None:
            base[VERWERKING_NAAM] = self._verwerking_naam
        activiteit, unknown = None, False  # each tenant's own register decides, when all have one
        if not pipeline.own_registers_only:
            activiteit, unknown = activity_of(pipeline.register, self._activiteit, self._activiteit_id, self._label)
        register_vertrouwelijk, register_bewaartermijn = register_defaults(activiteit)
        if activiteit is not None:
            base[VERWERKINGSACTIVITEIT_ID] = activiteit.id
            if self._activiteit_url is None and activiteit.url is not None:
                base[VERWERKINGSACTIVITEIT_URL] = activiteit.url
        # vertrouwelijkheid: the most confidential source (the register's default among them);
        # bewaartermijn: the annotation, else the register's default, else the setting
        vertrouwelijk = self._vertrouwelijkheid is _VERTROUWELIJK or register_vertrouwelijk
        base[VERTROUWELIJKHEID] = (_VERTROUWELIJK if vertrouwelijk else _NORMAAL).value
        bewaartermijn = self._bewaartermijn or register_bewaartermijn or pipeline.settings.bewaartermijn
        if bewaartermijn is not None:
            base[BEWAARTERMIJN] = bewaartermijn
        values = action_values(base)
        self._cached = (pipeline, base, unknown, values)
        return base, unknown, values

    def _tenant_fields(self, pipeline: Pipeline, base: dict[str, str]) -> tuple[TenantFields, dict[str, Any]]:
        """The tenant's fields for this annotation and the typed action's fields they give."""
        assert pipeline.tenants is not None
        tenant = tenant_of(pipeline.tenants)
        cached = self._tenants_cached
        if cached is None or cached[0] is not pipeline:
            cached = self._tenants_cached = (pipeline, {})
        found = cached[1].get(tenant.name)
        if found is None:
            fields = tenant_fields(
                tenant, pipeline.tenant_registers.get(tenant.name), pipeline.register, base,
                (self._activiteit, self._activiteit_id), vertrouwelijk_given=self._vertrouwelijkheid is _VERTROUWELIJK,
                bewaartermijn_given=self._bewaartermijn is not None, label=self._label)
            fields.apply(applied := dict(base))
            found = cached[1][tenant.name] = (fields, action_values(applied))
        return found

    def _begin(
        self,
        span_name: str,
        placements: tuple[Placement, ...],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Actie:
        pipeline = current_pipeline() or get_pipeline()
        strict = pipeline.strict
        parts: list[Part] = []
        for placement in placements:
            placement.collect(parts, instance, args, kwargs, self._label, strict)

        base, unknown_activiteit, base_values = self._base(pipeline)
        if unknown_activiteit:
            pipeline.count("unknown_activiteit")
        attributes = base.copy()
        if pipeline.tenants is not None:  # a service for several organisations: this tenant's fields
            fields, base_values = self._tenant_fields(pipeline, base)
            fields.apply(attributes)
            if fields.unknown:
                pipeline.count("unknown_activiteit")
        parent = actie_var.get()
        frame = verwerking_var.get()
        otel_context = _get_current_context()  # read once: for the afnemer and for the app's span
        afnemer = current_afnemer(otel_context)
        if self._verwerking_id is None:
            if frame is not None:
                attributes[VERWERKING_ID] = frame.verwerking_id
            elif parent is not None:
                attributes[VERWERKING_ID] = parent.attributes[VERWERKING_ID]
            else:
                attributes[VERWERKING_ID] = new_uuid4()
        if self._verwerking_naam is None and (frame is not None or parent is not None):
            naam = frame.verwerking_naam if frame is not None else None
            if naam is None and parent is not None:
                naam = parent.attributes.get(VERWERKING_NAAM)
            if naam is not None:
                attributes[VERWERKING_NAAM] = naam
        if frame is not None or afnemer is not None:
            self._from_context(attributes, frame, afnemer)
        gebruiker = gebruiker_var.get()  # current_gebruiker()
        if gebruiker is not None:
            if isinstance(gebruiker, str) and len(gebruiker) <= IDENTIFICATOR_MAX:
                attributes[GEBRUIKER] = gebruiker
            else:
                bad_gebruiker(self._label, strict)
        request = request_var.get()  # in a web request: its route template, known once routed
        if request is not None and (route := request.route()) is not None:
            attributes[HTTP_ROUTE] = route

        us = next_tijdstip_us()
        attributes[TIJDSTIP] = tijdstip_text(us)
        app_span = _get_current_span(otel_context).get_span_context()
        span = pipeline.tracer.start_span(
            span_name,
            context=parent.span_context() if parent is not None else root_context(),
            attributes=attributes,
            links=(Link(app_span),) if app_span.is_valid else None,
            start_time=us * 1000,
        )
        actie = Actie()
        actie.span = span
        actie.attributes = attributes
        actie.tijdstip_us = us
        actie.pipeline = pipeline
        # only the verwerkingId differs from the shared attributes: build_verwerkingsactie starts from their fields
        simple = parent is None and frame is None and afnemer is None and gebruiker is None
        actie.base_values = base_values if simple else None
        actie._label = self._label
        actie._parts = parts
        actie._strict = strict
        actie._context = None
        actie._token = actie_var.set(actie)
        return actie

    def _from_context(self, attributes: dict[str, str], frame: Verwerking | None, afnemer: Afnemer | None) -> None:
        """Vertrouwelijkheid, bewaartermijn and afnemer fields from the verwerking and the caller.

        Vertrouwelijkheid: the most confidential of annotation, verwerking and inbound header
        (an inbound `opgeheven` counts as normaal). Bewaartermijn: the first that is set of
        annotation, verwerking, inbound header, setting.
        """
        bewaartermijn = self._bewaartermijn
        if frame is not None:
            if frame.vertrouwelijkheid is _VERTROUWELIJK:
                attributes[VERTROUWELIJKHEID] = _VERTROUWELIJK.value
            bewaartermijn = bewaartermijn or frame.bewaartermijn
        if afnemer is not None:
            if afnemer.vertrouwelijkheid is _VERTROUWELIJK:
                attributes[VERTROUWELIJKHEID] = _VERTROUWELIJK.value
            bewaartermijn = bewaartermijn or afnemer.bewaartermijn
            if afnemer.oin is not None:
                attributes[SOORT_AFNEMER_ID] = "OIN"
                attributes[AFNEMER_ID] = afnemer.oin
            if afnemer.verwerkingsactiviteit_id is not None:
                attributes[VERWERKINGSACTIVITEIT_ID_AFNEMER] = afnemer.verwerkingsactiviteit_id
            if afnemer.verwerkingsactiviteit_url is not None:
                attributes[VERWERKINGSACTIVITEIT_URL_AFNEMER] = afnemer.verwerkingsactiviteit_url
            if afnemer.verwerking_id is not None:
                attributes[VERWERKING_ID_AFNEMER] = afnemer.verwerking_id
        if bewaartermijn is not None:
            attributes[BEWAARTERMIJN] = bewaartermijn

    def _end(
        self,
        actie: Actie,
        placements: tuple[Placement, ...],
        exc: BaseException | None,
        result: Any,
    ) -> None:
        try:
            actie_var.reset(actie._token)
        except ValueError:  # the block ended in another context than it began in
            actie_var.set(None)
        span = actie.span
        failure: BaseException | None = None
        if exc is None and placements:
            try:
                for placement in placements:
                    placement.collect_result(actie._parts, result, self._label, actie._strict)
            except Exception as err:  # only under strict: lenient collection never raises
                failure = exc = err
        try:
            parts = actie._parts
            if len(parts) > 1:
                parts = list(dict.fromkeys(parts))
            if exc is None:
                span.set_status(_OK)
            else:
                span.set_status(_ERROR)
                span.set_attribute(ERROR_TYPE, error_type(exc))
            pipeline = actie.pipeline
            if parts:
                objects = "[" + parts[0][1] + "]" if len(parts) == 1 else objects_json([text for _, text in parts])
                span.set_attribute(VERWERKTE_OBJECTEN, objects)  # one object: the text objects_json makes, no list
                pipeline.record(build_verwerkingsactie(actie, parts),
                                span_info(span, exc) if pipeline.wants_span else None)
            else:
                pipeline.count("not_recorded_no_objects")
        finally:
            span.end()
        if failure is not None:
            raise failure

