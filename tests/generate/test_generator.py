"""Sample data: realistic, deterministic for a seed, with the defects asked for."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from salespipe.contract.schema import field_names, normalize_header
from salespipe.generate import generate


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    one = generate(3_000, 9, tmp_path / "one", files=3, events=50)
    two = generate(3_000, 9, tmp_path / "two", files=3, events=50)
    for a, b in zip(one.files, two.files, strict=True):
        assert Path(a).read_bytes() == Path(b).read_bytes()


def test_files_cover_every_header_style_and_canonical_field(tmp_path: Path) -> None:
    report = generate(5_000, 1, tmp_path, files=5)
    headers = []
    for name in report.files:
        with Path(name).open(newline="") as handle:
            headers.append(next(csv.reader(handle)))
    assert any("Row ID" in h for h in headers)
    assert any("row_id" in h for h in headers)
    for header in headers:
        assert set(field_names()) <= {normalize_header(h) for h in header}
    assert any(h[:24] != field_names() and "row_id" in h for h in headers)  # reordered


def test_defects_come_at_the_requested_rate(tmp_path: Path) -> None:
    report = generate(20_000, 3, tmp_path, defect_rate=0.1)
    total = sum(report.defects.values())
    assert 1_600 < total < 2_400
    assert report.lines == 20_000
    assert json.loads((tmp_path / "manifest.json").read_text())["lines"] == 20_000


def test_no_defects_at_rate_zero_and_ship_dates_follow_order_dates(tmp_path: Path) -> None:
    report = generate(2_000, 4, tmp_path, defect_rate=0.0, files=1)
    assert not report.defects
    with Path(report.files[0]).open(newline="") as handle:
        for row in csv.DictReader(handle):
            assert row["Ship Date"] == "" or row["Ship Date"] >= row["Order Date"]
            assert float(row["Sales"]) >= 0 and int(row["Quantity"]) >= 1


def test_events_carry_the_contract_fields_plus_id_and_time(tmp_path: Path) -> None:
    report = generate(500, 2, tmp_path, defect_rate=0.0, events=20)
    lines = (tmp_path / "events" / "sales_events_2.jsonl").read_text().splitlines()
    assert report.events == len(lines) == 20
    event = json.loads(lines[0])
    assert set(event) == {*field_names(), "event_id", "event_time"}
    assert isinstance(event["sales"], str)  # decimals travel as strings: exact
