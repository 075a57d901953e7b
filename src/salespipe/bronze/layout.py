"""Where things live in Bronze: one home for the partition layout.

CSV drops land under ``sales_data/year=YYYY/month=MM/day=DD/`` by landing date; the
streaming sink writes ``sales_data/sales_events/year=/month=/day=/hour=/``. A small
index under ``_salespipe/landed/`` maps content hashes to landed objects so that
landing the same bytes twice is a no-op, whatever the file is called.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from salespipe.storage import ObjectInfo, ObjectStore

DATA_PREFIX = "sales_data"
EVENTS_PREFIX = f"{DATA_PREFIX}/sales_events"
LANDED_INDEX_PREFIX = "_salespipe/landed"


def batch_partition(day: date) -> str:
    """The Bronze folder of CSV files landed on ``day``."""
    return f"{DATA_PREFIX}/year={day.year:04d}/month={day.month:02d}/day={day.day:02d}"


def landed_marker(content_hash: str) -> str:
    """The index entry recording that content with this SHA-256 has landed."""
    return f"{LANDED_INDEX_PREFIX}/{content_hash}.json"


def batch_files(bronze: ObjectStore) -> Iterator[ObjectInfo]:
    """Every landed CSV drop, in key order; event files are not batch files."""
    for info in bronze.list(DATA_PREFIX):
        if info.key.startswith(f"{EVENTS_PREFIX}/") or not info.key.lower().endswith(".csv"):
            continue
        yield info
