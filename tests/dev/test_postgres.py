"""A throwaway PostgreSQL on 127.0.0.1 for Airflow's metadata database (the operator
bench's real Airflow): it starts, serves its database, and stops."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from salespipe.dev.postgres import LocalPostgres


@pytest.fixture
def home() -> Iterator[Path]:
    """Under /tmp itself: as root, the server runs as ``postgres``, which cannot
    enter pytest's 0700 temp dirs."""
    path = Path(tempfile.mkdtemp(prefix="salespipe-test-pg-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_it_serves_the_airflow_database_on_loopback_and_stops(home: Path) -> None:
    with LocalPostgres(home) as pg:
        assert pg.url.startswith("postgresql+psycopg2://airflow@127.0.0.1:")
        dsn = f"host=127.0.0.1 port={pg.port} user=airflow dbname=airflow"
        with psycopg2.connect(dsn) as con, con.cursor() as cur:
            cur.execute("show listen_addresses")
            assert cur.fetchone() == ("127.0.0.1",)
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(dsn, connect_timeout=2)
