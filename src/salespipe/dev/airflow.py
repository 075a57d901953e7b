"""A real local Airflow: api-server, scheduler and dag-processor on SQLite.

For users (``salespipe dev airflow``, ``make airflow``) and for the tests that must
see the scheduler do its job: REST-triggered runs, Asset-driven runs, the operator's
DAG runs. It binds 127.0.0.1 only, runs the LocalExecutor with a small parallelism
(2 cores here), and every component runs in its own session so that stopping
signals the whole process group (Airflow's supervisors fork task processes).

The simple auth manager's password file is written by us before start, so the
password is known without scraping logs; it lives in ``<home>/passwords.json``
(mode 0600) and is never printed.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from salespipe.dev.ports import free_port
from salespipe.dev.process import Service, stop_group, stop_on_signals
from salespipe.dev.shared import repo_root

COMPONENTS: dict[str, tuple[str, ...]] = {
    "api-server": (),
    # Its log server would bind every interface; the API server reads the log files.
    "scheduler": ("--skip-serve-logs",),
    "dag-processor": (),
}
USERNAME = "admin"

LATENCY_SETTINGS: dict[str, str] = {
    # How often the scheduler loop runs when idle, and how soon a queued task starts.
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
    # Re-parse a DAG file at most this often (default 30 s) and list the folder
    # this often (default 300 s): new DAG files show up within seconds.
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
}
"""Scheduler settings that keep trigger-to-run latency low on a small machine
(measured by ``bench/airflow.py``; documented in the README)."""


class AirflowError(RuntimeError):
    """The local Airflow could not be started or did not become healthy."""


@dataclass
class LocalAirflow(Service):
    """Airflow 3 for one machine. ``with LocalAirflow(home) as airflow: airflow.url``."""

    home: Path
    """AIRFLOW_HOME: config, SQLite database, logs and the password file."""
    data_dir: Path | None = None
    """``SALESPIPE_DATA_DIR`` of the workers: where scheduled runs find their layers."""
    port: int = 0
    """API server port; 0 picks a free one."""
    parallelism: int = 2
    dags_folder: Path = field(default_factory=lambda: repo_root() / "dags")
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment for every component (e.g. ``AIRFLOW_CONN_*``)."""
    database_url: str | None = None
    """Metadata database (SQLAlchemy URL); SQLite in ``home`` when None. SQLite takes
    one writer at a time: give a PostgreSQL URL (``dev.postgres``) for bursts of runs."""
    _processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)
    _logs: list[IO[bytes]] = field(default_factory=list, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def passwords_file(self) -> Path:
        return self.home / "passwords.json"

    @property
    def password(self) -> str:
        return str(json.loads(self.passwords_file.read_text())[USERNAME])

    def environment(self) -> dict[str, str]:
        """The environment every Airflow component of this instance runs with."""
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url
            or f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "PYTHONUNBUFFERED": "1",
            **LATENCY_SETTINGS,
        }
        env.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", self._secret("jwt_secret"))
        if self.data_dir is not None:
            env["SALESPIPE_DATA_DIR"] = str(self.data_dir)
        env.update(self.env)
        return env

    def _secret(self, name: str) -> str:
        """A random secret kept in ``home`` so restarts keep issued tokens valid."""
        path = self.home / name
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text()

    def _airflow(self) -> str:
        return str(Path(sys.executable).parent / "airflow")

    def start(self, timeout: float = 180.0) -> LocalAirflow:
        """Migrate the database (once), start the components, wait until healthy."""
        if self._processes:
            raise AirflowError("Airflow already started")
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        if not self.passwords_file.exists():
            self.passwords_file.write_text(json.dumps({USERNAME: secrets.token_urlsafe(16)}))
            self.passwords_file.chmod(0o600)
        env = self.environment()
        migrated = self.home / ".migrated"
        if not migrated.exists():
            done = subprocess.run(
                [self._airflow(), "db", "migrate"], env=env, capture_output=True, check=False
            )
            if done.returncode:
                raise AirflowError(f"airflow db migrate failed: {done.stderr.decode()[-2000:]}")
            migrated.touch()
        (self.home / "logs").mkdir(exist_ok=True)
        try:
            for component in COMPONENTS:
                self._spawn(component, env)
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, component: str, env: dict[str, str]) -> None:
        log = (self.home / "logs" / f"{component}.log").open("ab")
        self._logs.append(log)
        self._processes[component] = subprocess.Popen(
            [self._airflow(), component, *COMPONENTS[component]],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop_component(self, component: str) -> None:
        """Stop one component (e.g. the API server, to see clients cope with an outage)."""
        process = self._processes.pop(component)
        stop_group(process.pid, lambda: process.poll() is not None)
        process.wait(timeout=10)

    def start_component(self, component: str, timeout: float = 120.0) -> None:
        """Start a component stopped by ``stop_component`` and wait until healthy."""
        if component in self._processes:
            raise AirflowError(f"airflow {component} is already running")
        self._spawn(component, self.environment())
        self._wait_healthy(timeout)

    def health(self) -> dict[str, Any] | None:
        """The API server's health document, or None while it does not answer."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=2) as r:
                body: dict[str, Any] = json.load(r)
                return body
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def check_running(self) -> None:
        """Raise naming the first component that exited, and its log."""
        for name, process in self._processes.items():
            if process.poll() is not None:
                raise AirflowError(
                    f"airflow {name} exited with code {process.returncode}; see "
                    f"{self.home / 'logs' / (name + '.log')}"
                )

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_running()
            body = self.health()
            if body and all(
                body.get(part, {}).get("status") == "healthy"
                for part in ("metadatabase", "scheduler", "dag_processor")
            ):
                return
            time.sleep(0.5)
        raise AirflowError(f"Airflow not healthy after {timeout:.0f}s; logs in {self.home}/logs")

    def stop(self) -> None:
        """Stop every component's process group (task processes included)."""
        for process in self._processes.values():
            stop_group(process.pid, lambda p=process: p.poll() is not None)  # type: ignore[misc]
        for process in self._processes.values():
            process.wait(timeout=10)
        self._processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()


def run_local_airflow(airflow: LocalAirflow, ready: Callable[[LocalAirflow], None]) -> int:
    """Run ``airflow`` in the foreground until SIGINT/SIGTERM; ``ready`` is told once
    it is healthy. Returns the exit code."""
    with stop_on_signals() as stop, airflow:
        ready(airflow)
        while not stop.wait(1.0):
            airflow.check_running()
    return 0
