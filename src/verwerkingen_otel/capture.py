"""Capture: `verwerkingsactie(...)`, `verwerking(...)`, `current_actie()` and the object specs.

Every call of a decorated function (or every `with verwerkingsactie(...)` block) is one span on
the dedicated verwerkingen TracerProvider (pipeline.py). Everything that can be known when the
decorator is applied is validated and precomputed then, so a mistake fails at import time and
the per-call path only reads contextvars, checks the BSN and starts and ends one span.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import os
import threading
import time
import uuid
from contextvars import ContextVar, Token
from typing import Any, Callable, Iterable, Sequence

import wrapt
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, Status, StatusCode
from opentelemetry.trace import get_current_span as _get_current_span

from . import pipeline as _pipeline
from .attributes import (
    AFNEMER_ID,
    BEWAARTERMIJN,
    ERROR_TYPE,
    GEBRUIKER,
    HTTP_ROUTE,
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
    ACTIE_NAAM,
    HANDELING_NAAM,
    BodyPlan,
    body_plan,
    hand_over,
    objects_json,
)
from .config import ConfigurationError, check_annotation
from .context import Afnemer, _request, current_afnemer, current_gebruiker, current_inbound_trace
from .model import IDENTIFICATOR_MAX, FieldError, ValidationError, Vertrouwelijkheid, new_uuid4
from .objects import ObjectSpec, Placement, render_object

__all__ = ["Actie", "current_actie", "current_verwerking", "verwerking", "verwerkingsactie"]

logger = logging.getLogger("verwerkingen_otel.capture")

_NORMAAL = Vertrouwelijkheid.NORMAAL
_VERTROUWELIJK = Vertrouwelijkheid.VERTROUWELIJK
_OK = Status(StatusCode.OK)
_ERROR = Status(StatusCode.ERROR)
_EMPTY_CONTEXT = Context()
_set_trusted = _pipeline.set_trusted_attributes

# --- tijdstip: strictly increasing within the process, at microsecond precision ------------

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_clock_lock = threading.Lock()
_last_us = 0


def _next_tijdstip_us() -> int:
    """Now in microseconds since the epoch, one more than the last value if the clock lags."""
    global _last_us
    now = time.time_ns() // 1000
    with _clock_lock:
        if now <= _last_us:
            now = _last_us + 1
        _last_us = now
    return now


def _new_clock_lock() -> None:
    global _clock_lock
    _clock_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # a child must not inherit a lock held at fork time
    os.register_at_fork(after_in_child=_new_clock_lock)


def _tijdstip(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


_iso_second = (-1, "")


def _tijdstip_text(us: int) -> str:
    """`_tijdstip(us).isoformat(timespec="microseconds")`, reusing the text of the same second."""
    global _iso_second
    second, fraction = divmod(us, 1_000_000)
    cached_second, prefix = _iso_second
    if second != cached_second:
        prefix = (_EPOCH + dt.timedelta(seconds=second)).isoformat()[:19]
        _iso_second = (second, prefix)
    return f"{prefix}.{fraction:06d}+00:00"


# --- verwerking(...): defaults for every action inside --------------------------------------


class Verwerking:
    """The verwerking in force inside a `with verwerking(...)` block."""

    __slots__ = ("verwerking_id", "verwerking_naam", "vertrouwelijkheid", "bewaartermijn", "_token")

    def __init__(
        self,
        verwerking_id: str,
        verwerking_naam: str | None,
        vertrouwelijkheid: Vertrouwelijkheid | None,
        bewaartermijn: str | None,
    ) -> None:
        self.verwerking_id = verwerking_id
        self.verwerking_naam = verwerking_naam
        self.vertrouwelijkheid = vertrouwelijkheid
        self.bewaartermijn = bewaartermijn
        self._token: Token[Verwerking | None] | None = None

    def __repr__(self) -> str:
        return f"Verwerking(verwerking_id={self.verwerking_id!r}, verwerking_naam={self.verwerking_naam!r})"


_verwerking_var: ContextVar[Verwerking | None] = ContextVar("verwerkingen_verwerking", default=None)


def current_verwerking() -> Verwerking | None:
    """The innermost `verwerking(...)` block in force, if any."""
    return _verwerking_var.get()


class verwerking:
    """`with verwerking(verwerking_id=zaak_uuid, ...)`: defaults for every action inside.

    Arguments are checked here, naming the setting on a mistake. Without a `verwerking_id` the
    block gets one new uuid4 (or keeps the one of an enclosing block), shared by its actions.
    In a nested block a value set inside wins, except that the most confidential
    vertrouwelijkheid applies. Works with `with` and `async with`; reusable.
    """

    def __init__(
        self,
        *,
        verwerking_id: str | uuid.UUID | None = None,
        verwerking_naam: str | None = None,
        vertrouwelijkheid: str | Vertrouwelijkheid | None = None,
        bewaartermijn: str | None = None,
    ) -> None:
        self._verwerking_id = check_annotation("verwerking_id", verwerking_id)
        self._verwerking_naam = check_annotation("verwerking_naam", verwerking_naam)
        self._vertrouwelijkheid = check_annotation("vertrouwelijkheid", vertrouwelijkheid)
        self._bewaartermijn = check_annotation("bewaartermijn", bewaartermijn)

    def __enter__(self) -> Verwerking:
        outer = _verwerking_var.get()
        vertrouwelijkheid = self._vertrouwelijkheid
        if outer is not None and outer.vertrouwelijkheid is _VERTROUWELIJK:
            vertrouwelijkheid = _VERTROUWELIJK
        frame = Verwerking(
            self._verwerking_id or (outer.verwerking_id if outer else None) or new_uuid4(),
            self._verwerking_naam or (outer.verwerking_naam if outer else None),
            vertrouwelijkheid or (outer.vertrouwelijkheid if outer else None),
            self._bewaartermijn or (outer.bewaartermijn if outer else None),
        )
        frame._token = _verwerking_var.set(frame)
        return frame

    def __exit__(self, *exc_info: object) -> None:
        frame = _verwerking_var.get()
        if frame is not None and frame._token is not None:
            _reset(_verwerking_var, frame._token, None)

    async def __aenter__(self) -> Verwerking:
        return self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__(*exc_info)


def _reset(var: ContextVar[Any], token: Token[Any], fallback: Any) -> None:
    """Reset `var`; when the block ended in another context than it began, set `fallback`."""
    try:
        var.reset(token)
    except ValueError:
        var.set(fallback)


# --- the action being recorded --------------------------------------------------------------


class Actie:
    """The action being recorded: what `current_actie()` returns and `with ... as actie` binds.

    Exposes the effective values (after the precedence rules), which outbound calls propagate
    as headers, and `add_object` for persons known only at run time. The values live in the
    span attributes this action started with; the properties read them from there.
    """

    __slots__ = ("span", "attributes", "tijdstip_us", "_label", "_parts", "_strict", "_token", "_context", "_plan")

    span: Span
    attributes: dict[str, str]
    tijdstip_us: int
    _label: str
    _parts: list[str]
    _strict: bool
    _token: Token[Actie | None]
    _context: Context | None
    _plan: BodyPlan | None

    @property
    def actie_naam(self) -> str | None:
        return self.attributes.get(ACTIE_NAAM)

    @property
    def verwerking_id(self) -> str:
        return self.attributes[VERWERKING_ID]

    @property
    def verwerking_naam(self) -> str | None:
        return self.attributes.get(VERWERKING_NAAM)

    @property
    def verwerkingsactiviteit_id(self) -> str | None:
        return self.attributes.get(VERWERKINGSACTIVITEIT_ID)

    @property
    def verwerkingsactiviteit_url(self) -> str | None:
        return self.attributes.get(VERWERKINGSACTIVITEIT_URL)

    @property
    def vertrouwelijkheid(self) -> Vertrouwelijkheid:
        return Vertrouwelijkheid(self.attributes[VERTROUWELIJKHEID])

    @property
    def bewaartermijn(self) -> str | None:
        return self.attributes.get(BEWAARTERMIJN)

    @property
    def tijdstip(self) -> dt.datetime:
        """When the action started (UTC, microseconds): the recorded `tijdstip`."""
        return _tijdstip(self.tijdstip_us)

    def add_object(
        self,
        object_id: object = None,
        *,
        objecttype: str = "persoon",
        soort_object_id: str = "BSN",
        betrokkenheid: str | None = None,
        soorten_gegevens: Iterable[str] = (),
        label: str = "add_object",
    ) -> None:
        """Record that this action processed the data of one more person (or object).

        A BSN may be a str or an int. An invalid value is handled like an invalid argument:
        recorded with objectId withheld and a warning, or ValidationError under `strict`;
        `label` is what that warning or error calls the object (never its value).
        """
        part = render_object(
            object_id,
            objecttype=objecttype,
            soort_object_id=soort_object_id,
            betrokkenheid=betrokkenheid,
            soorten_gegevens=soorten_gegevens,
            label=label,
            actie_label=self._label,
            strict=self._strict,
        )
        if part is not None:
            self._parts.append(part)

    @property
    def object_count(self) -> int:
        return len(self._parts)

    def span_context(self) -> Context:
        """An OpenTelemetry context whose span is this action (parent of nested actions)."""
        if self._context is None:  # made on first use: most actions have no nested ones
            self._context = trace.set_span_in_context(self.span, _EMPTY_CONTEXT)
        return self._context

    def __repr__(self) -> str:
        return f"<Actie {self.actie_naam!r} verwerking_id={self.verwerking_id!r}>"


_actie_var: ContextVar[Actie | None] = ContextVar("verwerkingen_actie", default=None)


def current_actie() -> Actie | None:
    """The action being recorded in this context, or None outside any."""
    return _actie_var.get()


def _root_context() -> Context:
    """A top-level action's parent: the caller's inbound trace (set by the web middleware), if any."""
    inbound = current_inbound_trace()
    if inbound is None:
        return _EMPTY_CONTEXT
    return trace.set_span_in_context(trace.NonRecordingSpan(inbound), _EMPTY_CONTEXT)


def _error_type(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


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
    ) -> None:
        self.actie_naam = check_annotation("actie_naam", actie_naam)
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
        self._cached: tuple[_pipeline.Pipeline, dict[str, str], BodyPlan] | None = None
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
        signature = _signature(fn)
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
        actie = _actie_var.get()
        if actie is None:  # the block ended in another context than it began in: say so loudly
            logger.error("verwerkingsactie %s: the block ended in another context; its action is lost", self._label)
            pipeline = _pipeline._current
            if pipeline is not None:
                pipeline.count("recording_failures")
            return
        self._end(actie, (), exc, None)

    async def __aenter__(self) -> Actie:
        return self.__enter__()

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.__exit__(exc_type, exc, tb)

    # -- the per-call path --------------------------------------------------------------------

    def _base(self, pipeline: _pipeline.Pipeline) -> tuple[dict[str, str], BodyPlan]:
        """The attributes every call shares under `pipeline` (annotation, settings, defaults),
        and the constant part of their POST body."""
        cached = self._cached
        if cached is not None and cached[0] is pipeline:
            return cached[1], cached[2]
        base = dict(self._static)
        base.update(pipeline.base_attributes)
        if self._verwerking_id is not None:
            base[VERWERKING_ID] = self._verwerking_id
        if self._verwerking_naam is not None:
            base[VERWERKING_NAAM] = self._verwerking_naam
        base[VERTROUWELIJKHEID] = (self._vertrouwelijkheid or _NORMAAL).value
        bewaartermijn = self._bewaartermijn or pipeline.settings.bewaartermijn
        if bewaartermijn is not None:
            base[BEWAARTERMIJN] = bewaartermijn
        plan = body_plan(base)
        self._cached = (pipeline, base, plan)
        return base, plan

    def _begin(
        self,
        span_name: str,
        placements: tuple[Placement, ...],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Actie:
        pipeline = _pipeline._current or _pipeline.get_pipeline()
        strict = pipeline.strict
        parts: list[str] = []
        for placement in placements:
            placement.collect(parts, instance, args, kwargs, self._label, strict)

        plan: BodyPlan | None
        base, plan = self._base(pipeline)
        attributes = base.copy()
        parent = _actie_var.get()
        frame = _verwerking_var.get()
        afnemer = current_afnemer()
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
        gebruiker = current_gebruiker()
        if gebruiker is not None:
            plan = None  # the plan covers only verwerking_id, verwerking_naam and tijdstip per call
            if isinstance(gebruiker, str) and len(gebruiker) <= IDENTIFICATOR_MAX:
                attributes[GEBRUIKER] = gebruiker
            else:
                _bad_gebruiker(self._label, strict)
        elif frame is not None or afnemer is not None:
            plan = None
        request = _request.get()  # in a web request: its route template, known once routed
        if request is not None and (route := request.route()) is not None:
            attributes[HTTP_ROUTE] = route

        us = _next_tijdstip_us()
        attributes[TIJDSTIP] = _tijdstip_text(us)
        app_span = _get_current_span().get_span_context()
        span = pipeline.tracer.start_span(
            span_name,
            context=parent.span_context() if parent is not None else _root_context(),
            links=(Link(app_span),) if app_span.is_valid else None,
            start_time=us * 1000,
        )
        _set_trusted(span, attributes)  # every value is validated text: no second cleaning
        actie = Actie()
        actie.span = span
        actie.attributes = attributes
        actie.tijdstip_us = us
        actie._label = self._label
        actie._parts = parts
        actie._strict = strict
        actie._context = None
        actie._plan = plan
        actie._token = _actie_var.set(actie)
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
            _actie_var.reset(actie._token)
        except ValueError:  # the block ended in another context than it began in
            _actie_var.set(None)
        span = actie.span
        failure: BaseException | None = None
        if exc is None and placements:
            try:
                for placement in placements:
                    placement.collect_result(actie._parts, result, self._label, actie._strict)
            except Exception as err:  # only under strict: lenient collection never raises
                failure = exc = err
        if exc is None:
            span.set_status(_OK)
            ending: dict[str, str] = {}
        else:
            span.set_status(_ERROR)
            ending = {ERROR_TYPE: _error_type(exc)}
        parts = actie._parts
        if parts:
            if len(parts) > 1:
                parts = list(dict.fromkeys(parts))
            ending[VERWERKTE_OBJECTEN] = objects_json(parts)
        if ending:
            _set_trusted(span, ending)
        if parts and actie._plan is not None:  # the processor's body, unless the span changes
            written = actie.attributes  # the action is over: its dict becomes all capture wrote
            written.update(ending)
            hand_over(span, written, actie._plan)
        span.end()
        if failure is not None:
            raise failure


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _bad_gebruiker(label: str, strict: bool) -> None:
    reason = f"must be a string of at most {IDENTIFICATOR_MAX} characters"
    if strict:
        raise ValidationError([FieldError("gebruiker", "max_length", reason)])
    logger.warning("verwerkingsactie %s: gebruiker %s; recorded without gebruiker", label, reason)

