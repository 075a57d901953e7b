"""The canonical contract: 24 fields in a fixed order, one home for their types."""

from __future__ import annotations

import pyarrow as pa
import pytest

from salespipe.contract.arrow import canonical_fields
from salespipe.contract.schema import (
    FIELDS,
    LINE_KEY,
    field,
    field_names,
    normalize_header,
    required_names,
    validate_line_key,
)

CANONICAL_ORDER = [
    "row_id",
    "order_id",
    "order_date",
    "ship_date",
    "ship_mode",
    "customer_id",
    "customer_name",
    "segment",
    "city",
    "state",
    "country",
    "postal_code",
    "market",
    "region",
    "product_id",
    "category",
    "sub_category",
    "product_name",
    "sales",
    "quantity",
    "discount",
    "profit",
    "shipping_cost",
    "order_priority",
]


def test_the_contract_has_the_24_fields_in_canonical_order() -> None:
    assert field_names() == CANONICAL_ORDER
    assert len(FIELDS) == 24


def test_only_ship_date_and_postal_code_are_optional() -> None:
    assert set(field_names()) - set(required_names()) == {"ship_date", "postal_code"}


def test_arrow_types_keep_money_exact_and_postal_codes_as_text() -> None:
    types = {f.name: f.type for f in canonical_fields()}
    for money in ("sales", "profit", "shipping_cost", "discount"):
        assert types[money] == pa.decimal128(18, 4)
    assert types["postal_code"] == pa.string()
    assert types["row_id"] == pa.int64()
    assert types["quantity"] == pa.int32()
    assert types["order_date"] == pa.date32()


def test_required_fields_are_not_nullable_in_arrow() -> None:
    nullable = {f.name for f in canonical_fields() if f.nullable}
    assert nullable == {"ship_date", "postal_code"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Row ID", "row_id"),
        ("Sub-Category", "sub_category"),
        ("  Order Date ", "order_date"),
        ("\ufeffRow ID", "row_id"),
        ("shipping_cost", "shipping_cost"),
        ("Shipping Cost", "shipping_cost"),
        ("POSTAL CODE", "postal_code"),
    ],
)
def test_headers_normalize_to_snake_case(header: str, expected: str) -> None:
    assert normalize_header(header) == expected


def test_the_default_line_key_is_order_and_row() -> None:
    assert LINE_KEY == ("order_id", "row_id")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (("order_id",), "order_id alone"),
        (("order_id", "nope"), "unknown fields: nope"),
        (("order_id", "ship_date"), "must be required"),
        ((), "at least one"),
    ],
)
def test_a_bad_line_key_is_refused_with_the_reason(key: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_line_key(key)


def test_enumerated_fields_list_their_canonical_values() -> None:
    assert field("order_priority").allowed == ("Critical", "High", "Medium", "Low")
    assert "Standard Class" in field("ship_mode").allowed


def test_every_reason_code_has_a_meaning() -> None:
    from salespipe.contract.rules import MEANING, FileReason, Reason

    assert set(MEANING) == {*Reason, *FileReason}


def test_docs_contract_page_is_generated_from_the_contract() -> None:
    from pathlib import Path

    from salespipe.contract.docs import contract_markdown

    page = Path(__file__).parents[2] / "docs" / "contract.md"
    assert page.read_text() == contract_markdown(), "run: python -m salespipe.contract.docs"
