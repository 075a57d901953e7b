"""A throwaway PostgreSQL server on 127.0.0.1, for Airflow's metadata database.

SQLite serialises every write: a local Airflow on it cannot take a burst of REST
triggers while its scheduler also writes (``database is locked`` kills the scheduler).
Deployed Airflow runs on PostgreSQL; this gives the same locally, from the machine's
PostgreSQL binaries (``initdb``, ``pg_ctl``). The cluster trusts local connections,
listens on 127.0.0.1 only and lives in ``home``. PostgreSQL refuses to run as root,
so as root the server runs as the ``postgres`` system user, which must be able to
reach ``home`` (e.g. a directory of its own under /tmp).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from salespipe.dev.ports import free_port
from salespipe.dev.process import Service

DATABASE = "airflow"
USER = "airflow"


class PostgresError(RuntimeError):
    """PostgreSQL is missing or would not start."""


@dataclass
class LocalPostgres(Service):
    """``with LocalPostgres(home) as pg: pg.url``: a database ``airflow`` owned by ``airflow``."""

    home: Path
    """Holds the cluster (``data/``), its socket and its log."""
    port: int = 0
    """0 picks a free port."""

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the database (psycopg2; no password: local trust)."""
        return f"postgresql+psycopg2://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str) -> None:
        """Run a PostgreSQL tool, as ``postgres`` when we are root."""
        tool = shutil.which(args[0])
        if tool is None:
            raise PostgresError(f"{args[0]} not found: install PostgreSQL (Debian: postgresql)")
        command = [tool, *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            raise PostgresError(f"{args[0]} failed: {(done.stderr or done.stdout)[-2000:]}")

    def start(self) -> Self:
        data = self.home / "data"
        self.home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # the server's user must own its directory
            owner = pwd.getpwnam("postgres")
            os.chown(self.home, owner.pw_uid, owner.pw_gid)
        if not self.port:
            self.port = free_port()
        fresh = not data.exists()
        if fresh:
            self._run("initdb", "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1"
        log = str(self.home / "log")
        self._run("pg_ctl", "-D", str(data), "-o", options, "-l", log, "-w", "start")
        if fresh:
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, DATABASE)
        return self

    def stop(self) -> None:
        data = self.home / "data"
        if data.exists():
            with contextlib.suppress(PostgresError):  # not running
                self._run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
