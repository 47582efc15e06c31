"""Routing: which outbox lanes (exporter names) each action goes to.

The `[[routes]]` of the destinations file are tried in order and the first that matches
decides; when none matches, the tenant's `destination` (tenants file) applies; then the default
route. With none of these the action is not recorded: `RecordingError` naming the action and
the routes — fail-closed, never dropped. An action reaches each destination at most once,
however many ways point there; exporters configured outside the file (`console`, ...) get
every action. `build_routed_exporters` makes one exporter per lane (`api:centraal`).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Collection, Sequence

from ..client import tls_context
from ..model import Verwerkingsactie
from ._destinations import Destination, DestinationsError, DestinationsFile, Route, load_destinations
from ._errors import RecordingError
from ._record import ActionExporter
from ._tenants import TenantsFile, load_tenants, tenant_var
from .exporters import ApiExporter, ConsoleExporter, InMemoryExporter

__all__ = ["ActiviteitLookup", "Router", "build_routed_exporters", "load_routing", "make_router"]

ActiviteitLookup = Callable[[str], "str | Collection[str] | None"]


class Router:
    """Chooses the lanes of each action; `lanes(actie)` runs on the request path (cached)."""

    def __init__(self, file: DestinationsFile, *, tenants: TenantsFile | None = None,
                 extra: Sequence[str] = (), activiteit_ids: ActiviteitLookup | None = None) -> None:
        """`activiteit_ids`: the registers' lookup (activity name -> its id, or ids: each tenant's
        register may give one name its own id) for `activiteit` routes; capture passes it when a
        register is configured. Without it such a route fails here."""
        self.file = file
        self.tenants = tenants
        self.extra = tuple(extra)
        self._ids: dict[int, frozenset[str]] = {}
        for route in (*file.routes, *((file.default,) if file.default else ())):
            where = f"{file.path}: routes[{route.number}]"
            if route.activiteit is not None:
                if activiteit_ids is None:
                    raise DestinationsError(f"{where} activiteit", "needs the register of processing activities "
                                            "to know the activity's id; or route on "
                                            "verwerkingsactiviteit_id")
                found = activiteit_ids(route.activiteit)
                if not found:
                    raise DestinationsError(f"{where} activiteit", "names no activity of the register")
                self._ids[route.number] = frozenset((found,) if isinstance(found, str) else found)
            if route.tenant is not None and tenants is not None and route.tenant not in tenants.tenants:
                raise DestinationsError(f"{where} tenant", "names no tenant of the tenants file "
                                        "(VERWERKINGEN_TENANTS)")
        self._cache: dict[tuple[Any, ...], tuple[str, ...]] = {}
        self._lock = threading.Lock()

    @property
    def all_lanes(self) -> tuple[str, ...]:
        return tuple(lane for d in self.file.destinations.values() for lane in d.lanes) + self.extra

    def _matches(self, route: Route, actie: Verwerkingsactie, tenant: str | None) -> bool:
        activity = actie.verwerkingsactiviteit_id
        if route.verwerkingsactiviteit_id is not None and activity != route.verwerkingsactiviteit_id:
            return False
        if route.activiteit is not None and activity not in self._ids.get(route.number, ()):
            return False
        if route.vertrouwelijkheid is not None and actie.vertrouwelijkheid.value != route.vertrouwelijkheid:
            return False
        if route.tenant is not None and tenant != route.tenant:
            return False
        return True

    def destinations(self, actie: Verwerkingsactie, tenant: str | None = None) -> tuple[str, ...]:
        """The destination names of `actie` (RecordingError when nothing routes it)."""
        for route in self.file.routes:
            if self._matches(route, actie, tenant):
                return route.destinations
        if self.tenants is not None and tenant is not None:
            t = self.tenants.tenant(tenant)
            if t is not None and t.destination is not None:
                return (t.destination,)
        if self.file.default is not None:
            return self.file.default.destinations
        routes = "; ".join(r.describe() for r in self.file.routes) or "no [[routes]]"
        raise RecordingError(
            f"no destination for the verwerkingsactie {actie.actie_naam or '(unnamed)'!r} "
            f"(verwerkingsactiviteitId {actie.verwerkingsactiviteit_id or 'unset'}, vertrouwelijkheid "
            f"{actie.vertrouwelijkheid.value}, tenant {tenant or 'none'}): none of {routes} in "
            f"{self.file.path} matched, {'its tenant has no destination, ' if tenant else ''}"
            f"and there is no default route; the action was not recorded")

    def lanes(self, actie: Verwerkingsactie) -> tuple[str, ...]:
        tenant = tenant_var.get()
        if tenant is None and self.tenants is not None:
            tenant = self.tenants.default
        key = (actie.verwerkingsactiviteit_id, actie.vertrouwelijkheid, tenant)
        found = self._cache.get(key)
        if found is None:
            names = self.destinations(actie, tenant)  # raises; a failure is not cached
            dests = self.file.destinations
            found = tuple(dict.fromkeys(lane for n in names for lane in dests[n].lanes)) + self.extra
            with self._lock:
                if len(self._cache) > 4096:
                    self._cache.clear()
                self._cache[key] = found
        return found


def _lane_exporter(dest: Destination, exporter: str, settings: Any) -> ActionExporter:
    where = f"{settings.destinations}: [destinations.{dest.name}]"
    lane = f"{exporter}:{dest.name}"
    made: Any
    if exporter == "console":
        made = ConsoleExporter(settings.console_file)
    elif exporter == "memory":
        made = InMemoryExporter()
    else:
        cert: str | tuple[str, str] | None = dest.client_cert
        if dest.client_cert and dest.client_key:
            cert = (dest.client_cert, dest.client_key)
        try:
            tls_context(dest.ca_bundle or True, cert)
        except (OSError, ValueError):
            key = "ca_bundle" if dest.ca_bundle else "client_cert"
            raise DestinationsError(f"{where} {key}", "cannot be loaded: not a PEM file (or certificate and "
                                    "key)") from None
        assert dest.api_url is not None
        try:
            made = ApiExporter(dest.api_url, client_id=dest.client_id, secret=dest.secret, token=dest.token,
                               timeout=dest.timeout if dest.timeout is not None else settings.timeout,
                               verify=dest.ca_bundle or True, cert=cert,
                               max_connections=dest.concurrency or settings.concurrency,
                               name=lane)
        except ValueError as exc:
            raise DestinationsError(f"{where} api_url", str(exc)) from None
    made.name = lane
    return made  # type: ignore[no-any-return]


def build_routed_exporters(settings: Any, file: DestinationsFile) -> list[ActionExporter]:
    """One exporter per lane of every destination, built from the file (and shared settings)."""
    made: list[ActionExporter] = []
    try:
        for dest in file.destinations.values():
            for exporter in dest.exporters:
                made.append(_lane_exporter(dest, exporter, settings))
    except BaseException:
        for exporter in made:
            exporter.shutdown()
        raise
    return made


def load_routing(settings: Any) -> tuple[DestinationsFile | None, TenantsFile | None]:
    """The destinations and tenants files that `settings` name (None when unset).

    A mistake is the settings' ConfigurationError naming the setting, the file, the destination,
    route or tenant, and the key.
    """
    dests = tenants = None
    try:
        if settings.destinations:
            dests = load_destinations(settings.destinations, setting=settings.source("destinations"))
    except DestinationsError as exc:
        raise settings.error("destinations", str(exc)) from None
    try:
        if settings.tenants:
            tenants = load_tenants(settings.tenants, dests.destinations if dests is not None else None)
    except DestinationsError as exc:
        raise settings.error("tenants", str(exc)) from None
    return dests, tenants


def make_router(settings: Any, dests: DestinationsFile, tenants: TenantsFile | None,
                extra: Sequence[str], activiteit_ids: ActiviteitLookup | None = None) -> Router:
    try:
        return Router(dests, tenants=tenants, extra=extra, activiteit_ids=activiteit_ids)
    except DestinationsError as exc:
        raise settings.error("destinations", str(exc)) from None
