"""A whole world for pipeline tests: both sandboxes seeded, the hub's crosswalks, the connectors.

`world.drive(handoff)` runs the pipeline in this process the way a worker would (claim, process,
release, and again after a backoff) — for tests about *what* the pipeline decides. Tests about
*delivery* (duplicates, crashes, lost messages) use `worker`, a real Celery worker process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import redis
import requests
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from integration_hub import ports
from integration_hub.connectors.salesforce import SalesforceClient
from integration_hub.connectors.sap import SapClient
from integration_hub.demo import demo_crosswalks_ensure
from integration_hub.erp.s4hana import S4HanaErp
from integration_hub.models import Handoff, HandoffStatus, SyncAttempt
from integration_hub.sandbox.dealflow import DealFlow
from integration_hub.sandbox.salesforce.seed import seed as seed_salesforce
from integration_hub.sandbox.sap.seed import seed as seed_sap
from integration_hub.services import handoff_receive
from integration_hub.tasks import process_handoff
from tests.fakes import FakeErp

ORG_ID = "00D000000000001EAA"
SETTLED = {HandoffStatus.BLOCKED, HandoffStatus.WRITTEN_BACK, HandoffStatus.FAILED, HandoffStatus.CANCELLED,
           HandoffStatus.AWAITING_APPROVAL}


@dataclass
class World:
    sf_url: str
    sap_url: str
    salesforce: SalesforceClient
    sap: SapClient | None  # the raw SAP client; None in the fake-ERP world
    flow: DealFlow
    erp: Any = None  # the ERP port the pipeline uses: S4HanaErp over the sandbox, or FakeErp
    kind: str = "sandbox"
    enqueued: list[int] = field(default_factory=list)

    def fault(self, system: str, **spec: Any) -> None:
        if system == "sap":
            response = requests.post(f"{self.sap_url}/_sandbox/faults", json=spec, auth=("sandbox", "sandbox"), timeout=5)
        else:
            response = requests.post(f"{self.sf_url}/_sandbox/faults", json=spec,
                                     headers={"Authorization": "Bearer sandbox"}, timeout=5)
        assert response.status_code == 201, response.text

    def faults(self, system: str) -> list[dict[str, Any]]:
        if system == "sap":
            response = requests.get(f"{self.sap_url}/_sandbox/faults", auth=("sandbox", "sandbox"), timeout=5)
        else:
            response = requests.get(f"{self.sf_url}/_sandbox/faults", headers={"Authorization": "Bearer sandbox"},
                                    timeout=5)
        return list(response.json()["faults"])

    def receive(self, opportunity_id: str, source: str = "webhook") -> Handoff:
        handoff, _ = handoff_receive(org_id=ORG_ID, opportunity_id=opportunity_id, source=source, actor_label=source)
        return handoff

    def drive(self, handoff: Handoff, *, max_rounds: int = 12) -> Handoff:
        """Work the handoff like a worker until it settles, waiting out backoffs."""
        for _ in range(max_rounds):
            handoff.refresh_from_db()
            if handoff.status in SETTLED:
                return handoff
            if handoff.next_attempt_at and handoff.next_attempt_at > timezone.now():
                time.sleep((handoff.next_attempt_at - timezone.now()).total_seconds() + 0.01)
            process_handoff(handoff.pk)
        handoff.refresh_from_db()
        return handoff

    def orders_for(self, opportunity_id: str) -> list[Any]:
        """The ERP's orders carrying this deal's key (`ErpOrder`s, read through the port)."""
        return list(self.erp.orders_find(opportunity_id))

    def creates(self, handoff: Handoff) -> int:
        """How many order inserts the pipeline sent for this handoff."""
        if self.kind == "fake":
            return sum(1 for call in self.erp.calls if call == "order_create")
        return SyncAttempt.objects.filter(handoff=handoff, operation__startswith="create:A_SalesOrder").count()

    def customer_searches(self, handoff: Handoff) -> int:
        if self.kind == "fake":
            return sum(1 for call in self.erp.calls if call.startswith("customers_by"))
        return SyncAttempt.objects.filter(handoff=handoff, operation__startswith="query:A_BusinessPartner").count()

    def opportunity(self, opportunity_id: str) -> dict[str, Any]:
        return self.salesforce.get("Opportunity", opportunity_id)


@pytest.fixture
def world(sf_sandbox, sap_sandbox, settings) -> Iterator[World]:
    settings.SALESFORCE_INSTANCE_URL = sf_sandbox.url
    settings.SALESFORCE_ORG_ID = ORG_ID
    settings.SAP_BASE_URL = f"{sap_sandbox.url}/sap/opu/odata/sap/"
    settings.HUB_BACKOFF_BASE_SECONDS = 0.05
    settings.HUB_BACKOFF_CAP_SECONDS = 0.2
    settings.HUB_LOCK_WAIT_SECONDS = 0.1
    seed_salesforce()
    seed_sap()
    demo_crosswalks_ensure()
    ports.ports_reset()
    salesforce = SalesforceClient.from_settings()
    sap = SapClient.from_settings()
    yield World(sf_sandbox.url, sap_sandbox.url, salesforce, sap, DealFlow(salesforce, seed=11),
                erp=S4HanaErp(SapClient.from_settings()))
    ports.ports_reset()
    salesforce.close()
    sap.close()


@pytest.fixture
def fake_world(sf_sandbox, settings) -> Iterator[World]:
    """Salesforce sandbox over HTTP, the ERP a `FakeErp` in memory: no SAP server runs at all, and
    SAP_BASE_URL points at a closed port, so any way into SAP other than the port fails loudly."""
    settings.SALESFORCE_INSTANCE_URL = sf_sandbox.url
    settings.SALESFORCE_ORG_ID = ORG_ID
    settings.SAP_BASE_URL = "http://127.0.0.1:9/sap/opu/odata/sap/"
    settings.HUB_BACKOFF_BASE_SECONDS = 0.05
    settings.HUB_BACKOFF_CAP_SECONDS = 0.2
    seed_salesforce()
    demo_crosswalks_ensure()
    ports.ports_reset()
    salesforce = SalesforceClient.from_settings()
    fake = FakeErp()
    with ports.ports_use(erp=fake):
        yield World(sf_sandbox.url, "", salesforce, None, DealFlow(salesforce, seed=11), erp=fake, kind="fake")
    ports.ports_reset()
    salesforce.close()


@pytest.fixture(params=["sap-sandbox", "fake-erp"])
def any_world(request, transactional_db, sf_sandbox) -> World:
    """The pipeline's decisions, once against the SAP sandbox over HTTP and once against the fake port."""
    return request.getfixturevalue("world" if request.param == "sap-sandbox" else "fake_world")


@contextmanager
def broker_recorded(world: World) -> Iterator[World]:
    """The broker replaced by a recorder of the handoff ids sent to it: the test drives the pipeline."""
    with mock.patch.object(process_handoff, "delay", side_effect=lambda i: world.enqueued.append(i)), \
            mock.patch.object(process_handoff, "apply_async",
                              side_effect=lambda args, **kw: world.enqueued.append(args[0])):
        yield world


@pytest.fixture
def any_sync_world(any_world: World) -> Iterator[World]:
    """`any_world` with the broker replaced by a recorder."""
    with broker_recorded(any_world) as recorded:
        yield recorded


@pytest.fixture
def sync_world(world: World) -> Iterator[World]:
    """The world with the broker replaced by a recorder."""
    with broker_recorded(world) as recorded:
        yield recorded


@dataclass
class Worker:
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        log = open(os.path.join(self.env["HUB_VAR_DIR"], "worker.log"), "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(  # noqa: S603 - our own worker
            [sys.executable, "-m", "celery", "-A", "integration_hub", "worker", "-l", "INFO", "--concurrency=2",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"test-{time.time_ns()}@%h"],
            env=self.env, cwd=str(django_settings.BASE_DIR), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        path = os.path.join(self.env["HUB_VAR_DIR"], "worker.log")
        while time.monotonic() < deadline:
            with open(path, "rb") as handle:
                if b" ready." in handle.read():
                    return self
            if self.process.poll() is not None:
                raise RuntimeError(Path(path).read_text())
            time.sleep(0.1)
        raise RuntimeError("the Celery worker did not come up in 30 s")

    def kill_hard(self) -> None:
        """kill -9 the whole worker (parent and pool children), as a crashed machine would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        with open(os.path.join(self.env["HUB_VAR_DIR"], "worker.log"), "ab") as handle:
            handle.write(b"\n--- killed ---\n")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


@pytest.fixture
def worker_env(world: World, tmp_path) -> dict[str, str]:
    db = connection.settings_dict
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    redis.Redis.from_url(redis_url).flushdb()
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "DB_CONN_MAX_AGE": "0",
        "HUB_VAR_DIR": str(tmp_path),
        "SALESFORCE_INSTANCE_URL": world.sf_url,
        "SALESFORCE_ORG_ID": ORG_ID,
        "SAP_BASE_URL": f"{world.sap_url}/sap/opu/odata/sap/",
        "HUB_BACKOFF_BASE_SECONDS": "0.05",
        "HUB_BACKOFF_CAP_SECONDS": "0.2",
        "HUB_CLAIM_LEASE_SECONDS": "3",
        "SAP_TIMEOUT": "2.5",
        "SALESFORCE_TIMEOUT": "2.5",
        "HUB_TASK_TIME_LIMIT": "30",
    }


@pytest.fixture
def worker(worker_env: dict[str, str]) -> Iterator[Worker]:
    """A real Celery worker (2 processes) on Redis and the test database."""
    running = Worker(worker_env).start()
    yield running
    running.stop()


def wait_for(predicate: Any, *, timeout: float = 30.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
