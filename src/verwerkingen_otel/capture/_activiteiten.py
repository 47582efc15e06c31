"""Annotation by activity: `activiteit="Wijzigen van geslachtsnaam"` resolved in the register.

The register comes from the `register` setting (VERWERKINGEN_REGISTER): a file, or the base URL
of a VAR API, read when the pipeline is built and cached on disk beside the outbox, so start-up
never waits on a register that is down when a cached copy exists.

Every annotation that names an activity (a decorator's `activiteit` or `verwerkingsactiviteit_id`,
a rule's `activiteit`) is noted here. It is checked against the register at once when one is
configured, and again by every `configure()`: an unknown name fails there with a
ConfigurationError naming the function or rule and the closest names in the register; a name
the register holds more than once fails the same way, listing the ids. Annotations are held
weakly, so one that is gone is no longer checked.
"""

from __future__ import annotations

import logging
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ..register import (
    AmbiguousActiviteit, Register, RegisterError, UnknownActiviteit, Verwerkingsactiviteit, is_url, open_source,
)
from ..delivery import TenantsFile
from ._errors import ConfigurationError
from ._settings import Settings

__all__ = ["Annotation", "TenantRegisters", "main_id", "tenant_registers_of", "activity_of", "annotation_of", "annotate", "check_annotations", "load_register_setting", "note_annotation", "note_function",
           "separate_annotations",
           "register_defaults"]

logger = logging.getLogger("verwerkingen_otel.capture")

_lock = threading.Lock()
_noted: list[tuple[weakref.ref[Any], Annotation]] = []
_by_function: weakref.WeakKeyDictionary[Any, Annotation] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Annotation:
    """One place that names an activity: `where` says which (function or rule) for messages."""

    where: str
    activiteit: str | None = None  # by naam or id: must be in the register
    activiteit_id: str | None = None  # given directly: checked when there is a register

    @property
    def setting(self) -> str:
        return "activiteit" if self.activiteit is not None else "verwerkingsactiviteit_id"


def load_register_setting(settings: Settings, outbox: str) -> Register | None:
    """The configured register, or None; ConfigurationError naming the setting when it cannot be had.

    A VAR API is cached in `<outbox>.register.json`, written whenever it was read.
    """
    spec = settings.register
    if spec is None:
        return None
    cache = Path(outbox).with_name(Path(outbox).name + ".register.json") if is_url(spec) else None
    try:
        return open_source(spec, cache=cache, timeout=settings.timeout).load()
    except RegisterError as exc:
        raise settings.error("register", str(exc)) from None


def register_defaults(activiteit: Verwerkingsactiviteit | None) -> tuple[bool, str | None]:
    """(the register says vertrouwelijk, the register's bewaartermijnDuur) for an action's defaults."""
    if activiteit is None:
        return False, None
    return activiteit.vertrouwelijkheid == "vertrouwelijk", activiteit.bewaartermijn_duur


def activity_of(register: Register | None, activiteit: str | None, activiteit_id: str | None,
                label: str) -> tuple[Verwerkingsactiviteit | None, bool]:
    """The register's activity for an annotation (None when it names none), and True when the
    register does not hold it: the action is then recorded as annotated, with a warning."""
    key = activiteit if activiteit is not None else activiteit_id
    if key is None:
        return None, False
    if register is None:
        if activiteit is None:  # an id and no register to check it in: as annotated
            return None, False
        logger.warning("verwerkingsactie %s: activiteit %r but no register is configured "
                       "(VERWERKINGEN_REGISTER); recorded without verwerkingsactiviteitId", label, key)
        return None, True
    try:
        return register.lookup(key), False
    except RegisterError:
        logger.warning("verwerkingsactie %s: the register does not hold the verwerkingsactiviteit %r; recorded %s",
                       label, key, "without verwerkingsactiviteitId" if activiteit is not None else "as annotated")
        return None, True


@dataclass(frozen=True)
class TenantRegisters:
    """Each tenant's own register (tenants file `register`), for checking annotations. When every
    tenant has one (`only`), the `register` setting's register plays no part in an action."""

    registers: Mapping[str, Register]
    tenants: TenantsFile

    @property
    def only(self) -> bool:
        return all(name in self.registers for name in self.tenants.tenants)

    def problems(self, annotation: Annotation, main: Register | None) -> list[str]:
        """What is wrong with `annotation` in each tenant's register (a tenant's own
        `verwerkingsactiviteiten` table may map it instead)."""
        found: list[str] = []
        key = annotation.activiteit or annotation.activiteit_id
        for name, register in self.registers.items():
            tenant = self.tenants.tenants[name]
            if key is None or key in tenant.verwerkingsactiviteiten or main_id(main, key) in tenant.verwerkingsactiviteiten:
                continue
            shown = Annotation(f"{annotation.where} (tenant {name!r}, register {register.source})",
                               annotation.activiteit, annotation.activiteit_id)
            if annotation.activiteit is None and main is not None and key in main and key not in register:
                known = main.get(key)  # an id of the main register: the tenant's activity of that name
                shown = Annotation(shown.where, known.naam if known is not None else None, None)
            text = problem(shown, register)
            if text is not None:
                found.append(text)
        return found


def main_id(main: Register | None, key: str) -> str | None:
    """The id the main register gives an annotated naam or id (None: it gives none)."""
    if main is None:
        return None
    try:
        return main.lookup(key).id
    except RegisterError:
        return None


def tenant_registers_of(tenants: TenantsFile | None, registers: Mapping[str, Register]) -> TenantRegisters | None:
    return TenantRegisters(registers, tenants) if tenants is not None and registers else None


def problem(annotation: Annotation, register: Register | None) -> str | None:
    """What is wrong with one annotation under this register (None: nothing)."""
    if annotation.activiteit is not None:
        if register is None:
            return (f"{annotation.where}: activiteit={annotation.activiteit!r} needs a register of processing "
                    "activities: set VERWERKINGEN_REGISTER (a file or a VAR API base URL)")
        try:
            register.lookup(annotation.activiteit)
        except UnknownActiviteit as exc:
            hint = ("; closest names: " + ", ".join(repr(s) for s in exc.suggestions)) if exc.suggestions else ""
            return f"{annotation.where}: the register holds no verwerkingsactiviteit {annotation.activiteit!r}{hint}"
        except AmbiguousActiviteit as exc:
            return (f"{annotation.where}: the register holds {len(exc.ids)} verwerkingsactiviteiten named "
                    f"{annotation.activiteit!r}; give one of their ids instead: {', '.join(exc.ids)}")
        return None
    if annotation.activiteit_id is not None and register is not None and annotation.activiteit_id not in register:
        return f"{annotation.where}: verwerkingsactiviteit_id {annotation.activiteit_id} is not in the register"
    return None


def problems(annotation: Annotation, register: Register | None, tenants: TenantRegisters | None) -> list[str]:
    """Every problem of one annotation: in the main register (unless every tenant has its own)
    and in each tenant's register."""
    found: list[str] = []
    if tenants is None or not tenants.only:
        text = problem(annotation, register)
        if text is not None:
            found.append(text)
    if tenants is not None:
        found += tenants.problems(annotation, register)
    return found


def annotate(owner: Any, annotation: Annotation, register: Register | None, *, deferred_ok: bool = True,
             tenants: TenantRegisters | None = None) -> None:
    """Note an annotation (held as long as `owner` lives) and check it now when a register is known.

    With no register yet the check waits for `configure()` (`deferred_ok`), unless the annotation
    names an activity and a pipeline without register is already installed.
    """
    if register is not None or tenants is not None or not deferred_ok:
        found = problems(annotation, register, tenants)
        if found:
            raise ConfigurationError(annotation.setting, "; ".join(found))
    with _lock:
        _noted[:] = [(ref, a) for ref, a in _noted if ref() is not None]
        _noted.append((weakref.ref(owner), annotation))


def _pipeline_registers(pipeline: Any) -> tuple[Register | None, TenantRegisters | None]:
    if pipeline is None:
        return None, None
    return pipeline.register, tenant_registers_of(pipeline.tenants, pipeline.tenant_registers)


def note_annotation(owner: Any, annotation: Annotation, pipeline: Any) -> None:
    """Any annotation (a rule's): checked now when a pipeline is installed, else at configure()."""
    register, tenants = _pipeline_registers(pipeline)
    annotate(owner, annotation, register, deferred_ok=pipeline is None, tenants=tenants)


def note_function(owner: Any, fn: Any, activiteit: str | None, activiteit_id: str | None, pipeline: Any) -> None:
    """A decorator's annotation: checked now when a pipeline is installed, else at configure()."""
    where = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    register, tenants = _pipeline_registers(pipeline)
    annotation = Annotation(where, activiteit, activiteit_id)
    annotate(owner, annotation, register, deferred_ok=pipeline is None, tenants=tenants)
    try:
        _by_function[fn] = annotation
    except TypeError:  # a callable that cannot be weakly referenced: not findable by `annotation_of`
        pass


def annotation_of(fn: Any) -> Annotation | None:
    """The activity annotation of a decorated function (or of the function it wraps), if any."""
    for candidate in (fn, getattr(fn, "__wrapped__", None)):
        try:
            found = _by_function.get(candidate) if candidate is not None else None
        except TypeError:
            found = None
        if found is not None:
            return found
    return None


@contextmanager
def separate_annotations() -> Iterator[None]:
    """For tests: inside the block, configure() checks only the annotations noted inside it (a
    test's own), not the rest of the process's; afterwards those are forgotten again."""
    with _lock:
        saved = list(_noted)
        _noted.clear()
    try:
        yield
    finally:
        with _lock:
            _noted[:] = saved


def check_annotations(register: Register | None, tenants: TenantRegisters | None = None,
                      extra: Iterable[Annotation] = ()) -> None:
    """Check every live annotation (at `configure()`) in the main register and each tenant's;
    one ConfigurationError lists all problems."""
    with _lock:
        live = [a for ref, a in _noted if ref() is not None]
    bad = [(a, p) for a in [*live, *extra] for p in problems(a, register, tenants)]
    if bad:
        setting = "activiteit" if any(a.activiteit is not None for a, _ in bad) else "verwerkingsactiviteit_id"
        raise ConfigurationError(setting, "; ".join(dict.fromkeys(p for _, p in bad)))
