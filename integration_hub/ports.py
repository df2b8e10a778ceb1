"""Which adapter answers for the ERP and the CRM: one per process and settings, recording into
the handoff being worked on (`integration_hub.recording`).

`erp_for(target)` gives the ERP port a handoff names (`Handoff.erp_target`, `s4hana` by default);
`crm()` the CRM port. Tests hand the engine a fake with `ports_use(erp=..., crm=...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

from integration_hub.connectors.netsuite import NetSuiteClient
from integration_hub.connectors.salesforce import SalesforceClient
from integration_hub.connectors.sap import SapClient
from integration_hub.crm.base import CrmPort
from integration_hub.crm.salesforce import SalesforceCrm
from integration_hub.erp.base import ErpPort, PayablesPort
from integration_hub.erp.cache import CachedErp
from integration_hub.erp.netsuite import NetSuiteErp
from integration_hub.erp.s4hana import S4HanaErp
from integration_hub.recording import record

DEFAULT_ERP_TARGET = "s4hana"


def _s4hana() -> tuple[tuple[str, ...], Callable[[], ErpPort]]:
    key = (settings.SAP_BASE_URL, settings.SAP_USER, settings.SAP_PASSWORD)
    return key, lambda: S4HanaErp(SapClient.from_settings(recorder=record))


def _netsuite() -> tuple[tuple[str, ...], Callable[[], ErpPort]]:
    key = (settings.NETSUITE_ACCOUNT, settings.NETSUITE_BASE_URL, settings.NETSUITE_CONSUMER_KEY,
           settings.NETSUITE_TOKEN_ID)
    return key, lambda: NetSuiteErp(NetSuiteClient.from_settings(recorder=record))


def _salesforce() -> tuple[tuple[str, ...], Callable[[], CrmPort]]:
    key = (settings.SALESFORCE_INSTANCE_URL, settings.SALESFORCE_SESSION_ID, settings.SALESFORCE_USERNAME)
    return key, lambda: SalesforceCrm(SalesforceClient.from_settings(recorder=record))


ERP_ADAPTERS: dict[str, Callable[[], tuple[tuple[str, ...], Callable[[], ErpPort]]]] = {"s4hana": _s4hana, "netsuite": _netsuite}
# The targets this deployment runs: NetSuite only where an account is configured (the beats poll
# and reconcile every target; a deal naming one not run here goes to the default).
ERP_TARGETS = tuple(t for t in ERP_ADAPTERS if t != "netsuite" or settings.NETSUITE_BASE_URL)

_built: dict[str, tuple[tuple[str, ...], Any]] = {}
_overrides: dict[str, Any] = {}


def _cached(name: str, key: tuple[str, ...], build: Callable[[], Any]) -> Any:
    cached = _built.get(name)
    if cached is None or cached[0] != key:
        if cached is not None:
            cached[1].close()
        _built[name] = (key, build())
    return _built[name][1]


def erp_for(target: str = DEFAULT_ERP_TARGET) -> ErpPort:
    """The ERP port for a target; an unknown target is a configuration error, said plainly."""
    if f"erp:{target}" in _overrides:
        return _overrides[f"erp:{target}"]
    if target not in ERP_ADAPTERS:
        raise LookupError(f"no ERP adapter for target {target!r}; known: {', '.join(ERP_TARGETS)}")
    key, build = ERP_ADAPTERS[target]()
    # Every adapter answers master-data reads from the shared cache (integration_hub.erp.cache).
    return _cached(f"erp:{target}", key, lambda: CachedErp(build()))


def payables_for(target: str = DEFAULT_ERP_TARGET) -> PayablesPort:
    """`erp_for(target)` seen as the payables port (the same adapter; nothing of AP is cached)."""
    port = erp_for(target)
    if not isinstance(port, PayablesPort):
        raise LookupError(f"the ERP adapter for target {target!r} does not implement payables")
    return port


def crm() -> CrmPort:
    if "crm" in _overrides:
        return _overrides["crm"]
    key, build = _salesforce()
    return _cached("crm", key, build)


def ports_reset() -> None:
    """Forget built adapters (settings changed, e.g. in tests); the next call builds new ones."""
    for _key, port in _built.values():
        port.close()
    _built.clear()


@contextmanager
def ports_use(*, erp: ErpPort | None = None, crm: CrmPort | None = None,
              target: str = DEFAULT_ERP_TARGET) -> Iterator[None]:
    """Answer with these ports instead of the configured adapters (tests, benchmarks)."""
    saved = dict(_overrides)
    if erp is not None:
        _overrides[f"erp:{target}"] = erp
    if crm is not None:
        _overrides["crm"] = crm
    try:
        yield
    finally:
        _overrides.clear()
        _overrides.update(saved)
