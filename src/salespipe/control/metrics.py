"""Prometheus metrics of the operator, served on ``/metrics``.

Reconciles by trigger and result, errors by kind, DAG runs triggered by kind, pass
durations, and how many pipelines are Ready (True/False/Unknown), which is what an
alert watches.
"""

from __future__ import annotations

import threading

from prometheus_client import Counter, Gauge, Histogram

RECONCILES = Counter(
    "salespipe_operator_reconciles",
    "Reconcile passes by trigger (create, update, resume, drift, resync, poll, schedule) and"
    " Ready result.",
    ["trigger", "result"],
)
ERRORS = Counter(
    "salespipe_operator_reconcile_errors",
    "Reconcile passes that failed or could not reach a dependency, by kind.",
    ["kind"],
)
RUNS_TRIGGERED = Counter(
    "salespipe_operator_runs_triggered",
    "DAG runs triggered, by what they were for: a spec generation or a schedule tick"
    " (a run adopted after a restart counts again).",
    ["trigger"],
)
DURATION = Histogram(
    "salespipe_operator_reconcile_duration_seconds",
    "Wall time of one reconcile pass.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PIPELINES = Gauge(
    "salespipe_operator_pipelines",
    "SalesPipelines known to the operator, by their Ready condition's status.",
    ["ready"],
)
READY_STATES = ("True", "False", "Unknown")


class ReadyBook:
    """The Ready status of every known pipeline, mirrored into the PIPELINES gauge."""

    def __init__(self) -> None:
        self._ready: dict[str, str] = {}
        self._lock = threading.Lock()
        self._publish()

    def set(self, uid: str, ready: str) -> None:
        with self._lock:
            self._ready[uid] = ready
            self._publish()

    def forget(self, uid: str) -> None:
        with self._lock:
            self._ready.pop(uid, None)
            self._publish()

    def _publish(self) -> None:
        for state in READY_STATES:
            PIPELINES.labels(state).set(sum(1 for r in self._ready.values() if r == state))
