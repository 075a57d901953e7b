"""The contract as Markdown: docs/contract.md is generated from here, never edited."""

from __future__ import annotations

from salespipe.contract.arrow import SQL_TYPES
from salespipe.contract.rules import DATE_FORMATS, MEANING, VALUE_RULES, FileReason, Reason
from salespipe.contract.schema import FIELDS, LINE_KEY


def contract_markdown() -> str:
    """The canonical fields, rules and reason codes as one Markdown page."""
    lines = [
        "# The sales line contract",
        "",
        "Generated from `salespipe.contract` by `python -m salespipe.contract.docs`;"
        " a test fails when this page is stale.",
        "",
        "| # | field | type | required | description |",
        "|---|---|---|---|---|",
    ]
    for number, f in enumerate(FIELDS, start=1):
        allowed = f" One of: {', '.join(f.allowed)}." if f.allowed else ""
        lines.append(
            f"| {number} | `{f.name}` | {SQL_TYPES[f.kind]} | {'yes' if f.required else 'no'}"
            f" | {f.description}{allowed} |"
        )
    lines += [
        "",
        f"Line key (default): `{' + '.join(LINE_KEY)}`.",
        "",
        "## Date formats",
        "",
        *(f"- `{fmt.pattern}` (`{fmt.name}`)" for fmt in DATE_FORMATS),
        "",
        "## Value rules",
        "",
        *(f"- `{r.reason.value}`: `{r.violated}`. {r.description}" for r in VALUE_RULES),
        "",
        "## Reason codes (lines)",
        "",
        *(f"- `{r.value}`: {MEANING[r]}" for r in Reason),
        "",
        "## Reason codes (whole files)",
        "",
        *(f"- `{r.value}`: {MEANING[r]}" for r in FileReason),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(contract_markdown(), end="")
