"""Kubernetes structural OpenAPI schemas from frozen dataclasses, and back.

Why our own ~150 lines instead of a JSON Schema library: a CRD needs a
*structural* schema (no ``$ref``, no ``anyOf`` for optionals, ``default`` on
properties, ``x-kubernetes-*`` extensions, CEL rules) and pydantic is not a
dependency of the operator. The models stay the one source: a field's type
gives the schema type, its dataclass default becomes the server-side
``default``, ``Annotated[..., Constraints(...)]`` adds bounds, patterns and CEL
rules, and the attribute docstring under a field (as in ``salespipe.settings``
and kopf's settings) becomes its ``description``.

Python names are snake_case; the API's are camelCase (``bronze_uri`` ->
``bronzeUri``). ``from_api`` turns a (validated, defaulted) API object back into
the models.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
import textwrap
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")


@dataclass(frozen=True)
class Rule:
    """One CEL validation rule (``x-kubernetes-validations`` entry)."""

    rule: str
    message: str
    reason: str | None = None
    """FieldValueInvalid (default), FieldValueForbidden, FieldValueRequired, ..."""

    def to_api(self) -> dict[str, str]:
        out = {"rule": self.rule, "message": self.message}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Constraints:
    """Schema keywords beyond the type, attached with ``Annotated[T, Constraints(...)]``."""

    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    format: str | None = None
    min_items: int | None = None
    max_items: int | None = None
    max_properties: int | None = None
    rules: tuple[Rule, ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()
    """Other keywords verbatim, e.g. ``("x-kubernetes-list-type", "set")``."""

    def to_api(self) -> dict[str, Any]:
        keys = {
            "minimum": self.minimum,
            "maximum": self.maximum,
            "minLength": self.min_length,
            "maxLength": self.max_length,
            "pattern": self.pattern,
            "format": self.format,
            "minItems": self.min_items,
            "maxItems": self.max_items,
            "maxProperties": self.max_properties,
        }
        out: dict[str, Any] = {k: v for k, v in keys.items() if v is not None}
        out.update({k: list(v) if isinstance(v, tuple) else v for k, v in self.extra})
        if self.rules:
            out["x-kubernetes-validations"] = [r.to_api() for r in self.rules]
        return out


RULES_ATTR = "__cel_rules__"
"""Class attribute holding object-level CEL rules (rules across several fields)."""


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings of a dataclass: the string literal right under a field."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def _split(tp: Any) -> tuple[Any, list[Constraints], bool]:
    """(bare type, constraints, optional) of a possibly Annotated / ``X | None`` hint."""
    constraints: list[Constraints] = []
    optional = False
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated:
            tp, *meta = get_args(tp)
            constraints.extend(m for m in meta if isinstance(m, Constraints))
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                raise TypeError(f"only `X | None` unions are supported, not {tp}")
            optional, tp = True, args[0]
        else:
            return tp, constraints, optional


def _dump_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_api(value)
    if isinstance(value, tuple | list):
        return [_dump_default(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump_default(v) for k, v in value.items()}
    return value


def type_schema(tp: Any) -> dict[str, Any]:
    """The structural schema of one type (without description or default)."""
    tp, constraints, _ = _split(tp)
    origin = get_origin(tp)
    schema: dict[str, Any]
    if dataclasses.is_dataclass(tp):
        schema = object_schema(tp)  # type: ignore[arg-type]
    elif origin is Literal:
        values = list(get_args(tp))
        schema = {"type": "string", "enum": values}
    elif origin in (list, tuple):
        schema = {"type": "array", "items": type_schema(get_args(tp)[0])}
    elif origin is dict:
        key, value = get_args(tp)
        if key is not str:
            raise TypeError(f"map keys must be str: {tp}")
        schema = {"type": "object", "additionalProperties": type_schema(value)}
    elif tp is bool:
        schema = {"type": "boolean"}
    elif tp is int:
        schema = {"type": "integer", "format": "int64"}
    elif tp is float:
        schema = {"type": "number"}
    elif tp is str:
        schema = {"type": "string"}
    else:
        raise TypeError(f"no schema for {tp!r}")
    for c in constraints:
        extra = c.to_api()
        rules = schema.pop("x-kubernetes-validations", []) + extra.pop(
            "x-kubernetes-validations", []
        )
        schema.update(extra)
        if rules:
            schema["x-kubernetes-validations"] = rules
    return schema


def object_schema(cls: type) -> dict[str, Any]:
    """An object's schema: properties with descriptions and server-side defaults."""
    hints = get_type_hints(cls, include_extras=True)
    docs = field_docs(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        prop = type_schema(hints[f.name])
        if f.name in docs:
            # The field's own docstring wins over its type's class docstring.
            prop = {
                "description": docs[f.name],
                **{k: v for k, v in prop.items() if k != "description"},
            }
        _, _, optional = _split(hints[f.name])
        if f.default is not dataclasses.MISSING:
            if f.default is not None:
                prop["default"] = _dump_default(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            prop["default"] = _dump_default(f.default_factory())
        elif not optional:
            required.append(camel(f.name))
        properties[camel(f.name)] = prop
    schema: dict[str, Any] = {"type": "object"}
    if cls.__doc__:
        schema["description"] = " ".join(inspect.cleandoc(cls.__doc__).split("\n\n")[0].split())
    schema["properties"] = properties
    if required:
        schema["required"] = required
    rules: tuple[Rule, ...] = getattr(cls, RULES_ATTR, ())
    if rules:
        schema["x-kubernetes-validations"] = [r.to_api() for r in rules]
    return schema


def to_api(obj: Any) -> Any:
    """A model instance as its API (camelCase) mapping; None fields are left out."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            camel(f.name): to_api(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if getattr(obj, f.name) is not None
        }
    if isinstance(obj, tuple | list):
        return [to_api(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_api(v) for k, v in obj.items()}
    return obj


def from_api(cls: type[T], data: Any) -> T:
    """A model from an API mapping (as the API server returns it, defaults filled)."""
    return typing.cast(T, _load(cls, data))


def _load(tp: Any, data: Any) -> Any:
    tp, _, _ = _split(tp)
    if data is None:
        return None
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        hints = get_type_hints(tp, include_extras=True)
        kwargs = {
            f.name: _load(hints[f.name], data[camel(f.name)])
            for f in dataclasses.fields(tp)
            if camel(f.name) in data
        }
        return tp(**kwargs)  # type: ignore[operator]
    if origin in (list, tuple):
        items = [_load(get_args(tp)[0], v) for v in data]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        return {k: _load(get_args(tp)[1], v) for k, v in data.items()}
    if tp is float:
        return float(data)
    return data
