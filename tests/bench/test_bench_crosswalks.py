"""Crosswalk benchmarks (`make bench`): suggestion lookups and a large CSV import. Printed, never asserted on time."""

from __future__ import annotations

import random
import time

import pytest

from crosswalks.csvio import import_apply, import_plan
from crosswalks.models import ProductMapping, ProductMappingComponent, SapMaterial, SapPartner
from crosswalks.sap_lookup import SapLookup
from crosswalks.suggestions import material_index, partner_index, suggest_materials, suggest_partners
from crosswalks.tables import TABLES

pytestmark = [pytest.mark.bench, pytest.mark.timeout(900), pytest.mark.django_db]

WORDS = ["Enterprise", "Professional", "License", "Annual", "Support", "Premium", "Gateway", "Sensor", "Kit",
         "Server", "Rack", "Switch", "Router", "Cloud", "Edge", "Analytics", "Storage", "Backup", "Training",
         "Service", "Hours", "Module", "Cable", "Panel", "Battery", "Controller", "Industrial", "Compact", "Pro",
         "Max", "Lite", "Plus", "Bundle", "Starter", "Team", "Fleet", "Monitor", "Display", "Adapter", "Power"]
STEMS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka", "Tyrell",
         "Cyberdyne", "Soylent", "Aperture", "Oscorp", "Nakatomi", "Monarch", "Virtucon", "Bluth", "Gekko", "Duff"]
LEGAL = ["Corporation", "Inc.", "GmbH", "Ltd", "LLC", "Holdings", "Group plc"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def test_bench_crosswalks() -> None:
    rng = random.Random(7)
    print("\n== crosswalk benchmark ==")
    started = time.perf_counter()
    SapMaterial.objects.bulk_create(
        [SapMaterial(material=f"MAT-{i:06d}", description=" ".join(rng.sample(WORDS, 4)) + f" {i % 97}")
         for i in range(100_000)], batch_size=10_000)
    SapPartner.objects.bulk_create(
        [SapPartner(business_partner=f"{20_000_000 + i}",
                    name=f"{rng.choice(STEMS)} {rng.choice(WORDS)} {i % 503} {rng.choice(LEGAL)}",
                    tax_numbers=f"{10_000_000 + i}", street=f"{i % 900} Main Street", city="Springfield",
                    postal_code=f"{60000 + i % 999}", country="US")
         for i in range(50_000)], batch_size=10_000)
    print(f"seeded 100,000 materials and 50,000 partners in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    material_index()
    partner_index()
    print(f"building the in-memory indexes (once per process and refresh): {time.perf_counter() - started:.2f} s")

    timings = []
    for _ in range(400):
        words = rng.sample(WORDS, 3)
        started = time.perf_counter()
        suggest_materials(f"{words[0][:2].upper()}-{rng.randint(1, 99):03d}", " ".join(words))
        timings.append(time.perf_counter() - started)
    print(f"material suggestions over 100k materials: p50 {_pct(timings, .5) * 1000:.2f} ms, "
          f"p95 {_pct(timings, .95) * 1000:.2f} ms (target < 5 ms)")

    timings = []
    for _ in range(400):
        i = rng.randrange(50_000)
        started = time.perf_counter()
        suggest_partners(f"{rng.choice(STEMS)} {rng.choice(WORDS)}", tax_id=f"{10_000_000 + i}" if i % 2 else "",
                         ship_to={"street": f"{i % 900} Main St", "city": "Springfield", "postal_code": "60001",
                                  "country": "US"})
        timings.append(time.perf_counter() - started)
    print(f"partner suggestions over 50k partners: p50 {_pct(timings, .5) * 1000:.2f} ms, "
          f"p95 {_pct(timings, .95) * 1000:.2f} ms (target < 5 ms)")

    rows = ["crm_product_code;crm_product_name;materials;confidence;active"]
    for i in range(100_000):
        rows.append(f"P-{i:06d};Product {i};MAT-{i:06d} × 1 + MAT-{(i * 7 + 13) % 100_000:06d} × 2;1;yes")
    content = ("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8")
    started = time.perf_counter()
    plan = import_plan(TABLES["products"], content, lookup=SapLookup(trust_cache=True))
    checked = time.perf_counter() - started
    assert plan.ok, plan.errors[:3]
    counts = import_apply(plan=plan, actor=None, reason="bench")
    total = time.perf_counter() - started
    print(f"CSV import of 100,000 product rows (200,000 materials, Excel format): dry run {checked:.1f} s, "
          f"dry run + import {total:.1f} s (target < 10 s); {counts}")
    assert ProductMapping.objects.count() == 100_000
    assert ProductMappingComponent.objects.count() == 200_000
