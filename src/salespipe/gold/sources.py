"""dbt source definitions derived from the data contract.

The contract is the one place that spells out the 24 fields; dbt's source YAML is
generated from it (``python -m salespipe.gold.sources``) and a test fails when the
committed file drifts. Staging casts the columns from this file's ``data_type``
entries, so the models do not repeat the field list either.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa

from salespipe.contract.arrow import SQL_TYPES
from salespipe.contract.rules import Reason
from salespipe.contract.schema import FIELDS, LINE_KEY, Field
from salespipe.silver.tables import LINEAGE_FIELDS, VERDICT_FIELDS, column_description

_SQL_TYPES = {
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.list_(pa.string()): "VARCHAR[]",
}
"""dbt data types of the Silver-only columns' Arrow types."""


def _columns(fields: tuple[pa.Field, ...]) -> tuple[tuple[str, str, str], ...]:
    return tuple((f.name, _SQL_TYPES[f.type], column_description(f)) for f in fields)


LINEAGE = _columns(LINEAGE_FIELDS)
"""Silver's lineage columns, from ``salespipe.silver.tables``."""

SOURCES_YML = Path("models/staging/_silver__sources.yml")
"""Where the generated file lives, relative to the dbt project."""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


QUARANTINE_EXTRA = _columns(VERDICT_FIELDS)
"""What quarantine adds to the raw fields, from ``salespipe.silver.tables``."""


def _tests(f: Field, typed: bool) -> list[str]:
    """Column tests that restate the contract's promises about typed Silver (required
    fields are checked together, by the table's one not_null_columns test)."""
    if not typed:
        return []
    tests = []
    if f.allowed:
        values = ", ".join(_quote(v) for v in f.allowed)
        tests.append(f"- accepted_values: {{arguments: {{values: [{values}]}}}}")
    return tests


def render_sources_yml() -> str:
    """The YAML text of the ``silver`` source, from the contract."""
    out = [
        "# GENERATED from salespipe.contract by `python -m salespipe.gold.sources`; do not edit.",
        "version: 2",
        "",
        "sources:",
        "  - name: silver",
        "    description: The Silver Delta tables (one row per line key; quarantined lines).",
        "    # Snowflake: the Silver tables exposed over S3 (Iceberg/Delta Direct) in this schema.",
        "    database: \"{{ env_var('SALESPIPE_SILVER_DATABASE', target.database) }}\"",
        "    schema: \"{{ env_var('SALESPIPE_SILVER_SCHEMA', 'silver') }}\"",
        "    tables:",
    ]
    for table, description, typed in (
        ("sales", "Accepted order lines, deduplicated on the line key.", True),
        ("sales_quarantine", "Rejected lines as raw text, with the reasons.", False),
    ):
        out += [f"      - name: {table}", f"        description: {description}"]
        if typed:
            required = ", ".join(f.name for f in FIELDS if f.required)
            out += [
                "        data_tests:",
                "          - unique_combination_of_columns:",
                "              arguments:",
                f"                combination_of_columns: [{', '.join(LINE_KEY)}]",
                "          # one test for every required field: a test per column costs a",
                "          # dbt node each (tests/generic/not_null_columns.sql)",
                "          - not_null_columns:",
                f"              name: not_null_columns_silver_{table}",
                "              arguments:",
                f"                columns: [{required}]",
            ]
        out += [
            "        config:",
            "          meta:",
            "            # DuckDB reads the table through its Delta log, never its folder.",
            "            external_location: \"delta_scan('{{ var('silver_root', "
            f"env_var('SALESPIPE_SILVER_URI', '.salespipe/silver')) }}}}/{table}')\"",
            "            # Incremental builds test only the lines new since the last one.",
            "            test_scope: silver_lines  # macros/test_scope.sql",
            "        columns:",
        ]
        columns = [
            (f.name, SQL_TYPES[f.kind] if typed else "VARCHAR", f.description, _tests(f, typed))
            for f in FIELDS
        ]
        if not typed:
            reasons = ", ".join(_quote(r.value) for r in Reason)
            columns += [
                (
                    n,
                    t,
                    d,
                    ["- not_null", f"- accepted_values: {{arguments: {{values: [{reasons}]}}}}"]
                    if n == "_reason"
                    else [],
                )
                for n, t, d in QUARANTINE_EXTRA
            ]
        columns += [(n, t, d, []) for n, t, d in LINEAGE]
        for name, sql_type, text, tests in columns:
            out += [
                f"          - name: {name}",
                f"            data_type: {sql_type}",
                f"            description: {_quote(text)}",
            ]
            if tests:
                out += ["            data_tests:", *(f"              {t}" for t in tests)]
    out.append("")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    """Write (or with ``--check`` compare) the generated sources file."""
    project = Path(argv[1]) if len(argv) > 1 and not argv[1].startswith("-") else Path("dbt")
    target = project / SOURCES_YML
    text = render_sources_yml()
    if "--check" in argv:
        return 0 if target.read_text() == text else 1
    target.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
