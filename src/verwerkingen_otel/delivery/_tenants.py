"""The tenants file (`VERWERKINGEN_TENANTS`): the organisations a service acts for.

Each tenant is its own controller: its OIN (recorded as `uitvoerder` and sent as the outbound
`OIN` header), its defaults, its activity ids and its destination. `[resolver]` says how a
request's tenant is found (`header`) and which tenant serves a request that names none
(`default`; without one such a request fails closed). Read once at start-up; mistakes are
DestinationsError naming the file, the tenant and the key.
"""

from __future__ import annotations

import contextlib
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from ..model import InvalidValue, check_duration, check_oin, check_text, check_uuid
from ._destinations import DestinationsError, named_tables, read_toml

__all__ = ["Tenant", "TenantsFile", "current_tenant", "load_tenants", "tenant_var", "use_tenant"]

_HEADER = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_TENANT_KEYS = frozenset({"oin", "hosts", "destination", "register", "systeem", "gegevensbron",
                          "bewaartermijn", "verwerkingsactiviteiten"})

tenant_var: ContextVar[str | None] = ContextVar("verwerkingen_tenant", default=None)
"""The name of the tenant the current request (or `use_tenant` block) acts for."""


def current_tenant() -> str | None:
    return tenant_var.get()


@contextlib.contextmanager
def use_tenant(name: str | None) -> Iterator[None]:
    """Act for tenant `name` inside the block (background jobs; the middleware does it per request)."""
    token = tenant_var.set(name)
    try:
        yield
    finally:
        tenant_var.reset(token)


@dataclass(frozen=True)
class Tenant:
    name: str
    oin: str
    hosts: tuple[str, ...] = ()
    destination: str | None = None
    register: str | None = None
    systeem: str | None = None
    gegevensbron: str | None = None
    bewaartermijn: str | None = None
    # the activity id (or name) the code annotates -> this tenant's own verwerkingsactiviteit id
    verwerkingsactiviteiten: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TenantsFile:
    path: str
    tenants: Mapping[str, Tenant]
    header: str | None = None
    default: str | None = None
    by_host: Mapping[str, str] = field(default_factory=dict)

    def tenant(self, name: str | None) -> Tenant | None:
        return self.tenants.get(name) if name is not None else None


def _check(where: str, fn: Any, value: object) -> Any:
    try:
        return fn(value)
    except InvalidValue as exc:
        raise DestinationsError(where, exc.reason) from None


def _tenant(path: str, name: str, table: object, destinations: Mapping[str, Any] | None) -> Tenant:
    where = f"{path}: [tenants.{name}]"
    if not isinstance(table, dict):
        raise DestinationsError(where, "must be a table")
    unknown = sorted(set(table) - _TENANT_KEYS)
    if unknown:
        raise DestinationsError(f"{where} {unknown[0]}", f"unknown key; expected some of {', '.join(sorted(_TENANT_KEYS))}")
    if "oin" not in table:
        raise DestinationsError(f"{where} oin", "is required (the tenant's OIN, 20 digits)")
    values: dict[str, Any] = {"oin": _check(f"{where} oin", check_oin, table["oin"])}
    hosts = table.get("hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h.strip() for h in hosts):
        raise DestinationsError(f"{where} hosts", "must be a list of host names")
    values["hosts"] = tuple(h.strip().lower() for h in hosts)
    if "destination" in table:
        dest = _check(f"{where} destination", check_text, table["destination"])
        if destinations is None:
            raise DestinationsError(f"{where} destination", "needs a destinations file (VERWERKINGEN_DESTINATIONS)")
        if dest not in destinations:
            raise DestinationsError(f"{where} destination", f"names {dest!r}, which is not a destination of "
                                    "the destinations file")
        values["destination"] = dest
    for key in ("register", "systeem", "gegevensbron"):
        if key in table:
            values[key] = _check(f"{where} {key}", check_text, table[key])
    if "bewaartermijn" in table:
        values["bewaartermijn"] = _check(f"{where} bewaartermijn", check_duration, table["bewaartermijn"])
    mapping = table.get("verwerkingsactiviteiten", {})
    if not isinstance(mapping, dict):
        raise DestinationsError(f"{where} verwerkingsactiviteiten", "must be a table: annotated id = this tenant's id")
    values["verwerkingsactiviteiten"] = {
        str(k): _check(f"{where} verwerkingsactiviteiten", check_uuid, v) for k, v in mapping.items()}
    return Tenant(name=name, **values)


def load_tenants(path: str, destinations: Mapping[str, Any] | None = None) -> TenantsFile:
    """Read and check the tenants file; `destinations` are the names a tenant may route to."""
    doc = read_toml(path, "VERWERKINGEN_TENANTS")
    tables = named_tables(path, doc, "tenants", ("[resolver]", "[tenants.*]"), "tenant")
    tenants: dict[str, Tenant] = {}
    by_host: dict[str, str] = {}
    for name, table in tables.items():
        tenant = _tenant(path, name, table, destinations)
        for host in tenant.hosts:
            if host in by_host:
                raise DestinationsError(f"{path}: [tenants.{name}] hosts", f"{host!r} is a host of tenant "
                                        f"{by_host[host]!r} already")
            by_host[host] = name
        tenants[name] = tenant
    resolver = doc.get("resolver", {})
    if not isinstance(resolver, dict):
        raise DestinationsError(f"{path}: resolver", "must be a table")
    extra = sorted(set(resolver) - {"header", "default"})
    if extra:
        raise DestinationsError(f"{path}: [resolver] {extra[0]}", "unknown key; expected header, default")
    header = resolver.get("header")
    if header is not None and (not isinstance(header, str) or not _HEADER.match(header)):
        raise DestinationsError(f"{path}: [resolver] header", "must be an HTTP header name")
    default = resolver.get("default")
    if default is not None and default not in tenants:
        raise DestinationsError(f"{path}: [resolver] default", "names no tenant of this file")
    return TenantsFile(path=path, tenants=tenants, header=header.lower() if header else None,
                       default=default, by_host=by_host)
