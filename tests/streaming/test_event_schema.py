"""The event JSON Schema is derived from the contract and enforced by the producer."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from salespipe.contract import FIELDS, FieldKind
from salespipe.streaming.producer import Malformed, generated_events
from salespipe.streaming.schema import InvalidEventError, event_json_schema, validate_event


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return [e for e in generated_events(300, seed=3, defect_rate=0.1) if isinstance(e, dict)]


def test_schema_lists_exactly_the_contract_fields_plus_the_envelope() -> None:
    schema = event_json_schema()
    assert list(schema["properties"]) == [f.name for f in FIELDS] + ["event_id", "event_time"]
    required = set(schema["required"])
    assert required == {f.name for f in FIELDS if f.required} | {"event_id", "event_time"}
    assert schema["additionalProperties"] is False


def test_field_types_follow_the_field_kinds() -> None:
    props = event_json_schema()["properties"]
    for f in FIELDS:
        types = props[f.name]["type"]
        types = types if isinstance(types, list) else [types]
        assert ("null" in types) == (not f.required), f.name
        expected = "integer" if f.kind in (FieldKind.INTEGER, FieldKind.BIGINT) else "string"
        assert expected in types, f.name


def test_the_schema_is_a_valid_draft07_schema() -> None:
    jsonschema.Draft7Validator.check_schema(event_json_schema())


def test_generated_events_pass_both_validators(events: list[dict[str, Any]]) -> None:
    checker = jsonschema.Draft7Validator(
        event_json_schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    for event in events:
        validate_event(event)
        checker.validate(event)


MUTATIONS: list[tuple[str, Any]] = [
    ("order_id", None),
    ("order_id", ""),
    ("row_id", "12"),
    ("row_id", 2**63),
    ("quantity", 1.5),
    ("quantity", 2**31),
    ("sales", 12.5),
    ("sales", "12.34567"),
    ("sales", "1,000.00"),
    ("order_date", "01/02/2024"),
    ("ship_date", 20240101),
    ("event_time", "2025-01-01T00:00:00"),
    ("event_time", "yesterday"),
    ("event_id", ""),
    ("unexpected_field", "x"),
]


@pytest.mark.parametrize(("name", "value"), MUTATIONS)
def test_an_event_with_a_wrong_field_is_rejected_by_both_validators(
    events: list[dict[str, Any]], name: str, value: Any
) -> None:
    bad = copy.deepcopy(events[0])
    bad[name] = value
    with pytest.raises(InvalidEventError):
        validate_event(bad)
    assert not jsonschema.Draft7Validator(event_json_schema()).is_valid(bad)


@pytest.mark.parametrize("name", ["order_id", "row_id", "event_time", "event_id", "sales"])
def test_a_missing_required_field_is_rejected(events: list[dict[str, Any]], name: str) -> None:
    bad = {k: v for k, v in events[0].items() if k != name}
    with pytest.raises(InvalidEventError, match=name):
        validate_event(bad)


def test_optional_fields_may_be_null(events: list[dict[str, Any]]) -> None:
    event = dict(events[0], ship_date=None, postal_code=None)
    validate_event(event)


def test_business_rules_are_left_to_silver(events: list[dict[str, Any]]) -> None:
    """A negative quantity or unknown segment is well-formed: it must land and be
    quarantined with its reason, not vanish at the producer."""
    validate_event(dict(events[0], quantity=-3, segment="Martians"))


def test_generator_defects_reach_the_producer_as_such() -> None:
    items = list(generated_events(2000, seed=5, defect_rate=0.2))
    assert len(items) == 2000
    malformed = [i for i in items if isinstance(i, Malformed)]
    good = [i for i in items if isinstance(i, dict)]
    assert malformed and good
    ids = [e["event_id"] for e in good]
    assert len(set(ids)) < len(ids), "duplicates repeat an event_id"


def test_long_runs_replay_the_base_set_as_new_lines() -> None:
    items = [i for i in generated_events(250, seed=5, base_size=100) if isinstance(i, dict)]
    keys = [(e["order_id"], e["row_id"]) for e in items]
    assert len(items) == 250
    assert len(set(keys)) == len(keys)
    for event in items:
        validate_event(event)
