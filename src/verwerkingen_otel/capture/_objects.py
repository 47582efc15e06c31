"""Where an action's persons come from: `persoon(...)` and `personen_uit_resultaat(...)`.

A spec is checked when it is made (betrokkenheid, soorten gegevens) and placed against the
decorated function's signature at decoration time, so per call only the BSN itself is
checked; each object is made from a template (`_object_parts`).

Bad data at run time (a value that is no valid BSN) never crashes the host application and is
never silently dropped: the action is recorded with a placeholder object whose
`soortObjectId` is `ongeldig` and `objectId` is `ingehouden` (the value itself is withheld: it
might be a mistyped real BSN), with the spec's betrokkenheid and soorten gegevens; a warning
names the action, the spec and the rule broken (never the value), and the pipeline counter
`invalid_objects` goes up. Under `strict` a ValidationError is raised instead. `None` means
"no person" and adds no object.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable

from ..model import NAAM_MAX, InvalidValue, VerwerktObject, check_text
from ._errors import ConfigurationError
from ._object_parts import (
    INGEHOUDEN_OBJECT_ID,
    ONGELDIG_SOORT_OBJECT_ID,
    Part,
    Template,
    checked_template,
    invalid_part,
    render_object,
)

__all__ = [
    "INGEHOUDEN_OBJECT_ID",
    "ONGELDIG_SOORT_OBJECT_ID",
    "ObjectSpec",
    "Part",
    "Placement",
    "personen_uit_resultaat",
    "persoon",
    "render_object",
]

_MISSING = object()


def _many(value: object) -> Iterable[object]:
    """One identifier, or several when the value is a list, tuple, set or generator."""
    if value is None or isinstance(value, (str, int, bytes)):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, dict):
        return value
    return (value,)


def _callable_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


class Placement:
    """An ObjectSpec bound to one function's signature: what runs per call."""

    from_result = False

    def collect(self, parts: list[Part], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                actie_label: str, strict: bool) -> None:
        raise NotImplementedError

    def collect_result(self, parts: list[Part], result: Any, actie_label: str, strict: bool) -> None:
        raise NotImplementedError


class ObjectSpec:
    """Base of the object specs in `verwerkingsactie(objecten=[...])`."""

    label = "objecten"
    needs_call = True

    def place(self, signature: inspect.Signature | None) -> Placement:
        raise NotImplementedError


# --- persoon("argname") ----------------------------------------------------------------------


class _FromArgument(ObjectSpec):
    def __init__(self, argument: str, template: Template) -> None:
        self.argument = argument
        self.template = template
        self.label = f"persoon({argument!r})"

    def place(self, signature: inspect.Signature | None) -> Placement:
        if signature is None:
            raise ConfigurationError("objecten", f"{self.label}: the function's signature cannot be read")
        params = list(signature.parameters.values())
        for index, param in enumerate(params):
            if param.name == self.argument:
                return _ArgumentPlacement(self, index, param)
        if any(p.kind is p.VAR_KEYWORD for p in params):  # def f(**kwargs): passed by keyword only
            keyword = inspect.Parameter(self.argument, inspect.Parameter.KEYWORD_ONLY, default=None)
            return _ArgumentPlacement(self, len(params), keyword)
        raise ConfigurationError("objecten", f"{self.label} names no argument of the decorated function")


class _ArgumentPlacement(Placement):
    """Reads one argument by position or keyword without binding the whole signature per call."""

    def __init__(self, spec: _FromArgument, index: int, param: inspect.Parameter) -> None:
        self.template = spec.template
        self.label = spec.label
        self.name = param.name
        kind = param.kind
        self.index = index if kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD) else None
        self.by_keyword = kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
        self.var_positional = index if kind is param.VAR_POSITIONAL else None
        self.default = None if param.default is param.empty else param.default

    def collect(self, parts: list[Part], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                actie_label: str, strict: bool) -> None:
        value: Any = _MISSING
        if kwargs and self.by_keyword:
            value = kwargs.get(self.name, _MISSING)
        if value is _MISSING:
            if self.var_positional is not None:
                value = args[self.var_positional - (instance is not None):]
            elif self.index is not None and 0 <= (position := self.index - (instance is not None)) < len(args):
                value = args[position]  # wrapt passes a method's self/cls as `instance`, not in args
            else:
                value = self.default
        if value is None:
            return
        render = self.template.render
        if isinstance(value, (str, int)):
            parts.append(render(value, self.label, actie_label, strict))  # type: ignore[arg-type]
            return
        for item in _many(value):
            part = render(item, self.label, actie_label, strict)
            if part is not None:
                parts.append(part)


# --- callables over the call's arguments or its result ----------------------------------------


class _FromCallable(ObjectSpec, Placement):
    """persoon(from_args=fn) / persoon(from_result=fn) / personen_uit_resultaat(fn)."""

    def __init__(self, fn: Callable[..., Any], template: Template, from_result: bool, label: str,
                 hits: bool, spec_args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.template = template
        self.from_result = from_result
        self.label = label
        self.hits = hits  # personen_uit_resultaat: a hit may carry its own betrokkenheid
        self._spec_args = spec_args  # (objecttype, soort_object_id, soorten) for per-hit templates
        self._by_betrokkenheid: dict[str, Template] = {}

    def place(self, signature: inspect.Signature | None) -> Placement:
        return self

    def collect(self, parts: list[Part], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                actie_label: str, strict: bool) -> None:
        try:
            value = self.fn(instance, *args, **kwargs) if instance is not None else self.fn(*args, **kwargs)
        except Exception as exc:
            parts.append(self._failed(exc, actie_label, strict))
            return
        self._add(parts, value, actie_label, strict)

    def collect_result(self, parts: list[Part], result: Any, actie_label: str, strict: bool) -> None:
        try:
            value = self.fn(result)
            if self.hits:
                value = list(value) if value is not None else []
        except Exception as exc:
            parts.append(self._failed(exc, actie_label, strict))
            return
        self._add(parts, value, actie_label, strict)

    def _failed(self, exc: Exception, actie_label: str, strict: bool) -> Part:
        if strict:
            raise exc
        return invalid_part(self.template.placeholder, self.label, "error", f"it raised {type(exc).__name__}",
                        actie_label, strict)

    def _add(self, parts: list[Part], value: Any, actie_label: str, strict: bool) -> None:
        for index, item in enumerate(_many(value)):
            template = self.template
            label = f"{self.label}[{index}]" if self.hits else self.label
            if self.hits and isinstance(item, tuple) and len(item) == 2:
                item, betrokkenheid = item
                template = self._template_for(betrokkenheid, label, actie_label, strict)
            elif isinstance(item, VerwerktObject):
                part = render_object(
                    item.object_id, objecttype=item.objecttype, soort_object_id=item.soort_object_id,
                    betrokkenheid=item.betrokkenheid,
                    soorten_gegevens=[s.soort_gegeven for s in item.verwerkte_soorten_gegevens],
                    label=label, actie_label=actie_label, strict=strict,
                )
                if part is not None:
                    parts.append(part)
                continue
            part = template.render(item, label, actie_label, strict)
            if part is not None:
                parts.append(part)

    def _template_for(self, betrokkenheid: object, label: str, actie_label: str, strict: bool) -> Template:
        if betrokkenheid is None:
            return self.template
        cached = self._by_betrokkenheid.get(betrokkenheid) if isinstance(betrokkenheid, str) else None
        if cached is not None:
            return cached
        objecttype, soort, soorten = self._spec_args
        try:
            text = check_text(betrokkenheid, NAAM_MAX)
        except InvalidValue as exc:
            invalid_part(self.template.placeholder, f"{label}.betrokkenheid", exc.code, exc.reason, actie_label, strict)
            return self.template
        template = Template(objecttype, soort, text, soorten)
        if len(self._by_betrokkenheid) < 64:
            self._by_betrokkenheid[text] = template
        return template


# --- the public spec builders -----------------------------------------------------------------


def persoon(
    argument: str | None = None,
    *,
    from_args: Callable[..., Any] | None = None,
    from_result: Callable[[Any], Any] | None = None,
    betrokkenheid: str | None = None,
    soorten_gegevens: Iterable[str] = (),
    soort_object_id: str = "BSN",
) -> ObjectSpec:
    """A person whose data the action processes, identified by a BSN taken from:

    - `persoon("bsn")`: the decorated function's argument of that name (str, or int which is
      zero-padded to 9 digits; a list/tuple gives one person per item; None gives nobody);
    - `persoon(from_args=fn)`: `fn` called with the same arguments as the decorated function;
    - `persoon(from_result=fn)`: `fn` called with the return value.
    """
    if not isinstance(soorten_gegevens, (str, bytes)):
        soorten_gegevens = tuple(soorten_gegevens)
    given = [x for x in (argument, from_args, from_result) if x is not None]
    if len(given) != 1:
        raise ConfigurationError("objecten", "persoon(...) takes exactly one of an argument name, from_args or from_result")
    template = checked_template(soort_object_id, betrokkenheid, soorten_gegevens, "persoon")
    if argument is not None:
        if not isinstance(argument, str) or not argument.isidentifier():
            raise ConfigurationError("objecten", "persoon(...) takes the name of the argument holding the BSN")
        return _FromArgument(argument, template)
    fn = from_args if from_args is not None else from_result
    if not callable(fn):
        raise ConfigurationError("objecten", "persoon(from_args=/from_result=) takes a callable")
    kind = "from_args" if from_args is not None else "from_result"
    spec_args = ("persoon", soort_object_id, tuple(soorten_gegevens))
    return _FromCallable(fn, template, from_result is not None, f"persoon({kind}={_callable_name(fn)})", False, spec_args)


def personen_uit_resultaat(
    select: Callable[[Any], Iterable[Any]],
    *,
    betrokkenheid: str | None = None,
    soorten_gegevens: Iterable[str] = (),
    soort_object_id: str = "BSN",
) -> ObjectSpec:
    """The persons in a result, e.g. the hits of a search: one object per hit.

    `select(result)` yields hits; a hit is a BSN (str or int), a `(bsn, betrokkenheid)` pair
    giving that hit its own betrokkenheid, or a `VerwerktObject`. The search criteria
    themselves are never logged (NOTES §7).
    """
    if not isinstance(soorten_gegevens, (str, bytes)):
        soorten_gegevens = tuple(soorten_gegevens)
    if not callable(select):
        raise ConfigurationError("objecten", "personen_uit_resultaat(...) takes a callable over the result")
    template = checked_template(soort_object_id, betrokkenheid, soorten_gegevens, "personen_uit_resultaat")
    spec_args = ("persoon", soort_object_id, tuple(soorten_gegevens))
    return _FromCallable(select, template, True, f"personen_uit_resultaat({_callable_name(select)})", True, spec_args)
