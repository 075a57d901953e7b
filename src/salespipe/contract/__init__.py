"""The data contract: one home for the canonical schema, its rules and derived schemas."""

from salespipe.contract.schema import (
    FIELDS,
    LINE_KEY,
    Field,
    FieldKind,
    field,
    field_names,
    normalize_header,
    required_names,
)

__all__ = [
    "FIELDS",
    "LINE_KEY",
    "Field",
    "FieldKind",
    "field",
    "field_names",
    "normalize_header",
    "required_names",
]
