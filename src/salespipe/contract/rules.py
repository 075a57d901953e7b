"""The Silver rules, declared once as data so that every engine runs the same ones.

A line is accepted only when no check fires. Checks come in a fixed order, and the
first one that fires is the line's primary reason (what quarantine counts by); all of
them are kept. Field checks (missing, unparseable, out of range, unknown value) are
derived from each field's kind; value rules are portable SQL predicates over the
typed columns, written in the subset that DuckDB and Spark SQL read alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Stable reason codes: quarantine rows, status figures and alerts key on these."""

    MALFORMED_LINE = "malformed_line"
    MISSING_REQUIRED = "missing_required"
    INVALID_NUMBER = "invalid_number"
    OUT_OF_RANGE = "out_of_range"
    INVALID_DATE = "invalid_date"
    AMBIGUOUS_DATE = "ambiguous_date"
    UNKNOWN_VALUE = "unknown_value"
    SHIP_BEFORE_ORDER = "ship_before_order"
    NON_POSITIVE_QUANTITY = "non_positive_quantity"
    NEGATIVE_SALES = "negative_sales"
    DISCOUNT_OUT_OF_RANGE = "discount_out_of_range"


class FileReason(StrEnum):
    """Why a whole Bronze file was rejected; nothing of such a file reaches Silver."""

    MISSING_COLUMNS = "missing_columns"
    UNREADABLE = "unreadable"


MEANING: dict[Reason | FileReason, str] = {
    Reason.MALFORMED_LINE: "Wrong field count, broken quoting or invalid encoding: no fields.",
    Reason.MISSING_REQUIRED: "A required field is absent or empty.",
    Reason.INVALID_NUMBER: "A numeric field holds something that is not a number"
    " (or a fraction where a count is due).",
    Reason.OUT_OF_RANGE: "A number that does not fit its type: too large, or more than"
    " 4 decimal places.",
    Reason.INVALID_DATE: "Not a date in an accepted format, or not a real calendar date.",
    Reason.AMBIGUOUS_DATE: "Day and month could be swapped and the file's own format does"
    " not settle it.",
    Reason.UNKNOWN_VALUE: "An enumerated field holds a value outside its canonical list.",
    Reason.SHIP_BEFORE_ORDER: "The ship date is before the order date.",
    Reason.NON_POSITIVE_QUANTITY: "The quantity is zero or negative.",
    Reason.NEGATIVE_SALES: "The sales amount is negative.",
    Reason.DISCOUNT_OUT_OF_RANGE: "The discount is outside [0, 1].",
    FileReason.MISSING_COLUMNS: "The header lacks one or more required columns.",
    FileReason.UNREADABLE: "No header line, or the header is not UTF-8.",
}
"""What each code means, for docs and messages; every code has an entry."""


@dataclass(frozen=True)
class ValueRule:
    """A business rule over typed values. It fires only where ``violated`` is TRUE,
    so a NULL input (already reported by a field check) never fires it twice."""

    reason: Reason
    field: str
    """The field whose raw value is quoted as the offending value."""
    violated: str
    """Portable SQL predicate over typed canonical columns."""
    description: str


VALUE_RULES: tuple[ValueRule, ...] = (
    ValueRule(
        Reason.SHIP_BEFORE_ORDER,
        "ship_date",
        "ship_date < order_date",
        "A line cannot ship before it was ordered.",
    ),
    ValueRule(
        Reason.NON_POSITIVE_QUANTITY,
        "quantity",
        "quantity <= 0",
        "A line sells at least one unit; returns are not sales lines.",
    ),
    ValueRule(Reason.NEGATIVE_SALES, "sales", "sales < 0", "Revenue is never negative."),
    ValueRule(
        Reason.DISCOUNT_OUT_OF_RANGE,
        "discount",
        "discount < 0 OR discount > 1",
        "A discount is a ratio between 0 and 1.",
    ),
)
"""Profit is deliberately absent: a line may sell at a loss."""


@dataclass(frozen=True)
class DateFormat:
    """An accepted date layout. Values are rearranged to ISO and cast, which every
    engine does alike, rather than parsed with engine-specific patterns."""

    name: str
    shape: str
    """SQL LIKE pattern for values in this layout: cheaper than a regular expression."""
    pattern: str
    """The layout as people (and Java's DateTimeFormatter) write it."""
    starts: tuple[int, int, int]
    """1-based positions where year, month and day begin (the layouts are fixed-width)."""


ISO_DATE = DateFormat("iso", "____-__-__", "yyyy-MM-dd", (1, 6, 9))
DAY_FIRST = DateFormat("dmy", "__-__-____", "dd-MM-yyyy", (7, 4, 1))
MONTH_FIRST = DateFormat("mdy", "__/__/____", "MM/dd/yyyy", (7, 1, 4))
DATE_FORMATS: tuple[DateFormat, ...] = (ISO_DATE, DAY_FIRST, MONTH_FIRST)
"""yyyy-MM-dd is unambiguous. dd-MM-yyyy and MM/dd/yyyy differ only by separator, and
exporters are known to swap conventions without changing separators, so a value in the
other convention with day and month both <= 12 is ambiguous unless the file's dominant
convention is its own: the file is detected per file, the value is never guessed."""
