"""Watching Kafka Connect: read connector status, restart what failed, report what
stays failed.

Follows the documented Kafka Connect REST API: ``GET /connectors``,
``GET /connectors/{name}/status`` and
``POST /connectors/{name}/restart?includeTasks=true&onlyFailed=true``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

FAILED = "FAILED"
RESTARTING = "RESTARTING"


class ConnectError(RuntimeError):
    """Kafka Connect could not be asked (unreachable, or an unexpected answer)."""


@dataclass(frozen=True)
class ConnectorHealth:
    """One connector's state and its tasks' states, as Connect reports them."""

    name: str
    state: str
    tasks: dict[int, str] = field(default_factory=dict)
    trace: str = ""
    """The first failure's trace line, for the alert (Connect's own text)."""

    @classmethod
    def from_status(cls, body: dict[str, Any]) -> ConnectorHealth:
        connector = body.get("connector", {})
        tasks = {int(t["id"]): str(t["state"]) for t in body.get("tasks", [])}
        traces = [connector.get("trace", "")] + [t.get("trace", "") for t in body.get("tasks", [])]
        first = next((t for t in traces if t), "")
        return cls(
            str(body["name"]),
            str(connector.get("state", "UNKNOWN")),
            tasks,
            first.splitlines()[0] if first else "",
        )

    @property
    def failed(self) -> bool:
        return self.state == FAILED or FAILED in self.tasks.values()

    @property
    def settling(self) -> bool:
        return self.state == RESTARTING or RESTARTING in self.tasks.values()

    def describe(self) -> str:
        tasks = ", ".join(f"task {i} {s}" for i, s in sorted(self.tasks.items())) or "no tasks"
        trace = f": {self.trace}" if self.trace else ""
        return f"{self.name} {self.state} ({tasks}){trace}"


class ConnectClient:
    """A small client of one Kafka Connect cluster's REST API."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self.base_url = base_url

    def __enter__(self) -> ConnectClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ConnectError(f"Kafka Connect at {self.base_url} unreachable: {error}") from None
        if response.status_code >= 400:
            raise ConnectError(
                f"{method} {path} on Kafka Connect: HTTP {response.status_code} {response.text}"
            )
        return response

    def connectors(self) -> list[str]:
        return sorted(self._call("GET", "/connectors").json())

    def status(self, name: str) -> ConnectorHealth:
        return ConnectorHealth.from_status(
            self._call("GET", f"/connectors/{quote(name, safe='')}/status").json()
        )

    def restart_failed(self, name: str) -> None:
        """Restart the connector and only its failed tasks (Connect 3.0+, KIP-745)."""
        self._call(
            "POST",
            f"/connectors/{quote(name, safe='')}/restart",
            params={"includeTasks": "true", "onlyFailed": "true"},
        )


@dataclass(frozen=True)
class MonitorReport:
    """What one monitor pass saw and did."""

    healthy: list[str]
    restarted: list[str]
    failing: list[ConnectorHealth]

    def to_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "restarted": self.restarted,
            "failing": [h.describe() for h in self.failing],
        }


def monitor(
    client: ConnectClient,
    names: Sequence[str] = (),
    *,
    settle_s: float = 10.0,
    poll_s: float = 0.5,
) -> MonitorReport:
    """Restart failed connectors/tasks, then wait up to ``settle_s`` for them to leave
    RESTARTING; those still FAILED are in ``failing`` (the caller alerts).

    ``names`` empty means every connector of the cluster.
    """
    targets = list(names) or client.connectors()
    first = {name: client.status(name) for name in targets}
    restarted = [name for name, health in first.items() if health.failed]
    for name in restarted:
        client.restart_failed(name)
    latest = dict(first)
    deadline = time.monotonic() + settle_s
    waiting = list(restarted)
    while waiting:
        latest.update({name: client.status(name) for name in waiting})
        waiting = [n for n in waiting if latest[n].settling or latest[n].failed]
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(poll_s)
    return MonitorReport(
        healthy=[n for n in targets if not latest[n].failed],
        restarted=restarted,
        failing=[latest[n] for n in targets if latest[n].failed],
    )
