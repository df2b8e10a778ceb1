"""One deterministic world of master data that both sandboxes seed from.

The Salesforce sandbox sees it the way sales typed it (account name variants, product names,
"Net 30"); the SAP sandbox sees it the way finance keeps it (legal names, business partner
numbers, materials, condition records, payment-terms keys, credit limits, open items). The
differences between the two views are what the hub has to bridge, on purpose:

- most accounts are name variants of an SAP business partner ("Acme Corp" / "ACME Corporation");
  some share a tax id or DUNS with it, some only a fuzzy name + address;
- some accounts are net new (no business partner); a few SAP partners have near-duplicates;
- most products map to one material, bundles to several (1 → N with quantity factors), and a
  few CRM products have no material at all;
- prices in SAP (condition records PPR0) usually match the CRM list price; a few differ by > 2 %.

Everything is generated from a fixed seed so tests and the demo see the same world.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

SEED = 20261123


@dataclass(frozen=True)
class SalesArea:
    sales_organization: str
    distribution_channel: str
    division: str
    currency: str
    country: str


SALES_AREAS: tuple[SalesArea, ...] = (
    SalesArea("1710", "10", "00", "USD", "US"),  # US direct
    SalesArea("1710", "20", "00", "USD", "US"),  # US resellers
    SalesArea("1010", "10", "00", "EUR", "DE"),  # Germany
    SalesArea("2910", "10", "00", "GBP", "GB"),  # United Kingdom
)

# SAP payment-terms keys (T052) and the picklist values sales uses for them in Salesforce.
PAYMENT_TERMS: dict[str, str] = {
    "0001": "Due on receipt",
    "0002": "2% 14 Net 30",
    "NT30": "Net 30",
    "NT45": "Net 45",
    "NT60": "Net 60",
}
CRM_TO_SAP_TERMS: dict[str, str] = {crm: sap for sap, crm in PAYMENT_TERMS.items()}


@dataclass(frozen=True)
class Contact:
    first_name: str
    last_name: str
    email: str
    phone: str
    title: str
    sap_contact_person: str  # BP number of the contact person in SAP ("" when SAP lacks it)


@dataclass(frozen=True)
class Company:
    key: str  # stable id inside this catalogue, e.g. "C0007"
    legal_name: str  # SAP OrganizationBPName1 (the legal name finance keeps)
    crm_name: str  # Salesforce Account.Name (how sales typed it)
    business_partner: str  # SAP BP / customer number; "" for net-new (not in SAP)
    tax_id: str  # US EIN / EU VAT number; "" when unknown
    duns: str
    crm_has_tax_id: bool  # whether sales captured the tax id / DUNS in Salesforce
    street: str
    house_number: str
    city: str
    region: str
    postal_code: str
    country: str
    crm_street: str  # Salesforce ShippingStreet (may be abbreviated or wrong)
    crm_postal_code: str
    sales_area: SalesArea
    payment_terms: str  # SAP key
    credit_limit: Decimal
    industry: str
    phone: str
    website: str
    open_items: tuple[tuple[Decimal, int], ...]  # (amount, days past due; negative = not yet due)
    contacts: tuple[Contact, ...] = field(default_factory=tuple)

    @property
    def in_sap(self) -> bool:
        return bool(self.business_partner)

    @property
    def open_ar(self) -> Decimal:
        return sum((amount for amount, _ in self.open_items), Decimal("0"))


@dataclass(frozen=True)
class Material:
    material: str  # SAP Product key, e.g. "MAT-EL-001"
    description: str
    product_type: str  # FERT finished good, HAWA trading good, DIEN service, LEIS licence/service
    base_unit: str  # PC, EA, H, MON, ...
    product_group: str
    price: Decimal  # PPR0 per base unit, in USD for 1710 (converted per sales area)
    tax_classification: str  # ProductTaxClassification1: "1" taxable, "0" exempt
    lead_time_days: int


@dataclass(frozen=True)
class Product:
    code: str  # Salesforce Product2.ProductCode
    name: str  # Salesforce Product2.Name
    family: str
    list_price: Decimal  # Salesforce standard PricebookEntry.UnitPrice (USD)
    unit: str  # Product2.QuantityUnitOfMeasure
    components: tuple[tuple[str, Decimal], ...]  # (material, quantity factor); () = not in SAP


# Rough EUR/GBP rates the SAP sandbox uses for the non-USD sales areas.
# CAD is what the NetSuite sandbox's Canadian subsidiary sells in.
FX_FROM_USD: dict[str, Decimal] = {
    "USD": Decimal("1"), "EUR": Decimal("0.92"), "GBP": Decimal("0.79"), "CAD": Decimal("1.36"),
}

_STEMS = [
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka", "Tyrell",
    "Cyberdyne", "Soylent", "Massive Dynamic", "Aperture", "Black Mesa", "Oscorp", "Nakatomi", "Gringotts",
    "Monarch", "Virtucon", "Pied Piper", "Dunder Mifflin", "Prestige Worldwide", "Sterling Cooper",
    "Bluth", "Los Pollos", "Gekko", "Duff", "Krusty", "Spacely", "Cogswell", "Blue Sun", "Weyland",
    "Yoyodyne", "Zorg", "Omni", "Rekall", "Tessier Ashpool", "Sirius", "Ajax", "Beacon", "Cascade",
    "Delta Ridge", "Evergreen", "Falcon", "Granite", "Harbor", "Ironwood", "Juniper", "Keystone",
    "Lakeshore", "Meridian", "Northwind", "Orchard", "Pinnacle", "Quarry", "Redwood", "Summit",
    "Tidewater", "Union Pacific Freight", "Vertex", "Westbrook", "Yellowstone", "Zenith", "Alpine",
    "Bayview", "Crescent", "Driftwood", "Eastgate", "Foxglove", "Goldleaf", "Highland", "Ivory",
    "Jetstream", "Kingfisher", "Lighthouse", "Maple", "Nimbus", "Oakridge", "Polaris", "Quicksilver",
    "Riverside", "Silverline", "Timberline", "Upland", "Valley", "Windmill", "Xenon", "Yardley",
    "Zephyr", "Apex", "Brightwater", "Copperfield", "Dawnstar", "Emberly", "Fairhaven", "Greystone",
    "Hawthorne", "Islington", "Jadeport", "Kestrel", "Larkspur", "Moorland", "Newhaven", "Oxbow",
    "Pembrook", "Queensbury", "Rosewood", "Stonebridge", "Thornbury", "Underhill", "Vantage", "Wexford",
]
_SUFFIX_PAIRS = [
    ("Corporation", "Corp"), ("Corporation", "Corp."), ("Incorporated", "Inc"), ("Inc.", "Inc"),
    ("Industries, Inc.", "Industries"), ("Holdings LLC", "Holdings"), ("Systems Corporation", "Systems"),
    ("Technologies, Inc.", "Technologies"), ("Manufacturing Co.", "Manufacturing"), ("GmbH", "GmbH"),
    ("Logistics Ltd", "Logistics"), ("Group plc", "Group"), ("Labs, Inc.", "Labs"), ("Foods Inc.", "Foods"),
]
_INDUSTRIES = ["Manufacturing", "Technology", "Retail", "Healthcare", "Energy", "Transportation", "Finance"]
_US_CITIES = [
    ("Springfield", "IL", "627"), ("Austin", "TX", "787"), ("Denver", "CO", "802"), ("Columbus", "OH", "432"),
    ("Raleigh", "NC", "276"), ("Portland", "OR", "972"), ("Madison", "WI", "537"), ("Tampa", "FL", "336"),
    ("Boise", "ID", "837"), ("Phoenix", "AZ", "850"), ("Newark", "NJ", "071"), ("Sacramento", "CA", "958"),
]
_DE_CITIES = [("Walldorf", "BW", "69190"), ("Hamburg", "HH", "20095"), ("Munich", "BY", "80331"), ("Cologne", "NW", "50667")]
_GB_CITIES = [("London", "", "EC1A 1BB"), ("Manchester", "", "M1 1AE"), ("Leeds", "", "LS1 4DY")]
_STREETS = ["Main Street", "Oak Avenue", "Industrial Parkway", "Commerce Drive", "Harbor Boulevard", "Market Street",
            "Lakeview Road", "Technology Way", "Riverside Drive", "Station Road"]
_DE_STREETS = ["Hauptstrasse", "Industriestrasse", "Bahnhofstrasse", "Dietmar-Hopp-Allee"]
_FIRST = ["Ava", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Henry", "Isla", "Jack", "Kara", "Liam",
          "Maya", "Noah", "Olivia", "Paul", "Quinn", "Ruby", "Sam", "Tara"]
_LAST = ["Nguyen", "Schmidt", "Okafor", "Garcia", "Patel", "Kowalski", "Johnson", "Tanaka", "Rossi", "Murphy",
         "Fischer", "Silva", "Chen", "Dubois", "Andersen", "Walsh"]
_TITLES = ["Procurement Manager", "VP Operations", "CFO", "IT Director", "Head of Purchasing", "Controller"]

_STREET_ABBREV = {"Street": "St", "Avenue": "Ave", "Boulevard": "Blvd", "Drive": "Dr", "Road": "Rd",
                  "Parkway": "Pkwy", "Way": "Way", "strasse": "str."}


def _abbreviate(street: str) -> str:
    for long, short in _STREET_ABBREV.items():
        if street.endswith(long):
            return street[: -len(long)] + short
    return street


def _ein(rng: random.Random) -> str:
    return f"{rng.randint(10, 98)}-{rng.randint(1000000, 9999999)}"


@cache
def companies() -> tuple[Company, ...]:
    """240 companies: ~200 known to SAP (as name variants in Salesforce), the rest net new."""
    rng = random.Random(SEED)
    result: list[Company] = []
    bp_number = 17100001
    contact_bp = 17300001
    for index in range(240):
        stem = _STEMS[index % len(_STEMS)]
        round_ = index // len(_STEMS)
        legal_suffix, crm_suffix = _SUFFIX_PAIRS[(index * 7 + round_) % len(_SUFFIX_PAIRS)]
        if round_:
            stem = f"{stem} {['North', 'Pacific', 'Atlantic'][round_ - 1]}"
        legal_name = f"{stem.upper() if index % 3 == 0 else stem} {legal_suffix}"
        crm_name = f"{stem} {crm_suffix}"
        area = SALES_AREAS[0] if index % 10 < 6 else SALES_AREAS[index % 10 % len(SALES_AREAS)]
        if area.country == "DE":
            city, region, postal = rng.choice(_DE_CITIES)
            street = rng.choice(_DE_STREETS)
            tax_id = f"DE{rng.randint(100000000, 999999999)}"
        elif area.country == "GB":
            city, region, postal = rng.choice(_GB_CITIES)
            street = rng.choice(_STREETS)
            tax_id = f"GB{rng.randint(100000000, 999999999)}"
        else:
            city, region, prefix = rng.choice(_US_CITIES)
            postal = f"{prefix}{rng.randint(10, 99)}"
            street = rng.choice(_STREETS)
            tax_id = _ein(rng)
        house = str(rng.randint(1, 9800))
        in_sap = index < 205  # 35 net-new accounts exist only in Salesforce
        crm_street = f"{house} {_abbreviate(street)}" if index % 4 == 0 else f"{house} {street}"
        if area.country == "DE":
            crm_street = f"{_abbreviate(street)} {house}" if index % 4 == 0 else f"{street} {house}"
        crm_postal = postal if index % 17 else postal[:-1] + str((int(postal[-1]) + 1) % 10) if postal[-1].isdigit() else postal
        terms = ["NT30", "NT30", "NT30", "NT45", "NT60", "0001", "0002"][index % 7]
        limit = Decimal(rng.choice([50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000]))
        items: list[tuple[Decimal, int]] = []
        for _ in range(rng.randint(0, 6)):
            amount = (limit * Decimal(rng.randint(10, 70)) / Decimal(1000)).quantize(Decimal("0.01"))
            days = rng.choice([-20, -5, 10, 25, 40, 55, 75, 95])
            items.append((amount, days))
        if index % 23 == 5:  # a handful of accounts are near or over their limit
            items.append((limit * Decimal("0.97"), 45))
        contacts = []
        for c in range(2):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            domain = stem.lower().replace(" ", "") + ".example.com"
            contacts.append(
                Contact(
                    first_name=first,
                    last_name=last,
                    email=f"{first.lower()}.{last.lower()}@{domain}",
                    phone=f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                    title=rng.choice(_TITLES),
                    sap_contact_person=str(contact_bp) if in_sap and c == 0 else "",
                )
            )
            if in_sap and c == 0:
                contact_bp += 1
        result.append(
            Company(
                key=f"C{index + 1:04d}",
                legal_name=legal_name,
                crm_name=crm_name,
                business_partner=str(bp_number) if in_sap else "",
                tax_id=tax_id,
                duns=f"{rng.randint(10, 99)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                crm_has_tax_id=index % 3 != 2,
                street=street,
                house_number=house,
                city=city,
                region=region,
                postal_code=postal,
                country=area.country,
                crm_street=crm_street,
                crm_postal_code=crm_postal,
                sales_area=area,
                payment_terms=terms,
                credit_limit=limit,
                industry=_INDUSTRIES[index % len(_INDUSTRIES)],
                phone=f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                website=f"https://www.{stem.lower().replace(' ', '')}.example.com",
                open_items=tuple(items),
                contacts=tuple(contacts),
            )
        )
        if in_sap:
            bp_number += 1
    return tuple(result)


@cache
def duplicate_partners() -> tuple[tuple[str, str], ...]:
    """Near-duplicate business partners SAP also holds: (duplicate BP number, company key)."""
    dupes = []
    number = 17190001
    for company in companies()[:205:25]:
        dupes.append((str(number), company.key))
        number += 1
    return tuple(dupes)


_PRODUCT_LINES = [
    # (family, name, code stem, unit, base price, product type, base unit, tax class, lead days)
    ("Software", "Enterprise License - Annual", "EL", "Each", 12000, "LEIS", "EA", "1", 0),
    ("Software", "Professional License - Annual", "PL", "Each", 4800, "LEIS", "EA", "1", 0),
    ("Software", "Analytics Add-on - Annual", "AA", "Each", 2400, "LEIS", "EA", "1", 0),
    ("Services", "Implementation Services", "IS", "Hours", 225, "DIEN", "H", "0", 14),
    ("Services", "Premium Support - Annual", "PS", "Each", 3600, "DIEN", "EA", "0", 0),
    ("Services", "Training Day", "TD", "Each", 1800, "DIEN", "EA", "0", 21),
    ("Hardware", "Edge Gateway G2", "EG", "Each", 1450, "HAWA", "PC", "1", 10),
    ("Hardware", "Industrial Sensor Kit", "SK", "Each", 390, "HAWA", "PC", "1", 7),
    ("Hardware", "Rack Server R7", "RS", "Each", 8900, "FERT", "PC", "1", 30),
    ("Hardware", "Network Switch 48p", "NS", "Each", 2150, "HAWA", "PC", "1", 10),
]


@cache
def materials_and_products() -> tuple[tuple[Material, ...], tuple[Product, ...]]:
    rng = random.Random(SEED + 1)
    materials: list[Material] = []
    products: list[Product] = []
    tiers = ["", " - Tier 2", " - Tier 3", " - EMEA", " - Public Sector", " - Education", " - Starter",
             " - Plus", " - Max", " - OEM"]
    for tier_index, tier in enumerate(tiers):
        for family, name, stem, unit, base, ptype, base_unit, tax, lead in _PRODUCT_LINES:
            seq = tier_index + 1
            material = f"MAT-{stem}-{seq:03d}"
            factor = Decimal(1) + Decimal(tier_index % 4) / Decimal(20)
            price = (Decimal(base) * factor).quantize(Decimal("0.01"))
            materials.append(
                Material(
                    material=material,
                    description=f"{name}{tier}"[:40],
                    product_type=ptype,
                    base_unit=base_unit,
                    product_group={"Software": "SW", "Services": "SRV", "Hardware": "HW"}[family],
                    price=price,
                    tax_classification=tax,
                    lead_time_days=lead,
                )
            )
            code = f"{stem}-{seq:03d}"
            list_price = price
            components: tuple[tuple[str, Decimal], ...] = ((material, Decimal(1)),)
            slot = len(products)
            if slot % 29 == 7:  # the CRM price drifted from SAP pricing by 5-12 %
                list_price = (price * Decimal(rng.choice(["0.88", "0.93", "1.06", "1.12"]))).quantize(Decimal("0.01"))
            if slot % 31 == 13:  # a product sales sells that nobody mapped in SAP
                code = f"{stem}-X{seq:02d}"
                components = ()
                materials.pop()
            products.append(Product(code=code, name=f"{name}{tier}", family=family, list_price=list_price,
                                    unit=unit, components=components))
    # Bundles: one CRM product, several SAP materials (1 -> N) with quantity factors.
    by_key = {m.material: m for m in materials}
    bundles = [
        ("BND-EDGE-STARTER", "Edge Starter Bundle", [("MAT-EG-001", 1), ("MAT-SK-001", 4), ("MAT-TD-001", 1)]),
        ("BND-DC-RACK", "Data Centre Rack Bundle", [("MAT-RS-001", 2), ("MAT-NS-001", 1), ("MAT-IS-001", 16)]),
        ("BND-ENT-SUITE", "Enterprise Suite Bundle", [("MAT-EL-001", 1), ("MAT-AA-001", 1), ("MAT-PS-001", 1)]),
        ("BND-SENSOR-50", "Sensor Fleet 50", [("MAT-SK-002", 50), ("MAT-EG-002", 5)]),
        ("BND-PRO-TEAM", "Professional Team Pack", [("MAT-PL-001", 5), ("MAT-TD-002", 2)]),
    ]
    for code, name, parts in bundles:
        comps = tuple((mat, Decimal(qty)) for mat, qty in parts if mat in by_key)
        total = sum((by_key[mat].price * qty for mat, qty in comps), Decimal("0"))
        products.append(Product(code=code, name=name, family="Bundles", list_price=total.quantize(Decimal("0.01")),
                                unit="Each", components=comps))
    return tuple(materials), tuple(products)


def materials() -> tuple[Material, ...]:
    return materials_and_products()[0]


def products() -> tuple[Product, ...]:
    return materials_and_products()[1]


# Customer-specific discounts SAP keeps as K007 condition records (percent, negative = discount).
@cache
def customer_discounts() -> tuple[tuple[str, Decimal], ...]:
    return tuple(
        (c.business_partner, Decimal(-(3 + (i % 4) * 2)))
        for i, c in enumerate(companies())
        if c.in_sap and i % 6 == 0
    )


# -- NetSuite's view: a second legal entity ---------------------------------------------------------
# The NetSuite sandbox is the ERP of another legal entity of the same seller: a Canadian
# subsidiary selling in CAD (to North American accounts) and GBP (to the United Kingdom). It knows
# some of the Salesforce accounts under its own name variants, keeps its own item numbers (SKUs)
# for the same materials, its own payment terms, price levels and credit limits.

@dataclass(frozen=True)
class NetSuiteTerm:
    internal_id: str
    name: str
    days_until_net_due: int
    discount_percent: Decimal
    days_until_discount_expires: int
    catalog_key: str  # the catalogue's (SAP) payment-terms key it stands for; "" for none


NETSUITE_TERMS: tuple[NetSuiteTerm, ...] = (
    NetSuiteTerm("1", "1% 10 Net 30", 30, Decimal("1"), 10, ""),
    NetSuiteTerm("2", "2% 10 Net 30", 30, Decimal("2"), 10, "0002"),
    NetSuiteTerm("3", "Due on receipt", 0, Decimal("0"), 0, "0001"),
    NetSuiteTerm("4", "Net 15", 15, Decimal("0"), 0, ""),
    NetSuiteTerm("5", "Net 30", 30, Decimal("0"), 0, "NT30"),
    NetSuiteTerm("6", "Net 45", 45, Decimal("0"), 0, "NT45"),
    NetSuiteTerm("7", "Net 60", 60, Decimal("0"), 0, "NT60"),
)

# NetSuite's default currency records (internal id, ISO code, name).
NETSUITE_CURRENCIES: tuple[tuple[str, str, str], ...] = (
    ("1", "USD", "US Dollar"), ("2", "GBP", "British pound"), ("3", "CAD", "Canadian Dollar"), ("4", "EUR", "Euro"),
)
# (internal id, name, country, base currency id, parent id or "")
NETSUITE_SUBSIDIARIES: tuple[tuple[str, str, str, str, str], ...] = (
    ("1", "Sandbox Holdings Inc.", "US", "1", ""),
    ("2", "Sandbox Canada Ltd.", "CA", "3", "1"),
)
NETSUITE_SELLING_SUBSIDIARY = "2"
# Price levels: (internal id, name, discount percent off the base price).
NETSUITE_PRICE_LEVELS: tuple[tuple[str, str, Decimal], ...] = (
    ("1", "Base Price", Decimal("0")),
    ("2", "Alternate Price 1", Decimal("5")),
    ("3", "Alternate Price 2", Decimal("10")),
    ("4", "Alternate Price 3", Decimal("15")),
    ("5", "Online Price", Decimal("0")),
)
NETSUITE_CURRENCY_IDS: dict[str, str] = {code: internal_id for internal_id, code, _ in NETSUITE_CURRENCIES}


@dataclass(frozen=True)
class NetSuiteItem:
    internal_id: str
    item_id: str  # NetSuite itemId: the entity's own SKU
    display_name: str
    record_type: str  # "inventoryItem" (hardware) or "nonInventorySaleItem" (licences, services)
    material: str  # the catalogue material it is
    base_price_usd: Decimal

    def price(self, currency: str, price_level: str = "1") -> Decimal:
        """The item's price in a currency at a price level (NetSuite's pricing matrix)."""
        discount = next(d for level, _, d in NETSUITE_PRICE_LEVELS if level == price_level)
        base = self.base_price_usd * FX_FROM_USD[currency]
        return (base * (Decimal(100) - discount) / Decimal(100)).quantize(Decimal("0.01"))


@cache
def netsuite_items() -> tuple[NetSuiteItem, ...]:
    """Every material as a NetSuite item: SKU-<stem>-<seq>, internal ids from 501."""
    items = []
    for number, material in enumerate(materials(), start=501):
        record_type = "inventoryItem" if material.product_type in ("HAWA", "FERT") else "nonInventorySaleItem"
        items.append(NetSuiteItem(
            internal_id=str(number), item_id="SKU-" + material.material.removeprefix("MAT-"),
            display_name=material.description, record_type=record_type, material=material.material,
            base_price_usd=material.price,
        ))
    return tuple(items)


def netsuite_item_for_material(material: str) -> NetSuiteItem | None:
    return next((item for item in netsuite_items() if item.material == material), None)


@dataclass(frozen=True)
class NetSuiteCustomer:
    internal_id: str
    entity_id: str  # NetSuite's auto-numbered customer id, e.g. "CUS1001"
    company_name: str  # how this entity keeps the name (a variant of the Salesforce account's)
    company_key: str  # the catalogue company
    currency: str  # ISO code: CAD or GBP
    terms_id: str
    price_level: str
    credit_limit: Decimal  # in the customer's currency
    vat_reg_number: str
    open_invoices: tuple[tuple[Decimal, int], ...]  # (amount in currency, days past due; < 0 not yet due)
    duplicate_of: str = ""  # internal id of the customer this one nearly duplicates


_NS_SUFFIX = {"Corporation": "Corp.", "Incorporated": "Inc.", "Inc.": "Inc.", "Holdings LLC": "Holdings, LLC",
              "Logistics Ltd": "Logistics Limited", "Group plc": "Group PLC", "Manufacturing Co.": "Manufacturing Company",
              "Systems Corporation": "Systems Corp.", "Technologies, Inc.": "Technologies Inc.",
              "Industries, Inc.": "Industries Inc", "Labs, Inc.": "Labs Inc", "Foods Inc.": "Foods, Inc."}


def _netsuite_name(company: Company, currency: str, index: int) -> str:
    words = [w.capitalize() if w.isupper() and len(w) > 1 else w for w in company.legal_name.split()]
    name = " ".join(words)
    for legal in sorted(_NS_SUFFIX, key=len, reverse=True):
        if company.legal_name.endswith(" " + legal):
            name = name[: -len(legal)] + _NS_SUFFIX[legal]
            break
    if currency == "GBP" and index % 2 == 0:
        name += " (UK)"
    if currency == "CAD" and index % 3 == 0:
        name += " - Canada"
    return name


@cache
def netsuite_customers() -> tuple[NetSuiteCustomer, ...]:
    """The selling subsidiary's customers: the catalogue's UK companies (GBP) and a share of the US
    direct ones (CAD), each known to SAP too; plus a few near-duplicates, as every ERP has."""
    terms_by_key = {t.catalog_key: t.internal_id for t in NETSUITE_TERMS if t.catalog_key}
    result: list[NetSuiteCustomer] = []
    number = 1001
    chosen = [(i, c) for i, c in enumerate(companies()) if c.in_sap and (c.country == "GB" or i % 10 == 8)]
    for position, (_index, company) in enumerate(chosen):
        currency = "GBP" if company.country == "GB" else "CAD"
        fx = Decimal("1") if currency == "GBP" else FX_FROM_USD["CAD"]
        result.append(NetSuiteCustomer(
            internal_id=str(number), entity_id=f"CUS{number}",
            company_name=_netsuite_name(company, currency, position), company_key=company.key, currency=currency,
            terms_id=terms_by_key[company.payment_terms],
            price_level=("1", "1", "2", "1", "3")[position % 5],
            credit_limit=(company.credit_limit * fx).quantize(Decimal("1")),
            vat_reg_number=company.tax_id if company.crm_has_tax_id or currency == "GBP" else "",
            open_invoices=tuple(((amount * fx).quantize(Decimal("0.01")), days) for amount, days in company.open_items),
        ))
        number += 1
    for original in result[:30:10]:
        result.append(NetSuiteCustomer(
            internal_id=str(number), entity_id=f"CUS{number}", company_name=original.company_name.upper(),
            company_key=original.company_key, currency=original.currency, terms_id=original.terms_id,
            price_level="1", credit_limit=Decimal("0"), vat_reg_number="", open_invoices=(),
            duplicate_of=original.internal_id,
        ))
        number += 1
    return tuple(result)
