"""The 24-field canonical sales line: names, order, types and nullability.

Everything else that needs the shape of a sales line (Arrow and Spark schemas, the
Silver tables, dbt source columns, the event JSON schema, docs) derives it from
``FIELDS``. Nothing else may spell the list out again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class FieldKind(Enum):
    """The logical type of a canonical field; each engine maps it to its own type."""

    STRING = "string"
    INTEGER = "integer"
    """A 32-bit signed integer."""
    BIGINT = "bigint"
    """A 64-bit signed integer (identifiers)."""
    DATE = "date"
    DECIMAL = "decimal"
    """An exact decimal: ``DECIMAL_PRECISION`` digits, ``DECIMAL_SCALE`` after the point."""


DECIMAL_PRECISION = 18
"""Total digits of money and ratio columns: 14 before the point is beyond any sale."""
DECIMAL_SCALE = 4
"""Digits after the point: source files carry up to 4; more would be rounded, so it is an error."""


@dataclass(frozen=True)
class Field:
    """One canonical column."""

    name: str
    """snake_case name, as stored in Silver."""
    kind: FieldKind
    required: bool
    """A required field must be present and non-empty on every line."""
    description: str
    allowed: tuple[str, ...] = ()
    """Canonical spellings of an enumerated field; matched case-insensitively."""


_S, _I, _B, _D, _N = (
    FieldKind.STRING,
    FieldKind.INTEGER,
    FieldKind.BIGINT,
    FieldKind.DATE,
    FieldKind.DECIMAL,
)

FIELDS: tuple[Field, ...] = (
    Field("row_id", _B, True, "Line number of the order line in the source system."),
    Field("order_id", _S, True, "Order identifier; an order has one or more lines."),
    Field("order_date", _D, True, "Date the order was placed."),
    Field("ship_date", _D, False, "Date the line shipped; empty while unshipped."),
    Field(
        "ship_mode",
        _S,
        True,
        "Shipping service level.",
        ("Same Day", "First Class", "Second Class", "Standard Class"),
    ),
    Field("customer_id", _S, True, "Customer identifier."),
    Field("customer_name", _S, True, "Customer display name."),
    Field("segment", _S, True, "Customer segment.", ("Consumer", "Corporate", "Home Office")),
    Field("city", _S, True, "City of the selling location."),
    Field("state", _S, True, "State or province of the selling location."),
    Field("country", _S, True, "Country of the selling location."),
    Field("postal_code", _S, False, "Postal code, a string: leading zeros matter."),
    Field("market", _S, True, "Sales market (e.g. US, EU, APAC)."),
    Field("region", _S, True, "Sales region within the market."),
    Field("product_id", _S, True, "Stable product identifier."),
    Field("category", _S, True, "Product category."),
    Field("sub_category", _S, True, "Product sub-category."),
    Field("product_name", _S, True, "Product name; may contain commas and quotes."),
    Field("sales", _N, True, "Line revenue in the order currency; never negative."),
    Field("quantity", _I, True, "Units on the line; at least 1."),
    Field("discount", _N, True, "Discount ratio in [0, 1]."),
    Field("profit", _N, True, "Line profit; negative for a loss."),
    Field("shipping_cost", _N, True, "Shipping cost of the line."),
    Field(
        "order_priority",
        _S,
        True,
        "Order priority.",
        ("Critical", "High", "Medium", "Low"),
    ),
)

LINE_KEY: tuple[str, ...] = ("order_id", "row_id")
"""The default key of one order line. Never ``order_id`` alone: orders have many lines."""

_BY_NAME = {f.name: f for f in FIELDS}


def field(name: str) -> Field:
    """The canonical field called ``name``; KeyError names the unknown field."""
    return _BY_NAME[name]


def field_names() -> list[str]:
    """The canonical column names in contract order."""
    return [f.name for f in FIELDS]


def required_names() -> list[str]:
    """The names of the fields that must be present on every line."""
    return [f.name for f in FIELDS if f.required]


_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize_header(header: str) -> str:
    """Map a source header to its snake_case form: ``"Sub-Category"`` -> ``"sub_category"``.

    Source systems send Title Case with spaces and dashes as well as snake_case,
    sometimes with a byte-order mark or padding; all of them meet here.
    """
    cleaned = header.replace("\ufeff", "").strip().lower()
    return _NON_ALNUM.sub("_", cleaned).strip("_")


def validate_line_key(key: tuple[str, ...]) -> tuple[str, ...]:
    """Check a configured line key: known, required fields, never ``order_id`` alone."""
    if not key:
        raise ValueError("the line key needs at least one field")
    unknown = [k for k in key if k not in _BY_NAME]
    if unknown:
        raise ValueError(f"line key names unknown fields: {', '.join(unknown)}")
    optional = [k for k in key if not _BY_NAME[k].required]
    if optional:
        raise ValueError(f"line key fields must be required, not: {', '.join(optional)}")
    if key == ("order_id",):
        raise ValueError("order_id alone is not a line key: an order has many lines")
    return key
