"""The Silver rules rendered to SQL: one plan, any engine's ``Dialect``.

Input: a relation with the raw text of each canonical field as ``r_<field>`` (NULL
when absent), the file's ``_date_convention`` ('dmy', 'mdy' or NULL) and lineage
columns. Output: the same rows with trimmed raw text, the typed canonical columns and
the verdict: ``_reason`` (first check that fired, NULL for an accepted line),
``_reasons`` (all that fired), ``_field`` and ``_value`` (the offending raw value).
"""

from __future__ import annotations

from dataclasses import dataclass

from salespipe.contract.arrow import SQL_TYPES
from salespipe.contract.rules import (
    DATE_FORMATS,
    DAY_FIRST,
    ISO_DATE,
    MONTH_FIRST,
    VALUE_RULES,
    DateFormat,
    Reason,
)
from salespipe.contract.schema import DECIMAL_SCALE, FIELDS, Field, FieldKind
from salespipe.silver.dialect import Dialect, quote_literal

EXCESS_SCALE = "%." + "_" * (DECIMAL_SCALE + 1) + "%"
"""LIKE pattern of a number with more decimals than Silver keeps: rounding would
change it, so it is out of range (even when the extra digits are zeros)."""


@dataclass(frozen=True)
class Check:
    """One rendered check: when ``condition`` holds, ``reason`` applies to ``field``."""

    reason: Reason
    field: str
    condition: str


def raw(name: str) -> str:
    return f"r_{name}"


def _like(expr: str, pattern: str) -> str:
    return f"({expr} LIKE {quote_literal(pattern)})"


def _trimmed(r: str) -> str:
    """Surrounding spaces removed, empty as NULL; TRIM only runs where a space is."""
    padded = f"{r} LIKE ' %' OR {r} LIKE '% '"
    return f"CASE WHEN {padded} THEN NULLIF(TRIM({r}), '') ELSE NULLIF({r}, '') END"


def _swappable(r: str) -> str:
    """Day and month both <= 12: the value reads as a date either way round."""
    parts = [f"TRY_CAST(substr({r}, {start}, 2) AS INTEGER) <= 12" for start in (1, 4)]
    return f"({parts[0]} AND {parts[1]})"


def _as_iso_date(r: str, fmt: DateFormat) -> str:
    """``r`` in ``fmt`` rearranged to yyyy-MM-dd and cast: a cast is far cheaper than a
    pattern parser, and NULL for a date that does not exist (2023-02-29)."""
    year, month, day = fmt.starts
    iso = (
        f"substr({r}, {year}, 4) || '-' || substr({r}, {month}, 2) || '-' || substr({r}, {day}, 2)"
    )
    return f"TRY_CAST({iso} AS DATE)"


def typed_expression(f: Field) -> str:
    """The SQL that turns the trimmed raw text of ``f`` into its typed value (or NULL).

    Costly tests sit behind cheap ones (CASE and AND evaluate lazily), so an ordinary
    line pays for one cast per field and nothing more.
    """
    r = raw(f.name)
    sql_type = SQL_TYPES[f.kind]
    if f.kind is FieldKind.DECIMAL:
        return f"CASE WHEN NOT {_like(r, EXCESS_SCALE)} THEN TRY_CAST({r} AS {sql_type}) END"
    if f.kind in (FieldKind.INTEGER, FieldKind.BIGINT):
        return f"CASE WHEN NOT {_like(r, '%.%')} THEN TRY_CAST({r} AS {sql_type}) END"
    if f.kind is FieldKind.DATE:
        # A value in ISO shape is its own rearrangement: cast as it stands.
        branches = [f"WHEN {_like(r, ISO_DATE.shape)} THEN TRY_CAST({r} AS {sql_type})"]
        for fmt in (DAY_FIRST, MONTH_FIRST):
            trusted = f"(_date_convention = '{fmt.name}' OR NOT coalesce({_swappable(r)}, false))"
            branches.append(f"WHEN {_like(r, fmt.shape)} AND {trusted} THEN {_as_iso_date(r, fmt)}")
        return f"CASE {' '.join(branches)} END"
    if f.allowed:
        canonical = ", ".join(quote_literal(v) for v in f.allowed)
        whens = " ".join(
            f"WHEN {quote_literal(v.lower())} THEN {quote_literal(v)}" for v in f.allowed
        )
        return f"CASE WHEN {r} IN ({canonical}) THEN {r} ELSE CASE lower({r}) {whens} END END"
    return r


def checks() -> list[Check]:
    """Every check in firing order: field checks in contract order, then value rules.

    Conditions are portable SQL over the raw text and the typed columns; each starts
    with its cheapest test, so an accepted line is judged by a few NULL tests.
    """
    out: list[Check] = []
    for f in FIELDS:
        r, typed = raw(f.name), f.name
        unparsed = f"{typed} IS NULL AND {r} IS NOT NULL"
        if f.required:
            out.append(Check(Reason.MISSING_REQUIRED, f.name, f"{r} IS NULL"))
        if f.kind in (FieldKind.INTEGER, FieldKind.BIGINT, FieldKind.DECIMAL):
            not_number = f"TRY_CAST({r} AS DOUBLE) IS NULL"
            if f.kind is not FieldKind.DECIMAL:  # 1.5 units is not a count
                not_number += f" OR {_like(r, '%.%')}"
            out.append(Check(Reason.INVALID_NUMBER, f.name, f"{unparsed} AND ({not_number})"))
            out.append(Check(Reason.OUT_OF_RANGE, f.name, unparsed))
        elif f.kind is FieldKind.DATE:
            ambiguous = (
                f"(({_like(r, DAY_FIRST.shape)} AND _date_convention IS DISTINCT FROM"
                f" '{DAY_FIRST.name}') OR ({_like(r, MONTH_FIRST.shape)} AND"
                f" _date_convention IS DISTINCT FROM '{MONTH_FIRST.name}'))"
                f" AND coalesce({_swappable(r)}, false)"
            )
            out.append(Check(Reason.AMBIGUOUS_DATE, f.name, f"{unparsed} AND {ambiguous}"))
            out.append(Check(Reason.INVALID_DATE, f.name, f"{unparsed} AND NOT ({ambiguous})"))
        elif f.allowed:
            out.append(Check(Reason.UNKNOWN_VALUE, f.name, unparsed))
    out.extend(Check(rule.reason, rule.field, f"({rule.violated})") for rule in VALUE_RULES)
    return out


def validated_sql(dialect: Dialect, source: str, passthrough: tuple[str, ...]) -> str:
    """SELECT over ``source`` that adds typed columns and the verdict of every check.

    ``passthrough`` names the source columns carried along unchanged (lineage).
    """
    trimmed = ", ".join(f"{_trimmed(raw(f.name))} AS {raw(f.name)}" for f in FIELDS)
    typed = ", ".join(f"{typed_expression(f)} AS {f.name}" for f in FIELDS)
    rendered = checks()
    reason = " ".join(f"WHEN {c.condition} THEN '{c.reason.value}'" for c in rendered)
    field_of = " ".join(f"WHEN {c.condition} THEN '{c.field}'" for c in rendered)
    value_of = " ".join(f"WHEN {c.condition} THEN {raw(c.field)}" for c in rendered)
    reasons = dialect.non_null_list(
        [f"CASE WHEN {c.condition} THEN '{c.reason.value}' END" for c in rendered]
    )
    keep = ", ".join(passthrough)
    return f"""
WITH trimmed AS (SELECT {keep}, _date_convention, {trimmed} FROM {source}),
typed AS (SELECT *, {typed} FROM trimmed),
judged AS (SELECT *, CASE {reason} END AS _reason FROM typed)
SELECT *,
  CASE WHEN _reason IS NOT NULL THEN {reasons} END AS _reasons,
  CASE WHEN _reason IS NOT NULL THEN CASE {field_of} END END AS _field,
  CASE WHEN _reason IS NOT NULL THEN CASE {value_of} END END AS _value
FROM judged"""


def convention_sql(source: str, group: str) -> str:
    """Per ``group`` (a source file), the date format most of its dates use, or NULL
    on a tie: only values in that format are trusted when day and month could swap.
    Also counts the group's records (``_records``) and sums the sales values that
    read as numbers (``_sales``): the Bronze figures that Silver reconciles with."""
    counts = []
    for fmt in DATE_FORMATS:
        hits = " + ".join(
            f"CASE WHEN {_like(raw(f.name), fmt.shape)} THEN 1 ELSE 0 END"
            for f in FIELDS
            if f.kind is FieldKind.DATE
        )
        counts.append(f"SUM({hits}) AS {fmt.name}")
    counts.append(f"SUM(TRY_CAST({raw('sales')} AS {SQL_TYPES[FieldKind.DECIMAL]})) AS _sales")
    iso, dmy, mdy = (fmt.name for fmt in DATE_FORMATS)
    return f"""
SELECT {group},
  CASE WHEN {iso} > {dmy} AND {iso} > {mdy} THEN '{iso}'
       WHEN {dmy} > {iso} AND {dmy} > {mdy} THEN '{dmy}'
       WHEN {mdy} > {iso} AND {mdy} > {dmy} THEN '{mdy}' END AS _date_convention,
  _records, _sales
FROM (SELECT {group}, count(*) AS _records, {", ".join(counts)} FROM {source} GROUP BY {group})
  AS counts"""


def dedupe_order() -> str:
    """Latest wins: the later event time, then the later object, then the later line."""
    return "_event_time DESC, _source_object DESC, _source_position DESC"
