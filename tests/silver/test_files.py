"""Whole files: header spellings, extra and missing columns, malformed lines and the
line numbers that errors name."""

from __future__ import annotations

from pathlib import Path

from salespipe.contract.schema import field_names
from salespipe.generate.writer import title_case
from salespipe.pipeline.status import layer_status
from salespipe.settings import Settings
from salespipe.silver.batch import run_silver
from tests.support import GOOD, csv_text, drop, line, quarantine, sales


def test_title_case_reordered_headers_with_extras_read_like_snake_case(
    settings: Settings, tmp_path: Path
) -> None:
    header = [title_case(n) for n in reversed(field_names())] + ["Export Batch"]
    key = drop(settings, tmp_path, "title.csv", csv_text([line(1), line(2)], header))
    result = run_silver(settings)
    assert [r["row_id"] for r in sales(settings)] == [1, 2]
    assert sales(settings)[0]["customer_name"] == GOOD["customer_name"]
    assert result.extra_columns == {key: ["Export Batch"]}


def test_a_file_missing_required_columns_is_rejected_whole_and_stays_in_bronze(
    settings: Settings, tmp_path: Path
) -> None:
    header = [n for n in field_names() if n not in ("sales", "customer_id")]
    bad = drop(settings, tmp_path, "bad.csv", csv_text([line(1)], header))
    drop(settings, tmp_path, "good.csv", csv_text([line(2)]))

    result = run_silver(settings)

    rejected = [e for e in result.files if e.status == "rejected"]
    assert [e.key for e in rejected] == [bad]
    message = rejected[0].error or ""
    assert message.startswith(settings.bronze.uri(bad) + ": line 1: missing_columns:")
    assert message.endswith("missing required columns: customer_id, sales")
    assert [r["row_id"] for r in sales(settings)] == [2]
    assert quarantine(settings) == []
    assert settings.bronze.exists(bad)
    status = layer_status(settings)
    assert status["bronze"]["rejected_files"] == 1
    assert status["bronze"]["pending_files"] == 0
    assert run_silver(settings).committed is False  # recorded: not retried


def test_a_file_missing_an_optional_column_is_read_with_nulls(
    settings: Settings, tmp_path: Path
) -> None:
    header = [n for n in field_names() if n != "postal_code"]
    drop(settings, tmp_path, "no_zip.csv", csv_text([line(1)], header))
    run_silver(settings)
    assert sales(settings)[0]["postal_code"] is None


def test_malformed_lines_are_quarantined_with_their_text_and_later_lines_keep_their_numbers(
    settings: Settings, tmp_path: Path
) -> None:
    text = csv_text([line(1), line(2), line(3), line(4)])
    lines = text.splitlines()
    lines[2] = lines[2].rsplit(",", 3)[0]  # line 3: three fields short
    lines.insert(4, lines[1] + ",extra")  # line 5: one field too many
    key = drop(settings, tmp_path, "malformed.csv", "\n".join(lines) + "\n")

    run_silver(settings)

    rejected = quarantine(settings)
    assert [(r["_reason"], r["_source_position"]) for r in rejected] == [
        ("malformed_line", 3),
        ("malformed_line", 5),
    ]
    assert rejected[0]["_raw_line"] == lines[2]
    assert "Expected Number of Columns" in (rejected[0]["_detail"] or "")
    positions = {r["row_id"]: r["_source_position"] for r in sales(settings)}
    assert positions == {1: 2, 3: 4, 4: 6}
    assert all(r["_source_object"] == key for r in rejected)


def test_an_unterminated_quote_quarantines_the_rest_of_the_file_as_one_record(
    settings: Settings, tmp_path: Path
) -> None:
    text = csv_text([line(1)]) + 'US-1,"never closed\n' + csv_text([line(2)]).split("\n", 1)[1]
    drop(settings, tmp_path, "quote.csv", text)
    run_silver(settings)
    (rejected,) = quarantine(settings)
    assert (rejected["_reason"], rejected["_source_position"]) == ("malformed_line", 3)
    assert [r["row_id"] for r in sales(settings)] == [1]


def test_quoted_newlines_commas_and_doubled_quotes_survive(
    settings: Settings, tmp_path: Path
) -> None:
    name = 'Eldon 12" Desk, "Executive"\nsecond line'
    drop(settings, tmp_path, "quotes.csv", csv_text([line(1, product_name=name), line(2)]))
    run_silver(settings)
    rows = sales(settings)
    assert rows[0]["product_name"] == name
    assert rows[1]["_source_position"] == 3  # records are counted, not physical lines
