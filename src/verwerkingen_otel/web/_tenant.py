"""Which tenant a request acts for, in a service that serves several organisations.

Tried in order, the first that names a tenant decides: the route rule's path parameter
(`tenant` key of a rule), the function given to `configure(tenant=...)` or to the middleware,
the header named by `[resolver] header` of the tenants file (a header the service trusts: set
by its own proxy), the request's host (`hosts`), and finally `[resolver] default`. A request
that names a tenant the file does not know, or names none while there is no default, is
refused: the middleware answers 503 before the app runs (fail-closed: never recorded under
another organisation's OIN). Without a tenants file and a tenant function nothing happens.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from ..capture import current_pipeline
from ..model import IDENTIFICATOR_MAX

__all__ = ["Resolution", "TenantResolver", "asgi_tenant_headers", "resolver_for", "wsgi_tenant_headers"]

logger = logging.getLogger("verwerkingen_otel.web")


class Resolution:
    """The outcome for one request: `name` (None: no tenant) and whether it is refused."""

    __slots__ = ("name", "refused")

    def __init__(self, name: str | None, refused: bool = False) -> None:
        self.name = name
        self.refused = refused


class TenantResolver:
    """Resolves a request's tenant from its host, a trusted header, or a function."""

    def __init__(self, tenants: Any, function: Callable[[Any], Any] | None) -> None:
        self.tenants = tenants  # TenantsFile or None
        self.function = function
        self.header = tenants.header if tenants is not None else None

    def _known(self, name: str, how: str) -> Resolution:
        if self.tenants is not None and name not in self.tenants.tenants:
            logger.error("the request names a tenant (by %s) that is not in %s; answered 503", how,
                         self.tenants.path)
            return Resolution(None, refused=True)
        return Resolution(name)

    def resolve(self, arg: Any, host: str | None, header_value: str | None) -> Resolution:
        if self.function is not None:
            try:
                value = self.function(arg)
            except Exception as exc:  # noqa: BLE001 - a hook must never break the request
                logger.error("tenant function failed with %s; the request's tenant is unknown", type(exc).__name__)
                value = None
            if value is not None:
                if not isinstance(value, str) or not value or len(value) > IDENTIFICATOR_MAX:
                    logger.error("tenant function returned no tenant name; the request's tenant is unknown")
                else:
                    return self._known(value, "the tenant function")
        if header_value:
            return self._known(header_value.strip(), f"header {self.header}")
        if host and self.tenants is not None:
            name = self.tenants.by_host.get(host.rsplit(":", 1)[0].strip().lower().rstrip("."))
            if name is not None:
                return Resolution(name)
        return self.fallback()

    def fallback(self) -> Resolution:
        if self.tenants is None:
            return Resolution(None)
        if self.tenants.default is not None:
            return Resolution(self.tenants.default)
        logger.error("the request's tenant cannot be resolved and %s has no [resolver] default; answered 503",
                     self.tenants.path)
        return Resolution(None, refused=True)

    def from_rule(self, resolution: Resolution, rule_match: Any) -> Resolution:
        """A rule whose path parameter names the tenant decides over the other ways."""
        if rule_match is None or rule_match.rule.tenant is None:
            return resolution
        value = rule_match.path_params.get(rule_match.rule.tenant)
        if not value:
            return resolution
        return self._known(value, f"path parameter {rule_match.rule.tenant}")


def resolver_for(function: Callable[[Any], Any] | None) -> TenantResolver | None:
    """The resolver for this request under the current pipeline; None when tenancy is off."""
    # Only an installed pipeline: a request without actions must not configure one (and make an
    # outbox file). Before the first configure() the action itself still fails closed (capture).
    pipeline = current_pipeline()
    tenants = getattr(pipeline, "tenants", None)
    settings = getattr(pipeline, "settings", None)
    function = function or getattr(settings, "tenant", None)
    if tenants is None and function is None:
        return None
    return TenantResolver(tenants, function)


def asgi_tenant_headers(headers: Any, header: str | None) -> tuple[str | None, str | None]:
    """The Host and the trusted tenant header of an ASGI request (latin-1, as ASGI gives them)."""
    host = value = None
    wanted = header.encode("latin-1") if header else None
    for key, raw in headers or ():
        key = key.lower()
        if key == b"host":
            host = raw.decode("latin-1")
        elif wanted is not None and key == wanted:
            value = raw.decode("latin-1")
    return host, value


def wsgi_tenant_headers(environ: Any, header: str | None) -> tuple[str | None, str | None]:
    value = environ.get("HTTP_" + header.upper().replace("-", "_")) if header else None
    return environ.get("HTTP_HOST") or environ.get("SERVER_NAME"), value
