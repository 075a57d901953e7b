"""The bodies of the DAGs' tasks: plain functions of a run conf, returning what the
next task (and the Asset event) needs as JSON-able dicts.

Why here and not in the DAG files: a DAG file is parsed every few seconds by the
dag-processor, so it must import nothing heavy (DuckDB, delta-rs, dbt); these
functions import the engine only when a task actually runs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

from salespipe.orchestration.conf import RunConf

Kind = Literal["batch", "events"]
log = logging.getLogger("salespipe.tasks")


def pending(conf: RunConf, kind: Kind) -> list[str]:
    """Bronze objects of ``kind`` that Silver has not taken in yet (keys)."""
    from salespipe.bronze.events import parse_object_key
    from salespipe.silver.batch import find_work

    work = find_work(conf.settings())
    return [
        o.key
        for o in work.pending + work.repair
        if (parse_object_key(o.key) is not None) == (kind == "events")
    ]


def silver_version(conf: RunConf) -> int | None:
    """The Silver ``sales`` table's version; None before its first commit."""
    from salespipe.silver.batch import open_table
    from salespipe.silver.tables import SALES

    table = open_table(conf.settings().silver, SALES)
    return table.version() if table else None


def refine(conf: RunConf) -> dict[str, Any]:
    """Run the Silver step on the embedded engine; figures for the logs and XCom."""
    from salespipe.silver.batch import run_silver

    result = run_silver(conf.settings())
    judged = result.accepted + result.quarantined
    limit = conf.max_quarantine_ratio
    if limit is not None and judged and result.quarantined / judged > limit:
        raise QualityGateFailed(
            f"pipeline {conf.pipeline}: {result.quarantined:,} of {judged:,} lines quarantined"
            f" ({result.quarantined / judged:.1%}), above the maximum of {limit:.1%}; Silver"
            " holds them (quarantine has the reasons), Gold is not refreshed"
        )
    return {
        "batch_id": result.batch_id,
        "files": len(result.files),
        "accepted": result.accepted,
        "quarantined": result.quarantined,
        "inserted": result.inserted,
        "updated": result.updated,
        "version": result.version,
        "seconds": round(result.seconds, 3),
    }


def vacuum(conf: RunConf) -> dict[str, Any]:
    """VACUUM the pipeline's Silver tables with its retention; the counts for XCom (the
    names of the files removed go to the log, not to the metadata DB)."""
    from salespipe.silver.maintenance import DEFAULT_RETENTION_DAYS, vacuum_silver

    report = vacuum_silver(conf.settings(), conf.retention_days or DEFAULT_RETENTION_DAYS)
    for table in report.tables:
        log.info(
            "vacuum %s (version %s): removed %d file(s) %s",
            table.table,
            table.version,
            len(table.files),
            list(table.files),
        )
    return report.to_dict(with_files=False)


def land_events(conf: RunConf, bootstrap: str) -> dict[str, Any]:
    """Drain the topic into Bronze event files once (the local stand-in for Kafka
    Connect's S3 sink), committing offsets only after objects are written."""
    import threading

    from salespipe.streaming.sink import BronzeSink, SinkConfig

    sink = BronzeSink(SinkConfig(bootstrap=bootstrap, topic=conf.topic), conf.settings().bronze)
    sink.open()
    try:
        report = sink.drain(threading.Event())
    finally:
        sink.close()
    return report.to_dict()


def committed(before: int | None, after: int | None) -> bool:
    """True when Silver gained a commit between the two versions."""
    return after is not None and (before is None or after > before)


def model_gold(conf: RunConf) -> dict[str, Any]:
    """``dbt build`` of Gold in-process; raises naming every failed model or test.

    Returns the per-model outcome from dbt's ``run_results.json`` artifact, so the
    task log and XCom show each model's status and time.
    """
    from salespipe.gold.runner import build_gold, gold_dir

    settings = conf.settings()
    result = build_gold(settings)
    nodes = node_results(gold_dir(settings) / "target" / "run_results.json")
    for node in nodes:
        log.info(
            "dbt %-6s %-28s %-7s %6.2fs",
            node["type"],
            node["name"],
            node["status"],
            node["seconds"],
        )
    if not result.success:
        raise GoldFailed(result.summary())
    return {
        "models": result.models_passed,
        "tests": result.tests_passed,
        "seconds": round(result.elapsed_s, 3),
        "nodes": [n for n in nodes if n["type"] == "model"],
        "summary": result.summary(),
    }


def node_results(run_results: Path) -> list[dict[str, Any]]:
    """Each node of the last dbt run: name, type, status and seconds (dbt's artifact)."""
    if not run_results.exists():
        return []
    results = json.loads(run_results.read_text())["results"]
    return [
        {
            "name": r["unique_id"].split(".")[-1],
            "type": r["unique_id"].split(".")[0],
            "status": r["status"],
            "seconds": round(float(r.get("execution_time") or 0.0), 3),
        }
        for r in results
    ]


class QualityGateFailed(RuntimeError):
    """A run quarantined more of its lines than the pipeline allows."""


class GoldFailed(RuntimeError):
    """A Gold model or test failed; the message names each one and its failing rows."""
