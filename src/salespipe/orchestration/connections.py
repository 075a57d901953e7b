"""Reading endpoints from Airflow Connections, the one place deployments configure them.

HTTP connections follow the HTTP provider's convention: ``host`` is either a full URL
or a host name with ``schema`` as the URL scheme and an optional ``port``; the extra
``endpoint`` is a path appended to it. Either way an ``AIRFLOW_CONN_<ID>`` URI such as
``http://127.0.0.1:8083`` works.
"""

from __future__ import annotations

from typing import Any


def _get(conn_id: str) -> Any | None:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def connection_url(conn_id: str) -> str | None:
    """The HTTP URL of Connection ``conn_id``, or None when it is not configured."""
    conn = _get(conn_id)
    if conn is None or not conn.host:
        return None
    host = str(conn.host)
    if "://" not in host:
        scheme = conn.schema or ("https" if conn.conn_type == "https" else "http")
        host = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    endpoint = str(conn.extra_dejson.get("endpoint", ""))
    return host.rstrip("/") + ("/" + endpoint.lstrip("/") if endpoint else "")


def connection_address(conn_id: str) -> str | None:
    """``host:port`` of Connection ``conn_id`` (a Kafka bootstrap), or None."""
    conn = _get(conn_id)
    if conn is None or not conn.host:
        return None
    return f"{conn.host}:{conn.port}" if conn.port else str(conn.host)
