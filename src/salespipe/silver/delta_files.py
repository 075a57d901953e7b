"""Parquet files written outside delta-rs, described as Delta ``add`` actions.

DuckDB writes Silver's data files (in parallel, straight from the plan); delta-rs only
commits them. The commit needs each file's statistics so that Delta readers can skip
files (delta-rs's MERGE prunes by them): they are read from the Parquet footer.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from deltalake.transaction import AddAction

_MS = timedelta(milliseconds=1)


def _stat_value(value: Any, upper: bool) -> Any:
    """A footer min/max as Delta's JSON statistics spell it: dates in ISO form,
    timestamps in UTC to the millisecond (rounded outwards, so the range still holds
    every value), decimals as numbers."""
    if isinstance(value, datetime):
        floor = value.replace(microsecond=value.microsecond // 1000 * 1000)
        if upper and floor != value:
            floor += _MS
        return floor.strftime("%Y-%m-%dT%H:%M:%S.") + f"{floor.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def file_stats(path: Path) -> str:
    """Delta statistics of one flat Parquet file: row count, and per column the null
    count and the min/max where every row group records them."""
    meta = pq.read_metadata(path)
    nulls: dict[str, int] = {}
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    for index in range(meta.num_columns):
        name = meta.schema.column(index).name
        stats = [meta.row_group(g).column(index).statistics for g in range(meta.num_row_groups)]
        if not stats or any(s is None for s in stats):
            continue
        nulls[name] = sum(s.null_count for s in stats)
        bounded = [s for s in stats if s.has_min_max]
        if len(bounded) == len(stats):
            mins[name] = _stat_value(min(s.min for s in bounded), upper=False)
            maxs[name] = _stat_value(max(s.max for s in bounded), upper=True)
    payload = {"numRecords": meta.num_rows, "minValues": mins, "maxValues": maxs}
    return json.dumps(payload | {"nullCount": nulls})


def add_action(local: Path, name: str) -> AddAction:
    """The ``add`` action of the local file ``local`` once stored as ``name`` in the
    table's folder."""
    return AddAction(
        path=name,
        size=local.stat().st_size,
        partition_values={},
        modification_time=int(time.time() * 1000),
        data_change=True,
        stats=file_stats(local),
    )
