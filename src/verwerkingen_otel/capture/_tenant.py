"""The current tenant's own fields on each action: a service acting for several organisations.

Each tenant (tenants file, `VERWERKINGEN_TENANTS`) is its own controller, so an action recorded
for it carries its OIN as `uitvoerder`, its `systeem` / `gegevensbron` / `bewaartermijn` defaults
and its own verwerkingsactiviteit: from its `verwerkingsactiviteiten` table, else from its own
register of processing activities (`register`), by the name the code annotates. Outbound calls
carry its OIN. The tenant is the one the request resolved (web/), or the one of a
`use_tenant(...)` block, else the file's default. Without any, the action is not recorded
(RecordingError: fail-closed, never under the wrong OIN).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..delivery import RecordingError, Tenant, TenantsFile, tenant_var
from ..model import (
    BEWAARTERMIJN,
    GEGEVENSBRON,
    SYSTEEM,
    UITVOERDER,
    VERTROUWELIJKHEID,
    VERWERKINGSACTIVITEIT_ID,
    VERWERKINGSACTIVITEIT_URL,
)
from ..register import Register, RegisterError, Verwerkingsactiviteit, is_url, open_source
from ._activiteiten import main_id

__all__ = ["TenantFields", "current_oin", "load_tenant_registers", "tenant_fields", "tenant_of"]

logger = logging.getLogger("verwerkingen_otel.capture")


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


def register_path(tenants: TenantsFile, tenant: Tenant) -> str | None:
    """A tenant's `register`: a VAR API URL as written, a relative file beside the tenants file."""
    spec = tenant.register
    if spec is None or is_url(spec):
        return spec
    path = Path(spec)
    return str(path if path.is_absolute() else Path(tenants.path).parent / path)


def load_tenant_registers(settings: Any, tenants: TenantsFile | None, outbox: str) -> dict[str, Register]:
    """Each tenant's own register (tenants without one are left out); ConfigurationError naming
    the tenants setting, the file, the tenant and `register` when one cannot be read. A VAR API
    is cached in `<outbox>.register.<tenant>.json`, as the `register` setting's is."""
    found: dict[str, Register] = {}
    if tenants is None:
        return found
    for tenant in tenants.tenants.values():
        spec = register_path(tenants, tenant)
        if spec is None:
            continue
        cache = Path(outbox).with_name(f"{Path(outbox).name}.register.{tenant.name}.json") if is_url(spec) else None
        try:
            found[tenant.name] = open_source(spec, cache=cache, timeout=settings.timeout).load()
        except RegisterError as exc:
            raise settings.error("tenants", f"{tenants.path}: [tenants.{tenant.name}] register: {exc}") from None
    return found


@dataclass(frozen=True)
class TenantFields:
    """What one tenant changes on the actions of one annotation: fields set, fields removed, and
    whether the tenant's register lacks the annotated activity (recorded without it, warned)."""

    values: Mapping[str, str]
    drop: tuple[str, ...] = ()
    unknown: bool = False

    def apply(self, attributes: dict[str, str]) -> None:
        attributes.update(self.values)
        for key in self.drop:
            attributes.pop(key, None)


def _own_activity(register: Register, keys: tuple[str | None, ...], main: Register | None,
                  ) -> Verwerkingsactiviteit | None:
    """The tenant's activity for what the code annotated: by the annotated naam or id, else by the
    naam the main register gives the annotated id (one name, each organisation its own id)."""
    for key in keys:
        if key is None:
            continue
        try:
            return register.lookup(key)
        except RegisterError:
            pass
        known = main.get(key) if main is not None and key in main else None
        if known is not None:
            try:
                return register.lookup(known.naam)
            except RegisterError:
                pass
    return None


def tenant_fields(tenant: Tenant, own: Register | None, main: Register | None, base: Mapping[str, str],
                  annotated: tuple[str | None, str | None], *, vertrouwelijk_given: bool,
                  bewaartermijn_given: bool, label: str) -> TenantFields:
    """The fields `tenant` puts on an action whose shared attributes are `base`; `annotated` is
    (activiteit, verwerkingsactiviteit_id) as the code gave them. Computed once per tenant and
    annotation (the decorator keeps it)."""
    values = {UITVOERDER: tenant.oin}
    drop: list[str] = []
    unknown = False
    if tenant.systeem is not None:
        values[SYSTEEM] = tenant.systeem
    if tenant.gegevensbron is not None:
        values[GEGEVENSBRON] = tenant.gegevensbron
    bewaartermijn = tenant.bewaartermijn
    resolved = base.get(VERWERKINGSACTIVITEIT_ID) or next(
        (found for key in annotated if key is not None and (found := main_id(main, key)) is not None), None)
    keys = (*annotated, resolved)
    mapped = next((tenant.verwerkingsactiviteiten[k] for k in keys if k is not None
                   and k in tenant.verwerkingsactiviteiten), None)
    if mapped is not None:
        values[VERWERKINGSACTIVITEIT_ID] = mapped
        drop.append(VERWERKINGSACTIVITEIT_URL)  # it named the activity the code annotated
    elif own is not None and any(k is not None for k in annotated):
        activiteit = _own_activity(own, keys, main)
        if activiteit is None:
            unknown = True
            drop += [VERWERKINGSACTIVITEIT_ID, VERWERKINGSACTIVITEIT_URL]  # not this controller's ids
            logger.warning("verwerkingsactie %s: the register of tenant %r does not hold the annotated "
                           "verwerkingsactiviteit %r; recorded without verwerkingsactiviteitId",
                           label, tenant.name, annotated[0] or annotated[1])
        else:
            values[VERWERKINGSACTIVITEIT_ID] = activiteit.id
            if activiteit.url is not None:
                values[VERWERKINGSACTIVITEIT_URL] = activiteit.url
            else:
                drop.append(VERWERKINGSACTIVITEIT_URL)
            # the tenant's register, not the main one, gives this controller's defaults
            vertrouwelijk = vertrouwelijk_given or activiteit.vertrouwelijkheid == "vertrouwelijk"
            values[VERTROUWELIJKHEID] = "vertrouwelijk" if vertrouwelijk else "normaal"
            bewaartermijn = activiteit.bewaartermijn_duur or bewaartermijn
    if bewaartermijn is not None and not bewaartermijn_given:
        values[BEWAARTERMIJN] = bewaartermijn
    return TenantFields(values=values, drop=tuple(drop), unknown=unknown)


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
