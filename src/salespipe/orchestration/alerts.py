"""Alerts: one callback every DAG uses when a task fails for good.

It logs, and posts to a webhook when the Airflow Connection ``salespipe_alerts``
exists (an HTTP connection, see ``connections``). The URL is never logged: webhook
URLs carry tokens.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from salespipe.orchestration.connections import connection_url

ALERT_CONN_ID = "salespipe_alerts"
log = logging.getLogger("salespipe.alerts")


def alert(message: str, details: dict[str, Any] | None = None) -> bool:
    """Log ``message`` as an error and post it to the webhook; True when posted.

    A webhook that cannot be reached is logged, never raised: the alert must not
    hide the failure it reports.
    """
    log.error("ALERT: %s", message)
    url = connection_url(ALERT_CONN_ID)
    if url is None:
        return False
    try:
        response = httpx.post(url, json={"text": message, **(details or {})}, timeout=10)
        response.raise_for_status()
    except httpx.HTTPError as error:
        log.error("alert webhook failed: %s", type(error).__name__)
        return False
    return True


def on_failure(context: Any) -> None:
    """``on_failure_callback`` of every salespipe task: names DAG, run, task and error."""
    ti = context["ti"]
    error = context.get("exception")
    message = (
        f"salespipe: {ti.dag_id}.{ti.task_id} failed in run {context['run_id']}"
        f" (try {ti.try_number}): {error}"
    )
    alert(message, {"dag_id": ti.dag_id, "task_id": ti.task_id, "run_id": context["run_id"]})
