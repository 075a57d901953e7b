"""Trigger-to-Gold latency through Airflow vs the same steps through the CLI.

The same generated CSV drops are landed in two data dirs. One goes through the CLI
directly (``salespipe silver`` then ``salespipe gold``, each a fresh process as a
user or a cron job would run them). The other goes through a real local Airflow
(``salespipe.dev.airflow.LocalAirflow``, already healthy, start-up reported apart):
``POST /dagRuns`` of ``sales_batch`` with the pipeline's conf, until the
Asset-triggered ``sales_analytics`` run has succeeded.

    python -m bench.airflow --rows 100000 [--airflow-defaults]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from salespipe.dev.airflow import LATENCY_SETTINGS, LocalAirflow
from salespipe.generate import generate
from salespipe.orchestration.airflow_api import AirflowClient, DagRun
from salespipe.pipeline.run import ingest
from salespipe.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SALESPIPE = str(Path(sys.executable).parent / "salespipe")


def _cli(data_dir: Path) -> dict[str, float]:
    """``salespipe silver`` then ``salespipe gold``, timed apart."""
    figures: dict[str, float] = {}
    for step in ("silver", "gold"):
        started = time.perf_counter()
        subprocess.run(
            [SALESPIPE, step, "--data-dir", str(data_dir)], check=True, capture_output=True
        )
        figures[step] = time.perf_counter() - started
    figures["total"] = figures["silver"] + figures["gold"]
    return figures


def _ts(value: str | None) -> float:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _through_airflow(airflow: LocalAirflow, data_dir: Path) -> dict[str, float]:
    with AirflowClient(airflow.url, "admin", airflow.password) as api:
        api.unpause_when_parsed(["sales_batch", "sales_analytics"], timeout_s=300)
        known = {r.dag_run_id for r in api.runs("sales_analytics")}
        triggered = time.time()
        api.trigger("sales_batch", "bench-1", {"pipeline": "bench", "data_dir": str(data_dir)})
        batch = api.wait("sales_batch", "bench-1", timeout_s=1800)
        if batch.state != "success":
            raise SystemExit(f"sales_batch ended {batch.state}; logs in {airflow.home}/logs")
        analytics: DagRun | None = None
        while analytics is None or not analytics.finished:
            fresh = [r for r in api.runs("sales_analytics") if r.dag_run_id not in known]
            analytics = fresh[0] if fresh else None
            time.sleep(0.25)
        done = time.time()
    if analytics.state != "success":
        raise SystemExit(f"sales_analytics ended {analytics.state}")
    return {
        "batch_queue": _ts(batch.start_date) - triggered,
        "batch_run": _ts(batch.end_date) - _ts(batch.start_date),
        "asset_to_analytics": _ts(analytics.start_date) - _ts(batch.end_date),
        "analytics_run": _ts(analytics.end_date) - _ts(analytics.start_date),
        "total": done - triggered,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--airflow-defaults", action="store_true", help="Airflow's own scheduler settings"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="salespipe-bench-airflow-") as tmp:
        work = Path(tmp)
        drops = generate(args.rows, 21, work / "drops", 0.02)
        for name in ("cli", "airflow"):
            ingest(Settings(data_dir=str(work / name)), [Path(f) for f in drops.files])
        cli = _cli(work / "cli")
        airflow = LocalAirflow(work / "home", parallelism=2)
        if args.airflow_defaults:
            airflow.env.update(_airflow_defaults())
        started = time.perf_counter()
        with airflow:
            startup = time.perf_counter() - started
            flow = _through_airflow(airflow, work / "airflow")
    figures: dict[str, Any] = {
        "rows": args.rows,
        "settings": "airflow defaults" if args.airflow_defaults else "salespipe",
        "cli": cli,
        "airflow": flow,
        "airflow_startup_s": startup,
        "overhead_s": flow["total"] - cli["total"],
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    table = Table(title=f"Trigger to Gold on {args.rows:,} lines ({figures['settings']})")
    table.add_column("path")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for step, value in cli.items():
        table.add_row("CLI", step, f"{value:.1f}")
    for step, value in flow.items():
        table.add_row("Airflow", step.replace("_", " "), f"{value:.1f}")
    table.add_row("Airflow", "overhead vs CLI", f"{figures['overhead_s']:.1f}")
    table.add_row("Airflow", "start-up (once)", f"{startup:.1f}")
    Console().print(table)
    return 0


def _airflow_defaults() -> dict[str, str]:
    """Airflow's documented defaults for the settings ``LATENCY_SETTINGS`` tunes."""
    defaults = {
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "300",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "2",
    }
    assert set(defaults) == set(LATENCY_SETTINGS)
    return defaults


if __name__ == "__main__":
    raise SystemExit(main())
