"""Reference data for sample sales: selling locations, products and customers.

The product catalogue is built from a fixed seed, independent of the data seed, so
product ids are stable across every generated data set (Gold's dim_product keys on
them). Attribute changes over time (a product renamed or re-categorised, a store
moved to another region) are part of the catalogue: each has an effective date.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

CATALOGUE_SEED = 20240101


@dataclass(frozen=True)
class Location:
    """A selling location and its market and region (SCD2-tracked in Gold)."""

    country: str
    state: str
    city: str
    postal_code: str | None
    market: str
    region: str


@dataclass(frozen=True)
class Product:
    product_id: str
    category: str
    sub_category: str
    name: str
    unit_price_e4: int
    """Unit price in 1/10000 of the currency unit: exact integer arithmetic."""


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    segment: str


@dataclass(frozen=True)
class Change:
    """From ``effective`` on, a product or location shows other attribute values."""

    effective: date
    product: Product | None = None
    location: Location | None = None


_US = [
    ("New York", "New York City", "10024", "East"),
    ("Massachusetts", "Boston", "02134", "East"),
    ("Connecticut", "Hartford", "06103", "East"),
    ("New Jersey", "Newark", "07102", "East"),
    ("Pennsylvania", "Philadelphia", "19143", "East"),
    ("California", "Los Angeles", "90036", "West"),
    ("California", "San Francisco", "94122", "West"),
    ("Washington", "Seattle", "98103", "West"),
    ("Texas", "Houston", "77095", "Central"),
    ("Illinois", "Chicago", "60623", "Central"),
    ("Michigan", "Detroit", "48205", "Central"),
    ("Florida", "Miami", "33142", "South"),
    ("Georgia", "Atlanta", "30318", "South"),
    ("Kentucky", "Henderson", "42420", "South"),
]
_WORLD = [
    ("Germany", "Berlin", "Berlin", "EU", "Central"),
    ("Germany", "Bavaria", "Munich", "EU", "Central"),
    ("France", "Ile-de-France", "Paris", "EU", "Central"),
    ("France", "Auvergne-Rhône-Alpes", "Lyon", "EU", "Central"),
    ("United Kingdom", "England", "London", "EU", "North"),
    ("United Kingdom", "England", "Manchester", "EU", "North"),
    ("Italy", "Lazio", "Rome", "EU", "South"),
    ("Spain", "Catalonia", "Barcelona", "EU", "South"),
    ("Australia", "New South Wales", "Sydney", "APAC", "Oceania"),
    ("Australia", "Victoria", "Melbourne", "APAC", "Oceania"),
    ("Japan", "Tokyo", "Tokyo", "APAC", "North Asia"),
    ("India", "Maharashtra", "Mumbai", "APAC", "Central Asia"),
    ("Indonesia", "Jakarta", "Jakarta", "APAC", "Southeast Asia"),
    ("Mexico", "Distrito Federal", "Mexico City", "LATAM", "Central"),
    ("Brazil", "São Paulo", "São Paulo", "LATAM", "South"),
    ("Nigeria", "Lagos", "Lagos", "Africa", "Western Africa"),
    ("Egypt", "Cairo", "Cairo", "Africa", "North Africa"),
    ("South Africa", "Gauteng", "Johannesburg", "Africa", "Southern Africa"),
    ("Canada", "Ontario", "Toronto", "Canada", "Canada"),
    ("Canada", "British Columbia", "Vancouver", "Canada", "Canada"),
]

LOCATIONS: tuple[Location, ...] = tuple(
    [Location("United States", s, c, z, "US", r) for s, c, z, r in _US]
    + [Location(co, s, c, None, m, r) for co, s, c, m, r in _WORLD]
)

_CATEGORIES = {
    "Furniture": {
        "Bookcases": ("BO", 90, 600),
        "Chairs": ("CH", 60, 900),
        "Furnishings": ("FU", 5, 120),
        "Tables": ("TA", 120, 1400),
    },
    "Office Supplies": {
        "Appliances": ("AP", 20, 700),
        "Art": ("AR", 2, 40),
        "Binders": ("BI", 3, 60),
        "Envelopes": ("EN", 3, 30),
        "Fasteners": ("FA", 1, 15),
        "Labels": ("LA", 2, 20),
        "Paper": ("PA", 3, 50),
        "Storage": ("ST", 10, 300),
    },
    "Technology": {
        "Accessories": ("AC", 10, 250),
        "Copiers": ("CO", 300, 3000),
        "Machines": ("MA", 100, 2500),
        "Phones": ("PH", 40, 1200),
    },
}
_BRANDS = [
    "Hon",
    "Eldon",
    "Fellowes",
    "Avery",
    "Acme",
    "Logitech",
    "Canon",
    "Xerox",
    "Bretford",
    "Global",
    "Smead",
    "Cisco",
    "Samsung",
    "Belkin",
    "Tenex",
    "Bush",
]
_MODELS = ["Classic", "Series 400", "Executive", "Premier", "Ultra", "Compact", "Pro", "Deluxe"]
_COLOURS = ["Black", "Gray", "Blue", "Red", "White", "Walnut"]
_SIZES = ['8 1/2" x 11"', '12"', '36" W', '24" Wide', "Letter Size", "Legal Size"]


def _product_name(rng: random.Random, sub_category: str) -> str:
    """Names like real exports: commas, inch marks (doubled quotes in CSV), brands."""
    name = f"{rng.choice(_BRANDS)} {rng.choice(_MODELS)} {sub_category.rstrip('s')}"
    if rng.random() < 0.35:
        name += f" {rng.choice(_SIZES)}"
    if rng.random() < 0.5:
        name += f", {rng.choice(_COLOURS)}"
    return name


def build_products(per_sub_category: int = 40) -> tuple[Product, ...]:
    """The fixed product catalogue: ids like ``FUR-CH-10000017``."""
    rng = random.Random(CATALOGUE_SEED)
    products = []
    serial = 10000000
    for category, subs in _CATEGORIES.items():
        for sub, (code, low, high) in subs.items():
            for _ in range(per_sub_category):
                serial += rng.randint(1, 40)
                price_e4 = rng.randint(low * 100, high * 100) * 100
                products.append(
                    Product(
                        f"{category[:3].upper()}-{code}-{serial}",
                        category,
                        sub,
                        _product_name(rng, sub),
                        price_e4,
                    )
                )
    return tuple(products)


PRODUCTS = build_products()

_FIRST = [
    "Claire",
    "Darrin",
    "Sean",
    "Brosina",
    "Andrew",
    "Irene",
    "Harold",
    "Pete",
    "Alejandro",
    "Zuschuss",
    "Ken",
    "Sandra",
    "Emily",
    "Eric",
    "Tracy",
    "Matt",
    "Gene",
    "Steve",
    "Linda",
    "Ruben",
    "Erin",
    "Odella",
    "Patrick",
    "Lena",
    "Kunst",
    "Mei",
    "Olga",
    "Noah",
    "Aisha",
]
_LAST = [
    "Gute",
    "Van Huff",
    "O'Donnell",
    "Hoffman",
    "Allen",
    "Maddox",
    "Pawlan",
    "Kriz",
    "Grove",
    "Donatelli",
    "Black",
    "Flathmann",
    "Grady",
    "Hoffmann",
    "Hwang",
    "Abelman",
    "Hale",
    "Ashbrook",
    "Cazorla",
    "Dionis",
    "Smayling",
    "Nelson",
    "O'Briant",
    "Miller",
]
SEGMENTS = ("Consumer", "Corporate", "Home Office")


def build_customers(rng: random.Random, count: int) -> tuple[Customer, ...]:
    """``count`` customers with ids like ``CG-12520`` and a segment each."""
    customers = []
    for i in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        initials = (first[0] + last[0]).upper()
        segment = rng.choices(SEGMENTS, weights=(5, 3, 2))[0]
        customers.append(Customer(f"{initials}-{10000 + i * 5}", f"{first} {last}", segment))
    return tuple(customers)


def build_changes(rng: random.Random, start: date, end: date) -> list[Change]:
    """Attribute changes over the data's time span, for Gold's SCD2 dimensions."""
    span = (end - start).days
    changes = []
    for product in rng.sample(PRODUCTS, k=max(1, len(PRODUCTS) // 25)):
        when = date.fromordinal(start.toordinal() + rng.randint(span // 4, span - 1))
        renamed = Product(
            product.product_id,
            product.category,
            product.sub_category,
            product.name.split(",")[0] + ", Refreshed",
            product.unit_price_e4,
        )
        changes.append(Change(when, product=renamed))
    for location in rng.sample(LOCATIONS, k=3):
        when = date.fromordinal(start.toordinal() + rng.randint(span // 3, span - 1))
        moved = Location(
            location.country,
            location.state,
            location.city,
            location.postal_code,
            location.market,
            location.region + " Metro",
        )
        changes.append(Change(when, location=moved))
    return sorted(changes, key=lambda c: c.effective)
