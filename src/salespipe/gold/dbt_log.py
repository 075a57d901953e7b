"""dbt's log, written from an event callback that reads an event's level first.

dbt's own loggers render every event before their level filter drops it: at the info
level, each debug event (one per statement, its SQL included) is still formatted,
scrubbed of secrets and handed to Python's logging only to be discarded. Over an
incremental Gold build that is about a fifteenth of the wall time, since dbt's threads
share one GIL. ``salespipe gold`` therefore runs dbt with its loggers off and writes the
same lines to ``logs/dbt.log`` here, in dbt's file format, skipping what is below the
level before any formatting; error events also go to stdout, as dbt's quiet console
printed them.
"""

from __future__ import annotations

import os
import sys
import threading
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from dbt_common.exceptions.base import env_secrets, scrub_secrets

LEVELS: tuple[str, ...] = ("debug", "test", "info", "warn", "error")
"""dbt's event levels, lowest first; ``none`` writes no log file."""
_RANK = {name: rank for rank, name in enumerate(LEVELS)}
LOG_FILE = "dbt.log"
MAX_BYTES = 10 * 1024 * 1024
"""Rotate at dbt's default size (``--log-file-max-bytes``)..."""
BACKUPS = 5
"""...keeping as many old files as dbt does."""


class EventLog:
    """An open ``dbt.log``: a dbt event callback for one invocation (a context manager)."""

    def __init__(self, log_dir: Path, level: str, *, echo_errors: bool = True) -> None:
        if level != "none" and level not in _RANK:
            raise ValueError(f"dbt log level {level!r} is not none or one of {', '.join(LEVELS)}")
        self._rank = _RANK.get(level, len(LEVELS))
        self._echo_errors = echo_errors
        # read once per invocation, not once per line as dbt's scrubber does
        self._secrets = env_secrets()
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        if level != "none":
            log_dir.mkdir(parents=True, exist_ok=True)
            path = log_dir / LOG_FILE
            _rotate(path)
            self._file = path.open("a", encoding="utf-8")

    def __call__(self, msg: Any) -> None:
        """Write one ``EventMsg`` if it is at or above the level."""
        info = msg.info
        rank = _RANK.get(info.level, -1)
        if self._echo_errors and rank == _RANK["error"]:
            print(scrub_secrets(str(info.msg), self._secrets), file=sys.stdout)
        if self._file is None or rank < self._rank:
            return
        ts = datetime.fromtimestamp(info.ts.seconds + info.ts.nanos / 1e9)
        line = f"{ts:%H:%M:%S.%f} [{info.level:<5}] [{info.thread[:10]:<10}]: {info.msg}"
        if info.name == "MainReportVersion":  # dbt's separator between invocations
            line = f"\n\n{'=' * 30} {ts:%H:%M:%S.%f} | {info.invocation_id} {'=' * 30}\n{line}"
        line = scrub_secrets(line, self._secrets)
        with self._lock:
            self._file.write(line + "\n")

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _rotate(path: Path) -> None:
    """Once per invocation, dbt's rotation: past ``MAX_BYTES``, ``dbt.log`` becomes
    ``dbt.log.1`` (and each older file moves one up, the oldest dropped)."""
    try:
        if path.stat().st_size < MAX_BYTES:
            return
    except FileNotFoundError:
        return
    for n in range(BACKUPS - 1, 0, -1):
        older = path.with_name(f"{path.name}.{n}")
        if older.exists():
            os.replace(older, path.with_name(f"{path.name}.{n + 1}"))
    os.replace(path, path.with_name(f"{path.name}.1"))
