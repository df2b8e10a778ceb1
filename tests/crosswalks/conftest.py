from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest

from exceptions.models import ExceptionType, SyncException

# The shared cast of users, and the broker recorder (autouse: no test here needs a worker).
from tests.factories import SyncExceptionFactory, cast, enqueued  # noqa: F401


@pytest.fixture
def sap_knows_everything() -> Iterator[None]:
    """SAP as the workbench's checks see it: every material but MAT-NOPE-…, every partner but 99999999."""
    with mock.patch("crosswalks.sap_lookup.SapLookup.materials_exist",
                    side_effect=lambda materials: {m: not m.startswith("MAT-NOPE") for m in materials}), \
            mock.patch("crosswalks.sap_lookup.SapLookup.partner_exists", side_effect=lambda bp: bp != "99999999"):
        yield


@pytest.fixture
def blocked_by_product(db: None) -> Callable[..., SyncException]:
    """A blocked deal's `product_not_mapped` exception for a CRM product code, as validation raises it."""
    def make(code: str, **kwargs: Any) -> SyncException:
        return SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED,
                                    fingerprint=f"product_not_mapped:product:{code}",
                                    evidence={"product_code": code, "product_name": f"{code} name"}, **kwargs)
    return make
