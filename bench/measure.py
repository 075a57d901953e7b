"""Run one measured step in a fresh process: wall time and that process's peak RSS.

Each step runs alone in its own interpreter so its peak RSS is its own, and start-up
(imports) is outside the timed part.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from typing import Any


def measured(step: str, *args: str) -> dict[str, Any]:
    """Run ``python -m bench.measure STEP ARGS`` and return its figures."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.measure", step, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _silver(data_dir: str) -> dict[str, Any]:
    from salespipe.settings import Settings
    from salespipe.silver.batch import run_silver

    started = time.perf_counter()
    result = run_silver(Settings(data_dir=data_dir))
    return {
        "seconds": time.perf_counter() - started,
        "lines": result.accepted + result.quarantined,
        "written": result.written,
    }


def _reference(files_json: str, out: str) -> dict[str, Any]:
    """The yardstick: one DuckDB query that reads the same CSV, dedupes by the line
    key and writes Parquet, with the same memory limit and threads as Silver."""
    import duckdb

    from salespipe.settings import Settings

    defaults = Settings()
    files = json.loads(files_json)
    con = duckdb.connect(
        config={"memory_limit": defaults.memory_limit, "threads": defaults.threads}
    )
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    con.execute(
        f"COPY (SELECT * FROM read_csv({files!r}, all_varchar=true, union_by_name=true,"
        " normalize_names=true, ignore_errors=true) QUALIFY row_number() OVER"
        f" (PARTITION BY order_id, row_id) = 1) TO '{out}' (FORMAT parquet)"
    )
    seconds = time.perf_counter() - started
    lines = con.execute(
        f"SELECT count(*) FROM read_csv({files!r}, all_varchar=true,"
        " union_by_name=true, ignore_errors=true)"
    ).fetchall()[0][0]
    return {"seconds": seconds, "lines": int(lines)}


def main() -> None:
    step, *args = sys.argv[1:]
    figures = {"silver": _silver, "reference": _reference}[step](*args)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
