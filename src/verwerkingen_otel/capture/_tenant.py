"""The current tenant's own fields on each action: a service acting for several organisations.

Each tenant (tenants file, `VERWERKINGEN_TENANTS`) is its own controller, so an action recorded
for it carries its OIN as `uitvoerder`, its `systeem` / `gegevensbron` / `bewaartermijn` defaults
and its own verwerkingsactiviteit ids; outbound calls carry its OIN. The tenant is the one the
request resolved (web/), or the one of a `use_tenant(...)` block, else the file's default.
Without any, the action is not recorded (RecordingError: fail-closed, never under the wrong OIN).
"""

from __future__ import annotations

from typing import Any

from ..delivery import RecordingError, Tenant, TenantsFile, tenant_var
from ..model import BEWAARTERMIJN, GEGEVENSBRON, SYSTEEM, UITVOERDER, VERWERKINGSACTIVITEIT_ID, VERWERKINGSACTIVITEIT_URL

__all__ = ["apply_tenant", "current_oin", "tenant_of"]


def tenant_of(tenants: TenantsFile) -> Tenant:
    """The tenant this action is for; RecordingError when there is none (or an unknown one)."""
    name = tenant_var.get() or tenants.default
    if name is None:
        raise RecordingError("no tenant for this verwerkingsactie: it ran outside a request of a tenant and "
                             f"{tenants.path} has no [resolver] default; the action was not recorded")
    tenant = tenants.tenants.get(name)
    if tenant is None:
        raise RecordingError(f"tenant {name!r} is not in {tenants.path}; the action was not recorded")
    return tenant


def apply_tenant(attributes: dict[str, str], tenants: TenantsFile, bewaartermijn_given: bool) -> None:
    """Put the tenant's fields into a starting action's attributes (before the context's)."""
    tenant = tenant_of(tenants)
    attributes[UITVOERDER] = tenant.oin
    if tenant.systeem is not None:
        attributes[SYSTEEM] = tenant.systeem
    if tenant.gegevensbron is not None:
        attributes[GEGEVENSBRON] = tenant.gegevensbron
    if tenant.bewaartermijn is not None and not bewaartermijn_given:
        attributes[BEWAARTERMIJN] = tenant.bewaartermijn
    activity = attributes.get(VERWERKINGSACTIVITEIT_ID)
    if activity is not None and activity in tenant.verwerkingsactiviteiten:
        attributes[VERWERKINGSACTIVITEIT_ID] = tenant.verwerkingsactiviteiten[activity]
        attributes.pop(VERWERKINGSACTIVITEIT_URL, None)  # it named the activity the code annotated


def current_oin(pipeline: Any) -> str | None:
    """The OIN for outbound calls: the current tenant's, else the `oin` setting."""
    if pipeline is None:
        return None
    tenants = getattr(pipeline, "tenants", None)
    if tenants is not None:
        name = tenant_var.get() or tenants.default
        tenant = tenants.tenants.get(name) if name is not None else None
        if tenant is not None:
            return tenant.oin
    return pipeline.settings.oin  # type: ignore[no-any-return]
