"""The Gold project on the snowflake adapter against fakesnow (in-process mode).

fakesnow translates Snowflake SQL to DuckDB, so this proves the Snowflake dialect
paths of our SQL (dispatch macros, MERGE for the incremental fact, delete+insert for
the SCD2 histories, QUALIFY, date functions, key-pair auth plumbing) render and run;
not Snowflake's optimiser, clustering, Iceberg/Delta Direct sources, or grants.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import fakesnow
import pytest
import snowflake.connector
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dbt.cli.main import dbtRunner

PROJECT = Path(__file__).resolve().parents[2] / "dbt"
PASSPHRASE = "test-only-passphrase"
COLUMNS = """
    row_id BIGINT, order_id VARCHAR, order_date DATE, ship_date DATE, ship_mode VARCHAR,
    customer_id VARCHAR, customer_name VARCHAR, segment VARCHAR, city VARCHAR,
    state VARCHAR, country VARCHAR, postal_code VARCHAR, market VARCHAR, region VARCHAR,
    product_id VARCHAR, category VARCHAR, sub_category VARCHAR, product_name VARCHAR,
    sales NUMBER(18,4), quantity INTEGER, discount NUMBER(18,4), profit NUMBER(18,4),
    shipping_cost NUMBER(18,4), order_priority VARCHAR,
    _ingested_at TIMESTAMP_TZ, _source_system VARCHAR, _source_object VARCHAR,
    _source_position BIGINT, _batch_id VARCHAR, _event_time TIMESTAMP_TZ
"""

_NAMES = [c.split()[0] for c in COLUMNS.replace("(18,4)", "").split(",")]
QUARANTINE = ", ".join(
    [f"{n} VARCHAR" for n in _NAMES if not n.startswith("_")]
    + ["_reason VARCHAR", "_reasons ARRAY", "_field VARCHAR", "_value VARCHAR"]
    + ["_raw_line VARCHAR", "_ingested_at TIMESTAMP_TZ", "_source_system VARCHAR"]
    + ["_source_object VARCHAR", "_source_position BIGINT", "_batch_id VARCHAR"]
    + ["_event_time TIMESTAMP_TZ"]
)


def _line(
    n: int, day: date, product_name: str, region: str, *, at: datetime, ship: date | None
) -> tuple[Any, ...]:
    return (
        n,
        f"EU-{n}",
        day,
        ship,
        "Standard Class",
        "C1",
        "Claire Gute",
        "Consumer",
        "Paris",
        "IDF",
        "France",
        None,
        "EU",
        region,
        "P1",
        "Furniture",
        "Chairs",
        product_name,
        Decimal("10.1234") * n,
        n,
        Decimal("0.1000"),
        Decimal("-1.0001"),
        Decimal("0.5000"),
        "High",
        at,
        "batch" if n % 2 else "streaming",
        "f.csv",
        n,
        _run(at),
        at,
    )


def _run(at: datetime) -> str:
    """The Silver run (_batch_id) that stamps lines ``at``: one id per run, as Silver's."""
    return f"run-{at:%Y%m%dT%H%M%S}"


def _insert(rows: list[tuple[Any, ...]]) -> None:
    with snowflake.connector.connect(database="LAKE", schema="SILVER") as conn:
        cur = conn.cursor()
        marks = ", ".join(["%s"] * len(rows[0]))
        cur.executemany(f"insert into sales values ({marks})", rows)


@pytest.fixture
def snowflake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path = tmp_path / "rsa_key.p8"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSPHRASE.encode()),
        )
    )
    env = {
        "SNOWFLAKE_ACCOUNT": "fake-account",
        "SNOWFLAKE_USER": "SVC_DBT",
        "SNOWFLAKE_ROLE": "TRANSFORMER",
        "SNOWFLAKE_WAREHOUSE": "TRANSFORMING",
        "SNOWFLAKE_DATABASE": "SALES",
        "SNOWFLAKE_PRIVATE_KEY_PATH": str(key_path),
        "DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": PASSPHRASE,
        "SALESPIPE_SILVER_DATABASE": "LAKE",
        "SALESPIPE_SILVER_SCHEMA": "SILVER",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with fakesnow.patch():
        with snowflake.connector.connect() as conn:
            cur = conn.cursor()
            cur.execute("create database LAKE")
            cur.execute("create database SALES")
            cur.execute("create schema LAKE.SILVER")
            cur.execute(f"create table LAKE.SILVER.sales ({COLUMNS})")
            cur.execute(f"create table LAKE.SILVER.sales_quarantine ({QUARANTINE})")
        yield tmp_path


def _build(tmp_path: Path, *select: str) -> Any:
    args = [
        "build",
        "--project-dir",
        str(PROJECT),
        "--profiles-dir",
        str(PROJECT),
        "--target",
        "fakesnow",
        "--target-path",
        str(tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
        "--threads",
        "1",
        # dbt unit tests read their fixture's columns back from a session temp table,
        # which fakesnow does not describe (it reports no columns); they run on DuckDB.
        "--exclude",
        "resource_type:unit_test",
    ]
    if select:
        args += ["--select", *select]
    result = dbtRunner().invoke(args)
    failed = [
        (r.node.name, str(r.status), r.message)
        for r in (result.result or [])
        if str(r.status).lower() not in ("success", "pass")
    ]
    assert result.success and not failed, (result.exception, failed)
    return result


def _query(sql: str) -> list[tuple[Any, ...]]:
    with snowflake.connector.connect(database="SALES") as conn:
        return list(conn.cursor().execute(sql).fetchall())


def test_gold_builds_and_merges_on_fakesnow(snowflake_env: Path) -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    _insert(
        [
            _line(1, date(2023, 1, 2), "Hon Chair", "Central", at=t0, ship=date(2023, 1, 5)),
            _line(2, date(2023, 3, 1), "Hon Chair", "Central", at=t0, ship=None),
            _line(
                3,
                date(2023, 6, 1),
                "Hon Chair, Refreshed",
                "Central Metro",
                at=t0,
                ship=date(2023, 6, 2),
            ),
        ]
    )
    _build(snowflake_env)
    facts = _query(
        "select f.order_id, p.product_name, s.region, f.ship_date_key, f.sales "
        "from gold.fact_sales f join gold.dim_product p on f.product_key = p.product_key "
        "join gold.dim_store s on f.store_key = s.store_key order by f.order_id"
    )
    assert facts == [
        ("EU-1", "Hon Chair", "Central", 20230105, Decimal("10.1234")),
        ("EU-2", "Hon Chair", "Central", None, Decimal("20.2468")),
        ("EU-3", "Hon Chair, Refreshed", "Central Metro", 20230602, Decimal("30.3702")),
    ]
    assert _query(
        "select date_key, day_of_week, day_name, iso_week, is_weekend from gold.dim_date "
        "where date_day = '2023-01-02'"
    ) == [(20230102, 1, "Monday", 1, False)]

    # incremental: a correction (same line key, later ingestion) and a new line merge in
    t1 = datetime(2025, 2, 1, tzinfo=UTC)
    with snowflake.connector.connect(database="LAKE", schema="SILVER") as conn:
        conn.cursor().execute(
            "update sales set quantity = 7, sales = 99.9900, _ingested_at = %s, _batch_id = %s"
            " where row_id = 2",
            (t1, _run(t1)),
        )
    _insert([_line(4, date(2023, 7, 1), "Hon Chair, Refreshed", "Central Metro", at=t1, ship=None)])
    _build(snowflake_env)
    # per-row values (fakesnow returns SUM over NUMBER as a float; Snowflake does not)
    assert _query("select order_id, sales, quantity from gold.fact_sales order by order_id") == [
        ("EU-1", Decimal("10.1234"), 1),
        ("EU-2", Decimal("99.9900"), 7),
        ("EU-3", Decimal("30.3702"), 3),
        ("EU-4", Decimal("40.4936"), 4),
    ]
    assert _query(
        "select p.product_name, p.is_current from gold.fact_sales f join gold.dim_product p"
        " on f.product_key = p.product_key where f.order_id = 'EU-4'"
    ) == [("Hon Chair, Refreshed", True)]
