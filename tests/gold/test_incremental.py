"""An incremental Gold run after new Silver data rewrites exactly the facts and SCD2
rows that changed, and leaves every other fact row physically untouched."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from salespipe.gold import GoldResult, build_gold, gold_status
from salespipe.gold.runner import duckdb_path
from salespipe.settings import Settings

from .conftest import copy_data_dir, merge_into_silver
from .silver_fixture import SALES_SCHEMA

LATER = datetime(2025, 7, 1, tzinfo=UTC)
SENTINEL = "1999-09-09 09:09:09+00"
"""An _event_time no line has: rows still carrying it were not rewritten."""


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> set[tuple[object, ...]]:
    return set(con.execute(sql).fetchall())


@pytest.fixture(scope="module")
def incremental(silver_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    settings = copy_data_dir(silver_dir, tmp_path_factory.mktemp("incr") / "data")
    first = build_gold(settings, full_refresh=True)
    assert first.success, first.summary()
    gold = str(duckdb_path(settings))
    silver_uri = settings.silver.uri("sales")
    silver = DeltaTable(silver_uri).to_pyarrow_table()

    con = duckdb.connect(gold)
    con.register("silver", silver)
    before_products = _rows(con, "SELECT * FROM gold.dim_product")
    before_stores = _rows(con, "SELECT * FROM gold.dim_store")
    before_days = _rows(con, "SELECT * FROM gold.dim_date")
    # Lines that are their day's only version of product and store, safe to copy.
    plain = con.execute(
        """SELECT order_id, row_id FROM silver
           QUALIFY count(DISTINCT product_name) OVER (PARTITION BY product_id, order_date) = 1
               AND count(DISTINCT region) OVER (PARTITION BY country, state, city, postal_code,
                                                 order_date) = 1
           ORDER BY order_id, row_id LIMIT 31"""
    ).fetchall()
    copies, corrected = plain[:30], plain[30]
    # P: a product renamed on a new line after everything else (a new current version).
    renamed_id, last_day = con.execute(
        "SELECT product_id, max(order_date) FROM silver GROUP BY product_id ORDER BY 1 LIMIT 1"
    ).fetchone()  # type: ignore[misc]
    # the day after the date spine's last (its last ship date): a day dim_date lacks
    new_day = con.execute("SELECT max(date_day) + 1 FROM gold.dim_date").fetchone()[0]  # type: ignore[index]
    # Q: a product whose second version gets a late line dated before it began, with
    # the new attributes, which moves (and so re-keys) that version.
    split = con.execute(
        """SELECT v.product_id, v.product_key, v.valid_from FROM gold.dim_product v
           WHERE v.version_number = 2 AND v.product_id <> ?
             AND v.valid_from - 2 > (SELECT max(order_date) FROM silver s
                                     WHERE s.product_id = v.product_id
                                       AND s.order_date < v.valid_from)
           ORDER BY 1 LIMIT 1""",
        [renamed_id],
    ).fetchone()
    assert split is not None, "the generated data has no product with a movable version"
    split_id, split_old_key, split_from = split
    con.execute(f"UPDATE gold.fact_sales SET _event_time = TIMESTAMPTZ '{SENTINEL}'")
    con.close()

    def pick(keys: list[tuple[str, int]]) -> pa.Table:
        mask = pa.array(
            [
                (o, r) in set(keys)
                for o, r in zip(
                    silver["order_id"].to_pylist(), silver["row_id"].to_pylist(), strict=True
                )
            ]
        )
        return silver.filter(mask)

    new = pick(copies).to_pylist()
    for n, row in enumerate(new):
        row["order_id"] = f"NEW-{row['order_id']}"
        row["_event_time"] = LATER + timedelta(seconds=n)
    fix = pick([corrected]).to_pylist()[0]
    fix["quantity"] += 1
    fix["sales"] += 1
    fix["_event_time"] = LATER
    template = pick([copies[0]]).to_pylist()[0]
    rename = dict(
        template,
        order_id="NEW-RENAME",
        row_id=1,
        product_id=renamed_id,
        product_name="Renamed In Test",
        order_date=new_day,
        ship_date=None,
        _event_time=LATER,
    )
    q_attrs = (
        duckdb.connect(gold, read_only=True)
        .execute(
            "SELECT category, sub_category, product_name FROM gold.dim_product"
            " WHERE product_key = ?",
            [split_old_key],
        )
        .fetchone()
    )
    assert q_attrs is not None
    late = dict(
        template,
        order_id="NEW-LATE",
        row_id=1,
        product_id=split_id,
        category=q_attrs[0],
        sub_category=q_attrs[1],
        product_name=q_attrs[2],
        order_date=split_from - timedelta(days=1),
        ship_date=None,
        _event_time=LATER,
    )
    changes = [*new, fix, rename, late]
    for row in changes:
        row["_ingested_at"], row["_batch_id"] = LATER, "b2"
    for row in new:
        # same second as the first run (Silver stamps to the second): only the unseen
        # batch id tells these lines are new
        row["_ingested_at"] = silver["_ingested_at"][0].as_py()
    batch = pa.Table.from_pylist(changes, schema=SALES_SCHEMA)
    (
        DeltaTable(silver_uri)
        .merge(batch, "t.order_id = s.order_id AND t.row_id = s.row_id", "s", "t")
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .execute()
    )
    second = build_gold(settings)
    con = duckdb.connect(gold, read_only=True)
    result = {
        "settings": settings,
        "first": first,
        "second": second,
        "silver_rows": DeltaTable(silver_uri).to_pyarrow_table().num_rows,
        "rewritten": _rows(
            con,
            "SELECT order_id, row_id FROM gold.fact_sales"
            f" WHERE _event_time <> TIMESTAMPTZ '{SENTINEL}'",
        ),
        "old_split_facts": _rows(
            con,
            "SELECT order_id, row_id FROM gold.fact_sales"
            f" WHERE _event_time = TIMESTAMPTZ '{SENTINEL}' AND product_key = '{split_old_key}'",
        ),
        "expected": {(r["order_id"], r["row_id"]) for r in changes},
        "split_id": split_id,
        "renamed_id": renamed_id,
        "last_day": last_day,
        "products_gone": before_products - _rows(con, "SELECT * FROM gold.dim_product"),
        "products_new": _rows(con, "SELECT * FROM gold.dim_product") - before_products,
        "stores_changed": before_stores ^ _rows(con, "SELECT * FROM gold.dim_store"),
        "days_gone": before_days - _rows(con, "SELECT * FROM gold.dim_date"),
        "days_new": {r[0] for r in _rows(con, "SELECT date_day FROM gold.dim_date")}
        - {row[1] for row in before_days},
        "new_day": new_day,
        "fixed": con.execute(
            "SELECT quantity, sales FROM gold.fact_sales WHERE order_id = ? AND row_id = ?",
            [fix["order_id"], fix["row_id"]],
        ).fetchone(),
        "fix": (fix["quantity"], fix["sales"]),
        "rename_version": con.execute(
            "SELECT p.product_name, p.is_current FROM gold.fact_sales f"
            " JOIN gold.dim_product p USING (product_key) WHERE f.order_id = 'NEW-RENAME'"
        ).fetchone(),
    }
    con.close()
    return result


def test_incremental_build_passes_every_test(incremental: dict[str, object]) -> None:
    second = incremental["second"]
    assert second.success, second.summary()  # type: ignore[attr-defined]


def test_unit_tests_rerun_only_when_the_code_changed(incremental: dict[str, object]) -> None:
    """The full refresh ran the dbt unit tests; the incremental build, on the same
    code, did not need to (they check SQL logic on fixed rows, not data)."""
    first, second = incremental["first"], incremental["second"]
    assert isinstance(first, GoldResult) and isinstance(second, GoldResult)
    assert first.left_out == ()
    assert "unit tests" in second.left_out
    assert "unit tests, views, code_only tests: current for this code" in second.summary()


def test_only_changed_lines_are_rewritten(incremental: dict[str, object]) -> None:
    """New and corrected lines are merged; so are the facts whose product version was
    re-keyed by the late line; every other fact row keeps its sentinel."""
    rewritten = incremental["rewritten"]
    expected = incremental["expected"]
    assert isinstance(rewritten, set) and isinstance(expected, set)
    split_facts = rewritten - expected
    assert expected <= rewritten
    assert incremental["old_split_facts"] == set()  # no fact kept the stale key
    # the extra rewrites are exactly the facts of the re-keyed version of Q
    settings = incremental["settings"]
    assert isinstance(settings, Settings)
    con = duckdb.connect(str(duckdb_path(settings)), read_only=True)
    q_version = _rows(
        con,
        """SELECT f.order_id, f.row_id FROM gold.fact_sales f JOIN gold.dim_product p
           USING (product_key) WHERE p.product_id = ? AND p.version_number = 2""".replace(
            "?", f"'{incremental['split_id']}'"
        ),
    )
    con.close()
    assert split_facts == q_version - expected


def test_corrections_and_counts_match_silver(incremental: dict[str, object]) -> None:
    assert incremental["fixed"] == incremental["fix"]
    settings = incremental["settings"]
    assert isinstance(settings, Settings)
    assert gold_status(settings)["fact_rows"] == incremental["silver_rows"]


def test_exactly_the_changed_scd2_rows_change(incremental: dict[str, object]) -> None:
    gone, new = incremental["products_gone"], incremental["products_new"]
    assert isinstance(gone, set) and isinstance(new, set)
    # P: its current version closed (one row out, its closed form and the new one in);
    # Q: version 1 shortened and version 2 moved (two rows out, two in).
    assert {row[1] for row in gone} == {incremental["renamed_id"], incremental["split_id"]}
    assert {row[1] for row in new} == {incremental["renamed_id"], incremental["split_id"]}
    assert (len(gone), len(new)) == (3, 4)
    assert incremental["stores_changed"] == set()
    assert incremental["rename_version"] == ("Renamed In Test", True)


def test_the_date_spine_grows_by_exactly_the_new_day(incremental: dict[str, object]) -> None:
    """The renamed product's line is dated the day after the spine's last: dim_date
    appends that day and keeps every row it had."""
    assert isinstance(incremental["new_day"], date)
    assert incremental["days_gone"] == set()
    assert incremental["days_new"] == {incremental["new_day"]}


SCD2_COLUMNS = (
    "product_id, version_number, category, sub_category, product_name, first_seen_on,"
    " valid_from, valid_to, is_current"
)


def test_scd2_rewrites_only_the_keys_whose_versions_change(
    silver_dir: Path, tmp_path: Path
) -> None:
    """New lines that repeat what the versions say leave every SCD2 row in place (SCD2
    rows carry a sentinel attribute_hash until rewritten). A rename replaces its
    product's rows; so does a correction that moves away the only line of the day a
    version started on; a product whose only line moves away is gone. The result
    equals a full refresh."""
    settings = copy_data_dir(silver_dir, tmp_path / "data")
    assert build_gold(settings, full_refresh=True).success
    gold = str(duckdb_path(settings))
    table = DeltaTable(settings.silver.uri("sales")).to_pyarrow_table()
    con = duckdb.connect(gold)
    con.register("silver", table)
    for name in ("int_product_scd2", "int_store_scd2"):
        con.execute(f"UPDATE staging.{name} SET attribute_hash = 'SENTINEL'")
    (last_day,) = con.execute("SELECT max(date_day) FROM gold.dim_date").fetchone()  # type: ignore[misc]
    # M: a product whose second (or later) version began on a day it sold one line
    moved = con.execute(
        """SELECT s.order_id, s.row_id, s.product_id FROM staging.int_product_scd2 v
           JOIN silver s ON s.product_id = v.product_id AND s.order_date = v.first_seen_on
           WHERE v.version_number >= 2
           QUALIFY count(*) OVER (PARTITION BY s.product_id, s.order_date) = 1
           ORDER BY 1, 2 LIMIT 1"""
    ).fetchone()
    # G: a product sold on one line only
    gone = con.execute(
        """SELECT order_id, row_id, product_id FROM silver
           QUALIFY count(*) OVER (PARTITION BY product_id) = 1 ORDER BY 1, 2 LIMIT 1"""
    ).fetchone()
    con.close()
    assert moved is not None, "the generated data has no version started by one line"
    assert gone is not None and gone[2] != moved[2], "no product with a single line"
    lines = table.to_pylist()
    copies = [row for row in lines if row["product_id"] not in (moved[2], gone[2])][:6]
    renamed = copies[0]["product_id"]
    corrections = [r for r in lines if (r["order_id"], r["row_id"]) in (moved[:2], gone[:2])]
    stamp = datetime(2026, 3, 1, tzinfo=UTC)
    for n, row in enumerate(copies):  # their products' and stores' values as seen
        row["order_id"], row["_event_time"] = f"SCD2-{n}", stamp + timedelta(seconds=n)
    copies[0].update(product_name="Renamed Again", order_date=last_day, ship_date=None)
    # M's and G's lines move to the renamed product (a corrected product id)
    for row in corrections:
        row.update(product_id=renamed, _event_time=stamp)
    for row in [*copies, *corrections]:
        row["_ingested_at"], row["_batch_id"] = stamp, "batch-scd2"
    merge_into_silver(settings, [*copies, *corrections])

    result = build_gold(settings)
    assert result.success, result.summary()
    con = duckdb.connect(gold, read_only=True)
    rewritten = _rows(
        con, "SELECT product_id FROM staging.int_product_scd2 WHERE attribute_hash <> 'SENTINEL'"
    )
    stores = _rows(
        con, "SELECT store_id FROM staging.int_store_scd2 WHERE attribute_hash <> 'SENTINEL'"
    )
    incremental = _rows(con, f"SELECT {SCD2_COLUMNS} FROM staging.int_product_scd2")
    current = con.execute(
        "SELECT product_name FROM staging.int_product_scd2 WHERE product_id = ? AND is_current",
        [renamed],
    ).fetchone()
    con.close()
    assert rewritten == {(renamed,), (moved[2],)}  # G's rows are gone, not rewritten
    assert gone[2] not in {row[0] for row in incremental}
    assert stores == set()
    assert current == ("Renamed Again",)

    assert build_gold(settings, full_refresh=True).success
    con = duckdb.connect(gold, read_only=True)
    assert incremental == _rows(con, f"SELECT {SCD2_COLUMNS} FROM staging.int_product_scd2")
    con.close()
