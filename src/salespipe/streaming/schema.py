"""The sales event: the 24 canonical fields plus ``event_id`` and ``event_time``.

Its JSON Schema is derived from ``salespipe.contract.FIELDS`` (nothing here lists the
fields again). The schema checks shape and types, the part a producer can get wrong
by mistake; business rules (quantity > 0, known enumerated values, dates in order)
stay with the Silver rules, so a rule-breaking event still lands and is quarantined
with its reason instead of vanishing at the producer.

The schema uses draft-07 keywords only: it is read by ``jsonschema``, compiled by
``fastjsonschema`` (fast enough for 10k events/s in one Python process) and accepted
by the Confluent schema registry's JSON provider and Tansu's topic validation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import fastjsonschema

from salespipe.contract.schema import DECIMAL_PRECISION, DECIMAL_SCALE, FIELDS, FieldKind

EVENT_ID = "event_id"
EVENT_TIME = "event_time"
ENVELOPE_FIELDS = (EVENT_ID, EVENT_TIME)
"""Fields an event carries besides the canonical ones."""

DECIMAL_PATTERN = (
    rf"^-?[0-9]{{1,{DECIMAL_PRECISION - DECIMAL_SCALE}}}(\.[0-9]{{1,{DECIMAL_SCALE}}})?$"
)
"""Money and ratios travel as decimal strings: a JSON number would pass through a binary
float somewhere between producer and Silver and lose the exact cents."""
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
"""Events carry ISO dates only; the day/month ambiguity of CSV exports does not exist here."""
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
"""RFC 3339 with an explicit offset: a naive time would order corrections wrongly."""

_INT_RANGE = {
    FieldKind.INTEGER: (-(2**31), 2**31 - 1),
    FieldKind.BIGINT: (-(2**63), 2**63 - 1),
}


def _field_schema(kind: FieldKind, required: bool, description: str) -> dict[str, Any]:
    schema: dict[str, Any]
    if kind in _INT_RANGE:
        low, high = _INT_RANGE[kind]
        schema = {"type": "integer", "minimum": low, "maximum": high}
    elif kind is FieldKind.DECIMAL:
        schema = {"type": "string", "pattern": DECIMAL_PATTERN}
    elif kind is FieldKind.DATE:
        schema = {"type": "string", "pattern": DATE_PATTERN, "format": "date"}
    else:
        schema = {"type": "string"}
        if required:
            schema["minLength"] = 1
    if not required:
        schema["type"] = [schema["type"], "null"]
    schema["description"] = description
    return schema


@cache
def _schema_text() -> str:
    properties: dict[str, Any] = {
        f.name: _field_schema(f.kind, f.required, f.description) for f in FIELDS
    }
    properties[EVENT_ID] = {
        "type": "string",
        "minLength": 1,
        "maxLength": 128,
        "description": "Unique per emitted event; a re-delivery repeats it.",
    }
    properties[EVENT_TIME] = {
        "type": "string",
        "pattern": TIMESTAMP_PATTERN,
        "format": "date-time",
        "description": "When the line changed at the source; the latest one wins in Silver.",
    }
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://salespipe.dev/schemas/sales_event.json",
        "title": "sales_event",
        "description": "One sales line as an event, keyed by order_id on the topic.",
        "type": "object",
        "properties": properties,
        "required": [f.name for f in FIELDS if f.required] + list(ENVELOPE_FIELDS),
        "additionalProperties": False,
    }
    return json.dumps(schema)


def event_json_schema() -> dict[str, Any]:
    """The event's JSON Schema (a fresh copy: callers may edit it)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


class InvalidEventError(ValueError):
    """An event that does not match the event schema; its message says where."""


@cache
def _compiled() -> Callable[[Any], Any]:
    validate: Callable[[Any], Any] = fastjsonschema.compile(
        event_json_schema(), formats={"date": DATE_PATTERN, "date-time": TIMESTAMP_PATTERN}
    )
    return validate


def validate_event(event: Mapping[str, Any]) -> None:
    """Raise ``InvalidEventError`` unless ``event`` matches the event schema."""
    try:
        _compiled()(event)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise InvalidEventError(exc.message) from None
