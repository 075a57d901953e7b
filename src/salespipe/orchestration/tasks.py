"""The bodies of the DAGs' tasks: plain functions of a run conf, returning what the
next task (and the Asset event) needs as JSON-able dicts.

Why here and not in the DAG files: a DAG file is parsed every few seconds by the
dag-processor, so it must import nothing heavy (DuckDB, delta-rs, dbt); these
functions import the engine only when a task actually runs.
"""

from __future__ import annotations

from typing import Any, Literal

from salespipe.orchestration.conf import RunConf

Kind = Literal["batch", "events"]


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
    """``dbt build`` of Gold in-process; raises naming every failed model or test."""
    from salespipe.gold.runner import build_gold

    result = build_gold(conf.settings())
    if not result.success:
        raise GoldFailed(result.summary())
    return {
        "models": result.models_passed,
        "tests": result.tests_passed,
        "seconds": round(result.elapsed_s, 3),
        "summary": result.summary(),
    }


class GoldFailed(RuntimeError):
    """A Gold model or test failed; the message names each one and its failing rows."""
